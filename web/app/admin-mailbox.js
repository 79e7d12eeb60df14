// admin-mailbox.js: one mailbox as an administrator sees it: its facts and
// usage, enable/disable, a password reset, limits, aliases and forwards
// (subscriptions), app passwords, the last logins and the recovery lock;
// the aliases delivering to it, access, outbound limits, send-as and delete
// are in admin-mailbox-forms.js.
// Each section is read from the API separately; a section the API refuses
// this administrator (403) is left out, and an action it refuses says so
// and changes nothing. A mailbox outside the administrator's reach (another
// department, another domain) shows the refusal only: the API's 403 reads
// the same whether it exists or not.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import { view, failed, refused, usageBar, table, section, stateWord, isGroupAdmin, refusal } from "./admin-common.js";
import { deleteSection, accessSection, outboundSection, sendAsSection, aliasesSection } from "./admin-mailbox-forms.js";

const MIB = 1024 * 1024;
const SHOWN = 200;  // send-as grants and aliases read for one mailbox

// Runs a change; on success reloads the page, on failure says why (in the
// status region and, when the API names a field, on it).
async function change(ctx, address, request, doneKey, fieldMap) {
  try {
    await request();
    await mailboxView({ address }, ctx);
    status(t(doneKey), "info");
    return true;
  } catch (e) {
    refusal(e, ctx, fieldMap);
    return false;
  }
}

function facts(m) {
  return el("dl", { class: "facts" },
    el("dt", {}, t("admin.col.address")), el("dd", { id: "mb-address" }, m.address),
    el("dt", {}, t("admin.col.name")), el("dd", { id: "mb-name" }, m.name || ""),
    el("dt", {}, t("admin.col.department")), el("dd", { id: "mb-department" }, m.department || ""),
    el("dt", {}, t("admin.col.state")), el("dd", { id: "mb-state" }, stateWord(m.active) +
      (m.domain_active ? "" : " " + t("admin.mailbox.domain_disabled"))),
    el("dt", {}, t("admin.mailbox.created")), el("dd", {}, i18n.dateTime(m.created_at)),
    el("dt", {}, t("admin.mailbox.password_changed")), el("dd", {}, m.password_changed_at ? i18n.dateTime(m.password_changed_at) : ""));
}

function usage(m) {
  if (!m.usage) return section("mb-usage", t("admin.mailbox.usage"), el("p", {}, t("admin.usage.unknown")));
  return section("mb-usage", t("admin.mailbox.usage"),
    el("p", {}, t("admin.col.storage")),
    usageBar("mb-usage-bytes", Number(m.usage.bytes), Number(m.max_bytes), i18n.bytes, t("admin.col.storage")),
    el("p", {}, t("admin.mailbox.messages")),
    usageBar("mb-usage-messages", Number(m.usage.messages), Number(m.max_messages),
      (n) => t("unit.messages", { n: i18n.number(n) }), t("admin.mailbox.messages")));
}

function enableSection(ctx, m) {
  const button = el("button", { type: "button", id: "mb-toggle" },
    t(m.active ? "admin.mailbox.disable" : "admin.mailbox.enable"));
  button.addEventListener("click", () => change(ctx, m.address,
    () => call("PATCH", `/v1/mailboxes/${segment(m.address)}`, { active: !m.active }, "admin"),
    m.active ? "admin.mailbox.disabled" : "admin.mailbox.enabled"));
  return section("mb-enable", t("admin.mailbox.state_title"),
    el("p", {}, t(m.active ? "admin.mailbox.is_active" : "admin.mailbox.is_suspended")), button);
}

function passwordSection(ctx, m) {
  const form = el("form", { class: "card", id: "mb-password-form", novalidate: true },
    field({ id: "mb-password", label: t("admin.mailbox.new_password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    field({ id: "mb-password2", label: t("admin.mailbox.repeat_password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    el("div", {}, el("button", { type: "submit", id: "mb-password-submit" }, t("admin.mailbox.reset_password"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const password = byId("mb-password").value;
    if (!password) return fieldError("mb-password", t("admin.mailbox.need_password"));
    if (password !== byId("mb-password2").value) return fieldError("mb-password2", t("admin.mailbox.mismatch"));
    byId("mb-password").value = "";
    byId("mb-password2").value = "";
    return change(ctx, m.address,
      () => call("PUT", `/v1/mailboxes/${segment(m.address)}/password`, { password }, "admin"),
      "admin.mailbox.password_reset", { password: "mb-password" });
  });
  return section("mb-password-section", t("admin.mailbox.password_title"), form);
}

function limitsSection(ctx, m) {
  const form = el("form", { class: "card", id: "mb-limits-form", novalidate: true },
    field({ id: "mb-max-mib", label: t("admin.mailbox.max_mib"), hint: t("admin.mailbox.zero_unlimited"), maxlength: 12 }),
    field({ id: "mb-max-messages", label: t("admin.mailbox.max_messages"), hint: t("admin.mailbox.zero_unlimited"), maxlength: 12 }),
    el("div", {}, el("button", { type: "submit", id: "mb-limits-submit" }, t("admin.mailbox.save_limits"))));
  form.querySelector("#mb-max-mib").value = String(Math.round(Number(m.max_bytes) / MIB));
  form.querySelector("#mb-max-messages").value = String(m.max_messages);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const mib = byId("mb-max-mib").value.trim();
    const messages = byId("mb-max-messages").value.trim();
    if (!/^\d{1,9}$/.test(mib)) return fieldError("mb-max-mib", t("admin.mailbox.need_number"));
    if (!/^\d{1,9}$/.test(messages)) return fieldError("mb-max-messages", t("admin.mailbox.need_number"));
    return change(ctx, m.address,
      () => call("PUT", `/v1/mailboxes/${segment(m.address)}/quota`, { max_bytes: Number(mib) * MIB, max_messages: Number(messages) }, "admin"),
      "admin.mailbox.limits_saved", { max_bytes: "mb-max-mib", max_messages: "mb-max-messages" });
  });
  return section("mb-limits", t("admin.mailbox.limits_title"), form);
}

function subscriptionsSection(ctx, m, subs) {
  const kinds = { incoming: "admin.subs.incoming", outgoing: "admin.subs.outgoing" };
  const rows = subs.map((s) => {
    const remove = el("button", { type: "button", class: "link" }, t("admin.subs.remove"));
    remove.addEventListener("click", () => change(ctx, m.address,
      () => call("DELETE", `/v1/subscriptions/${s.direction}/${segment(s.address)}/${segment(s.recipient)}`, undefined, "admin"),
      "admin.subs.removed"));
    return el("tr", {}, el("td", {}, t(kinds[s.direction] || s.direction)), el("td", { class: "recipient" }, s.recipient), el("td", {}, remove));
  });
  const direction = el("select", { id: "sub-direction" },
    el("option", { value: "incoming" }, t("admin.subs.incoming")),
    el("option", { value: "outgoing" }, t("admin.subs.outgoing")));
  const form = el("form", { class: "card", id: "sub-form", novalidate: true },
    el("div", {}, el("label", { for: "sub-direction" }, t("admin.subs.kind")), direction),
    field({ id: "sub-recipient", label: t("admin.subs.recipient"), type: "email" }),
    el("div", {}, el("button", { type: "submit", id: "sub-add" }, t("admin.subs.add"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const recipient = byId("sub-recipient").value.trim();
    if (!recipient) return fieldError("sub-recipient", t("admin.subs.need_recipient"));
    return change(ctx, m.address,
      () => call("PUT", `/v1/subscriptions/${direction.value}/${segment(m.address)}/${segment(recipient)}`, undefined, "admin"),
      "admin.subs.added", { recipient: "sub-recipient" });
  });
  return section("mb-subs", t("admin.subs.title"), el("p", { class: "hint" }, t("admin.subs.explain")),
    subs.length === 0 ? el("p", { id: "subs-none" }, t("admin.subs.none")) :
      table("subs", null, [t("admin.subs.kind"), t("admin.subs.recipient"), ""], rows),
    form);
}

function appPasswordsSection(ctx, m, items) {
  const rows = items.map((a) => {
    const revoke = el("button", { type: "button", class: "link", id: "apppw-revoke-" + a.id }, t("admin.apppw.revoke"));
    revoke.addEventListener("click", () => change(ctx, m.address,
      () => call("DELETE", `/v1/mailboxes/${segment(m.address)}/app-passwords/${segment(String(a.id))}`, undefined, "admin"),
      "admin.apppw.revoked"));
    return el("tr", {},
      el("td", { class: "label" }, a.label || ""),
      el("td", {}, a.protocols || ""),
      el("td", {}, a.created ? i18n.dateTime(a.created) : ""),
      el("td", {}, a.last_used ? i18n.dateTime(a.last_used) : t("admin.mailboxes.never")),
      el("td", {}, revoke));
  });
  const form = el("form", { class: "card", id: "apppw-form", novalidate: true },
    field({ id: "apppw-label", label: t("admin.apppw.label"), maxlength: 255 }),
    el("div", {}, el("button", { type: "submit", id: "apppw-add" }, t("admin.apppw.add"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const label = byId("apppw-label").value.trim();
    if (!label) return fieldError("apppw-label", t("admin.apppw.need_label"));
    try {
      const made = await call("POST", `/v1/mailboxes/${segment(m.address)}/app-passwords`, { label }, "admin");
      await mailboxView({ address: m.address }, ctx);
      // Shown once: the API keeps only its hash.
      const shown = byId("apppw-new");
      if (shown) replace(shown, t("admin.apppw.made"), " ", el("code", { id: "apppw-secret" }, made.password));
      status(t("admin.apppw.added"), "info");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
      status(e.text ? e.text() : t("error.generic"), "error");
    }
    return undefined;
  });
  return section("mb-apppw", t("admin.apppw.title"),
    items.length === 0 ? el("p", {}, t("admin.apppw.none")) :
      table("apppw", null, [t("admin.apppw.label"), t("admin.apppw.protocols"), t("admin.apppw.created"), t("admin.apppw.last_used"), ""], rows),
    el("p", { id: "apppw-new", role: "status" }), form);
}

function loginsSection(items) {
  return section("mb-logins", t("admin.logins.title"),
    items.length === 0 ? el("p", { id: "mb-logins-none" }, t("admin.logins.none")) :
      table("mb-logins-table", null, [t("me.logins.time"), t("me.logins.protocol"), t("me.logins.ip"), t("me.logins.password")],
        items.map((l) => el("tr", {},
          el("td", {}, i18n.dateTime(l.time)), el("td", {}, l.protocol), el("td", {}, l.ip),
          el("td", {}, l.app_password_id ? (l.app_password_label || t("me.logins.app_password")) : t("me.logins.main_password"))))));
}

function recoverySection(ctx, m, r) {
  const content = [el("p", {}, r.question ? t("admin.recovery.has_question") : t("admin.recovery.no_question"))];
  if (r.locked_until) {
    const lift = el("button", { type: "button", id: "recovery-unlock" }, t("admin.recovery.unlock"));
    lift.addEventListener("click", () => change(ctx, m.address,
      () => call("POST", `/v1/mailboxes/${segment(m.address)}/recovery/unlock`, undefined, "admin"),
      "admin.recovery.unlocked"));
    content.push(el("p", { id: "recovery-locked" }, t("admin.recovery.locked", { until: i18n.dateTime(r.locked_until) })), lift);
  } else {
    content.push(el("p", { id: "recovery-open" }, t("admin.recovery.not_locked")));
  }
  return section("mb-recovery", t("admin.recovery.title"), content);
}

// Reads a section's data; null when the API refuses it (the section goes).
async function optional(promise) {
  try {
    return await promise;
  } catch (e) {
    if (refused(e)) return null;
    throw e;
  }
}

// Only the newest opening renders (one opened meanwhile wins over a slower,
// older one).
let latest = 0;

export async function mailboxView(params, ctx) {
  const mine = ++latest;
  const address = params.address;
  const a = segment(address);
  const title = t("admin.mailbox.title", { address });
  let m;
  let rest;
  try {
    m = await call("GET", `/v1/mailboxes/${a}`, undefined, "admin");
    const group = isGroupAdmin();
    rest = await Promise.all([
      optional(call("GET", `/v1/mailboxes/${a}/logins?limit=20`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/subscriptions?address=${a}`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/mailboxes/${a}/app-passwords`, undefined, "admin")),
      optional(call("GET", `/v1/mailboxes/${a}/recovery`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/mailboxes/${a}/access`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/mailboxes/${a}/outbound`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/send-as?who=${a}&limit=${SHOWN}`, undefined, "admin")),
      group ? null : optional(call("GET", `/v1/subscriptions?recipient=${a}&limit=${SHOWN}`, undefined, "admin")),
    ]);
  } catch (e) {
    return mine === latest ? failed(e, ctx, "mailboxes", title) : undefined;
  }
  if (mine !== latest) return undefined;
  const [logins, subs, apppw, recovery, access, outbound, sendAs, aliases] = rest;
  const again = (request, doneKey, fieldMap) => change(ctx, m.address, request, doneKey, fieldMap);
  view("mailboxes", title,
    el("p", {}, el("a", { href: "#/admin/mailboxes/" + segment(m.domain), id: "back-to-list" }, t("admin.mailbox.back", { domain: m.domain }))),
    facts(m),
    usage(m),
    enableSection(ctx, m),
    passwordSection(ctx, m),
    isGroupAdmin() ? null : limitsSection(ctx, m),
    subs ? subscriptionsSection(ctx, m, subs.items || []) : null,
    apppw ? appPasswordsSection(ctx, m, apppw.items || []) : null,
    logins ? loginsSection(logins.items || []) : null,
    recovery ? recoverySection(ctx, m, recovery) : null,
    aliases ? aliasesSection(ctx, m, (aliases.items || []).filter((x) => x.direction === "incoming"), again) : null,
    access ? accessSection(ctx, m, access, again) : null,
    outbound ? outboundSection(ctx, m, outbound, again) : null,
    sendAs ? sendAsSection(ctx, m, (sendAs.items || []).filter((g) => g.login === m.address), again) : null,
    isGroupAdmin() ? null : deleteSection(ctx, m));
  return undefined;
}
