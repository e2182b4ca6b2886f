// Media for the leased batch, fetched once into Cache Storage while the link is up, so the interface (and a
// reload offline) reads images and audio from the laptop. The service worker reads the same cache.

export const MEDIA_CACHE = "kolam-media-v1";

/** The URLs a task's interface will load: the light derivative when there is one, the original otherwise. */
export function mediaUrls(task) {
  const item = task.item || {};
  const urls = [];
  if (item.display_url) urls.push(item.display_url);
  if (item.peaks_url) urls.push(item.peaks_url);
  if (!item.display_url && item.content_url && item.text == null) urls.push(item.content_url);
  return urls;
}

async function cache() {
  return caches.open(MEDIA_CACHE);
}

const inFlight = new Map(); // url → Promise: the prefetch and the interface never download one file twice

/** The cached response for `url`, fetching and storing it first when missing. */
async function cachedResponse(url) {
  const c = await cache();
  const hit = await c.match(url);
  if (hit) return hit;
  if (!inFlight.has(url)) {
    const download = (async () => {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`could not load ${url} (${response.status})`);
      // A service worker in charge has stored it already (sw.js, cache-first); one may also have taken charge
      // while this download ran, having seen none of it: store it unless it is there.
      if (!(await c.match(url))) await c.put(url, response);
    })().finally(() => inFlight.delete(url));
    inFlight.set(url, download);
  }
  await inFlight.get(url);
  const stored = await c.match(url);
  if (!stored) throw new Error(`could not keep ${url} on this computer`);
  return stored;
}

/**
 * Fetch a batch's media into the cache: the first task's alone (the annotator is waiting for it; on a thin
 * link parallel downloads share the bandwidth and all finish late), then the rest two at a time.
 */
export async function prefetch(tasks, { parallel = 2 } = {}) {
  if (!tasks.length) return;
  const first = mediaUrls(tasks[0]);
  await Promise.all(first.map((url) => cachedResponse(url).catch(() => {})));
  const queue = [...new Set(tasks.slice(1).flatMap(mediaUrls))].filter((url) => !first.includes(url));
  const worker = async () => {
    while (queue.length) {
      const url = queue.shift();
      try {
        await cachedResponse(url);
      } catch {
        // offline or refused: the interface tries again when it shows the task
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
}

/** ctx.media(url): the media as a Blob, from the cache when there. */
export async function media(url) {
  return (await cachedResponse(url)).clone().blob();
}

/** ctx.mediaInfo(url): the original pixel size the server put in the headers of the derived image. */
export async function mediaInfo(url) {
  const response = await cachedResponse(url);
  const width = Number(response.headers.get("X-Kolam-Original-Width")) || null;
  const height = Number(response.headers.get("X-Kolam-Original-Height")) || null;
  return { width, height };
}

/** Drop a finished task's media (keeps the laptop's disk in bounds; other batches' media stay). */
export async function drop(task) {
  const c = await cache();
  await Promise.all(mediaUrls(task).map((url) => c.delete(url)));
}
