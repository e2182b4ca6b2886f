// Pieces of the models page: the missing-extra banner, the active version in words, the versions table, a
// version's confusion matrix and auto-accept per class. Every number is text (tables, labels), never only drawn.

import { h } from "../dom.js";
import { num, when } from "./manage.js";
import { pct } from "./quality_parts.js";

const STATUS_WORDS = {
  active: "active (pre-labels now)",
  candidate: "candidate",
  retired: "retired (was active)",
  rejected: "rejected (not better than the active one)",
  failed: "failed",
};

/** Shown when the `ml` extra is missing: what is off, and the command that brings it. */
export function extraBanner(extra) {
  if (!extra || extra.installed) return null;
  return h("section.notice#ml-extra", { "aria-labelledby": "h-ml-extra" },
    h("h2#h-ml-extra", {}, "Model features are off on this server"),
    h("p", {}, `Missing: ${extra.missing.join(", ")}. Off: ${extra.features_off.join(", ")}.`),
    extra.install && h("p", {}, "An administrator installs them with ", h("code#ml-install", {}, extra.install)));
}

/** What a box version learnt from people's corrections of the detector, and how its crop head did out of fold. */
function boxLine(m) {
  const kept = `people kept ${num(m.kept)} of ${num(m.proposals)} detector boxes; detector classes renamed: ${num(m.relabelled)}, given a higher minimum score: ${num(m.rescored)}`;
  const crop = m.crop_head;
  if (!crop) return kept;
  return `${kept}; crop head ${pct(crop.accuracy)} right out of fold on ${num(crop.judged_on)} boxes (the most common label alone: ${pct(crop.best_single_label)})`;
}

function metricRows(v) {
  const m = v.metrics || {};
  const cv = m.cross_validated;
  const gold = m.gold;
  const t = v.training || {};
  const cal = v.calibration;
  return [
    ["Cross-validated accuracy", cv ? `${pct(cv.accuracy)} on ${num(cv.n)} items settled by people (${cv.folds} folds)` : "–"],
    ["Accuracy on held-out gold", gold && gold.n
      ? `${pct(gold.accuracy)} (${num(gold.correct)} of ${num(gold.n)}); 95 % lower bound ${pct(gold.accuracy_lower)}`
      : "no gold items held out"],
    ["Calibration (expected error)", cv && cv.ece_before != null
      ? `${pct(cv.ece_before)} → ${pct(cv.ece_after)}${cal ? ` after ${cal.method} scaling (T = ${num(cal.temperature, 2)})` : ""}`
      : "–"],
    ["Pseudo-labels", pseudoLine(m.semi_supervised)],
    ...(m.proposals != null ? [["Learnt from corrections", boxLine(m)]] : []),
    ["Learnt from", `${num(t.items)} settled items, ${num(t.gold_held_out)} gold held out` +
      (t.through_answer_id != null ? `, answers up to #${t.through_answer_id}` : "") + (t.encoder ? `; encoder ${t.encoder}` : "")],
    ["Trained", when(v.created_at) + (v.promoted_at ? `; active since ${when(v.promoted_at)}` : "")],
  ];
}

/** Whether the head also learnt from unlabelled items, and what cross-validation said of it. */
function pseudoLine(semi) {
  if (!semi) return "off (or nothing unlabelled to learn from)";
  const scores = `cross-validated ${pct(semi.accuracy_with)} with, ${pct(semi.accuracy_without)} without`;
  return semi.used ? `${num(semi.pseudo_labels)} unlabelled items where the model and its neighbours agree; ${scores}`
    : `not used: ${scores}`;
}

const ORDER = { "cluster-margin": "the least sure items, one per cluster, first", hybrid: "uncertain and diverse items first", margin: "closest calls first", entropy: "most uncertain first",
  random: "random", off: "as imported" };

/** The project's learning policy in one line (a manager changes it on the project's Edit page). */
export function policyLine(policy, editHref) {
  if (!policy) return null;
  const backend = { builtin: "built-in model", external: "external model server", none: "no model" }[policy.backend] || policy.backend;
  const words = `Policy: ${backend}; retrains after ${num(policy.retrain_after)} more items settled by people; ` +
    `queue order: ${ORDER[policy.active_learning] || policy.active_learning}; ` +
    `${policy.route_confused ? "items between two often-confused classes get one more answer" : "no extra answer on confused items"}.`;
  return h("p#model-policy", {}, words, editHref ? [" ", h("a", { href: editHref }, "Change the learning settings")] : null);
}

/** The active version in words, or why there is none yet. */
export function activeSummary(status) {
  const v = status.active;
  const policy = status.policy || {};
  if (!v) {
    const why = policy.backend === "none"
      ? "This project has no model (backend: none)."
      : policy.backend === "external"
        ? `Predictions come from the external model server at ${policy.external_url}.`
        : `No version is active yet: the first is trained once ${num(policy.min_train_items)} items are settled by people.`;
    return h("section#model-active", { "aria-labelledby": "h-active" }, h("h2#h-active", {}, "Active model"), h("p", {}, why));
  }
  return h("section#model-active", { "aria-labelledby": "h-active" },
    h("h2#h-active", {}, `Active model: version ${v.version}`),
    h("p.muted", {}, `${v.backend}; ${v.classes.length} classes. ${num(status.predicted)} of ${num(status.items)} items predicted, ${num(status.embedded)} embedded.`),
    h("dl.facts", {}, metricRows(v).map(([k, text]) => [h("dt", {}, k), h("dd", {}, text)])));
}

/**
 * One row per version, newest first. `select(v)` shows its confusion; `promote(v)` (managers only) makes a
 * trained version that is not active the active one.
 */
export function versionsTable(versions, selected, { select, promote }) {
  if (!versions.length) return h("p.muted#model-versions", {}, "No version trained yet.");
  const cols = ["Version", "Status", "Trained", "Items", "Gold accuracy", "Cross-validated", "Why", "Actions"];
  return h("table.list#model-versions", {},
    h("caption.sr-only", {}, "Model versions, newest first"),
    h("thead", {}, h("tr", {}, cols.map((t, i) => h([3, 4, 5].includes(i) ? "th.num" : "th", { scope: "col" }, t)))),
    h("tbody", {}, versions.map((v) => {
      const gold = v.metrics?.gold;
      const cv = v.metrics?.cross_validated;
      const crop = v.metrics?.crop_head;
      const trained = v.status !== "failed";
      return h("tr", { dataset: { version: v.version, status: v.status }, className: v.version === selected ? "current" : "" },
        h("th", { scope: "row" }, `v${v.version}`),
        h("td", {}, h(`span.status.${v.status}`, {}, STATUS_WORDS[v.status] || v.status)),
        h("td", {}, when(v.created_at)),
        h("td.num", {}, num(v.training?.items)),
        h("td.num", {}, gold && gold.n ? `${pct(gold.accuracy)} (≥ ${pct(gold.accuracy_lower)})` : "–"),
        h("td.num", {}, cv ? pct(cv.accuracy) : crop ? `${pct(crop.accuracy)} (crop head)` : "–"),
        h("td.why", {}, v.error ? h("span.error", {}, v.error) : v.comparison?.reason || "–",
          v.comparison?.by_hand ? h("div.muted", {}, "made active by hand") : null),
        h("td.row-actions", {},
          trained && v.confusion && h("button.show-confusion", {
            type: "button", "aria-pressed": String(v.version === selected), onclick: () => select(v),
            "aria-label": `Show the confusion of version ${v.version}`,
          }, "Confusion"),
          promote && trained && v.status !== "active" && h("button.promote", {
            type: "button", onclick: () => promote(v), "aria-label": `Make version ${v.version} active`,
          }, "Make active")));
    })));
}

/** Rows: the class people settled; columns: the model's out-of-fold class. Shade: share of the row. */
export function modelConfusion(v) {
  if (!v || !v.confusion) return h("p.muted#model-confusion", {}, "No confusion matrix for this version.");
  return [h("p.muted", {}, "Each item settled by people, predicted by a model trained without it (out of fold). " +
    "Shade: share of the row; the diagonal is what the model got right."), confusionTable(v)];
}

function confusionTable(v) {
  const classes = v.classes;
  const totals = v.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  return h("table.list.heat#model-confusion", {},
    h("caption", {}, `Version ${v.version}: people's class (rows), model's class (columns)`),
    h("thead", {}, h("tr", {}, h("td", {}), classes.map((c) => h("th", { scope: "col" }, c)), h("th.num", { scope: "col" }, "Recall"))),
    h("tbody", {}, classes.map((c, i) =>
      h("tr", {}, h("th", { scope: "row" }, c), classes.map((_, j) => {
        const n = v.confusion[i][j];
        const rate = totals[i] ? n / totals[i] : 0;
        return h(i === j ? "td.diagonal" : "td", {
          title: `people ${c}, model ${classes[j]}: ${n} (${pct(rate)})`,
          style: { background: `rgba(31, 95, 191, ${(0.06 + 0.85 * rate).toFixed(3)})`, color: rate > 0.55 ? "#fff" : "inherit" },
          dataset: { row: c, col: classes[j] },
        }, num(n));
      }), h("td.num", {}, totals[i] ? pct(v.confusion[i][i] / totals[i], 0) : "–")))));
}

function verdictWords(verdicts) {
  const list = Object.entries(verdicts || {});
  return list.length ? list.map(([k, n]) => `${k} ${n}`).join(", ") : "none yet";
}

/** Confirmed / audited, this version's own audits and those carried from the versions before it. */
function auditCell(c) {
  const carried = c.audits_carried || 0;
  const all = (c.audits || 0) + carried;
  if (!all) return "–";
  const words = `${num((c.audits_correct || 0) + (c.audits_correct_carried || 0))} / ${num(all)}`;
  return carried ? `${words} (${num(carried)} from earlier versions)` : words;
}

/** Auto-accept: the policy's target, what it settled, the audits, and per class its threshold and evidence. */
export function autoAcceptSection(auto, rule = {}) {
  const level = pct(rule.level ?? 0.95, 0);
  const how = rule.pooled
    ? ` One threshold is shared by all classes (their ${level} lower bound on precision together reaches the target); a class is switched off when its own evidence shows it misses the target.`
    : ` Each class has its own threshold, where the ${level} lower bound on its precision reaches the target.`;
  const head = auto.enabled
    ? `On: the model settles an item alone above its class's threshold; target precision ${pct(auto.target, 0)}.${how}`
    : "Off: the model suggests, people decide. A manager turns it on in the project's Learning settings.";
  const facts = `${num(auto.accepted)} items settled by the model; ${num(auto.audits_pending)} audits waiting, ${num(auto.audited)} audited (verdicts: ${verdictWords(auto.audit_verdicts)}).`;
  const rows = auto.classes || [];
  return h("section#auto-accept", { "aria-labelledby": "h-auto" },
    h("h2#h-auto", {}, "Auto-accept"),
    h("p#auto-accept-policy", {}, head),
    h("p#auto-accept-facts", {}, facts),
    rows.length
      ? h("table.list#auto-accept-classes", {},
          h("caption", {}, "Per class: confidence threshold, the out-of-fold evidence and audits behind it"),
          h("thead", {}, h("tr", {}, ["Class", "Threshold", "Right above it", `Lower bound (target ${pct(auto.target, 0)})`, "Audits (right / all)", "Auto-accept"]
            .map((t, i) => h(i && i < 5 ? "th.num" : "th", { scope: "col" }, t)))),
          h("tbody", {}, rows.map((c) => {
            const meets = c.lower_bound != null && c.lower_bound >= auto.target;
            return h("tr", { dataset: { class: c.class } },
              h("th", { scope: "row" }, c.class),
              h("td.num", {}, c.threshold == null ? "–" : pct(c.threshold)),
              h("td.num", {}, `${num(c.correct)} of ${num(c.support)} (${num(c.predicted)} predicted as it)`),
              h("td.num", {}, c.lower_bound == null ? "–" : `${pct(c.lower_bound)} ${meets ? "(meets it)" : "(below)"}`),
              h("td.num", {}, auditCell(c)),
              h("td", {}, h(c.enabled ? "strong.on" : "span.off", {}, c.enabled ? "on" : "off")));
          })))
      : h("p.muted", {}, "No thresholds yet: they are set when a version is trained."));
}
