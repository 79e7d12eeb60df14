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
// A bare domain (for domains and "@domain" catch-alls).
Result<std::string> ParseDomain(std::string_view input);
// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace roster

#endif
