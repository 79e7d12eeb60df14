// admin_accounts.h: the admin role's data access for roster's administrators
// (migration 009): their accounts (kind, scope, argon2id password hash, TOTP
// secret, sign-in record and lockout) and their API keys; and the one read a
// mailbox user's sign-in to the administration service needs. Used by ops/
// (the operations admin.* and api_key.*, and the sign-in of ops/authn.h),
// so by rosterctl (roster_admin) and roster-apid (roster_api).
//
// Every change writes the change log (common/change_log.h) in the same
// transaction, with the actor. Times the service decides by (a lock's end, a
// key's expiry and last use, the last sign-in) are given as Unix seconds by
// the caller's clock, never read from the server's, so tests can move time.
// The store never sees a password or a key's secret: it takes and gives
// hashes and digests.
//
// Trusts: the Db it is given; the caller to have normalised and bounded the
// names (ops/ validates every input first) and to have checked the actor's
// right to make the change. One AdminAccounts on one Db, on its thread.
#ifndef ROSTER_COMMON_ADMIN_ACCOUNTS_H
#define ROSTER_COMMON_ADMIN_ACCOUNTS_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

enum class AdminKind { kMail, kDomain, kGroup };
const char* AdminKindName(AdminKind kind);  // "mail", "domain", "group"
std::optional<AdminKind> ParseAdminKind(std::string_view text);

// An account name: 1..64 of a-z 0-9 . _ @ + -, starting with a letter or a
// digit (the schema's CHECK says the same). Upper case is folded first.
Result<std::string> NormaliseAdminName(std::string_view name);

constexpr size_t kMaxAdminDomains = 1000;  // domains of one domain administrator
constexpr size_t kMaxApiKeys = 100;        // keys of one administrator
constexpr size_t kMaxApiKeyLabelChars = 100;
constexpr int64_t kApiKeyTouchSeconds = 60;  // a key's last use is written at most this often

struct AdminAccount {
  uint64_t id = 0;
  std::string name;
  AdminKind kind = AdminKind::kMail;
  std::vector<std::string> domains;  // by name; a group administrator's one
  std::string department;            // kGroup
  bool active = true;
  bool has_totp = false;
  std::string created_at;
  std::string last_sign_in_at;  // "" = never
  std::string last_sign_in_client;
  uint64_t failures = 0;
  int64_t locked_until = 0;  // Unix seconds; 0 = never locked (may be past)
  // Moves with every change that ends the account's sessions (migration 010):
  // a new password, a second factor set or removed, the account disabled.
  uint64_t credentials_version = 0;
};

struct NewAdminAccount {
  std::string name;
  AdminKind kind = AdminKind::kMail;
  std::string password_hash;
  std::vector<std::string> domains;
  std::string department;
  bool active = true;
};

// What a sign-in needs, in one read (FindForSignIn).
struct AdminSignIn {
  AdminAccount account;
  std::string password_hash;
  std::string totp_secret;  // raw bytes; "" = none
  uint64_t totp_last_step = 0;
};

struct ApiKeyInfo {
  uint64_t id = 0;
  std::string selector;
  std::string admin;
  std::string label;
  bool read_only = false;
  bool domain_limited = false;
  std::vector<std::string> domains;
  std::string created_at;
  int64_t expires_at = 0;  // Unix seconds; 0 = never
  std::string last_used_at;  // "" = never
  int64_t last_used_unix = 0;
  std::string last_used_client;
};

struct NewApiKey {
  std::string admin;
  std::string selector;
  std::string digest;  // SHA-256 of the secret, 32 bytes
  std::string label;
  bool read_only = false;
  std::vector<std::string> domains;  // empty = not limited
  int64_t expires_at = 0;            // Unix seconds; 0 = never
};

// A key as its sign-in needs it: the key and its owner.
struct ApiKeySignIn {
  ApiKeyInfo key;
  std::string digest;
  AdminAccount owner;
};

// A mailbox as the administration service's sign-in needs it.
struct MailboxSignIn {
  uint64_t id = 0;
  std::string address;  // as stored
  std::string password_hash;  // "" from FindMailboxById
  bool active = false;
  bool domain_active = false;
  std::optional<unsigned> login_protocols;          // common/app_passwords.h bits; nullopt = all
  std::optional<unsigned> main_password_protocols;  // nullopt = wherever login is allowed
  uint64_t credentials_version = 0;                 // migration 010; the Dovecot rehash leaves it
};

class AdminAccounts {
 public:
  explicit AdminAccounts(Db& db) : db_(db) {}

  // Invalid: a bad name, a scope that does not fit the kind (a domain
  // administrator needs domains, a group administrator exactly one domain
  // and a department, a mail administrator neither); NotFound: a domain that
  // does not exist; Conflict: the name is taken.
  Status Add(const NewAdminAccount& account, const Actor& actor);
  Status Delete(std::string_view name, const Actor& actor);
  Result<AdminAccount> Get(std::string_view name);
  // At most `limit` accounts named after `after` ("" = from the first), by name.
  Result<std::vector<AdminAccount>> Page(std::string_view after, uint64_t limit);
  // The stored hash (checking an administrator's current password).
  Result<std::string> PasswordHash(std::string_view name);
  // These three move the account's credentials_version (SetActive only when
  // disabling): its sessions in the administration service end.
  Status SetPasswordHash(std::string_view name, std::string_view hash, const Actor& actor);
  // `secret` raw bytes, or nullopt to remove the second factor.
  Status SetTotpSecret(std::string_view name, const std::optional<std::string>& secret, const Actor& actor);
  Status SetActive(std::string_view name, bool active, const Actor& actor);
  // Clears the failures and the lock.
  Status Unlock(std::string_view name, const Actor& actor);

  // ---- sign-in (ops/authn.cc)
  Result<AdminSignIn> FindForSignIn(std::string_view name);
  // The account of a session, at each of its requests: by primary key.
  Result<AdminAccount> GetById(uint64_t id);
  // A failed sign-in: one more failure in a row; at `max_failures` the
  // account locks until now + lock_seconds (the count starts again) and the
  // lock goes to the change log. Returns whether this failure locked it.
  Result<bool> RecordFailure(uint64_t id, unsigned max_failures, int64_t lock_seconds, int64_t now,
                             const Actor& actor);
  // A lock whose time has passed: cleared, and its lifting logged.
  Status LiftExpiredLock(uint64_t id, int64_t now, const Actor& actor);
  // A successful sign-in: failures cleared, the time and client recorded;
  // with `totp_step`, that step becomes the last accepted one, only if it is
  // later than the stored one (false: it was not, a replay; nothing written).
  Result<bool> RecordSuccess(uint64_t id, int64_t now, std::string_view client, std::optional<uint64_t> totp_step);

  // ---- API keys
  // Invalid: bad label, a domain limit that is not inside the owner's scope,
  // an expiry not after now; NotFound: no such owner or domain; Conflict:
  // the owner has kMaxApiKeys, or the selector is taken (generate another).
  Result<uint64_t> AddKey(const NewApiKey& key, int64_t now, const Actor& actor);
  // The keys of `admin` with an id above `after_id`, by id; at most `limit`.
  Result<std::vector<ApiKeyInfo>> KeyPage(std::string_view admin, uint64_t after_id, uint64_t limit);
  Status RevokeKey(std::string_view admin, uint64_t id, const Actor& actor);
  Result<ApiKeySignIn> FindKeyForSignIn(std::string_view selector);
  // Records a use unless the last is under kApiKeyTouchSeconds old (by `now`).
  Status TouchKey(uint64_t id, int64_t now, std::string_view client);

  // ---- mailbox users
  Result<MailboxSignIn> FindMailboxForSignIn(std::string_view address);
  // A signed-in mailbox user's mailbox, at each request: by primary key,
  // without its password hash.
  Result<MailboxSignIn> FindMailboxById(uint64_t id);

 private:
  Result<std::vector<uint64_t>> DomainIds(const std::vector<std::string>& names);
  Result<uint64_t> AccountId(std::string_view name, bool lock);
  Db& db_;
};

}  // namespace roster

#endif
