// Boot and routing. Routes live in the URL hash ("#/projects/3/work") so the one cached shell serves every
// screen, online or not. Pages are loaded on demand: an annotator's laptop never downloads manager pages.

import { ApiError, whoAmI } from "./api.js";
import { h, mount, toast } from "./dom.js";
import { workspaceRequests } from "./work/early.js";

const view = document.getElementById("view");

// [pattern, module path, requests to start early]; the first match wins. A page module exports
// `render(view, params, me)` and may return a cleanup function, called when the route changes.
const ROUTES = [
  [/^#\/login$/, "./pages/login.js"],
  [/^#\/projects\/(\d+)\/work$/, "./workspace.js", workspaceRequests],
  [/^#\/projects\/new$/, "./pages/project_edit.js"],
  [/^#\/projects\/(\d+)\/edit$/, "./pages/project_edit.js"],
  [/^#\/projects\/(\d+)\/import$/, "./pages/import.js"],
  [/^#\/projects\/(\d+)\/items$/, "./pages/items.js"],
  [/^#\/projects\/(\d+)\/review$/, "./pages/review_queue.js"],
  [/^#\/projects\/(\d+)\/review\/(\d+)$/, "./pages/review_item.js"],
  [/^#\/projects\/(\d+)\/quality$/, "./pages/quality.js"],
  [/^#\/projects\/(\d+)\/models$/, "./pages/models.js"],
  [/^#\/projects\/(\d+)\/gold$/, "./pages/gold.js"],
  [/^#\/projects\/(\d+)$/, "./pages/dashboard.js"],
  [/^#\/members$/, "./pages/members.js"],
  [/^#\/?$/, "./pages/projects.js"],
];

let cleanup = null;
let routing = 0;
let me = null;

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function currentMember() {
  return me;
}

/** Forget who is signed in (after logout or a 401) and show the login page. */
export function signedOut() {
  me = null;
  navigate("#/login");
}

function renderNav() {
  const nav = document.getElementById("nav");
  if (!me) return mount(nav);
  const can = (p) => me.permissions.includes(p);
  mount(
    nav,
    h("a", { href: "#/" }, "Projects"),
    can("members.manage") && h("a", { href: "#/members" }, "Members"),
    h("span.who", {}, `${me.name || me.email} · ${me.organization.name} · ${me.role}`),
    h("a", { href: "#/login", onclick: () => import("./pages/login.js").then((m) => m.logout()) }, "Sign out"),
  );
}

async function route() {
  const generation = ++routing; // a later navigation makes this one stale
  const hash = location.hash || "#/";
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
    cleanup = null;
  }
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  // Fetch the page's module and its first data while we learn who is signed in: on a 500 ms link every
  // round trip shows.
  if (found?.[2] && hash !== "#/login") found[2](hash.match(found[0]).slice(1));
  const pageModule = found ? import(found[1]) : null;
  pageModule?.catch(() => {}); // awaited below; a failure is reported there
  if (hash !== "#/login" && !me) {
    try {
      me = await signedInMember();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return navigate("#/login");
      mount(view, h("p.error", {}, `Cannot reach Kolam: ${err.message}`));
      return;
    }
  }
  if (generation !== routing) return;
  renderNav();
  if (found) {
    const [pattern] = found;
    const match = hash.match(pattern);
    try {
      const page = await pageModule;
      if (generation !== routing) return;
      // Each page draws into its own box: a page still loading when the person moves on (it appends after its
      // requests) then fills a box no longer on screen, instead of adding itself above the next page.
      const box = h("div.page");
      mount(view, box);
      const done = (await page.render(box, match.slice(1), me)) || null;
      if (generation !== routing) {
        if (done) done(); // the person moved on while this page was rendering
        return;
      }
      cleanup = done;
      if (!view.contains(document.activeElement)) view.focus({ preventScroll: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return signedOut();
      console.error(err);
      mount(view, h("p.error", { role: "alert" }, err.message || String(err)));
    }
    return;
  }
  mount(view, h("p", {}, "No such page. "), h("a", { href: "#/" }, "Back to projects"));
}

/**
 * Who is signed in: the copy kept at sign-in answers at once (no round trip before the first task) and is
 * checked in the background; a session that ended shows the login page.
 */
async function signedInMember() {
  const cached = localStorage.getItem("kolam.me");
  if (!cached) return whoAmI();
  whoAmI()
    .then((fresh) => {
      me = fresh;
      renderNav();
    })
    .catch((err) => {
      if (err instanceof ApiError && err.status === 401) signedOut();
    });
  return JSON.parse(cached);
}

/** Called by the login page once signed in. */
export function signedIn(member) {
  me = member;
  navigate("#/");
}

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason instanceof ApiError && e.reason.status === 401) signedOut();
  else if (e.reason) toast(e.reason.message || String(e.reason), { error: true });
});
// The service worker precaches the whole shell (~50 KB on the wire); on a thin link that must not compete
// with the first task's downloads, so it is registered once a task is on screen ("kolam:task-shown"), or a
// while after the page loaded for pages without tasks.
const SERVICE_WORKER_DELAY_MS = 10_000;
function registerServiceWorker() {
  if (registerServiceWorker.done || !("serviceWorker" in navigator)) return;
  registerServiceWorker.done = true;
  navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("service worker not installed", err));
}
window.addEventListener("kolam:task-shown", registerServiceWorker, { once: true });
window.addEventListener("load", () => setTimeout(registerServiceWorker, SERVICE_WORKER_DELAY_MS));
route();
