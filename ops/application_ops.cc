// application_ops.cc: mailbox applications (issue 15; doc/api.md
// "Applications") and a domain's self-service settings. Per domain,
// applications are closed (refused), by approval (recorded as submitted;
// a domain or mail administrator approves or rejects) or open (the mailbox is
// created at once). application.submit is public and throttled per client
// and for everyone together (ops/authn.h, PublicThrottle); its two 409s say
// which (Error::code mailbox_exists or application_pending). Steps only move
// forward (common/application_store.h, Advance): approve and reject only a
// submitted application, approval moves it submitted -> approved -> created
// and creates the mailbox in the same transaction, through the store call
// mailbox.add makes (AdminStore::AddMailbox), so either all of it happens or
// none. The SQL is common/application_store's.
//
// Trusts: Run to have validated the input and authorized the principal
// (approve, reject and list: on the domain named, which the application's
// own domain must then be); ctx.actor's origin for the change log.
#include "common/address.h"
#include "common/admin_store.h"
#include "common/application_store.h"
#include "common/password.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

std::string DomainOf(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : address.substr(at + 1);
}

Json ApplicationJson(const Application& a) {
  Json j = Json::object();
  j["id"] = a.id;
  j["domain"] = a.domain;
  j["address"] = a.address;
  j["name"] = a.display_name;
  j["department"] = a.department;
  j["phone"] = a.phone;
  j["state"] = a.state;
  j["client"] = a.client_address;
  j["created_at"] = a.created_at;
  j["decided_at"] = a.decided_at.empty() ? Json(nullptr) : Json(a.decided_at);
  j["decided_by"] = a.decided_by;
  return j;
}

NewMailbox MailboxOf(const std::string& address, const std::string& name, const std::string& department,
                     const std::string& hash) {
  NewMailbox m;
  m.address = address;
  m.display_name = name;
  m.department = department;
  m.password_hash = hash;
  m.active = true;  // the domain's default limits
  return m;
}

// The application `in["id"]`, which must be of the domain named (when one
// is): another domain's reads as none, inside the principal's scope.
Result<Application> TheApplication(Context& ctx, const Json& in) {
  const uint64_t id = OptUint(in, "id").value_or(0);
  auto a = ApplicationStore(*ctx.db).Get(id);
  if (!a) return a.error();
  const std::string domain = Str(in, "domain");
  if (!domain.empty() && a->domain != domain) return Error::NotFound("no such application: " + std::to_string(id));
  return a;
}

Json Step(const Application& a, const char* state) {
  Json j = Json::object();
  j["id"] = a.id;
  j["address"] = a.address;
  j["state"] = state;
  return j;
}

}  // namespace

ROSTER_OPS_HANDLER(DomainSelfService) {
  auto s = ApplicationStore(*ctx.db).GetSelfService(object.name);
  if (!s) return s.error();
  Json j = Json::object();
  j["domain"] = object.name;
  j["applications"] = s->applications;
  j["recovery_mail"] = s->recovery_mail;
  return j;
}

ROSTER_OPS_HANDLER(DomainSetSelfService) {
  std::optional<std::string> applications;
  if (in.contains("applications")) applications = Str(in, "applications");
  std::optional<bool> recovery_mail;
  if (in.contains("recovery_mail")) recovery_mail = Flag(in, "recovery_mail");
  ROSTER_TRY(ApplicationStore(*ctx.db).SetSelfService(object.name, applications, recovery_mail, ctx.actor));
  return DomainSelfService(ctx, op, in, object);
}

ROSTER_OPS_HANDLER(ApplicationSubmit) {
  const std::string address = Str(in, "address");
  const std::string domain = DomainOf(address);
  ApplicationStore store(*ctx.db);
  auto policy = store.GetSelfService(domain);
  if (!policy && !policy.error().is_not_found()) return policy.error();
  // An unknown domain reads like a closed one.
  if (!policy || policy->applications == "closed") {
    Error e = Error::Forbidden("applications for mailboxes in " + domain + " are closed");
    e.field = "address";
    return e;
  }
  ROSTER_TRY(CheckMailboxPathName(address));  // what AddMailbox will ask, before the hash's cost
  auto hash = PasswordHasher(ctx.settings->password_policy).Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  NewApplication n;
  n.address = address;
  n.display_name = Str(in, "name");
  n.department = Str(in, "department");
  n.phone = Str(in, "phone");
  n.password_hash = *hash;
  n.client_address = ctx.actor.origin;
  const int64_t now = ctx.clock->NowUnix();
  if (policy->applications != "open") {
    auto id = store.Submit(n, now, ctx.actor);
    if (!id) return id.error();
    Json j = Json::object();
    j["address"] = address;
    j["state"] = "submitted";
    return j;
  }
  // Open: recorded, and the mailbox made, in one transaction.
  Status made = ctx.db->Transaction([&]() -> Status {
    auto id = store.Submit(n, now, ctx.actor);
    if (!id) return id.error();
    ROSTER_TRY(AdminStore(*ctx.db).AddMailbox(MailboxOf(address, n.display_name, n.department, *hash), ctx.actor));
    return store.Advance(*id, "submitted", "created", now, ctx.actor);
  });
  if (!made) {
    Error e = made.error();
    // A mailbox made meanwhile: the same refusal as one that was there.
    if (e.kind == ErrorKind::kConflict && e.code.empty()) e.code = "mailbox_exists";
    return e;
  }
  ctx.flusher->Flush({address});  // Dovecot may hold "unknown user"
  Json j = Json::object();
  j["address"] = address;
  j["state"] = "created";
  return j;
}

ROSTER_OPS_HANDLER(ApplicationList) {
  uint64_t before = 0;
  const std::string cursor = Str(in, "cursor");
  if (!cursor.empty()) {
    if (cursor.size() > 20 || cursor.find_first_not_of("0123456789") != std::string::npos) {
      Error e = Error::Invalid("cursor: not one this listing gave");
      e.field = "cursor";
      return e;
    }
    before = std::stoull(cursor);
  }
  const std::string state = Str(in, "state");
  if (!state.empty() && state != "submitted" && state != "approved" && state != "rejected" && state != "created") {
    Error e = Error::Invalid("state: submitted, approved, rejected or created");
    e.field = "state";
    return e;
  }
  const uint64_t limit = PageLimit(in);
  auto page = ApplicationStore(*ctx.db).Page(object.name, state, before, limit);
  if (!page) return page.error();
  Json items = Json::array();
  for (const Application& a : *page) items.push_back(ApplicationJson(a));
  std::string next = page->size() == limit && !page->empty() ? std::to_string(page->back().id) : "";
  return Page(std::move(items), next);
}

ROSTER_OPS_HANDLER(ApplicationApprove) {
  auto a = TheApplication(ctx, in);
  if (!a) return a.error();
  ApplicationStore store(*ctx.db);
  const int64_t now = ctx.clock->NowUnix();
  Status made = ctx.db->Transaction([&]() -> Status {
    ROSTER_TRY(store.Advance(a->id, "submitted", "approved", now, ctx.actor));
    auto hash = store.PasswordHash(a->id);
    if (!hash) return hash.error();
    ROSTER_TRY(AdminStore(*ctx.db).AddMailbox(MailboxOf(a->address, a->display_name, a->department, *hash),
                                              ctx.actor));
    return store.Advance(a->id, "approved", "created", now, ctx.actor);
  });
  if (!made) return made.error();
  ctx.flusher->Flush({a->address});
  return Step(*a, "created");
}

ROSTER_OPS_HANDLER(ApplicationReject) {
  auto a = TheApplication(ctx, in);
  if (!a) return a.error();
  ROSTER_TRY(ApplicationStore(*ctx.db).Advance(a->id, "submitted", "rejected", ctx.clock->NowUnix(), ctx.actor));
  return Step(*a, "rejected");
}

}  // namespace roster::ops
