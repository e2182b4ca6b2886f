// The model in the loop for one project: the active version and how good it is, every version with why it was
// (or was not) promoted, a version's confusion, auto-accept per class with its audits, and for managers the
// buttons that train, pre-label or roll back. JSON twins: GET …/models/status and GET …/models.

import { ApiError, get, post } from "../api.js";
import { h, loadCss, mount, toast } from "../dom.js";
import { can, manageCss, projectHeader } from "./manage.js";
import { activeSummary, autoAcceptSection, extraBanner, modelConfusion, policyLine, versionsTable } from "./models_parts.js";

const POLL_MS = 3000;
const POLL_TRIES = 200; // ten minutes: a queued training waits behind other jobs

export async function render(view, params, me) {
  await Promise.all([manageCss(), loadCss("/static/css/quality.css"), loadCss("/static/css/models.css")]);
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  view.append(...projectHeader(project, me, `#/projects/${projectId}/models`));
  if (!can(me, "stats.read")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow reading the model's figures."));
    return;
  }
  const page = new ModelsPage(view, projectId, can(me, "projects.manage"));
  await page.start();
  return () => page.destroy();
}

class ModelsPage {
  constructor(view, projectId, manager) {
    this.view = view;
    this.projectId = projectId;
    this.manager = manager;
    this.selected = null; // the version whose confusion is shown; the active one until another is chosen
    this.poll = null;
    this.body = h("div#models", { "aria-live": "polite", "aria-busy": "true" });
    this.status = h("span.muted#models-status", { role: "status" });
  }

  path(rest = "") {
    return `projects/${this.projectId}/models${rest}`;
  }

  async start() {
    const buttons = this.manager
      ? [
          h("button.primary#train-now", { type: "button", onclick: () => this.run("train") }, "Train now"),
          h("button#prelabel-now", { type: "button", onclick: () => this.run("prelabel") }, "Pre-label now"),
        ]
      : [];
    this.refreshButton = h("button#models-refresh", { type: "button", onclick: () => this.draw() }, "Refresh");
    this.view.append(h("div.page-head", {}, h("h2", {}, "Model"), ...buttons, this.refreshButton, this.status), this.body);
    await this.draw();
  }

  destroy() {
    clearTimeout(this.poll);
    this.poll = null;
    this.gone = true;
  }

  async draw() {
    const [status, versions] = await Promise.all([get(this.path("/status")), get(this.path())]);
    if (this.gone) return null;
    this.versions = versions;
    const shown = versions.find((v) => v.version === this.selected) || status.active || versions.find((v) => v.confusion);
    this.selected = shown ? shown.version : null;
    const promote = this.manager ? (v) => this.promote(v) : null;
    mount(this.body,
      extraBanner(status.ml_extra),
      activeSummary(status),
      policyLine(status.policy, this.manager ? `#/projects/${this.projectId}/edit` : null),
      h("section#versions", { "aria-labelledby": "h-versions" },
        h("h2#h-versions", {}, "Versions"),
        versionsTable(versions, this.selected, { select: (v) => this.select(v), promote })),
      h("section#confusion-section", { "aria-labelledby": "h-model-confusion" },
        h("h2#h-model-confusion", {}, "Where the model and people differ"),
        modelConfusion(shown)),
      autoAcceptSection(status.auto_accept, status.policy?.auto_accept),
      h("p", {}, h("a", { href: `/api/v1/${this.path("/status")}`, target: "_blank" }, "This page as JSON")));
    this.body.setAttribute("aria-busy", "false");
    return status;
  }

  async select(v) {
    this.selected = v.version;
    await this.draw();
    this.body.querySelector(`tr[data-version="${v.version}"] .show-confusion`)?.focus();
  }

  async promote(v) {
    if (!window.confirm(`Make version ${v.version} the active model? It then pre-labels what is still open.`)) return;
    try {
      await post(this.path(`/${v.version}/promote`));
      this.selected = v.version;
      this.say(`Version ${v.version} is active; pre-labelling with it is queued.`);
      toast(`Version ${v.version} is active`);
      await this.draw();
      this.body.querySelector(`tr[data-version="${v.version}"] th`)?.setAttribute("tabindex", "-1");
      this.body.querySelector(`tr[data-version="${v.version}"] th`)?.focus();
    } catch (err) {
      this.failed(err);
    }
  }

  /** Queue a training or pre-labelling run, then look again until it shows (a new version, new predictions). */
  async run(kind) {
    const latestBefore = this.versions[0]?.version ?? 0;
    try {
      await post(this.path(kind === "train" ? "/train" : "/prelabel"));
    } catch (err) {
      return this.failed(err);
    }
    this.say(kind === "train"
      ? "Training queued. This page updates when the new version is ready (a minute or more)."
      : "Pre-labelling queued. This page updates as predictions arrive.");
    clearTimeout(this.poll);
    let tries = 0;
    const look = async () => {
      tries += 1;
      const status = await this.draw().catch(() => null);
      if (this.gone) return;
      const latest = this.versions[0];
      if (kind === "train" && latest && latest.version > latestBefore) {
        return this.say(`Version ${latest.version} trained: ${latest.status}. ${latest.comparison?.reason || latest.error || ""}`);
      }
      if (kind === "prelabel" && status && tries >= 2) {
        return this.say(`Pre-labelling queued; now ${status.predicted} of ${status.items} items are predicted. Refresh shows more.`);
      }
      if (tries < POLL_TRIES) this.poll = setTimeout(look, POLL_MS);
      else this.say("Still running; press Refresh to look again.");
    };
    this.poll = setTimeout(look, POLL_MS);
  }

  say(text) {
    this.status.textContent = text;
  }

  failed(err) {
    if (!(err instanceof ApiError)) throw err;
    this.say("");
    toast(err.offline ? "You are offline; this needs the server." : err.message, { error: true });
  }
}
