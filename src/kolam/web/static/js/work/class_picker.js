// Class buttons with hotkeys, shared by the image_classes and text_classes interfaces: one key per class
// (the schema's hotkey, else 1–9 then letters), select for single-label, toggle for multi-label, undo.

import { h } from "../dom.js";

// Letters the workspace (Shift+S/U/I/C) or the interfaces themselves use; never handed to a class.
export const RESERVED = new Set(["s", "u", "i", "c", "h", "z"]);
const FALLBACK = [..."123456789", ..."abcdefghijklmnopqrstuvwxyz"];

/** name → key for the classes still in use: the schema's hotkeys first, the rest from 1–9 and a–z. */
export function assignHotkeys(classes, reserved = RESERVED) {
  const keys = new Map();
  const used = new Set(classes.map((c) => c.hotkey).filter(Boolean));
  const free = FALLBACK.filter((k) => !used.has(k) && !reserved.has(k));
  for (const c of classes) keys.set(c.name, c.hotkey || free.shift() || null);
  return keys;
}

/** Snapshots of an interface's answer, for Ctrl+Z. */
export class History {
  constructor(limit = 100) {
    this.stack = [];
    this.limit = limit;
  }
  push(snapshot) {
    this.stack.push(JSON.stringify(snapshot));
    if (this.stack.length > this.limit) this.stack.shift();
  }
  pop() {
    const top = this.stack.pop();
    return top === undefined ? null : JSON.parse(top);
  }
}

export class ClassPicker {
  /** classes: schema classes; onChange(labels) after every change made by the annotator. */
  constructor({ classes, multi, labels = [], hotkeys, group, onChange, beforeChange }) {
    this.classes = classes.filter((c) => !c.retired);
    this.multi = multi;
    const known = new Set(this.classes.map((c) => c.name));
    this.labels = labels.filter((l) => known.has(l));
    if (!multi) this.labels = this.labels.slice(0, 1);
    this.onChange = onChange;
    this.beforeChange = beforeChange;
    this.keys = assignHotkeys(this.classes);
    this.buttons = new Map();
    this.element = h("div.class-picker", { role: "group", "aria-label": multi ? "Classes (several allowed)" : "Class" });
    for (const c of this.classes) {
      const key = this.keys.get(c.name);
      const button = h(
        "button.class-button",
        {
          type: "button", title: c.description || undefined, "aria-description": c.description || undefined,
          dataset: { label: c.name }, onclick: () => this.choose(c.name),
        },
        key && h("kbd", {}, key), " ", c.name,
      );
      this.buttons.set(c.name, button);
      this.element.append(button);
      if (key) {
        const verb = multi ? "Toggle" : "Choose";
        hotkeys.register(key, `${verb} “${c.name}”`, () => this.choose(c.name), { group });
      }
    }
    this.render();
  }

  /** The class a key or click picked: selected (single-label) or toggled (multi-label). */
  choose(name) {
    const next = this.multi
      ? this.labels.includes(name)
        ? this.labels.filter((l) => l !== name)
        : [...this.labels, name]
      : [name];
    if (JSON.stringify(next) === JSON.stringify(this.labels)) return;
    this.beforeChange?.();
    this.labels = next;
    this.render();
    this.onChange?.(this.labels);
  }

  /** Make sure `name` is chosen (a span marked with a class implies the class). */
  ensure(name) {
    if (!this.labels.includes(name)) this.labels = this.multi ? [...this.labels, name] : [name];
    this.render();
  }

  set(labels) {
    this.labels = [...labels];
    this.render();
  }

  /** The class last chosen: what a new span is marked with. */
  current() {
    return this.labels[this.labels.length - 1] || null;
  }

  /** Labels in schema order, as stored. */
  value() {
    return this.classes.map((c) => c.name).filter((n) => this.labels.includes(n));
  }

  render() {
    for (const [name, button] of this.buttons) button.setAttribute("aria-pressed", String(this.labels.includes(name)));
  }

  focus() {
    (this.buttons.get(this.labels[0]) || this.buttons.values().next().value)?.focus();
  }
}
