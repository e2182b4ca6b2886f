// The image_boxes interface (contract D): draw, select, move, resize and label boxes with mouse or keyboard.
// Boxes live and are answered in ORIGINAL image pixels; the picture shown may be a smaller display copy.

import { h, toast } from "../dom.js";
import { BoxEditor } from "./boxes_editor.js";
import { clampEdges, fromValue, toAnswer } from "./boxes_geometry.js";
import { labelKeys, registerBoxKeys } from "./boxes_keys.js";
import { attachPointer } from "./boxes_pointer.js";
import { BoxStage, labelColor } from "./boxes_stage.js";

/** Load the picture; its natural size is the original's only when no display copy exists. */
async function loadImage(ctx) {
  const item = ctx.task.item;
  const url = item.display_url || item.content_url;
  if (!url) throw new Error("This item has no image to show.");
  const blob = await ctx.media(url);
  const objectUrl = URL.createObjectURL(blob);
  const probe = new Image();
  probe.src = objectUrl;
  await probe.decode();
  let width = item.width;
  let height = item.height;
  if (!(width > 0 && height > 0) && item.display_url && typeof ctx.mediaInfo === "function") {
    const info = await ctx.mediaInfo(item.display_url).catch(() => null);
    if (info?.width > 0 && info?.height > 0) ({ width, height } = info);
  }
  if (!(width > 0 && height > 0)) ({ naturalWidth: width, naturalHeight: height } = probe);
  return { objectUrl, width, height, shownWidth: probe.naturalWidth };
}

export async function mount(root, ctx) {
  const labels = (ctx.schema.labels || []).filter((l) => !l.retired);
  const keys = labelKeys(labels);
  const image = await loadImage(ctx);
  let current = labels[0]?.name ?? null; // the label the next new box gets

  const viewport = h("div.boxes-viewport", {
    tabindex: 0,
    role: "application",
    "aria-label": "Image. n: new box; arrows: move; Shift+arrows: resize; ] and [: select; + and -: zoom",
    "aria-describedby": "boxes-status",
  });
  const statusEl = h("p.boxes-status.muted#boxes-status", { role: "status", "aria-live": "polite" });
  const list = h("ol.boxes-list", { "aria-label": "Boxes" });
  const labelBar = h("div.boxes-labels", { role: "group", "aria-label": "Labels" });
  const countEl = h("span.boxes-count");
  const zoomEl = h("span.boxes-zoom");
  const status = (msg) => (statusEl.textContent = msg);

  const stage = new BoxStage(viewport, image.objectUrl, image.width, image.height, labels);
  const ed = new BoxEditor(fromValue(ctx.initial, image.width, image.height), {
    maxBoxes: ctx.schema.max_boxes || 500,
    onChange: ({ answer }) => {
      render();
      if (answer) ctx.changed();
    },
    onLimit: (msg) => {
      status(msg);
      toast(msg, { error: true });
    },
  });

  const setLabel = (name) => {
    current = name;
    if (ed.selected >= 0) ed.setLabel(name);
    else render();
    status(ed.selected >= 0 ? `Box ${ed.selected + 1}: ${name}` : `New boxes get the label ${name}`);
  };

  // The original on request only (it may be megabytes): for zooming past what the display copy holds.
  let originalUrl = null;
  let destroyed = false;
  const canLoadOriginal = Boolean(ctx.task.item.display_url && ctx.task.item.content_url);
  const loadOriginal = async () => {
    if (!canLoadOriginal || originalUrl) return;
    status("Loading the full-resolution original…");
    try {
      const response = await fetch(ctx.task.item.content_url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const blob = await response.blob();
      if (destroyed) return;
      originalUrl = URL.createObjectURL(blob);
      stage.img.src = originalUrl;
      originalBtn.setAttribute("aria-pressed", "true");
      status(`Showing the original (${Math.round(blob.size / 1024)} KB).`);
    } catch (err) {
      status(`The original could not be loaded: ${err.message}`);
    }
  };
  const blurry = () => canLoadOriginal && !originalUrl && stage.scale > (image.shownWidth / image.width) * 1.5;

  const newBox = () => {
    const v = stage.visibleRect();
    const box = { x: v.x + v.w * 0.375, y: v.y + v.h * 0.375, w: v.w / 4, h: v.h / 4, label: current };
    if (ed.create(clampEdges(box, image.width, image.height)) >= 0) {
      status(`Box ${ed.selected + 1} made: arrows move it, Shift+arrows resize it`);
    }
  };

  // Labels and list are updated in place, so a keyboard user's focus on one of their buttons survives edits.
  const labelButtons = labels.map((l, i) =>
    h(
      "button.boxes-label",
      {
        type: "button",
        title: l.description || l.name,
        style: { "--label-color": labelColor(labels, l.name) },
        onclick: () => setLabel(l.name),
      },
      keys[i] && h("kbd", {}, keys[i]),
      ` ${l.name}`,
    ),
  );
  labelBar.append(...labelButtons);
  const renderLabels = () =>
    labelButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(labels[i].name === current)));

  function renderList() {
    let buttons = [...list.querySelectorAll(".boxes-item")];
    if (buttons.length !== ed.boxes.length) {
      const hadFocus = list.contains(document.activeElement);
      buttons = ed.boxes.map((_, i) => h("button.boxes-item", { type: "button", onclick: () => ed.select(i) }));
      list.replaceChildren(...buttons.map((b) => h("li", {}, b)));
      if (!ed.boxes.length) list.append(h("li.muted", {}, "No boxes yet: an empty answer means nothing to box."));
      if (hadFocus) (buttons[ed.selected] || viewport).focus();
    }
    ed.boxes.forEach((b, i) => {
      buttons[i].setAttribute("aria-pressed", String(i === ed.selected));
      buttons[i].style.setProperty("--label-color", labelColor(labels, b.label));
      buttons[i].textContent = `${i + 1}. ${b.label ?? "(no label)"} · ${Math.round(b.w)}×${Math.round(b.h)} px`;
    });
  }

  function render() {
    stage.render(ed.boxes, ed.selected);
    renderLabels();
    renderList();
    countEl.textContent = `${ed.boxes.length} / ${ed.maxBoxes} boxes`;
    zoomEl.textContent = `${Math.round(stage.zoom * 100)}%`;
  }
  stage.onLayout = () => {
    if (zoomEl.isConnected) render();
  };

  const tool = (label, key, onclick) =>
    h("button", { type: "button", "aria-label": `${label} (${key})`, title: `${label} (${key})`, onclick }, label);
  const originalBtn = tool("Full resolution", "o", () => loadOriginal());
  originalBtn.setAttribute("aria-pressed", "false");
  const toolbar = h(
    "div.boxes-toolbar",
    { role: "toolbar", "aria-label": "Box tools" },
    tool("New box", "n", () => newBox()),
    tool("Delete", "Delete", () => ed.remove()),
    tool("Undo", "Ctrl+Z", () => ed.undo()),
    tool("Redo", "Ctrl+Shift+Z", () => ed.redo()),
    tool("Zoom in", "+", () => stage.zoomTo(stage.zoom * 1.5)),
    tool("Zoom out", "-", () => stage.zoomTo(stage.zoom / 1.5)),
    tool("Fit", "0", () => stage.zoomTo(1)),
    canLoadOriginal && originalBtn,
    zoomEl,
    countEl,
  );

  const el = h(
    "div.iface-boxes",
    {},
    h("div.boxes-main", {}, toolbar, viewport, statusEl),
    h("aside.boxes-side", {}, h("h3", {}, "Labels"), labelBar, h("h3", {}, "Boxes"), list),
  );
  root.append(el);
  stage.layout();
  render();
  status(`${image.width}×${image.height} px original. n: new box, drag to draw.`);

  const detachPointer = attachPointer(stage, ed);
  const unregister = registerBoxKeys(ctx.hotkeys, {
    ed,
    stage,
    labels,
    keys,
    setLabel,
    newBox,
    status,
    loadOriginal: canLoadOriginal ? loadOriginal : null,
    blurry,
  });

  return {
    value() {
      const boxes = ed.boxes.map((b) => toAnswer(b, image.width, image.height));
      if (boxes.length > ed.maxBoxes) throw new Error(`At most ${ed.maxBoxes} boxes, please: delete some.`);
      const unlabeled = boxes.findIndex((b) => !b.label);
      if (unlabeled >= 0 && labels.length) {
        throw new Error(`Box ${unlabeled + 1} has no label: select it (] or [) and press a label key.`);
      }
      return { boxes };
    },
    /** What there is, labelled or not: the workspace sends this with "unclear". */
    partial() {
      return { boxes: ed.boxes.map((b) => toAnswer(b, image.width, image.height)) };
    },
    focus() {
      viewport.focus({ preventScroll: true });
    },
    destroy() {
      destroyed = true;
      unregister();
      detachPointer();
      stage.destroy();
      el.remove();
      URL.revokeObjectURL(image.objectUrl);
      if (originalUrl) URL.revokeObjectURL(originalUrl);
    },
  };
}
