// app_passwords.h: app passwords, per-protocol access and the login history
// (migration 005, doc/dovecot.md, "App passwords and per-protocol access"): the password format, the protocol
// names, and the small data class on the Db layer that administers them
// (role admin) and records logins (role auth).
//
// An app password is generated here (libsodium's randombytes), never chosen
// by a person: 24 characters from a 32-letter alphabet without look-alikes
// (no 0/O, 1/I), shown in groups of 4 joined by '-'. A client may type it
// with or without the dashes, in any case. The first group is the selector,
// stored in clear and unique per mailbox, which picks the one app password a
// login is checked against; the whole normalised password is stored as its
// SHA-256 (the other 20 characters are 100 bits of secret: no hash, however
// slow, would make 2^100 guesses feasible, and a fast one keeps a login at
// one cheap verification).
//
// Trusts: the Db it is given; the caller to have checked the actor's right
// to make a change. Labels, protocol lists and durations from rosterctl are
// checked here before any statement.
#ifndef ROSTER_COMMON_APP_PASSWORDS_H
#define ROSTER_COMMON_APP_PASSWORDS_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"

namespace roster {

struct Actor;

// Protocols as bits, in the order of the SQL SET (so `col + 0` gives them).
enum Protocol : unsigned { kProtoImap = 1, kProtoPop3 = 2, kProtoSmtp = 4, kProtoSieve = 8, kProtoWebmail = 16 };
constexpr unsigned kAllProtocols = 31;
// A login's Dovecot service as a protocol bit: imap, pop3, smtp (Postfix's
// SASL) and submission (Dovecot's own) -> smtp, sieve; anything else 0 (it
// passes only where every protocol is allowed).
unsigned ProtocolOfService(std::string_view service);
// "imap,pop3 smtp" -> bits; unknown names refused. "all" -> kAllProtocols.
Result<unsigned> ParseProtocols(std::string_view list);
// bits -> "imap,pop3" (the SQL SET's text form); "" for none.
std::string ProtocolsText(unsigned bits);
// Whether a login over `service_bit`, `webmail` (from auth_webmail_networks)
// or not, passes `allowed` (nullopt = everywhere).
inline bool ProtocolAllowed(std::optional<unsigned> allowed, unsigned service_bit, bool webmail) {
  if (!allowed) return true;
  return (*allowed & service_bit) != 0 || (webmail && (*allowed & kProtoWebmail) != 0);
}

constexpr size_t kMaxAppPasswords = 50;  // per mailbox; the schema's slot bound too
constexpr size_t kAppPasswordChars = 24;
constexpr size_t kSelectorChars = 4;
constexpr size_t kMaxLabelChars = 100;

// A fresh app password in its display form "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ".
std::string GenerateAppPassword();
// What a client typed -> the 24 upper-case characters, or nullopt if it does
// not have an app password's shape (it is then a main password).
std::optional<std::string> NormaliseAppPassword(std::string_view typed);
// SHA-256 of the normalised password (32 bytes).
std::string AppPasswordDigest(std::string_view normalised);

// An app password as the login query brings it (no label: not needed there).
struct AppPasswordKey {
  uint64_t id = 0;
  std::string selector;
  std::string digest;  // 32 bytes
  unsigned protocols = 0;
  bool expired = false;  // by the database server's clock
  // Its last use is a minute old or more (or none): the passdb writes it only
  // then, so a client that logs in often costs no write per login.
  bool last_use_due = true;
};
// The selector a typed password names, "" if it has no app password's shape.
std::string SelectorOf(std::string_view typed);

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

// A login for the passdb's history: `seq` is its place in the mailbox's
// history (the newest seq the login query brought, + 1, or after the last
// this process gave the mailbox), `ip` packed (common/ip.h) or "" if unknown.
struct LoginEntry {
  uint64_t mailbox_id = 0;
  uint64_t seq = 0;
  std::string protocol;
  std::string ip;
  uint64_t app_password_id = 0;  // 0 = the main password
};

struct InactiveMailbox {
  std::string address;
  std::string last_login;  // "" = never
};

class AppPasswords {
 public:
  explicit AppPasswords(Db& db) : db_(db) {}

  // --- administration (role admin); each change writes the change log in the same transaction ---
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
  // order of their lookup keys (as Accounts::ListMailboxes), read a page at
  // a time.
  Status ListInactive(uint64_t days, const std::function<bool(const InactiveMailbox&)>& each,
                      std::string_view domain = {});

  // --- the passdb (role auth) ---
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
  // lost connection.
  static constexpr size_t kMaxLoginBatch = 64;
  Status RecordLogins(const std::vector<LoginEntry>& entries, unsigned slots);
  Status TouchAppPassword(uint64_t id, std::string_view ip);

 private:
  Result<uint64_t> MailboxId(std::string_view address, bool lock);
  Db& db_;
};

}  // namespace roster

#endif
