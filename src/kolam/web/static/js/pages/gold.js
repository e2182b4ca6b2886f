// Gold answers (managers): paste or upload JSON Lines of {"external_id" or "item_id", "value"}, all or nothing;
// the API's error names gold[i], shown as the line it came from. JSON twin: PUT/GET …/gold, POST …/gold/remove.

import { ApiError, api, get, post } from "../api.js";
import { h, loadCss, mount, toast } from "../dom.js";
import { summarize } from "./items.js";
import { can, field, manageCss, num, projectHeader, when } from "./manage.js";

const PAGE = 100;

/** The lines as gold entries; a line that is not a JSON object throws, naming its line number. */
export function parseGold(text) {
  const gold = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new Error(`Line ${i + 1} is not valid JSON`);
    }
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw new Error(`Line ${i + 1} is not a JSON object`);
    gold.push({ ...entry, line: i + 1 });
  });
  if (!gold.length) throw new Error("Paste at least one line, or choose a file");
  return gold;
}

/** "gold[3]: no item…" → "Line 5 (gold[3]): no item…", when the lines had blanks between them. */
function withLine(message, gold) {
  return message.replace(/^gold\[(\d+)\]/, (m, i) => (gold[Number(i)] ? `Line ${gold[Number(i)].line} (${m})` : m));
}

export async function render(view, params, me) {
  await Promise.all([manageCss(), loadCss("/static/css/quality.css")]);
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/gold`));
  if (!can(me, "projects.manage")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow changing gold answers."));
    return;
  }
  const input = h("textarea.jsonl#gold-input", { rows: 8, spellcheck: false, placeholder: '{"external_id": "cat-1", "value": {"labels": ["cat"]}}' });
  const file = h("input#gold-file", { type: "file", accept: ".jsonl,.json,.txt,application/json" });
  const error = h("p.error#gold-error", { role: "alert" });
  const status = h("p.muted#gold-status", { role: "status" });
  const count = h("p#gold-count", { role: "status" });
  const tbody = h("tbody");
  const more = h("button#gold-more", { type: "button", hidden: true, onclick: () => load(false) }, "Load more");
  let rows = [];
  let total = 0;
  let cursor = 0;

  file.addEventListener("change", async () => {
    if (file.files[0]) input.value = await file.files[0].text();
    input.dispatchEvent(new Event("input"));
  });
  input.addEventListener("input", () => {
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  });

  const fail = (message) => {
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  };

  async function save(event) {
    event.preventDefault();
    error.textContent = "";
    status.textContent = "";
    let gold;
    try {
      gold = parseGold(input.value);
    } catch (err) {
      return fail(err.message);
    }
    try {
      const out = await api("PUT", `projects/${projectId}/gold`, { gold: gold.map(({ line, ...g }) => g) });
      status.textContent = `${num(out.count)} gold answers saved.`;
      toast("Gold saved");
      input.value = "";
      await load(true);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      fail(err.offline ? "You are offline; saving needs the server." : withLine(err.message, gold));
    }
  }

  async function remove(row) {
    await post(`projects/${projectId}/gold/remove`, { item_ids: [row.task_id] });
    toast(`Item ${row.task_id} is an ordinary task again`);
    await load(true);
  }

  /** Count every gold item (pages of 1000) and list the first pages. */
  async function load(fresh) {
    if (fresh) {
      rows = [];
      cursor = 0;
      total = 0;
      for (let after = 0; ;) {
        const page = await get(`projects/${projectId}/gold?after=${after}&limit=1000`);
        total += page.length;
        if (page.length < 1000) break;
        after = page[page.length - 1].task_id;
      }
    }
    const page = await get(`projects/${projectId}/gold?after=${cursor}&limit=${PAGE}`);
    rows.push(...page);
    if (page.length) cursor = page[page.length - 1].task_id;
    mount(tbody, rows.map((g) => h("tr", { dataset: { taskId: g.task_id } },
      h("td", {}, `Item ${g.task_id}`), h("td", {}, summarize(g.value)), h("td", {}, when(g.created_at)),
      h("td", {}, h("button", { type: "button", "aria-label": `Remove gold from item ${g.task_id}`, onclick: () => remove(g) }, "Remove")))));
    more.hidden = rows.length >= total;
    count.textContent = `${num(total)} gold item${total === 1 ? "" : "s"}.`; // last: the list is drawn by then
  }

  const inputField = field("Gold answers (JSON Lines)", input, 'One per line: {"external_id": …} or {"item_id": …}, with "value" shaped like an answer.');
  input.after(error); // the API's error sits next to what it is about
  input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby")} gold-error`);
  view.append(
    h("h2", {}, "Gold answers"),
    h("form.form#gold-form", { "aria-label": "Set gold answers", onsubmit: save },
      inputField,
      field("…or a file", file),
      h("div.form-actions", {}, h("button.primary#gold-save", { type: "submit" }, "Set gold"), status)),
    count,
    h("table.list#gold-list", {}, h("caption.sr-only", {}, "Gold items"),
      h("thead", {}, h("tr", {}, ["Item", "Answer", "Set", ""].map((t) => h("th", { scope: "col" }, t)))), tbody),
    more,
  );
  await load(true);
}
