// The "Quality" part of the project form: the `quality` object (consensus method, adaptive overlap, review,
// accuracy floor, qualification test). Controls carry data-field="quality.…", the names the API's errors use.

import { h } from "../dom.js";
import { field } from "./manage.js";
import { methodName } from "./quality_parts.js";

export const METHODS = ["majority", "dawid_skene", "one_coin", "glad", "mace", "hierarchical_ds"];
// A new project's starting values (an existing one shows what GET /projects/{id} says, defaults included); the
// method is left out so the server's default applies.
const DEFAULTS = {
  adaptive: false, max_overlap: 5, target_confidence: 0.95, review_sample: 0.02,
  review_disagreement: 0.67, floor_accuracy: 0, floor_min_gold: 10,
  qualification: { enabled: false, scope: "project", items: 10, pass_accuracy: 0.8 },
};
// [name in the API, label, hint, parse, input attributes]
const NUMBERS = [
  ["max_overlap", "Most answers per item", "Adaptive overlap stops here (1–50).", "int", { min: 1, max: 50 }],
  ["target_confidence", "Target confidence", "Below it, ask another annotator or review (0.5–0.99).", "float", { min: 0.5, max: 0.99, step: 0.01 }],
  ["review_sample", "Review sample", "Share of settled items sampled for review (0–0.5).", "float", { min: 0, max: 0.5, step: 0.01 }],
  ["review_disagreement", "Disagreement threshold", "Review items whose winner has less than this share of votes.", "float", { min: 0, max: 1, step: 0.01 }],
  ["floor_accuracy", "Accuracy floor", "Pause annotators below this accuracy on gold (0: never).", "float", { min: 0, max: 1, step: 0.01 }],
  ["floor_min_gold", "Gold answers before the floor", "How many gold answers the floor waits for.", "int", { min: 1, max: 1000 }],
];
const TEST_NUMBERS = [
  ["items", "Test items", "Gold items in the test (1–200).", "int", { min: 1, max: 200 }],
  ["pass_accuracy", "Pass accuracy", "Share correct needed to pass (0–1).", "float", { min: 0, max: 1, step: 0.01 }],
];

const number = (path, value, attrs) => h("input", { type: "number", name: path, value: value ?? "", dataset: { field: path }, ...attrs });
const check = (path, checked, label) =>
  h("label", {}, h("input", { type: "checkbox", name: path, checked: !!checked, dataset: { field: path } }), ` ${label}`);

function readNumber(control, kind) {
  const text = control.value.trim();
  const value = kind === "int" ? Number.parseInt(text, 10) : Number.parseFloat(text);
  if (text === "" || Number.isNaN(value)) {
    throw Object.assign(new Error(`${control.name.replace("quality.", "").replaceAll("_", " ")} must be a number`), { field: control.name });
  }
  return value;
}

export class QualityFields {
  constructor(quality) {
    const q = { ...DEFAULTS, ...(quality || {}), qualification: { ...DEFAULTS.qualification, ...(quality?.qualification || {}) } };
    // A method this page does not know yet (added on the server) is kept as an option, never silently changed.
    const methods = q.method && !METHODS.includes(q.method) ? [...METHODS, q.method] : METHODS;
    this.method = h("select", { name: "quality.method", dataset: { field: "quality.method" } },
      !q.method && h("option", { value: "", selected: true }, "Server default"),
      methods.map((m) => h("option", { value: m, selected: m === q.method }, `${m} — ${methodName(m)}`)));
    this.adaptive = check("quality.adaptive", q.adaptive, "Adaptive overlap: ask one more annotator while the consensus is unsure");
    this.numbers = NUMBERS.map(([name, label, hint, kind, attrs]) => [name, label, hint, kind, number(`quality.${name}`, q[name], attrs)]);
    this.enabled = check("quality.qualification.enabled", q.qualification.enabled, "Newcomers take a qualification test of gold items first");
    this.scope = h("input", { name: "quality.qualification.scope", value: q.qualification.scope, autocomplete: "off", dataset: { field: "quality.qualification.scope" } });
    this.tests = TEST_NUMBERS.map(([name, label, hint, kind, attrs]) =>
      [name, label, hint, kind, number(`quality.qualification.${name}`, q.qualification[name], attrs)]);
    this.element = h("fieldset#quality-settings", {},
      h("legend", {}, "Quality"),
      field("Consensus method", this.method, "How answers become the item's answer (class projects)."),
      h("div.checks", {}, this.adaptive),
      h("div.grid2", {}, this.numbers.map(([, label, hint, , control]) => field(label, control, hint))),
      h("h3", {}, "Qualification test"),
      h("div.checks", {}, this.enabled),
      h("div.grid2", {},
        field("Test scope", this.scope, "project, or skill:<code> (one test shared by projects needing that skill)."),
        this.tests.map(([, label, hint, , control]) => field(label, control, hint))),
    );
  }

  /** The `quality` object for the API; a number that does not parse throws with its field. */
  value() {
    const out = { ...(this.method.value && { method: this.method.value }), adaptive: this.adaptive.querySelector("input").checked };
    for (const [name, , , kind, control] of this.numbers) out[name] = readNumber(control, kind);
    out.qualification = { enabled: this.enabled.querySelector("input").checked, scope: this.scope.value.trim() };
    for (const [name, , , kind, control] of this.tests) out.qualification[name] = readNumber(control, kind);
    return out;
  }
}
