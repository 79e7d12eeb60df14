// cmd_admin.cc: rosterctl's administrator accounts and API keys of the
// administration service (ops/authn.h, migration 009): `admin add|list|show|
// del|passwd|totp|enable|disable|unlock` and `api-key add|list|revoke`, on the
// operations of ops/admin_ops.cc, as the mail administrator (each change in
// the change log with this run's actor).
//
// Trusts: nothing on the command line (names, domains, labels, durations are
// checked by the operations before any statement). Passwords come from the
// terminal or stdin, never argv; a new API key and a TOTP secret are printed
// once, to stdout, and never logged or kept.
#include <sysexits.h>

#include <cstdio>
#include <cstring>

#include "admin/password_input.h"
#include "admin/rosterctl.h"
#include "common/units.h"

namespace roster {
namespace {

// --domain D, given once or more, each possibly "a.test,b.test".
Json DomainList(const Args& args) {
  Json list = Json::array();
  for (const std::string& value : args.Values("domain")) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      if (end > start) list.push_back(value.substr(start, end - start));
      start = end + 1;
    }
  }
  return list;
}

std::string Scope(const Json& a) {
  std::string scope;
  for (const Json& d : a["domains"]) scope += (scope.empty() ? "" : ",") + d.get<std::string>();
  if (S(a, "kind") == "mail") return "everything";
  if (S(a, "kind") == "group") return (scope.empty() ? "(no domain)" : scope) + " / " + S(a, "department");
  return scope.empty() ? "(no domain)" : scope;
}

std::string Never(const Json& a, const char* key) {
  return a[key].is_null() ? std::string("never") : TextTime(a[key].get<std::string>());
}

std::string UnixText(const Json& v) {
  if (!v.is_number()) return "never";
  char text[32];
  time_t t = static_cast<time_t>(v.get<int64_t>());
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

}  // namespace

int Rosterctl::AdminList_(const Command&) {
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-7s %-6s %-5s %-20s %s\n", "NAME", "KIND", "ACTIVE", "TOTP", "LAST SIGN-IN",
                "SCOPE");
  return RunPages("admin.list", Json::object(), line, [&](const Json& a) {
    std::snprintf(line, sizeof line, "%-24s %-7s %-6s %-5s %-20s %s\n", S(a, "name").c_str(), S(a, "kind").c_str(),
                  B(a, "active") ? "yes" : "no", B(a, "totp") ? "yes" : "no", Never(a, "last_sign_in").c_str(),
                  Scope(a).c_str());
    return std::string(line);
  });
}

// admin add|passwd NAME
int Rosterctl::AdminAdd_(const Command& c) {
  const bool add = std::strcmp(c.verb, "add") == 0;
  const std::string name = args_.words[2];
  Json in = {{"name", name}};
  if (add) {
    const std::string* kind = args_.Option("kind");
    if (kind == nullptr) {
      usage_error_ = "admin add needs --kind mail|domain|group";
      return EX_USAGE;
    }
    in["kind"] = *kind;
    Json domains = DomainList(args_);
    if (!domains.empty()) in["domains"] = domains;
    if (const std::string* d = args_.Option("department")) in["department"] = *d;
  }
  auto password = ReadNewPassword(args_.Has("password-stdin"));
  if (!password) return Fail(password.error());
  in["password"] = password->value();
  int rc = RunOp(add ? "admin.add" : "admin.set_password", in, [&](const Json& a) {
    return add ? "added " + S(a, "kind") + " administrator " + S(a, "name") + "\n"
               : "changed the password of administrator " + name + "\n";
  });
  WipeString(in, "password");
  return rc;
}

int Rosterctl::AdminTotp_(const Command&) {
  const std::string& how = args_.words[3];
  if (how != "on" && how != "off") {
    usage_error_ = "admin totp NAME on|off";
    return EX_USAGE;
  }
  Json in = {{"name", args_.words[2]}, {"enable", how == "on"}};
  return RunOp("admin.set_totp", in, [&](const Json& j) {
    if (how == "off") return "administrator " + S(j, "name") + " signs in with its password alone\n";
    return "TOTP for administrator " + S(j, "name") +
           " (RFC 6238, SHA-1, 6 digits, 30 s), shown only now:\n\n    secret: " + S(j, "secret") + "\n    " +
           S(j, "uri") + "\n\n";
  }, {"secret", "uri"});
}

int Rosterctl::AdminShow_(const Command&) {
  return RunOp("admin.show", Json{{"name", args_.words[2]}}, [&](const Json& a) {
    return "name:           " + S(a, "name") + "\nkind:           " + S(a, "kind") + "\nscope:          " +
           Scope(a) + "\nactive:         " + (B(a, "active") ? "yes" : "no") + "\ntotp:           " +
           (B(a, "totp") ? "yes" : "no") + "\ncreated:        " + TextTime(S(a, "created")) +
           "\nlast sign-in:   " + Never(a, "last_sign_in") +
           (S(a, "last_sign_in_client").empty() ? "" : " from " + S(a, "last_sign_in_client")) +
           "\nfailures:       " + std::to_string(U(a, "failures")) + "\nlocked until:   " +
           UnixText(a["locked_until"]) + "\n";
  });
}

// admin del|enable|disable|unlock NAME: the operation admin.VERB.
int Rosterctl::AdminChange_(const Command& c) {
  const std::string verb = c.verb, name = args_.words[2];
  const std::string op = "admin." + verb;
  const std::string done = verb == "del" ? "deleted" : verb == "unlock" ? "unlocked" : verb + "d";
  return RunOp(op.c_str(), Json{{"name", name}},
               [&](const Json&) { return done + " administrator " + name + "\n"; });
}

// api-key add|list|revoke ADMIN ...
int Rosterctl::ApiKeyAdd_(const Command&) {
  const std::string admin = args_.words[2];
  Json in = {{"admin", admin}, {"read_only", args_.Has("read-only")}};
  Json domains = DomainList(args_);
  if (!domains.empty()) in["domains"] = domains;
  if (const std::string* label = args_.Option("label")) in["label"] = *label;
  if (const std::string* e = args_.Option("expires")) {
    auto when = ParseExpiry(*e);
    if (!when) return Fail(when.error());
    in["expires_at"] = *when;
  }
  return RunOp("api_key.add", in, [&](const Json& j) {
    std::string scope = B(j, "read_only") ? "read-only" : "read-write";
    for (const Json& d : j["domains"]) scope += " " + d.get<std::string>();
    return "API key " + std::to_string(U(j, "id")) + " of " + admin + " (" + scope + "), shown only now:\n\n    " +
           S(j, "key") + "\n\n";
  }, {"key"});
}

int Rosterctl::ApiKeyList_(const Command&) {
  char line[512];
  std::snprintf(line, sizeof line, "%-6s %-12s %-20s %-10s %-20s %-20s %s\n", "ID", "SELECTOR", "LABEL", "ACCESS",
                "EXPIRES", "LAST USE", "DOMAINS");
  return RunPages("api_key.list", Json{{"admin", args_.words[2]}}, line, [&](const Json& k) {
    std::string domains;
    for (const Json& d : k["domains"]) domains += (domains.empty() ? "" : ",") + d.get<std::string>();
    std::string expires = UnixText(k["expires_at"]) + (B(k, "expired") ? " (expired)" : "");
    std::string used = Never(k, "last_used");
    if (!S(k, "last_used_client").empty()) used += " " + S(k, "last_used_client");
    std::snprintf(line, sizeof line, "%-6llu %-12s %-20s %-10s %-20s %-20s %s\n",
                  static_cast<unsigned long long>(U(k, "id")), S(k, "selector").c_str(), S(k, "label").c_str(),
                  B(k, "read_only") ? "read-only" : "read-write", expires.c_str(), used.c_str(),
                  domains.empty() ? "(all)" : domains.c_str());
    return std::string(line);
  });
}

int Rosterctl::ApiKeyRevoke_(const Command&) {
  const std::string admin = args_.words[2];
  auto id = ParseCount(args_.words[3]);
  if (!id) return Fail(Error::Invalid("API key ID: " + id.error().message));
  Json in = {{"admin", admin}, {"id", *id}};
  return RunOp("api_key.revoke", in,
               [&](const Json&) { return "revoked API key " + std::to_string(*id) + " of " + admin + "\n"; });
}

}  // namespace roster
