// rosterctl.h: the shape of rosterctl, so that a command can live in a file of
// its own (admin/cmd_*.cc): the parsed command line, the Rosterctl object a
// command runs in (its connection, output and change-log actor), and the
// table of top-level commands (each with its handler, its lines of the usage
// text and the options it takes), as doveadm keeps its commands.
//
// The administration itself is ops/ (ops/operations.h): a command parses its
// words and options into an operation's input, runs it as the mail
// administrator (Rosterctl::Op) and renders the answer as text, or prints it
// as it is with --json. Only `db` and `import` (schema, roles, a migration
// from another database) work on the stores directly.
//
// Trusts: nothing on the command line; see rosterctl.cc.
#ifndef ROSTER_ADMIN_ROSTERCTL_H
#define ROSTER_ADMIN_ROSTERCTL_H

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "admin/dovecot_flush.h"
#include "common/admin_store.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/json.h"
#include "common/result.h"
#include "ops/operations.h"

namespace roster {

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;  // --name value (the last one given)
  std::map<std::string, std::vector<std::string>> repeated;  // every value of --name, in order
  std::set<std::string> flags;                 // --name

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  const std::string* Option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
  }
  // An option that may be given more than once (--domain A --domain B).
  std::vector<std::string> Values(const std::string& name) const {
    auto it = repeated.find(name);
    return it == repeated.end() ? std::vector<std::string>() : it->second;
  }
};

// Exit status for an error, sysexits-style (documented in rosterctl(1)).
int ExitCodeFor(const Error& e);
// Free text for display names and the like: bounded, valid UTF-8, no control characters.
Result<std::string> CheckText(const std::string& text, const char* what, size_t max);
// A limit for people: "unlimited" for 0, else the size (bytes) or the count.
std::string Limit(uint64_t v, bool bytes);
// A time from the database ("YYYY-MM-DD HH:MM:SS[.ffffff]") for a text table:
// to the second. --json keeps what the database holds.
std::string TextTime(const std::string& time);
// --expires: a duration from now ("90d", "12h") or a UTC date ("2027-01-31"
// or "2027-01-31 12:00:00"), as Unix seconds (admin/cmd_app_password.cc).
Result<int64_t> ParseExpiry(const std::string& text);
// A field of an operation's answer, for text output ("", 0, false when absent).
std::string S(const Json& j, const char* key);
uint64_t U(const Json& j, const char* key);
bool B(const Json& j, const char* key);
// Overwrites a string field of `j` (a password in an operation's input).
void WipeString(Json& j, const char* key);

// One run of rosterctl. Single-threaded; owns its configuration and arguments.
class Rosterctl {
 public:
  Rosterctl(Config config, Args args) : config_(std::move(config)), args_(std::move(args)), json_(args_.Has("json")) {
    actor_ = MakeActor();
  }

  int Run();

  // The top-level commands: one row each (Commands()).
  int Db_();
  int Domain_();
  int Mailbox_();
  int Sub_();
  int SendAs_();  // cmd_send_as.cc
  int LastLogin_();
  int Log_();
  int Import_();
  int AppPassword_();  // admin/cmd_app_password.cc
  int Outbound_();  // admin/cmd_outbound.cc
  int Admin_();     // admin/cmd_admin.cc
  int ApiKey_();    // admin/cmd_admin.cc
  int Application_();  // admin/cmd_application.cc

 private:
  Actor MakeActor() const;
  // The configuration file this run read (--config, else the default).
  std::string ConfigPath() const;
  Result<std::unique_ptr<Db>> Connect(DbRole role, bool with_database = true);
  // Runs an admin-role command with the admin store (db, import).
  int WithStore(const std::function<Status(AdminStore&)>& body);
  // Runs the operation `name` (ops/operations.h) as the mail administrator
  // and this run's actor, on the run's admin connection (made at first use).
  Result<Json> Op(const char* name, const Json& input);
  // Op, then prints the answer: as it is with --json, else text(answer).
  int RunOp(const char* name, const Json& input, const std::function<std::string(const Json&)>& text);
  // A listing of one call: its items as a JSON array, or `header` and a row
  // for each item.
  int RunList(const char* name, const Json& input, const std::string& header,
              const std::function<std::string(const Json&)>& row);
  // A listing followed page by page (the operation's cursor), each page
  // printed as it comes, up to `most` items.
  int RunPages(const char* name, Json input, const std::string& header,
               const std::function<std::string(const Json&)>& row, uint64_t most = UINT64_MAX);
  int Fail(const Error& e);
  int Usage(const std::string& why);
  void Emit(const JsonWriter& json, const std::string& text);
  bool ExpectWords(size_t min, size_t max);
  void AllowOnly(std::initializer_list<const char*> names);

  // After a change that must stop old credentials at once: tells a running
  // Dovecot to drop them from its auth cache (all entries when `users` is empty).
  void FlushAuthCache(const std::vector<std::string>& users) const;
  // The auth-cache flusher ops::Run is given (admin/dovecot_flush.h).
  DovecotAuthCacheFlusher Flusher() const;
  Result<Address> MailboxAddress(const std::string& text) const;
  Result<std::string> SubscriptionAddress(const std::string& text) const;
  Result<std::optional<uint64_t>> OptionalSize(const char* option) const;
  Result<std::optional<uint64_t>> OptionalCount(const char* option) const;
  // mailbox access|logins ADDRESS, mailbox list [DOMAIN] --inactive DURATION
  // (admin/cmd_app_password.cc); `input` may name a domain.
  int MailboxAccess_(const std::string& mailbox);
  int MailboxLogins_(const std::string& mailbox);
  int MailboxInactive_(Json input);

  Config config_;
  Args args_;
  bool json_;
  Actor actor_;
  std::string usage_error_;
  std::unique_ptr<Db> db_;                     // the admin connection of Op, made at first use
  std::optional<ops::OpsSettings> settings_;  // read at first use
};

// A top-level command: `rosterctl NAME ...` runs `run`. `usage` is its part
// of the usage text (whole lines, each ending in '\n'); `options` take a
// value (--name VALUE or --name=VALUE), `flags` do not. Which subcommand
// accepts which of them is checked by the handler (AllowOnly).
struct Command {
  const char* name;
  int (Rosterctl::*run)();
  const char* usage;
  std::vector<const char*> options;
  std::vector<const char*> flags;
};

// Every command, in the order of the usage text.
const std::vector<Command>& Commands();
// The whole usage text, from the table.
std::string UsageText();

}  // namespace roster

#endif  // ROSTER_ADMIN_ROSTERCTL_H
