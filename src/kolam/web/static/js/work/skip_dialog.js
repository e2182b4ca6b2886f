// Skip with a reason: a small dialog driven by the keyboard (type, Enter to skip, Escape to stay).

import { h } from "../dom.js";

const REASONS = ["Cannot see or hear it", "Not my language", "Does not fit any class", "Broken item"];

/** Ask why; resolves to the reason (possibly "") or null when the annotator changed their mind. */
export function askSkipReason() {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const input = h("input#skip-reason", { type: "text", maxLength: 500, autocomplete: "off" });
    input.setAttribute("list", "skip-reasons"); // a read-only property: h() cannot set it
    const close = (value) => {
      dialog.remove();
      previous?.focus?.();
      resolve(value);
    };
    const dialog = h(
      "div.overlay#skip-dialog",
      { role: "dialog", "aria-modal": "true", "aria-labelledby": "skip-title" },
      h(
        "form.dialog",
        { onsubmit: (e) => (e.preventDefault(), close(input.value.trim())) },
        h("h2#skip-title", {}, "Skip this task"),
        h("label", { htmlFor: "skip-reason" }, "Reason (optional)"),
        input,
        h("datalist#skip-reasons", {}, REASONS.map((r) => h("option", { value: r }))),
        h(
          "p.actions",
          {},
          h("button.primary", { type: "submit" }, "Skip (Enter)"),
          " ",
          h("button", { type: "button", onclick: () => close(null) }, "Cancel (Esc)"),
        ),
      ),
    );
    dialog.addEventListener("keydown", (e) => {
      e.stopPropagation(); // the workspace's keys must not act behind the dialog
      if (e.key === "Escape") {
        e.preventDefault();
        close(null);
      }
    });
    document.body.append(dialog);
    input.focus();
  });
}
