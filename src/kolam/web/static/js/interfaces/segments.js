// The transcript as a list of segments: times, language, and a text box per segment. Text boxes are left
// entirely to the browser and the OS input method (Tamil, Devanagari, …): no plain key is intercepted here.

import { h } from "../dom.js";

const RTL = new Set(["ar", "he", "fa", "ur", "ps", "sd", "yi", "dv", "ug", "ckb"]);
export const round3 = (t) => Math.round(t * 1000) / 1000;

/** Text direction for a BCP-47 tag ("ur-PK" → rtl); "auto" when no language is set. */
export function dirFor(language) {
  if (!language) return "auto";
  return RTL.has(language.split("-")[0].toLowerCase()) ? "rtl" : "ltr";
}

export class SegmentList {
  /** `on`: { changed(), active(i), play(i), remove(i) } — the interface wires these to player and waveform. */
  constructor(container, segments, languages, on) {
    this.container = container;
    this.segments = segments;
    this.languages = languages;
    this.on = on;
    this.active = segments.length ? 0 : -1;
    this.rows = [];
  }

  render() {
    this.rows = this.segments.map((seg, i) => this.row(seg, i));
    this.container.replaceChildren(...this.rows.map((r) => r.li));
    if (!this.segments.length) {
      const none = "No segments: Alt+N adds one at the playhead. None at all means no speech.";
      this.container.append(h("li.muted", {}, none));
    }
    this.markActive();
  }

  row(seg, i) {
    const n = i + 1;
    const timeInput = (field, label) =>
      h("input.seg-time", {
        type: "number",
        step: "0.01",
        min: "0",
        value: seg[field].toFixed(2),
        "aria-label": `${label} of segment ${n} (seconds)`,
        onchange: (e) => {
          const t = Number.parseFloat(e.target.value);
          if (Number.isFinite(t)) this.setTime(i, field, t);
        },
      });
    const start = timeInput("start", "Start");
    const end = timeInput("end", "End");
    const language = h(
      "select.seg-lang",
      {
        "aria-label": `Language of segment ${n}`,
        onchange: (e) => {
          seg.language = e.target.value;
          text.lang = seg.language;
          text.dir = dirFor(seg.language);
          this.on.changed();
        },
      },
      this.languages.map((code) => h("option", { value: code, selected: code === seg.language }, code)),
    );
    const text = h("textarea.seg-text", {
      rows: 2,
      value: seg.text,
      lang: seg.language || "",
      dir: dirFor(seg.language),
      autocomplete: "off",
      "aria-label": `Text of segment ${n}`,
      oninput: (e) => {
        seg.text = e.target.value;
        this.on.changed();
      },
    });
    text.spellcheck = false; // h() drops false values; a spell checker only underlines Tamil and Hindi
    const li = h(
      "li.seg",
      { dataset: { index: String(i) }, onfocusin: () => this.setActive(i) },
      h(
        "div.seg-head",
        {},
        h("span.seg-n", { "aria-hidden": "true" }, String(n)),
        h("span.seg-field", {}, "from ", start),
        h("span.seg-field", {}, "to ", end),
        language,
        this.button("▶", `Play segment ${n} (Alt+L)`, () => this.on.play(i)),
        this.button("✕", `Delete segment ${n} (Alt+Delete)`, () => this.on.remove(i)),
      ),
      text,
    );
    return { li, start, end, text, language };
  }

  button(symbol, label, onclick) {
    return h("button", { type: "button", "aria-label": label, title: label, onclick }, symbol);
  }

  setActive(i) {
    if (i === this.active || i < 0 || i >= this.segments.length) return;
    this.active = i;
    this.markActive();
    this.on.active(i);
  }

  markActive() {
    this.rows.forEach((r, i) => r.li.classList.toggle("active", i === this.active));
  }

  /** Set a segment's start or end (seconds); the other edge is left alone, value() reports a bad order. */
  setTime(i, field, t) {
    const seg = this.segments[i];
    if (!seg) return;
    seg[field] = round3(Math.max(0, t));
    this.rows[i].start.value = seg.start.toFixed(2);
    this.rows[i].end.value = seg.end.toFixed(2);
    this.on.changed();
  }

  /** Insert a segment in time order; returns its index. */
  add(seg) {
    let i = this.segments.findIndex((s) => s.start > seg.start);
    if (i < 0) i = this.segments.length;
    this.segments.splice(i, 0, seg);
    this.active = i;
    this.render();
    this.on.changed();
    return i;
  }

  remove(i) {
    if (i < 0 || i >= this.segments.length) return;
    this.segments.splice(i, 1);
    this.active = Math.min(i, this.segments.length - 1);
    this.render();
    this.on.changed();
    this.on.active(this.active);
  }

  focusText(i = this.active) {
    const row = this.rows[i];
    if (!row) return false;
    this.setActive(i);
    row.text.focus();
    row.li.scrollIntoView({ block: "nearest" });
    return true;
  }
}
