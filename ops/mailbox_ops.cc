// mailbox_ops.cc: the mailbox operations of ops/operations.h: add, del,
// enable, disable, set_quota, set_password, change_password (a user's own,
// with the current password), show, list (paged, filtered), inactive (the
// dormant ones, paged) and last_logins. A change that alters a login's
// answer flushes the mailbox from Dovecot's auth cache (ctx.flusher).
//
// Trusts: Run to have validated the input and authorized the principal.
// Passwords arrive in the input only; they are hashed here and never
// written anywhere else (Run wipes them afterwards).
#include "common/admin_store.h"
#include "common/app_password_admin.h"
#include "common/password.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

Json MailboxJson(const Mailbox& m) {
  Json j = Json::object();
  j["address"] = m.address;
  j["domain"] = m.domain;
  j["active"] = m.active;
  j["domain_active"] = m.domain_active;
  j["name"] = m.display_name;
  j["department"] = m.department;
  j["max_bytes"] = m.max_bytes;
  j["max_messages"] = m.max_messages;
  j["unit"] = m.unit;
  j["password_scheme"] = m.password_scheme;
  j["created_at"] = m.created_at;
  j["updated_at"] = m.updated_at;
  j["password_changed_at"] = m.password_changed_at;
  if (m.usage) {
    Json u = Json::object();
    u["bytes"] = m.usage->bytes;
    u["messages"] = m.usage->messages;
    j["usage"] = std::move(u);
  } else {
    j["usage"] = nullptr;
  }
  return j;
}

// The hash to store: of "password" (hashed with the configured policy), or
// "password_hash" as brought from elsewhere (CheckForeignHash: never plaintext).
Result<std::string> NewHash(const Context& ctx, const Json& in) {
  bool has_password = in.contains("password"), has_hash = in.contains("password_hash");
  if (has_password == has_hash) {
    Error e = Error::Invalid("give either password or password_hash");
    e.field = "password";
    return e;
  }
  if (has_hash) return CheckForeignHash(Str(in, "password_hash"));
  return PasswordHasher(ctx.settings->password_policy).Hash(in["password"].get_ref<const std::string&>());
}

}  // namespace

ROSTER_OPS_HANDLER(MailboxAdd) {
  NewMailbox nm;
  nm.address = Str(in, "address");
  nm.display_name = Str(in, "name");
  nm.department = Str(in, "department");
  nm.max_bytes = OptUint(in, "max_bytes");
  nm.max_messages = OptUint(in, "max_messages");
  nm.unit = Str(in, "unit");
  nm.active = Flag(in, "active", true);
  for (char c : nm.unit) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-' || c == '%' || c == ':';
    if (!ok) {
      Error e = Error::Invalid("unit: '" + nm.unit + "' contains '" + std::string(1, c) + "'");
      e.field = "unit";
      return e;
    }
  }
  auto hash = NewHash(ctx, in);
  if (!hash) return hash.error();
  nm.password_hash = *hash;
  ROSTER_TRY(AdminStore(*ctx.db).AddMailbox(nm, ctx.actor));
  ctx.flusher->Flush({nm.address});  // Dovecot may hold "unknown user"
  return Json{{"added", nm.address}};
}

ROSTER_OPS_HANDLER(MailboxDel) {
  ROSTER_TRY(AdminStore(*ctx.db).DeleteMailbox(object.name, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"deleted", object.name}};
}

ROSTER_OPS_HANDLER(MailboxSetActive) {
  bool active = std::string(op.name) == "mailbox.enable";
  ROSTER_TRY(AdminStore(*ctx.db).SetMailboxActive(object.name, active, ctx.actor));
  ctx.flusher->Flush({object.name});
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["active"] = active;
  return j;
}

ROSTER_OPS_HANDLER(MailboxSetQuota) {
  AdminStore store(*ctx.db);
  ROSTER_TRY(store.SetMailboxQuota(object.name, OptUint(in, "max_bytes"), OptUint(in, "max_messages"), ctx.actor));
  ctx.flusher->Flush({object.name});  // the userdb's limits changed
  auto m = store.GetMailbox(object.name);
  if (!m) return m.error();
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["max_bytes"] = m->max_bytes;
  j["max_messages"] = m->max_messages;
  return j;
}

ROSTER_OPS_HANDLER(MailboxSetPassword) {
  auto hash = NewHash(ctx, in);
  if (!hash) return hash.error();
  ROSTER_TRY(AdminStore(*ctx.db).SetPasswordHash(object.name, *hash, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"password_changed", object.name}};
}

ROSTER_OPS_HANDLER(MailboxChangePassword) {
  AdminStore store(*ctx.db);
  auto stored = store.PasswordHash(object.name);
  if (!stored) return stored.error();
  PasswordHasher hasher(ctx.settings->password_policy);
  if (!hasher.Verify(in["current_password"].get_ref<const std::string&>(), *stored).matched()) {
    Error e = Error::Forbidden("the current password is not right");
    e.field = "current_password";
    return e;
  }
  auto hash = hasher.Hash(in["password"].get_ref<const std::string&>());
  if (!hash) return hash.error();
  ROSTER_TRY(store.SetPasswordHash(object.name, *hash, ctx.actor));
  ctx.flusher->Flush({object.name});
  return Json{{"password_changed", object.name}};
}

ROSTER_OPS_HANDLER(MailboxShow) {
  auto m = AdminStore(*ctx.db).GetMailbox(object.name);
  if (!m) return m.error();
  return MailboxJson(*m);
}

// One page in address order (the lookup key's): the cursor is the last
// lookup key answered.
ROSTER_OPS_HANDLER(MailboxList) {
  std::string sort = Str(in, "sort");
  if (!sort.empty() && sort != "address") {
    Error e = Error::Invalid("sort: only \"address\" is supported");
    e.field = "sort";
    return e;
  }
  AdminStore store(*ctx.db);
  MailboxQuery q;
  q.domain = Str(in, "domain");
  q.department = Str(in, "department");
  if (in.contains("active")) q.active = Flag(in, "active");
  q.prefix = Str(in, "prefix");
  q.after = Str(in, "cursor");
  const uint64_t limit = PageLimit(in);
  q.limit = limit + 1;  // one more tells whether another page follows
  if (!q.domain.empty() && q.after.empty()) {
    Status known = store.FindDomain(q.domain);  // a 404 for a domain that is not there
    if (!known) return known.error();
  }
  std::vector<std::string> keys;
  auto page = store.MailboxPage(q, &keys);
  if (!page) return page.error();
  Json items = Json::array();
  for (size_t i = 0; i < page->size() && i < limit; ++i) items.push_back(MailboxJson((*page)[i]));
  return Page(std::move(items), page->size() > limit ? keys[limit - 1] : std::string());
}

ROSTER_OPS_HANDLER(MailboxInactive) {
  std::string domain = Str(in, "domain");
  std::string after = Str(in, "cursor");
  if (!domain.empty() && after.empty()) {
    Status known = AdminStore(*ctx.db).FindDomain(domain);
    if (!known) return known.error();
  }
  const uint64_t limit = PageLimit(in);
  Json items = Json::array();
  std::string last, next;
  Status s = AppPasswordAdmin(*ctx.db).ListInactive(
      *OptUint(in, "days"),
      [&](const InactiveMailbox& m, const std::string& key) {
        if (items.size() == limit) {
          next = last;  // another follows
          return false;
        }
        Json j = Json::object();
        j["address"] = m.address;
        j["last_login"] = m.last_login.empty() ? Json(nullptr) : Json(m.last_login);
        items.push_back(std::move(j));
        last = key;
        return true;
      },
      domain, after);
  if (!s) return s.error();
  return Page(std::move(items), next);
}

ROSTER_OPS_HANDLER(MailboxLastLogins) {
  auto list = AdminStore(*ctx.db).LastLogins(object.name, OptUint(in, "limit").value_or(100));
  if (!list) return list.error();
  Json items = Json::array();
  for (const LastLogin& l : *list) {
    Json j = Json::object();
    j["address"] = l.address;
    j["protocol"] = l.protocol;
    j["ip"] = l.ip;
    j["time"] = l.logged_at;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

}  // namespace roster::ops
