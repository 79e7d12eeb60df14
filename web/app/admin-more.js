// admin-more.js: the domains page, the change log with its filters, the
// administrators (the mail administrator's) and the API keys (one's own).
// Read-only listings with cursor paging (the cursors kept on a stack here,
// one request per page); each view shows the API's refusal when it says 403.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import { view, failed, refused, ownDomains, table, isMailAdmin } from "./admin-common.js";

const PAGE = 50;

// A paged listing under `holder`: fetch(cursor) answers a page, render(items)
// the table; previous/next buttons with ids prefix-prev / prefix-next.
// Only the newest request's answer is shown (a slower, older one, say the
// unfiltered page asked for when the view opened, is dropped).
let latest = 0;

function pager(holder, prefix, fetch, render, ctx, current, title) {
  const cursors = [null];
  const load = async () => {
    const mine = ++latest;
    let page;
    try {
      page = await fetch(cursors[cursors.length - 1]);
    } catch (e) {
      if (mine === latest) failed(e, ctx, current, title);
      return;
    }
    if (mine !== latest) return;
    const prev = el("button", { type: "button", id: prefix + "-prev", disabled: cursors.length <= 1 }, t("admin.paging.previous"));
    const next = el("button", { type: "button", id: prefix + "-next", disabled: !page.next_cursor }, t("admin.paging.next"));
    prev.addEventListener("click", () => { cursors.pop(); load(); });
    next.addEventListener("click", () => { cursors.push(page.next_cursor); load(); });
    replace(holder, render(page.items || []), el("div", { class: "paging" }, prev, " ",
      el("span", {}, t("admin.paging.page", { page: i18n.number(cursors.length) })), " ", next));
    status("");
  };
  return load;
}

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

export async function adminsView(params, ctx) {
  const title = t("admin.admins.title");
  const holder = el("div", { id: "admins-results" });
  view("admins", title, holder);
  const kinds = { mail: "admin.kind.mail_admin", domain: "admin.kind.domain_admin", group: "admin.kind.group_admin" };
  const render = (items) => table("admins-table", null, [t("admin.admins.name"), t("admin.admins.kind"), t("admin.admins.scope"),
    t("admin.col.state"), t("admin.admins.totp"), t("admin.admins.last_sign_in")],
  items.map((a) => el("tr", {}, el("td", {}, a.name), el("td", {}, t(kinds[a.kind] || "admin.kind.unknown")),
    el("td", {}, a.kind === "group" ? `${(a.domains || []).join(", ")} / ${a.department || ""}` : (a.domains || []).join(", ")),
    el("td", {}, t(a.active ? "admin.state.active" : "admin.state.disabled")),
    el("td", {}, t(a.totp ? "admin.yes" : "admin.no")),
    el("td", {}, a.last_sign_in ? i18n.dateTime(a.last_sign_in) : t("admin.mailboxes.never")))));
  await pager(holder, "admins", (cursor) =>
    call("GET", `/v1/admins?limit=${PAGE}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin"),
  render, ctx, "admins", title)();
}

export async function keysView(params, ctx) {
  const title = t("admin.keys.title");
  const holder = el("div", { id: "keys-results" });
  view("keys", title, el("p", { class: "hint" }, t("admin.keys.explain")), holder);
  const render = (items) => (items.length === 0 ? el("p", { id: "keys-none" }, t("admin.keys.none")) :
    table("keys-table", null, [t("admin.keys.label"), t("admin.keys.selector"), t("admin.keys.access"), t("admin.keys.domains"),
      t("admin.keys.expires"), t("admin.keys.last_used")],
    items.map((k) => el("tr", {}, el("td", {}, k.label || ""), el("td", {}, k.selector || ""),
      el("td", {}, t(k.read_only ? "admin.keys.read_only" : "admin.keys.read_write")),
      el("td", {}, (k.domains || []).join(", ") || t("admin.keys.all_domains")),
      el("td", {}, k.expired ? t("admin.keys.expired") : k.expires_at ? i18n.dateTime(new Date(k.expires_at * 1000).toISOString()) : t("admin.keys.never_expires")),
      el("td", {}, k.last_used ? i18n.dateTime(k.last_used) : t("admin.mailboxes.never"))))));
  await pager(holder, "keys", (cursor) =>
    call("GET", `/v1/api-keys?limit=${PAGE}${cursor ? "&cursor=" + segment(cursor) : ""}`, undefined, "admin"),
  render, ctx, "keys", title)();
}


// One domain: its facts, enable/disable (the mail administrator's), and its
// self-service settings (domain administrators): applications closed, by
// approval or open, and reset links by mail. A part the API refuses is
// left out.
export async function domainView(params, ctx) {
  const domain = params.domain;
  const d = segment(domain);
  const title = t("admin.domain.title", { domain });
  let info;
  let self = null;
  try {
    info = await call("GET", `/v1/domains/${d}`, undefined, "admin");
    try {
      self = await call("GET", `/v1/domains/${d}/self-service`, undefined, "admin");
    } catch (e) {
      if (!refused(e)) throw e;
    }
  } catch (e) {
    return failed(e, ctx, "domains", title);
  }
  const again = async (request, doneKey) => {
    try {
      await request();
      await domainView(params, ctx);
      status(t(doneKey), "info");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
      status(e.text ? e.text() : t("error.generic"), "error");
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
  view("domains", title, parts);
  return undefined;
}
