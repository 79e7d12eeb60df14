// admin-mailboxes.js: the mailbox list of one domain (GET
// /v1/domains/{d}/mailboxes): a search by address prefix, a sort (address,
// usage, last login; either direction), "near or over quota" and "suspended
// only" filters, and one page per request: the API's next_cursor goes on a
// stack kept here, so "previous" reopens the page before without counting
// anything, and at 100,000 mailboxes every page costs one bounded request.
// A group administrator's listing names its department (the API holds it
// to it in any case).
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import { view, failed, refused, ownDomains, departmentQuery, storageBar, table, mailboxLink, stateWord, isGroupAdmin, flashNext } from "./admin-common.js";

const PAGE = 50;
const SORTS = {
  address: "admin.mailboxes.sort.address",
  "-address": "admin.mailboxes.sort.desc_address",
  usage: "admin.mailboxes.sort.usage",
  "-usage": "admin.mailboxes.sort.desc_usage",
  last_login: "admin.mailboxes.sort.last_login",
  "-last_login": "admin.mailboxes.sort.desc_last_login",
};

// The list's state survives a visit to a mailbox and back (same domain).
let state = { domain: "", prefix: "", sort: "address", near: false, suspended: false, cursors: [null] };

function query() {
  let q = `?limit=${PAGE}&sort=${segment(state.sort)}`;
  if (state.prefix) q += `&prefix=${segment(state.prefix)}`;
  if (state.near) q += "&min_usage_percent=90";
  if (state.suspended) q += "&active=false";
  const cursor = state.cursors[state.cursors.length - 1];
  if (cursor) q += `&cursor=${segment(cursor)}`;
  return q + departmentQuery();
}

// #/admin/mailboxes: the first domain the administrator covers.
export async function mailboxesIndexView(params, ctx) {
  const own = ownDomains();
  if (own && own.length > 0) return ctx.go(`/admin/mailboxes/${segment(own[0])}`);
  try {
    const list = await call("GET", "/v1/domains?limit=1", undefined, "admin");
    const first = list.items && list.items[0];
    if (first) return ctx.go(`/admin/mailboxes/${segment(first.name)}`);
    view("mailboxes", t("admin.mailboxes.title"), el("p", { id: "no-domains" }, t("admin.domains.none")));
  } catch (e) {
    failed(e, ctx, "mailboxes", t("admin.mailboxes.title"));
  }
  return undefined;
}

function controls(ctx) {
  const search = el("input", { id: "mb-search", type: "search", maxlength: "320", value: state.prefix,
    autocomplete: "off", spellcheck: "false", "aria-describedby": "mb-search-hint" });
  const sort = el("select", { id: "mb-sort" }, Object.entries(SORTS).map(([s, key]) =>
    el("option", { value: s, selected: s === state.sort }, t(key))));
  const near = el("input", { id: "mb-near", type: "checkbox", checked: state.near });
  const suspended = el("input", { id: "mb-suspended", type: "checkbox", checked: state.suspended });
  const form = el("form", { id: "mb-controls", class: "controls", role: "search" },
    el("div", {}, el("label", { for: "mb-search" }, t("admin.mailboxes.search")),
      el("span", { class: "hint", id: "mb-search-hint" }, t("admin.mailboxes.search_hint")), search),
    el("div", {}, el("label", { for: "mb-sort" }, t("admin.mailboxes.sort")), sort),
    el("div", { class: "check" }, near, el("label", { for: "mb-near" }, t("admin.mailboxes.near"))),
    el("div", { class: "check" }, suspended, el("label", { for: "mb-suspended" }, t("admin.mailboxes.suspended_only"))),
    el("div", {}, el("button", { type: "submit", id: "mb-apply" }, t("admin.mailboxes.apply"))));
  const apply = () => {
    state.prefix = search.value.trim();
    state.sort = sort.value;
    state.near = near.checked;
    state.suspended = suspended.checked;
    state.cursors = [null];
    load(ctx);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  sort.addEventListener("change", apply);
  near.addEventListener("change", apply);
  suspended.addEventListener("change", apply);
  return form;
}

function rows(items) {
  return items.map((m) => el("tr", {},
    el("td", {}, mailboxLink(m.address)),
    el("td", { class: "name" }, m.name || ""),
    el("td", {}, m.department || ""),
    el("td", {}, stateWord(m.active)),
    el("td", { class: "usage-cell" }, storageBar("usage-" + m.address, m)),
    el("td", {}, m.last_login ? i18n.dateTime(m.last_login) : t("admin.mailboxes.never"))));
}

// Only the newest request's answer is shown (an older, slower one is dropped).
// keep: the view's first page leaves its message (say, "deleted") shown.
let latest = 0;

async function load(ctx, keep) {
  if (!byId("mb-results")) return;
  const mine = ++latest;
  let page;
  try {
    page = await call("GET", `/v1/domains/${segment(state.domain)}/mailboxes${query()}`, undefined, "admin");
  } catch (e) {
    if (mine === latest) failed(e, ctx, "mailboxes", t("admin.mailboxes.title_domain", { domain: state.domain }));
    return;
  }
  const results = byId("mb-results");
  if (mine !== latest || !results) return;
  const items = page.items || [];
  const prev = el("button", { type: "button", id: "mb-prev", disabled: state.cursors.length <= 1 }, t("admin.paging.previous"));
  const next = el("button", { type: "button", id: "mb-next", disabled: !page.next_cursor }, t("admin.paging.next"));
  prev.addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    load(ctx);
  });
  next.addEventListener("click", () => {
    if (!page.next_cursor) return;
    state.cursors.push(page.next_cursor);
    load(ctx);
  });
  replace(results,
    items.length === 0 ? el("p", { id: "mb-none" }, t("admin.mailboxes.none")) :
      table("mb-table", t("admin.mailboxes.caption", { page: i18n.number(state.cursors.length), n: i18n.number(items.length) }), [
        t("admin.col.address"), t("admin.col.name"), t("admin.col.department"), t("admin.col.state"),
        t("admin.col.storage"), t("admin.col.last_login")], rows(items)),
    el("div", { class: "paging" }, prev, " ",
      el("span", { id: "mb-page" }, t("admin.paging.page", { page: i18n.number(state.cursors.length) })), " ", next));
  if (!keep) status("");
}

// A new mailbox (domain administrators and the mail administrator): the
// same PUT as every client; an address that exists already is said so
// (PUT would leave it as it is).
function newMailboxForm(ctx, domain) {
  const form = el("form", { class: "card", id: "mb-new-form", novalidate: true },
    field({ id: "mb-new-local", label: t("admin.new.local", { domain }), hint: t("admin.new.local_hint", { domain }), maxlength: 64 }),
    field({ id: "mb-new-name", label: t("admin.col.name"), required: false, maxlength: 255 }),
    field({ id: "mb-new-department", label: t("admin.col.department"), required: false, maxlength: 255 }),
    field({ id: "mb-new-password", label: t("admin.new.password"), type: "password", autocomplete: "new-password", maxlength: 4096 }),
    el("div", {}, el("button", { type: "submit", id: "mb-new-submit" }, t("admin.new.submit"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const local = byId("mb-new-local").value.trim();
    const password = byId("mb-new-password").value;
    if (!local || local.includes("@")) return fieldError("mb-new-local", t("admin.new.need_local", { domain }));
    if (!password) return fieldError("mb-new-password", t("admin.mailbox.need_password"));
    const address = `${local}@${domain}`;
    const body = { password, name: byId("mb-new-name").value.trim(), department: byId("mb-new-department").value.trim() };
    try {
      try {
        await call("GET", `/v1/mailboxes/${segment(address)}`, undefined, "admin");
        return fieldError("mb-new-local", t("admin.new.exists", { address }));
      } catch (e) {
        if (!refused(e)) throw e;
      }
      await call("PUT", `/v1/mailboxes/${segment(address)}`, body, "admin");
      byId("mb-new-password").value = "";
      flashNext(t("admin.new.created", { address }));
      ctx.go(`/admin/mailbox/${segment(address)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
      const message = e.text ? e.text() : t("error.generic");
      status(message, "error");
      const map = { address: "mb-new-local", name: "mb-new-name", department: "mb-new-department", password: "mb-new-password" };
      fieldError(map[e.field] || "mb-new-local", message);
    }
    return undefined;
  });
  return el("details", { id: "mb-new" }, el("summary", { id: "mb-new-open" }, t("admin.new.title")), form);
}

export async function mailboxesView(params, ctx) {
  const domain = params.domain;
  if (state.domain !== domain) state = { domain, prefix: "", sort: "address", near: false, suspended: false, cursors: [null] };
  const own = ownDomains();
  const switcher = own && own.length > 1 ? el("p", { class: "domains" }, own.map((d) =>
    el("a", { href: "#/admin/mailboxes/" + segment(d), "aria-current": d === domain ? "page" : false }, d, " "))) : null;
  view("mailboxes", t("admin.mailboxes.title_domain", { domain }), switcher, controls(ctx),
    el("div", { id: "mb-results", "aria-live": "polite" }, el("p", {}, t("admin.loading"))),
    isGroupAdmin() ? null : newMailboxForm(ctx, domain));
  await load(ctx, true);
}
