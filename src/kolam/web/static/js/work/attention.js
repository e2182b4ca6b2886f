// What the annotator must know about answers already given: those the server refused (kept here with the
// server's words until read) and those that arrived after their lease ended.

import { h, mount } from "../dom.js";
import * as outbox from "./outbox.js";

/** A live panel; returns [element, stop]. */
export function attentionPanel() {
  const el = h("section.ws-attention", { "aria-live": "polite", "aria-label": "Answers that need attention" });
  const stop = outbox.subscribe((state) => {
    const rows = state.rejected.map((entry) =>
      h(
        "li.refused",
        { dataset: { clientId: entry.client_id } },
        h("strong", {}, `Task ${entry.task_id}: `),
        h("span.message", {}, entry.error?.message || "refused"),
        " ",
        // Kept but not counted (it has an id on the server): sending it again would change nothing.
        entry.annotation_id == null && [
          h("button", { type: "button", onclick: () => outbox.retry(entry.client_id) }, "Send again"), " "],
        h("button", { type: "button", onclick: () => outbox.dismiss(entry.client_id) }, "Dismiss"),
      ),
    );
    mount(
      el,
      rows.length > 0 && [h("h2", {}, "Answers the server refused (kept here)"), h("ul", {}, rows)],
      state.late > 0 &&
        h("p.late", {}, `${state.late} ${state.late === 1 ? "answer" : "answers"} arrived after their lease ended.`),
      state.signedOut && h("p.error", {}, "Your session ended: ", h("a", { href: "#/login" }, "sign in again"),
        " to send the answers waiting here (they are kept)."),
      state.lastError && h("p.muted", {}, `Sync will retry: ${state.lastError}`),
    );
    el.hidden = !el.childElementCount;
  });
  return [el, stop];
}
