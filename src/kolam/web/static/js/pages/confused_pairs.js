// The quality report's "Confused pairs": the class pairs the model or the annotators mix up most, from both
// sides, with example items (each opens its review page) and, for managers, the guideline note annotators see
// on items the model places between the two. JSON twin: `confused_pairs` in GET …/quality.

import { ApiError, api } from "../api.js";
import { h, toast } from "../dom.js";
import { num } from "./manage.js";
import { pct } from "./quality_parts.js";

const MAX_NOTE = 5000;

function sideRow(label, side, [a, b]) {
  if (!side) return h("tr", {}, h("th", { scope: "row" }, label), h("td.muted", { colSpan: 4 }, `not among the ${label === "Model" ? "model's" : "annotators'"} most confused pairs`));
  return h("tr", { dataset: { side: label.toLowerCase() } },
    h("th", { scope: "row" }, label),
    h("td.num", {}, num(side.count)),
    h("td.num", {}, pct(side.rate)),
    h("td.num", { title: `${a} taken for ${b}` }, num(side.first_as_second)),
    h("td.num", { title: `${b} taken for ${a}` }, num(side.second_as_first)));
}

function examples(pair, projectId) {
  if (!pair.examples.length) return h("p.muted", {}, "No example items yet (they need the active model's predictions).");
  return h("ul.examples", { "aria-label": `Example items for ${pair.classes.join(" and ")}` },
    pair.examples.map((e) => h("li", {},
      h("a", { href: `#/projects/${projectId}/review/${e.item_id}` }, e.name || `item ${e.item_id}`),
      `: model ${e.model}, people ${e.people}`)));
}

/** A manager's note on the pair: saved with PUT …/guidelines; an empty note removes it. */
function noteEditor(pair, projectId, index) {
  const [a, b] = pair.classes;
  const id = `pair-note-${index}`;
  const area = h(`textarea.pair-note#${id}`, { rows: 2, maxLength: MAX_NOTE, value: pair.note || "", placeholder: "e.g. a collar and buttons: Shirt" });
  const said = h("span.muted.note-status", { role: "status" });
  const save = h("button.save-note", { type: "button", "aria-label": `Save the note on ${a} and ${b}` }, "Save note");
  save.addEventListener("click", async () => {
    save.disabled = true;
    said.textContent = "Saving…";
    try {
      const out = await api("PUT", `projects/${projectId}/guidelines`, { classes: [a, b], note: area.value });
      said.textContent = out ? "Saved: annotators see it on items the model places between the two." : "Note removed.";
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      said.textContent = "";
      toast(err.offline ? "You are offline; saving needs the server." : err.message, { error: true });
    } finally {
      save.disabled = false;
    }
  });
  area.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) save.click();
  });
  return h("div.note-editor", {},
    h("label", { htmlFor: id }, `Note for annotators on ${a} vs ${b}`),
    area, h("div.actions", {}, save, h("span.hint.muted", {}, "Ctrl+Enter saves"), said));
}

/** The section: one entry per pair, worst first; `manage` adds the note editor. */
export function confusedPairs(pairs, projectId, manage) {
  const intro = "Pairs of classes mixed up most: by the model (out-of-fold, against what people settled) and by " +
    "annotators (against the consensus). Counts are items, in both directions.";
  if (!pairs || !pairs.length) {
    return h("section#confused-pairs", { "aria-labelledby": "h-pairs" },
      h("h2#h-pairs", {}, "Confused pairs"), h("p.muted", {}, "No pair of classes is confused often enough to show yet."));
  }
  return h("section#confused-pairs", { "aria-labelledby": "h-pairs" },
    h("h2#h-pairs", {}, "Confused pairs"),
    h("p", {}, intro),
    h("ol.pairs", {}, pairs.map((pair, i) => {
      const [a, b] = pair.classes;
      return h("li.pair", { dataset: { pair: `${a}|${b}` } },
        h("h3", { id: `pair-h-${i}` }, `${a} and ${b}`),
        h("table.list.pair-sides", { "aria-labelledby": `pair-h-${i}` },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Who"), h("th.num", { scope: "col" }, "Mixed up"), h("th.num", { scope: "col" }, "Rate"),
            h("th.num", { scope: "col" }, `${a} as ${b}`), h("th.num", { scope: "col" }, `${b} as ${a}`))),
          h("tbody", {}, sideRow("Model", pair.model, pair.classes), sideRow("People", pair.people, pair.classes))),
        examples(pair, projectId),
        manage ? noteEditor(pair, projectId, i) : pair.note && h("p.pair-note-text", {}, h("strong", {}, "Note: "), pair.note));
    })));
}
