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
#include <sodium.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
    case ErrorKind::kUnauthenticated: return EX_NOPERM;
    case ErrorKind::kThrottled: return EX_TEMPFAIL;
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

// The table of commands. Options every command takes are kGlobalOptions and
// kGlobalFlags; ParseArgs knows every option some row declares, and the row
// of the command given says which of them apply to it.
const std::vector<Command>& Commands() {
  using R = Rosterctl;
  static const std::vector<const char*> kLimits = {"per-hour", "per-day", "rcpt-per-message", "rcpt-per-day"};
  static const std::vector<Command> kCommands = {
      // group, verb, synopsis, min and max words after the verb, options, flags, handler
      {"db", "init", "", 0, 0, {}, {}, &R::DbSetup_},
      {"db", "migrate", "", 0, 0, {}, {}, &R::DbMigrate_},
      {"db", "roles", "", 0, 0, {}, {}, &R::DbSetup_},
      {"db", "status", "", 0, 0, {}, {}, &R::DbStatus_},

      {"domain", "add", "DOMAIN [--transport T] [--quota SIZE] [--messages N] [--disabled]", 1, 1,
       {"transport", "quota", "messages"}, {"disabled"}, &R::DomainAdd_},
      {"domain", "del", "DOMAIN [--force]", 1, 1, {}, {"force"}, &R::DomainDel_},
      {"domain", "enable", "DOMAIN", 1, 1, {}, {}, &R::DomainSwitch_},
      {"domain", "disable", "DOMAIN", 1, 1, {}, {}, &R::DomainSwitch_},
      {"domain", "show", "DOMAIN", 1, 1, {}, {}, &R::DomainShow_},
      {"domain", "list", "", 0, 0, {}, {}, &R::DomainList_},

      {"mailbox", "add",
       "ADDRESS [--password-stdin | --hash-stdin] [--name TEXT] [--department TEXT]\n"
       "                      [--quota SIZE] [--messages N] [--unit NAME] [--disabled]",
       1, 1, {"name", "department", "quota", "messages", "unit"}, {"password-stdin", "hash-stdin", "disabled"},
       &R::MailboxAdd_},
      {"mailbox", "passwd", "ADDRESS [--password-stdin | --hash-stdin]", 1, 1, {}, {"password-stdin", "hash-stdin"},
       &R::MailboxAdd_},
      {"mailbox", "quota", "ADDRESS [--quota SIZE] [--messages N]", 1, 1, {"quota", "messages"}, {},
       &R::MailboxQuota_},
      {"mailbox", "unit", "ADDRESS [UNIT]", 1, 2, {}, {}, &R::MailboxUnit_},
      {"mailbox", "del", "ADDRESS", 1, 1, {}, {}, &R::MailboxDel_},
      {"mailbox", "enable", "ADDRESS", 1, 1, {}, {}, &R::MailboxSwitch_},
      {"mailbox", "disable", "ADDRESS", 1, 1, {}, {}, &R::MailboxSwitch_},
      {"mailbox", "show", "ADDRESS", 1, 1, {}, {}, &R::MailboxShow_},
      {"mailbox", "recovery-unlock", "ADDRESS", 1, 1, {}, {}, &R::MailboxRecoveryUnlock_},
      {"mailbox", "list",
       "[DOMAIN] [--sort address|usage|last_login]  (-ORDER: descending)\n"
       "  mailbox list [DOMAIN] --inactive DURATION       (no login for that long, e.g. 90d)",
       0, 1, {"inactive", "sort"}, {}, &R::MailboxList_},
      {"mailbox", "access", "ADDRESS [--protocols LIST|all] [--main-password LIST|all] [--force]", 1, 1,
       {"protocols", "main-password"}, {"force"}, &R::MailboxAccess_},
      {"mailbox", "logins", "ADDRESS [--limit N]", 1, 1, {"limit"}, {}, &R::MailboxLogins_},

      {"sub", "add", "ADDRESS RECIPIENT [--outgoing]     (ADDRESS may be @domain)", 2, 2, {}, {"outgoing"},
       &R::SubChange_},
      {"sub", "del", "ADDRESS RECIPIENT [--outgoing]     (ADDRESS may be @domain)", 2, 2, {}, {"outgoing"},
       &R::SubChange_},
      {"sub", "list", "[ADDRESS]", 0, 1, {}, {}, &R::SubList_},

      {"send-as", "grant", "ADDRESS LOGIN   LOGIN may send as ADDRESS (ADDRESS may be @domain)", 2, 2, {}, {},
       &R::SendAsChange_},
      {"send-as", "revoke", "ADDRESS LOGIN   LOGIN may send as ADDRESS (ADDRESS may be @domain)", 2, 2, {}, {},
       &R::SendAsChange_},
      {"send-as", "list", "[ADDRESS|LOGIN] [--limit N]", 0, 1, {"limit"}, {}, &R::SendAsList_},

      {"unit", "set", "NAME --host HOST [--transport T] [--imap-port N] [--pop3-port N]", 1, 1,
       {"host", "transport", "imap-port", "pop3-port"}, {}, &R::UnitSet_},
      {"unit", "del", "NAME", 1, 1, {}, {}, &R::UnitDel_},
      {"unit", "list", "", 0, 0, {}, {}, &R::UnitList_},

      {"lastlogin", nullptr, "[ADDRESS] [--limit N]", 0, 1, {"limit"}, {}, &R::LastLogin_},
      {"log", nullptr, "[--account ADDRESS] [--actor NAME] [--action NAME] [--since DATE] [--limit N]", 0, 0,
       {"account", "action", "since", "limit"}, {}, &R::Log_},
      {"import", "seed003", "DATABASE", 1, 1, {}, {}, &R::ImportSeed003_},

      {"app-password", "add", "ADDRESS --label TEXT [--protocols LIST] [--expires DURATION|DATE]", 1, 1,
       {"label", "protocols", "expires"}, {}, &R::AppPasswordAdd_},
      {"app-password", "list", "ADDRESS", 1, 1, {}, {}, &R::AppPasswordList_},
      {"app-password", "revoke", "ADDRESS ID", 2, 2, {}, {}, &R::AppPasswordRevoke_},

      {"outbound", "show", "ADDRESS", 1, 1, {}, {}, &R::OutboundShow_},
      {"outbound", "lift", "ADDRESS", 1, 1, {}, {}, &R::OutboundLift_},
      {"outbound", "set",
       "ADDRESS [--per-hour N] [--per-day N] [--rcpt-per-message N] [--rcpt-per-day N]\n"
       "                       (N: 0 = unlimited, or default = the domain's)",
       1, 1, kLimits, {}, &R::OutboundSet_},
      {"outbound", "defaults", "DOMAIN [--per-hour N] [--per-day N] [--rcpt-per-message N] [--rcpt-per-day N]", 1, 1,
       kLimits, {}, &R::OutboundDefaults_},
      {"outbound", "suspend", "ADDRESS [--reason TEXT]", 1, 1, {"reason"}, {}, &R::OutboundSuspend_},
      {"outbound", "suspended", "", 0, 0, {}, {}, &R::OutboundSuspended_},

      {"admin", "add", "NAME --kind mail|domain|group [--domain D ...] [--department X] [--password-stdin]", 1, 1,
       {"kind", "domain", "department"}, {"password-stdin"}, &R::AdminAdd_},
      {"admin", "passwd", "NAME [--password-stdin]", 1, 1, {}, {"password-stdin"}, &R::AdminAdd_},
      {"admin", "totp", "NAME on|off                 (on: prints the new secret and its otpauth:// URI once)", 2, 2,
       {}, {}, &R::AdminTotp_},
      {"admin", "del", "NAME", 1, 1, {}, {}, &R::AdminChange_},
      {"admin", "enable", "NAME", 1, 1, {}, {}, &R::AdminChange_},
      {"admin", "disable", "NAME", 1, 1, {}, {}, &R::AdminChange_},
      {"admin", "unlock", "NAME", 1, 1, {}, {}, &R::AdminChange_},
      {"admin", "show", "NAME", 1, 1, {}, {}, &R::AdminShow_},
      {"admin", "list", "", 0, 0, {}, {}, &R::AdminList_},

      {"application", "list", "[DOMAIN] [--state submitted|approved|rejected|created]", 0, 1, {"state"}, {},
       &R::ApplicationList_},
      {"application", "approve", "ID", 1, 1, {}, {}, &R::ApplicationDecide_},
      {"application", "reject", "ID", 1, 1, {}, {}, &R::ApplicationDecide_},

      {"api-key", "add", "ADMIN [--read-only] [--domain D ...] [--label TEXT] [--expires DURATION|DATE]", 1, 1,
       {"domain", "label", "expires"}, {"read-only"}, &R::ApiKeyAdd_},
      {"api-key", "list", "ADMIN", 1, 1, {}, {}, &R::ApiKeyList_},
      {"api-key", "revoke", "ADMIN ID", 2, 2, {}, {}, &R::ApiKeyRevoke_},
  };
  return kCommands;
}

const Command* FindCommand(const std::string& group, const char* verb) {
  for (const Command& c : Commands()) {
    if (group != c.group) continue;
    if (verb == nullptr ? c.verb == nullptr : c.verb != nullptr && std::strcmp(verb, c.verb) == 0) return &c;
  }
  return nullptr;
}

bool IsCommandGroup(const std::string& group) {
  for (const Command& c : Commands())
    if (group == c.group) return true;
  return false;
}

std::string UsageText(const std::string& group) {
  std::string text = kUsageHead;
  const std::vector<Command>& commands = Commands();
  for (size_t i = 0; i < commands.size();) {
    const Command& c = commands[i];
    std::string verbs = c.verb ? c.verb : "";
    size_t next = i + 1;
    // Rows of one group that stand together with one synopsis share a line.
    while (c.verb && next < commands.size() && commands[next].verb &&
           std::strcmp(commands[next].group, c.group) == 0 &&
           std::strcmp(commands[next].synopsis, c.synopsis) == 0)
      verbs += std::string("|") + commands[next++].verb;
    i = next;
    if (!group.empty() && group != c.group) continue;
    text += std::string("  ") + c.group + (verbs.empty() ? "" : " " + verbs) +
            (*c.synopsis ? std::string(" ") + c.synopsis : "") + "\n";
  }
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
      args.repeated[name].push_back(value);
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

int Rosterctl::Usage(const std::string& why, const std::string& group) {
  std::cerr << "rosterctl: " << why << "\n" << UsageText(group);
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

void Rosterctl::AllowOnly(const Command& c) {
  std::set<std::string> allowed = {"config", "json", "actor"};
  allowed.insert(c.options.begin(), c.options.end());
  allowed.insert(c.flags.begin(), c.flags.end());
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

DovecotAuthCacheFlusher Rosterctl::Flusher() const {
  return DovecotAuthCacheFlusher(config_.GetString("dovecot_auth_master"), [](const Result<unsigned>& flushed) {
    if (flushed) {
      std::cerr << "rosterctl: Dovecot's auth cache: " << *flushed << " entr" << (*flushed == 1 ? "y" : "ies")
                << " flushed\n";
    } else if (!flushed.error().is_not_found()) {
      std::cerr << "rosterctl: warning: could not flush Dovecot's auth cache (" << flushed.error().message
                << "): old credentials may work until auth_cache_ttl expires\n";
    }
  });
}

void Rosterctl::FlushAuthCache(const std::vector<std::string>& users) const { Flusher().Flush(users); }

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

std::string S(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t U(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

bool B(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

void WipeString(Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return;
  std::string& s = it->get_ref<std::string&>();
  sodium_memzero(s.data(), s.size());
}

Result<Json> Rosterctl::Op(const char* name, const Json& input) {
  if (!db_) {
    auto db = Connect(DbRole::kAdmin);
    if (!db) return db.error();
    db_ = std::move(*db);
  }
  if (!settings_) {
    auto settings = ops::OpsSettings::FromConfig(config_, ConfigPath());
    if (!settings) return settings.error();
    settings_ = std::move(*settings);
  }
  DovecotAuthCacheFlusher flusher = Flusher();
  ops::SystemClock clock;
  ops::Context ctx;
  ctx.principal = ops::Principal::MailAdmin(actor_.name);
  ctx.actor = actor_;
  ctx.db = db_.get();
  ctx.flusher = &flusher;
  ctx.clock = &clock;
  ctx.settings = &*settings_;
  return ops::Run(ctx, name, input);
}

int Rosterctl::RunOp(const char* name, const Json& input, const std::function<std::string(const Json&)>& text,
                     std::initializer_list<const char*> secrets) {
  auto answer = Op(name, input);
  if (!answer) return Fail(answer.error());
  if (json_) std::cout << DumpJson(*answer) << "\n";
  else std::cout << text(*answer);
  for (const char* secret : secrets) WipeString(*answer, secret);
  return EX_OK;
}

int Rosterctl::RunList(const char* name, const Json& input, const std::string& header,
                       const std::function<std::string(const Json&)>& row) {
  auto answer = Op(name, input);
  if (!answer) return Fail(answer.error());
  const Json& items = (*answer)["items"];
  if (json_) {
    std::cout << DumpJson(items) << "\n";
    return EX_OK;
  }
  std::string text = header;
  for (const Json& item : items) text += row(item);
  std::cout << text;
  return EX_OK;
}

int Rosterctl::RunPages(const char* name, Json input, const std::string& header,
                        const std::function<std::string(const Json&)>& row, uint64_t most) {
  bool first_page = true, first_item = true;
  uint64_t printed = 0;
  while (printed < most) {
    input["limit"] = std::min<uint64_t>(ops::kMaxPage, most - printed);
    auto answer = Op(name, input);
    if (!answer) {
      if (!first_page && json_) std::cout << "]\n";
      return Fail(answer.error());
    }
    if (first_page) std::cout << (json_ ? "[" : header);
    first_page = false;
    for (const Json& item : (*answer)["items"]) {
      if (json_) std::cout << (first_item ? "" : ",") << DumpJson(item);
      else std::cout << row(item);
      first_item = false;
      ++printed;
    }
    const Json& next = (*answer)["next_cursor"];
    if (!next.is_string()) break;
    input["cursor"] = next;
  }
  if (first_page) std::cout << (json_ ? "[" : header);
  if (json_) std::cout << "]\n";
  std::cout << std::flush;
  return EX_OK;
}

std::string TextTime(const std::string& time) {
  return time.size() > 19 && time[19] == '.' ? time.substr(0, 19) : time;
}

int Rosterctl::Run() {
  if (args_.words.empty()) return Usage("no command given");
  const std::string& group = args_.words[0];
  if (!IsCommandGroup(group)) return Usage("unknown command '" + group + "'");
  const Command* c = FindCommand(group, nullptr);
  if (c == nullptr) {
    if (args_.words.size() < 2) return Usage("missing " + group + " command", group);
    c = FindCommand(group, args_.words[1].c_str());
    if (c == nullptr) return Usage("unknown " + group + " command '" + args_.words[1] + "'", group);
  }
  // The row's options, then its words: a wrong number of words is the error
  // reported when both are wrong.
  AllowOnly(*c);
  const size_t skip = c->verb ? 2 : 1;
  if (!ExpectWords(skip + c->min_args, skip + c->max_args) || !usage_error_.empty()) return Usage(usage_error_);
  int rc = (this->*c->run)(*c);
  if (!usage_error_.empty()) return Usage(usage_error_);
  return rc;
}

// ------------------------------------------------------------------ db

int Rosterctl::DbSetup_(const Command& c) {
  const bool init = std::strcmp(c.verb, "init") == 0;
  JsonWriter j;
  std::string text;
  auto setup = Connect(DbRole::kSetup, false);
  if (!setup) return Fail(setup.error());
  j.BeginObject();
  if (init) {
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

int Rosterctl::DbMigrate_(const Command&) {
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
  JsonWriter j;
  j.BeginObject().Field("schema_from", int64_t{report->from}).Field("schema_to", int64_t{report->to});
  j.Key("applied").BeginArray();
  for (const std::string& m : report->applied) j.String(m);
  j.EndArray().EndObject();
  std::string text = report->applied.empty() ? "schema is up to date (version " + std::to_string(report->to) + ")\n"
                                             : "schema version " + std::to_string(report->from) + " -> " +
                                                   std::to_string(report->to) + "\n";
  for (const std::string& m : report->applied) text += "applied " + m + "\n";
  Emit(j, text);
  return EX_OK;
}

int Rosterctl::DbStatus_(const Command&) {
  auto db = Connect(DbRole::kAdmin);
  if (!db) return Fail(db.error());
  auto schema = CurrentSchemaVersion(**db);
  if (!schema) return Fail(schema.error());
  auto counts = AdminStore(**db).Counts(*schema > 0);
  if (!counts) return Fail(counts.error());
  const std::string& server = counts->server_version;
  uint64_t domains = counts->domains, mailboxes = counts->mailboxes;
  std::string state = *schema == LatestSchemaVersion() ? "up to date"
                      : *schema < LatestSchemaVersion() ? "needs rosterctl db migrate"
                                                         : "newer than this rosterctl";
  JsonWriter j;
  j.BeginObject().Field("connection", (*db)->Describe()).Field("server", server);
  j.Field("schema_version", int64_t{*schema}).Field("tool_schema_version", int64_t{LatestSchemaVersion()});
  j.Field("state", state).Field("domains", domains).Field("mailboxes", mailboxes).EndObject();
  std::string text = "connection:      " + (*db)->Describe() + "\nserver:          " + server +
                     "\nschema version:  " + std::to_string(*schema) + " (this rosterctl: " +
                     std::to_string(LatestSchemaVersion()) + ", " + state + ")\ndomains:         " +
                     std::to_string(domains) + "\nmailboxes:       " + std::to_string(mailboxes) + "\n";
  Emit(j, text);
  return *schema > LatestSchemaVersion() ? EX_UNAVAILABLE : EX_OK;
}

// ------------------------------------------------------------------ domain

int Rosterctl::DomainList_(const Command&) {
  char line[512];
  std::snprintf(line, sizeof line, "%-32s %-8s %9s %-20s %s\n", "DOMAIN", "ACTIVE", "MAILBOXES", "TRANSPORT",
                "DEFAULT QUOTA");
  return RunList("domain.list", Json::object(), line, [&](const Json& d) {
    std::snprintf(line, sizeof line, "%-32s %-8s %9llu %-20s %s\n", S(d, "name").c_str(),
                  B(d, "active") ? "yes" : "no", static_cast<unsigned long long>(U(d, "mailboxes")),
                  S(d, "transport").empty() ? "(local)" : S(d, "transport").c_str(),
                  Limit(U(d, "default_max_bytes"), true).c_str());
    return std::string(line);
  });
}

int Rosterctl::DomainAdd_(const Command&) {
  auto name = ParseDomain(args_.words[2]);
  if (!name) return Fail(name.error());
  Json in = {{"domain", *name}};
  if (const std::string* t = args_.Option("transport")) {
    auto checked = CheckText(*t, "--transport", 255);
    if (!checked) return Fail(checked.error());
    in["transport"] = *checked;
  }
  auto quota = OptionalSize("quota");
  if (!quota) return Fail(quota.error());
  auto messages = OptionalCount("messages");
  if (!messages) return Fail(messages.error());
  in["max_bytes"] = quota->value_or(0);
  in["max_messages"] = messages->value_or(0);
  in["active"] = !args_.Has("disabled");
  return RunOp("domain.add", in, [&](const Json&) { return "added domain " + *name + "\n"; });
}

int Rosterctl::DomainDel_(const Command&) {
  auto name = ParseDomain(args_.words[2]);
  if (!name) return Fail(name.error());
  Json in = {{"domain", *name}, {"force", args_.Has("force")}};
  return RunOp("domain.del", in, [&](const Json&) { return "deleted domain " + *name + "\n"; });
}

int Rosterctl::DomainSwitch_(const Command& c) {
  auto name = ParseDomain(args_.words[2]);
  if (!name) return Fail(name.error());
  const bool enable = std::strcmp(c.verb, "enable") == 0;
  return RunOp(enable ? "domain.enable" : "domain.disable", Json{{"domain", *name}}, [&](const Json&) {
    return std::string(enable ? "enabled" : "disabled") + " domain " + *name + "\n";
  });
}

int Rosterctl::DomainShow_(const Command&) {
  auto name = ParseDomain(args_.words[2]);
  if (!name) return Fail(name.error());
  return RunOp("domain.show", Json{{"domain", *name}}, [&](const Json& d) {
    return "domain:          " + S(d, "name") + "\nactive:          " + (B(d, "active") ? "yes" : "no") +
           "\ntransport:       " + (S(d, "transport").empty() ? "(local delivery)" : S(d, "transport")) +
           "\ndefault quota:   " + Limit(U(d, "default_max_bytes"), true) +
           "\ndefault messages: " + Limit(U(d, "default_max_messages"), false) +
           "\nmailboxes:       " + std::to_string(U(d, "mailboxes")) + "\ncreated:         " +
           S(d, "created_at") + "\n";
  });
}

// ------------------------------------------------------------------ mailbox

int Rosterctl::MailboxList_(const Command&) {
  // mailbox list [DOMAIN] [--inactive DURATION | --sort ORDER]
  if (args_.Option("inactive") && args_.Option("sort")) {
    usage_error_ = "--inactive and --sort exclude each other";
    return EX_USAGE;
  }
  Json in = Json::object();
  if (args_.words.size() == 3) {
    auto d = ParseDomain(args_.words[2]);
    if (!d) return Fail(d.error());
    in["domain"] = *d;
  }
  if (args_.Option("inactive")) return MailboxInactive_(in);
  if (const std::string* sort = args_.Option("sort")) in["sort"] = *sort;
  // Page by page, each printed as it comes: a large domain never sits in memory.
  char line[512];
  std::snprintf(line, sizeof line, "%-40s %-6s %-14s %-10s %s\n", "ADDRESS", "ACTIVE", "QUOTA", "MESSAGES", "USED");
  return RunPages("mailbox.list", in, line, [&](const Json& m) {
    std::string used = "-";
    if (!m["usage"].is_null()) {
      int64_t bytes = m["usage"]["bytes"].get<int64_t>();
      used = FormatSize(static_cast<uint64_t>(bytes < 0 ? 0 : bytes)) + "/" +
             std::to_string(m["usage"]["messages"].get<int64_t>());
    }
    uint64_t max_bytes = U(m, "max_bytes"), max_messages = U(m, "max_messages");
    std::snprintf(line, sizeof line, "%-40s %-6s %-14s %-10s %s\n", S(m, "address").c_str(),
                  B(m, "active") ? "yes" : "no", max_bytes ? FormatSize(max_bytes).c_str() : "unlimited",
                  max_messages ? std::to_string(max_messages).c_str() : "unlimited", used.c_str());
    return std::string(line);
  });
}

Result<std::string> Rosterctl::MailboxArgument() const {
  auto address = MailboxAddress(args_.words[2]);
  if (!address) return address.error();
  return address->Mailbox();
}

// mailbox add|passwd ADDRESS
int Rosterctl::MailboxAdd_(const Command& c) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  const bool add = std::strcmp(c.verb, "add") == 0;
  Json in = {{"address", *mailbox}};
  auto policy = PasswordPolicy::FromConfig(config_);
  if (!policy) return Fail(policy.error());
  if (add) {
    for (auto option : {"name", "department"}) {
      if (const std::string* v = args_.Option(option)) {
        auto checked = CheckText(*v, option, 255);
        if (!checked) return Fail(checked.error());
        in[option] = *checked;
      }
    }
    if (const std::string* u = args_.Option("unit")) {
      Status ok = u->empty() ? Status::Ok() : CheckSqlName(*u, "--unit", true);
      if (!ok) return Fail(ok.error());
      in["unit"] = *u;
    }
    auto quota = OptionalSize("quota");
    if (!quota) return Fail(quota.error());
    auto messages = OptionalCount("messages");
    if (!messages) return Fail(messages.error());
    if (*quota) in["max_bytes"] = **quota;
    if (*messages) in["max_messages"] = **messages;
    in["active"] = !args_.Has("disabled");
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
    in["password_hash"] = *hash;
  } else {
    auto password = ReadNewPassword(args_.Has("password-stdin"));
    if (!password) return Fail(password.error());
    in["password"] = password->value();
  }
  int rc = RunOp(add ? "mailbox.add" : "mailbox.set_password", in, [&](const Json&) {
    return add ? "added mailbox " + *mailbox + "\n" : "changed the password of " + *mailbox + "\n";
  });
  WipeString(in, "password");
  return rc;
}

int Rosterctl::MailboxDel_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  return RunOp("mailbox.del", Json{{"address", *mailbox}},
               [&](const Json&) { return "deleted mailbox " + *mailbox + "\n"; });
}

int Rosterctl::MailboxRecoveryUnlock_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  return RunOp("recovery.unlock", Json{{"address", *mailbox}}, [&](const Json& r) {
    return std::string(B(r, "unlocked") ? "lifted the password-reset lock of " : "no password-reset lock on ") +
           *mailbox + "\n";
  });
}

int Rosterctl::MailboxSwitch_(const Command& c) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  const bool enable = std::strcmp(c.verb, "enable") == 0;
  return RunOp(enable ? "mailbox.enable" : "mailbox.disable", Json{{"address", *mailbox}}, [&](const Json&) {
    return std::string(enable ? "enabled" : "disabled") + " mailbox " + *mailbox + "\n";
  });
}

int Rosterctl::MailboxQuota_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  Json in = {{"address", *mailbox}};
  auto quota = OptionalSize("quota");
  if (!quota) return Fail(quota.error());
  auto messages = OptionalCount("messages");
  if (!messages) return Fail(messages.error());
  if (!*quota && !*messages) {
    usage_error_ = "mailbox quota needs --quota SIZE and/or --messages N";
    return EX_USAGE;
  }
  if (*quota) in["max_bytes"] = **quota;
  if (*messages) in["max_messages"] = **messages;
  return RunOp("mailbox.set_quota", in, [&](const Json& m) {
    return "quota of " + *mailbox + ": " + Limit(U(m, "max_bytes"), true) + ", messages: " +
           Limit(U(m, "max_messages"), false) + "\n";
  });
}

int Rosterctl::MailboxShow_(const Command&) {
  auto mailbox = MailboxArgument();
  if (!mailbox) return Fail(mailbox.error());
  return RunOp("mailbox.show", Json{{"address", *mailbox}}, [&](const Json& m) {
    const Json& u = m["usage"];
    std::string usage = !u.is_null() ? std::to_string(u["bytes"].get<int64_t>()) + " bytes, " +
                                           std::to_string(u["messages"].get<int64_t>()) + " messages"
                                     : "(no usage row: Dovecot recounts on next access)";
    return "address:         " + S(m, "address") + "\nactive:          " + (B(m, "active") ? "yes" : "no") +
           (B(m, "domain_active") ? "" : " (domain disabled)") + "\nname:            " + S(m, "name") +
           "\ndepartment:      " + S(m, "department") + "\nquota:           " + Limit(U(m, "max_bytes"), true) +
           "\nmessages:        " + Limit(U(m, "max_messages"), false) + "\nusage:           " + usage +
           "\nunit:            " + (S(m, "unit").empty() ? "(this host)" : S(m, "unit")) +
           "\npassword scheme: " + (S(m, "password_scheme").empty() ? "(none)" : S(m, "password_scheme")) +
           "\npassword set:    " + S(m, "password_changed_at") + "\ncreated:         " + S(m, "created_at") +
           "\nupdated:         " + S(m, "updated_at") + "\n";
  });
}

// ------------------------------------------------------------------ sub

int Rosterctl::SubList_(const Command&) {
  Json in = Json::object();
  if (args_.words.size() == 3) {
    auto a = SubscriptionAddress(args_.words[2]);
    if (!a) return Fail(a.error());
    in["address"] = *a;
  }
  return RunList("sub.list", in, "", [&](const Json& s) {
    return S(s, "address") + (S(s, "direction") == "incoming" ? "  incoming -> " : "  outgoing -> ") +
           S(s, "recipient") + "\n";
  });
}

// sub add|del ADDRESS RECIPIENT
int Rosterctl::SubChange_(const Command& c) {
  const bool add = std::strcmp(c.verb, "add") == 0;
  auto address = SubscriptionAddress(args_.words[2]);
  if (!address) return Fail(address.error());
  auto recipient = MailboxAddress(args_.words[3]);
  if (!recipient) return Fail(recipient.error());
  bool outgoing = args_.Has("outgoing");
  if (outgoing && (*address)[0] == '@') {
    usage_error_ = "outgoing subscriptions (sender BCC) need a full address";
    return EX_USAGE;
  }
  Json in = {{"address", *address}, {"recipient", recipient->Mailbox()}, {"outgoing", outgoing}};
  return RunOp(add ? "sub.add" : "sub.del", in, [&](const Json&) {
    return std::string(add ? "added " : "deleted ") + *address + (outgoing ? " outgoing -> " : " incoming -> ") +
           recipient->Mailbox() + "\n";
  });
}

// ------------------------------------------------------------------ lastlogin, log

int Rosterctl::LastLogin_(const Command&) {
  Json in = Json::object();
  if (args_.words.size() == 2) {
    auto a = MailboxAddress(args_.words[1]);
    if (!a) return Fail(a.error());
    in["address"] = a->Mailbox();
  }
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  in["limit"] = std::min<uint64_t>(limit->value_or(100), 100000);
  char line[600];
  std::snprintf(line, sizeof line, "%-40s %-8s %-39s %s\n", "ADDRESS", "PROTOCOL", "IP", "TIME (UTC)");
  return RunList("mailbox.last_logins", in, line, [&](const Json& l) {
    std::snprintf(line, sizeof line, "%-40s %-8s %-39s %s\n", S(l, "address").c_str(), S(l, "protocol").c_str(),
                  S(l, "ip").c_str(), S(l, "time").c_str());
    return std::string(line);
  });
}

int Rosterctl::Log_(const Command&) {
  Json in = Json::object();
  if (const std::string* v = args_.Option("account")) {
    auto a = SubscriptionAddress(*v);
    if (a) in["object"] = *a;
    else {
      auto d = ParseDomain(*v);
      if (!d) return Fail(a.error());
      in["object"] = *d;
    }
  }
  // --actor is global (who makes a change); as a filter it names whose changes to show.
  if (const std::string* v = args_.Option("actor")) in["actor"] = *v;
  if (const std::string* v = args_.Option("action")) in["action"] = *v;
  if (const std::string* v = args_.Option("since")) {
    bool ok = v->size() == 10 || v->size() == 19;
    for (size_t i = 0; ok && i < v->size(); ++i) {
      char c = (*v)[i];
      ok = (i == 4 || i == 7) ? c == '-' : i == 10 ? c == ' ' : (i == 13 || i == 16) ? c == ':' : isdigit(c);
    }
    if (!ok) return Fail(Error::Invalid("--since wants YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\""));
    in["since"] = *v;
  }
  auto limit = OptionalCount("limit");
  if (!limit) return Fail(limit.error());
  return RunPages("log.list", in, "", [&](const Json& e) {
    std::string detail = S(e, "detail");
    return TextTime(S(e, "at")) + "  " + S(e, "actor") + "@" + S(e, "origin") + "  " + S(e, "action") + "  " +
           S(e, "object") + (detail.empty() ? "" : "  " + detail) + "\n";
  }, limit->value_or(100));
}

// ------------------------------------------------------------------ import

int Rosterctl::ImportSeed003_(const Command&) {
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

int RosterctlMain(int argc, char** argv) {
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
  // help [COMMAND]: the usage text, or one command's lines of it; no
  // configuration needed, as for --help.
  const std::vector<std::string>& words = args->words;
  if (!words.empty() && words[0] == "help") {
    if (words.size() > 2) {
      std::cerr << "rosterctl: unexpected argument '" << words[2] << "'\n" << UsageText();
      return EX_USAGE;
    }
    if (words.size() == 2 && !IsCommandGroup(words[1])) {
      std::cerr << "rosterctl: unknown command '" << words[1] << "'\n" << UsageText();
      return EX_USAGE;
    }
    std::cout << UsageText(words.size() == 2 ? words[1] : "");
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

}  // namespace roster
