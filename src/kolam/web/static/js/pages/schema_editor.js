// The label schema as a friendly list (one row a class: name, hotkey, description; add, remove, reorder),
// with a "JSON" toggle for the raw schema. Controls carry data-field names the API's errors use
// ("schema.classes[2].hotkey"), so an error lands next to the control at fault.

import { h } from "../dom.js";

const LISTS = {
  image_classes: { key: "classes", word: "Class", checks: [["multi_label", "Several classes per image", false]] },
  text_classes: {
    key: "classes",
    word: "Policy label",
    checks: [
      ["multi_label", "Several labels per text", true],
      ["spans", "Highlight the offending span", true],
    ],
  },
  image_boxes: { key: "labels", word: "Box label", checks: [] },
};
const EDITED = new Set(["kind", "classes", "labels", "multi_label", "spans", "languages"]);
const HOTKEYS = "123456789abcdefghijklmnopqrstuvwxyz";

/** Parse "ta, hi ,en" into ["ta", "hi", "en"]. */
export const splitList = (text) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export class SchemaEditor {
  /** `schema`: the project's schema (or null for a new project). */
  constructor(kind, schema) {
    this.kind = kind;
    this.load(schema);
    this.json = false;
    this.body = h("div");
    this.toggle = h(
      "button#schema-json-toggle",
      { type: "button", "aria-pressed": "false", onclick: () => this.toggleJson() },
      "JSON",
    );
    this.element = h(
      "fieldset.schema",
      { dataset: { field: "schema" } },
      h("legend", {}, "Label schema"),
      h("p.muted", {}, "What annotators choose from. Removed labels are kept, retired, so older answers stay readable. ", this.toggle),
      this.body,
    );
    this.draw();
  }

  /** Take a schema into the editor's state (rows and extra fields the form does not show). */
  load(schema) {
    const s = schema || {};
    const list = LISTS[this.kind];
    this.extra = Object.fromEntries(Object.entries(s).filter(([k]) => !EDITED.has(k)));
    this.rows = list ? (s[list.key] || []).filter((r) => !r.retired).map((r) => ({ ...r })) : [];
    if (list && !this.rows.length) this.rows = [{ name: "", hotkey: "1", description: "" }];
    this.checks = {};
    for (const [name, , fallback] of list ? list.checks : []) this.checks[name] = s[name] ?? fallback;
    this.languages = (s.languages || []).join(", ");
  }

  /** A new project's kind changed: start over with that kind's (empty) schema. */
  setKind(kind) {
    this.kind = kind;
    this.load(null);
    this.draw();
  }

  /** The schema to send; throws an Error (with `.field`) when the JSON does not parse. */
  value() {
    if (this.json) {
      try {
        return JSON.parse(this.textarea.value);
      } catch (err) {
        throw Object.assign(new Error(`The schema is not valid JSON: ${err.message}`), { field: "schema" });
      }
    }
    const out = { ...this.extra };
    const list = LISTS[this.kind];
    if (list) {
      out[list.key] = this.rows
        .filter((r) => r.name.trim())
        .map((r) => {
          const row = { name: r.name.trim() };
          if (r.hotkey && r.hotkey.trim()) row.hotkey = r.hotkey.trim().toLowerCase();
          if (r.description && r.description.trim()) row.description = r.description.trim();
          return row;
        });
      Object.assign(out, this.checks);
    } else {
      out.languages = splitList(this.languages);
    }
    return out;
  }

  toggleJson() {
    if (this.json) {
      const parsed = this.value(); // throws on bad JSON: the annotator stays in JSON mode to fix it
      this.json = false;
      this.load(parsed);
    } else {
      this.snapshot = this.value();
      this.json = true;
    }
    this.toggle.setAttribute("aria-pressed", String(this.json));
    this.draw();
    (this.json ? this.textarea : this.body.querySelector("input")).focus();
  }

  draw() {
    if (this.json) {
      this.textarea = h("textarea.json#schema-json", {
        "aria-label": "Label schema as JSON",
        spellcheck: false,
        value: JSON.stringify(this.snapshot, null, 2),
      });
      this.body.replaceChildren(this.textarea);
      return;
    }
    const list = LISTS[this.kind];
    if (!list) {
      const input = h("input#schema-languages", {
        value: this.languages,
        dataset: { field: "schema.languages" },
        placeholder: "ta, hi, en",
        oninput: (e) => (this.languages = e.target.value),
      });
      this.body.replaceChildren(
        h("label", { htmlFor: input.id }, "Languages"),
        input,
        h("p.hint.muted", {}, "Language codes a segment may be tagged with, comma separated (ta, hi, en, ta-IN)."),
      );
      return;
    }
    const rows = h("div.schema-rows", { role: "list", "aria-label": `${list.word}s` });
    this.rows.forEach((row, i) => rows.append(this.rowElement(list, row, i)));
    const checks = list.checks.map(([name, text]) =>
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          name,
          checked: this.checks[name],
          dataset: { field: `schema.${name}` },
          onchange: (e) => (this.checks[name] = e.target.checked),
        }),
        text,
      ),
    );
    this.body.replaceChildren(
      h("div.schema-head", { "aria-hidden": "true" }, h("span", {}, "Name"), h("span", {}, "Hotkey"), h("span", {}, "Description"), h("span")),
      rows,
      h("button#add-label", { type: "button", onclick: () => this.add() }, `Add ${list.word.toLowerCase()}`),
      checks.length ? h("p.checks", {}, checks) : null,
    );
  }

  rowElement(list, row, i) {
    const n = i + 1;
    const base = `schema.${list.key}[${i}]`;
    const input = (prop, label, attrs = {}) =>
      h("input", {
        value: row[prop] || "",
        "aria-label": `${list.word} ${n} ${label}`,
        dataset: { field: `${base}.${prop}` },
        oninput: (e) => (row[prop] = e.target.value),
        ...attrs,
      });
    const button = (text, label, onclick, disabled = false) =>
      h("button", { type: "button", "aria-label": label, title: label, onclick, disabled }, text);
    return h(
      "div.schema-row",
      { role: "listitem", dataset: { field: base } },
      input("name", "name", { className: "label-name" }),
      input("hotkey", "hotkey", { maxLength: 1, className: "label-hotkey" }),
      input("description", "description"),
      h(
        "span.row-buttons",
        {},
        button("↑", `Move ${list.word.toLowerCase()} ${n} up`, () => this.move(i, -1), i === 0),
        button("↓", `Move ${list.word.toLowerCase()} ${n} down`, () => this.move(i, 1), i === this.rows.length - 1),
        button("✕", `Remove ${list.word.toLowerCase()} ${n}`, () => this.remove(i), this.rows.length === 1),
      ),
    );
  }

  add() {
    const used = new Set(this.rows.map((r) => r.hotkey));
    const hotkey = [...HOTKEYS].find((k) => !used.has(k)) || "";
    this.rows.push({ name: "", hotkey, description: "" });
    this.draw();
    this.focusRow(this.rows.length - 1, ".label-name");
  }

  remove(i) {
    this.rows.splice(i, 1);
    this.draw();
    this.focusRow(Math.min(i, this.rows.length - 1), ".label-name");
  }

  move(i, delta) {
    const j = i + delta;
    [this.rows[i], this.rows[j]] = [this.rows[j], this.rows[i]];
    this.draw();
    // keep the focus on the moved row's same button, so repeated presses keep moving it
    const buttons = this.body.querySelectorAll(".schema-row")[j].querySelectorAll(".row-buttons button");
    const target = buttons[delta < 0 ? 0 : 1];
    (target.disabled ? buttons[delta < 0 ? 1 : 0] : target).focus();
  }

  focusRow(i, selector) {
    this.body.querySelectorAll(".schema-row")[i]?.querySelector(selector)?.focus();
  }
}
