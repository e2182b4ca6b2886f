// A small SVG bar chart, hand-written (a charting library would outweigh the whole app shell). Accessible:
// the picture is role="img" with a summary for screen readers, and the numbers are in a visually hidden table.

import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** A "nice" axis maximum at or above `max`: 1, 2, 5 × a power of ten. */
export function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * power).find((n) => n >= max);
}

/**
 * points: [{label, short, value}] — `label` for the table and tooltips, `short` under the bar (or "").
 * Options: caption (the table's and figure's caption), summary (the image's aria-label), unit, width, height,
 * labelHeader (the table's first column).
 */
export function barChart(points, { caption, summary, unit = "", width = 760, height = 190, labelHeader = "When" } = {}) {
  const left = 34, bottom = 22, top = 8, right = 6;
  const plotW = width - left - right, plotH = height - top - bottom;
  const top_ = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const step = plotW / Math.max(points.length, 1);
  const barW = Math.max(1, step * 0.75);
  const y = (v) => top + plotH - (v / top_) * plotH;
  const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary || caption, focusable: "false" });
  for (const v of [0, top_ / 2, top_]) {
    picture.append(
      svg("line", { class: "axis", x1: left, x2: width - right, y1: y(v), y2: y(v) }),
      svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end" }, String(Math.round(v * 10) / 10)),
    );
  }
  points.forEach((p, i) => {
    const x = left + i * step + (step - barW) / 2;
    const bar = svg("rect", { class: "bar", x, y: y(p.value), width: barW, height: Math.max(0, top + plotH - y(p.value)) });
    bar.append(svg("title", {}, `${p.label}: ${p.value}${unit}`));
    picture.append(bar);
    if (p.short) picture.append(svg("text", { x: x + barW / 2, y: height - 6, "text-anchor": "middle" }, p.short));
  });
  // wrapped: a table ignores the 1px height of .sr-only and would lengthen the page
  const table = h(
    "div.sr-only",
    {},
    h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, labelHeader), h("th", { scope: "col" }, "Value"))),
    h("tbody", {}, points.map((p) => h("tr", {}, h("th", { scope: "row" }, p.label), h("td", {}, `${p.value}${unit}`)))),
    ),
  );
  return h("figure.chart", {}, picture, table);
}
