// A project's progress: done and remaining, answers per hour (chart), each annotator's pace, export links.
// The JSON twin is GET /api/v1/projects/{id}/dashboard; the client's viewer sees annotators by pseudonym.

import { API, get } from "../api.js";
import { formatDuration, h, mount } from "../dom.js";
import { barChart } from "./chart.js";
import { can, manageCss, num, projectHeader, when } from "./manage.js";

const WINDOWS = [[24, "24 hours"], [48, "48 hours"], [168, "7 days"], [720, "30 days"]];
const REFRESH_MS = 60_000;

function card(id, value, label) {
  return h(`div.card#${id}`, {}, h("span.big", {}, value), h("span.label", {}, label));
}

function hourLabel(iso, hours) {
  const d = new Date(iso);
  const hh = String(d.getHours()).padStart(2, "0");
  const label = `${d.toLocaleDateString("en-CA")} ${hh}:00`;
  // under the bars: the hour every few bars, the date at midnight (long windows: dates only)
  const every = hours <= 24 ? 3 : hours <= 48 ? 6 : 24;
  const short = d.getHours() % every === 0 ? (d.getHours() === 0 || every === 24 ? `${d.getMonth() + 1}/${d.getDate()}` : `${hh}h`) : "";
  return { label, short };
}

/** Hours longer than a couple of days chart better as days. */
function byDay(hoursRows) {
  const days = new Map();
  for (const r of hoursRows) {
    const key = new Date(r.hour).toLocaleDateString("en-CA");
    days.set(key, (days.get(key) || 0) + r.answers);
  }
  return [...days].map(([day, value]) => ({ label: day, short: day.slice(5), value }));
}

function chart(data) {
  const total = data.answers_per_hour.reduce((s, r) => s + r.answers, 0);
  const daily = data.hours > 72;
  const points = daily
    ? byDay(data.answers_per_hour)
    : data.answers_per_hour.map((r) => ({ ...hourLabel(r.hour, data.hours), value: r.answers }));
  const peak = points.reduce((best, p) => (p.value > best.value ? p : best), { value: 0, label: "" });
  const per = daily ? "day" : "hour";
  const summary =
    `Answers per ${per} over the last ${data.hours} hours: ${total} in all` +
    (peak.value ? `, most (${peak.value}) at ${peak.label}.` : ".");
  return barChart(points, { caption: `Answers per ${per}`, summary });
}

function annotatorTable(data) {
  if (!data.annotators.length) return h("p.muted", {}, "No answers yet.");
  const cols = ["Annotator", "Answers", `Last ${data.hours} h`, "Answers / hour", "Median time", "Mean time", "Skips", "Last answer"];
  return h(
    "table.list#annotators",
    {},
    h("caption.sr-only", {}, "Annotators"),
    h("thead", {}, h("tr", {}, cols.map((t, i) => h(i && i < 7 ? "th.num" : "th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      data.annotators.map((a) =>
        h(
          "tr",
          { dataset: { userId: a.user_id } },
          h("th", { scope: "row" }, a.name, a.email && a.email !== a.name ? h("span.muted", {}, ` ${a.email}`) : null),
          h("td.num", {}, num(a.answers)),
          h("td.num", {}, num(a.recent_answers)),
          h("td.num", { title: `over ${formatDuration(a.active_ms)} of active time` }, num(a.answers_per_hour, 1)),
          h("td.num", {}, formatDuration(a.median_time_ms)),
          h("td.num", {}, formatDuration(a.mean_time_ms)),
          h("td.num", {}, num(a.skips)),
          h("td", {}, when(a.last_answer_at)),
        ),
      ),
    ),
  );
}

async function exportLinks(projectId) {
  const formats = await get("export-formats");
  return h(
    "ul.actions#exports",
    { "aria-label": "Export downloads" },
    formats.map((f) =>
      h(
        "li",
        {},
        h(
          "a.button",
          { href: `${API}/projects/${projectId}/export?format=${encodeURIComponent(f.name)}`, download: "", title: f.description },
          `Download ${f.name}`,
        ),
      ),
    ),
  );
}

export async function render(view, params, me) {
  await manageCss();
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}`));
  if (!can(me, "stats.read")) {
    view.append(h("p", {}, h("a.button.primary", { href: `#/projects/${projectId}/work` }, "Start working")));
    return;
  }
  const windowSelect = h(
    "select#dashboard-hours",
    { "aria-label": "Time window" },
    WINDOWS.map(([hours, text]) => h("option", { value: hours, selected: hours === 48 }, text)),
  );
  const body = h("div#dashboard", { "aria-live": "polite", "aria-busy": "true" });
  const refresh = async () => {
    const data = await get(`projects/${projectId}/dashboard?hours=${windowSelect.value}`);
    const c = data.counts;
    const recent = data.answers_per_hour.reduce((s, r) => s + r.answers, 0);
    mount(
      body,
      h(
        "div.cards",
        {},
        card("card-done", num(c.done), "tasks done"),
        card("card-remaining", num(c.open), "tasks remaining"),
        card("card-answers", num(c.answers), "answers counted"),
        card("card-recent", num(recent), `answers in the last ${windowSelect.selectedOptions[0].textContent}`),
        c.staged ? card("card-staged", num(c.staged), "being imported") : null,
      ),
      h("p", {}, h("progress", { max: Math.max(c.tasks, 1), value: c.done, "aria-label": `${c.done} of ${c.tasks} tasks done` }), ` ${num(c.tasks ? (100 * c.done) / c.tasks : 0, 1)} % done`),
      h("h2", {}, "Answers over time"),
      chart(data),
      h("h2", {}, "Annotators"),
      annotatorTable(data),
    );
    body.setAttribute("aria-busy", "false");
  };
  windowSelect.addEventListener("change", refresh);
  const exportsSection = can(me, "exports.read")
    ? h("section", {}, h("h2", {}, "Export"), await exportLinks(projectId))
    : null;
  view.append(h("p", {}, h("label", { htmlFor: windowSelect.id, style: { display: "inline", marginRight: ".5rem" } }, "Window"), windowSelect), body, exportsSection);
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}
