// address.h: the one address normaliser. Every address that enters roster
// (a login name, a recipient, a rosterctl argument) is parsed here first.
//
// Rules: domain lower-cased (ASCII letters; UTF-8 labels kept as given), local
// part kept as given; local part at most 64 octets, domain at most 255, whole
// address at most 254; UTF-8 local parts accepted (SMTPUTF8) but must be valid
// UTF-8; NUL, control characters, whitespace and the characters that need RFC
// 5321 quoting are refused (quoted local parts are not supported). A recipient
// extension ("user+ext") is split off at the first delimiter character, as
// Postfix's recipient_delimiter does.
//
// Trusts: nothing; input of any length and content is safe to pass.
#ifndef ROSTER_COMMON_ADDRESS_H
#define ROSTER_COMMON_ADDRESS_H

#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

constexpr size_t kMaxLocalPart = 64;
constexpr size_t kMaxDomain = 255;
constexpr size_t kMaxAddress = 254;

struct Address {
  std::string local;      // without the extension
  std::string extension;  // without its delimiter; empty if none
  char delimiter = 0;     // the delimiter that started the extension, 0 if none
  std::string domain;     // lower-cased

  // local@domain, without the extension: the mailbox key.
  std::string Mailbox() const { return local + "@" + domain; }
  // The address as given, with the extension, domain lower-cased.
  std::string Full() const;
};

struct AddressOptions {
  // Characters that start an extension; empty disables splitting.
  std::string recipient_delimiter = "+";
};

Result<Address> ParseAddress(std::string_view input, const AddressOptions& options = {});
// A mailbox named in full (a login name, a dict user, a rosterctl argument):
// the same checks, but a delimiter is part of the local part, never an extension.
Result<Address> ParseMailboxName(std::string_view input);
// Mailbox names become paths: Dovecot's home ("auth_home = /var/vmail/%d/%n")
// and the "mailboxes" table of roster-policyd name a directory after the
// local part, under one after the domain. So a mailbox's local part (aliases
// and subscriptions may stay wider) is 1-64 octets of ASCII letters and
// digits, '.', '_', '-', '+', and non-ASCII UTF-8 (SMTPUTF8; not the C1
// controls U+0080-U+009F); it does not start with '.', '-' or '+', does not
// end with '.', and has no "..". It is never "." or "..", never holds '/',
// '%', a quote or a shell metacharacter, and never reads as an option.
// The error says which rule was broken.
Status CheckMailboxLocalPart(std::string_view local);
// A whole mailbox name "local@domain" as stored: the local part as above and
// the domain as ParseDomain accepts it (no '/', no empty label). Where a
// stored name is about to become a path, this is checked again, so a row
// written around roster is refused, not followed.
Status CheckMailboxPathName(std::string_view address);
// A bare domain (for domains and "@domain" catch-alls).
Result<std::string> ParseDomain(std::string_view input);
// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Free text that goes with an account (a display name, a department):
// at most `max` octets of valid UTF-8 without control characters.
Status CheckFreeText(std::string_view text, const char* what, size_t max);

}  // namespace roster

#endif
