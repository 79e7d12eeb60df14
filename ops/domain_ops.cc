// domain_ops.cc: the domain operations of ops/operations.h (domain.add, del,
// enable, disable, show, list). Answers keep the shapes rosterctl --json has
// always printed.
//
// Trusts: Run to have validated the input and authorized the principal.
#include <set>

#include "common/admin_store.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

Json DomainJson(const Domain& d) {
  Json j = Json::object();
  j["name"] = d.name;
  j["transport"] = d.transport;
  j["active"] = d.active;
  j["default_max_bytes"] = d.default_max_bytes;
  j["default_max_messages"] = d.default_max_messages;
  j["mailboxes"] = d.mailboxes;
  j["created_at"] = d.created_at;
  return j;
}

}  // namespace

ROSTER_OPS_HANDLER(DomainAdd) {
  Domain d;
  d.name = Str(in, "domain");
  d.transport = Str(in, "transport");
  d.default_max_bytes = OptUint(in, "max_bytes").value_or(0);
  d.default_max_messages = OptUint(in, "max_messages").value_or(0);
  d.active = Flag(in, "active", true);
  ROSTER_TRY(AdminStore(*ctx.db).AddDomain(d, ctx.actor));
  return Json{{"added", d.name}};
}

ROSTER_OPS_HANDLER(DomainDel) {
  std::string name = Str(in, "domain");
  ROSTER_TRY(AdminStore(*ctx.db).DeleteDomain(name, Flag(in, "force"), ctx.actor));
  ctx.flusher->Flush({});
  return Json{{"deleted", name}};
}

ROSTER_OPS_HANDLER(DomainSetActive) {
  std::string name = Str(in, "domain");
  bool active = std::string(op.name) == "domain.enable";
  ROSTER_TRY(AdminStore(*ctx.db).SetDomainActive(name, active, ctx.actor));
  ctx.flusher->Flush({});  // every cached answer about the domain's mailboxes
  Json j = Json::object();
  j["domain"] = name;
  j["active"] = active;
  return j;
}

ROSTER_OPS_HANDLER(DomainShow) {
  auto d = AdminStore(*ctx.db).GetDomain(Str(in, "domain"));
  if (!d) return d.error();
  return DomainJson(*d);
}

// The mail administrator pages through every domain by name; anyone scoped
// to domains (a domain administrator, an API key limited to domains) sees
// those that exist among them, in the same order.
ROSTER_OPS_HANDLER(DomainList) {
  AdminStore store(*ctx.db);
  const Principal& p = ctx.principal;
  const std::string after = Str(in, "cursor");
  const uint64_t limit = PageLimit(in);
  Json items = Json::array();
  std::string next;
  const std::optional<std::set<std::string>> visible = ListedDomains(p);
  if (!visible) {
    auto page = store.DomainPage(after, limit + 1);
    if (!page) return page.error();
    for (size_t i = 0; i < page->size() && i < limit; ++i) items.push_back(DomainJson((*page)[i]));
    if (page->size() > limit) next = (*page)[limit - 1].name;
    return Page(std::move(items), next);
  }
  for (auto it = visible->upper_bound(after); it != visible->end(); ++it) {
    if (items.size() == limit) {
      next = items.back()["name"].get<std::string>();
      break;
    }
    auto d = store.GetDomain(*it);
    if (!d) {
      if (d.error().is_not_found()) continue;
      return d.error();
    }
    items.push_back(DomainJson(*d));
  }
  return Page(std::move(items), next);
}

}  // namespace roster::ops
