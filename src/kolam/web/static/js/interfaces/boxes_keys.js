// Every box action on the keyboard. Arrows move in DISPLAY pixels (what the annotator sees), converted to
// original pixels by the current scale, so a nudge is always one visible step whatever the zoom.

import { clampBox, clampEdges } from "./boxes_geometry.js";
import { ZOOM_STEP } from "./boxes_stage.js";

const GROUP = "image_boxes";
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const RESIZE = { ArrowLeft: "narrower", ArrowRight: "wider", ArrowUp: "shorter", ArrowDown: "taller" };
const PAN_STEP = 80; // screen px per Ctrl+arrow

/** The label hotkeys: the schema's own, else 1–9 for those without one (never a key another label has). */
export function labelKeys(labels) {
  const taken = new Set(labels.map((l) => l.hotkey).filter(Boolean));
  let next = 1;
  return labels.map((l) => {
    if (l.hotkey) return l.hotkey;
    while (next <= 9 && taken.has(String(next))) next++;
    return next <= 9 ? String(next++) : null;
  });
}

/**
 * Register the keys; `ui` is { ed, stage, labels, keys, setLabel(name), newBox(), status(msg), loadOriginal
 * (or null), blurry() }.
 */
export function registerBoxKeys(hotkeys, ui) {
  const { ed, stage } = ui;
  const used = new Set();
  const offs = [];
  const reg = (key, description, handler) => {
    if (used.has(key)) return; // a label's hotkey wins over a tool key
    used.add(key);
    offs.push(hotkeys.register(key, description, handler, { group: GROUP }));
  };
  ui.labels.forEach((label, i) => {
    if (ui.keys[i]) reg(ui.keys[i], `Label: ${label.name}`, () => ui.setLabel(label.name));
  });

  const sel = () => (ed.selected >= 0 ? ed.boxes[ed.selected] : null);
  const move = (dx, dy) => {
    const b = sel();
    if (!b) return ui.status("No box selected: press n to make one, or ] to select one.");
    ed.begin(`move${ed.selected}`);
    const s = stage.scale;
    ed.update(ed.selected, clampBox({ ...b, x: b.x + dx / s, y: b.y + dy / s }, stage.imgW, stage.imgH));
  };
  const resize = (dw, dh) => {
    const b = sel();
    if (!b) return ui.status("No box selected: press n to make one, or ] to select one.");
    ed.begin(`size${ed.selected}`);
    const s = stage.scale;
    ed.update(ed.selected, clampEdges({ ...b, w: b.w + dw / s, h: b.h + dh / s }, stage.imgW, stage.imgH));
  };
  for (const [key, [dx, dy]] of Object.entries(ARROWS)) {
    const dir = key.slice(5).toLowerCase();
    reg(key, `Move the box ${dir} by 1 screen pixel`, () => move(dx, dy));
    reg(`Alt+${key}`, `Move the box ${dir} by 10 screen pixels`, () => move(dx * 10, dy * 10));
    reg(`Shift+${key}`, `Resize: ${RESIZE[key]} by 1 screen pixel`, () => resize(dx, dy));
    reg(`Alt+Shift+${key}`, `Resize by 10 screen pixels (${dir})`, () => resize(dx * 10, dy * 10));
    reg(`Ctrl+${key}`, `Pan the image ${dir}`, () => stage.panBy(-dx * PAN_STEP, -dy * PAN_STEP));
  }

  const zoom = (factor) => {
    const b = sel();
    if (b) stage.zoomAround(stage.zoom * factor, { x: b.x + b.w / 2, y: b.y + b.h / 2 });
    else stage.zoomTo(stage.zoom * factor);
    const hint = ui.blurry() ? ": past the display copy's detail, o loads the original" : "";
    ui.status(`Zoom ${Math.round(stage.zoom * 100)}%${hint}`);
  };
  reg("n", "New box in the middle of the view", () => ui.newBox());
  reg("]", "Select the next box", () => ed.cycle(1));
  reg("[", "Select the previous box", () => ed.cycle(-1));
  reg("Delete", "Delete the selected box", () => ed.remove());
  reg("Backspace", "Delete the selected box", () => ed.remove());
  reg("+", "Zoom in (around the selected box)", () => zoom(ZOOM_STEP));
  reg("=", "Zoom in", () => zoom(ZOOM_STEP));
  reg("-", "Zoom out", () => zoom(1 / ZOOM_STEP));
  reg("0", "Fit the image", () => zoom(1 / stage.zoom));
  if (ui.loadOriginal) reg("o", "Load the full-resolution original (for close zoom)", ui.loadOriginal);
  reg("Ctrl+z", "Undo", () => ed.undo() || ui.status("Nothing to undo"));
  reg("Ctrl+Shift+z", "Redo", () => ed.redo() || ui.status("Nothing to redo"));
  reg("Ctrl+y", "Redo", () => ed.redo() || ui.status("Nothing to redo"));
  return () => offs.forEach((off) => off());
}
