// Browse a project's items with their answers: filters (state, annotator, label, creation time), keyset
// pages ("Load more"), each item's content (text, image, audio) next to who answered what, when, how long.

import { get } from "../api.js";
import { formatDuration, h, mount } from "../dom.js";
import { can, field, manageCss, num, projectHeader, when } from "./manage.js";

const PAGE = 25;

/** The answer in a few words: classes, spans, boxes by label, segment texts; the JSON is one click away. */
export function summarize(value) {
  const parts = [];
  if (Array.isArray(value.labels)) parts.push(value.labels.length ? value.labels.join(", ") : "(no label)");
  if (Array.isArray(value.spans) && value.spans.length) parts.push(`${value.spans.length} span${value.spans.length > 1 ? "s" : ""}`);
  if (Array.isArray(value.boxes)) {
    const counts = {};
    for (const b of value.boxes) counts[b.label] = (counts[b.label] || 0) + 1;
    const text = Object.entries(counts).map(([label, n]) => (n > 1 ? `${label} ×${n}` : label)).join(", ");
    parts.push(`${value.boxes.length} box${value.boxes.length === 1 ? "" : "es"}${text ? `: ${text}` : ""}`);
  }
  if (Array.isArray(value.segments)) parts.push(value.segments.map((s) => s.text).join(" / ") || "(no segments)");
  if (value.unclear) parts.push("unclear");
  if (value.comment) parts.push(`“${value.comment}”`);
  return parts.join(" · ") || JSON.stringify(value);
}

function content(item) {
  const src = item.display_url || item.content_url;
  if (item.media === "text") return h("pre.text", {}, item.text ?? "");
  if (item.media === "image" && src) {
    return h("img", { src, alt: `Item ${item.external_id || item.id}`, loading: "lazy", decoding: "async" });
  }
  if (item.media === "audio" && src) {
    return h("audio", { src, controls: true, preload: "none", "aria-label": `Audio of item ${item.external_id || item.id}` });
  }
  return h("p.muted", {}, item.media);
}

function answersTable(answers, names) {
  if (!answers.length) return h("p.muted", {}, "No answers yet.");
  return h(
    "table.list",
    {},
    h("thead", {}, h("tr", {}, ["Who", "Answer", "Time", "When", ""].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      answers.map((a) =>
        h(
          "tr",
          {},
          h("td", {}, names.get(a.user_id) || `a${a.user_id}`),
          h("td", {}, summarize(a.value), " ", h("details", {}, h("summary", {}, "JSON"), h("code", {}, JSON.stringify(a.value)))),
          h("td", {}, formatDuration(a.time_spent_ms)),
          h("td", {}, when(a.created_at)),
          h(
            "td",
            {},
            a.counted ? h("span.badge", {}, "counted") : h("span.badge.not-counted", {}, "not counted"),
            a.late ? [" ", h("span.badge.late", {}, "late")] : null,
            a.version > 1 ? [" ", h("span.badge", {}, `v${a.version}`)] : null,
          ),
        ),
      ),
    ),
  );
}

function itemCard(row, names) {
  const { item, task } = row;
  return h(
    "article.item",
    { dataset: { itemId: item.id }, "aria-label": `Item ${item.external_id || item.id}` },
    h("div.content", {}, content(item)),
    h(
      "div.answers",
      {},
      h(
        "p",
        {},
        h("strong", {}, item.external_id || `#${item.id}`),
        ` · ${task.state} · ${task.answers_count} of ${task.answers_wanted} answers · created ${when(task.created_at)}`,
      ),
      answersTable(row.annotations, names),
    ),
  );
}

/** Whom the filters and the answer tables can name: members for those who may see them, else pseudonyms. */
async function knownPeople(me) {
  if (!can(me, "members.manage")) return [];
  try {
    return await get("members");
  } catch {
    return [];
  }
}

function filterForm(project, people, onApply) {
  const labels = (project.schema.classes || project.schema.labels || []).map((l) => l.name);
  const state = h("select", { name: "state" }, [["", "any"], ["open", "open"], ["done", "done"]].map(([v, t]) => h("option", { value: v }, t)));
  const annotator = people.length
    ? h("select", { name: "annotator" }, h("option", { value: "" }, "anyone"), people.map((m) => h("option", { value: m.user_id }, m.name || m.email)))
    : h("input", { name: "annotator", type: "number", min: 1, placeholder: "user id", size: 8 });
  const label = h("select", { name: "label" }, h("option", { value: "" }, "any"), labels.map((l) => h("option", { value: l }, l)));
  const from = h("input", { name: "created_from", type: "datetime-local" });
  const to = h("input", { name: "created_to", type: "datetime-local" });
  const form = h(
    "form.filters#item-filters",
    { "aria-label": "Filter items" },
    field("State", state),
    field("Annotator", annotator),
    labels.length ? field("Label", label) : null,
    field("Created from", from),
    field("Created before", to),
    h("button.primary", { type: "submit" }, "Apply"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (state.value) query.set("state", state.value);
    if (annotator.value) query.set("annotator", annotator.value);
    if (labels.length && label.value) query.set("label", label.value);
    // datetime-local is the annotator's local time; the API wants an instant
    if (from.value) query.set("created_from", new Date(from.value).toISOString());
    if (to.value) query.set("created_to", new Date(to.value).toISOString());
    onApply(query);
  });
  return form;
}

export async function render(view, params, me) {
  await manageCss();
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/items`));
  if (!can(me, "items.read")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow browsing items."));
    return;
  }
  const people = await knownPeople(me);
  const names = new Map(people.map((m) => [m.user_id, m.name || m.email]));
  const list = h("div.items#items", { "aria-live": "polite" });
  const status = h("p.muted#items-status", { role: "status" });
  const more = h("button#load-more", { type: "button", hidden: true }, "Load more");
  let query = new URLSearchParams();
  let cursor = null;
  let shown = 0;
  const load = async (reset) => {
    if (reset) {
      mount(list);
      cursor = null;
      shown = 0;
    }
    more.disabled = true;
    const q = new URLSearchParams(query);
    q.set("limit", PAGE);
    if (cursor) q.set("cursor", cursor);
    const page = await get(`projects/${projectId}/items?${q}`);
    const first = list.children.length;
    list.append(...page.items.map((row) => itemCard(row, names)));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
    status.textContent = shown ? `${num(shown)} items shown${cursor ? "" : " — that is all"}` : "No items match.";
    if (!reset && list.children[first]) list.children[first].setAttribute("tabindex", "-1");
  };
  more.addEventListener("click", () => {
    const before = list.children.length;
    load(false).then(() => list.children[before]?.focus());
  });
  const filters = filterForm(project, people, (q) => {
    query = q;
    load(true);
  });
  view.append(filters, status, list, more);
  await load(true);
}
