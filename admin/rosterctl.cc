// rosterctl: the administrator's tool for roster's database: domains,
// mailboxes, passwords, quotas, subscriptions, last logins, the change log, and
// the schema and roles themselves (what vpopmail's vadddomain, vadduser,
// vdeluser, vpasswd, vsetuserquota and vmoduser did).
//
// Trusts: the invoking administrator (it runs with the admin role's
// credentials from the root-only secrets file); nothing in argv or stdin:
// every argument goes through the shared parsers before it reaches SQL, and a
// password is never taken from argv. Passwords are wiped after hashing and the
// process is made non-dumpable so they cannot land in a core file.
#include <pwd.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "admin/dovecot_flush.h"
#include "admin/import.h"
#include "admin/password_input.h"
#include "admin/rosterctl.h"
#include "admin/schema.h"
#include "common/admin_store.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/ip.h"
#include "common/json.h"
#include "common/password.h"
#include "common/text.h"
#include "common/units.h"
#include "roster-config.h"

namespace roster {
namespace {

constexpr char kDefaultConfig[] = ROSTER_CONFIG;

}  // namespace

int ExitCodeFor(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound: return EX_NOUSER;
    case ErrorKind::kTemporary: return EX_TEMPFAIL;
    case ErrorKind::kInvalid: return EX_DATAERR;
    case ErrorKind::kConflict: return EX_DATAERR;
    case ErrorKind::kForbidden: return EX_NOPERM;
    case ErrorKind::kPermanent:
      switch (e.db_code) {
        case 1044: case 1045: case 1142: case 1143: case 1227: case 1698:
          return EX_NOPERM;
        default:
          return EX_SOFTWARE;
      }
  }
  return EX_SOFTWARE;
}

namespace {
const char kUsageHead[] = "usage: rosterctl [--config FILE] [--json] [--actor NAME] COMMAND ...\n\n";
const char kUsageTail[] =
    "\nSIZE: bytes or 500M, 2G ...; 0 = unlimited. DURATION: 90d, 12h, 30m, 45s. See rosterctl(1).\n";
// Options every command takes.
const std::vector<const char*> kGlobalOptions = {"config", "actor"};
const std::vector<const char*> kGlobalFlags = {"json", "help", "version"};
}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"db", &Rosterctl::Db_, "  db init | migrate | roles | status\n", {}, {}},
      {"domain", &Rosterctl::Domain_,
       "  domain add DOMAIN [--transport T] [--quota SIZE] [--messages N] [--disabled]\n"
       "  domain del DOMAIN [--force]\n"
       "  domain enable|disable|show DOMAIN\n"
       "  domain list\n",
       {"transport", "quota", "messages"}, {"disabled", "force"}},
      {"mailbox", &Rosterctl::Mailbox_,
       "  mailbox add ADDRESS [--password-stdin | --hash-stdin] [--name TEXT] [--department TEXT]\n"
       "                      [--quota SIZE] [--messages N] [--unit NAME] [--disabled]\n"
       "  mailbox passwd ADDRESS [--password-stdin | --hash-stdin]\n"
       "  mailbox quota ADDRESS [--quota SIZE] [--messages N]\n"
       "  mailbox del|enable|disable|show ADDRESS\n"
       "  mailbox list [DOMAIN]\n"
       "  mailbox list [DOMAIN] --inactive DURATION       (no login for that long, e.g. 90d)\n"
       "  mailbox access ADDRESS [--protocols LIST|all] [--main-password LIST|all] [--force]\n"
       "  mailbox logins ADDRESS [--limit N]\n",
       {"name", "department", "quota", "messages", "unit", "inactive", "protocols", "main-password", "limit"},
       {"password-stdin", "hash-stdin", "disabled", "force"}},
      {"sub", &Rosterctl::Sub_,
       "  sub add|del ADDRESS RECIPIENT [--outgoing]     (ADDRESS may be @domain)\n"
       "  sub list [ADDRESS]\n",
       {}, {"outgoing"}},
      {"send-as", &Rosterctl::SendAs_,
       "  send-as grant|revoke ADDRESS LOGIN   LOGIN may send as ADDRESS (ADDRESS may be @domain)\n"
       "  send-as list [ADDRESS|LOGIN] [--limit N]\n",
       {"limit"}, {}},
      {"lastlogin", &Rosterctl::LastLogin_, "  lastlogin [ADDRESS] [--limit N]\n", {"limit"}, {}},
      {"log", &Rosterctl::Log_,
       "  log [--account ADDRESS] [--actor NAME] [--action NAME] [--since DATE] [--limit N]\n",
       {"account", "action", "since", "limit"}, {}},
      {"import", &Rosterctl::Import_, "  import seed003 DATABASE\n", {}, {}},
      {"app-password", &Rosterctl::AppPassword_,
       "  app-password add ADDRESS --label TEXT [--protocols LIST] [--expires DURATION|DATE]\n"
       "  app-password list ADDRESS\n"
       "  app-password revoke ADDRESS ID\n",
       {"label", "protocols", "expires"}, {}},
      {"outbound", &Rosterctl::Outbound_,
       "  outbound show|lift ADDRESS\n"
       "  outbound set ADDRESS [--per-hour N] [--per-day N] [--rcpt-per-message N] [--rcpt-per-day N]\n"
       "                       (N: 0 = unlimited, or default = the domain's)\n"
       "  outbound defaults DOMAIN [--per-hour N] [--per-day N] [--rcpt-per-message N] [--rcpt-per-day N]\n"
       "  outbound suspend ADDRESS [--reason TEXT]\n"
       "  outbound suspended\n",
       {"per-hour", "per-day", "rcpt-per-message", "rcpt-per-day", "reason"}, {}},
  };
  return kCommands;
}

std::string UsageText() {
  std::string text = kUsageHead;
  for (const Command& c : Commands()) text += c.usage;
  return text + kUsageTail;
}

namespace {

// The options any command declares are recognised here; each subcommand
// then refuses those that do not apply to it (Rosterctl::AllowOnly).
Result<Args> ParseArgs(int argc, char** argv) {
  std::set<std::string> value_options(kGlobalOptions.begin(), kGlobalOptions.end());
  std::set<std::string> flag_options(kGlobalFlags.begin(), kGlobalFlags.end());
  for (const Command& c : Commands()) {
    value_options.insert(c.options.begin(), c.options.end());
    flag_options.insert(c.flags.begin(), c.flags.end());
  }
  Args args;
  bool only_words = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (only_words || a.size() < 2 || a[0] != '-') {
      args.words.push_back(a);
      continue;
    }
    if (a == "--") {
      only_words = true;
      continue;
    }
    if (a == "-p" || a.compare(0, 10, "--password") == 0) {
      if (a != "--password-stdin")
        return Error::Invalid(
            "passwords are not accepted on the command line (other users can read it): "
            "use --password-stdin or type it at the prompt");
    }
    if (a.compare(0, 2, "--") != 0) return Error::Invalid("unknown option " + a);
    std::string name = a.substr(2), value;
    bool has_value = false;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (flag_options.count(name)) {
      if (has_value) return Error::Invalid("--" + name + " takes no value");
      args.flags.insert(name);
    } else if (value_options.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) return Error::Invalid("--" + name + " needs a value");
        value = argv[++i];
      }
      args.options[name] = value;
    } else {
      return Error::Invalid("unknown option --" + name);
    }
  }
  return args;
}

}  // namespace

Result<std::string> CheckText(const std::string& text, const char* what, size_t max) {
  ROSTER_TRY(CheckFreeText(text, what, max));
  return text;
}


Actor Rosterctl::MakeActor() const {
  Actor a;
  if (const std::string* name = args_.Option("actor")) {
    a.name = *name;
  } else if (const char* sudo = getenv("SUDO_USER"); sudo && *sudo) {
    a.name = sudo;
  } else if (struct passwd* pw = getpwuid(getuid())) {
    a.name = pw->pw_name;
  } else {
    a.name = "uid:" + std::to_string(getuid());
  }
  a.origin = "local";
  if (const char* ssh = getenv("SSH_CLIENT"); ssh && *ssh) {
    std::string first(ssh);
    first = first.substr(0, first.find(' '));
    if (PackIp(first).ok()) a.origin = first;
  }
  return a;
}

std::string Rosterctl::ConfigPath() const {
  const std::string* path = args_.Option("config");
  return path ? *path : kDefaultConfig;
}

int Rosterctl::Fail(const Error& e) {
  std::cerr << "rosterctl: " << e.message << "\n";
  if (json_) {
    JsonWriter j;
    j.BeginObject().Key("error").BeginObject().Field("kind", ErrorKindName(e.kind)).Field("message", e.message);
    j.EndObject().EndObject();
    std::cout << j.str() << "\n";
  }
  return ExitCodeFor(e);
}

int Rosterctl::Usage(const std::string& why) {
  std::cerr << "rosterctl: " << why << "\n" << UsageText();
  return EX_USAGE;
}

void Rosterctl::Emit(const JsonWriter& json, const std::string& text) {
  if (json_) std::cout << json.str() << "\n";
  else std::cout << text;
}

bool Rosterctl::ExpectWords(size_t min, size_t max) {
  if (args_.words.size() < min) {
    usage_error_ = "missing argument";
    return false;
  }
  if (args_.words.size() > max) {
    usage_error_ = "unexpected argument '" + args_.words[max] + "'";
    return false;
  }
  return true;
}

void Rosterctl::AllowOnly(std::initializer_list<const char*> names) {
  std::set<std::string> allowed = {"config", "json", "actor"};
  for (const char* n : names) allowed.insert(n);
  for (const auto& [k, v] : args_.options)
    if (!allowed.count(k) && usage_error_.empty()) usage_error_ = "--" + k + " does not apply here";
  for (const auto& k : args_.flags)
    if (!allowed.count(k) && usage_error_.empty()) usage_error_ = "--" + k + " does not apply here";
}

Result<std::unique_ptr<Db>> Rosterctl::Connect(DbRole role, bool with_database) {
  auto settings = DbSettings::FromConfig(config_, role);
  if (!settings) return settings.error();
  if (!with_database) settings->database.clear();
  return std::make_unique<Db>(std::move(*settings));
}

int Rosterctl::WithStore(const std::function<Status(AdminStore&)>& body) {
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  AdminStore accounts(**db);
  Status s = body(accounts);
  if (!s) return Fail(s.error());
  return EX_OK;
}

void Rosterctl::FlushAuthCache(const std::vector<std::string>& users) const {
  std::vector<std::string> keys;
  // The driver's cache key is the address as Dovecot lower-cases it (%Lu):
  // ASCII letters only, as a login compares (LoginStore::FindMailboxForLogin).
  for (const std::string& u : users) keys.push_back(AsciiLower(u));
  auto flushed = FlushDovecotAuthCache(config_.GetString("dovecot_auth_master"), keys);
  if (flushed) {
    std::cerr << "rosterctl: Dovecot's auth cache: " << *flushed << " entr" << (*flushed == 1 ? "y" : "ies")
              << " flushed\n";
  } else if (!flushed.error().is_not_found()) {
    std::cerr << "rosterctl: warning: could not flush Dovecot's auth cache (" << flushed.error().message
              << "): old credentials may work until auth_cache_ttl expires\n";
  }
}

Result<Address> Rosterctl::MailboxAddress(const std::string& text) const {
  return ParseMailboxName(text);
}

Result<std::string> Rosterctl::SubscriptionAddress(const std::string& text) const {
  if (!text.empty() && text[0] == '@') {
    auto d = ParseDomain(text.substr(1));
    if (!d) return d.error();
    return "@" + *d;
  }
  auto a = MailboxAddress(text);
  if (!a) return a.error();
  return a->Mailbox();
}

Result<std::optional<uint64_t>> Rosterctl::OptionalSize(const char* option) const {
  const std::string* v = args_.Option(option);
  if (!v) return std::optional<uint64_t>();
  auto r = ParseSize(*v);
  if (!r) return Error::Invalid("--" + std::string(option) + ": " + r.error().message);
  return std::optional<uint64_t>(*r);
}

Result<std::optional<uint64_t>> Rosterctl::OptionalCount(const char* option) const {
  const std::string* v = args_.Option(option);
  if (!v) return std::optional<uint64_t>();
  auto r = ParseCount(*v);
  if (!r) return Error::Invalid("--" + std::string(option) + ": " + r.error().message);
  return std::optional<uint64_t>(*r);
}

std::string Limit(uint64_t v, bool bytes) {
  if (v == 0) return "unlimited";
  return bytes ? FormatSize(v) + " (" + std::to_string(v) + ")" : std::to_string(v);
}

std::string TextTime(const std::string& time) {
  return time.size() > 19 && time[19] == '.' ? time.substr(0, 19) : time;
}

int Rosterctl::Run() {
  if (args_.words.empty()) return Usage("no command given");
  const std::string& command = args_.words[0];
  for (const Command& c : Commands()) {
    if (command != c.name) continue;
    int rc = (this->*c.run)();
    if (!usage_error_.empty()) return Usage(usage_error_);
    return rc;
  }
  return Usage("unknown command '" + command + "'");
}

// ------------------------------------------------------------------ db

int Rosterctl::Db_() {
  AllowOnly({});
  if (!ExpectWords(2, 2) || !usage_error_.empty()) return EX_USAGE;
  const std::string& sub = args_.words[1];
  JsonWriter j;
  std::string text;
  if (sub == "init" || sub == "roles") {
    auto setup = Connect(DbRole::kSetup, false);
    if (!setup) return Fail(setup.error());
    j.BeginObject();
    if (sub == "init") {
      Status created = CreateDatabase(**setup, config_.GetString("db_name"));
      if (!created) return Fail(created.error());
      auto settings = DbSettings::FromConfig(config_, DbRole::kSetup);
      if (!settings) return Fail(settings.error());
      settings->database = config_.GetString("db_name");
      Db schema_db(std::move(*settings));
      auto report = Migrate(schema_db);
      if (!report) return Fail(report.error());
      j.Field("database", config_.GetString("db_name")).Field("schema_from", int64_t{report->from});
      j.Field("schema_to", int64_t{report->to});
      text += "database " + config_.GetString("db_name") + ": schema version " + std::to_string(report->from) +
              " -> " + std::to_string(report->to) + "\n";
    }
    auto roles = ApplyRoles(**setup, config_);
    if (!roles) return Fail(roles.error());
    j.Key("roles").BeginArray();
    for (const RoleReport& r : *roles) {
      j.BeginObject().Field("role", r.role).Field("user", r.user).Field("status", r.status).EndObject();
      text += "role " + r.user + ": " + r.status + "\n";
    }
    j.EndArray().EndObject();
    Emit(j, text);
    return EX_OK;
  }
  if (sub == "migrate") {
    auto db = Connect(DbRole::kAdmin);
    if (!db) return Fail(db.error());
    auto report = Migrate(**db);
    if (!report) {
      if (report.error().kind == ErrorKind::kConflict) {
        Fail(report.error());
        return EX_UNAVAILABLE;
      }
      return Fail(report.error());
    }
    j.BeginObject().Field("schema_from", int64_t{report->from}).Field("schema_to", int64_t{report->to});
    j.Key("applied").BeginArray();
    for (const std::string& m : report->applied) j.String(m);
    j.EndArray().EndObject();
    text = report->applied.empty() ? "schema is up to date (version " + std::to_string(report->to) + ")\n"
                                   : "schema version " + std::to_string(report->from) + " -> " +
                                         std::to_string(report->to) + "\n";
    for (const std::string& m : report->applied) text += "applied " + m + "\n";
    Emit(j, text);
    return EX_OK;
  }
  if (sub == "status") {
    auto db = Connect(DbRole::kAdmin);
    if (!db) return Fail(db.error());
    auto version = (*db)->Query("SELECT VERSION()");
    if (!version) return Fail(version.error());
    auto schema = CurrentSchemaVersion(**db);
    if (!schema) return Fail(schema.error());
    uint64_t domains = 0, mailboxes = 0;
    if (*schema > 0) {
      auto counts = (*db)->Query("SELECT (SELECT COUNT(*) FROM domain), (SELECT COUNT(*) FROM mailbox)");
      if (!counts) return Fail(counts.error());
      domains = counts->front().Uint(0);
      mailboxes = counts->front().Uint(1);
    }
    std::string server = version->empty() ? "" : version->front().String(0);
    std::string state = *schema == LatestSchemaVersion() ? "up to date"
                        : *schema < LatestSchemaVersion() ? "needs rosterctl db migrate"
                                                           : "newer than this rosterctl";
    j.BeginObject().Field("connection", (*db)->Describe()).Field("server", server);
    j.Field("schema_version", int64_t{*schema}).Field("tool_schema_version", int64_t{LatestSchemaVersion()});
    j.Field("state", state).Field("domains", domains).Field("mailboxes", mailboxes).EndObject();
    text = "connection:      " + (*db)->Describe() + "\nserver:          " + server +
           "\nschema version:  " + std::to_string(*schema) + " (this rosterctl: " +
           std::to_string(LatestSchemaVersion()) + ", " + state + ")\ndomains:         " + std::to_string(domains) +
           "\nmailboxes:       " + std::to_string(mailboxes) + "\n";
    Emit(j, text);
    return *schema > LatestSchemaVersion() ? EX_UNAVAILABLE : EX_OK;
  }
  usage_error_ = "unknown db command '" + sub + "'";
  return EX_USAGE;
}

// ------------------------------------------------------------------ domain

void DomainJson(JsonWriter& j, const Domain& d) {
  j.BeginObject().Field("name", d.name).Field("transport", d.transport).Field("active", d.active);
  j.Field("default_max_bytes", d.default_max_bytes).Field("default_max_messages", d.default_max_messages);
  j.Field("mailboxes", d.mailboxes).Field("created_at", d.created_at).EndObject();
}

int Rosterctl::Domain_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing domain command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  if (sub == "list") {
    AllowOnly({});
    if (!ExpectWords(2, 2) || !usage_error_.empty()) return EX_USAGE;
    return WithStore([&](AdminStore& a) -> Status {
      auto list = a.ListDomains();
      if (!list) return list.error();
      JsonWriter j;
      j.BeginArray();
      char line[512];
      std::string text;
      std::snprintf(line, sizeof line, "%-32s %-8s %9s %-20s %s\n", "DOMAIN", "ACTIVE", "MAILBOXES", "TRANSPORT",
                    "DEFAULT QUOTA");
      text += line;
      for (const Domain& d : *list) {
        DomainJson(j, d);
        std::snprintf(line, sizeof line, "%-32s %-8s %9llu %-20s %s\n", d.name.c_str(), d.active ? "yes" : "no",
                      static_cast<unsigned long long>(d.mailboxes), d.transport.empty() ? "(local)" : d.transport.c_str(),
                      Limit(d.default_max_bytes, true).c_str());
        text += line;
      }
      j.EndArray();
      Emit(j, text);
      return Status::Ok();
    });
  }
  if (sub == "add") AllowOnly({"transport", "quota", "messages", "disabled"});
  else if (sub == "del") AllowOnly({"force"});
  else AllowOnly({});
  if (!ExpectWords(3, 3) || !usage_error_.empty()) return EX_USAGE;
  auto name = ParseDomain(args_.words[2]);
  if (!name) return Fail(name.error());

  if (sub == "add") {
    Domain d;
    d.name = *name;
    if (const std::string* t = args_.Option("transport")) {
      auto checked = CheckText(*t, "--transport", 255);
      if (!checked) return Fail(checked.error());
      d.transport = *checked;
    }
    auto quota = OptionalSize("quota");
    if (!quota) return Fail(quota.error());
    auto messages = OptionalCount("messages");
    if (!messages) return Fail(messages.error());
    d.default_max_bytes = quota->value_or(0);
    d.default_max_messages = messages->value_or(0);
    d.active = !args_.Has("disabled");
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.AddDomain(d, actor_));
      JsonWriter j;
      j.BeginObject().Field("added", d.name).EndObject();
      Emit(j, "added domain " + d.name + "\n");
      return Status::Ok();
    });
  }
  if (sub == "del") {
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.DeleteDomain(*name, args_.Has("force"), actor_));
      FlushAuthCache({});
      JsonWriter j;
      j.BeginObject().Field("deleted", *name).EndObject();
      Emit(j, "deleted domain " + *name + "\n");
      return Status::Ok();
    });
  }
  if (sub == "enable" || sub == "disable") {
    bool active = sub == "enable";
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.SetDomainActive(*name, active, actor_));
      FlushAuthCache({});  // every cached answer about the domain's mailboxes
      JsonWriter j;
      j.BeginObject().Field("domain", *name).Field("active", active).EndObject();
      Emit(j, std::string(active ? "enabled" : "disabled") + " domain " + *name + "\n");
      return Status::Ok();
    });
  }
  if (sub == "show") {
    return WithStore([&](AdminStore& a) -> Status {
      auto d = a.GetDomain(*name);
      if (!d) return d.error();
      JsonWriter j;
      DomainJson(j, *d);
      Emit(j, "domain:          " + d->name + "\nactive:          " + (d->active ? "yes" : "no") +
                  "\ntransport:       " + (d->transport.empty() ? "(local delivery)" : d->transport) +
                  "\ndefault quota:   " + Limit(d->default_max_bytes, true) +
                  "\ndefault messages: " + Limit(d->default_max_messages, false) +
                  "\nmailboxes:       " + std::to_string(d->mailboxes) + "\ncreated:         " + d->created_at +
                  "\n");
      return Status::Ok();
    });
  }
  usage_error_ = "unknown domain command '" + sub + "'";
  return EX_USAGE;
}

// ------------------------------------------------------------------ mailbox

void MailboxJson(JsonWriter& j, const Mailbox& m) {
  j.BeginObject().Field("address", m.address).Field("domain", m.domain).Field("active", m.active);
  j.Field("domain_active", m.domain_active).Field("name", m.display_name).Field("department", m.department);
  j.Field("max_bytes", m.max_bytes).Field("max_messages", m.max_messages).Field("unit", m.unit);
  j.Field("password_scheme", m.password_scheme).Field("created_at", m.created_at).Field("updated_at", m.updated_at);
  j.Field("password_changed_at", m.password_changed_at);
  j.Key("usage");
  if (m.usage) j.BeginObject().Field("bytes", m.usage->bytes).Field("messages", m.usage->messages).EndObject();
  else j.Null();
  j.EndObject();
}

int Rosterctl::Mailbox_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing mailbox command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  if (sub == "list") {
    // mailbox list [DOMAIN] [--inactive DURATION]
    bool inactive = args_.Option("inactive") != nullptr;
    if (inactive) AllowOnly({"inactive"});
    else AllowOnly({});
    if (!ExpectWords(2, 3) || !usage_error_.empty()) return EX_USAGE;
    std::string domain;
    if (args_.words.size() == 3) {
      auto d = ParseDomain(args_.words[2]);
      if (!d) return Fail(d.error());
      domain = *d;
    }
    if (inactive) return MailboxInactive_(domain);
    return WithStore([&](AdminStore& a) -> Status {
      if (!domain.empty()) {
        auto d = a.GetDomain(domain);
        if (!d) return d.error();
      }
      // Streamed: a large domain is printed as it is read.
      if (json_) std::cout << "[";
      else std::printf("%-40s %-6s %-14s %-10s %s\n", "ADDRESS", "ACTIVE", "QUOTA", "MESSAGES", "USED");
      bool first = true;
      Status s = a.ListMailboxes(domain, [&](const Mailbox& m) {
        if (json_) {
          JsonWriter j;
          MailboxJson(j, m);
          std::cout << (first ? "" : ",") << j.str();
        } else {
          std::string used = m.usage ? FormatSize(static_cast<uint64_t>(m.usage->bytes < 0 ? 0 : m.usage->bytes)) +
                                           "/" + std::to_string(m.usage->messages)
                                     : "-";
          std::printf("%-40s %-6s %-14s %-10s %s\n", m.address.c_str(), m.active ? "yes" : "no",
                      m.max_bytes ? FormatSize(m.max_bytes).c_str() : "unlimited",
                      m.max_messages ? std::to_string(m.max_messages).c_str() : "unlimited", used.c_str());
        }
        first = false;
        return true;
      });
      if (json_) std::cout << "]\n";
      return s;
    });
  }
  if (sub == "add")
    AllowOnly({"password-stdin", "hash-stdin", "name", "department", "quota", "messages", "unit", "disabled"});
  else if (sub == "passwd") AllowOnly({"password-stdin", "hash-stdin"});
  else if (sub == "quota") AllowOnly({"quota", "messages"});
  else if (sub == "access") AllowOnly({"protocols", "main-password", "force"});
  else if (sub == "logins") AllowOnly({"limit"});
  else AllowOnly({});
  if (!ExpectWords(3, 3) || !usage_error_.empty()) return EX_USAGE;
  auto address = MailboxAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  const std::string mailbox = address->Mailbox();
  if (sub == "access") return MailboxAccess_(mailbox);
  if (sub == "logins") return MailboxLogins_(mailbox);

  if (sub == "add" || sub == "passwd") {
    auto policy = PasswordPolicy::FromConfig(config_);
    if (!policy) return Fail(policy.error());
    NewMailbox nm;
    nm.address = mailbox;
    if (sub == "add") {
      for (auto [option, field] : {std::pair<const char*, std::string*>{"name", &nm.display_name},
                                   std::pair<const char*, std::string*>{"department", &nm.department}}) {
        if (const std::string* v = args_.Option(option)) {
          auto checked = CheckText(*v, option, 255);
          if (!checked) return Fail(checked.error());
          *field = *checked;
        }
      }
      if (const std::string* u = args_.Option("unit")) {
        Status ok = u->empty() ? Status::Ok() : CheckSqlName(*u, "--unit", true);
        if (!ok) return Fail(ok.error());
        nm.unit = *u;
      }
      auto quota = OptionalSize("quota");
      if (!quota) return Fail(quota.error());
      auto messages = OptionalCount("messages");
      if (!messages) return Fail(messages.error());
      nm.max_bytes = *quota;
      nm.max_messages = *messages;
      nm.active = !args_.Has("disabled");
    }
    if (args_.Has("hash-stdin") && args_.Has("password-stdin")) {
      usage_error_ = "--password-stdin and --hash-stdin exclude each other";
      return EX_USAGE;
    }
    if (args_.Has("hash-stdin")) {
      // An existing hash (a migration): the password itself is never known.
      auto line = ReadNewPassword(true);
      if (!line) return Fail(line.error());
      auto hash = CheckForeignHash(line->value());
      if (!hash) return Fail(hash.error());
      nm.password_hash = *hash;
    } else {
      auto password = ReadNewPassword(args_.Has("password-stdin"));
      if (!password) return Fail(password.error());
      auto hash = PasswordHasher(*policy).Hash(password->value());
      if (!hash) return Fail(hash.error());
      nm.password_hash = *hash;
    }
    return WithStore([&](AdminStore& a) -> Status {
      if (sub == "add") ROSTER_TRY(a.AddMailbox(nm, actor_));  // Dovecot may hold "unknown user"
      else ROSTER_TRY(a.SetPasswordHash(mailbox, nm.password_hash, actor_));
      FlushAuthCache({mailbox});
      JsonWriter j;
      j.BeginObject().Field(sub == "add" ? "added" : "password_changed", mailbox).EndObject();
      Emit(j, sub == "add" ? "added mailbox " + mailbox + "\n" : "changed the password of " + mailbox + "\n");
      return Status::Ok();
    });
  }
  if (sub == "del") {
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.DeleteMailbox(mailbox, actor_));
      FlushAuthCache({mailbox});
      JsonWriter j;
      j.BeginObject().Field("deleted", mailbox).EndObject();
      Emit(j, "deleted mailbox " + mailbox + "\n");
      return Status::Ok();
    });
  }
  if (sub == "enable" || sub == "disable") {
    bool active = sub == "enable";
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.SetMailboxActive(mailbox, active, actor_));
      FlushAuthCache({mailbox});
      JsonWriter j;
      j.BeginObject().Field("mailbox", mailbox).Field("active", active).EndObject();
      Emit(j, std::string(active ? "enabled" : "disabled") + " mailbox " + mailbox + "\n");
      return Status::Ok();
    });
  }
  if (sub == "quota") {
    auto quota = OptionalSize("quota");
    if (!quota) return Fail(quota.error());
    auto messages = OptionalCount("messages");
    if (!messages) return Fail(messages.error());
    if (!*quota && !*messages) {
      usage_error_ = "mailbox quota needs --quota SIZE and/or --messages N";
      return EX_USAGE;
    }
    return WithStore([&](AdminStore& a) -> Status {
      ROSTER_TRY(a.SetMailboxQuota(mailbox, *quota, *messages, actor_));
      FlushAuthCache({mailbox});  // the userdb's quota_rule changed
      auto m = a.GetMailbox(mailbox);
      if (!m) return m.error();
      JsonWriter j;
      j.BeginObject().Field("mailbox", mailbox).Field("max_bytes", m->max_bytes);
      j.Field("max_messages", m->max_messages).EndObject();
      Emit(j, "quota of " + mailbox + ": " + Limit(m->max_bytes, true) + ", messages: " +
                  Limit(m->max_messages, false) + "\n");
      return Status::Ok();
    });
  }
  if (sub == "show") {
    return WithStore([&](AdminStore& a) -> Status {
      auto m = a.GetMailbox(mailbox);
      if (!m) return m.error();
      JsonWriter j;
      MailboxJson(j, *m);
      std::string usage = m->usage ? std::to_string(m->usage->bytes) + " bytes, " +
                                         std::to_string(m->usage->messages) + " messages"
                                   : "(no usage row: Dovecot recounts on next access)";
      Emit(j, "address:         " + m->address + "\nactive:          " + (m->active ? "yes" : "no") +
                  (m->domain_active ? "" : " (domain disabled)") + "\nname:            " + m->display_name +
                  "\ndepartment:      " + m->department + "\nquota:           " + Limit(m->max_bytes, true) +
                  "\nmessages:        " + Limit(m->max_messages, false) + "\nusage:           " + usage +
                  "\nunit:            " + (m->unit.empty() ? "(this host)" : m->unit) +
                  "\npassword scheme: " + (m->password_scheme.empty() ? "(none)" : m->password_scheme) +
                  "\npassword set:    " + m->password_changed_at + "\ncreated:         " + m->created_at +
                  "\nupdated:         " + m->updated_at + "\n");
      return Status::Ok();
    });
  }
  usage_error_ = "unknown mailbox command '" + sub + "'";
  return EX_USAGE;
}

// ------------------------------------------------------------------ sub

int Rosterctl::Sub_() {
  if (args_.words.size() < 2) {
    usage_error_ = "missing sub command";
    return EX_USAGE;
  }
  const std::string sub = args_.words[1];
  if (sub == "list") {
    AllowOnly({});
    if (!ExpectWords(2, 3) || !usage_error_.empty()) return EX_USAGE;
    std::string address;
    if (args_.words.size() == 3) {
      auto a = SubscriptionAddress(args_.words[2]);
      if (!a) return Fail(a.error());
      address = *a;
    }
    return WithStore([&](AdminStore& a) -> Status {
      auto list = a.ListSubscriptions(address);
      if (!list) return list.error();
      JsonWriter j;
      j.BeginArray();
      std::string text;
      for (const Subscription& s : *list) {
        j.BeginObject().Field("address", s.address).Field("direction", s.direction == 'I' ? "incoming" : "outgoing");
        j.Field("recipient", s.recipient).EndObject();
        text += s.address + (s.direction == 'I' ? "  incoming -> " : "  outgoing -> ") + s.recipient + "\n";
      }
      j.EndArray();
      Emit(j, text);
      return Status::Ok();
    });
  }
  if (sub != "add" && sub != "del") {
    usage_error_ = "unknown sub command '" + sub + "'";
    return EX_USAGE;
  }
  AllowOnly({"outgoing"});
  if (!ExpectWords(4, 4) || !usage_error_.empty()) return EX_USAGE;
  auto address = SubscriptionAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  auto recipient = MailboxAddress(args_.words[3]);
  if (!recipient) return Fail(recipient.error());
  Subscription s{0, args_.Has("outgoing") ? 'O' : 'I', *address, recipient->Mailbox()};
  if (s.direction == 'O' && s.address[0] == '@') {
    usage_error_ = "outgoing subscriptions (sender BCC) need a full address";
    return EX_USAGE;
  }
  return WithStore([&](AdminStore& a) -> Status {
    ROSTER_TRY(sub == "add" ? a.AddSubscription(s, actor_) : a.DeleteSubscription(s, actor_));
    JsonWriter j;
    j.BeginObject().Field(sub == "add" ? "added" : "deleted", s.address);
    j.Field("direction", s.direction == 'I' ? "incoming" : "outgoing").Field("recipient", s.recipient).EndObject();
    Emit(j, std::string(sub == "add" ? "added " : "deleted ") + s.address +
                (s.direction == 'I' ? " incoming -> " : " outgoing -> ") + s.recipient + "\n");
    return Status::Ok();
  });
}

// ------------------------------------------------------------------ lastlogin, log

int Rosterctl::LastLogin_() {
  AllowOnly({"limit"});
  if (!ExpectWords(1, 2) || !usage_error_.empty()) return EX_USAGE;
  std::string address;
  if (args_.words.size() == 2) {
    auto a = MailboxAddress(args_.words[1]);
    if (!a) return Fail(a.error());
    address = a->Mailbox();
  }
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  return WithStore([&](AdminStore& a) -> Status {
    if (!address.empty()) {
      auto m = a.GetMailbox(address);
      if (!m) return m.error();
    }
    auto list = a.LastLogins(address, limit->value_or(100));
    if (!list) return list.error();
    JsonWriter j;
    j.BeginArray();
    char line[600];
    std::snprintf(line, sizeof line, "%-40s %-8s %-39s %s\n", "ADDRESS", "PROTOCOL", "IP", "TIME (UTC)");
    std::string text = line;
    for (const LastLogin& l : *list) {
      j.BeginObject().Field("address", l.address).Field("protocol", l.protocol).Field("ip", l.ip);
      j.Field("time", l.logged_at).EndObject();
      std::snprintf(line, sizeof line, "%-40s %-8s %-39s %s\n", l.address.c_str(), l.protocol.c_str(), l.ip.c_str(),
                    l.logged_at.c_str());
      text += line;
    }
    j.EndArray();
    Emit(j, text);
    return Status::Ok();
  });
}

int Rosterctl::Log_() {
  AllowOnly({"account", "action", "since", "limit"});
  if (!ExpectWords(1, 1) || !usage_error_.empty()) return EX_USAGE;
  ChangeLogFilter f;
  if (const std::string* v = args_.Option("account")) {
    auto a = SubscriptionAddress(*v);
    if (a) f.object = *a;
    else {
      auto d = ParseDomain(*v);
      if (!d) return Fail(a.error());
      f.object = *d;
    }
  }
  // --actor is global (who makes a change); as a filter it names whose changes to show.
  if (const std::string* v = args_.Option("actor")) f.actor = *v;
  if (const std::string* v = args_.Option("action")) f.action = *v;
  if (const std::string* v = args_.Option("since")) {
    bool ok = v->size() == 10 || v->size() == 19;
    for (size_t i = 0; ok && i < v->size(); ++i) {
      char c = (*v)[i];
      ok = (i == 4 || i == 7) ? c == '-' : i == 10 ? c == ' ' : (i == 13 || i == 16) ? c == ':' : isdigit(c);
    }
    if (!ok) return Fail(Error::Invalid("--since wants YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\""));
    f.since = *v;
  }
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  f.limit = limit->value_or(100);
  return WithStore([&](AdminStore& a) -> Status {
    auto list = a.ListChangeLog(f);
    if (!list) return list.error();
    JsonWriter j;
    j.BeginArray();
    std::string text;
    for (const ChangeLogEntry& e : *list) {
      j.BeginObject().Field("id", e.id).Field("at", e.at).Field("actor", e.actor).Field("origin", e.origin);
      j.Field("action", e.action).Field("object", e.object).Field("detail", e.detail).EndObject();
      text += TextTime(e.at) + "  " + e.actor + "@" + e.origin + "  " + e.action + "  " + e.object +
              (e.detail.empty() ? "" : "  " + e.detail) + "\n";
    }
    j.EndArray();
    Emit(j, text);
    return Status::Ok();
  });
}

// ------------------------------------------------------------------ import

int Rosterctl::Import_() {
  AllowOnly({});
  if (!ExpectWords(3, 3) || !usage_error_.empty()) return EX_USAGE;
  if (args_.words[1] != "seed003") {
    usage_error_ = "unknown import source '" + args_.words[1] + "' (known: seed003)";
    return EX_USAGE;
  }
  const std::string& source_db = args_.words[2];
  if (Status ok = CheckSqlName(source_db, "DATABASE", false); !ok) return Fail(ok.error());
  // The old tables are read as the setup user (root over the server's socket,
  // as db init): no roster role may read another database.
  auto source = Connect(DbRole::kSetup, false);
  if (!source) return Fail(source.error());
  return WithStore([&](AdminStore& a) -> Status {
    auto report = ImportSeed003(**source, source_db, a, actor_);
    if (!report) return report.error();
    if (report->mailboxes > 0) FlushAuthCache({});  // Dovecot may hold "unknown user" for them
    JsonWriter j;
    j.BeginObject().Field("domains", report->domains).Field("mailboxes", report->mailboxes);
    j.Field("subscriptions", report->subscriptions);
    std::string text = "imported " + std::to_string(report->domains) + " domain(s), " +
                       std::to_string(report->mailboxes) + " mailbox(es), " + std::to_string(report->subscriptions) +
                       " subscription(s)\n";
    for (auto [key, items] : {std::pair<const char*, const std::vector<ImportReport::Item>*>{"skipped", &report->skipped},
                              std::pair<const char*, const std::vector<ImportReport::Item>*>{"warnings",
                                                                                            &report->warnings}}) {
      j.Key(key).BeginArray();
      for (const ImportReport::Item& item : *items) {
        j.BeginObject().Field("kind", item.kind).Field("object", item.object).Field("reason", item.reason).EndObject();
        text += std::string(key == std::string("skipped") ? "skipped " : "warning: ") + item.kind + " " + item.object +
                ": " + item.reason + "\n";
      }
      j.EndArray();
    }
    j.EndObject();
    Emit(j, text);
    return Status::Ok();
  });
}

}  // namespace roster

int main(int argc, char** argv) {
  using namespace roster;
  // A password typed here must not end up in a core file.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto args = ParseArgs(argc, argv);
  if (!args) {
    std::cerr << "rosterctl: " << args.error().message << "\n" << UsageText();
    return EX_USAGE;
  }
  if (args->Has("help")) {
    std::cout << UsageText();
    return EX_OK;
  }
  if (args->Has("version")) {
    std::cout << "rosterctl " PACKAGE_VERSION " (schema " << LatestSchemaVersion() << ")\n";
    return EX_OK;
  }
  const std::string* path = args->Option("config");
  std::string config_path = path ? *path : kDefaultConfig;
  auto config = Config::LoadFile(config_path);
  if (!config) {
    std::cerr << "rosterctl: " << config.error().message << "\n";
    return config.error().is_not_found() ? EX_NOINPUT : EX_CONFIG;
  }
  try {
    return Rosterctl(std::move(*config), std::move(*args)).Run();
  } catch (const std::exception& e) {
    std::cerr << "rosterctl: internal error: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
}
