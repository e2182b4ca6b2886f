// The annotator's standing in the workspace: a banner while a qualification test runs (GET …/standing), and
// the server's refusals to hand out work (paused, test failed, no test available) said plainly, not as errors.

import { get } from "../api.js";
import { h, mount } from "../dom.js";

const REFUSALS = {
  paused: "You are paused on this project",
  qualification_failed: "You did not pass the qualification test",
  qualification_unavailable: "The qualification test is not ready",
};

/** The heading for a lease refusal (an ApiError), or null for any other error. */
export function refusalTitle(err) {
  return (err && REFUSALS[err.code]) || null;
}

/** The panel shown instead of a task when the server refuses work; `recheck` asks again. */
export function refusalPanel(err, recheck) {
  return h("div.ws-empty.ws-refusal", { role: "alert", dataset: { code: err.code } },
    h("h2", {}, refusalTitle(err)),
    h("p", {}, err.message),
    h("p.muted", {}, err.code === "paused"
      ? "A manager can let you work again from the project's quality page."
      : err.code === "qualification_failed" ? "A manager can let you take the test again." : "Ask a manager to add gold items."),
    h("button", { type: "button", onclick: recheck }, "Check again"));
}

/** A banner that follows GET …/standing: the test's progress, or that it failed or you are paused. */
export class StandingBanner {
  constructor(projectId) {
    this.projectId = projectId;
    this.element = h("p.ws-standing", { role: "status", hidden: true });
    this.watching = true; // stops asking once nothing is left to show (passed, or no test)
  }

  async refresh() {
    if (!this.watching || !navigator.onLine) return;
    let s;
    try {
      s = await get(`projects/${this.projectId}/standing`);
    } catch (err) {
      if (err.status === 401) throw err;
      return; // the banner is a courtesy; the lease answers carry the rules
    }
    this.show(s);
  }

  show(s) {
    const el = this.element;
    el.dataset.status = s.status;
    if (s.paused) {
      mount(el, h("strong", {}, "Paused: "), s.paused_reason || "a manager must let you work again.");
    } else if (s.required && (s.status === "testing" || s.status === "not_started")) {
      mount(el, h("strong", {}, "Qualification test: "), `${s.answered} of ${s.items} answered`,
        h("span.muted", {}, ` · ${Math.round(s.pass_accuracy * 100)} % correct needed to pass`));
    } else if (s.required && s.status === "failed") {
      mount(el, h("strong", {}, "Qualification test failed."), " A manager can let you take it again.");
    } else {
      el.hidden = true;
      this.watching = false;
      return;
    }
    el.hidden = false;
  }
}
