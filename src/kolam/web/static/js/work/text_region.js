// A read-only text in which the annotator selects a part with the mouse or the keyboard (Shift+arrows by
// letter, Ctrl+Shift+arrows by word), and in which marked spans are highlighted.
//
// Offsets are code points, as Python counts them (JS strings count UTF-16 units: an emoji is 2 there, 1 here),
// and the caret moves by grapheme so a Tamil or Devanagari letter with its vowel sign is never split.

import { h } from "../dom.js";

function boundaries(text, granularity) {
  const out = [];
  let at = 0;
  for (const seg of new Intl.Segmenter(undefined, { granularity }).segment(text)) {
    const length = Array.from(seg.segment).length;
    out.push({ start: at, end: at + length, word: seg.isWordLike !== false });
    at += length;
  }
  return out;
}

export class TextRegion {
  /** onSelect() after the selection changed; label(span) → text of a span's tooltip. */
  constructor(text, { label, onSelect, onDelete }) {
    this.cps = Array.from(text);
    this.graphemes = [0, ...boundaries(text, "grapheme").map((g) => g.end)];
    this.words = boundaries(text, "word").filter((w) => w.word);
    this.caret = 0;
    this.anchor = 0;
    this.spans = [];
    this.onSelect = onSelect;
    this.onDelete = onDelete;
    this.element = h("div.tc-text", {
      tabIndex: 0, role: "textbox", "aria-readonly": "true", "aria-multiline": "true",
      "aria-label": "Text. Select with Shift+arrow keys or the mouse",
      onkeydown: (e) => this.key(e), onmouseup: () => this.fromDomSelection(),
    });
    this.label = label;
    this.render();
  }

  selection() {
    return { start: Math.min(this.anchor, this.caret), end: Math.max(this.anchor, this.caret) };
  }

  slice(start, end) {
    return this.cps.slice(start, end).join("");
  }

  setSpans(spans) {
    this.spans = spans;
    this.render();
  }

  clearSelection() {
    this.anchor = this.caret;
    this.render();
  }

  stepGrapheme(from, dir) {
    if (dir > 0) return this.graphemes.find((b) => b > from) ?? this.cps.length;
    return [...this.graphemes].reverse().find((b) => b < from) ?? 0;
  }

  stepWord(from, dir) {
    if (dir > 0) return this.words.find((w) => w.end > from)?.end ?? this.cps.length;
    return [...this.words].reverse().find((w) => w.start < from)?.start ?? 0;
  }

  lineEdge(from, dir) {
    if (dir > 0) {
      const i = this.cps.indexOf("\n", from);
      return i < 0 ? this.cps.length : i;
    }
    const i = this.cps.lastIndexOf("\n", from - 1);
    return i < 0 ? 0 : i + 1;
  }

  key(e) {
    const ctrl = e.ctrlKey || e.metaKey;
    const moves = {
      ArrowRight: () => (ctrl ? this.stepWord(this.caret, 1) : this.stepGrapheme(this.caret, 1)),
      ArrowLeft: () => (ctrl ? this.stepWord(this.caret, -1) : this.stepGrapheme(this.caret, -1)),
      Home: () => (ctrl ? 0 : this.lineEdge(this.caret, -1)),
      End: () => (ctrl ? this.cps.length : this.lineEdge(this.caret, 1)),
    };
    if (e.key in moves) {
      e.preventDefault();
      this.caret = moves[e.key]();
      if (!e.shiftKey) this.anchor = this.caret;
      this.render();
      this.onSelect?.();
    } else if ((e.key === "Delete" || e.key === "Backspace") && !ctrl) {
      e.preventDefault();
      const { start, end } = this.selection();
      this.onDelete?.(start, end);
    } else if (e.key === "Escape" && this.anchor !== this.caret) {
      e.preventDefault();
      e.stopPropagation();
      this.clearSelection();
    }
  }

  /** A code-point offset for a DOM position inside the element. */
  offsetOf(node, offset) {
    const range = document.createRange();
    range.selectNodeContents(this.element);
    range.setEnd(node, offset);
    return Array.from(range.toString()).length;
  }

  fromDomSelection() {
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount || !this.element.contains(sel.anchorNode) || !this.element.contains(sel.focusNode)) return;
    this.anchor = this.offsetOf(sel.anchorNode, sel.anchorOffset);
    this.caret = this.offsetOf(sel.focusNode, sel.focusOffset);
    sel.removeAllRanges();
    this.element.focus();
    this.render();
    this.onSelect?.();
  }

  render() {
    const { start: s, end: e } = this.selection();
    const cuts = new Set([0, this.cps.length, s, e, this.caret]);
    for (const span of this.spans) cuts.add(span.start).add(span.end);
    const points = [...cuts].filter((p) => p >= 0 && p <= this.cps.length).sort((a, b) => a - b);
    const nodes = [];
    for (let i = 0; i < points.length; i += 1) {
      const a = points[i];
      if (a === this.caret) nodes.push(h("span.caret", { "aria-hidden": "true" }));
      const b = points[i + 1];
      if (b === undefined || b === a) continue;
      let node = document.createTextNode(this.slice(a, b));
      if (a >= s && b <= e && s < e) node = h("span.sel", {}, node);
      const covering = this.spans.filter((sp) => sp.start <= a && sp.end >= b);
      if (covering.length) node = h("mark", { title: covering.map((sp) => this.label(sp)).join(", ") }, node);
      nodes.push(node);
    }
    this.element.replaceChildren(...nodes);
    this.element.querySelector(".caret")?.scrollIntoView?.({ block: "nearest" });
  }
}
