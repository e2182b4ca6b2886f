// Members of the organization: who they are, their role and skills; add, change, remove.

import { ApiError, del, get, patch, post } from "../api.js";
import { h, mount, toast } from "../dom.js";
import { FieldErrors, can, field, focusSoon, manageCss, when } from "./manage.js";
import { splitList } from "./schema_editor.js";

const ROLES = ["annotator", "reviewer", "manager", "viewer", "owner"];

/** A password for a new account, shown once to the manager who passes it on (14 characters, no look-alikes). */
function newPassword() {
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(14));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

function roleSelect(value, attrs) {
  return h("select", attrs, ROLES.map((r) => h("option", { value: r, selected: r === value }, r)));
}

function memberRow(m, me, reload) {
  const who = m.name || m.email;
  const role = roleSelect(m.role, { "aria-label": `Role of ${who}`, dataset: { field: "role" } });
  const skills = h("input", { value: m.skills.join(", "), "aria-label": `Skills of ${who}`, placeholder: "ta, hi", size: 12 });
  const error = h("span.error", { role: "alert" });
  const save = async () => {
    error.textContent = "";
    try {
      await patch(`members/${m.id}`, { role: role.value, skills: splitList(skills.value) });
      toast(`Saved ${who}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      error.textContent = err.message;
    }
  };
  const remove = async () => {
    if (!confirm(`Remove ${who} from ${me.organization.name}? Their answers stay.`)) return;
    try {
      await del(`members/${m.id}`);
      toast(`Removed ${who}`);
      reload();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      error.textContent = err.message;
    }
  };
  const self = m.user_id === me.user_id;
  return h(
    "tr",
    { dataset: { memberId: m.id } },
    h("td", {}, m.email, self ? h("span.muted", {}, " (you)") : null),
    h("td", {}, m.name || "–"),
    h("td", {}, role),
    h("td", {}, skills),
    h("td", {}, when(m.created_at)),
    h(
      "td",
      {},
      h(
        "span.actions",
        {},
        h("button", { type: "button", onclick: save, "aria-label": `Save ${who}` }, "Save"),
        !self && h("button", { type: "button", onclick: remove, "aria-label": `Remove ${who}` }, "Remove"),
        error,
      ),
    ),
  );
}

function addForm(reload, announce) {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off", dataset: { field: "email" } });
  const name = h("input", { name: "name", autocomplete: "off", dataset: { field: "name" } });
  const role = roleSelect("annotator", { name: "role", dataset: { field: "role" } });
  const skills = h("input", { name: "skills", placeholder: "ta, hi", dataset: { field: "skills" } });
  const password = h("input", { name: "password", value: newPassword(), autocomplete: "off", dataset: { field: "password" } });
  const general = h("p.error", { role: "alert" });
  const form = h(
    "form.inline-form.panel#add-member",
    { "aria-label": "Add a member" },
    field("E-mail", email),
    field("Name", name),
    field("Role", role),
    field("Skills", skills),
    field("Password", password, "For a new account; an existing one keeps its own."),
    h("button.primary", { type: "submit" }, "Add member"),
    general,
  );
  const errors = new FieldErrors(form, general);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const body = { email: email.value.trim(), name: name.value.trim(), role: role.value, skills: splitList(skills.value) };
    if (password.value) body.password = password.value;
    try {
      const added = await post("members", body);
      announce(added, added.password || body.password);
      form.reset();
      password.value = newPassword();
      reload();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.show(err.field, err.message);
    }
  });
  return form;
}

export async function render(view, _params, me) {
  await manageCss();
  if (!can(me, "members.manage")) {
    view.append(h("p.error", { role: "alert" }, "Your role does not allow managing members."));
    return;
  }
  const table = h("div#members-table");
  const notice = h("div#member-added", { role: "status" });
  const reload = async () => {
    const members = await get("members");
    mount(
      table,
      h(
        "table.list#members",
        {},
        h("caption.sr-only", {}, "Members"),
        h("thead", {}, h("tr", {}, ["E-mail", "Name", "Role", "Skills", "Since", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, members.map((m) => memberRow(m, me, reload))),
      ),
    );
  };
  const announce = (member, password) =>
    mount(
      notice,
      h(
        "div.panel",
        {},
        h("p", {}, `Added ${member.email} as ${member.role}. If the account is new, its password is (shown only now):`),
        h("p", {}, h("code.secret#new-password", {}, password)),
      ),
    );
  view.append(h("h1", {}, `Members of ${me.organization.name}`), h("h2", {}, "Add a member"), addForm(reload, announce), notice, h("h2", {}, "Members"), table);
  await reload();
  focusSoon(view.querySelector("#add-member input"));
}
