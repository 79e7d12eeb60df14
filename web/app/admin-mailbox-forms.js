// admin-mailbox-forms.js: the forms of a mailbox's page beyond its limits
// and password (admin-mailbox.js holds the page): delete (confirmed by
// typing the address), access (mailbox.set_access: where it may log in and
// where its main password works, the rest app passwords only), outbound
// limits (outbound.show/set/suspend/lift), send-as grants of this mailbox
// (send_as.list/grant/revoke), and the aliases that deliver to it
// (sub.list with recipient=, sub.add, sub.del). A section is made only
// from data the API gave this administrator; a control the operations table
// keeps from it (outbound.set and .lift are the mail administrator's) is
// left out, and any refusal is said in words and changes nothing.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId } from "./dom.js";
import { field, clearErrors, fieldError } from "./form.js";
import { call, segment } from "./api.js";
import { table, section, isMailAdmin, flashNext, refusal } from "./admin-common.js";

const PROTOCOLS = ["imap", "pop3", "smtp", "sieve", "webmail"];
const PROTOCOL_KEYS = { imap: "admin.mbx.proto.imap", pop3: "admin.mbx.proto.pop3", smtp: "admin.mbx.proto.smtp",
  sieve: "admin.mbx.proto.sieve", webmail: "admin.mbx.proto.webmail" };
export const LIMITS = ["per_hour", "per_day", "rcpt_per_message", "rcpt_per_day"];
export const LIMIT_KEYS = { per_hour: "admin.mbx.limit.per_hour", per_day: "admin.mbx.limit.per_day",
  rcpt_per_message: "admin.mbx.limit.rcpt_per_message", rcpt_per_day: "admin.mbx.limit.rcpt_per_day" };

export function deleteSection(ctx, m) {
  const form = el("form", { class: "card", id: "mb-del-form", novalidate: true },
    el("p", {}, t("admin.mbx.delete_explain")),
    field({ id: "mb-del-confirm", label: t("admin.mbx.delete_type", { address: m.address }), maxlength: 320 }),
    el("div", {}, el("button", { type: "submit", id: "mb-del-submit", class: "danger" }, t("admin.mbx.delete"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (byId("mb-del-confirm").value.trim().toLowerCase() !== m.address.toLowerCase())
      return fieldError("mb-del-confirm", t("admin.forms.confirm_mismatch"));
    try {
      await call("DELETE", `/v1/mailboxes/${segment(m.address)}`, undefined, "mbx");
      flashNext(t("admin.mbx.deleted", { address: m.address }));
      ctx.go("/admin/mailboxes/" + segment(m.domain));
    } catch (e) {
      refusal(e, ctx);
    }
    return undefined;
  });
  return section("mb-del", t("admin.mbx.delete_title"), form);
}

// One protocol list as checkboxes: null (no rule) checks every box.
function protocolBoxes(prefix, legend, value) {
  const on = value === null || value === undefined ? PROTOCOLS : value.split(",");
  return el("fieldset", { id: prefix }, el("legend", {}, legend),
    PROTOCOLS.map((p) => el("span", { class: "check" },
      el("input", { type: "checkbox", id: `${prefix}-${p}`, checked: on.includes(p) }),
      el("label", { for: `${prefix}-${p}` }, t(PROTOCOL_KEYS[p])))));
}

function checked(prefix) {
  const on = PROTOCOLS.filter((p) => byId(`${prefix}-${p}`).checked);
  return on.length === PROTOCOLS.length ? "all" : on.join(",");
}

export function accessSection(ctx, m, access, change) {
  const form = el("form", { class: "card", id: "mb-access-form", novalidate: true },
    el("p", { class: "hint" }, t("admin.mbx.access_explain")),
    protocolBoxes("mb-access-login", t("admin.mbx.login_protocols"), access.protocols),
    protocolBoxes("mb-access-main", t("admin.mbx.main_password"), access.main_password),
    el("div", {}, el("button", { type: "submit", id: "mb-access-submit" }, t("admin.mbx.access_save"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { protocols: checked("mb-access-login"), main_password: checked("mb-access-main") };
    change(() => call("PUT", `/v1/mailboxes/${segment(m.address)}/access`, body, "mbx"), "admin.mbx.access_saved");
  });
  return section("mb-access", t("admin.mbx.access_title"),
    el("p", { id: "mb-access-now" }, t("admin.mbx.access_now", {
      login: access.protocols === null ? t("admin.mbx.everywhere") : (access.protocols || t("admin.mbx.nowhere")),
      main: access.main_password === null ? t("admin.mbx.everywhere") : (access.main_password || t("admin.mbx.nowhere")),
    })), form);
}

function limitText(v) {
  if (v === null || v === undefined) return t("admin.mbx.default");
  return v === 0 ? t("admin.domains.unlimited") : i18n.number(v);
}

// Four limit fields (empty: null, "the domain's default" or "none"); the
// values of `limits` filled in. Answers the body, or null after marking a
// field wrong.
export function limitFields(prefix, limits, hintKey) {
  return LIMITS.map((name) => {
    const f = field({ id: `${prefix}-${name}`, label: t(LIMIT_KEYS[name]), hint: t(hintKey), required: false, maxlength: 10 });
    const v = limits ? limits[name] : null;
    f.querySelector("input").value = v === null || v === undefined ? "" : String(v);
    return f;
  });
}

export function limitBody(prefix) {
  const body = {};
  for (const name of LIMITS) {
    const v = byId(`${prefix}-${name}`).value.trim();
    if (v === "") body[name] = null;
    else if (/^\d{1,9}$/.test(v)) body[name] = Number(v);
    else {
      fieldError(`${prefix}-${name}`, t("admin.mailbox.need_number"));
      return null;
    }
  }
  return body;
}

export function outboundSection(ctx, m, o, change) {
  const a = segment(m.address);
  const content = [
    table("mb-outbound-table", null, [t("admin.mbx.limit"), t("admin.mbx.own"), t("admin.mbx.effective")],
      LIMITS.map((name) => el("tr", {}, el("td", {}, t(LIMIT_KEYS[name])),
        el("td", {}, limitText(o.own[name])), el("td", {}, o.effective[name] === 0 ? t("admin.domains.unlimited") : i18n.number(o.effective[name] || 0))))),
    el("p", { id: "mb-outbound-counts" }, t("admin.mbx.outbound_counts", {
      hour: i18n.number(o.this_hour.messages), day: i18n.number(o.today.messages), recipients: i18n.number(o.today.recipients) })),
    el("p", { id: "mb-outbound-state" }, o.suspended
      ? t("admin.mbx.suspended", { at: i18n.dateTime(o.suspended_at), reason: o.suspended_reason || "" })
      : t("admin.mbx.not_suspended")),
  ];
  if (o.suspended) {
    if (isMailAdmin()) {
      const lift = el("button", { type: "button", id: "mb-outbound-lift" }, t("admin.mbx.lift"));
      lift.addEventListener("click", () => change(() => call("POST", `/v1/mailboxes/${a}/outbound/lift`, undefined, "mbx"), "admin.mbx.lifted"));
      content.push(lift);
    } else {
      content.push(el("p", { class: "hint", id: "mb-outbound-lift-note" }, t("admin.mbx.lift_mail_admin")));
    }
  } else {
    const form = el("form", { class: "card", id: "mb-suspend-form", novalidate: true },
      field({ id: "mb-suspend-reason", label: t("admin.mbx.reason"), required: false, maxlength: 255 }),
      el("div", {}, el("button", { type: "submit", id: "mb-suspend-submit" }, t("admin.mbx.suspend"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = byId("mb-suspend-reason").value.trim();
      change(() => call("POST", `/v1/mailboxes/${a}/outbound/suspend`, reason ? { reason } : {}, "mbx"), "admin.mbx.suspended_done",
        { reason: "mb-suspend-reason" });
    });
    content.push(form);
  }
  if (isMailAdmin()) {
    const form = el("form", { class: "card", id: "mb-outbound-form", novalidate: true },
      limitFields("mb-out", o.own, "admin.mbx.empty_default"),
      el("div", {}, el("button", { type: "submit", id: "mb-out-submit" }, t("admin.mbx.outbound_save"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = limitBody("mb-out");
      if (body) change(() => call("PUT", `/v1/mailboxes/${a}/outbound`, body, "mbx"), "admin.mbx.outbound_saved",
        Object.fromEntries(LIMITS.map((n) => [n, "mb-out-" + n])));
    });
    content.push(form);
  }
  return section("mb-outbound", t("admin.mbx.outbound_title"), content);
}

export function sendAsSection(ctx, m, grants, change) {
  const rows = grants.map((g) => {
    const revoke = el("button", { type: "button", class: "link", id: `sendas-revoke-${g.address}-${g.login}` }, t("admin.mbx.sendas_revoke"));
    revoke.addEventListener("click", () => change(
      () => call("DELETE", `/v1/send-as/${segment(g.address)}/${segment(g.login)}`, undefined, "mbx"), "admin.mbx.sendas_revoked"));
    return el("tr", {}, el("td", {}, g.address), el("td", {}, g.login), el("td", {}, revoke));
  });
  const form = el("form", { class: "card", id: "sendas-form", novalidate: true },
    field({ id: "sendas-address", label: t("admin.mbx.sendas_address"), hint: t("admin.mbx.sendas_hint"), maxlength: 320 }),
    el("div", {}, el("button", { type: "submit", id: "sendas-add" }, t("admin.mbx.sendas_grant"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const address = byId("sendas-address").value.trim();
    if (!address) return fieldError("sendas-address", t("admin.mbx.need_address"));
    change(() => call("PUT", `/v1/send-as/${segment(address)}/${segment(m.address)}`, undefined, "mbx"), "admin.mbx.sendas_granted",
      { address: "sendas-address" });
    return undefined;
  });
  return section("mb-sendas", t("admin.mbx.sendas_title"), el("p", { class: "hint" }, t("admin.mbx.sendas_explain")),
    rows.length === 0 ? el("p", { id: "sendas-none" }, t("admin.mbx.sendas_none")) :
      table("sendas", null, [t("admin.mbx.sendas_address"), t("admin.mbx.sendas_login"), ""], rows),
    form);
}

// The aliases and forwards of other addresses that deliver to this mailbox
// (sub.list with recipient=; incoming only).
export function aliasesSection(ctx, m, items, change) {
  const rows = items.map((s) => {
    const remove = el("button", { type: "button", class: "link", id: "alias-remove-" + s.address }, t("admin.subs.remove"));
    remove.addEventListener("click", () => change(
      () => call("DELETE", `/v1/subscriptions/incoming/${segment(s.address)}/${segment(m.address)}`, undefined, "mbx"),
      "admin.mbx.alias_removed"));
    return el("tr", {}, el("td", { class: "alias" }, s.address), el("td", {}, remove));
  });
  const form = el("form", { class: "card", id: "alias-form", novalidate: true },
    field({ id: "alias-address", label: t("admin.mbx.alias_address"), hint: t("admin.mbx.alias_hint"), maxlength: 320 }),
    el("div", {}, el("button", { type: "submit", id: "alias-add" }, t("admin.mbx.alias_add"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const address = byId("alias-address").value.trim();
    if (!address) return fieldError("alias-address", t("admin.mbx.need_address"));
    change(() => call("PUT", `/v1/subscriptions/incoming/${segment(address)}/${segment(m.address)}`, undefined, "mbx"),
      "admin.mbx.alias_added", { address: "alias-address" });
    return undefined;
  });
  return section("mb-aliases", t("admin.mbx.aliases_title"), el("p", { class: "hint" }, t("admin.mbx.aliases_explain")),
    rows.length === 0 ? el("p", { id: "aliases-none" }, t("admin.mbx.aliases_none")) :
      table("aliases", null, [t("admin.mbx.alias_address"), ""], rows),
    form);
}
