// One queued item for a reviewer: the item, every answer side by side, the consensus and its posterior, gold.
// Verdicts by key: A accept, R reject, C correct (the project's interface, pre-filled with the consensus),
// N writes a note; after a verdict the next queued item opens. JSON twin: GET/POST …/review/{task_id}.

import { ApiError, get, post } from "../api.js";
import { h, loadCss, mount, toast } from "../dom.js";
import { Hotkeys } from "../hotkeys.js";
import { navigate } from "../main.js";
import { can, manageCss, projectHeader } from "./manage.js";
import { answersView, boxLayers, consensusPanel, itemView, learnOriginalSize } from "./review_answers.js";
import { openEditor } from "./review_editor.js";
import { chosenReason, queuePath, reasonName } from "./review_queue.js";

const GROUP = "Review";
const DONE = { accept: "Accepted", reject: "Rejected: the item asks for fresh answers", correct: "Corrected" };

export async function render(view, params, me) {
  await Promise.all([manageCss(), loadCss("/static/css/quality.css")]);
  const [projectId, taskId] = params.map(Number);
  const [project, detail] = await Promise.all([
    get(`projects/${projectId}`),
    can(me, "reviews.work") ? get(`projects/${projectId}/review/${taskId}`) : null,
  ]);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/review`));
  if (!detail) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow reviewing."));
    return;
  }
  if (project.kind === "image_boxes") await learnOriginalSize(detail.item);
  const page = new ReviewPage(view, project, detail);
  page.build();
  return () => page.destroy();
}

class ReviewPage {
  constructor(view, project, detail) {
    this.view = view;
    this.project = project;
    this.detail = detail;
    this.hotkeys = new Hotkeys();
    this.verdictKeys = [];
    this.editor = null;
    this.busy = false;
  }

  get queueHash() {
    return `#/projects/${this.project.id}/review`;
  }

  build() {
    const d = this.detail;
    const boxes = this.project.kind === "image_boxes" ? boxLayers(d) : { layers: [], colors: null };
    const name = d.item.external_id ? `Item ${d.item.external_id}` : `Item ${d.task_id}`;
    const reason = d.consensus?.review_state === "queued" ? reasonName(d.consensus.review_reason) : null;
    this.note = h("input#review-note", { type: "text", maxLength: 5000, autocomplete: "off", placeholder: "optional", "aria-keyshortcuts": "N" });
    this.error = h("p.error#review-error", { role: "alert" });
    this.editorArea = h("section.editor#review-editor", { hidden: true, "aria-label": "Correction" });
    this.bar = h("div.verdict-bar", { role: "toolbar", "aria-label": "Verdict" },
      h("button.primary#verdict-accept", { type: "button", "aria-keyshortcuts": "A", onclick: () => this.verdict("accept") }, "Accept (A)"),
      h("button#verdict-correct", { type: "button", "aria-keyshortcuts": "C", onclick: () => this.openCorrection() }, "Correct… (C)"),
      h("button#verdict-reject", { type: "button", "aria-keyshortcuts": "R", onclick: () => this.verdict("reject") }, "Reject (R)"),
      h("div.field", {}, h("label", { htmlFor: "review-note" }, "Note (N)"), this.note));
    this.view.append(
      h("p.crumbs", {}, h("a#back-to-queue", { href: this.queueHash }, "Review queue"), ` / ${name}`),
      h("div.page-head", {}, h("h2#review-title", {}, name, reason ? h("span.badge", { style: { marginLeft: ".5rem" } }, reason) : null),
        h("span.muted", {}, "Press ", h("kbd", {}, "?"), " for the keys")),
      h("div.review-grid", {}, itemView(d.item, this.project.kind, boxes.layers), consensusPanel(d)),
      h("h2", {}, `Answers (${d.answers.length})`),
      answersView(d, boxes.colors),
      this.editorArea, this.bar, this.error,
    );
    this.registerVerdictKeys();
    this.hotkeys.register("q", "Back to the queue", () => navigate(this.queueHash), { group: GROUP });
    this.hotkeys.register("Escape", "Leave the note (or a checkbox), or close the correction", () => this.escape(), { whileTyping: true, group: GROUP });
  }

  registerVerdictKeys() {
    const reg = (key, text, fn) => this.verdictKeys.push(this.hotkeys.register(key, text, fn, { group: GROUP }));
    reg("a", "Accept the consensus", () => this.verdict("accept"));
    reg("r", "Reject: ask for fresh answers", () => this.verdict("reject"));
    reg("c", "Correct: edit the consensus", () => this.openCorrection());
    reg("n", "Write a note (sent with the verdict)", () => this.note.focus());
    reg("Enter", "Press the focused button", (e) => e.target instanceof HTMLElement && e.target.matches("button, a[href]") && e.target.click());
  }

  escape() {
    if (this.editor) return this.closeCorrection();
    const el = document.activeElement; // the note, a layer's checkbox: leave it so the verdict keys work again
    if (el instanceof HTMLElement && el.matches("input, select, textarea")) el.blur();
  }

  async openCorrection() {
    if (this.editor || this.busy) return;
    for (const off of this.verdictKeys.splice(0)) off(); // the interface's keys (classes, boxes) take over
    this.error.textContent = "";
    const save = h("button.primary#correction-save", { type: "button", onclick: () => this.saveCorrection() }, "Save correction (Ctrl+Enter)");
    const cancel = h("button#correction-cancel", { type: "button", onclick: () => this.closeCorrection() }, "Cancel (Esc)");
    mount(this.editorArea,
      h("h2", {}, "Correct the answer"),
      h("p.muted", {}, "Pre-filled with the consensus; use the interface's keys, then Ctrl+Enter (or Enter) to save."));
    this.editorArea.hidden = false;
    this.bar.hidden = true;
    const initial = this.detail.consensus?.value || this.detail.gold || null;
    try {
      this.editor = await openEditor(this.editorArea, { project: this.project, detail: this.detail, hotkeys: this.hotkeys, initial });
    } catch (err) {
      this.editorArea.append(h("p.error", { role: "alert" }, `The editor could not open: ${err.message}`));
      this.editor = { value: () => { throw err; }, focus() {}, destroy() {} };
    }
    this.editorArea.append(h("div.form-actions", {}, save, cancel));
    const editKeys = [
      this.hotkeys.register("Ctrl+Enter", "Save the correction", () => this.saveCorrection(), { whileTyping: true, group: "Correction" }),
      this.hotkeys.register("Enter", "Save the correction (or press the focused button)", (e) => {
        const own = e.target instanceof HTMLElement && e.target.matches("button, a[href], summary") && !e.target.matches(".class-button");
        if (own) e.target.click();
        else this.saveCorrection();
      }, { group: "Correction" }),
    ];
    this.editor.keys = editKeys;
    this.editor.focus();
  }

  closeCorrection() {
    if (!this.editor) return;
    for (const off of this.editor.keys || []) off();
    this.editor.destroy();
    this.editor = null;
    mount(this.editorArea);
    this.editorArea.hidden = true;
    this.bar.hidden = false;
    this.registerVerdictKeys();
    this.bar.querySelector("#verdict-correct").focus();
  }

  saveCorrection() {
    if (!this.editor) return;
    let value;
    try {
      value = this.editor.value();
    } catch (err) {
      this.error.textContent = err.message;
      toast(err.message, { error: true });
      return;
    }
    this.verdict("correct", value);
  }

  async verdict(verdict, value = undefined) {
    if (this.busy) return;
    this.busy = true;
    this.error.textContent = "";
    const body = { verdict, note: this.note.value.trim() };
    if (value !== undefined) body.value = value;
    try {
      await post(`projects/${this.project.id}/review/${this.detail.task_id}`, body);
    } catch (err) {
      this.busy = false;
      if (!(err instanceof ApiError)) throw err;
      this.error.textContent = err.offline ? "You are offline; a verdict needs the server." : err.message;
      return;
    }
    toast(DONE[verdict]);
    await this.next();
  }

  /** The next queued item (same reason filter as the queue page), else the queue itself. */
  async next() {
    const reason = chosenReason(this.project.id);
    let upcoming = null;
    try {
      const data = await get(queuePath(this.project.id, reason, 0, 2));
      upcoming = data.items.find((c) => c.task_id !== this.detail.task_id) || null;
    } catch (err) {
      console.warn("next item unknown", err);
    }
    navigate(upcoming ? `#/projects/${this.project.id}/review/${upcoming.task_id}` : this.queueHash);
  }

  destroy() {
    if (this.editor) {
      for (const off of this.editor.keys || []) off();
      this.editor.destroy();
    }
    this.hotkeys.dispose();
  }
}
