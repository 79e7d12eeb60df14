// admin-applications.js: the applications for mailboxes of one domain
// (GET /v1/domains/{d}/applications, domain administrators and the mail
// administrator): what each applicant entered, the client address and the
// step reached; a submitted one is approved (the API creates the mailbox,
// with the password the applicant chose) or rejected. The API moves a step
// only forwards; a page that shows an old state gets its 409 as a message.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { status } from "./form.js";
import { call, segment, ApiError } from "./api.js";
import { view, failed, ownDomains, table, mailboxLink } from "./admin-common.js";

const STATES = {
  submitted: "admin.apps.state.submitted",
  approved: "admin.apps.state.approved",
  created: "admin.apps.state.created",
  rejected: "admin.apps.state.rejected",
};
let latest = 0;

export async function applicationsIndexView(params, ctx) {
  const own = ownDomains();
  if (own && own.length > 0) return ctx.go(`/admin/applications/${segment(own[0])}`);
  try {
    const list = await call("GET", "/v1/domains?limit=1", undefined, "admin");
    const first = list.items && list.items[0];
    if (first) return ctx.go(`/admin/applications/${segment(first.name)}`);
    view("applications", t("admin.apps.title"), el("p", {}, t("admin.domains.none")));
  } catch (e) {
    failed(e, ctx, "applications", t("admin.apps.title"));
  }
  return undefined;
}

export async function applicationsView(params, ctx) {
  const domain = params.domain;
  const title = t("admin.apps.title_domain", { domain });
  const filter = el("select", { id: "apps-state" },
    el("option", { value: "submitted" }, t("admin.apps.state.submitted")),
    el("option", { value: "" }, t("admin.apps.all")));
  const holder = el("div", { id: "apps-results", "aria-live": "polite" });
  view("applications", title,
    el("div", { class: "controls" }, el("div", {}, el("label", { for: "apps-state" }, t("admin.apps.show")), filter)),
    holder);
  const decide = async (a, verb, doneKey) => {
    try {
      await call("POST", `/v1/domains/${segment(domain)}/applications/${segment(String(a.id))}/${verb}`, undefined, "admin");
      await load();
      status(t(doneKey, { address: a.address }), "info");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.onEnded();
      status(e.text ? e.text() : t("error.generic"), "error");
    }
    return undefined;
  };
  const row = (a) => {
    const actions = [];
    if (a.state === "submitted") {
      const approve = el("button", { type: "button", id: `app-approve-${a.id}` }, t("admin.apps.approve"));
      const reject = el("button", { type: "button", id: `app-reject-${a.id}`, class: "link" }, t("admin.apps.reject"));
      approve.addEventListener("click", () => decide(a, "approve", "admin.apps.approved"));
      reject.addEventListener("click", () => decide(a, "reject", "admin.apps.rejected"));
      actions.push(approve, " ", reject);
    }
    return el("tr", {},
      el("td", {}, a.state === "created" ? mailboxLink(a.address) : a.address),
      el("td", {}, a.name || ""), el("td", {}, a.department || ""), el("td", {}, a.phone || ""),
      el("td", {}, a.created_at ? i18n.dateTime(a.created_at) : ""), el("td", {}, a.client || ""),
      el("td", { class: "app-state" }, t(STATES[a.state] || "admin.apps.state.unknown")),
      el("td", {}, actions));
  };
  const load = async () => {
    const mine = ++latest;
    let page;
    try {
      const state = filter.value ? `&state=${segment(filter.value)}` : "";
      page = await call("GET", `/v1/domains/${segment(domain)}/applications?limit=100${state}`, undefined, "admin");
    } catch (e) {
      if (mine === latest) failed(e, ctx, "applications", title);
      return;
    }
    if (mine !== latest || !byId("apps-results")) return;
    const items = page.items || [];
    replace(holder, items.length === 0 ? el("p", { id: "apps-none" }, t("admin.apps.none")) :
      table("apps-table", page.next_cursor ? t("admin.apps.more") : null,
        [t("admin.col.address"), t("admin.col.name"), t("admin.col.department"), t("admin.apps.phone"),
          t("admin.apps.submitted_at"), t("admin.apps.client"), t("admin.col.state"), ""], items.map(row)));
  };
  filter.addEventListener("change", load);
  await load();
}
