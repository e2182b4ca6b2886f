// The managers' notes on confused class pairs, shown with a task whose item the model places between the two
// (the task's `guidelines`). A small panel under the instructions; hidden for a task once dismissed.

import { h } from "../dom.js";

const dismissed = new Set(); // task ids whose notes the annotator has put away (this page's life)

/** Show `task`'s notes in a panel just after `anchor` (made on first use), or hide it when there are none. */
export function showGuidelines(anchor, task) {
  let panel = anchor.nextElementSibling?.matches(".ws-guidelines") ? anchor.nextElementSibling : null;
  const notes = task?.guidelines || [];
  if (!notes.length || dismissed.has(task.task_id)) {
    if (panel) panel.hidden = true;
    return;
  }
  if (!panel) {
    panel = h("aside.ws-guidelines", { "aria-labelledby": "ws-guidelines-title" });
    anchor.after(panel);
  }
  const close = h("button.ws-guidelines-close", { type: "button", "aria-label": "Hide these notes for this task" }, "Hide");
  close.addEventListener("click", () => {
    dismissed.add(task.task_id);
    panel.hidden = true;
  });
  panel.replaceChildren(
    h("div.ws-guidelines-head", {},
      h("h2#ws-guidelines-title", {}, notes.length > 1 ? "Notes on classes easily mixed up" : "Note on two classes easily mixed up"),
      close),
    h("ul", {}, notes.map((g) => h("li", { dataset: { pair: g.classes.join("|") } },
      h("strong", {}, `${g.classes[0]} or ${g.classes[1]}: `), h("span.ws-guideline-note", {}, g.note)))));
  panel.hidden = false;
}
