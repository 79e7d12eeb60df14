// admin-accounts.js: the administrators' accounts and API keys. The
// administrators page (the mail administrator's: admin.list) lists the
// accounts and makes new ones (admin.add); an account's page
// (#/admin/account/<name>) shows it (admin.show) with enable/disable,
// unlock and delete (the mail administrator's), and the password and the
// second factor (the mail administrator's, and each administrator's own,
// with its current password). The API keys page lists one's own keys,
// makes one (shown once, in words that say so) and revokes them. Every
// control calls the API (doc/api.md); a refusal (403) is said in words and
// changes nothing. A new TOTP secret and a new key are shown once, as text,
// and kept nowhere (no QR library: the otpauth:// URI is shown to copy).
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import * as session from "./session.js";
import { view, failed, table, section, isMailAdmin, flashNext, pager, refusal, list } from "./admin-common.js";

const PAGE = 50;
const KINDS = { mail: "admin.kind.mail_admin", domain: "admin.kind.domain_admin", group: "admin.kind.group_admin" };

// Locked now (the API keeps the time of a lock that has passed, too).
function locked(a) {
  return !!a.locked_until && a.locked_until * 1000 > Date.now();
}

function select(id, options, value) {
  return el("select", { id }, options.map(([v, key]) => el("option", { value: v, selected: v === value }, t(key))));
}

// ------------------------------------------------------------------ the list

function newAdminForm(ctx) {
  const kind = select("adm-new-kind", [["domain", "admin.kind.domain_admin"], ["group", "admin.kind.group_admin"],
    ["mail", "admin.kind.mail_admin"]], "domain");
  const form = el("form", { class: "card", id: "adm-new-form", novalidate: true },
    field({ id: "adm-new-name", label: t("admin.admins.name"), maxlength: 64 }),
    field({ id: "adm-new-password", label: t("admin.acct.password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    el("div", {}, el("label", { for: "adm-new-kind" }, t("admin.admins.kind")), kind),
    field({ id: "adm-new-domains", label: t("admin.acct.domains"), hint: t("admin.acct.domains_hint"), required: false, maxlength: 4000 }),
    field({ id: "adm-new-department", label: t("admin.col.department"), hint: t("admin.acct.department_hint"), required: false, maxlength: 255 }),
    el("div", {}, el("button", { type: "submit", id: "adm-new-submit" }, t("admin.acct.create"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const name = byId("adm-new-name").value.trim();
    const password = byId("adm-new-password").value;
    if (!name) return fieldError("adm-new-name", t("admin.acct.need_name"));
    if (!password) return fieldError("adm-new-password", t("admin.mailbox.need_password"));
    const body = { name, password, kind: kind.value };
    const domains = list(byId("adm-new-domains").value);
    if (kind.value !== "mail") body.domains = domains;
    if (kind.value === "group") body.department = byId("adm-new-department").value.trim();
    byId("adm-new-password").value = "";
    try {
      await call("POST", "/v1/admins", body, "adminacct");
      flashNext(t("admin.acct.created", { name }));
      ctx.go("/admin/account/" + segment(name));
    } catch (e) {
      refusal(e, ctx, { name: "adm-new-name", password: "adm-new-password", domains: "adm-new-domains",
        department: "adm-new-department", kind: "adm-new-domains" });
      if (e instanceof ApiError && e.status === 409) fieldError("adm-new-name", e.text());
    }
    return undefined;
  });
  return section("adm-new", t("admin.acct.new_title"), form);
}

export async function adminsView(params, ctx) {
  const title = t("admin.admins.title");
  const holder = el("div", { id: "admins-results" });
  view("admins", title, holder, isMailAdmin() ? newAdminForm(ctx) : null);
  const render = (items) => table("admins-table", null, [t("admin.admins.name"), t("admin.admins.kind"), t("admin.admins.scope"),
    t("admin.col.state"), t("admin.admins.totp"), t("admin.admins.last_sign_in")],
  items.map((a) => el("tr", {},
    el("td", {}, el("a", { href: "#/admin/account/" + segment(a.name), class: "admin-link" }, a.name)),
    el("td", {}, t(KINDS[a.kind] || "admin.kind.unknown")),
    el("td", {}, a.kind === "group" ? `${(a.domains || []).join(", ")} / ${a.department || ""}` : (a.domains || []).join(", ")),
    el("td", {}, t(a.active ? "admin.state.active" : "admin.state.disabled") + (locked(a) ? " " + t("admin.acct.locked_short") : "")),
    el("td", {}, t(a.totp ? "admin.yes" : "admin.no")),
    el("td", {}, a.last_sign_in ? i18n.dateTime(a.last_sign_in) : t("admin.mailboxes.never")))));
  await pager(holder, "admins", (cursor) =>
    call("GET", `/v1/admins?limit=${PAGE}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin"),
  render, ctx, "admins", title)();
}

// ------------------------------------------------------------------ one account

function passwordForm(ctx, name, own) {
  const needCurrent = own && !isMailAdmin();
  const form = el("form", { class: "card", id: "acct-password-form", novalidate: true },
    needCurrent ? field({ id: "acct-current", label: t("admin.acct.current_password"), type: "password", autocomplete: "current-password", maxlength: 4096 }) : null,
    field({ id: "acct-password", label: t("admin.mailbox.new_password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    field({ id: "acct-password2", label: t("admin.mailbox.repeat_password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    el("div", {}, el("button", { type: "submit", id: "acct-password-submit" }, t("admin.acct.set_password"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const password = byId("acct-password").value;
    if (!password) return fieldError("acct-password", t("admin.mailbox.need_password"));
    if (password !== byId("acct-password2").value) return fieldError("acct-password2", t("admin.mailbox.mismatch"));
    const body = { password };
    if (needCurrent) body.current_password = byId("acct-current").value;
    for (const id of ["acct-current", "acct-password", "acct-password2"]) if (byId(id)) byId(id).value = "";
    try {
      await call("PUT", `/v1/admins/${segment(name)}/password`, body, "adminacct");
      if (own) {
        // The change ended this session (and every other of the account).
        await session.signOut();
        return ctx.onEnded("admin.acct.own_password_changed");
      }
      await accountView({ name }, ctx);
      status(t("admin.acct.password_set"), "info");
    } catch (e) {
      refusal(e, ctx, { password: "acct-password", current_password: "acct-current" });
    }
    return undefined;
  });
  return section("acct-password-section", t("admin.acct.password_title"), form);
}

function totpForm(ctx, a, own) {
  const needCurrent = own && !isMailAdmin();
  const shown = el("div", { id: "acct-totp-new", role: "status" });
  const submit = el("button", { type: "submit", id: "acct-totp-submit" }, t(a.totp ? "admin.acct.totp_off" : "admin.acct.totp_on"));
  const form = el("form", { class: "card", id: "acct-totp-form", novalidate: true },
    el("p", { id: "acct-totp-state" }, t(a.totp ? "admin.acct.totp_is_on" : "admin.acct.totp_is_off")),
    needCurrent ? field({ id: "acct-totp-current", label: t("admin.acct.current_password"), type: "password", autocomplete: "current-password", maxlength: 4096 }) : null,
    el("div", {}, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { enable: !a.totp };
    if (needCurrent) {
      body.current_password = byId("acct-totp-current").value;
      byId("acct-totp-current").value = "";
    }
    try {
      const answer = await call("PUT", `/v1/admins/${segment(a.name)}/totp`, body, "adminacct");
      // Shown once, here, as text; an own account's sessions end with the
      // change, so the page does not read the account again.
      a.totp = !!answer.totp;
      submit.disabled = true;
      replace(byId("acct-totp-state"), t(a.totp ? "admin.acct.totp_is_on" : "admin.acct.totp_is_off"));
      if (answer.secret) {
        replace(shown, el("p", { class: "warning" }, t("admin.acct.totp_once")),
          el("dl", { class: "facts" },
            el("dt", {}, t("admin.acct.totp_secret")), el("dd", {}, el("code", { id: "acct-totp-secret" }, answer.secret)),
            el("dt", {}, t("admin.acct.totp_uri")), el("dd", {}, el("code", { id: "acct-totp-uri", class: "wrap" }, answer.uri))));
      } else {
        replace(shown);
      }
      status(t(a.totp ? "admin.acct.totp_turned_on" : "admin.acct.totp_turned_off") +
        (own ? " " + t("admin.acct.sign_in_again") : ""), "info");
    } catch (e) {
      refusal(e, ctx, { current_password: "acct-totp-current" });
    }
    return undefined;
  });
  return section("acct-totp", t("admin.acct.totp_title"), form, shown);
}

function deleteForm(ctx, name) {
  const form = el("form", { class: "card", id: "acct-del-form", novalidate: true },
    el("p", {}, t("admin.acct.delete_explain")),
    field({ id: "acct-del-confirm", label: t("admin.acct.delete_type", { name }), maxlength: 64 }),
    el("div", {}, el("button", { type: "submit", id: "acct-del-submit", class: "danger" }, t("admin.acct.delete"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (byId("acct-del-confirm").value.trim() !== name) return fieldError("acct-del-confirm", t("admin.forms.confirm_mismatch"));
    try {
      await call("DELETE", `/v1/admins/${segment(name)}`, undefined, "adminacct");
      flashNext(t("admin.acct.deleted", { name }));
      ctx.go("/admin/admins");
    } catch (e) {
      refusal(e, ctx);
    }
    return undefined;
  });
  return section("acct-del", t("admin.acct.delete_title"), form);
}

export async function accountView(params, ctx) {
  const name = params.name;
  const title = t("admin.acct.title", { name });
  let a;
  try {
    a = await call("GET", `/v1/admins/${segment(name)}`, undefined, "admin");
  } catch (e) {
    return failed(e, ctx, isMailAdmin() ? "admins" : "account", title);
  }
  const own = session.who().name === a.name;
  const mail = isMailAdmin();
  const act = (id, key, path, doneKey) => {
    const b = el("button", { type: "button", id }, t(key));
    b.addEventListener("click", async () => {
      try {
        await call("POST", `/v1/admins/${segment(name)}/${path}`, undefined, "adminacct");
        await accountView(params, ctx);
        status(t(doneKey), "info");
      } catch (e) {
        refusal(e, ctx);
      }
    });
    return b;
  };
  const controls = [];
  if (mail && !own) {
    controls.push(a.active ? act("acct-toggle", "admin.acct.disable", "disable", "admin.acct.disabled")
      : act("acct-toggle", "admin.acct.enable", "enable", "admin.acct.enabled"));
    if (locked(a)) controls.push(" ", act("acct-unlock", "admin.acct.unlock", "unlock", "admin.acct.unlocked"));
  }
  view(mail ? "admins" : "account", title,
    mail ? el("p", {}, el("a", { href: "#/admin/admins", id: "back-to-admins" }, t("admin.acct.back"))) : null,
    el("dl", { class: "facts" },
      el("dt", {}, t("admin.admins.kind")), el("dd", { id: "acct-kind" }, t(KINDS[a.kind] || "admin.kind.unknown")),
      el("dt", {}, t("admin.admins.scope")), el("dd", { id: "acct-scope" },
        (a.domains || []).join(", ") + (a.kind === "group" ? " / " + (a.department || "") : "")),
      el("dt", {}, t("admin.col.state")), el("dd", { id: "acct-state" }, t(a.active ? "admin.state.active" : "admin.state.disabled")),
      el("dt", {}, t("admin.acct.lock")), el("dd", { id: "acct-lock" }, locked(a)
        ? t("admin.acct.locked_until", { until: i18n.dateTime(new Date(a.locked_until * 1000).toISOString()) })
        : t("admin.acct.not_locked")),
      el("dt", {}, t("admin.admins.totp")), el("dd", { id: "acct-totp-value" }, t(a.totp ? "admin.yes" : "admin.no")),
      el("dt", {}, t("admin.admins.last_sign_in")), el("dd", {}, a.last_sign_in ? i18n.dateTime(a.last_sign_in) : t("admin.mailboxes.never"))),
    controls.length ? section("acct-state-section", t("admin.acct.state_title"), controls) : null,
    mail || own ? passwordForm(ctx, name, own) : null,
    mail || own ? totpForm(ctx, a, own) : null,
    mail && !own ? deleteForm(ctx, name) : null);
  return undefined;
}

// ------------------------------------------------------------------ API keys

function newKeyForm(ctx) {
  const readOnly = el("input", { id: "key-new-read-only", type: "checkbox" });
  const shown = el("div", { id: "key-new-shown", role: "status" });
  const form = el("form", { class: "card", id: "key-new-form", novalidate: true },
    field({ id: "key-new-label", label: t("admin.keys.label"), required: false, maxlength: 400 }),
    el("div", { class: "check" }, readOnly, el("label", { for: "key-new-read-only" }, t("admin.keys.read_only"))),
    field({ id: "key-new-domains", label: t("admin.keys.domains"), hint: t("admin.newkey.domains_hint"), required: false, maxlength: 4000 }),
    field({ id: "key-new-days", label: t("admin.newkey.days"), hint: t("admin.newkey.days_hint"), required: false, maxlength: 5 }),
    el("div", {}, el("button", { type: "submit", id: "key-new-submit" }, t("admin.newkey.create"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { label: byId("key-new-label").value.trim(), read_only: readOnly.checked };
    const domains = list(byId("key-new-domains").value);
    if (domains.length) body.domains = domains;
    const days = byId("key-new-days").value.trim();
    if (days) {
      if (!/^\d{1,5}$/.test(days) || Number(days) === 0) return fieldError("key-new-days", t("admin.newkey.need_days"));
      body.expires_in = Number(days) * 86400;
    }
    try {
      const made = await call("POST", "/v1/api-keys", body, "adminkey");
      await keysView({}, ctx);
      // Shown once: the server keeps only its digest.
      replace(byId("key-new-shown"), el("p", { class: "warning", id: "key-new-warning" }, t("admin.newkey.once")),
        el("p", {}, el("code", { id: "key-new-secret" }, made.key)));
      status(t("admin.newkey.created"), "info");
    } catch (e) {
      refusal(e, ctx, { label: "key-new-label", domains: "key-new-domains", expires_in: "key-new-days" });
    }
    return undefined;
  });
  return section("key-new", t("admin.newkey.title"), shown, form);
}

export async function keysView(params, ctx) {
  const title = t("admin.keys.title");
  const holder = el("div", { id: "keys-results" });
  view("keys", title, el("p", { class: "hint" }, t("admin.newkey.explain")), holder, newKeyForm(ctx));
  const revoke = (k) => {
    const b = el("button", { type: "button", class: "link", id: "key-revoke-" + k.id }, t("admin.newkey.revoke"));
    b.addEventListener("click", async () => {
      try {
        await call("DELETE", `/v1/api-keys/${segment(String(k.id))}`, undefined, "adminkey");
        await keysView(params, ctx);
        status(t("admin.newkey.revoked", { label: k.label || k.selector || "" }), "info");
      } catch (e) {
        refusal(e, ctx);
      }
    });
    return b;
  };
  const render = (items) => (items.length === 0 ? el("p", { id: "keys-none" }, t("admin.keys.none")) :
    table("keys-table", null, [t("admin.keys.label"), t("admin.keys.selector"), t("admin.keys.access"), t("admin.keys.domains"),
      t("admin.keys.expires"), t("admin.keys.last_used"), ""],
    items.map((k) => el("tr", {}, el("td", {}, k.label || ""), el("td", {}, k.selector || ""),
      el("td", {}, t(k.read_only ? "admin.keys.read_only" : "admin.keys.read_write")),
      el("td", {}, (k.domains || []).join(", ") || t("admin.keys.all_domains")),
      el("td", {}, k.expired ? t("admin.keys.expired") : k.expires_at ? i18n.dateTime(new Date(k.expires_at * 1000).toISOString()) : t("admin.keys.never_expires")),
      el("td", {}, k.last_used ? i18n.dateTime(k.last_used) : t("admin.mailboxes.never")),
      el("td", {}, revoke(k))))));
  await pager(holder, "keys", (cursor) =>
    call("GET", `/v1/api-keys?limit=${PAGE}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin"),
  render, ctx, "keys", title)();
}
