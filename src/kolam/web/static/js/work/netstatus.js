// The top bar's status: online or offline, and how many answers wait to sync, so an annotator on a link that
// drops knows their work is safe and when it has reached the server.

import { h, mount } from "../dom.js";
import * as outbox from "./outbox.js";

let unsubscribe = null;
let last = { pending: 0, rejected: [], signedOut: false };

function render() {
  const el = document.getElementById("net-status");
  if (!el) return;
  const online = navigator.onLine;
  el.classList.toggle("online", online);
  el.classList.toggle("offline", !online);
  const parts = [online ? "Online" : "Offline", `${last.pending} to sync`];
  if (last.rejected.length) parts.push(`${last.rejected.length} refused`);
  if (last.signedOut) parts.push("sign in again to sync");
  el.dataset.pending = String(last.pending);
  mount(el, h("span.dot", { "aria-hidden": "true" }), parts.join(" · "));
}

/** Show the status (idempotent); it keeps following the outbox and the link until stop(). */
export function show() {
  if (unsubscribe) return;
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  unsubscribe = outbox.subscribe((state) => {
    last = state;
    render();
  });
}
