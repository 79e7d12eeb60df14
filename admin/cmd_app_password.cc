// cmd_app_password.cc: rosterctl's app passwords and per-protocol access
// (doc/dovecot.md, "App passwords and per-protocol access"): `app-password add|list|revoke`, and the mailbox
// subcommands `access`, `logins` and `list --inactive`, on the operations of
// ops/access_ops.cc (app_password.*, mailbox.access, set_access, logins) and
// mailbox.inactive: every change writes the change log in its transaction and
// flushes the mailbox's entries from Dovecot's auth cache there.
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
#include "common/app_passwords.h"
#include "common/units.h"

namespace roster {

Result<uint64_t> ParseExpiry(const std::string& text) {
  if (text.size() >= 10 && text[4] == '-' && text[7] == '-') {
    struct tm tm {};
    const char* end = strptime(text.c_str(), text.size() == 10 ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S", &tm);
    const int64_t when = end != nullptr && *end == '\0' ? static_cast<int64_t>(timegm(&tm)) : -1;
    if (when < 0) return Error::Invalid("--expires: expected YYYY-MM-DD[ HH:MM:SS] (UTC)");
    return static_cast<uint64_t>(when);
  }
  auto d = ParseDuration(text);
  if (!d) return Error::Invalid("--expires: a duration (90d, 12h) or a date YYYY-MM-DD: " + d.error().message);
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  if (seconds <= 0) return Error::Invalid("--expires: the duration must be positive");
  if (seconds > int64_t{100} * 366 * 86400) return Error::Invalid("--expires: at most 100 years");
  return static_cast<uint64_t>(std::time(nullptr) + seconds);
}

namespace {

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

}  // namespace

int Rosterctl::AppPasswordAdd_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  Json in = {{"address", *mailbox}};
  const std::string* label = args_.Option("label");
  if (label == nullptr) {
    usage_error_ = "app-password add needs --label TEXT";
    return EX_USAGE;
  }
  in["label"] = *label;
  if (const std::string* p = args_.Option("protocols")) {
    auto bits = ParseProtocols(*p);
    if (!bits) return Fail(bits.error());
    in["protocols"] = *p;
  }
  if (const std::string* e = args_.Option("expires")) {
    auto when = ParseExpiry(*e);
    if (!when) return Fail(when.error());
    in["expires_at"] = *when;
  }
  return RunOp("app_password.add", in, [&](const Json& j) {
    return "app password " + std::to_string(U(j, "id")) + " for " + *mailbox + " (" + S(j, "label") + ", " +
           S(j, "protocols") + "), shown only now:\n\n    " + S(j, "password") + "\n\n";
  }, {"password"});
}

int Rosterctl::AppPasswordList_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  char line[512];
  std::snprintf(line, sizeof line, "%-6s %-4s %-24s %-22s %-20s %s\n", "ID", "SEL", "LABEL", "PROTOCOLS", "EXPIRES",
                "LAST USE");
  return RunList("app_password.list", Json{{"address", *mailbox}}, line, [&](const Json& a) {
    std::string expires =
        S(a, "expires").empty() ? "never" : TextTime(S(a, "expires")) + (B(a, "expired") ? " (expired)" : "");
    std::string used =
        S(a, "last_used").empty() ? "never" : TextTime(S(a, "last_used")) + " " + S(a, "last_used_ip");
    std::snprintf(line, sizeof line, "%-6llu %-4s %-24s %-22s %-20s %s\n",
                  static_cast<unsigned long long>(U(a, "id")), S(a, "selector").c_str(), S(a, "label").c_str(),
                  S(a, "protocols").c_str(), expires.c_str(), used.c_str());
    return std::string(line);
  });
}

int Rosterctl::AppPasswordRevoke_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  auto id = ParseCount(args_.words[3]);
  if (!id) return Fail(Error::Invalid("app password ID: " + id.error().message));
  Json in = {{"address", *mailbox}, {"id", *id}};
  return RunOp("app_password.revoke", in, [&](const Json&) {
    return "revoked app password " + std::to_string(*id) + " of " + *mailbox + "\n";
  });
}

int Rosterctl::MailboxAccess_(const Command&) {
  auto address = MailboxArgument();
  if (!address) return Fail(address.error());
  const std::string& mailbox = *address;
  Json in = {{"address", mailbox}};
  bool change = false;
  for (auto [option, field] : {std::pair<const char*, const char*>{"protocols", "protocols"},
                               std::pair<const char*, const char*>{"main-password", "main_password"}}) {
    if (const std::string* p = args_.Option(option)) {
      auto v = ParseAccessList(*p, option);
      if (!v) return Fail(v.error());
      in[field] = *p;
      change = true;
    }
  }
  // The webmail trap (a list naming webmail without auth_webmail_networks)
  // is the operation's to refuse; --force overrides it.
  if (change) in["force"] = args_.Has("force");
  auto access = Op(change ? "mailbox.set_access" : "mailbox.access", in);
  if (!access) return Fail(access.error());
  const Json& j = *access;
  auto bits_of = [](const Json& v) -> std::optional<unsigned> {
    if (v.is_null()) return std::nullopt;
    auto bits = ParseProtocols(v.get<std::string>());
    return bits ? std::optional<unsigned>(*bits) : std::optional<unsigned>(0u);
  };
  std::optional<unsigned> login = bits_of(j["protocols"]), main_password = bits_of(j["main_password"]);
  const bool no_webmail_networks = config_.GetList("auth_webmail_networks").empty();
  for (const std::optional<unsigned>* bits : {&login, &main_password}) {
    if (no_webmail_networks && *bits && (**bits & kProtoWebmail) != 0) {
      std::cerr << "rosterctl: warning: webmail is named, but auth_webmail_networks is not set in " << ConfigPath()
                << ": no login counts as webmail\n";
      break;
    }
  }
  if (json_) {
    std::cout << DumpJson(j) << "\n";
    return EX_OK;
  }
  std::cout << "mailbox:       " + mailbox + "\nprotocols:     " + AccessText(login) + "\nmain password: " +
                   (main_password ? AccessText(main_password) + " (elsewhere app passwords only)"
                                  : std::string("wherever the mailbox may log in")) +
                   "\n";
  return EX_OK;
}

int Rosterctl::MailboxLogins_(const Command&) {
  auto address = MailboxArgument();
  if (!address) return Fail(address.error());
  const std::string& mailbox = *address;
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  Json in = {{"address", mailbox}};
  // By default what the history promises (the operation's default: the
  // newest auth_login_history); --limit reads more, up to a page.
  const bool none = *limit && **limit == 0;  // "--limit 0" shows nothing (the operation's 0 is its default)
  if (*limit) in["limit"] = none ? 1 : std::min<uint64_t>(**limit, ops::kMaxPage);
  char line[512];
  std::snprintf(line, sizeof line, "%-19s %-10s %-40s %s\n", "TIME (UTC)", "PROTOCOL", "FROM", "PASSWORD");
  if (none) {
    auto checked = Op("mailbox.logins", in);  // the mailbox must still exist
    if (!checked) return Fail(checked.error());
    std::cout << (json_ ? std::string("[]\n") : std::string(line));
    return EX_OK;
  }
  return RunList("mailbox.logins", in, line, [&](const Json& l) {
    uint64_t app = U(l, "app_password_id");
    std::string label = S(l, "app_password_label");
    std::string which = app == 0 ? std::string("main")
                                 : "app " + std::to_string(app) + (label.empty() ? " (revoked)" : " (" + label + ")");
    std::snprintf(line, sizeof line, "%-19s %-10s %-40s %s\n", TextTime(S(l, "time")).c_str(),
                  S(l, "protocol").c_str(), S(l, "ip").c_str(), which.c_str());
    return std::string(line);
  });
}

int Rosterctl::MailboxInactive_(Json in) {
  const std::string* inactive = args_.Option("inactive");
  auto d = ParseDuration(*inactive);
  if (!d) return Fail(Error::Invalid("--inactive: a duration such as 90d: " + d.error().message));
  uint64_t days = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::hours>(*d).count() / 24);
  in["days"] = days;
  char line[128];
  std::snprintf(line, sizeof line, "%-40s %s\n", "ADDRESS", "LAST LOGIN (UTC)");
  return RunPages("mailbox.inactive", in, line, [&](const Json& m) {
    std::string last = S(m, "last_login");
    char row[512];
    std::snprintf(row, sizeof row, "%-40s %s\n", S(m, "address").c_str(),
                  last.empty() ? "never" : TextTime(last).c_str());
    return std::string(row);
  });
}

}  // namespace roster
