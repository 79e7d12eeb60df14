// admin-more.js: the domains page, a domain's page and the change log with
// its filters: listings with cursor paging (admin-common.js's pager, one
// request per page); each view shows the API's refusal when it says 403.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import { view, failed, refused, ownDomains, table, isMailAdmin, flashNext, pager, refusal } from "./admin-common.js";
import { limitFields, limitBody, LIMITS, LIMIT_KEYS } from "./admin-mailbox-forms.js";

const PAGE = 50;

// A new domain (the mail administrator's): POST /v1/domains.
function newDomainForm(ctx) {
  const form = el("form", { class: "card", id: "domain-new-form", novalidate: true },
    field({ id: "domain-new", label: t("admin.domains.new"), hint: t("admin.domains.new_hint"), maxlength: 253 }),
    el("div", {}, el("button", { type: "submit", id: "domain-new-submit" }, t("admin.domains.add"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const domain = byId("domain-new").value.trim();
    if (!domain) return fieldError("domain-new", t("admin.domains.need_name"));
    try {
      await call("POST", "/v1/domains", { domain }, "admin");
      await domainsView({}, ctx);
      status(t("admin.domains.added", { domain }), "info");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
      const message = e.text ? e.text() : t("error.generic");
      status(message, "error");
      fieldError("domain-new", message);
    }
    return undefined;
  });
  return el("section", { "aria-labelledby": "domain-new-title" }, el("h2", { id: "domain-new-title" }, t("admin.domains.add_title")), form);
}

export async function domainsView(params, ctx) {
  const title = t("admin.domains.title");
  const holder = el("div", { id: "domains-results" });
  view("domains", title, holder, isMailAdmin() ? newDomainForm(ctx) : null);
  const render = (items) => (items.length === 0 ? el("p", {}, t("admin.domains.none")) :
    table("domains-table", null, [t("admin.col.domain"), t("admin.col.mailboxes"), t("admin.col.state"),
      t("admin.domains.default_bytes"), t("admin.domains.created")],
    items.map((d) => el("tr", {},
      el("td", {}, el("a", { href: "#/admin/domain/" + segment(d.name) }, d.name)),
      el("td", {}, d.mailboxes === undefined || d.mailboxes === null ? "" : i18n.number(d.mailboxes)),
      el("td", {}, t(d.active ? "admin.state.active" : "admin.state.suspended")),
      el("td", {}, d.default_max_bytes ? i18n.bytes(d.default_max_bytes) : t("admin.domains.unlimited")),
      el("td", {}, d.created_at ? i18n.dateTime(d.created_at) : "")))));
  const own = ownDomains();
  const fetch = own === null
    ? (cursor) => call("GET", `/v1/domains?limit=${PAGE}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin")
    : async () => {
      const items = [];
      for (const d of own) {
        try {
          items.push(await call("GET", `/v1/domains/${segment(d)}`, undefined, "admin"));
        } catch (e) {
          if (!refused(e)) throw e;
          items.push({ name: d, active: true });
        }
      }
      return { items, next_cursor: null };
    };
  await pager(holder, "domains", fetch, render, ctx, "domains", title)();
}

export async function logView(params, ctx) {
  const title = t("admin.log.title");
  const filters = [["log-object", "object", "admin.log.object"], ["log-actor", "actor", "admin.log.actor"],
    ["log-action", "action", "admin.log.action"], ["log-since", "since", "admin.log.since"]];
  const inputs = filters.map(([id, , key]) => el("div", {}, el("label", { for: id }, t(key)),
    el("input", { id, type: "text", maxlength: "320", autocomplete: "off", spellcheck: "false" })));
  const form = el("form", { id: "log-filters", class: "controls", role: "search" }, inputs,
    el("div", {}, el("button", { type: "submit", id: "log-apply" }, t("admin.log.apply"))));
  const holder = el("div", { id: "log-results", "aria-live": "polite" });
  view("log", title, el("p", { class: "hint" }, t("admin.log.since_hint")), form, holder);
  const query = () => filters.map(([id, name]) => {
    const v = byId(id) ? byId(id).value.trim() : "";
    return v ? `&${name}=${segment(v)}` : "";
  }).join("");
  const render = (items) => (items.length === 0 ? el("p", { id: "log-none" }, t("admin.log.none")) :
    table("log-table", null, [t("admin.log.at"), t("admin.log.actor"), t("admin.log.origin"), t("admin.log.action"),
      t("admin.log.object"), t("admin.log.detail")],
    items.map((e) => el("tr", {}, el("td", {}, i18n.dateTime(e.at)), el("td", {}, e.actor), el("td", {}, e.origin || ""),
      el("td", {}, e.action), el("td", {}, e.object), el("td", { class: "detail" }, e.detail || "")))));
  const start = () => pager(holder, "log", (cursor) =>
    call("GET", `/v1/log?limit=${PAGE}${query()}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin"),
  render, ctx, "log", title)();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start();
  });
  await start();
}

// One domain: its facts, enable/disable (the mail administrator's), its
// self-service settings (domain administrators): applications closed, by
// approval or open, and reset links by mail; its outbound defaults (shown
// to its administrators, set by the mail administrator) and delete (the
// mail administrator's). A part the API refuses is left out.
export async function domainView(params, ctx) {
  const domain = params.domain;
  const d = segment(domain);
  const title = t("admin.domain.title", { domain });
  let info;
  let self = null;
  let outbound = null;
  const optional = async (path) => {
    try {
      return await call("GET", path, undefined, "admin");
    } catch (e) {
      if (!refused(e)) throw e;
      return null;
    }
  };
  try {
    info = await call("GET", `/v1/domains/${d}`, undefined, "admin");
    self = await optional(`/v1/domains/${d}/self-service`);
    outbound = await optional(`/v1/domains/${d}/outbound`);
  } catch (e) {
    return failed(e, ctx, "domains", title);
  }
  const again = async (request, doneKey, fieldMap) => {
    try {
      await request();
      await domainView(params, ctx);
      status(t(doneKey), "info");
    } catch (e) {
      refusal(e, ctx, fieldMap);
    }
    return undefined;
  };
  const parts = [
    el("dl", { class: "facts" },
      el("dt", {}, t("admin.col.mailboxes")), el("dd", { id: "domain-mailboxes" }, i18n.number(info.mailboxes || 0)),
      el("dt", {}, t("admin.col.state")), el("dd", { id: "domain-state" }, t(info.active ? "admin.state.active" : "admin.state.suspended")),
      el("dt", {}, t("admin.domains.default_bytes")),
      el("dd", {}, info.default_max_bytes ? i18n.bytes(info.default_max_bytes) : t("admin.domains.unlimited"))),
    el("p", {}, el("a", { href: "#/admin/mailboxes/" + d }, t("admin.domain.mailboxes"))),
  ];
  if (isMailAdmin()) {
    const toggle = el("button", { type: "button", id: "domain-toggle" }, t(info.active ? "admin.domain.disable" : "admin.domain.enable"));
    toggle.addEventListener("click", () => again(
      () => call("POST", `/v1/domains/${d}/${info.active ? "disable" : "enable"}`, undefined, "admin"),
      info.active ? "admin.domain.disabled" : "admin.domain.enabled"));
    parts.push(toggle);
  }
  if (self) {
    const modes = el("select", { id: "domain-applications" }, ["closed", "approval", "open"].map((m) =>
      el("option", { value: m, selected: self.applications === m }, t({
        closed: "admin.domain.apps.closed", approval: "admin.domain.apps.approval", open: "admin.domain.apps.open" }[m]))));
    const links = el("input", { id: "domain-recovery-mail", type: "checkbox", checked: !!self.recovery_mail });
    const form = el("form", { class: "card", id: "domain-self-form" },
      el("div", {}, el("label", { for: "domain-applications" }, t("admin.domain.apps")), modes),
      el("div", { class: "check" }, links, el("label", { for: "domain-recovery-mail" }, t("admin.domain.recovery_mail"))),
      el("div", {}, el("button", { type: "submit", id: "domain-self-submit" }, t("admin.domain.save"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      again(() => call("PUT", `/v1/domains/${d}/self-service`, { applications: modes.value, recovery_mail: links.checked }, "admin"),
        "admin.domain.saved");
    });
    parts.push(el("section", { "aria-labelledby": "domain-self-title" },
      el("h2", { id: "domain-self-title" }, t("admin.domain.self_service")), form));
  }
  if (outbound) parts.push(domainOutbound(d, outbound.defaults || {}, again));
  if (isMailAdmin()) parts.push(domainDelete(ctx, domain));
  view("domains", title, parts);
  return undefined;
}

// The domain's outbound defaults: shown to its administrators, set by the
// mail administrator (outbound.set_defaults).
function domainOutbound(d, defaults, again) {
  const shown = (v) => (v === null || v === undefined ? t("admin.dom.no_default") : v === 0 ? t("admin.domains.unlimited") : i18n.number(v));
  const content = [table("domain-outbound-table", null, [t("admin.mbx.limit"), t("admin.dom.default")],
    LIMITS.map((name) => el("tr", {}, el("td", {}, t(LIMIT_KEYS[name])), el("td", {}, shown(defaults[name])))))];
  if (isMailAdmin()) {
    const form = el("form", { class: "card", id: "domain-outbound-form", novalidate: true },
      limitFields("dom-out", defaults, "admin.dom.empty_none"),
      el("div", {}, el("button", { type: "submit", id: "dom-out-submit" }, t("admin.mbx.outbound_save"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = limitBody("dom-out");
      if (body) again(() => call("PUT", `/v1/domains/${d}/outbound`, body, "dom"), "admin.dom.outbound_saved",
        Object.fromEntries(LIMITS.map((n) => [n, "dom-out-" + n])));
    });
    content.push(form);
  }
  return el("section", { id: "domain-outbound", "aria-labelledby": "domain-outbound-title" },
    el("h2", { id: "domain-outbound-title" }, t("admin.dom.outbound_title")), content);
}

// Delete (the mail administrator's), confirmed by typing the domain; the
// API refuses while mailboxes remain (409), and the page says so.
function domainDelete(ctx, domain) {
  const form = el("form", { class: "card", id: "domain-del-form", novalidate: true },
    el("p", {}, t("admin.dom.delete_explain")),
    field({ id: "domain-del-confirm", label: t("admin.dom.delete_type", { domain }), maxlength: 253 }),
    el("div", {}, el("button", { type: "submit", id: "domain-del-submit", class: "danger" }, t("admin.dom.delete"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (byId("domain-del-confirm").value.trim().toLowerCase() !== domain.toLowerCase())
      return fieldError("domain-del-confirm", t("admin.forms.confirm_mismatch"));
    try {
      await call("DELETE", `/v1/domains/${segment(domain)}`, undefined, "dom");
      flashNext(t("admin.dom.deleted", { domain }));
      ctx.go("/admin/domains");
    } catch (e) {
      refusal(e, ctx, { domain: "domain-del-confirm" });
      if (e instanceof ApiError && e.status === 409) fieldError("domain-del-confirm", e.text());
    }
    return undefined;
  });
  return el("section", { id: "domain-del", "aria-labelledby": "domain-del-title" },
    el("h2", { id: "domain-del-title" }, t("admin.dom.delete_title")), form);
}
