// The organization's projects: a table of links, each project's progress, and what this member may do with it.

import { get } from "../api.js";
import { h } from "../dom.js";
import { Hotkeys } from "../hotkeys.js";
import { navigate } from "../main.js";
import { can, kindName, manageCss, num, projectLinks } from "./manage.js";

function progressCell(stats) {
  if (!stats) return h("td.muted", {}, "–");
  const label = `${num(stats.done)} of ${num(stats.tasks)} done`;
  return h(
    "td",
    {},
    h("progress", { max: Math.max(stats.tasks, 1), value: stats.done, "aria-label": label }),
    " ",
    h("span", {}, label),
  );
}

function row(project, stats, me) {
  const links = projectLinks(project, me);
  const exports = can(me, "exports.read") && [`/api/v1/projects/${project.id}/export?format=jsonl`, "Export"];
  const [mainHref] = links[0] || ["#/"];
  return h(
    "tr",
    { dataset: { projectId: project.id } },
    h("td", {}, h("a", { href: mainHref }, project.name)),
    h("td", {}, kindName(project.kind)),
    progressCell(stats),
    h(
      "td",
      {},
      h(
        "span.actions",
        {},
        links.map(([href, text]) => h("a", { href, "aria-label": `${text}: ${project.name}` }, text)),
        exports && h("a", { href: exports[0], download: "", "aria-label": `Export: ${project.name}` }, exports[1]),
      ),
    ),
  );
}

export async function render(view, _params, me) {
  await manageCss();
  const hotkeys = new Hotkeys();
  const manage = can(me, "projects.manage");
  if (manage) hotkeys.register("n", "New project", () => navigate("#/projects/new"), { group: "Projects" });
  const projects = await get("projects");
  const stats = new Map();
  if (can(me, "stats.read")) {
    const all = await Promise.all(projects.map((p) => get(`projects/${p.id}/stats`).catch(() => null)));
    projects.forEach((p, i) => stats.set(p.id, all[i]));
  }
  const head = h(
    "div.page-head",
    {},
    h("h1", {}, "Projects"),
    manage && h("a.button.primary#new-project", { href: "#/projects/new" }, "New project ", h("kbd", {}, "n")),
  );
  const body = projects.length
    ? h(
        "table.list#projects",
        {},
        h("caption.sr-only", {}, `Projects of ${me.organization.name}`),
        h("thead", {}, h("tr", {}, ["Project", "Kind", "Progress", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, projects.map((p) => row(p, stats.get(p.id), me))),
      )
    : h("p.muted", {}, manage ? "No projects yet. Press n to make one." : "No projects yet.");
  view.append(head, body);
  return () => hotkeys.dispose();
}
