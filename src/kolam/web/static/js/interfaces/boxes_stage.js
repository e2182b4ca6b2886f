// The image and its boxes on screen: fit, zoom and pan, and an SVG overlay whose viewBox is the ORIGINAL
// image's pixel grid, so a box drawn at any zoom is stored in original pixels without any conversion code.

const SVG = "http://www.w3.org/2000/svg";
const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#9a6324"];
export const ZOOM_STEP = 1.5;
export const MAX_ZOOM = 32;

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A colour per label, stable across tasks so annotators learn it. */
export function labelColor(labels, name) {
  const i = labels.findIndex((l) => l.name === name);
  return i < 0 ? "#ffbf47" : PALETTE[i % PALETTE.length];
}

export class BoxStage {
  /** `imgW`/`imgH`: the original's size; the shown image may be a smaller display copy, stretched to it. */
  constructor(viewport, imageUrl, imgW, imgH, labels) {
    this.viewport = viewport;
    this.imgW = imgW;
    this.imgH = imgH;
    this.labels = labels;
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.stage = document.createElement("div");
    this.stage.className = "boxes-stage";
    this.img = document.createElement("img");
    this.img.src = imageUrl;
    this.img.alt = "";
    this.img.draggable = false;
    this.svg = svg("svg", { viewBox: `0 0 ${imgW} ${imgH}`, preserveAspectRatio: "none", "aria-hidden": "true" });
    this.stage.append(this.img, this.svg);
    viewport.append(this.stage);
    this.observer = new ResizeObserver(() => this.layout());
    this.observer.observe(viewport);
    this.layout();
  }

  /** Screen pixels per original pixel at fit (zoom 1). */
  get fit() {
    const vw = this.viewport.clientWidth || 1;
    const vh = this.viewport.clientHeight || 1;
    return Math.min(vw / this.imgW, vh / this.imgH);
  }

  /** Screen pixels per original pixel now. */
  get scale() {
    return this.fit * this.zoom;
  }

  /** Apply zoom and pan; the image is centred where it is smaller than the viewport and never pans away. */
  layout() {
    const s = this.scale;
    const sw = this.imgW * s;
    const sh = this.imgH * s;
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    this.panX = sw <= vw ? (vw - sw) / 2 : Math.min(0, Math.max(vw - sw, this.panX));
    this.panY = sh <= vh ? (vh - sh) / 2 : Math.min(0, Math.max(vh - sh, this.panY));
    Object.assign(this.stage.style, {
      width: `${sw}px`,
      height: `${sh}px`,
      transform: `translate(${this.panX}px, ${this.panY}px)`,
    });
    this.viewport.dataset.scale = String(s);
    this.viewport.dataset.zoom = String(this.zoom);
    this.onLayout?.();
  }

  /** Zoom keeping the image point under viewport point (sx, sy) where it is; default: the centre. */
  zoomTo(zoom, sx = this.viewport.clientWidth / 2, sy = this.viewport.clientHeight / 2) {
    const z = Math.min(MAX_ZOOM, Math.max(1, zoom));
    const px = (sx - this.panX) / this.scale;
    const py = (sy - this.panY) / this.scale;
    this.zoom = z;
    this.panX = sx - px * this.scale;
    this.panY = sy - py * this.scale;
    this.layout();
  }

  /** Zoom around an image point (e.g. the selected box's centre), bringing it to the viewport's centre. */
  zoomAround(zoom, p) {
    this.zoom = Math.min(MAX_ZOOM, Math.max(1, zoom));
    this.panX = this.viewport.clientWidth / 2 - p.x * this.scale;
    this.panY = this.viewport.clientHeight / 2 - p.y * this.scale;
    this.layout();
  }

  panBy(dx, dy) {
    this.panX += dx;
    this.panY += dy;
    this.layout();
  }

  /** A pointer position as original-image pixels. */
  toImage(clientX, clientY) {
    const r = this.stage.getBoundingClientRect();
    return { x: (clientX - r.left) / this.scale, y: (clientY - r.top) / this.scale };
  }

  /** The part of the image that is visible, in original pixels (where a keyboard-made box goes). */
  visibleRect() {
    const s = this.scale;
    const x1 = Math.max(0, -this.panX / s);
    const y1 = Math.max(0, -this.panY / s);
    const x2 = Math.min(this.imgW, (this.viewport.clientWidth - this.panX) / s);
    const y2 = Math.min(this.imgH, (this.viewport.clientHeight - this.panY) / s);
    return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }

  /** Redraw every box; the selected one gets resize handles of constant on-screen size. */
  render(boxes, selected) {
    const s = this.scale;
    this.svg.replaceChildren();
    boxes.forEach((b, i) => {
      const color = labelColor(this.labels, b.label);
      const g = svg("g", { "data-index": i, class: i === selected ? "box selected" : "box" });
      g.append(
        svg("rect", {
          x: b.x,
          y: b.y,
          width: b.w,
          height: b.h,
          stroke: color,
          fill: color,
          "vector-effect": "non-scaling-stroke",
          class: "box-rect",
        }),
      );
      const tag = svg("text", { x: b.x + 3 / s, y: b.y + 13 / s, "font-size": 12 / s, class: "box-label" });
      tag.textContent = `${i + 1}${b.label ? ` ${b.label}` : ""}`;
      g.append(tag);
      if (i === selected) for (const handle of HANDLES) g.append(this.handle(b, handle, s));
      this.svg.append(g);
    });
  }

  handle(b, name, s) {
    const size = 9 / s;
    const cx = name.includes("w") ? b.x : name.includes("e") ? b.x + b.w : b.x + b.w / 2;
    const cy = name.includes("n") ? b.y : name.includes("s") ? b.y + b.h : b.y + b.h / 2;
    return svg("rect", {
      x: cx - size / 2,
      y: cy - size / 2,
      width: size,
      height: size,
      class: `handle handle-${name}`,
      "data-handle": name,
      "vector-effect": "non-scaling-stroke",
    });
  }

  destroy() {
    this.observer.disconnect();
    this.stage.remove();
  }
}
