// The "Learning" part of the project form: the `learning` object (which model pre-labels, when it retrains,
// how it orders the queue, when it may settle items alone). Controls carry data-field="learning.…", the names
// the API's errors use. The external server's token comes back masked; sending the mask back keeps it.

import { h } from "../dom.js";
import { field } from "./manage.js";

const MASK = "********";
// A new project's starting values (an existing one shows what GET /projects/{id} says, defaults included).
const DEFAULTS = {
  backend: "builtin", external_url: null, external_token: null, retrain_after: 200, min_train_items: 30,
  active_learning: "cluster-margin", pseudo_labels: true, route_confused: true,
  auto_accept: { enabled: false, target_precision: 0.99, level: 0.95, audit_rate: 0.05, min_support: 50, pooled: true },
};
const BACKENDS = [
  ["builtin", "Built-in: a packaged encoder and a head trained on this project's answers"],
  ["external", "External: the client's model server"],
  ["none", "None: no model"],
];
const STRATEGIES = [
  ["cluster-margin", "cluster-margin: the least sure items, one per cluster, first"],
  ["margin", "margin: smallest gap between the two likeliest classes first"],
  ["hybrid", "hybrid: uncertain items far from what is labelled first"],
  ["entropy", "entropy: most uncertain first"],
  ["random", "random"],
  ["off", "off: keep the imported priorities"],
];
// [name in the API, label, hint, parse, input attributes]
const NUMBERS = [
  ["retrain_after", "Retrain after", "Train again once this many more items are settled by people (10+).", "int", { min: 10 }],
  ["min_train_items", "Items before the first training", "Settled items needed first (2+).", "int", { min: 2 }],
];
const AUTO_NUMBERS = [
  ["target_precision", "Target precision", "Per class, the 95 % lower bound on precision must reach it (0.5–0.99).", "float", { min: 0.5, max: 0.99, step: 0.01 }],
  ["level", "Confidence of the bound", "Of the Clopper–Pearson lower bound (0.5–0.99).", "float", { min: 0.5, max: 0.99, step: 0.01 }],
  ["audit_rate", "Audit rate", "Share of the model's labels people check (0–1).", "float", { min: 0, max: 1, step: 0.01 }],
  ["min_support", "Evidence needed", "Human-settled items a threshold must rest on (10+).", "int", { min: 10 }],
];

const number = (path, value, attrs) => h("input", { type: "number", name: path, value: value ?? "", dataset: { field: path }, ...attrs });
const check = (path, checked, label) =>
  h("label", {}, h("input", { type: "checkbox", name: path, checked: !!checked, dataset: { field: path } }), ` ${label}`);
const select = (path, options, chosen) => h("select", { name: path, dataset: { field: path } },
  // a value this page does not know yet (added on the server) is kept as an option, never silently changed
  (options.some(([v]) => v === chosen) ? options : [...options, [chosen, chosen]]).map(([v, text]) => h("option", { value: v, selected: v === chosen }, text)));

function readNumber(control, kind) {
  const text = control.value.trim();
  const value = kind === "int" ? Number.parseInt(text, 10) : Number.parseFloat(text);
  if (text === "" || Number.isNaN(value)) {
    const words = control.name.replace(/^learning\.(auto_accept\.)?/, "").replaceAll("_", " ");
    throw Object.assign(new Error(`${words} must be a number`), { field: control.name });
  }
  return value;
}

export class LearningFields {
  constructor(learning) {
    const l = { ...DEFAULTS, ...(learning || {}), auto_accept: { ...DEFAULTS.auto_accept, ...(learning?.auto_accept || {}) } };
    this.backend = select("learning.backend", BACKENDS, l.backend);
    this.url = h("input", { type: "url", name: "learning.external_url", value: l.external_url || "", autocomplete: "off",
      placeholder: "https://models.example/predict", style: { width: "100%" }, dataset: { field: "learning.external_url" } });
    this.token = h("input", { type: "password", name: "learning.external_token", value: l.external_token || "",
      autocomplete: "new-password", style: { width: "100%" }, dataset: { field: "learning.external_token" } });
    this.strategy = select("learning.active_learning", STRATEGIES, l.active_learning);
    this.pseudoLabels = check("learning.pseudo_labels", l.pseudo_labels,
      "Also learn from unlabelled items where the model and its neighbours agree (never from gold)");
    this.routeConfused = check("learning.route_confused", l.route_confused,
      "Ask one more annotator for items the model places between two often-confused classes");
    this.numbers = NUMBERS.map(([name, label, hint, kind, attrs]) => [name, label, hint, kind, number(`learning.${name}`, l[name], attrs)]);
    this.autoEnabled = check("learning.auto_accept.enabled", l.auto_accept.enabled,
      "The model may settle items alone where it has earned it (audited by people)");
    this.pooled = check("learning.auto_accept.pooled", l.auto_accept.pooled,
      "One threshold over all classes (each class still checked against the target)");
    this.autoNumbers = AUTO_NUMBERS.map(([name, label, hint, kind, attrs]) =>
      [name, label, hint, kind, number(`learning.auto_accept.${name}`, l.auto_accept[name], attrs)]);
    this.external = h("div.grid2", {},
      field("External model URL", this.url, "Needed for the external backend."),
      field("External token", this.token, "Sent as 'Authorization: Token …'; kept unless changed."));
    this.backend.addEventListener("change", () => this.showExternal());
    this.showExternal();
    this.element = h("fieldset#learning-settings", {},
      h("legend", {}, "Learning"),
      field("Model", this.backend, "What pre-labels items and orders the queue."),
      this.external,
      field("Order of the queue", this.strategy, "Active learning: which open items people see first."),
      h("div.checks", {}, this.pseudoLabels, this.routeConfused),
      h("div.grid2", {}, this.numbers.map(([, label, hint, , control]) => field(label, control, hint))),
      h("h3", {}, "Auto-accept"),
      h("div.checks", {}, this.autoEnabled, this.pooled),
      h("div.grid2", {}, this.autoNumbers.map(([, label, hint, , control]) => field(label, control, hint))));
  }

  showExternal() {
    this.external.hidden = this.backend.value !== "external";
  }

  /** The `learning` object for the API; a number that does not parse (or a missing URL) throws with its field. */
  value() {
    const out = {
      backend: this.backend.value,
      external_url: this.url.value.trim() || null,
      active_learning: this.strategy.value,
      pseudo_labels: this.pseudoLabels.querySelector("input").checked,
      route_confused: this.routeConfused.querySelector("input").checked,
    };
    const token = this.token.value;
    if (token !== MASK) out.external_token = token.trim() || null; // the mask keeps the stored token
    if (out.backend === "external" && !out.external_url) {
      this.showExternal();
      throw Object.assign(new Error("the external backend needs its model server's URL"), { field: "learning.external_url" });
    }
    for (const [name, , , kind, control] of this.numbers) out[name] = readNumber(control, kind);
    out.auto_accept = {
      enabled: this.autoEnabled.querySelector("input").checked,
      pooled: this.pooled.querySelector("input").checked,
    };
    for (const [name, , , kind, control] of this.autoNumbers) out.auto_accept[name] = readNumber(control, kind);
    return out;
  }
}
