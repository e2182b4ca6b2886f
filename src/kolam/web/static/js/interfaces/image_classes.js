// image_classes: the image, fitted to the space (pixelated when tiny), and one button per class with its
// hotkey. Single-label: a key selects, Enter submits. Multi-label: keys toggle. Ctrl+Z undoes.

import { h } from "../dom.js";
import { ClassPicker, History } from "../work/class_picker.js";

const GROUP = "Image classes";
const TINY = 96; // px: below this an image is drawn with hard pixels, not blurred by smoothing

export async function mount(root, ctx) {
  const { task, schema, hotkeys } = ctx;
  const item = task.item;
  const history = new History();
  const picker = new ClassPicker({
    classes: schema.classes, multi: !!schema.multi_label, labels: ctx.initial?.labels || [], hotkeys, group: GROUP,
    beforeChange: () => history.push(picker.labels), onChange: () => ctx.changed(),
  });
  hotkeys.register("Ctrl+z", "Undo the last change", () => {
    const previous = history.pop();
    if (previous) {
      picker.set(previous);
      ctx.changed();
    }
  }, { group: GROUP });

  const label = item.external_id ? `Image ${item.external_id}` : `Image of task ${task.task_id}`;
  const img = h("img.ic-image", { alt: label, decoding: "async" });
  const figure = h("figure.ic-figure", {}, img);
  root.append(h("div.ic", {}, figure, picker.element));

  const url = item.display_url || item.content_url;
  let objectUrl = null;
  if (url) {
    try {
      objectUrl = URL.createObjectURL(await ctx.media(url));
      img.src = objectUrl;
      await img.decode().catch(() => {});
      const width = item.width || img.naturalWidth;
      const height = item.height || img.naturalHeight;
      if (Math.max(width, height) <= TINY) figure.classList.add("pixelated");
    } catch (err) {
      figure.replaceChildren(h("p.error", { role: "alert" }, `The image could not be loaded: ${err.message}`));
    }
  } else {
    figure.replaceChildren(h("p.error", {}, "This item has no image."));
  }

  return {
    value() {
      const labels = picker.value();
      if (!labels.length) throw new Error(schema.multi_label ? "Choose at least one class" : "Choose a class");
      return { labels };
    },
    partial() {
      return { labels: picker.value() }; // "unclear" with no class: the server takes that as "can't tell"
    },
    focus() {
      picker.focus();
    },
    destroy() {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    },
  };
}
