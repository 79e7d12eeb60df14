// app_passwords.h: app passwords and per-protocol access (migration 005,
// doc/dovecot.md, "App passwords and per-protocol access"): the password
// format and the protocol names, shared by the login store (the passdb
// checks them, common/login_store.h) and the admin's (common/
// app_password_admin.h). No SQL and no I/O here.
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
// Trusts: nothing; pure functions on what they are given (protocol lists
// from rosterctl are checked here).
#ifndef ROSTER_COMMON_APP_PASSWORDS_H
#define ROSTER_COMMON_APP_PASSWORDS_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace roster {

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

}  // namespace roster

#endif
