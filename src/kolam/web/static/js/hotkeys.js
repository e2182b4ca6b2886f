// Keyboard-first: one registry of hotkeys per screen, a help overlay on "?", and keys that work while typing.
//
// Key names follow KeyboardEvent.key with modifiers in front: "1", "a", "Enter", "Ctrl+Enter", "Shift+S",
// "Alt+ArrowLeft", " " is written "Space". Letters are matched case-insensitively unless Shift is named.

import { h } from "./dom.js";

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

function isTyping(target) {
  return target && (TYPING.has(target.tagName) || target.isContentEditable);
}

/**
 * The hotkey name of a key event. `physical`: name letters and digits by the key's place on a US keyboard
 * (event.code) — what a Tamil or Hindi layout, or macOS's Option key, turns into another character.
 */
export function keyName(event, { physical = false } = {}) {
  let key = event.key === " " ? "Space" : event.key;
  const place = physical && /^(Key[A-Z]|Digit[0-9])$/.test(event.code || "") ? event.code.slice(-1) : null;
  if (place) key = place;
  if (key.length === 1) key = key.toLowerCase();
  const mods = [];
  if (event.ctrlKey || event.metaKey) mods.push("Ctrl");
  if (event.altKey) mods.push("Alt");
  // Shift is part of printable characters like "?" already; name it only for letters and named keys.
  if (event.shiftKey && (key.length > 1 || /[a-z]/.test(key))) mods.push("Shift");
  return [...mods, key].join("+");
}

/** "Shift+S" and "shift+s" name the same key as keyName() makes of the event: the letter in lower case. */
function normalize(key) {
  const parts = key.split("+");
  const last = parts.pop();
  return [...parts, last.length === 1 ? last.toLowerCase() : last].join("+");
}

/** A set of hotkeys for one screen; `dispose()` when leaving it. */
export class Hotkeys {
  constructor(root = document) {
    this.root = root;
    this.bindings = new Map();
    this.onKey = (event) => this.dispatch(event);
    root.addEventListener("keydown", this.onKey);
    this.register("?", "Show all hotkeys", () => this.toggleHelp());
  }

  /**
   * Bind `key` to `handler(event)`. Options: `whileTyping` (also fire inside inputs; use modifier keys for
   * those), `group` (heading in the help overlay). Returns a function that removes the binding.
   */
  register(key, description, handler, { whileTyping = false, group = "General" } = {}) {
    const normalized = normalize(key);
    const binding = { key, description, handler, whileTyping, group };
    this.bindings.set(normalized, binding);
    return () => {
      if (this.bindings.get(normalized) === binding) this.bindings.delete(normalized);
    };
  }

  dispatch(event) {
    if (event.defaultPrevented || event.isComposing) return; // an IME (Tamil, Devanagari) is composing
    // As typed first; then by the key's place, so hotkeys still work with a Tamil/Hindi layout or Option.
    const binding = this.bindings.get(keyName(event)) || this.bindings.get(keyName(event, { physical: true }));
    if (!binding) return;
    if (isTyping(event.target) && !binding.whileTyping) return;
    event.preventDefault();
    binding.handler(event);
  }

  /** Rows for the help overlay, grouped. */
  list() {
    const groups = new Map();
    for (const b of this.bindings.values()) {
      if (!groups.has(b.group)) groups.set(b.group, []);
      groups.get(b.group).push(b);
    }
    return groups;
  }

  toggleHelp() {
    const open = document.getElementById("hotkey-help");
    if (open) {
      open.remove();
      return;
    }
    const close = () => dialog.remove();
    const dialog = h(
      "div.overlay#hotkey-help",
      { role: "dialog", "aria-modal": "true", "aria-label": "Hotkeys", onclick: (e) => e.target === dialog && close() },
      h(
        "div.dialog",
        {},
        h("h2", {}, "Hotkeys"),
        [...this.list()].map(([group, rows]) => [
          h("h3", {}, group),
          h("dl.hotkeys", {}, rows.map((b) => [h("dt", {}, h("kbd", {}, b.key)), h("dd", {}, b.description)])),
        ]),
        h("button", { onclick: close, autofocus: true }, "Close (Esc)"),
      ),
    );
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape" || e.key === "?") {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    });
    document.body.append(dialog);
    dialog.querySelector("button").focus();
  }

  dispose() {
    this.root.removeEventListener("keydown", this.onKey);
    this.bindings.clear();
    document.getElementById("hotkey-help")?.remove();
  }
}
