// The review queue: items consensus could not settle (flagged, unsure, disputed) and a random sample, most
// urgent first. Keyboard-first: ↑/↓ or j/k move, Enter opens, 1–5 pick the reason. JSON twin: GET …/review.

import { get } from "../api.js";
import { h, loadCss, mount } from "../dom.js";
import { Hotkeys } from "../hotkeys.js";
import { navigate } from "../main.js";
import { summarize } from "./items.js";
import { can, manageCss, num, projectHeader } from "./manage.js";

const PAGE = 50;
export const REASONS = [
  ["flagged", "Flagged"],
  ["low_confidence", "Low confidence"],
  ["disagreement", "Disagreement"],
  ["sample", "Sample"],
];
export const reasonName = (reason) => (REASONS.find(([r]) => r === reason) || [reason, reason || "–"])[1];

/** The reason filter chosen last for a project (kept for the session, so the item page's "next" follows it). */
export function chosenReason(projectId) {
  return sessionStorage.getItem(`kolam.review.reason.${projectId}`) || "";
}

function chooseReason(projectId, reason) {
  sessionStorage.setItem(`kolam.review.reason.${projectId}`, reason);
}

/** The query of a queue page: `reason` ("" for all), offset, limit. */
export function queuePath(projectId, reason, offset = 0, limit = PAGE) {
  const q = new URLSearchParams({ offset, limit });
  if (reason) q.set("reason", reason);
  return `projects/${projectId}/review?${q}`;
}

export const percent = (p) => (p == null ? "–" : `${num(100 * p, 1)} %`);

export async function render(view, params, me) {
  await Promise.all([manageCss(), loadCss("/static/css/quality.css")]);
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/review`));
  if (!can(me, "reviews.work")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow reviewing."));
    return;
  }
  const hotkeys = new Hotkeys();
  let reason = chosenReason(projectId);
  let rows = [];
  let current = 0;
  let total = 0;
  const tabs = h("div.reason-tabs#review-reasons", { role: "group", "aria-label": "Reason" });
  const status = h("p.muted#review-status", { role: "status" });
  const tbody = h("tbody");
  const table = h(
    "table.list.queue#review-queue",
    {},
    h("caption.sr-only", {}, "Items waiting for review"),
    h("thead", {}, h("tr", {}, ["Item", "Reason", "Confidence", "Consensus", "Answers"].map((t, i) =>
      h(i === 2 || i === 4 ? "th.num" : "th", { scope: "col" }, t)))),
    tbody,
  );
  const more = h("button#review-more", { type: "button", hidden: true, onclick: () => load(rows.length) }, "Load more");

  const link = (c) => h("a", { href: `#/projects/${projectId}/review/${c.task_id}`, dataset: { taskId: c.task_id } }, `Item ${c.task_id}`);
  const line = (c, i) =>
    h("tr", { dataset: { taskId: c.task_id }, className: i === current ? "current" : "" },
      h("td", {}, link(c)),
      h("td", {}, reasonName(c.review_reason)),
      h("td.num", {}, percent(c.confidence)),
      h("td", {}, summarize(c.value)),
      h("td.num", {}, num(c.answers)));

  function select(i, focus = true) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    tbody.querySelectorAll("tr").forEach((tr, n) => tr.classList.toggle("current", n === current));
    const a = tbody.querySelectorAll("tr a")[current];
    if (focus && a) a.focus();
  }

  function drawTabs(counts) {
    total = Object.values(counts).reduce((s, n) => s + n, 0);
    const all = [["", "All", total], ...REASONS.map(([r, text]) => [r, text, counts[r] || 0])];
    mount(tabs, all.map(([r, text, n], i) =>
      h("button", { type: "button", "aria-pressed": String(r === reason), dataset: { reason: r || "all" },
        "aria-keyshortcuts": String(i + 1), onclick: () => setReason(r) },
        h("kbd", {}, i + 1), ` ${text}`, h("span.count", {}, `(${num(n)})`))));
  }

  async function load(offset = 0) {
    const data = await get(queuePath(projectId, reason, offset));
    drawTabs(data.counts);
    rows = offset ? [...rows, ...data.items] : data.items;
    if (!offset) current = 0;
    mount(tbody, rows.map(line));
    more.hidden = data.items.length < PAGE;
    table.hidden = !rows.length;
    status.textContent = rows.length
      ? `${rows.length} shown${more.hidden ? "" : " (more below)"}. ↑/↓ or j/k move, Enter opens.`
      : reason ? `Nothing waits for review as “${reasonName(reason)}”.` : "Nothing waits for review.";
  }

  async function setReason(r) {
    reason = r;
    chooseReason(projectId, r);
    await load(0);
    select(0);
  }

  const group = "Review queue";
  hotkeys.register("ArrowDown", "Next item", () => select(current + 1), { group });
  hotkeys.register("j", "Next item", () => select(current + 1), { group });
  hotkeys.register("ArrowUp", "Previous item", () => select(current - 1), { group });
  hotkeys.register("k", "Previous item", () => select(current - 1), { group });
  hotkeys.register("Enter", "Open the item", (e) => {
    if (e.target instanceof HTMLElement && e.target.matches("button, a[href]") && !e.target.closest("#review-queue")) {
      return e.target.click();
    }
    if (rows[current]) navigate(`#/projects/${projectId}/review/${rows[current].task_id}`);
  }, { group });
  ["", ...REASONS.map(([r]) => r)].forEach((r, i) =>
    hotkeys.register(String(i + 1), `Show ${r ? reasonName(r) : "all reasons"}`, () => setReason(r), { group }));
  tbody.addEventListener("focusin", (e) => {
    const tr = e.target.closest("tr");
    if (tr) select([...tbody.children].indexOf(tr), false);
  });

  view.append(
    h("div.page-head", {}, h("h2", {}, "Review queue"), h("span.muted", {}, "Press ", h("kbd", {}, "?"), " for the keys")),
    tabs, status, table, more,
  );
  await load(0);
  setTimeout(() => select(0), 0); // after the router focuses the view
  return () => hotkeys.dispose();
}
