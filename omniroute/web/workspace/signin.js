// The sign-in screen.
import { api, ApiError, setCsrf } from "./api.js";
import { h, clear } from "./dom.js";
import { t } from "./i18n.js";

export function renderSignIn(root, onSignedIn) {
  const error = h("p", { class: "form-error", role: "alert", id: "signin-error" });
  const email = h("input", { id: "signin-email", type: "email", name: "email", autocomplete: "username", required: true, "aria-describedby": "signin-error" });
  const password = h("input", { id: "signin-password", type: "password", name: "password", autocomplete: "current-password", required: true, "aria-describedby": "signin-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, t("signin.submit"));
  const form = h("form", { class: "signin-card", "aria-labelledby": "signin-title", novalidate: true },
    h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), "Omniroute"),
    h("h1", { id: "signin-title" }, t("signin.title")),
    h("label", { for: "signin-email" }, t("signin.email")), email,
    h("label", { for: "signin-password" }, t("signin.password")), password,
    error, submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    if (!email.value || !password.value) {
      error.textContent = t("signin.missing");
      (email.value ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("signin.busy");
    try {
      const session = await api("POST", "/session", { email: email.value, password: password.value });
      setCsrf(session.csrf_token);
      onSignedIn(session);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("signin.submit");
    }
  });
  clear(root).append(h("main", { class: "signin", id: "main" }, form));
  email.focus();
}
