// routing_ops.cc: where mail goes and who may send it, as operations of
// ops/operations.h: subscriptions (sub.add|del|list: aliases, forwards,
// BCC), send-as grants (send_as.grant|revoke|list), outbound limits and
// suspensions (outbound.*), the units of a distributed installation
// (unit.set|del|list), and the change log (log.list). None of these but
// unit.set changes a login's answer, so Dovecot's auth cache is left alone;
// a unit's new host or ports flush it whole (the proxy fields of its
// mailboxes' logins).
//
// Trusts: Run to have validated the input and authorized the principal.
#include "common/admin_store.h"
#include "common/outbound_admin.h"
#include "common/send_as_admin.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

const char* kLimitFields[] = {"per_hour", "per_day", "rcpt_per_message", "rcpt_per_day"};

OutboundLimitChange ChangeFrom(const Json& in) {
  OutboundLimitChange c;
  std::optional<std::optional<uint64_t>>* fields[] = {&c.per_hour, &c.per_day, &c.rcpt_per_message, &c.rcpt_per_day};
  for (size_t i = 0; i < 4; ++i) {
    auto it = in.find(kLimitFields[i]);
    if (it == in.end()) continue;
    *fields[i] = it->is_null() ? std::optional<uint64_t>() : std::optional<uint64_t>(it->get<uint64_t>());
  }
  return c;
}

Json LimitsJson(const OutboundLimits& l) {
  Json j = Json::object();
  const std::optional<uint64_t>* values[] = {&l.per_hour, &l.per_day, &l.rcpt_per_message, &l.rcpt_per_day};
  for (size_t i = 0; i < 4; ++i) j[kLimitFields[i]] = *values[i] ? Json(**values[i]) : Json(nullptr);
  return j;
}

const char* Direction(char d) { return d == 'I' ? "incoming" : "outgoing"; }

}  // namespace

// ------------------------------------------------------------------ subscriptions

ROSTER_OPS_HANDLER(SubChange) {
  bool add = std::string(op.name) == "sub.add";
  Subscription s{0, Flag(in, "outgoing") ? 'O' : 'I', Str(in, "address"), Str(in, "recipient")};
  if (s.direction == 'O' && s.address[0] == '@') {
    Error e = Error::Invalid("outgoing subscriptions (sender BCC) need a full address");
    e.field = "address";
    return e;
  }
  AdminStore store(*ctx.db);
  ROSTER_TRY(add ? store.AddSubscription(s, ctx.actor) : store.DeleteSubscription(s, ctx.actor));
  Json j = Json::object();
  j[add ? "added" : "deleted"] = s.address;
  j["direction"] = Direction(s.direction);
  j["recipient"] = s.recipient;
  return j;
}

namespace {

Json SubJson(const Subscription& s) {
  Json j = Json::object();
  j["address"] = s.address;
  j["direction"] = Direction(s.direction);
  j["recipient"] = s.recipient;
  return j;
}

// By recipient: a page in id order (the cursor is the last id). Run has
// authorized the recipient; each row is kept only if the principal could
// list it by its own address, so a domain administrator never sees another
// domain's aliases, and a page may hold fewer than `limit` rows.
Result<Json> SubListByRecipient(Context& ctx, const Operation& op, const Json& in) {
  auto after = IdCursor(in);
  if (!after) return after.error();
  const uint64_t limit = PageLimit(in);
  auto list = AdminStore(*ctx.db).ListSubscriptionsTo(Str(in, "recipient"), Str(in, "address"), *after, limit + 1);
  if (!list) return list.error();
  Json items = Json::array();
  for (size_t i = 0; i < list->size() && i < limit; ++i) {
    const Subscription& s = (*list)[i];
    Object row;
    row.kind = ObjectKind::kAddress;
    row.name = s.address;
    row.domain = DomainOfName(s.address);
    row.outgoing = s.direction != 'I';
    if (!Authorize(ctx.principal, op, row)) continue;
    items.push_back(SubJson(s));
  }
  return Page(std::move(items), list->size() > limit ? std::to_string((*list)[limit - 1].id) : std::string());
}

}  // namespace

ROSTER_OPS_HANDLER(SubList) {
  if (in.contains("recipient")) return SubListByRecipient(ctx, op, in);
  if (in.contains("cursor") || in.contains("limit"))
    return FieldInvalid(in.contains("cursor") ? "cursor" : "limit", "pages the listing by recipient only");
  auto list = AdminStore(*ctx.db).ListSubscriptions(object.name);
  if (!list) return list.error();
  Json items = Json::array();
  for (const Subscription& s : *list) {
    // A mailbox user sees their forwards, not the BCC copies of their mail.
    if (ctx.principal.kind == PrincipalKind::kMailboxUser && s.direction != 'I') continue;
    items.push_back(SubJson(s));
  }
  return Page(std::move(items), "");
}

// ------------------------------------------------------------------ send-as

ROSTER_OPS_HANDLER(SendAsChange) {
  bool grant = std::string(op.name) == "send_as.grant";
  std::string address = Str(in, "address"), login = Str(in, "login");
  SendAsAdmin store(*ctx.db);
  ROSTER_TRY(grant ? store.Grant(address, login, ctx.actor) : store.Revoke(address, login, ctx.actor));
  Json j = Json::object();
  j[grant ? "granted" : "revoked"] = address;
  j["login"] = login;
  return j;
}

ROSTER_OPS_HANDLER(SendAsList) {
  auto list = SendAsAdmin(*ctx.db).List(object.name, OptUint(in, "limit").value_or(1000));
  if (!list) return list.error();
  Json items = Json::array();
  for (const SendAsGrant& g : *list) {
    Json j = Json::object();
    j["address"] = g.address;
    j["login"] = g.login;
    j["active"] = g.login_active;
    j["created"] = g.created_at;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

// ------------------------------------------------------------------ outbound

ROSTER_OPS_HANDLER(OutboundShow) {
  auto s = OutboundAdmin(*ctx.db).Show(object.name);
  if (!s) return s.error();
  Json j = Json::object();
  j["address"] = s->address;
  j["own"] = LimitsJson(s->own);
  j["effective"] = LimitsJson(s->effective);
  j["this_hour"] = Json{{"messages", s->hour_messages}, {"attempts", s->hour_attempts}};
  j["today"] = Json{{"messages", s->day_messages}, {"recipients", s->day_recipients}};
  j["suspended"] = !s->suspended_at.empty();
  j["suspended_at"] = s->suspended_at.empty() ? Json(nullptr) : Json(s->suspended_at);
  j["suspended_reason"] = s->suspended_reason;
  return j;
}

ROSTER_OPS_HANDLER(OutboundSet) {
  OutboundLimitChange change = ChangeFrom(in);
  ROSTER_TRY(OutboundAdmin(*ctx.db).SetMailboxLimits(object.name, change, ctx.actor));
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["changed"] = true;
  return j;
}

ROSTER_OPS_HANDLER(OutboundDefaults) {
  auto d = OutboundAdmin(*ctx.db).DomainDefaults(object.name);
  if (!d) return d.error();
  Json j = Json::object();
  j["domain"] = object.name;
  j["defaults"] = LimitsJson(*d);
  return j;
}

ROSTER_OPS_HANDLER(OutboundSetDefaults) {
  OutboundLimitChange change = ChangeFrom(in);
  OutboundAdmin store(*ctx.db);
  ROSTER_TRY(store.SetDomainDefaults(object.name, change, ctx.actor));
  auto d = store.DomainDefaults(object.name);
  if (!d) return d.error();
  Json j = Json::object();
  j["domain"] = object.name;
  j["defaults"] = LimitsJson(*d);
  return j;
}

ROSTER_OPS_HANDLER(OutboundSuspend) {
  ROSTER_TRY(OutboundAdmin(*ctx.db).Suspend(object.name, Str(in, "reason"), ctx.actor));
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["suspended"] = true;
  return j;
}

ROSTER_OPS_HANDLER(OutboundLift) {
  ROSTER_TRY(OutboundAdmin(*ctx.db).Lift(object.name, ctx.actor));
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["suspended"] = false;
  return j;
}

ROSTER_OPS_HANDLER(OutboundSuspended) {
  auto list = OutboundAdmin(*ctx.db).ListSuspended();
  if (!list) return list.error();
  Json items = Json::array();
  for (const SuspendedMailbox& s : *list) {
    Json j = Json::object();
    j["address"] = s.address;
    j["suspended_at"] = s.suspended_at;
    j["reason"] = s.reason;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

// ------------------------------------------------------------------ units

Status CheckUnitName(const std::string& name, const char* field) {
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-' || c == '%' || c == ':';
    if (!ok) return FieldInvalid(field, "'" + name + "' contains '" + std::string(1, c) + "'");
  }
  return Status::Ok();
}

namespace {

Json UnitJson(const Unit& u) {
  return Json{{"name", u.name},           {"host", u.host},           {"transport", u.transport},
              {"imap_port", u.imap_port}, {"pop3_port", u.pop3_port}, {"mailboxes", u.mailboxes}};
}

}  // namespace

// A unit is created or changed whole: host is what Dovecot's front end
// proxies its logins to (it becomes a passdb field: a host name or an IP
// address, nothing else); transport, Postfix's for its mail on the MX.
ROSTER_OPS_HANDLER(UnitSet) {
  Unit u;
  u.name = Str(in, "name");
  if (u.name.empty()) return FieldInvalid("name", "empty");
  ROSTER_TRY(CheckUnitName(u.name, "name"));
  u.host = Str(in, "host");
  if (u.host.empty()) return FieldInvalid("host", "empty: the host its logins are proxied to");
  for (char c : u.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':';
    if (!ok) return FieldInvalid("host", "a host name or an IP address, not '" + u.host + "'");
  }
  u.transport = Str(in, "transport");
  for (char c : u.transport)
    if (c == ' ' || c == ',') return FieldInvalid("transport", "one Postfix transport, such as lmtp:inet:host:24");
  u.imap_port = OptUint(in, "imap_port").value_or(0);
  u.pop3_port = OptUint(in, "pop3_port").value_or(0);
  auto created = AdminStore(*ctx.db).SetUnit(u, ctx.actor);
  if (!created) return created.error();
  if (!*created) ctx.flusher->Flush({});
  Json j = UnitJson(u);
  j.erase("mailboxes");
  j["created"] = *created;
  return j;
}

ROSTER_OPS_HANDLER(UnitDel) {
  std::string name = Str(in, "name");
  ROSTER_TRY(CheckUnitName(name, "name"));
  ROSTER_TRY(AdminStore(*ctx.db).DeleteUnit(name, ctx.actor));
  return Json{{"deleted", name}};
}

ROSTER_OPS_HANDLER(UnitList) {
  auto units = AdminStore(*ctx.db).ListUnits();
  if (!units) return units.error();
  Json items = Json::array();
  for (const Unit& u : *units) items.push_back(UnitJson(u));
  return Page(std::move(items), "");
}

// ------------------------------------------------------------------ change log

// Newest first; the cursor is the id of the last entry answered (or, for a
// group administrator's page that examined kChangeLogScan entries, the id
// below them). A domain administrator reads the entries about its domains'
// objects, a group administrator those about its department's mailboxes.
ROSTER_OPS_HANDLER(LogList) {
  ChangeLogFilter f;
  f.object = Str(in, "object");
  f.actor = Str(in, "actor");
  f.action = Str(in, "action");
  f.since = Str(in, "since");
  bool ok = f.since.empty() || f.since.size() == 10 || f.since.size() == 19;
  for (size_t i = 0; ok && i < f.since.size(); ++i) {
    char c = f.since[i];
    ok = (i == 4 || i == 7) ? c == '-' : i == 10 ? c == ' ' : (i == 13 || i == 16) ? c == ':' : (c >= '0' && c <= '9');
  }
  if (!ok) {
    Error e = Error::Invalid("since: YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\"");
    e.field = "since";
    return e;
  }
  std::string cursor = Str(in, "cursor");
  if (!cursor.empty()) {
    bool digits = cursor.size() <= 19;
    for (char c : cursor) digits = digits && c >= '0' && c <= '9';
    if (!digits) {
      Error e = Error::Invalid("cursor: not one this listing gave");
      e.field = "cursor";
      return e;
    }
    f.before_id = std::stoull(cursor);
  }
  const uint64_t limit = PageLimit(in);
  f.limit = limit + 1;
  ChangeLogPage page;
  const std::optional<std::set<std::string>> domains = ListedDomains(ctx.principal);
  if (!domains) {
    auto all = AdminStore(*ctx.db).ListChangeLog(f);
    if (!all) return all.error();
    page.entries = std::move(*all);
  } else {
    ChangeLogScope scope;
    scope.domains.assign(domains->begin(), domains->end());
    if (ctx.principal.kind == PrincipalKind::kGroupAdmin) scope.department = ctx.principal.department;
    auto scoped = AdminStore(*ctx.db).ListChangeLogIn(f, scope);
    if (!scoped) return scoped.error();
    page = std::move(*scoped);
  }
  const std::vector<ChangeLogEntry>* list = &page.entries;
  Json items = Json::array();
  for (size_t i = 0; i < list->size() && i < limit; ++i) {
    const ChangeLogEntry& e = (*list)[i];
    Json j = Json::object();
    j["id"] = e.id;
    j["at"] = e.at;
    j["actor"] = e.actor;
    j["origin"] = e.origin;
    j["action"] = e.action;
    j["object"] = e.object;
    j["detail"] = e.detail;
    items.push_back(std::move(j));
  }
  std::string next;
  if (list->size() > limit) next = std::to_string((*list)[limit - 1].id);
  else if (page.resume_before != 0) next = std::to_string(page.resume_before);
  return Page(std::move(items), next);
}

}  // namespace roster::ops
