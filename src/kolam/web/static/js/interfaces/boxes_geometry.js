// Box arithmetic in ORIGINAL image pixels. Everything the annotator sees is a scaled view of these numbers,
// so answers mean the same whatever screen, display copy or zoom level they were drawn on.

/** Round to 0.1 px: finer than any annotator aims, coarse enough that answers compare equal across browsers. */
export const round1 = (v) => Math.round(v * 10) / 10;

/** The smallest box, in original pixels; a zero-width box is no answer the server accepts. */
export const MIN_SIZE = 1;

/** Keep a box inside the image, at least MIN_SIZE wide and high, without changing its size where it fits. */
export function clampBox(box, imgW, imgH) {
  const w = Math.min(Math.max(box.w, MIN_SIZE), imgW);
  const h = Math.min(Math.max(box.h, MIN_SIZE), imgH);
  const x = Math.min(Math.max(box.x, 0), imgW - w);
  const y = Math.min(Math.max(box.y, 0), imgH - h);
  return { ...box, x, y, w, h };
}

/** Clamp a box whose edges move independently (resizing): the far edges stay where they were. */
export function clampEdges(box, imgW, imgH) {
  let x1 = Math.max(0, Math.min(box.x, imgW));
  let y1 = Math.max(0, Math.min(box.y, imgH));
  let x2 = Math.max(0, Math.min(box.x + box.w, imgW));
  let y2 = Math.max(0, Math.min(box.y + box.h, imgH));
  if (x2 - x1 < MIN_SIZE) (x2 = Math.min(imgW, x1 + MIN_SIZE)), (x1 = x2 - MIN_SIZE);
  if (y2 - y1 < MIN_SIZE) (y2 = Math.min(imgH, y1 + MIN_SIZE)), (y1 = y2 - MIN_SIZE);
  return { ...box, x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/** The box spanned by two corner points (a drag), normalised so that w and h are positive. */
export function fromCorners(a, b) {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
}

/**
 * Resize by dragging one handle. `handle` names the edges it moves: "n", "s", "e", "w" or two of them ("nw").
 * Dragging past the opposite edge flips the box instead of inverting it.
 */
export function resizeBy(box, handle, dx, dy) {
  let x1 = box.x;
  let y1 = box.y;
  let x2 = box.x + box.w;
  let y2 = box.y + box.h;
  if (handle.includes("w")) x1 += dx;
  if (handle.includes("e")) x2 += dx;
  if (handle.includes("n")) y1 += dy;
  if (handle.includes("s")) y2 += dy;
  return { ...box, ...fromCorners({ x: x1, y: y1 }, { x: x2, y: y2 }) };
}

/** The answer's form of a box: rounded, clamped, and only the fields the server knows. */
export function toAnswer(box, imgW, imgH) {
  const c = clampBox(box, imgW, imgH);
  const x = round1(c.x);
  const y = round1(c.y);
  const w = round1(Math.min(c.w, imgW - x));
  const h = round1(Math.min(c.h, imgH - y));
  return { x, y, w, h, label: box.label ?? null };
}

/** Boxes from a prediction or a draft: anything malformed is dropped rather than shown wrongly. */
export function fromValue(value, imgW, imgH) {
  const boxes = Array.isArray(value?.boxes) ? value.boxes : [];
  return boxes
    .filter((b) => [b.x, b.y, b.w, b.h].every(Number.isFinite) && b.w > 0 && b.h > 0)
    .map((b) => clampEdges({ x: b.x, y: b.y, w: b.w, h: b.h, label: b.label ?? null }, imgW, imgH));
}

/** The index of the topmost box containing a point, or -1; later boxes are drawn on top. */
export function hitTest(boxes, p) {
  for (let i = boxes.length - 1; i >= 0; i--) {
    const b = boxes[i];
    if (p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h) return i;
  }
  return -1;
}
