// The leased batch: tasks held for this annotator, kept in IndexedDB so a reload (even offline) resumes them,
// topped up while the link is up, and renewed while the annotator works so nobody else is handed them.

import { get, post } from "../api.js";
import { BATCH_SIZE } from "./early.js";
import * as idb from "./idb.js";
import { drop, prefetch } from "./media_cache.js";
export const TOP_UP_AT = 5;

export class Batch {
  /** `queued()` → Set of task ids already answered or skipped in the outbox (never shown again). */
  constructor(projectId, owner, leaseSeconds, queued) {
    this.queued = queued;
    this.dryUntil = 0;
    this.projectId = projectId;
    this.owner = owner;
    this.leaseSeconds = leaseSeconds || 600;
    this.tasks = [];
    this.toppingUp = null;
    this.renewTimer = null;
  }

  /**
   * Tasks from IndexedDB, shown at once and reconciled with the leases the server says we hold in the
   * background; with none here (a new laptop, cleared storage), what we hold plus new work in one call.
   */
  async load(skipIds) {
    const mine = (await idb.getAll("tasks"))
      .filter((r) => r.owner === this.owner && r.project_id === this.projectId)
      .sort((a, b) => a.seq - b.seq);
    this.tasks = mine.map((r) => r.task).filter((t) => !skipIds.has(t.task_id));
    if (this.tasks.length) {
      prefetch(this.tasks);
      if (navigator.onLine) this.reconcile(skipIds).catch((err) => console.warn("leases not reconciled", err));
    } else if (navigator.onLine) {
      await this.fresh(skipIds);
    }
    return this.tasks;
  }

  /** A fresh start: the tasks we hold, topped up to a batch (POST next?resume=true). */
  async fresh(skipIds) {
    try {
      const reply = await post(`projects/${this.projectId}/next?count=${BATCH_SIZE}&resume=true`);
      const queued = await this.queued();
      const tasks = reply.filter((t) => !skipIds.has(t.task_id) && !queued.has(t.task_id));
      if (reply.length < BATCH_SIZE) this.dryUntil = Date.now() + 30_000;
      await this.save(tasks);
      this.tasks = tasks;
      prefetch(tasks);
    } catch (err) {
      if (!err.offline) throw err;
    }
  }

  /**
   * Drop tasks whose lease is gone (they may be someone else's now) and add ones we hold but lost track of.
   * The task on screen stays: an answer to it is still kept, and counted if the task still wants answers.
   */
  async reconcile(skipIds) {
    const held = await get(`projects/${this.projectId}/leases`);
    const fresh = new Map(held.map((t) => [t.task_id, t]));
    const onScreen = this.tasks[0];
    const stale = this.tasks.filter((t) => t !== onScreen && !fresh.has(t.task_id));
    this.tasks = this.tasks
      .filter((t) => t === onScreen || fresh.has(t.task_id))
      .map((t) => (fresh.has(t.task_id) ? { ...fresh.get(t.task_id), item: t.item } : t));
    const known = new Set([...this.tasks.map((t) => t.task_id), ...(await this.queued())]);
    const added = held.filter((t) => !known.has(t.task_id) && !skipIds.has(t.task_id));
    this.tasks.push(...added);
    await this.save(this.tasks, stale.map((t) => t.task_id));
    prefetch(added);
  }

  async save(tasks, removeIds = []) {
    const base = Date.now();
    const rows = tasks.map((task, i) => ({
      task_id: task.task_id, owner: this.owner, project_id: this.projectId, seq: base + i, task,
    }));
    await idb.replace("tasks", removeIds, rows);
  }

  current() {
    return this.tasks[0] || null;
  }

  /** Take the current task out of the batch (answered or skipped) and let its media go. */
  async finish(taskId) {
    const task = this.tasks.find((t) => t.task_id === taskId);
    this.tasks = this.tasks.filter((t) => t.task_id !== taskId);
    await idb.remove("tasks", taskId);
    if (task) drop(task).catch(() => {});
  }

  /** Lease more when few remain; returns the number of new tasks (0 when offline or the queue is empty). */
  async topUp({ force = false } = {}) {
    if (!navigator.onLine || (!force && (this.tasks.length > TOP_UP_AT || Date.now() < this.dryUntil))) return 0;
    if (this.toppingUp) return this.toppingUp;
    this.toppingUp = (async () => {
      try {
        const count = BATCH_SIZE - this.tasks.length;
        if (count <= 0) return 0;
        const reply = await post(`projects/${this.projectId}/next?count=${count}`);
        // Fewer than asked: the queue is dry for now; the empty screen's recheck (forced) asks again.
        if (reply.length < count) this.dryUntil = Date.now() + 30_000;
        // An expired lease the server hands back while its answer still waits in the outbox is not new work.
        const known = new Set([...this.tasks.map((t) => t.task_id), ...(await this.queued())]);
        const leased = reply.filter((t) => !known.has(t.task_id));
        if (!leased.length) return 0;
        await this.save(leased);
        this.tasks.push(...leased);
        prefetch(leased);
        return leased.length;
      } catch (err) {
        if (err.offline) return 0;
        throw err;
      } finally {
        this.toppingUp = null;
      }
    })();
    return this.toppingUp;
  }

  /** Renew every held lease at half its time, while online; a lease lost meanwhile is noted on its task. */
  startRenewals() {
    const every = Math.max(5, Math.min(300, this.leaseSeconds / 2)) * 1000;
    this.renewTimer = setInterval(() => this.renewAll(), every);
  }

  /** One request for the whole batch (POST /leases/renew); a lease that ended is noted on its task. */
  async renewAll() {
    if (!navigator.onLine || !this.tasks.length) return;
    let reply;
    try {
      reply = await post("leases/renew", { task_ids: this.tasks.map((t) => t.task_id) });
    } catch (err) {
      if (err.offline) return;
      throw err;
    }
    const results = new Map(reply.results.map((r) => [r.task_id, r]));
    for (const task of this.tasks) {
      const result = results.get(task.task_id);
      if (!result) continue;
      if (result.ok) task.expires_at = result.expires_at;
      task.lease_lost = !result.ok; // answering it may still count, if the task still wants answers
    }
    await this.save(this.tasks);
  }

  stop() {
    clearInterval(this.renewTimer);
  }
}
