// rosterctl.h: the shape of rosterctl, so that a command can live in a file of
// its own (admin/cmd_*.cc): the parsed command line, the Rosterctl object a
// command runs in (its connection, output and change-log actor), and the
// table of top-level commands (each with its handler, its lines of the usage
// text and the options it takes), as doveadm keeps its commands.
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

#include "common/admin_store.h"
#include "common/address.h"
#include "common/config.h"
#include "common/db.h"
#include "common/json.h"
#include "common/result.h"

namespace roster {

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;  // --name value
  std::set<std::string> flags;                 // --name

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  const std::string* Option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
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

 private:
  Actor MakeActor() const;
  // The configuration file this run read (--config, else the default).
  std::string ConfigPath() const;
  Result<std::unique_ptr<Db>> Connect(DbRole role, bool with_database = true);
  // Runs an admin-role command with the admin store.
  int WithStore(const std::function<Status(AdminStore&)>& body);
  int Fail(const Error& e);
  int Usage(const std::string& why);
  void Emit(const JsonWriter& json, const std::string& text);
  bool ExpectWords(size_t min, size_t max);
  void AllowOnly(std::initializer_list<const char*> names);

  // After a change that must stop old credentials at once: tells a running
  // Dovecot to drop them from its auth cache (all entries when `users` is empty).
  void FlushAuthCache(const std::vector<std::string>& users) const;
  Result<Address> MailboxAddress(const std::string& text) const;
  Result<std::string> SubscriptionAddress(const std::string& text) const;
  Result<std::optional<uint64_t>> OptionalSize(const char* option) const;
  Result<std::optional<uint64_t>> OptionalCount(const char* option) const;
  // mailbox access|logins ADDRESS, mailbox list [DOMAIN] --inactive DURATION
  // (admin/cmd_app_password.cc); `domain` "" = every domain.
  int MailboxAccess_(const std::string& mailbox);
  int MailboxLogins_(const std::string& mailbox);
  int MailboxInactive_(const std::string& domain);

  Config config_;
  Args args_;
  bool json_;
  Actor actor_;
  std::string usage_error_;
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
