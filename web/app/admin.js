// admin.js: an administrator's start page: who is signed in and what the
// principal covers. The administration views (dashboard, mailboxes,
// domains, change log, administrators and keys) build on this shell.
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { heading, focusHeading } from "./form.js";
import * as session from "./session.js";

const KINDS = {
  mail_admin: "admin.kind.mail_admin",
  domain_admin: "admin.kind.domain_admin",
  group_admin: "admin.kind.group_admin",
};

export function adminView() {
  const p = session.who();
  const scope = [];
  if (p.kind === "domain_admin") scope.push(el("p", { id: "admin-scope" }, t("admin.domains", { domains: (p.domains || []).join(", ") })));
  if (p.kind === "group_admin") scope.push(el("p", { id: "admin-scope" }, t("admin.group", { domain: p.domain, department: p.department })));
  replace(byId("main"),
    heading(t("admin.title")),
    el("p", { id: "admin-who" }, t("admin.signed_in", { name: p.name, kind: t(KINDS[p.kind] || "admin.kind.unknown") })),
    scope,
    el("p", { class: "hint" }, t("admin.more_soon")));
  focusHeading();
}
