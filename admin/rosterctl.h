// rosterctl.h: the shape of rosterctl, so that a command can live in a file of
// its own (admin/cmd_*.cc): the parsed command line, the Rosterctl object a
// command runs in (its connection, output and change-log actor), and the one
// table of commands, as doveadm keeps its commands: a row for each `GROUP
// VERB` (or a GROUP alone), with its synopsis, how many words it takes, the
// options it accepts and its handler. Dispatch is a lookup in the table; the
// usage text, `rosterctl help GROUP` and the "unknown command" errors are made
// from it; tests/unit/rosterctl_commands_test.cc holds it to the manual page.
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

struct Command;

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
// or "2027-01-31 12:00:00", not before 1970), as Unix seconds
// (admin/cmd_app_password.cc).
Result<uint64_t> ParseExpiry(const std::string& text);
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

  // The handlers of the command table (Commands()): each runs one row (or
  // rows that differ by one word, such as enable|disable, told by c.verb).
  // The table has checked the options and the number of words already.
  int DbSetup_(const Command& c);  // db init|roles
  int DbMigrate_(const Command& c);
  int DbStatus_(const Command& c);
  int DomainAdd_(const Command& c);
  int DomainDel_(const Command& c);
  int DomainSwitch_(const Command& c);  // enable|disable
  int DomainShow_(const Command& c);
  int DomainList_(const Command& c);
  int MailboxAdd_(const Command& c);  // add|passwd
  int MailboxQuota_(const Command& c);
  int MailboxUnit_(const Command& c);  // admin/cmd_unit.cc
  int UnitSet_(const Command& c);      // admin/cmd_unit.cc
  int UnitDel_(const Command& c);
  int UnitList_(const Command& c);
  int MailboxDel_(const Command& c);
  int MailboxSwitch_(const Command& c);  // enable|disable
  int MailboxShow_(const Command& c);
  int MailboxList_(const Command& c);
  int MailboxRecoveryUnlock_(const Command& c);
  int MailboxAccess_(const Command& c);  // admin/cmd_app_password.cc
  int MailboxLogins_(const Command& c);  // admin/cmd_app_password.cc
  int SubChange_(const Command& c);  // add|del
  int SubList_(const Command& c);
  int SendAsChange_(const Command& c);  // grant|revoke, admin/cmd_send_as.cc
  int SendAsList_(const Command& c);
  int LastLogin_(const Command& c);
  int Log_(const Command& c);
  int ImportSeed003_(const Command& c);
  int AppPasswordAdd_(const Command& c);  // admin/cmd_app_password.cc
  int AppPasswordList_(const Command& c);
  int AppPasswordRevoke_(const Command& c);
  int OutboundShow_(const Command& c);  // admin/cmd_outbound.cc
  int OutboundSet_(const Command& c);
  int OutboundDefaults_(const Command& c);
  int OutboundSuspend_(const Command& c);
  int OutboundLift_(const Command& c);
  int OutboundSuspended_(const Command& c);
  int AdminAdd_(const Command& c);  // add|passwd, admin/cmd_admin.cc
  int AdminTotp_(const Command& c);
  int AdminShow_(const Command& c);
  int AdminChange_(const Command& c);  // del|enable|disable|unlock
  int AdminList_(const Command& c);
  int ApplicationList_(const Command& c);  // admin/cmd_application.cc
  int ApplicationDecide_(const Command& c);  // approve|reject
  int ApiKeyAdd_(const Command& c);  // admin/cmd_admin.cc
  int ApiKeyList_(const Command& c);
  int ApiKeyRevoke_(const Command& c);

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
  // Op, then prints the answer: as it is with --json, else text(answer);
  // then overwrites the answer's `secrets` (a new password or key, shown once).
  int RunOp(const char* name, const Json& input, const std::function<std::string(const Json&)>& text,
            std::initializer_list<const char*> secrets = {});
  // A listing of one call: its items as a JSON array, or `header` and a row
  // for each item.
  int RunList(const char* name, const Json& input, const std::string& header,
              const std::function<std::string(const Json&)>& row);
  // A listing followed page by page (the operation's cursor), each page
  // printed as it comes, up to `most` items.
  int RunPages(const char* name, Json input, const std::string& header,
               const std::function<std::string(const Json&)>& row, uint64_t most = UINT64_MAX);
  int Fail(const Error& e);
  // The message and the usage text (only GROUP's lines when one is named).
  int Usage(const std::string& why, const std::string& group = "");
  void Emit(const JsonWriter& json, const std::string& text);
  bool ExpectWords(size_t min, size_t max);
  // Refuses the options the command does not declare (besides the global ones).
  void AllowOnly(const Command& c);

  // After a change that must stop old credentials at once: tells a running
  // Dovecot to drop them from its auth cache (all entries when `users` is empty).
  void FlushAuthCache(const std::vector<std::string>& users) const;
  // The auth-cache flusher ops::Run is given (admin/dovecot_flush.h).
  DovecotAuthCacheFlusher Flusher() const;
  Result<Address> MailboxAddress(const std::string& text) const;
  // The ADDRESS after `mailbox VERB`, normalised.
  Result<std::string> MailboxArgument() const;
  Result<std::string> SubscriptionAddress(const std::string& text) const;
  Result<std::optional<uint64_t>> OptionalSize(const char* option) const;
  Result<std::optional<uint64_t>> OptionalCount(const char* option) const;
  // mailbox list [DOMAIN] --inactive DURATION (admin/cmd_app_password.cc);
  // `input` may name a domain.
  int MailboxInactive_(Json input);

  Config config_;
  Args args_;
  bool json_;
  Actor actor_;
  std::string usage_error_;
  std::unique_ptr<Db> db_;                     // the admin connection of Op, made at first use
  std::optional<ops::OpsSettings> settings_;  // read at first use
};

// A command: `rosterctl GROUP VERB ARGS...` (or `rosterctl GROUP ARGS...`
// when `verb` is null) runs `run`. `synopsis` is its usage after "GROUP
// VERB": the arguments and options, as one line; a '\n' in it starts a line
// printed as it stands (a continuation, or a second form). Rows of one group
// that stand together and share a synopsis make one line of the usage text
// ("domain enable|disable|show DOMAIN"). The words after the verb number
// `min_args` to `max_args`. `options` take a value (--name VALUE or
// --name=VALUE), `flags` do not; any other option but the global ones
// (--config, --actor, --json) is refused before `run` runs. A new option of a
// command: its name in `options` or `flags`, in the synopsis, in
// doc/rosterctl.1, and its handler reads it (Args::Option, Args::Has).
struct Command {
  const char* group;
  const char* verb;  // nullptr: the group is the whole command (lastlogin, log)
  const char* synopsis;
  size_t min_args, max_args;
  std::vector<const char*> options;
  std::vector<const char*> flags;
  int (Rosterctl::*run)(const Command& c);
};

// Every command, in the order of the usage text.
const std::vector<Command>& Commands();
// The command `group` + `verb` names, or nullptr. With verb == nullptr: the
// row of a group that takes no verb.
const Command* FindCommand(const std::string& group, const char* verb);
// Whether some row has this group.
bool IsCommandGroup(const std::string& group);
// The usage text, from the table: every command, or GROUP's alone.
std::string UsageText(const std::string& group = "");
// rosterctl as a whole: argv parsed, --help, --version and `help [GROUP]`
// answered, the configuration read, the command run; the exit status
// (admin/rosterctl_main.cc is main; tests call it in-process).
int RosterctlMain(int argc, char** argv);

}  // namespace roster

#endif  // ROSTER_ADMIN_ROSTERCTL_H
