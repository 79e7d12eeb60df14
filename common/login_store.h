// login_store.h: the data access of the auth role (roster_auth): what
// Dovecot's passdb and userdb driver (auth/) may do, and nothing else. It
// reads a mailbox's credentials, limits and access for a login, lists the
// active addresses for userdb iteration, upgrades a password hash (compare
// and set), appends to the login history (migration 008) and writes an app
// password's last use.
//
// Addresses are normalised by the caller (common/address.h); lookups compare
// with the mailbox's lookup_key, LOWER(address), so "Bob@Example.org" finds
// "bob@example.org". NotFound when the thing does not exist, Temporary when
// the database cannot answer now.
//
// Trusts: the Db it is given (and so the database's answers). One
// LoginStore on one Db, on the Db's thread.
#ifndef ROSTER_COMMON_LOGIN_STORE_H
#define ROSTER_COMMON_LOGIN_STORE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/app_passwords.h"
#include "common/db.h"
#include "common/result.h"
#include "common/sql_batch.h"

namespace roster {

// Everything a login needs, in one query.
struct MailboxLogin {
  uint64_t id = 0;
  std::string address;  // as stored (the canonical spelling)
  std::string password_hash;
  bool mailbox_active = false;
  bool domain_active = false;
  uint64_t max_bytes = 0;     // 0 = unlimited
  uint64_t max_messages = 0;  // 0 = unlimited
  std::string unit;           // "" = this host
  std::string unit_host;      // the unit's host from the unit table, "" if none
  unsigned unit_imap_port = 0;  // 0 = the standard port
  unsigned unit_pop3_port = 0;
  // Migration 005 (common/app_passwords.h): protocols as bits, nullopt = all.
  std::optional<unsigned> login_protocols;
  std::optional<unsigned> main_password_protocols;  // nullopt = wherever login is allowed
  // The app password(s) whose selector the login's typed password starts
  // with: at most one per selector asked (FindMailboxForLogin).
  std::vector<AppPasswordKey> app_passwords;
  // The newest seq of the mailbox's login history (0: none), brought only
  // when the login query is asked for it (with_history), so the passdb's
  // history write appends seq + 1 with no read (migration 008).
  uint64_t newest_login_seq = 0;
  // mailbox.last_login_at is unset or over a minute old (migration 015), as
  // the login query read it: only then does the history write raise it.
  bool newest_login_due = true;
};

// A login for the passdb's history: `seq` is its place in the mailbox's
// history (the newest seq the login query brought, + 1, or after the last
// this process gave the mailbox), `ip` packed (common/ip.h) or "" if unknown.
struct LoginEntry {
  uint64_t mailbox_id = 0;
  uint64_t seq = 0;
  std::string protocol;
  std::string ip;
  uint64_t app_password_id = 0;  // 0 = the main password
  bool raise_newest = true;       // MailboxLogin::newest_login_due
};

class LoginStore {
 public:
  explicit LoginStore(Db& db) : db_(db) {}

  // `selector`: the first group of a typed password that has an app
  // password's shape (common/app_passwords.h), "" if none: the mailbox's app
  // password with that selector, if any, comes in the same query.
  Result<MailboxLogin> FindMailboxForLogin(std::string_view address, std::string_view selector = "",
                                           bool with_history = false);
  // The same for several addresses in one round trip (per kMaxBatch):
  // element i answers addresses[i] (with selectors[i]), empty if there is no
  // such mailbox. An address may appear more than once; its app_passwords
  // then hold those of any of its selectors in the batch.
  Result<std::vector<std::optional<MailboxLogin>>> FindMailboxesForLogin(
      const std::vector<std::string>& addresses, const std::vector<std::string>& selectors = {},
      bool with_history = false);
  // Compare-and-set: stores new_hash only if the row still holds old_hash.
  // Returns false (no error) when another change won.
  Result<bool> ReplacePasswordHash(std::string_view address, std::string_view old_hash, std::string_view new_hash);
  // One page of the active mailboxes of active domains, in lookup-key order,
  // after `after_key` ("" = from the start): pairs of (address, lookup key).
  // Userdb iteration pulls page after page, so no listing is held whole.
  Result<std::vector<std::pair<std::string, std::string>>> ActiveAddressPage(std::string_view after_key,
                                                                            uint64_t limit);

  // The login after the mailbox's newest (read first), as RecordLogins.
  // `ip` packed (common/ip.h) or "" if unknown.
  Status RecordLogin(uint64_t mailbox_id, std::string_view protocol, std::string_view ip, uint64_t app_password_id,
                     unsigned slots);
  // What the passdb runs (migration 008): the history is append-only,
  // keyed by (mailbox_id, seq). An entry whose seq is a multiple of `slots`
  // first prunes its mailbox to the newest `slots` (seq - slots + 1 .. seq);
  // then all entries are one multi-row INSERT IGNORE (per kMaxLoginBatch):
  // no read, no secondary index. So a mailbox keeps its newest `slots`
  // logins and at most 2 * slots - 1 rows: every seq is given by some
  // writer (each is a newest seq + 1), so every multiple prunes, and a prune
  // that fails (its batch is then not written) is made good by the next.
  // An entry whose seq is taken already (a login that read a stale newest,
  // through another process) is not kept. Idempotent, so retried after a
  // lost connection. Each batch then raises its mailboxes' newest login
  // (mailbox.last_login_at, migration 015) to the server's time, unless the
  // stored one is less than a minute old.
  static constexpr size_t kMaxLoginBatch = 64;
  Status RecordLogins(const std::vector<LoginEntry>& entries, unsigned slots);
  // An app password's last use (time: the server's clock), `ip` packed.
  Status TouchAppPassword(uint64_t id, std::string_view ip);

 private:
  Status RaiseNewestLogin(const std::vector<uint64_t>& mailboxes);

  Db& db_;
};

}  // namespace roster

#endif
