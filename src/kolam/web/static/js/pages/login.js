// Sign in with e-mail, password and (optionally) the organization's short name.

import { ApiError, forgetMe, post } from "../api.js";
import { h } from "../dom.js";
import { signedIn } from "../main.js";

export function render(view) {
  const error = h("p.error", { role: "alert" });
  const email = h("input#login-email", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input#login-password", {
    type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const org = h("input#login-org", { name: "organization", autocomplete: "organization", placeholder: "e.g. acme" });
  const form = h(
    "form.panel.login",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          const body = { email: email.value.trim(), password: password.value };
          if (org.value.trim()) body.organization = org.value.trim();
          const me = await post("auth/login", body);
          localStorage.setItem("kolam.me", JSON.stringify(me));
          signedIn(me);
        } catch (err) {
          error.textContent = err instanceof ApiError && err.offline ? "You are offline; sign in needs the server." : err.message;
        }
      },
    },
    h("h1", {}, "Sign in to Kolam"),
    h("label", { htmlFor: "login-email" }, "E-mail"), email,
    h("label", { htmlFor: "login-password" }, "Password"), password,
    h("label", { htmlFor: "login-org" }, "Organization"), org,
    h("p.muted", {}, "Leave the organization empty to use your first one."),
    h("button.primary", { type: "submit" }, "Sign in"),
    error,
  );
  view.append(form);
  email.focus();
}

export async function logout() {
  try {
    await post("auth/logout");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  forgetMe();
}
