// The outbox: every answer (and skip) is written to IndexedDB first and synced to the server after, so no
// work depends on the link being up. Each answer keeps the client_id made when it was given, so a retry after
// a dropped reply stores nothing twice (the server answers "replayed").

import { api } from "../api.js";
import * as idb from "./idb.js";

const BATCH = 100;
const MAX_BACKOFF_MS = 30_000;

let owner = null; // "user@org": whose entries this tab syncs (the session cookie is theirs)
let timer = null;
let running = false;
let again = false;
let failures = 0;
const listeners = new Set();
const state = { pending: 0, rejected: [], late: 0, signedOut: false, lastError: null };

/** Start syncing the entries of the signed-in member; safe to call on every workspace visit. */
export async function start(me) {
  const next = `${me.user_id}@${me.organization.id}`;
  if (owner !== next) {
    owner = next;
    state.late = (await idb.get("meta", `late:${owner}`)) || 0;
  }
  state.signedOut = false;
  if (!start.listening) {
    start.listening = true;
    window.addEventListener("online", () => {
      failures = 0;
      syncSoon();
    });
  }
  await refresh();
  syncSoon();
}

export function ownerKey() {
  return owner;
}

/** Be told whenever the outbox changes: fn({pending, rejected, late, signedOut, lastError}). */
export function subscribe(fn) {
  listeners.add(fn);
  fn({ ...state });
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) fn({ ...state });
}

async function mine() {
  return (await idb.getAll("outbox")).filter((e) => e.owner === owner);
}

async function refresh() {
  const entries = await mine();
  state.pending = entries.filter((e) => e.state === "pending").length;
  state.rejected = entries.filter((e) => e.state === "rejected").sort((a, b) => a.created - b.created);
  emit();
}

/** Queue an answer: `annotation` is the body item of POST /projects/{id}/annotations/batch. */
export async function addAnswer(projectId, annotation) {
  await idb.put("outbox", {
    client_id: annotation.client_id, owner, project_id: projectId, task_id: annotation.task_id, type: "answer",
    body: annotation, state: "pending", error: null, created: Date.now(),
  });
  await refresh();
  syncSoon();
}

/** Queue a skip (it must reach the server too, so the task goes to someone else). */
export async function addSkip(projectId, taskId, reason) {
  await idb.put("outbox", {
    client_id: crypto.randomUUID(), owner, project_id: projectId, task_id: taskId, type: "skip",
    body: { reason: reason || null }, state: "pending", error: null, created: Date.now(),
  });
  await refresh();
  syncSoon();
}

/** Task ids that have an answer or skip waiting (so a resumed batch does not show them again). */
export async function queuedTaskIds() {
  return new Set((await mine()).map((e) => e.task_id));
}

/** The annotator has read why an answer was refused and lets it go. */
export async function dismiss(clientId) {
  await idb.remove("outbox", clientId);
  await refresh();
}

/** Try a refused answer again (after the cause was fixed on the server, say). */
export async function retry(clientId) {
  const entry = await idb.get("outbox", clientId);
  if (!entry) return;
  await idb.put("outbox", { ...entry, state: "pending", error: null });
  await refresh();
  syncNow();
}

export function syncSoon(delay = 0) {
  clearTimeout(timer);
  timer = setTimeout(syncNow, delay);
}

/** Send what waits; resolves when this pass is over. Another call during a pass runs one more pass after it. */
export async function syncNow() {
  if (!owner) return;
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  try {
    await pass();
    failures = 0;
    state.lastError = null;
  } catch (err) {
    if (err.status === 401) {
      state.signedOut = true; // keep everything; sync resumes after signing in again (start())
    } else {
      failures += 1;
      state.lastError = err.message;
      const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
      syncSoon(base / 2 + Math.random() * (base / 2)); // jitter: many laptops coming back at once spread out
    }
  } finally {
    running = false;
    await refresh();
  }
  if (again) {
    again = false;
    syncSoon();
  }
}

async function pass() {
  const entries = (await mine()).filter((e) => e.state === "pending").sort((a, b) => a.created - b.created);
  const byProject = new Map();
  for (const e of entries.filter((x) => x.type === "answer")) {
    if (!byProject.has(e.project_id)) byProject.set(e.project_id, []);
    byProject.get(e.project_id).push(e);
  }
  for (const [projectId, answers] of byProject) {
    for (let i = 0; i < answers.length; i += BATCH) await sendAnswers(projectId, answers.slice(i, i + BATCH));
  }
  for (const e of entries.filter((x) => x.type === "skip")) await sendSkip(e);
}

async function sendAnswers(projectId, entries) {
  let reply;
  try {
    reply = await api("POST", `projects/${projectId}/annotations/batch`, { annotations: entries.map((e) => e.body) });
  } catch (err) {
    if (err.offline || err.status === 401 || err.status === 408 || err.status === 429 || err.status >= 500) throw err;
    // The whole batch was refused (project gone, no longer a member): keep every answer and say why.
    reply = { results: entries.map((e) => ({ client_id: e.client_id, ok: false, error: { code: err.code, message: err.message } })) };
  }
  const byId = new Map(entries.map((e) => [e.client_id, e]));
  let late = 0;
  for (const r of reply.results) {
    const entry = byId.get(r.client_id);
    if (!entry) continue;
    if (r.ok) {
      if (!r.replayed && r.late) late += 1; // the server's word: the lease had ended, the answer was kept
      await idb.remove("outbox", entry.client_id);
    } else {
      // Refused (or kept but not counted): stays in the outbox, marked, until the annotator has seen it.
      const error = r.error || { code: "refused", message: "the server refused this answer" };
      await idb.put("outbox", { ...entry, state: "rejected", error, annotation_id: r.annotation_id ?? null });
    }
  }
  if (late) {
    state.late += late;
    await idb.put("meta", state.late, `late:${owner}`);
  }
}

async function sendSkip(entry) {
  try {
    await api("POST", `tasks/${entry.task_id}/skip`, entry.body);
  } catch (err) {
    if (err.offline || err.status === 401 || err.status >= 500) throw err;
    // 404/409: the lease is gone already; the task went back to the queue, which is what a skip wants.
  }
  await idb.remove("outbox", entry.client_id);
}
