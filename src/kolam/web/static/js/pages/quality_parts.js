// Pieces of the quality report: accuracy bars with their Wilson interval, the annotators' table, the confusion
// matrix as a heat table, and the policy in words. Every number is also text (tables, labels), never only drawn.

import { h } from "../dom.js";
import { num } from "./manage.js";

export const pct = (p, digits = 1) => (p == null ? "–" : `${num(100 * p, digits)} %`);
const interval = (ci) => (ci && ci[0] != null ? `${pct(ci[0])}–${pct(ci[1])}` : "–");

/** A bar for a proportion with its 95 % interval drawn over it; the numbers are in the row's text too. */
export function ciBar(label, p, ci, detail = "") {
  const words = p == null ? `${label}: no answers yet` : `${label}: ${pct(p)}, 95 % interval ${interval(ci)}${detail ? `, ${detail}` : ""}`;
  const bar = h("div.ci", { role: "img", "aria-label": words });
  if (p != null) {
    bar.append(h("div.fill", { style: { width: `${100 * p}%` } }));
    if (ci && ci[0] != null) bar.append(h("div.range", { style: { left: `${100 * ci[0]}%`, width: `${100 * (ci[1] - ci[0])}%` } }));
  }
  return h("div.bar-row", {}, h("span", {}, label), bar, h("span.muted", {}, p == null ? "–" : `${pct(p)} (${interval(ci)})`));
}

function statusCell(a, manage) {
  if (a.status !== "paused") return h("td", {}, a.status);
  return h("td", {}, h("strong.error", {}, "paused"), a.paused_reason ? h("div.muted", {}, a.paused_reason) : null,
    manage && a.user_id != null
      ? h("button.resume", { type: "button", dataset: { userId: a.user_id }, onclick: () => manage(a), "aria-label": `Resume ${a.annotator}` }, "Resume")
      : null);
}

/** One row per annotator; `resume(row)` (managers only) lets a paused one work again. */
export function annotatorTable(rows, resume) {
  if (!rows.length) return h("p.muted", {}, "No annotator has answered yet.");
  const cols = ["Annotator", "Answers", "Gold accuracy", "95 % interval", "Reviewed (right / all)", "Skill", "Agrees with consensus", "Status"];
  return h("table.list#quality-annotators", {},
    h("caption.sr-only", {}, "Annotators"),
    h("thead", {}, h("tr", {}, cols.map((t, i) => h(i && i < 7 ? "th.num" : "th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((a) =>
      h("tr", { dataset: { annotator: a.annotator } },
        h("th", { scope: "row" }, a.annotator),
        h("td.num", {}, num(a.answers)),
        h("td.num", {}, a.gold.answers ? `${pct(a.gold.accuracy)} (${a.gold.correct}/${a.gold.answers})` : "–"),
        h("td.num", {}, a.gold.answers ? interval(a.gold.interval) : "–"),
        h("td.num", {}, a.reviewed.answers ? `${a.reviewed.correct} / ${a.reviewed.answers}` : "–"),
        h("td.num", {}, a.skill == null ? "–" : pct(a.skill)),
        h("td.num", {}, pct(a.agreement_with_consensus)),
        statusCell(a, resume)))));
}

/** Rows: the consensus class; columns: the answer given. Cells shaded by the row's rate, counts as text. */
export function confusionTable(confusion) {
  if (!confusion) return h("p.muted", {}, "A confusion matrix is made for single-label class projects.");
  const { classes, counts, rates } = confusion;
  return h("table.list.heat#confusion", {},
    h("caption", {}, "Answers (columns) against the consensus (rows); shade: share of the row"),
    h("thead", {}, h("tr", {}, h("td", {}), classes.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, classes.map((c, i) =>
      h("tr", {}, h("th", { scope: "row" }, c), classes.map((_, j) => {
        const rate = rates[i][j] || 0;
        const dark = rate > 0.55;
        return h("td", {
          title: `consensus ${c}, answered ${classes[j]}: ${counts[i][j]} (${pct(rate)})`,
          style: { background: `rgba(31, 95, 191, ${(0.08 + 0.85 * rate).toFixed(3)})`, color: dark ? "#fff" : "inherit" },
          dataset: { row: c, col: classes[j] },
        }, num(counts[i][j]));
      })))));
}

const METHODS = {
  majority: "majority vote",
  dawid_skene: "Dawid–Skene (each annotator's confusion between classes is estimated)",
  one_coin: "one-coin (each annotator has one accuracy)",
  glad: "GLAD (annotator skill and item difficulty)",
  mace: "MACE (annotators who sometimes answer at random)",
  hierarchical_ds: "hierarchical Dawid–Skene (a sparse annotator's confusion leans on everyone's)",
};
export const methodName = (m) => METHODS[m] || m;

/** The quality policy as sentences. */
export function policyWords(p) {
  const q = p.qualification || {};
  return [
    `Consensus: ${methodName(p.method)}.`,
    p.adaptive
      ? `Adaptive overlap: one more answer is asked for while the consensus is below ${pct(p.target_confidence, 0)}, up to ${p.max_overlap} answers; items still unsure go to review.`
      : `Fixed overlap: items below ${pct(p.target_confidence, 0)} confidence go to review.`,
    `Review: ${pct(p.review_sample)} of settled items are sampled; items whose winning answer has under ${pct(p.review_disagreement, 0)} of the votes go to review.`,
    p.floor_accuracy > 0
      ? `Accuracy floor: annotators below ${pct(p.floor_accuracy, 0)} on gold (after ${p.floor_min_gold} gold answers) are paused.`
      : "Accuracy floor: none (nobody is paused for accuracy).",
    q.enabled
      ? `Qualification: a test of ${q.items} gold items, ${pct(q.pass_accuracy, 0)} correct to pass (${q.scope === "project" ? "per project" : `shared by projects testing ${q.scope.slice(6)}`}).`
      : "Qualification: no test.",
  ];
}
