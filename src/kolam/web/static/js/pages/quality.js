// The quality report: what settled, accuracy on gold with its interval, agreement, how sure the consensus is,
// each annotator, the confusion between classes, the review queue and the policy. JSON twin: GET …/quality.
// The client's viewer sees the same page, annotators as pseudonyms.

import { ApiError, get, post } from "../api.js";
import { h, loadCss, mount, toast } from "../dom.js";
import { barChart } from "./chart.js";
import { confusedPairs } from "./confused_pairs.js";
import { can, manageCss, num, projectHeader } from "./manage.js";
import { annotatorTable, ciBar, confusionTable, pct, policyWords } from "./quality_parts.js";
import { REASONS } from "./review_queue.js";

function card(id, value, label) {
  return h(`div.card#${id}`, {}, h("span.big", {}, value), h("span.label", {}, label));
}

function summary(s) {
  const per = s.human_answers_per_settled_item;
  return h("div.cards#quality-summary", {},
    card("q-items", num(s.items), "items"),
    card("q-settled", num(s.items_settled), "items settled"),
    card("q-consensus", num(s.items_with_consensus), "with a consensus"),
    card("q-answers", num(s.answers), "answers"),
    card("q-per-item", num(per.mean, 2), `human answers per settled item (median ${num(per.median, 1)}, 90th pct ${num(per.p90, 1)})`));
}

function gold(g) {
  const head = g.answers
    ? `${num(g.correct)} of ${num(g.answers)} answers on ${num(g.items)} gold items were right.`
    : `${num(g.items)} gold items; no answers on them yet.`;
  return h("section#quality-gold", { "aria-labelledby": "h-gold" },
    h("h2#h-gold", {}, "Accuracy on gold"),
    h("p", {}, head),
    ciBar("All answers", g.accuracy, g.interval, `${g.correct} of ${g.answers}`),
    (g.by_class || []).map((c) => ciBar(c.class, c.accuracy, c.interval, `${c.answers} answers`)));
}

function agreement(a) {
  if (!a.available) return h("section#quality-agreement", {}, h("h2", {}, "Agreement"), h("p.muted", {}, a.reason));
  const stat = (value, reason) => (value == null ? h("span.muted", {}, `– (${reason || "not computable"})`) : num(value, 3));
  return h("section#quality-agreement", {},
    h("h2", {}, "Agreement between annotators"),
    h("dl.hotkeys", {},
      h("dt", {}, "Krippendorff's alpha"), h("dd#q-alpha", {}, stat(a.krippendorff_alpha, a.alpha_reason)),
      h("dt", {}, "Fleiss' kappa"), h("dd#q-kappa", {}, stat(a.fleiss_kappa, a.fleiss_reason)),
      h("dt", {}, "Items with two or more answers"), h("dd", {}, `${num(a.pairable_items)} of ${num(a.items)}`)),
    h("table.list#agreement-classes", {}, h("caption", {}, "Alpha per class (this class against all others)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Class"), h("th.num", { scope: "col" }, "Alpha"))),
      h("tbody", {}, a.per_class.map((c) => h("tr", {}, h("th", { scope: "row" }, c.class), h("td.num", {}, c.alpha == null ? "–" : num(c.alpha, 3)))))));
}

function consensus(c) {
  const points = c.histogram.map((b) => ({ label: `${pct(b.low, 0)}–${pct(b.high, 0)}`, short: pct(b.low, 0), value: b.count }));
  const summaryText = `Consensus confidence of ${c.items} items` + (c.mean_confidence == null ? "." : `, ${pct(c.mean_confidence)} on average.`);
  const statuses = Object.entries(c.by_status).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  const methods = Object.entries(c.by_method).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  return h("section#quality-consensus", {},
    h("h2", {}, "How sure the consensus is"),
    h("p", {}, summaryText, ` By status: ${statuses}. By method: ${methods}.`),
    barChart(points, { caption: "Items per consensus confidence", summary: summaryText, labelHeader: "Confidence" }));
}

function reviewSection(r) {
  const verdicts = Object.entries(r.verdicts);
  return h("section#quality-review", {},
    h("h2", {}, "Review"),
    h("table.list", {}, h("caption", {}, "Waiting for review, per reason"),
      h("tbody", {}, REASONS.map(([key, text]) => h("tr", {}, h("th", { scope: "row" }, text), h("td.num", { dataset: { reason: key } }, num(r.queued[key] || 0)))))),
    h("p#q-verdicts", {}, verdicts.length ? `Verdicts so far: ${verdicts.map(([k, n]) => `${k} ${n}`).join(", ")}.` : "No verdicts yet."));
}

export async function render(view, params, me) {
  await Promise.all([manageCss(), loadCss("/static/css/quality.css"), loadCss("/static/css/models.css")]);
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/quality`));
  if (!can(me, "stats.read")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow reading the quality report."));
    return;
  }
  const body = h("div#quality", { "aria-live": "polite", "aria-busy": "true" });
  const status = h("span.muted#refresh-status", { role: "status" });
  const mayRefresh = can(me, "reviews.work") || can(me, "projects.manage");
  const refreshButton = mayRefresh && h("button#refresh-consensus", { type: "button", onclick: () => refreshConsensus() }, "Refresh consensus");
  const resume = can(me, "members.manage")
    ? async (row) => {
        try {
          await post(`projects/${projectId}/annotators/${row.user_id}/resume`);
          toast(`${row.annotator} may work again`);
          await draw();
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          toast(err.message, { error: true });
        }
      }
    : null;

  async function draw() {
    const r = await get(`projects/${projectId}/quality`);
    mount(body,
      h("p.muted#quality-as-of", {}, `As of ${new Date(r.as_of).toLocaleString()}.`),
      summary(r.summary),
      gold(r.gold),
      agreement(r.agreement),
      consensus(r.consensus),
      h("h2", {}, "Annotators"),
      annotatorTable(r.annotators, resume),
      h("h2", {}, "Confusion between classes"),
      confusionTable(r.confusion),
      confusedPairs(r.confused_pairs, projectId, can(me, "projects.manage")),
      reviewSection(r.review),
      h("h2", {}, "Policy"),
      h("ul.policy#quality-policy", {}, policyWords(r.policy).map((s) => h("li", {}, s))),
      h("p", {}, h("a", { href: `/api/v1/projects/${projectId}/quality`, target: "_blank" }, "This report as JSON")));
    body.setAttribute("aria-busy", "false");
  }

  async function refreshConsensus() {
    refreshButton.disabled = true;
    status.textContent = "Recomputing the consensus…";
    try {
      const out = await post(`projects/${projectId}/consensus/refresh`);
      status.textContent = `Consensus refreshed: ${out.items} items, ${out.answers} answers, ${out.queued_for_review} queued for review.`;
      await draw();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status.textContent = "";
      toast(err.message, { error: true });
    } finally {
      refreshButton.disabled = false;
    }
  }

  view.append(h("div.page-head", {}, h("h2", {}, "Quality report"), refreshButton, status), body);
  await draw();
}
