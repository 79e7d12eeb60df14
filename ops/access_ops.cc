// access_ops.cc: app passwords, per-protocol access and the login history
// (doc/dovecot.md, "App passwords and per-protocol access") as operations
// of ops/operations.h: app_password.add|list|revoke, mailbox.access,
// mailbox.set_access, mailbox.logins. Every change flushes the mailbox from
// Dovecot's auth cache, since a login's answer changes.
//
// Trusts: Run to have validated the input and authorized the principal. A
// generated app password is in the answer once and nowhere else.
#include <algorithm>

#include "common/app_password_admin.h"
#include "ops/handlers.h"

namespace roster::ops {
namespace {

// "all" -> nullopt (no limit), else the protocol bits.
Result<std::optional<unsigned>> AccessList(const std::string& text, const char* field) {
  if (text == "all") return std::optional<unsigned>();
  auto bits = ParseProtocols(text);
  if (!bits) {
    Error e = Error::Invalid(std::string(field) + ": " + bits.error().message);
    e.field = field;
    return e;
  }
  return std::optional<unsigned>(*bits);
}

Json AccessValue(const std::optional<unsigned>& bits) {
  return bits ? Json(ProtocolsText(*bits)) : Json(nullptr);
}

Result<Json> AccessAnswer(Context& ctx, const std::string& mailbox) {
  auto access = AppPasswordAdmin(*ctx.db).GetAccess(mailbox);
  if (!access) return access.error();
  Json j = Json::object();
  j["mailbox"] = mailbox;
  j["protocols"] = AccessValue(access->login_protocols);
  j["main_password"] = AccessValue(access->main_password_protocols);
  return j;
}

}  // namespace

ROSTER_OPS_HANDLER(MailboxAccess) { return AccessAnswer(ctx, object.name); }

ROSTER_OPS_HANDLER(MailboxSetAccess) {
  const std::string& mailbox = object.name;
  std::optional<std::optional<unsigned>> login, main_password;
  if (in.contains("protocols")) {
    auto v = AccessList(Str(in, "protocols"), "protocols");
    if (!v) return v.error();
    login = *v;
  }
  if (in.contains("main_password")) {
    auto v = AccessList(Str(in, "main_password"), "main_password");
    if (!v) return v.error();
    main_password = *v;
  }
  // "webmail" is a place, the networks of auth_webmail_networks (roster.conf,
  // read by the passdb); without them no login is from the webmail, and a
  // list that names it gives nothing there: a main password for "webmail"
  // alone would be locked out everywhere. Refused unless "force".
  auto webmail_trap = [&](const std::optional<std::optional<unsigned>>& change, bool is_main) -> Status {
    if (ctx.settings->webmail_networks || Flag(in, "force") || !change || !*change ||
        (**change & kProtoWebmail) == 0)
      return Status::Ok();
    unsigned rest = **change & ~kProtoWebmail;
    std::string where = rest == 0 ? std::string("nowhere") : "only over " + ProtocolsText(rest);
    std::string effect = is_main ? "the main password of " + mailbox + " would work " + where +
                                       " (elsewhere app passwords only)"
                                 : mailbox + " could log in " + where;
    Error e = Error::Invalid(std::string(is_main ? "--main-password" : "--protocols") +
                             " names webmail, but auth_webmail_networks is not set in " +
                             ctx.settings->config_path + ": no login counts as webmail, so " + effect +
                             ". Set auth_webmail_networks in roster.conf first (the passdb reads it there), "
                             "or give --force");
    e.field = is_main ? "main_password" : "protocols";
    return e;
  };
  for (Status s : {webmail_trap(login, false), webmail_trap(main_password, true)})
    if (!s) return s.error();
  if (login || main_password) {
    ROSTER_TRY(AppPasswordAdmin(*ctx.db).SetAccess(mailbox, login, main_password, ctx.actor));
    ctx.flusher->Flush({mailbox});
  }
  return AccessAnswer(ctx, mailbox);
}

// The newest logins first; by default as many as the history keeps
// (auth_login_history; the table may hold up to twice that between prunes).
ROSTER_OPS_HANDLER(MailboxLogins) {
  uint64_t limit = std::min<uint64_t>(PageLimit(in, ctx.settings->login_history), kMaxPage);
  auto logins = AppPasswordAdmin(*ctx.db).Logins(object.name, limit);
  if (!logins) return logins.error();
  Json items = Json::array();
  for (const LoginRecord& l : *logins) {
    Json j = Json::object();
    j["time"] = l.at;
    j["protocol"] = l.protocol;
    j["ip"] = l.ip;
    j["app_password_id"] = l.app_password_id;
    j["app_password_label"] = l.app_password_label;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

ROSTER_OPS_HANDLER(AppPasswordAdd) {
  NewAppPassword add;
  add.address = object.name;
  add.label = Str(in, "label");
  if (in.contains("protocols")) {
    auto bits = ParseProtocols(Str(in, "protocols"));
    if (!bits) {
      Error e = bits.error();
      e.field = "protocols";
      return e;
    }
    add.protocols = *bits;
  }
  if (in.contains("expires_at") && in.contains("expires_in")) {
    Error e = Error::Invalid("give expires_at or expires_in, not both");
    e.field = "expires_in";
    return e;
  }
  if (auto at = OptUint(in, "expires_at")) add.expires_unix = static_cast<int64_t>(*at);
  if (auto in_seconds = OptUint(in, "expires_in")) {
    if (*in_seconds == 0) {
      Error e = Error::Invalid("expires_in: the duration must be positive");
      e.field = "expires_in";
      return e;
    }
    add.expires_unix = ctx.clock->NowUnix() + static_cast<int64_t>(*in_seconds);
  }
  auto made = AppPasswordAdmin(*ctx.db).Add(add, ctx.actor);
  if (!made) return made.error();
  // Nothing cached can hold it yet; but "unknown"/failures for the mailbox
  // may be, and the next login should see it.
  ctx.flusher->Flush({object.name});
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["id"] = made->first;
  j["label"] = add.label;
  j["protocols"] = ProtocolsText(add.protocols);
  j["password"] = std::move(made->second);
  return j;
}

ROSTER_OPS_HANDLER(AppPasswordList) {
  auto list = AppPasswordAdmin(*ctx.db).List(object.name);
  if (!list) return list.error();
  Json items = Json::array();
  for (const AppPassword& a : *list) {
    Json j = Json::object();
    j["id"] = a.id;
    j["selector"] = a.selector;
    j["label"] = a.label;
    j["protocols"] = ProtocolsText(a.protocols);
    j["created"] = a.created_at;
    j["expires"] = a.expires_at;
    j["expired"] = a.expired;
    j["last_used"] = a.last_used_at;
    j["last_used_ip"] = a.last_used_ip;
    items.push_back(std::move(j));
  }
  return Page(std::move(items), "");
}

ROSTER_OPS_HANDLER(AppPasswordRevoke) {
  uint64_t id = *OptUint(in, "id");
  ROSTER_TRY(AppPasswordAdmin(*ctx.db).Revoke(object.name, id, ctx.actor));
  ctx.flusher->Flush({object.name});  // stops at once, even from Dovecot's cache
  Json j = Json::object();
  j["mailbox"] = object.name;
  j["revoked"] = id;
  return j;
}

}  // namespace roster::ops
