// admin-common.js: what the administration views share: the navigation,
// the refusal shown when the API says 403 (the pages never decide who may
// see what: they ask, and show the API's answer), usage bars (a <meter> with
// its figures and state in words: readable without colour), tables, and
// small action buttons, the paged listings (pager: the cursors kept on a
// stack, one request per page) and how a refused change is said (refusal).
// Every text goes in as text (dom.js).
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { status, heading, focusHeading, fieldError } from "./form.js";
import { ApiError, segment } from "./api.js";
import * as session from "./session.js";

// The domains the signed-in administrator covers, as the principal says
// (null for the mail administrator: every domain, listed by the API).
export function ownDomains() {
  const p = session.who();
  if (p.kind === "domain_admin") return p.domains || [];
  if (p.kind === "group_admin") return [p.domain];
  return null;
}

export function isGroupAdmin() {
  return session.who().kind === "group_admin";
}

export function isMailAdmin() {
  return session.who().kind === "mail_admin";
}

// A group administrator's listings name its department (the API keeps it
// to it in any case).
export function departmentQuery() {
  const p = session.who();
  return p.kind === "group_admin" && p.department ? `&department=${segment(p.department)}` : "";
}

export function nav(current) {
  const links = [
    ["dashboard", "#/admin", "admin.nav.dashboard"],
    ["mailboxes", "#/admin/mailboxes", "admin.nav.mailboxes"],
    ["domains", "#/admin/domains", "admin.nav.domains"],
  ];
  if (!isGroupAdmin()) links.push(["applications", "#/admin/applications", "admin.nav.applications"]);
  links.push(["log", "#/admin/log", "admin.nav.log"]);
  if (isMailAdmin()) links.push(["admins", "#/admin/admins", "admin.nav.admins"]);
  links.push(["keys", "#/admin/keys", "admin.nav.keys"]);
  links.push(["account", "#/admin/account/" + segment(session.who().name), "admin.nav.account"]);
  return el("nav", { class: "admin-nav", "aria-label": t("admin.nav.label") },
    el("ul", {}, links.map(([id, href, key]) => el("li", {},
      el("a", { href, id: "nav-" + id, "aria-current": id === current ? "page" : false }, t(key))))));
}

// A message for the next view to show (say, "created" before going to the
// new mailbox's page); any other view opening clears the last message.
let flash = null;

export function flashNext(message) {
  flash = message;
}

// Opens a view: navigation, heading (focused), then the content.
export function view(current, title, ...content) {
  status(flash || "", "info");
  flash = null;
  replace(byId("main"), nav(current), heading(title), ...content.flat(Infinity));
  focusHeading();
}

// The view's answer to a failed request: 401 ends the session; 403 and 404
// show a refusal in place of the data (the API never says whether a refused
// object exists); anything else a message.
export function failed(e, ctx, current, title) {
  if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
  if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
    view(current, title, el("p", { id: "refused", class: "refused", role: "alert" }, t("admin.refused")));
    status("");
    return undefined;
  }
  status(e && e.text ? e.text() : t("error.generic"), "error");
  return undefined;
}

// True when a section's request was refused (the section is then left out).
export function refused(e) {
  return e instanceof ApiError && (e.status === 403 || e.status === 404);
}

// A usage bar: <meter> plus "used of limit (percent%)" and the state in words.
export function usageBar(id, used, limit, format, label) {
  const box = el("div", { class: "usage", id });
  let words;
  if (limit > 0) {
    const percent = Math.round((used / limit) * 100);
    box.append(el("meter", {
      min: "0", max: String(limit), value: String(Math.min(used, limit)),
      low: String(limit * 0.8), high: String(limit * 0.9), optimum: "0",
      "aria-label": label || t("admin.col.storage"), "aria-describedby": id + "-text", title: t("admin.usage.percent", { percent: i18n.number(percent) }),
    }));
    const state = used >= limit ? "admin.usage.over" : used >= limit * 0.9 ? "admin.usage.near" : "admin.usage.ok";
    words = t("admin.usage.of", { used: format(used), limit: format(limit), percent: i18n.number(percent) }) +
      " " + t(state);
  } else {
    words = t("admin.usage.unlimited", { used: format(used) });
  }
  box.append(el("span", { class: "figures", id: id + "-text" }, words));
  return box;
}

// A mailbox's storage bar, or words when the usage is unknown.
export function storageBar(id, m) {
  if (!m.usage) return el("span", { id: id + "-text", class: "figures" }, t("admin.usage.unknown"));
  return usageBar(id, Number(m.usage.bytes), Number(m.max_bytes), i18n.bytes);
}

export function table(id, caption, headers, rows) {
  return el("table", { id },
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows));
}

export function mailboxLink(address) {
  return el("a", { href: "#/admin/mailbox/" + segment(address), class: "mailbox-link" }, address);
}

export function stateWord(active) {
  return t(active ? "admin.state.active" : "admin.state.suspended");
}

// A section with its heading: <section aria-labelledby>.
export function section(id, title, ...content) {
  return el("section", { id, "aria-labelledby": id + "-title" }, el("h2", { id: id + "-title" }, title), ...content.flat(Infinity));
}

// The message for a failed change, on its field when the API names one.
export function refusal(e, ctx, fields) {
  if (e instanceof ApiError && e.status === 401) {
    ctx.onEnded();
    return;
  }
  const message = e instanceof ApiError && e.status === 403 && !e.field ? t("admin.forms.forbidden") :
    (e.text ? e.text() : t("error.generic"));
  status(message, "error");
  if (fields && e.field && fields[e.field]) fieldError(fields[e.field], message);
}

// "a.test, b.test" -> ["a.test", "b.test"].
export function list(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

// A paged listing under `holder`: fetch(cursor) answers a page, render(items)
// the table; previous/next buttons with ids prefix-prev / prefix-next.
// Only the newest request's answer is shown (a slower, older one, say the
// unfiltered page asked for when the view opened, is dropped).
let latest = 0;

export function pager(holder, prefix, fetch, render, ctx, current, title) {
  const cursors = [null];
  let first = true;  // the view's own message (say, "deleted") stays until a page is turned
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
    if (!first) status("");
    first = false;
  };
  return load;
}
