// text_classes (moderation): the text in any script, the policy classes with hotkeys, and, when the schema
// takes spans, the offending part marked: select it (Shift+arrows or mouse), press "h" to mark it with the
// class chosen last. Span offsets are code points into item.text, as the server counts them.

import { h, mount as fill, toast } from "../dom.js";
import { ClassPicker, History } from "../work/class_picker.js";
import { TextRegion } from "../work/text_region.js";

const GROUP = "Text classes";

export async function mount(root, ctx) {
  const { task, schema, hotkeys } = ctx;
  const text = task.item.text ?? (task.item.content_url ? await (await ctx.media(task.item.content_url)).text() : "");
  const takesSpans = schema.spans !== false;
  const history = new History();
  let spans = takesSpans ? (ctx.initial?.spans || []).filter((s) => s.end <= Array.from(text).length) : [];
  const snapshot = () => history.push({ labels: picker.labels, spans });

  const picker = new ClassPicker({
    classes: schema.classes, multi: schema.multi_label !== false, labels: ctx.initial?.labels || [], hotkeys,
    group: GROUP, beforeChange: snapshot, onChange: () => ctx.changed(),
  });
  const list = h("ul.tc-spans", { "aria-label": "Marked spans" });
  const region = new TextRegion(text, {
    label: (s) => s.label,
    onDelete: (start, end) => {
      const hit = spans.filter((s) => (start === end ? s.start <= start && s.end >= end : s.start < end && s.end > start));
      if (hit.length) setSpans(spans.filter((s) => !hit.includes(s)));
    },
  });

  function setSpans(next, { record = true } = {}) {
    if (record) snapshot();
    spans = [...next].sort((a, b) => a.start - b.start || a.end - b.end);
    region.setSpans(spans);
    renderList();
    ctx.changed();
  }

  function renderList() {
    fill(list, spans.map((s, i) => {
      const excerpt = region.slice(s.start, s.end);
      const short = excerpt.length > 60 ? `${excerpt.slice(0, 57)}…` : excerpt;
      return h("li", { dataset: { start: s.start, end: s.end, label: s.label } },
        h("strong", {}, s.label), `: “${short}” `,
        h("button", { type: "button", "aria-label": `Delete span ${i + 1}: ${s.label}, “${short}”`,
          onclick: () => setSpans(spans.filter((x) => x !== s)) }, "Delete"));
    }));
  }

  function markSelection() {
    const { start, end } = region.selection();
    const label = picker.current();
    if (start === end) return toast("Select part of the text first (Shift+arrows or the mouse)", { error: true });
    if (!label) return toast("Choose a class first (its key), then press h", { error: true });
    snapshot();
    picker.ensure(label);
    setSpans([...spans.filter((s) => !(s.start === start && s.end === end && s.label === label)), { start, end, label }],
      { record: false });
    region.clearSelection();
  }

  hotkeys.register("Ctrl+z", "Undo the last change", () => {
    const previous = history.pop();
    if (!previous) return;
    picker.set(previous.labels);
    setSpans(previous.spans, { record: false });
  }, { group: GROUP });
  if (takesSpans) {
    hotkeys.register("h", "Mark the selected text with the class chosen last", markSelection, { group: GROUP });
  }

  region.setSpans(spans);
  renderList();
  root.append(
    h("div.tc", {},
      region.element,
      takesSpans && h("p.tc-help", {}, "Select the offending part (Shift+arrows, Ctrl for words), then press ",
        h("kbd", {}, "h"), " to mark it with the class chosen last; Delete removes a mark under the cursor."),
      takesSpans && list,
      picker.element),
  );

  return {
    value() {
      const labels = picker.value();
      if (!labels.length) throw new Error(schema.multi_label === false ? "Choose a class" : "Choose at least one class");
      return takesSpans ? { labels, spans } : { labels };
    },
    partial() {
      return takesSpans ? { labels: picker.value(), spans } : { labels: picker.value() };
    },
    focus() {
      region.element.focus();
    },
    destroy() {},
  };
}
