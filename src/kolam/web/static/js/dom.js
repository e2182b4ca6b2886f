// Building DOM without a framework: h("button.primary", {onclick}, "Save") and friends.

/** Create an element. `spec` is "tag.class1.class2#id"; attrs: props (on* handlers, className, dataset…). */
export function h(spec, attrs = {}, ...children) {
  const [tagAndClasses, id] = spec.split("#");
  const [tag, ...classes] = tagAndClasses.split(".");
  const el = document.createElement(tag || "div");
  if (id) el.id = id;
  if (classes.length) el.classList.add(...classes);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key in el && !key.includes("-") && setProperty(el, key, value)) continue;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Set a DOM property; false for read-only ones (like <input list>), which then go in as attributes. */
function setProperty(el, key, value) {
  try {
    el[key] = value; // modules are strict: a read-only property throws
    return true;
  } catch {
    return false;
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Show a short message to the user (errors stay until dismissed by the next message). */
export function toast(message, { error = false, ms = 4000 } = {}) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = message;
  el.className = error ? "show error" : "show";
  clearTimeout(toast.timer);
  if (!error) toast.timer = setTimeout(() => (el.className = ""), ms);
}

/** "1 h 02 min", "3.4 s" — durations for people. */
export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return "–";
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Load a page's stylesheet once (pages bring their own CSS so annotators download only theirs). */
export function loadCss(href) {
  // rel=stylesheet only: index.html preloads workspace.css (rel=preload), which fetches but does not apply it
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve) => {
    const link = h("link", { rel: "stylesheet", href, onload: resolve, onerror: resolve });
    document.head.append(link);
  });
}
