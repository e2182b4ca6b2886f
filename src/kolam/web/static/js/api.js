// The one way the browser talks to /api/v1: JSON in and out, the CSRF header, errors as ApiError.

export const API = "/api/v1";

/** An error the server answered ({"error": {code, message, field}}) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
  /** True when the request never got an answer: offline, DNS, reset. Worth retrying later. */
  get offline() {
    return this.status === 0;
  }
}

const early = new Map(); // "METHOD path" → the promise of a request started before its page had loaded

/**
 * Start a body-less request a page is about to make, so it travels while the page's code still downloads
 * (on a 500 ms link each round trip saved shows); the page's own identical call then takes its answer.
 */
export function startEarly(method, path) {
  const key = `${method} ${path}`;
  if (early.has(key)) return;
  const request = send(method, path, method === "GET" ? undefined : {});
  request.catch(() => {}); // the page's own call reports a failure
  early.set(key, request);
}

/** Call the API. `body` is sent as JSON unless it is a Blob/File (sent raw). Resolves to parsed JSON or null. */
export async function api(method, path, body = undefined, opts = {}) {
  const key = `${method} ${path}`;
  const empty = body === undefined || (body?.constructor === Object && !Object.keys(body).length);
  if (empty && early.has(key)) {
    const request = early.get(key);
    early.delete(key);
    return request;
  }
  return send(method, path, body, opts);
}

async function send(method, path, body, { signal, headers = {} } = {}) {
  const init = { method, signal, credentials: "same-origin", headers: { "X-Kolam-Client": "web", ...headers } };
  if (body instanceof Blob) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "offline", "No connection to the server", null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(response.status, e.code || `http_${response.status}`, e.message || response.statusText, e.field);
  }
  return data;
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body ?? {}, opts);
export const patch = (path, body, opts) => api("PATCH", path, body, opts);
export const del = (path, opts) => api("DELETE", path, undefined, opts);

/** The signed-in member (GET /me), kept in localStorage so a reload while offline still knows who works. */
export async function whoAmI() {
  try {
    const me = await get("me");
    localStorage.setItem("kolam.me", JSON.stringify(me));
    return me;
  } catch (err) {
    if (err.offline) {
      const cached = localStorage.getItem("kolam.me");
      if (cached) return JSON.parse(cached);
    }
    throw err;
  }
}

export function forgetMe() {
  localStorage.removeItem("kolam.me");
}
