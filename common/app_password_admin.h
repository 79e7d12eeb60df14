// app_password_admin.h: the admin role's side of app passwords and
// per-protocol access (migration 005, doc/dovecot.md, "App passwords and
// per-protocol access"): generate, list and revoke a mailbox's app
// passwords, set where it may log in, and show its login history and the
// dormant mailboxes. Each change writes the change log in the same
// transaction. The format is common/app_passwords.h; the passdb's reads and
// history writes are common/login_store.h.
//
// Trusts: the Db it is given; the caller to have checked the actor's right
// to make a change. Labels and durations from rosterctl are checked here
// before any statement. One AppPasswordAdmin on one Db, on its thread.
#ifndef ROSTER_COMMON_APP_PASSWORD_ADMIN_H
#define ROSTER_COMMON_APP_PASSWORD_ADMIN_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/app_passwords.h"
#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

struct AppPassword {
  uint64_t id = 0;
  std::string selector;
  std::string label;
  unsigned protocols = 0;
  std::string created_at;
  std::string expires_at;  // "" = never
  bool expired = false;
  std::string last_used_at;  // "" = never
  std::string last_used_ip;  // text form
};

struct NewAppPassword {
  std::string address;
  std::string label;
  unsigned protocols = kProtoImap | kProtoPop3 | kProtoSmtp | kProtoSieve;
  std::optional<int64_t> expires_unix;  // UTC; nullopt = never
};

struct MailboxAccess {
  std::optional<unsigned> login_protocols;          // nullopt = all
  std::optional<unsigned> main_password_protocols;  // nullopt = wherever login is allowed
};

struct LoginRecord {
  std::string at;  // UTC
  std::string protocol;
  std::string ip;
  uint64_t app_password_id = 0;  // 0 = the main password
  std::string app_password_label;  // "" if none or revoked
};

struct InactiveMailbox {
  std::string address;
  std::string last_login;  // "" = never
};

class AppPasswordAdmin {
 public:
  explicit AppPasswordAdmin(Db& db) : db_(db) {}

  // Generates, stores and returns (id, password in display form). Invalid:
  // empty or over-long label, no protocol, an expiry not in the future or
  // past 9999; Conflict: the mailbox has kMaxAppPasswords already.
  Result<std::pair<uint64_t, std::string>> Add(const NewAppPassword& add, const Actor& actor);
  Result<std::vector<AppPassword>> List(std::string_view address);
  Status Revoke(std::string_view address, uint64_t id, const Actor& actor);
  Result<MailboxAccess> GetAccess(std::string_view address);
  // Each given part replaces the stored one (a nullopt inside = all).
  Status SetAccess(std::string_view address, std::optional<std::optional<unsigned>> login,
                   std::optional<std::optional<unsigned>> main_password, const Actor& actor);
  // Newest first.
  Result<std::vector<LoginRecord>> Logins(std::string_view address, uint64_t limit);
  // Mailboxes created before `days` ago with no login since (by the login
  // history and the dict's last logins), of `domain` ("" = all), in the
  // order of their lookup keys (as AdminStore::ListMailboxes), read a page at
  // a time, from the first lookup key after `after` ("" = the first). `each`
  // gets the mailbox's lookup key too (a cursor to resume after).
  Status ListInactive(uint64_t days, const std::function<bool(const InactiveMailbox&)>& each,
                      std::string_view domain = {});
  Status ListInactive(uint64_t days,
                      const std::function<bool(const InactiveMailbox&, const std::string& key)>& each,
                      std::string_view domain, std::string_view after);

 private:
  Result<uint64_t> MailboxId(std::string_view address, bool lock);
  Db& db_;
};

}  // namespace roster

#endif
