// apply.js: the application form for a new mailbox, open to anyone
// (doc/api.md "Applications"; #/apply, or #/apply/<domain> to name the
// domain in the hint). What the applicant entered goes to
// POST /v1/applications; the answer's step is shown (submitted: an
// administrator decides; created: the mailbox exists, sign in). Refusals
// come from the server (closed domain, an address with a mailbox or an
// application waiting, the flood throttle) and are shown in words.
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status, heading, focusHeading } from "./form.js";
import { call } from "./api.js";

const FIELDS = { address: "apply-address", password: "apply-password", name: "apply-name", department: "apply-department", phone: "apply-phone" };

export function applyView(params) {
  const domain = (params && params.domain) || "";
  const submit = el("button", { type: "submit", id: "apply-submit" }, t("apply.submit"));
  const form = el("form", { class: "card", id: "apply-form", novalidate: true },
    field({ id: "apply-address", label: t("apply.address"), type: "email", autocomplete: "off",
      hint: domain ? t("apply.address_hint_domain", { domain }) : t("apply.address_hint") }),
    field({ id: "apply-name", label: t("apply.name"), autocomplete: "name", maxlength: 255, required: false }),
    field({ id: "apply-department", label: t("apply.department"), autocomplete: "organization-title", maxlength: 255, required: false }),
    field({ id: "apply-phone", label: t("apply.phone"), type: "text", autocomplete: "tel", maxlength: 64, required: false }),
    field({ id: "apply-password", label: t("apply.password"), type: "password", autocomplete: "new-password", hint: t("apply.password_hint"), maxlength: 1024 }),
    field({ id: "apply-password2", label: t("me.password.repeat"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    el("div", {}, submit));
  replace(byId("main"), heading(t("apply.title")), el("p", {}, t("apply.intro")), form,
    el("p", { class: "switch" }, el("a", { href: "#/signin" }, t("recovery.back"))));
  focusHeading();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {
      address: byId("apply-address").value.trim(),
      name: byId("apply-name").value.trim(),
      department: byId("apply-department").value.trim(),
      phone: byId("apply-phone").value.trim(),
      password: byId("apply-password").value,
    };
    if (!body.address) return fieldError("apply-address", t("signin.need_address"));
    if (!body.password) return fieldError("apply-password", t("signin.need_password"));
    if (body.password !== byId("apply-password2").value) return fieldError("apply-password2", t("me.password.mismatch"));
    submit.disabled = true;
    try {
      const answer = await call("POST", "/v1/applications", body, "apply");
      submitted(answer, body);
    } catch (e) {
      const message = e.text ? e.text() : t("error.generic");
      status(message, "error");
      fieldError(FIELDS[e.field] || "apply-address", message);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
}

// The step reached, and what was entered (as text).
function submitted(answer, body) {
  const state = answer && answer.state === "created" ? "created" : "submitted";
  const facts = el("dl", { class: "facts", id: "apply-facts" },
    el("dt", {}, t("apply.address")), el("dd", { id: "apply-shown-address" }, (answer && answer.address) || body.address),
    el("dt", {}, t("apply.name")), el("dd", { id: "apply-shown-name" }, body.name || t("me.no_name")),
    el("dt", {}, t("apply.department")), el("dd", { id: "apply-shown-department" }, body.department || t("me.no_name")),
    el("dt", {}, t("apply.phone")), el("dd", { id: "apply-shown-phone" }, body.phone || t("me.no_name")));
  replace(byId("main"), heading(t("apply.title")),
    el("p", { id: "apply-state", "data-state": state }, t(state === "created" ? "apply.state.created" : "apply.state.submitted")),
    facts,
    el("p", { class: "switch" }, el("a", { href: "#/signin", id: "apply-signin" }, t("recovery.back"))));
  status("");
  focusHeading();
}
