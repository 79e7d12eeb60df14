// me.js: a mailbox user's own page: the mailbox's usage (bars with their
// figures and a word for the state: readable without colour), the login
// history, and the password change (the current password required; the
// change ends every session of the mailbox, this one too, so the user signs
// in again with the new password); then the self-service sections of
// selfservice.js (security question, app passwords, forwards).
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status, heading, focusHeading } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import * as session from "./session.js";
import { recoverySection, appPasswordsSection, forwardsSection } from "./selfservice.js";

// One usage line: a <meter> and the same as words.
function usageLine(id, label, used, limit, format) {
  const box = el("div", { class: "usage", id });
  const labelId = id + "-label";
  box.append(el("span", { id: labelId }, label));
  let words;
  if (limit > 0) {
    const percent = Math.round((used / limit) * 100);
    box.append(el("meter", {
      min: "0", max: String(limit), value: String(Math.min(used, limit)),
      low: String(limit * 0.8), high: String(limit * 0.95), optimum: "0",
      "aria-labelledby": labelId, "aria-describedby": id + "-text",
    }));
    const state = used >= limit ? "me.usage.over" : used >= limit * 0.9 ? "me.usage.near" : "me.usage.ok";
    words = t("me.usage.of", { used: format(used), limit: format(limit), percent: i18n.number(percent) }) +
      " " + t(state);
  } else {
    words = t("me.usage.unlimited", { used: format(used) });
  }
  box.append(el("span", { class: "figures", id: id + "-text" }, words));
  return box;
}

function usageSection(mailbox) {
  const section = el("section", { "aria-labelledby": "usage-title" }, el("h2", { id: "usage-title" }, t("me.usage.title")));
  if (!mailbox.usage) {
    section.append(el("p", { id: "usage-unknown" }, t("me.usage.unknown")));
    return section;
  }
  section.append(
    usageLine("usage-bytes", t("me.usage.storage"), Number(mailbox.usage.bytes), Number(mailbox.max_bytes), i18n.bytes),
    usageLine("usage-messages", t("me.usage.messages"), Number(mailbox.usage.messages), Number(mailbox.max_messages),
      (n) => t("unit.messages", { n: i18n.number(n) })));
  return section;
}

function loginsSection(logins) {
  const section = el("section", { "aria-labelledby": "logins-title" }, el("h2", { id: "logins-title" }, t("me.logins.title")));
  if (logins.length === 0) {
    section.append(el("p", { id: "logins-none" }, t("me.logins.none")));
    return section;
  }
  const rows = logins.map((l) => el("tr", {},
    el("td", {}, i18n.dateTime(l.time)),
    el("td", {}, l.protocol),
    el("td", {}, l.ip),
    el("td", {}, l.app_password_id ? (l.app_password_label || t("me.logins.app_password")) : t("me.logins.main_password"))));
  section.append(el("table", { id: "logins" },
    el("caption", {}, t("me.logins.caption")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("me.logins.time")),
      el("th", { scope: "col" }, t("me.logins.protocol")),
      el("th", { scope: "col" }, t("me.logins.ip")),
      el("th", { scope: "col" }, t("me.logins.password")))),
    el("tbody", {}, rows)));
  return section;
}

function passwordSection(address, onEnded) {
  const submit = el("button", { type: "submit", id: "password-submit" }, t("me.password.submit"));
  const form = el("form", { class: "card", id: "password-form", novalidate: true },
    field({ id: "current_password", label: t("me.password.current"), type: "password", autocomplete: "current-password", maxlength: 1024 }),
    field({ id: "new_password", label: t("me.password.new"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    field({ id: "new_password2", label: t("me.password.repeat"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    el("div", {}, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const current = byId("current_password").value;
    const fresh = byId("new_password").value;
    if (!current) return fieldError("current_password", t("me.password.need_current"));
    if (!fresh) return fieldError("new_password", t("me.password.need_new"));
    if (fresh !== byId("new_password2").value) return fieldError("new_password2", t("me.password.mismatch"));
    submit.disabled = true;
    try {
      await call("PUT", `/v1/mailboxes/${segment(address)}/password`, { current_password: current, password: fresh }, "password");
      for (const id of ["current_password", "new_password", "new_password2"]) byId(id).value = "";
      // The change ended this session (and every other of the mailbox).
      await session.signOut();
      onEnded("me.password.changed");
    } catch (e) {
      byId("current_password").value = "";
      if (e instanceof ApiError && e.status === 401) return onEnded();
      const message = e.text ? e.text() : t("error.generic");
      status(message, "error");
      const map = { current_password: "current_password", password: "new_password" };
      fieldError(map[e.field] || "current_password", message);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
  return el("section", { "aria-labelledby": "password-title" }, el("h2", { id: "password-title" }, t("me.password.title")), form);
}

export async function meView(params, ctx) {
  const address = session.who().mailbox;
  const main = byId("main");
  replace(main, heading(t("me.title")), el("p", {}, t("me.loading")));
  focusHeading();
  let mailbox;
  let logins;
  try {
    [mailbox, logins] = await Promise.all([
      call("GET", `/v1/mailboxes/${segment(address)}`, undefined, "me"),
      call("GET", `/v1/mailboxes/${segment(address)}/logins?limit=20`, undefined, "me"),
    ]);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
    replace(main, heading(t("me.title")));
    status(e.text ? e.text() : t("error.generic"), "error");
    return undefined;
  }
  replace(main,
    heading(t("me.title")),
    el("dl", { class: "facts" },
      el("dt", {}, t("me.address")), el("dd", { id: "me-address" }, mailbox.address),
      el("dt", {}, t("me.name")), el("dd", { id: "me-name" }, mailbox.name || t("me.no_name"))),
    usageSection(mailbox),
    loginsSection((logins && logins.items) || []),
    passwordSection(mailbox.address, ctx.onEnded),
    recoverySection(mailbox.address, ctx.onEnded),
    appPasswordsSection(mailbox.address, ctx.onEnded),
    forwardsSection(mailbox.address, ctx.onEnded));
  focusHeading();
  return undefined;
}
