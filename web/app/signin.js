// signin.js: the sign-in views. A mailbox user gives the mail address and
// password (or an app password, where the mailbox allows only those); an
// administrator the account name, the password and, when the account has a
// second factor, the current code. The server answers a missing or wrong code
// exactly as a wrong password (so a guessed password is never confirmed), so
// the code field is always there, and optional.
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status, heading, focusHeading } from "./form.js";
import * as session from "./session.js";

export function signInView(kind, onSignedIn) {
  const admin = kind === "admin";
  const nameId = admin ? "name" : "address";
  const fields = admin
    ? [
      field({ id: "name", label: t("signin.admin_name"), autocomplete: "username" }),
      field({ id: "password", label: t("signin.password"), type: "password", autocomplete: "current-password", maxlength: 1024 }),
      field({ id: "totp", label: t("signin.totp"), hint: t("signin.totp_hint"), autocomplete: "one-time-code", required: false, maxlength: 16 }),
    ]
    : [
      field({ id: "address", label: t("signin.address"), type: "email", autocomplete: "username", hint: t("signin.address_hint") }),
      field({ id: "password", label: t("signin.password"), type: "password", autocomplete: "current-password", hint: t("signin.password_hint"), maxlength: 1024 }),
    ];
  const submit = el("button", { type: "submit", id: "signin-submit" }, t("signin.submit"));
  const form = el("form", { class: "card", id: "signin-form", novalidate: true }, fields, el("div", {}, submit));
  const other = el("p", { class: "switch" },
    el("a", { href: admin ? "#/signin" : "#/signin/admin", id: "signin-other" },
      admin ? t("signin.as_mailbox") : t("signin.as_admin")));
  const self = admin ? null : el("p", { class: "switch" },
    el("a", { href: "#/forgot", id: "signin-forgot" }, t("recovery.forgot_link")), " · ",
    el("a", { href: "#/apply", id: "signin-apply" }, t("apply.link")));
  replace(byId("main"),
    heading(admin ? t("signin.title_admin") : t("signin.title_mailbox")),
    form,
    self,
    other);
  focusHeading();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const name = byId(nameId).value.trim();
    const password = byId("password").value;
    if (!name) return fieldError(nameId, t(admin ? "signin.need_name" : "signin.need_address"));
    if (!password) return fieldError("password", t("signin.need_password"));
    const body = admin ? { name, password } : { address: name, password };
    if (admin && byId("totp").value.trim()) body.totp = byId("totp").value.trim();
    submit.disabled = true;
    status(t("signin.working"), "info");
    try {
      const principal = await session.signIn(body, "signin");
      onSignedIn(principal);
    } catch (e) {
      byId("password").value = "";
      if (admin) byId("totp").value = "";
      const message = e.text ? e.text({ name }) : t("error.generic");
      status(message, "error");
      // A refusal is about the whole sign-in; an invalid field about that field.
      const focus = e.field && byId(e.field) ? e.field : nameId;
      fieldError(focus, message);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
}
