// Import a file into a project: upload with byte progress (XMLHttpRequest reports it; fetch does not), then
// follow the background import (records read, items created) until it is done, and show its report.

import { API, ApiError, get } from "../api.js";
import { h, mount } from "../dom.js";
import { can, field, focusSoon, manageCss, num, projectHeader } from "./manage.js";

const POLL_MS = 1000;
const ACCEPT = ".jsonl,.json,.csv,.gz,.jsonl.gz,.json.gz,.csv.gz";

/** POST the file as the raw body; resolves to {status, body}. `onProgress(loaded, total)` while sending. */
function upload(projectId, file, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = new URLSearchParams({ filename: file.name, background: "true" });
    xhr.open("POST", `${API}/projects/${projectId}/imports?${query}`);
    xhr.setRequestHeader("X-Kolam-Client", "web");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve({ status: xhr.status, body });
      const e = (body && body.error) || {};
      reject(new ApiError(xhr.status, e.code || `http_${xhr.status}`, e.message || xhr.statusText, e.field));
    };
    xhr.onerror = () => reject(new ApiError(0, "offline", "No connection to the server", null));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    signal.addEventListener("abort", () => xhr.abort());
    xhr.send(file);
  });
}

function reportView(run, projectId, me) {
  const report = run.report || {};
  const failed = run.status === "failed";
  const dupes = report.duplicate_examples || [];
  const errors = report.errors || (report.error ? [report.error] : []);
  return h(
    "section.report.panel#import-report",
    { "aria-labelledby": "import-report-title" },
    h("h2#import-report-title", {}, failed ? "Import failed: nothing was imported" : "Import done"),
    h(
      "p#import-summary",
      {},
      `${num(run.records)} records read · ${num(run.items_created)} items created · ${num(run.duplicates)} duplicates`,
      report.seconds != null ? ` · ${num(report.seconds, 1)} s` : "",
    ),
    errors.length
      ? h(
          "table.list#import-errors",
          {},
          h("caption", {}, "Errors"),
          h("thead", {}, h("tr", {}, ["Where", "Field", "Problem"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            errors.map((e) =>
              h("tr", {}, h("td", {}, e.location || e.line || "–"), h("td", {}, e.field || "–"), h("td.error", {}, e.message)),
            ),
          ),
        )
      : null,
    dupes.length
      ? h(
          "table.list#import-duplicates",
          {},
          h("caption", {}, `Duplicates (same content as an item already there; first ${dupes.length} shown)`),
          h("thead", {}, h("tr", {}, [h("th", { scope: "col" }, "Where"), h("th", { scope: "col" }, "Same content as")])),
          h("tbody", {}, dupes.map((d) => h("tr", {}, h("td", {}, d.location), h("td", {}, d.same_content_as)))),
        )
      : null,
    !failed &&
      h(
        "p.actions",
        {},
        can(me, "items.read") && h("a", { href: `#/projects/${projectId}/items` }, "Browse the items"),
        can(me, "stats.read") && h("a", { href: `#/projects/${projectId}` }, "Dashboard"),
      ),
  );
}

export async function render(view, params, me) {
  await manageCss();
  const projectId = Number(params[0]);
  const project = await get(`projects/${projectId}`);
  const stop = new AbortController();
  const fileInput = h("input#import-file", { type: "file", accept: ACCEPT, required: true, dataset: { field: "body" } });
  const bar = h("progress#import-progress", { max: 1, value: 0, "aria-label": "Upload progress", hidden: true });
  const status = h("p#import-status", { role: "status", "aria-live": "polite" });
  const result = h("div#import-result");
  const button = h("button.primary#import-start", { type: "submit" }, "Upload and import");

  const follow = async (run) => {
    status.textContent = `Import ${run.id}: ${run.status} — ${num(run.records)} records read, ${num(run.items_created)} items created`;
    if (run.status === "done" || run.status === "failed") {
      bar.hidden = true;
      status.textContent = `Import ${run.id}: ${run.status}`;
      mount(result, reportView(run, projectId, me));
      button.disabled = false;
      result.querySelector("h2").setAttribute("tabindex", "-1");
      result.querySelector("h2").focus();
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (stop.signal.aborted) return;
    try {
      await follow(await get(`imports/${run.id}`, { signal: stop.signal }));
    } catch (err) {
      if (err.name === "AbortError") return;
      status.textContent = `Lost track of import ${run.id} (${err.message}); retrying…`;
      await new Promise((r) => setTimeout(r, POLL_MS * 3));
      if (!stop.signal.aborted) await follow(run);
    }
  };

  const form = h(
    "form.form.panel#import-form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const file = fileInput.files[0];
        mount(result);
        if (!file) {
          status.textContent = "Choose a file first.";
          fileInput.focus();
          return;
        }
        button.disabled = true;
        bar.hidden = false;
        bar.value = 0;
        try {
          const { body } = await upload(
            projectId,
            file,
            (loaded, total) => {
              bar.value = total ? loaded / total : 0;
              status.textContent = `Uploading ${file.name}: ${num((100 * loaded) / (total || 1))} %`;
            },
            stop.signal,
          );
          bar.removeAttribute("value"); // indeterminate while the server reads
          await follow(body);
        } catch (err) {
          if (err.name === "AbortError") return;
          bar.hidden = true;
          button.disabled = false;
          status.textContent = "";
          mount(result, h("p.error#import-error", { role: "alert" }, err.offline ? "You are offline; importing needs the server." : err.message));
        }
      },
    },
    field("File", fileInput, "JSON Lines, JSON or CSV, optionally gzipped (.jsonl.gz). One item per record; see the README for the fields."),
    h("div.form-actions", {}, button, bar),
    status,
  );
  view.append(...projectHeader(project, me, `#/projects/${projectId}/import`), form, result);
  focusSoon(fileInput);
  return () => stop.abort();
}
