// How a reviewer sees an item and its answers, read-only: the item as its interface shows it (image, text,
// audio), each answer as class chips, boxes (drawn over the image in one colour per annotator, the consensus
// dashed) or transcript segments, and the consensus with its posterior.

import { h } from "../dom.js";
import { summarize } from "./items.js";
import { num } from "./manage.js";
import { percent } from "./review_queue.js";

const SVG = "http://www.w3.org/2000/svg";
// Distinct, colour-blind-friendly (Okabe–Ito) colours, one per annotator; the consensus is black, dashed.
export const PALETTE = ["#e69f00", "#56b4e9", "#009e73", "#d55e00", "#cc79a7", "#0072b2", "#f0e442", "#999999"];

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Give an image item its original size when the payload lacks it (GET …/review/{task} sends none today): boxes
 * are in original pixels, the display copy may be smaller. The display copy's headers carry the original's size.
 */
export async function learnOriginalSize(item) {
  if (item.media !== "image" || !item.display_url || (item.width > 0 && item.height > 0)) return;
  try {
    const response = await fetch(item.display_url, { credentials: "same-origin" });
    const width = Number(response.headers.get("X-Kolam-Original-Width"));
    const height = Number(response.headers.get("X-Kolam-Original-Height"));
    if (width > 0 && height > 0) Object.assign(item, { width, height });
  } catch (err) {
    console.warn("original size unknown", err);
  }
}

/** The item: its text, its audio with controls, or its image (with box layers for image_boxes). */
export function itemView(item, kind, layers = []) {
  const name = item.external_id ? `Item ${item.external_id}` : `Item ${item.id}`;
  const src = item.display_url || item.content_url;
  if (item.text != null) return h("div.review-item", {}, h("pre.text", { tabindex: 0, "aria-label": `${name} text` }, item.text));
  if (item.media === "audio" && src) return h("div.review-item", {}, h("audio", { src, controls: true, preload: "metadata", "aria-label": `Audio of ${name}` }));
  if (!src) return h("div.review-item", {}, h("p.muted", {}, `${name} has no content to show.`));
  const img = h("img", { src, alt: name, decoding: "async" });
  const figure = h("figure.overlay-figure", {}, img);
  const box = h("div.review-item", {}, figure);
  img.addEventListener("error", () => figure.replaceChildren(h("p.error", {}, `The image of ${name} could not be loaded.`)), { once: true });
  if (kind !== "image_boxes" || !layers.length) return box;
  const picture = svg("svg", { "aria-hidden": "true", preserveAspectRatio: "none" });
  figure.append(picture);
  const draw = () => {
    const w = item.width || img.naturalWidth || 1;
    const hgt = item.height || img.naturalHeight || 1;
    picture.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    picture.replaceChildren();
    for (const layer of layers.filter((l) => l.shown)) {
      for (const b of layer.value?.boxes || []) {
        const rect = svg("rect", { x: b.x, y: b.y, width: b.w, height: b.h, stroke: layer.color });
        if (layer.consensus) rect.classList.add("consensus");
        picture.append(rect);
      }
    }
  };
  img.addEventListener("load", draw);
  draw();
  const toggles = layers.map((layer) =>
    h("label", {},
      h("input", { type: "checkbox", checked: layer.shown, onchange: (e) => ((layer.shown = e.target.checked), draw()) }),
      h("span.swatch", { style: { borderColor: layer.color, borderStyle: layer.consensus ? "dashed" : "solid" } }),
      `${layer.name} (${(layer.value?.boxes || []).length})`));
  box.append(h("div.layers", { role: "group", "aria-label": "Box layers shown" }, toggles));
  return box;
}

/** One value in the kind's own terms: chips for classes, a list of boxes, segments of a transcript. */
export function valueView(value, reference = null) {
  if (!value) return h("p.muted", {}, "–");
  const parts = [];
  if (Array.isArray(value.labels)) {
    const agreed = new Set(reference?.labels || []);
    parts.push(h("div.chips", {}, value.labels.length
      ? value.labels.map((l) => h(`span.chip${reference ? (agreed.has(l) ? ".agree" : ".differ") : ""}`, {}, l))
      : h("span.muted", {}, "(no class)")));
  }
  if (Array.isArray(value.spans) && value.spans.length) {
    parts.push(h("p.muted", {}, `Spans: ${value.spans.map((s) => `${s.label} ${s.start}–${s.end}`).join(", ")}`));
  }
  if (Array.isArray(value.boxes)) {
    parts.push(h("ol.segments", {}, value.boxes.map((b) =>
      h("li", {}, `${b.label ?? "(no label)"} at ${num(b.x)}, ${num(b.y)} · ${num(b.w)} × ${num(b.h)}`))));
    if (!value.boxes.length) parts.push(h("p.muted", {}, "No boxes."));
  }
  if (Array.isArray(value.segments)) {
    parts.push(value.segments.length
      ? h("ol.segments", {}, value.segments.map((s) =>
        h("li", {}, h("span.muted", {}, `${num(s.start, 2)}–${num(s.end, 2)} s${s.language ? ` · ${s.language}` : ""}: `), s.text)))
      : h("p.muted", {}, "No segments."));
  }
  if (!parts.length) parts.push(h("p", {}, summarize(value)));
  if (value.unclear) parts.push(h("p", {}, h("span.badge.late", {}, "unclear")));
  if (value.comment) parts.push(h("p", {}, "Comment: “", value.comment, "”"));
  return h("div.value", {}, parts);
}

/** Every annotator's answer side by side, with the consensus first. */
export function answersView(detail, colors) {
  const reference = detail.consensus?.value || null;
  const cards = detail.answers.map((a) =>
    h("article.answer-card", { dataset: { annotationId: a.annotation_id, userId: a.user_id } },
      h("h3", {}, colors && h("span.swatch", { style: { borderColor: colors.get(a.annotation_id) } }), a.annotator,
        a.counted ? null : h("span.badge.not-counted", {}, "not counted")),
      valueView(a.value, reference)));
  const consensus = detail.consensus &&
    h("article.answer-card.consensus-card#consensus-answer", {},
      h("h3", {}, colors && h("span.swatch", { style: { borderColor: "#111", borderStyle: "dashed" } }), "Consensus"),
      valueView(reference));
  return h("div.answers-grid#answers", {}, consensus, cards.length ? cards : h("p.muted", {}, "No answers."));
}

/** The consensus: value, confidence, method, status, the posterior as a small table; gold and predictions. */
export function consensusPanel(detail) {
  const c = detail.consensus;
  const rows = c
    ? [["Confidence", percent(c.confidence)], ["Method", c.method], ["Status", c.status], ["Answers", num(c.answers)],
      ["Reason", c.review_reason || "–"]]
    : [];
  const posterior = c?.posterior && Object.keys(c.posterior).length
    ? h("table.list#posterior", {}, h("caption", {}, "Posterior"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Class"), h("th.num", { scope: "col" }, "Probability"))),
      h("tbody", {}, Object.entries(c.posterior).sort((a, b) => b[1] - a[1])
        .map(([k, p]) => h("tr", {}, h("th", { scope: "row" }, k), h("td.num", {}, percent(p))))))
    : null;
  const panel = h("section.panel.consensus-panel#consensus", { "aria-label": "Consensus" },
    h("h2", {}, "Consensus"),
    c ? [valueView(c.value), h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { key: k.toLowerCase() } }, v)]))]
      : h("p.muted", {}, "No consensus yet."),
    posterior);
  if (detail.gold) panel.append(h("h3", {}, "Gold answer"), h("div#gold-answer", {}, valueView(detail.gold)));
  if (detail.predictions?.length) {
    panel.append(h("h3", {}, "Model predictions"), detail.predictions.map((p) =>
      h("div", {}, h("span.muted", {}, `${p.model_version} (${percent(p.confidence)}): `), summarize(p.value))));
  }
  if (detail.reviews?.length) {
    panel.append(h("h3", {}, "Earlier verdicts"), h("ul", {}, detail.reviews.map((r) =>
      h("li", {}, `${r.verdict}${r.note ? ` — “${r.note}”` : ""}`))));
  }
  return panel;
}

/** Box layers for image_boxes: each answer in its colour, then the consensus. */
export function boxLayers(detail) {
  const colors = new Map();
  const layers = detail.answers.map((a, i) => {
    colors.set(a.annotation_id, PALETTE[i % PALETTE.length]);
    return { name: a.annotator, value: a.value, color: PALETTE[i % PALETTE.length], shown: true };
  });
  if (detail.consensus) layers.push({ name: "Consensus", value: detail.consensus.value, color: "#111", consensus: true, shown: true });
  return { layers, colors };
}
