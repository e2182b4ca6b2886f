// What the manager pages share: their stylesheet, permission checks, a project's tab bar, field errors.

import { h, loadCss } from "../dom.js";

export const KINDS = [
  ["image_classes", "Image classes"],
  ["image_boxes", "Image boxes"],
  ["transcription", "Transcription"],
  ["text_classes", "Text classes (moderation)"],
];

export const kindName = (kind) => (KINDS.find(([k]) => k === kind) || [kind, kind])[1];

/** Load manage.css before a page draws, so it never flashes unstyled. */
export const manageCss = () => loadCss("/static/css/manage.css");

export const can = (me, permission) => Boolean(me && me.permissions.includes(permission));

/** The links a project offers this member, in the order of the tab bar ([hash, text]). */
export function projectLinks(project, me) {
  const id = project.id;
  return [
    can(me, "stats.read") && [`#/projects/${id}`, "Dashboard"],
    can(me, "tasks.work") && [`#/projects/${id}/work`, "Start working"],
    can(me, "items.read") && [`#/projects/${id}/items`, "Items"],
    can(me, "items.import") && [`#/projects/${id}/import`, "Import"],
    can(me, "reviews.work") && [`#/projects/${id}/review`, "Review"],
    can(me, "stats.read") && [`#/projects/${id}/quality`, "Quality"],
    // the page reads with stats.read; the tab is for those who act on it (a client's viewer keeps a short bar)
    (can(me, "projects.manage") || can(me, "reviews.work")) && [`#/projects/${id}/models`, "Model"],
    can(me, "projects.manage") && [`#/projects/${id}/gold`, "Gold"],
    can(me, "projects.manage") && [`#/projects/${id}/edit`, "Edit"],
  ].filter(Boolean);
}

/** The page heading of a project's page and its tab bar, the current tab marked for screen readers. */
export function projectHeader(project, me, current) {
  return [
    h("p.crumbs", {}, h("a", { href: "#/" }, "Projects"), " / ", kindName(project.kind)),
    h("h1", {}, project.name),
    h(
      "nav.tabs",
      { "aria-label": "Project" },
      projectLinks(project, me).map(([href, text]) =>
        h("a", { href, "aria-current": href === current ? "page" : null }, text),
      ),
    ),
  ];
}

/** Number formatting for tables: "1,234", "12.5", "–" for nothing. */
export function num(value, digits = 0) {
  if (value == null || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A timestamp as people read it, in their time zone: "2026-03-10 12:05". */
export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * Field errors next to the field the API named (ApiError.field). Controls carry `data-field`; a name the
 * form does not have is shortened ("schema.classes[2].hotkey" → "schema.classes[2]" → "schema") until one
 * matches, else the message goes to the form's general error line.
 */
export class FieldErrors {
  constructor(form, general) {
    this.form = form;
    this.general = general;
  }

  clear() {
    this.general.textContent = "";
    for (const el of this.form.querySelectorAll(".field-error")) el.remove();
    for (const el of this.form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    }
  }

  show(field, message) {
    let target = null;
    for (let name = field || ""; name && !target; name = shorter(name)) {
      target = this.form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    }
    if (!target) {
      this.general.textContent = message;
      return null;
    }
    const id = `err-${Math.random().toString(36).slice(2, 9)}`;
    const note = h("p.field-error.error", { id, role: "alert" }, message);
    target.after(note);
    target.setAttribute("aria-invalid", "true");
    target.setAttribute("aria-describedby", id);
    // the note goes once the field is changed: it described the value that was sent, not the one typed now
    const fixed = () => {
      note.remove();
      target.removeAttribute("aria-invalid");
      target.removeAttribute("aria-describedby");
    };
    target.addEventListener("input", fixed, { once: true });
    if (typeof target.focus === "function") target.focus();
    return target;
  }
}

function shorter(name) {
  const cut = Math.max(name.lastIndexOf("."), name.lastIndexOf("["));
  return cut > 0 ? name.slice(0, cut) : "";
}

/** A labelled control: the label, the control (given an id), and an optional hint under it. */
export function field(label, control, hint = null) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint && h("p.hint.muted", { id: `${id}-hint` }, hint);
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div.field", {}, h("label", { htmlFor: id }, label), control, hintEl);
}

/** Focus a control once the router has finished (it focuses the view after a page renders). */
export function focusSoon(el) {
  setTimeout(() => el && el.isConnected && el.focus(), 0);
}
