// The annotator's workspace: one task at a time from a leased batch, answered with the keyboard, saved to the
// outbox first and synced after, so neither a slow link nor an outage ever makes the annotator wait or lose
// work. The interface for the project's kind is a module of its own (js/interfaces/<kind>.js, contract D).

import { get } from "./api.js";
import { formatDuration, h, loadCss, mount, toast } from "./dom.js";
import { Hotkeys } from "./hotkeys.js";
import { renderMarkdown } from "./markdown.js";
import { attentionPanel } from "./work/attention.js";
import { showGuidelines } from "./work/guidelines.js";
import * as idb from "./work/idb.js";
import { Batch } from "./work/leases.js";
import { media, mediaInfo } from "./work/media_cache.js";
import * as netstatus from "./work/netstatus.js";
import * as outbox from "./work/outbox.js";
import { askSkipReason } from "./work/skip_dialog.js";
import { StandingBanner, refusalPanel, refusalTitle } from "./work/standing.js";
import { TaskTimer } from "./work/timer.js";

const RECHECK_MS = 30_000;
// Shift+letter as the installed Hotkeys names it, so registration and dispatch always agree.
const shift = (letter) => `Shift+${letter.toUpperCase()}`;

/** The project (GET /projects/{id}), remembered so a reload offline still knows its kind and schema. */
async function fetchProject(projectId) {
  const project = await get(`projects/${projectId}`);
  await idb.put("meta", project, `project:${projectId}`);
  return project;
}

/** The remembered project at once (refreshed in the background for next time), else the server's. */
async function loadProject(projectId) {
  const cached = await idb.get("meta", `project:${projectId}`);
  if (!cached) return fetchProject(projectId);
  if (navigator.onLine) fetchProject(projectId).catch(() => {});
  return cached;
}

// The interface of each project kind (contract D), its style, and the modules it imports: all are requested
// at once when the kind is known, instead of one import level after another (tests/web checks `uses`).
const INTERFACES = {
  image_classes: {
    module: "interfaces/image_classes.js",
    stylesheet: "classes.css",
    uses: ["work/class_picker.js"],
  },
  text_classes: {
    module: "interfaces/text_classes.js",
    stylesheet: "classes.css",
    uses: ["work/class_picker.js", "work/text_region.js"],
  },
  image_boxes: {
    module: "interfaces/image_boxes.js",
    stylesheet: "boxes.css",
    uses: [
      "interfaces/boxes_editor.js",
      "interfaces/boxes_geometry.js",
      "interfaces/boxes_keys.js",
      "interfaces/boxes_pointer.js",
      "interfaces/boxes_stage.js",
    ],
  },
  transcription: {
    module: "interfaces/transcription.js",
    stylesheet: "transcription.css",
    uses: ["interfaces/audio_player.js", "interfaces/segments.js", "interfaces/waveform.js"],
  },
};

function preloadModule(path) {
  const href = `/static/js/${path}`;
  if (!document.querySelector(`link[rel="modulepreload"][href="${href}"]`)) {
    document.head.append(h("link", { rel: "modulepreload", href }));
  }
}

async function loadInterface(kind) {
  const spec = INTERFACES[kind];
  if (!spec) throw new Error(`This browser app has no interface for projects of kind "${kind}"`);
  spec.uses.forEach(preloadModule);
  const [module] = await Promise.all([import(`./${spec.module}`), loadCss(`/static/css/${spec.stylesheet}`)]);
  return module;
}

export async function render(view, [projectIdText], me) {
  const projectId = Number(projectIdText);
  const styled = loadCss("/static/css/workspace.css");
  const projectLoaded = loadProject(projectId);
  const iface = projectLoaded.then((p) => loadInterface(p.kind));
  iface.catch(() => {}); // awaited below
  await outbox.start(me);
  netstatus.show();
  const batch = new Batch(projectId, outbox.ownerKey(), null, outbox.queuedTaskIds);
  // A refusal (paused, test failed) is shown in the workspace, not as a broken page: the Workspace asks again.
  const loaded = batch.load(await outbox.queuedTaskIds()).catch((err) => {
    if (!refusalTitle(err)) throw err;
  });
  let [project, module] = await Promise.all([projectLoaded, iface, loaded, styled]);
  if (project.lease_seconds) batch.leaseSeconds = project.lease_seconds;
  if (batch.tasks.some((t) => t.schema_version !== project.schema_version) && navigator.onLine) {
    project = await fetchProject(projectId).catch(() => project); // the schema changed since it was remembered
  }
  const ws = new Workspace(view, project, batch, module);
  await ws.start();
  return () => ws.destroy();
}

class Workspace {
  constructor(view, project, batch, iface) {
    this.view = view;
    this.project = project;
    this.batch = batch;
    this.iface = iface;
    this.hotkeys = new Hotkeys(document);
    this.taskKeys = [];
    this.controller = null;
    this.task = null;
    this.timer = null;
    this.done = 0;
    this.busy = false;
    this.stops = [];
    this.build();
  }

  build() {
    const p = this.project;
    this.stage = h("div.ws-stage", { role: "region", "aria-label": "Task" });
    this.suggestion = h("p.ws-suggestion", { role: "note", hidden: true });
    this.unclear = h("button.ws-unclear", { type: "button", "aria-pressed": "false", onclick: () => this.toggleUnclear() },
      "Unclear (Shift+U)");
    this.comment = h("input#ws-comment", {
      type: "text", maxLength: 5000, autocomplete: "off", placeholder: "optional", "aria-keyshortcuts": "Shift+C",
    });
    this.spent = h("span.ws-spent", { "aria-label": "Time on this task" }, "0.0 s");
    this.counts = h("span.ws-counts");
    this.instructions = h("details.ws-instructions", { open: !!p.instructions },
      h("summary", {}, "Instructions (Shift+I)"),
      h("div.ws-instructions-text", {}, p.instructions ? renderMarkdown(p.instructions) : "No instructions for this project."));
    this.standing = new StandingBanner(p.id);
    const [attention, stopAttention] = attentionPanel();
    this.stops.push(stopAttention);
    mount(
      this.view,
      h("section.workspace", { dataset: { kind: p.kind } },
        h("header.ws-head", {}, h("h1", {}, p.name), this.counts),
        this.standing.element,
        this.instructions,
        attention,
        this.suggestion,
        this.stage,
        h("div.ws-bar", { role: "toolbar", "aria-label": "Task actions" },
          h("button.primary.ws-submit", { type: "button", onclick: () => this.submit() }, "Submit (Enter)"),
          h("button.ws-skip", { type: "button", onclick: () => this.skip() }, "Skip… (Shift+S)"),
          this.unclear,
          h("label.ws-comment-label", { htmlFor: "ws-comment" }, "Comment (Shift+C)"),
          this.comment,
          h("span.ws-time", {}, "Time: ", this.spent),
        ),
      ),
    );
  }

  async start() {
    const k = this.hotkeys;
    const guard = (fn) => (e) => !document.querySelector(".overlay") && fn(e);
    k.register("Enter", "Submit the answer", (e) => this.enter(e), { group: "Workspace" });
    k.register("Ctrl+Enter", "Submit, also while typing", guard(() => this.submit()), { whileTyping: true, group: "Workspace" });
    k.register(shift("S"), "Skip this task (with a reason)", guard(() => this.skip()), { group: "Workspace" });
    k.register(shift("U"), "Mark as unclear / not unclear", guard(() => this.toggleUnclear()), { group: "Workspace" });
    k.register(shift("I"), "Show or hide the instructions", () => (this.instructions.open = !this.instructions.open), {
      group: "Workspace",
    });
    k.register(shift("C"), "Write a comment", () => this.comment.focus(), { group: "Workspace" });
    this.clock = setInterval(() => this.tick(), 500);
    // the test's progress counts answers the server has: look again whenever the outbox has sent everything
    this.stops.push(outbox.subscribe((s) => s.pending === 0 && this.standing.refresh().catch((err) => this.fail(err))));
    this.batch.startRenewals();
    this.onOnline = () => !this.task && this.recheck();
    window.addEventListener("online", this.onOnline);
    if (!this.batch.current()) await this.batch.topUp({ force: true }).catch((err) => this.fail(err));
    await this.show(this.batch.current());
    this.batch.topUp().catch((err) => this.fail(err));
  }

  /** Enter submits, except on a button or link of its own (Delete, Dismiss, Close…), which it presses. */
  enter(event) {
    const target = event.target;
    const own = target instanceof HTMLElement && target.matches("button, a[href], summary");
    if (own && (document.querySelector(".overlay") || !target.matches(".class-button, .ws-submit"))) target.click();
    else if (!document.querySelector(".overlay")) this.submit();
  }

  fail(err) {
    if (err?.status === 401) throw err;
    if (refusalTitle(err)) {
      this.refusal = err; // kept until the next ask for work
      this.standing.watching = true;
      this.standing.refresh().catch(() => {});
      if (!this.task) return this.showEmpty();
    }
    toast(err?.message || String(err), { error: true });
  }

  tick() {
    if (this.timer) this.spent.textContent = formatDuration(this.timer.spentMs());
    const left = this.batch.tasks.length;
    this.counts.textContent = `${this.done} done this session · ${left} in batch`;
  }

  clearTask() {
    for (const off of this.taskKeys.splice(0)) off();
    try {
      this.controller?.destroy();
    } catch (err) {
      console.error(err);
    }
    this.controller = null;
    this.timer?.stop();
    this.timer = null;
    this.task = null;
    clearTimeout(this.recheckTimer);
  }

  /** Show a task (or the empty state). Never waits for the network: media come from the prefetch cache. */
  async show(task) {
    this.clearTask();
    this.comment.value = "";
    this.setUnclear(false);
    this.suggestion.hidden = true;
    showGuidelines(this.instructions, task);
    if (!task) return this.showEmpty();
    this.task = task;
    this.timer = new TaskTimer();
    const prediction = task.predictions?.[0] || null;
    if (prediction) {
      const pct = prediction.confidence == null ? "" : ` (confidence ${Math.round(prediction.confidence * 100)}%)`;
      this.suggestion.textContent = `Model suggestion${pct}, pre-filled: Enter accepts it as it is.`;
      this.suggestion.hidden = false;
    }
    const root = h("div.ws-interface", { dataset: { taskId: task.task_id } });
    mount(this.stage, root);
    const hotkeys = {
      register: (...args) => {
        const off = this.hotkeys.register(...args);
        this.taskKeys.push(off);
        return off;
      },
      list: () => this.hotkeys.list(),
      toggleHelp: () => this.hotkeys.toggleHelp(),
    };
    const ctx = {
      task, project: this.project, schema: this.project.schema, initial: prediction ? prediction.value : null,
      hotkeys, media, mediaInfo, changed: () => {},
    };
    try {
      const controller = await this.iface.mount(root, ctx);
      if (this.task !== task) return controller.destroy(); // the annotator moved on meanwhile
      this.controller = controller;
      controller.focus();
      if (!this.hotkeys.bindings.has("Escape")) {
        hotkeys.register("Escape", "Back to the task (from a button or the comment)", () => controller.focus(), {
          whileTyping: true, group: "Workspace",
        });
      }
      root.dataset.ready = "true"; // keys now reach the interface (tests and tools wait for this)
      window.dispatchEvent(new Event("kolam:task-shown"));
    } catch (err) {
      mount(this.stage, h("p.error", { role: "alert" }, `This task could not be shown: ${err.message}. Skip it (Shift+S).`));
    }
    this.tick();
  }

  showEmpty() {
    clearTimeout(this.recheckTimer);
    if (this.refusal) {
      mount(this.stage, refusalPanel(this.refusal, () => this.recheck()));
      this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
      return this.tick();
    }
    const offline = !navigator.onLine;
    mount(
      this.stage,
      h("div.ws-empty", { role: "status" },
        h("h2", {}, offline ? "Offline, and this batch is done" : "No work for you right now"),
        h("p", {}, offline
          ? "Your answers are saved on this computer and will be sent when the connection is back."
          : "Kolam checks for new tasks every 30 seconds."),
        h("button", { type: "button", onclick: () => this.recheck() }, "Check now")),
    );
    this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
    this.tick();
  }

  async recheck() {
    clearTimeout(this.recheckTimer);
    await outbox.syncNow(); // answers first: a lease that ran out offline is then not handed back as new work
    this.refusal = null;
    const added = await this.batch.topUp({ force: true }).catch((err) => (this.fail(err), 0));
    if (this.task) return;
    if (added || this.batch.current()) await this.show(this.batch.current());
    else if (!this.refusal) this.showEmpty(); // a refusal has shown its panel (and asks again) already
  }

  toggleUnclear() {
    if (this.task) this.setUnclear(this.unclear.getAttribute("aria-pressed") !== "true");
  }

  setUnclear(on) {
    this.unclear.setAttribute("aria-pressed", String(on));
  }

  /** The answer as it goes to the server, or null (with a message) when it is not complete yet. */
  answer() {
    const unclear = this.unclear.getAttribute("aria-pressed") === "true";
    let value;
    try {
      value = { ...this.controller.value() };
    } catch (err) {
      if (!unclear) {
        toast(err.message, { error: true });
        return null;
      }
      const partial = this.controller.partial?.(); // unclear: what there is, when the kind accepts that
      if (!partial) {
        toast(`${err.message} (this kind of answer needs it even when unclear)`, { error: true });
        return null;
      }
      value = { ...partial };
    }
    if (unclear) value.unclear = true;
    const comment = this.comment.value.trim();
    if (comment) value.comment = comment;
    return value;
  }

  async submit() {
    if (this.busy || !this.task || !this.controller) return;
    const value = this.answer();
    if (!value) return;
    const task = this.task;
    const annotation = {
      task_id: task.task_id, client_id: crypto.randomUUID(), value, schema_version: task.schema_version,
      lead_time_ms: this.timer.leadMs(), time_spent_ms: this.timer.spentMs(),
      client_created_at: new Date().toISOString(),
    };
    await this.leave(task, async () => {
      await outbox.addAnswer(this.project.id, annotation);
      this.done += 1;
    });
  }

  async skip() {
    if (this.busy || !this.task) return;
    const task = this.task;
    const reason = await askSkipReason();
    if (reason === null || this.task !== task) return this.controller?.focus();
    await this.leave(task, () => outbox.addSkip(this.project.id, task.task_id, reason));
  }

  /** Save what was done to the outbox (the one step that must finish first), then show the next task. */
  async leave(task, save) {
    this.busy = true;
    try {
      await save();
      await this.batch.finish(task.task_id);
    } finally {
      this.busy = false;
    }
    this.batch.topUp().catch((err) => this.fail(err));
    await this.show(this.batch.current());
  }

  destroy() {
    this.clearTask();
    clearInterval(this.clock);
    this.batch.stop();
    window.removeEventListener("online", this.onOnline);
    for (const stop of this.stops) stop();
    this.hotkeys.dispose();
  }
}
