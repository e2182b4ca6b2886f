// Kolam's service worker: the app shell from the cache (so a reload offline still opens the workspace), the
// batch's media cache-first, and every other API call straight to the network. Answers and leases are never
// cached here: the workspace keeps them in IndexedDB, where it can tell what was synced.

const VERSION = "v1";
const SHELL_CACHE = `kolam-shell-${VERSION}`;
const MEDIA_CACHE = "kolam-media-v1"; // shared with js/work/media_cache.js, which prefetches into it
const KEEP = new Set([SHELL_CACHE, MEDIA_CACHE]);

// The annotator's path: everything a reload needs to open the workspace with no link. The one list of it.
// Manager pages are cached as they are visited (any /static/ file is), not installed up front.
const SHELL = [
  "/",
  "/static/css/app.css",
  "/static/css/workspace.css",
  "/static/css/classes.css",
  "/static/css/boxes.css",
  "/static/css/transcription.css",
  "/static/js/main.js",
  "/static/js/api.js",
  "/static/js/dom.js",
  "/static/js/hotkeys.js",
  "/static/js/markdown.js",
  "/static/js/pages/login.js",
  "/static/js/workspace.js",
  "/static/js/work/attention.js",
  "/static/js/work/early.js",
  "/static/js/work/guidelines.js",
  "/static/js/work/class_picker.js",
  "/static/js/work/idb.js",
  "/static/js/work/leases.js",
  "/static/js/work/media_cache.js",
  "/static/js/work/netstatus.js",
  "/static/js/work/outbox.js",
  "/static/js/work/skip_dialog.js",
  "/static/js/work/standing.js",
  "/static/js/work/timer.js",
  "/static/js/interfaces/image_classes.js",
  "/static/js/interfaces/text_classes.js",
  "/static/js/work/text_region.js",
  "/static/js/interfaces/image_boxes.js",
  "/static/js/interfaces/boxes_editor.js",
  "/static/js/interfaces/boxes_geometry.js",
  "/static/js/interfaces/boxes_keys.js",
  "/static/js/interfaces/boxes_pointer.js",
  "/static/js/interfaces/boxes_stage.js",
  "/static/js/interfaces/transcription.js",
  "/static/js/interfaces/segments.js",
  "/static/js/interfaces/waveform.js",
  "/static/js/interfaces/audio_player.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // One by one: a file another part has not shipped yet must not stop the rest from being installed.
      await Promise.all(SHELL.map((url) => cache.add(url).catch(() => {})));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith("kolam-") && !KEEP.has(name)) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

const MEDIA = /^\/api\/v1\/items\/\d+\/(display|peaks|content)$/;

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (MEDIA.test(url.pathname)) event.respondWith(cacheFirst(request));
  else if (url.pathname.startsWith("/api/")) return; // network only
  else if (url.pathname === "/" || url.pathname.startsWith("/static/")) event.respondWith(staleWhileRevalidate(event));
});

/** Media URLs carry a content hash (immutable): once cached, never fetched again. */
async function cacheFirst(request) {
  const cache = await caches.open(MEDIA_CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

/** Answer from the cache at once, refresh it in the background; the network only when nothing is cached. */
async function staleWhileRevalidate(event) {
  const request = event.request;
  const cache = await caches.open(SHELL_CACHE);
  const key = new URL(request.url).pathname === "/" ? "/" : request; // "/#/anything" is the one shell
  const hit = await cache.match(key, { ignoreSearch: key === "/" });
  const refresh = fetch(request)
    .then(async (response) => {
      if (response.ok) await cache.put(key, response.clone());
      return response;
    })
    .catch(() => null);
  if (hit) {
    event.waitUntil(refresh);
    return hit;
  }
  const response = await refresh;
  return response || new Response("Offline and not cached yet", { status: 503, statusText: "Offline" });
}
