// admin.js: the administrators' pages: their routes, and the dashboard
// (who is signed in and what the principal covers; its domains with their
// mailbox counts; mailboxes near or over quota; dormant and suspended
// mailboxes). Every figure is the API's answer to this administrator; a
// part the API refuses (403) is left out. The other views are in
// admin-mailboxes.js, admin-mailbox.js, admin-applications.js,
// admin-more.js and admin-accounts.js.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { status } from "./form.js";
import { call, segment } from "./api.js";
import * as session from "./session.js";
import { view, failed, refused, ownDomains, departmentQuery, storageBar, table, mailboxLink, section } from "./admin-common.js";
import { mailboxesIndexView, mailboxesView } from "./admin-mailboxes.js";
import { mailboxView } from "./admin-mailbox.js";
import { domainsView, domainView, logView } from "./admin-more.js";
import { adminsView, accountView, keysView } from "./admin-accounts.js";
import { applicationsIndexView, applicationsView } from "./admin-applications.js";

const KINDS = {
  mail_admin: "admin.kind.mail_admin",
  domain_admin: "admin.kind.domain_admin",
  group_admin: "admin.kind.group_admin",
};
const ADMINS = ["mail_admin", "domain_admin", "group_admin"];
const SHOWN = 10;       // mailboxes per dashboard list
const MAX_DOMAINS = 20; // domains the dashboard looks into (the domains page lists all)
const DORMANT_DAYS = 90;

// The administrator's domains with their counts: the API's listing for the
// mail administrator, each own domain's record for the others.
async function domains() {
  const own = ownDomains();
  if (own === null) {
    const page = await call("GET", `/v1/domains?limit=${MAX_DOMAINS}`, undefined, "admin");
    return page.items || [];
  }
  const found = [];
  for (const d of own.slice(0, MAX_DOMAINS)) {
    try {
      found.push(await call("GET", `/v1/domains/${segment(d)}`, undefined, "admin"));
    } catch (e) {
      if (!refused(e)) throw e;
      found.push({ name: d, mailboxes: null, active: true });  // a group administrator may not read it
    }
  }
  return found;
}

async function listOf(domainList, query) {
  const all = [];
  for (const d of domainList) {
    try {
      const page = await call("GET", `/v1/domains/${segment(d.name)}/${query}`, undefined, "admin");
      all.push(...(page.items || []));
    } catch (e) {
      if (refused(e)) return null;
      throw e;
    }
    if (all.length >= SHOWN) break;
  }
  return all.slice(0, SHOWN);
}

function mailboxTable(id, items) {
  if (items.length === 0) return el("p", { id: id + "-none" }, t("admin.dashboard.none"));
  return table(id, null, [t("admin.col.address"), t("admin.col.name"), t("admin.col.storage")],
    items.map((m) => el("tr", {}, el("td", {}, mailboxLink(m.address)), el("td", {}, m.name || ""),
      el("td", { class: "usage-cell" }, storageBar(id + "-" + m.address, m)))));
}

export async function adminView(params, ctx) {
  const p = session.who();
  const who = [el("p", { id: "admin-who" }, t("admin.signed_in", { name: p.name, kind: t(KINDS[p.kind] || "admin.kind.unknown") }))];
  if (p.kind === "domain_admin") who.push(el("p", { id: "admin-scope" }, t("admin.domains", { domains: (p.domains || []).join(", ") })));
  if (p.kind === "group_admin") who.push(el("p", { id: "admin-scope" }, t("admin.group", { domain: p.domain, department: p.department })));
  view("dashboard", t("admin.title"), who, el("div", { id: "dashboard" }, el("p", {}, t("admin.loading"))));
  let list;
  let near;
  let dormant;
  let suspended;
  try {
    list = await domains();
    const dept = departmentQuery();
    // The three lists at once: the daemon answers them side by side.
    [near, suspended, dormant] = await Promise.all([
      listOf(list, `mailboxes?min_usage_percent=90&sort=-usage&limit=${SHOWN}${dept}`),
      listOf(list, `mailboxes?active=false&limit=${SHOWN}${dept}`),
      p.kind === "group_admin" ? null : listOf(list, `inactive-mailboxes?days=${DORMANT_DAYS}&limit=${SHOWN}`),
    ]);
  } catch (e) {
    return failed(e, ctx, "dashboard", t("admin.title"));
  }
  const box = byId("dashboard");
  if (!box) return undefined;  // the user went elsewhere meanwhile
  replace(box,
    section("dash-domains", t("admin.dashboard.domains"),
      list.length === 0 ? el("p", {}, t("admin.domains.none")) :
        table("dash-domains-table", null, [t("admin.col.domain"), t("admin.col.mailboxes"), t("admin.col.state")],
          list.map((d) => el("tr", {},
            el("td", {}, el("a", { href: "#/admin/mailboxes/" + segment(d.name) }, d.name)),
            el("td", {}, d.mailboxes === null || d.mailboxes === undefined ? "" : i18n.number(d.mailboxes)),
            el("td", {}, t(d.active ? "admin.state.active" : "admin.state.suspended")))))),
    near ? section("dash-near", t("admin.dashboard.near"), mailboxTable("dash-near-table", near)) : null,
    dormant ? section("dash-dormant", t("admin.dashboard.dormant", { days: i18n.number(DORMANT_DAYS) }),
      dormant.length === 0 ? el("p", {}, t("admin.dashboard.none")) :
        table("dash-dormant-table", null, [t("admin.col.address"), t("admin.col.last_login")],
          dormant.map((m) => el("tr", {}, el("td", {}, mailboxLink(m.address)),
            el("td", {}, m.last_login ? i18n.dateTime(m.last_login) : t("admin.mailboxes.never")))))) : null,
    suspended ? section("dash-suspended", t("admin.dashboard.suspended"), mailboxTable("dash-suspended-table", suspended)) : null);
  status("");
  return undefined;
}

// Called by main.js: the administrators' routes, each guarded to the
// administrators' kinds (guarded() sends anyone else home).
export function registerAdminRoutes(route, guarded, go) {
  const withGo = (v) => guarded(ADMINS, (params, ctx) => v(params, Object.assign({ go }, ctx)));
  route("/admin", withGo(adminView));
  route("/admin/mailboxes", withGo(mailboxesIndexView));
  route("/admin/mailboxes/:domain", withGo(mailboxesView));
  route("/admin/mailbox/:address", withGo(mailboxView));
  route("/admin/domains", withGo(domainsView));
  route("/admin/domain/:domain", withGo(domainView));
  route("/admin/applications", withGo(applicationsIndexView));
  route("/admin/applications/:domain", withGo(applicationsView));
  route("/admin/log", withGo(logView));
  route("/admin/admins", withGo(adminsView));
  route("/admin/account/:name", withGo(accountView));
  route("/admin/keys", withGo(keysView));
}
