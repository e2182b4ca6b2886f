// Mouse and pen on the box stage: drag on empty image to draw, click a box to select, drag it to move, drag a
// handle to resize, Space+drag (or the middle button) to pan, Ctrl+wheel to zoom, wheel to pan when zoomed.

import { clampBox, clampEdges, fromCorners, hitTest, resizeBy } from "./boxes_geometry.js";
import { ZOOM_STEP } from "./boxes_stage.js";

const DRAG_THRESHOLD = 3; // screen px before a press becomes a drag (a click only selects)

/**
 * `ed` is the editor: { boxes, selected, select(i), begin(), update(i, box), create(box) → index or -1 }.
 * Returns a function that detaches every listener.
 */
export function attachPointer(stage, ed) {
  const vp = stage.viewport;
  let drag = null;
  let spaceHeld = false;

  const down = (e) => {
    if (e.button !== 0 && e.button !== 1) return;
    vp.focus({ preventScroll: true });
    const p = stage.toImage(e.clientX, e.clientY);
    const base = { sx: e.clientX, sy: e.clientY, p, started: false };
    const handle = e.target.closest?.("[data-handle]")?.dataset.handle;
    if (spaceHeld || e.button === 1) drag = { ...base, mode: "pan", lx: e.clientX, ly: e.clientY };
    else if (handle && ed.selected >= 0) drag = { ...base, mode: "resize", handle, box: { ...ed.boxes[ed.selected] } };
    else {
      const hit = hitTest(ed.boxes, p);
      if (hit >= 0) {
        ed.select(hit);
        drag = { ...base, mode: "move", box: { ...ed.boxes[hit] } };
      } else drag = { ...base, mode: "draw", index: -1 };
    }
    vp.setPointerCapture(e.pointerId);
    e.preventDefault();
  };

  const move = (e) => {
    if (!drag) return;
    if (!drag.started && Math.hypot(e.clientX - drag.sx, e.clientY - drag.sy) < DRAG_THRESHOLD) return;
    const p = stage.toImage(e.clientX, e.clientY);
    const dx = p.x - drag.p.x;
    const dy = p.y - drag.p.y;
    const first = !drag.started;
    drag.started = true;
    if (drag.mode === "pan") {
      stage.panBy(e.clientX - drag.lx, e.clientY - drag.ly);
      drag.lx = e.clientX;
      drag.ly = e.clientY;
      return;
    }
    if (first && drag.mode !== "draw") ed.begin(); // create() records its own step
    if (drag.mode === "move") {
      ed.update(ed.selected, clampBox({ ...drag.box, x: drag.box.x + dx, y: drag.box.y + dy }, stage.imgW, stage.imgH));
    } else if (drag.mode === "resize") {
      ed.update(ed.selected, clampEdges(resizeBy(drag.box, drag.handle, dx, dy), stage.imgW, stage.imgH));
    } else {
      const box = clampEdges(fromCorners(drag.p, p), stage.imgW, stage.imgH);
      if (drag.index < 0) {
        drag.index = ed.create(box);
        if (drag.index < 0) drag = null; // the editor said why (max_boxes)
      } else ed.update(drag.index, { ...ed.boxes[drag.index], ...box });
    }
  };

  const up = () => {
    if (drag?.mode === "draw" && !drag.started) ed.select(-1);
    drag = null;
  };

  const wheel = (e) => {
    if (e.ctrlKey) {
      const r = vp.getBoundingClientRect();
      stage.zoomTo(stage.zoom * (e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP), e.clientX - r.left, e.clientY - r.top);
    } else if (stage.zoom > 1) stage.panBy(-e.deltaX, -e.deltaY);
    else return;
    e.preventDefault();
  };

  const typing = (t) => t && (["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName) || t.isContentEditable);
  const keydown = (e) => {
    if (e.key !== " " || typing(e.target)) return;
    spaceHeld = true;
    vp.classList.add("panning");
    if (e.target === vp) e.preventDefault(); // no page scroll while panning
  };
  const keyup = (e) => {
    if (e.key !== " ") return;
    spaceHeld = false;
    vp.classList.remove("panning");
  };

  vp.addEventListener("pointerdown", down);
  vp.addEventListener("pointermove", move);
  vp.addEventListener("pointerup", up);
  vp.addEventListener("pointercancel", up);
  vp.addEventListener("wheel", wheel, { passive: false });
  window.addEventListener("keydown", keydown);
  window.addEventListener("keyup", keyup);
  return () => {
    vp.removeEventListener("pointerdown", down);
    vp.removeEventListener("pointermove", move);
    vp.removeEventListener("pointerup", up);
    vp.removeEventListener("pointercancel", up);
    vp.removeEventListener("wheel", wheel);
    window.removeEventListener("keydown", keydown);
    window.removeEventListener("keyup", keyup);
  };
}
