// cmd_app_password.cc: rosterctl's app passwords and per-protocol access
// (doc/dovecot.md, "App passwords and per-protocol access"): `app-password add|list|revoke`, and the mailbox
// subcommands `access`, `logins` and `list --inactive`. Every change writes
// the change log in its transaction (common/app_password_admin.h) and flushes the
// mailbox's entries from Dovecot's auth cache, since a login's answer changes.
//
// Trusts: nothing on the command line (addresses, labels, protocol lists,
// durations and dates are checked before any statement). A generated app
// password is printed once, to stdout, and never logged or kept.
#include <sodium.h>
#include <sysexits.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "admin/rosterctl.h"
#include "common/app_password_admin.h"
#include "common/units.h"

namespace roster {
namespace {

// --expires: a duration from now ("90d", "12h") or a UTC date
// ("2027-01-31" or "2027-01-31 12:00:00").
Result<int64_t> ParseExpiry(const std::string& text) {
  if (text.size() >= 10 && text[4] == '-' && text[7] == '-') {
    struct tm tm {};
    const char* end = strptime(text.c_str(), text.size() == 10 ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S", &tm);
    if (end == nullptr || *end != '\0') return Error::Invalid("--expires: expected YYYY-MM-DD[ HH:MM:SS] (UTC)");
    return static_cast<int64_t>(timegm(&tm));
  }
  auto d = ParseDuration(text);
  if (!d) return Error::Invalid("--expires: a duration (90d, 12h) or a date YYYY-MM-DD: " + d.error().message);
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  if (seconds <= 0) return Error::Invalid("--expires: the duration must be positive");
  if (seconds > int64_t{100} * 366 * 86400) return Error::Invalid("--expires: at most 100 years");
  return static_cast<int64_t>(std::time(nullptr)) + seconds;
}

// --protocols/--main-password: "all" -> nullopt (no limit), else the bits.
Result<std::optional<unsigned>> ParseAccessList(const std::string& text, const char* option) {
  if (text == "all") return std::optional<unsigned>();
  auto bits = ParseProtocols(text);
  if (!bits) return Error::Invalid(std::string("--") + option + ": " + bits.error().message);
  return std::optional<unsigned>(*bits);
}

std::string AccessText(const std::optional<unsigned>& bits) {
  if (!bits) return "all";
  return *bits == 0 ? "none" : ProtocolsText(*bits);
}

void AccessJson(JsonWriter& j, const char* key, const std::optional<unsigned>& bits) {
  j.Key(key);
  if (bits) j.String(ProtocolsText(*bits));
  else j.Null();
}

}  // namespace

int Rosterctl::AppPassword_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing app-password command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  if (sub == "add") AllowOnly({"label", "protocols", "expires"});
  else AllowOnly({});
  if (sub == "revoke" ? !ExpectWords(4, 4) : !ExpectWords(3, 3)) return EX_USAGE;
  if (!usage_error_.empty()) return EX_USAGE;
  auto address = MailboxAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  const std::string mailbox = address->Mailbox();
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  AppPasswordAdmin store(**db);

  if (sub == "add") {
    NewAppPassword add;
    add.address = mailbox;
    const std::string* label = args_.Option("label");
    if (label == nullptr) {
      usage_error_ = "app-password add needs --label TEXT";
      return EX_USAGE;
    }
    add.label = *label;
    if (const std::string* p = args_.Option("protocols")) {
      auto bits = ParseProtocols(*p);
      if (!bits) return Fail(bits.error());
      add.protocols = *bits;
    }
    if (const std::string* e = args_.Option("expires")) {
      auto when = ParseExpiry(*e);
      if (!when) return Fail(when.error());
      add.expires_unix = *when;
    }
    auto made = store.Add(add, actor_);
    if (!made) return Fail(made.error());
    // Nothing cached can hold it yet; but "unknown"/failures for the mailbox
    // may be, and the next login should see it.
    FlushAuthCache({mailbox});
    JsonWriter j;
    j.BeginObject().Field("mailbox", mailbox).Field("id", made->first).Field("label", add.label);
    j.Field("protocols", ProtocolsText(add.protocols)).Field("password", made->second).EndObject();
    Emit(j, "app password " + std::to_string(made->first) + " for " + mailbox + " (" + add.label + ", " +
                ProtocolsText(add.protocols) + "), shown only now:\n\n    " + made->second + "\n\n");
    sodium_memzero(made->second.data(), made->second.size());
    return EX_OK;
  }
  if (sub == "list") {
    auto list = store.List(mailbox);
    if (!list) return Fail(list.error());
    JsonWriter j;
    j.BeginArray();
    std::string text;
    char line[512];
    std::snprintf(line, sizeof line, "%-6s %-4s %-24s %-22s %-20s %s\n", "ID", "SEL", "LABEL", "PROTOCOLS",
                  "EXPIRES", "LAST USE");
    text += line;
    for (const AppPassword& a : *list) {
      j.BeginObject().Field("id", a.id).Field("selector", a.selector).Field("label", a.label);
      j.Field("protocols", ProtocolsText(a.protocols)).Field("created", a.created_at);
      j.Field("expires", a.expires_at).Field("expired", a.expired).Field("last_used", a.last_used_at);
      j.Field("last_used_ip", a.last_used_ip).EndObject();
      std::string expires = a.expires_at.empty() ? "never" : TextTime(a.expires_at) + (a.expired ? " (expired)" : "");
      std::string used = a.last_used_at.empty() ? "never" : TextTime(a.last_used_at) + " " + a.last_used_ip;
      std::snprintf(line, sizeof line, "%-6llu %-4s %-24s %-22s %-20s %s\n",
                    static_cast<unsigned long long>(a.id), a.selector.c_str(), a.label.c_str(),
                    ProtocolsText(a.protocols).c_str(), expires.c_str(), used.c_str());
      text += line;
    }
    j.EndArray();
    Emit(j, text);
    return EX_OK;
  }
  if (sub == "revoke") {
    auto id = ParseCount(args_.words[3]);
    if (!id) return Fail(Error::Invalid("app password ID: " + id.error().message));
    Status s = store.Revoke(mailbox, *id, actor_);
    if (!s) return Fail(s.error());
    FlushAuthCache({mailbox});  // stops at once, even from Dovecot's cache
    JsonWriter j;
    j.BeginObject().Field("mailbox", mailbox).Field("revoked", *id).EndObject();
    Emit(j, "revoked app password " + std::to_string(*id) + " of " + mailbox + "\n");
    return EX_OK;
  }
  usage_error_ = "unknown app-password command '" + sub + "'";
  return EX_USAGE;
}

int Rosterctl::MailboxAccess_(const std::string& mailbox) {
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  AppPasswordAdmin store(**db);
  std::optional<std::optional<unsigned>> login, main_password;
  if (const std::string* p = args_.Option("protocols")) {
    auto v = ParseAccessList(*p, "protocols");
    if (!v) return Fail(v.error());
    login = *v;
  }
  if (const std::string* p = args_.Option("main-password")) {
    auto v = ParseAccessList(*p, "main-password");
    if (!v) return Fail(v.error());
    main_password = *v;
  }
  // "webmail" is a place, the networks of auth_webmail_networks (roster.conf,
  // read by the passdb); without them no login is from the webmail, and a
  // list that names it gives nothing there: `--main-password webmail` alone
  // would lock the main password out everywhere. Refused unless --force.
  const bool no_webmail_networks = config_.GetList("auth_webmail_networks").empty();
  auto webmail_trap = [&](const std::optional<std::optional<unsigned>>& change, bool is_main) -> Status {
    if (!no_webmail_networks || args_.Has("force") || !change || !*change || (**change & kProtoWebmail) == 0)
      return Status::Ok();
    unsigned rest = **change & ~kProtoWebmail;
    std::string where = rest == 0 ? std::string("nowhere") : "only over " + ProtocolsText(rest);
    std::string effect = is_main ? "the main password of " + mailbox + " would work " + where +
                                       " (elsewhere app passwords only)"
                                 : mailbox + " could log in " + where;
    return Error::Invalid(std::string(is_main ? "--main-password" : "--protocols") +
                          " names webmail, but auth_webmail_networks is not set in " + ConfigPath() +
                          ": no login counts as webmail, so " + effect +
                          ". Set auth_webmail_networks in roster.conf first (the passdb reads it there), "
                          "or give --force");
  };
  for (Status s : {webmail_trap(login, false), webmail_trap(main_password, true)})
    if (!s) return Fail(s.error());
  if (login || main_password) {
    Status s = store.SetAccess(mailbox, login, main_password, actor_);
    if (!s) return Fail(s.error());
    FlushAuthCache({mailbox});
  }
  auto access = store.GetAccess(mailbox);
  if (!access) return Fail(access.error());
  for (const std::optional<unsigned>* bits : {&access->login_protocols, &access->main_password_protocols}) {
    if (no_webmail_networks && *bits && (**bits & kProtoWebmail) != 0) {
      std::cerr << "rosterctl: warning: webmail is named, but auth_webmail_networks is not set in " << ConfigPath()
                << ": no login counts as webmail\n";
      break;
    }
  }
  JsonWriter j;
  j.BeginObject().Field("mailbox", mailbox);
  AccessJson(j, "protocols", access->login_protocols);
  AccessJson(j, "main_password", access->main_password_protocols);
  j.EndObject();
  Emit(j, "mailbox:       " + mailbox + "\nprotocols:     " + AccessText(access->login_protocols) +
              "\nmain password: " +
              (access->main_password_protocols ? AccessText(access->main_password_protocols) +
                                                     " (elsewhere app passwords only)"
                                               : std::string("wherever the mailbox may log in")) +
              "\n");
  return EX_OK;
}

int Rosterctl::MailboxLogins_(const std::string& mailbox) {
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  AppPasswordAdmin store(**db);
  // By default what the history promises: the newest auth_login_history (the
  // table may hold up to twice that until its next prune); --limit reads more.
  int64_t kept = config_.GetInt("auth_login_history");
  uint64_t shown = limit->value_or(kept > 0 ? static_cast<uint64_t>(kept) : 100);
  auto logins = store.Logins(mailbox, std::min<uint64_t>(shown, 1000));
  if (!logins) return Fail(logins.error());
  JsonWriter j;
  j.BeginArray();
  std::string text;
  char line[512];
  std::snprintf(line, sizeof line, "%-19s %-10s %-40s %s\n", "TIME (UTC)", "PROTOCOL", "FROM", "PASSWORD");
  text += line;
  for (const LoginRecord& l : *logins) {
    j.BeginObject().Field("time", l.at).Field("protocol", l.protocol).Field("ip", l.ip);
    j.Field("app_password_id", l.app_password_id).Field("app_password_label", l.app_password_label).EndObject();
    std::string which = l.app_password_id == 0
                            ? std::string("main")
                            : "app " + std::to_string(l.app_password_id) +
                                  (l.app_password_label.empty() ? " (revoked)" : " (" + l.app_password_label + ")");
    std::snprintf(line, sizeof line, "%-19s %-10s %-40s %s\n", TextTime(l.at).c_str(), l.protocol.c_str(), l.ip.c_str(),
                  which.c_str());
    text += line;
  }
  j.EndArray();
  Emit(j, text);
  return EX_OK;
}

int Rosterctl::MailboxInactive_(const std::string& domain) {
  const std::string* inactive = args_.Option("inactive");
  auto d = ParseDuration(*inactive);
  if (!d) return Fail(Error::Invalid("--inactive: a duration such as 90d: " + d.error().message));
  uint64_t days = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::hours>(*d).count() / 24);
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  if (!domain.empty()) {
    auto known = AdminStore(**db).GetDomain(domain);
    if (!known) return Fail(known.error());
  }
  AppPasswordAdmin store(**db);
  if (json_) std::cout << "[";
  else std::printf("%-40s %s\n", "ADDRESS", "LAST LOGIN (UTC)");
  bool first = true;
  Status s = store.ListInactive(days, [&](const InactiveMailbox& m) {
    if (json_) {
      JsonWriter j;
      j.BeginObject().Field("address", m.address).Key("last_login");
      if (m.last_login.empty()) j.Null();
      else j.String(m.last_login);
      j.EndObject();
      std::cout << (first ? "" : ",") << j.str();
    } else {
      std::printf("%-40s %s\n", m.address.c_str(), m.last_login.empty() ? "never" : TextTime(m.last_login).c_str());
    }
    first = false;
    return true;
  }, domain);
  if (json_) std::cout << "]\n";
  if (!s) return Fail(s.error());
  return EX_OK;
}

}  // namespace roster
