// authn.h: who is asking roster-apid. Turns credentials into an ops::Principal
// (ops/principal.h) that the administration layer then authorizes per object.
//
// Three kinds of credentials:
//   - an administrator account (table admin_account, migration 009): a name,
//     its argon2id password (common/password.h) and, when the account has
//     one, a TOTP code (RFC 6238, HMAC-SHA1, 30 s steps, one step of drift
//     either way, a code never accepted twice);
//   - an API key (table api_key): "rk_" + a selector in clear + a random
//     secret, stored as a digest like app passwords, owned by an
//     administrator, scoped read-only or read-write and optionally to domains
//     (ApiKeyScope narrows its owner's principal, never widens it), revocable,
//     optionally expiring, with its last use (time, client) recorded at most
//     once a minute;
//   - a mailbox's own address and main password (a mailbox user).
//
// Every failure is kUnauthenticated with the same message whether the account
// exists, the password or the code was wrong, or the key was revoked; a client
// or an account that failed too often is kThrottled (Error::retry_after) before
// any password is checked. The counts: per account in the database (an account
// locks for `api_lockout` after `api_lockout_failures` failures in a row; a
// success resets them; the lock and its lifting go to the change log), per
// client address in memory (LoginThrottle). A database failure is kTemporary,
// never a refusal.
//
// The caller's sequence for one request: LoginThrottle::Check(client); then
// one Authenticate*; on kUnauthenticated LoginThrottle::Failed(client). A
// success does not wipe the client's failures: one valid account must not buy
// its holder fresh guesses at everybody else's. The Authenticate* functions keep the per-account
// counts themselves. An API key's owner locked out by failed passwords keeps
// its keys working (the lock is about guessing its password); a disabled
// owner's keys do not.
//
// Trusts: its caller for the client address (roster-apid gives the peer, or a
// trusted proxy's X-Forwarded-For); nothing in the credentials.
#ifndef ROSTER_OPS_AUTHN_H
#define ROSTER_OPS_AUTHN_H

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/db.h"
#include "common/result.h"
#include "ops/operations.h"
#include "ops/principal.h"

namespace roster::ops {

// What one sign-in presents. The secrets are wiped by nobody here: the
// caller owns them and keeps them out of logs.
struct Credentials {
  std::string_view name;      // admin account name, or the mailbox's address
  std::string_view password;
  std::string_view totp;      // "" when none was given
  std::string client;         // the client's address, for the counts and the change log
};

// What a session remembers of the account it was signed in to: its row and
// the row's credentials_version at the sign-in (migration 010), read in the
// same statement as the password hash that was checked.
struct SessionAccount {
  enum class Kind { kAdmin, kMailbox };
  Kind kind = Kind::kAdmin;
  uint64_t id = 0;
  uint64_t version = 0;
};

// The administrator account `c.name`. On success, the Principal its kind and
// scope give (mail, domain or group administrator), and the account's last
// sign-in is recorded; `session` (if given) receives the account for
// ResumeSession.
Result<Principal> AuthenticateAdmin(Db& db, const OpsSettings& settings, const Clock& clock,
                                    const Credentials& c, SessionAccount* session = nullptr);

// A mailbox user: `c.name` is the mailbox's address, `c.password` its main
// password; refused when the mailbox or its domain is disabled or the main
// password may not be used from here (mailbox access rules).
Result<Principal> AuthenticateMailbox(Db& db, const OpsSettings& settings, const Clock& clock,
                                      const Credentials& c, SessionAccount* session = nullptr);

// A session's next request: the account's row read again by its primary key
// (one statement) and the principal made from it anew, so that a change made
// anywhere (rosterctl, another roster-apid) counts at once: new domains, a
// department, a kind. kUnauthenticated (the session is over) when the row is
// gone, the account or a mailbox's domain disabled, the mailbox's access
// rules no longer let its main password in here, or the credentials_version
// moved (a new password, a second factor changed, disabled and enabled
// again). An administrator locked out by failed sign-ins keeps its sessions
// (the lock is about guessing its password, as for its API keys). kTemporary
// when the database cannot say: never an end.
Result<Principal> ResumeSession(Db& db, const SessionAccount& session);

// An API key as sent in "Authorization: Bearer <key>". On success, its
// owner's principal narrowed by the key's scope (Principal::WithApiKey), and
// the key's last use recorded (at most once a minute). Refused like a wrong
// key: an unknown, revoked or expired key, a disabled owner, a key limited
// to domains that have all been deleted since.
Result<Principal> AuthenticateApiKey(Db& db, const Clock& clock, std::string_view key, const std::string& client);

// ---- formats (no I/O but the random generator)

// A new API key "rk_<selector>_<secret>": a 12-character selector and a
// 32-character secret (160 random bits) from libsodium's randombytes, both
// in lower-case base32; what the store keeps is the selector and the
// SHA-256 of the secret.
struct NewApiKeyMaterial {
  std::string key;  // shown once; the caller wipes it
  std::string selector;
  std::string digest;
};
NewApiKeyMaterial GenerateApiKey();
constexpr size_t kApiKeySelectorChars = 12;
constexpr size_t kApiKeySecretChars = 32;

// TOTP (RFC 6238 on RFC 4226): HMAC-SHA1, 6 digits, 30-second steps.
constexpr int64_t kTotpPeriod = 30;
std::string GenerateTotpSecret();  // 20 random bytes
// `chars` random characters of the lower-case base32 alphabet (5 bits each):
// API keys, reset-link tokens.
std::string RandomBase32(size_t chars);
// SHA-256 of `bytes`, 32 raw bytes: what is stored of a key or a token.
std::string Sha256(std::string_view bytes);
// RFC 4648 base32, upper case, no padding (what authenticator apps read).
std::string Base32(std::string_view bytes);
// The code for `step` (Unix time / kTotpPeriod), 6 digits.
std::string TotpCode(std::string_view secret, uint64_t step);
// otpauth://totp/roster:<account>?secret=...&issuer=roster&... for a QR code.
std::string TotpUri(std::string_view account, std::string_view secret);

// Failed sign-ins per client address, in memory, for one daemon. Thread-safe.
// A client with `max_failures` failures within `window` is throttled until the
// window has passed since its first counted failure. Bounded: at most
// `max_clients` addresses are tracked (the oldest entries go first).
class LoginThrottle {
 public:
  // max_failures 0: never throttles. `refusal`: the throttled answer's message.
  LoginThrottle(unsigned max_failures, std::chrono::seconds window, size_t max_clients = 65536,
                std::string refusal = "too many failed sign-ins from this address: try again later");

  // OK, or kThrottled with retry_after.
  Status Check(const std::string& client, int64_t now);
  void Failed(const std::string& client, int64_t now);

 private:
  struct Entry {
    unsigned failures = 0;
    int64_t first = 0;
  };
  const unsigned max_failures_;
  const std::chrono::seconds window_;
  const size_t max_clients_;
  const std::string refusal_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

// The public operations' throttle (ops/operations.h, Audience kPublic; Run
// asks it): the same counting as LoginThrottle, but every call counts, not
// only failures: at most `client_limit` calls per client address within
// `window`, and application.submit also at most `application_limit` from all
// clients together within `window` (a flood from many addresses). A call
// over a limit is refused (kThrottled, retry_after) and not counted.
// Thread-safe.
class PublicThrottle {
 public:
  PublicThrottle(unsigned client_limit, unsigned application_limit, std::chrono::seconds window);
  Status Admit(std::string_view operation, const std::string& client, int64_t now);

 private:
  LoginThrottle clients_;
  LoginThrottle applications_;  // one key: everyone
};

}  // namespace roster::ops

#endif  // ROSTER_OPS_AUTHN_H
