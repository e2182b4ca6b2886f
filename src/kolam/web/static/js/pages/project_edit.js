// Create or edit a project: its settings and its label schema. Errors from the API land next to the field
// they name. The kind is chosen once: answers are only meaningful against the interface they were made in.

import { ApiError, get, patch, post } from "../api.js";
import { h, toast } from "../dom.js";
import { navigate } from "../main.js";
import { LearningFields } from "./learning_form.js";
import { FieldErrors, KINDS, can, field, focusSoon, manageCss, projectHeader } from "./manage.js";
import { QualityFields } from "./quality_form.js";
import { SchemaEditor, splitList } from "./schema_editor.js";

function numberInput(name, value, attrs = {}) {
  return h("input", { type: "number", name, value: value ?? "", dataset: { field: name }, ...attrs });
}

/** Read the form into the API's body; a number that does not parse is reported at its field. */
function readForm(controls, editor, quality, learning) {
  const body = {
    name: controls.name.value,
    instructions: controls.instructions.value,
    required_skills: splitList(controls.required_skills.value),
  };
  for (const [name, parse] of [["overlap", parseInt], ["gold_ratio", parseFloat], ["priority", parseInt], ["lease_seconds", parseInt]]) {
    const text = controls[name].value.trim();
    if (text === "") continue;
    const value = parse(text, 10);
    if (Number.isNaN(value)) throw Object.assign(new Error(`${name.replace("_", " ")} must be a number`), { field: name });
    body[name] = value;
  }
  body.schema = editor.value();
  body.quality = quality.value();
  body.learning = learning.value();
  return body;
}

export async function render(view, params, me) {
  await manageCss();
  const projectId = params[0] ? Number(params[0]) : null;
  if (!can(me, "projects.manage")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow changing projects."));
    return;
  }
  const project = projectId ? await get(`projects/${projectId}`) : null;
  const p = project || { kind: KINDS[0][0], overlap: 1, gold_ratio: 0, priority: 0, required_skills: [], instructions: "" };
  const controls = {
    name: h("input", { name: "name", value: p.name || "", required: true, autocomplete: "off", dataset: { field: "name" } }),
    kind: h(
      "select",
      { name: "kind", disabled: Boolean(project), dataset: { field: "kind" } },
      KINDS.map(([value, text]) => h("option", { value, selected: value === p.kind }, text)),
    ),
    instructions: h("textarea", { name: "instructions", rows: 5, value: p.instructions, dataset: { field: "instructions" } }),
    overlap: numberInput("overlap", p.overlap, { min: 1, max: 50 }),
    gold_ratio: numberInput("gold_ratio", p.gold_ratio, { min: 0, max: 0.5, step: 0.01 }),
    required_skills: h("input", {
      name: "required_skills", value: p.required_skills.join(", "), placeholder: "ta, hi", dataset: { field: "required_skills" },
    }),
    priority: numberInput("priority", p.priority),
    lease_seconds: numberInput("lease_seconds", p.lease_seconds, { min: 10, max: 86400, placeholder: "server default" }),
  };
  const editor = new SchemaEditor(p.kind, project ? project.schema : null);
  const quality = new QualityFields(p.quality);
  const learning = new LearningFields(p.learning);
  if (!project) controls.kind.addEventListener("change", () => editor.setKind(controls.kind.value));
  const general = h("p.error#form-error", { role: "alert" });
  const status = h("p.muted#form-status", { role: "status" });
  const form = h(
    "form.form#project-form",
    { novalidate: true, "aria-label": project ? "Edit project" : "New project" },
    field("Name", controls.name),
    field("Kind", controls.kind, project ? "Fixed once the project exists." : "The interface annotators work in."),
    field("Instructions", controls.instructions, "Shown to annotators above every task."),
    h(
      "div.grid2",
      {},
      field("Overlap", controls.overlap, "Answers wanted per item (1–50)."),
      field("Gold ratio", controls.gold_ratio, "Share of known-answer items mixed in (0–0.5)."),
      field("Required skills", controls.required_skills, "Language codes, comma separated."),
      field("Priority", controls.priority, "Higher projects come first."),
      field("Lease seconds", controls.lease_seconds, "How long a task stays with one annotator."),
    ),
    editor.element,
    quality.element,
    learning.element,
    h(
      "div.form-actions",
      {},
      h("button.primary#save-project", { type: "submit" }, project ? "Save changes" : "Create project"),
      h("a", { href: project ? `#/projects/${project.id}` : "#/" }, "Cancel"),
      status,
    ),
    general,
  );
  const errors = new FieldErrors(form, general);
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    errors.clear();
    status.textContent = "";
    let body;
    try {
      body = readForm(controls, editor, quality, learning);
    } catch (err) {
      errors.show(err.field, err.message);
      return;
    }
    busy = true;
    try {
      if (project) {
        const saved = await patch(`projects/${project.id}`, body);
        Object.assign(project, saved);
        status.textContent = `Saved · schema version ${saved.schema_version}`;
        toast("Project saved");
      } else {
        body.kind = controls.kind.value;
        const created = await post("projects", body);
        toast("Project created. Import its items next.");
        navigate(`#/projects/${created.id}/import`);
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.show(err.field, err.offline ? "You are offline; saving needs the server." : err.message);
    } finally {
      busy = false;
    }
  });
  view.append(
    ...(project ? projectHeader(project, me, `#/projects/${project.id}/edit`) : [h("h1", {}, "New project")]),
    form,
  );
  focusSoon(controls.name);
}
