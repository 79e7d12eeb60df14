// recipients.h: how roster-policyd names recipients in the database: the
// keys an address is looked up by, and the list addresses that carry BCC
// copies (Postfix adds one BCC address per lookup, so a mailbox's several
// subscribers are reached through one list address that the aliases table
// expands, as doc/postfix-mysql-maps/README.md explains).
//
// Trusts: nothing; every address goes through common/address.h (after
// WithoutRootDot, the one change Postfix makes to it that roster must too).
#ifndef ROSTER_POLICY_RECIPIENTS_H
#define ROSTER_POLICY_RECIPIENTS_H

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "common/result.h"

namespace roster {

constexpr char kBccInDomain[] = "bcc-in.roster.invalid";
constexpr char kBccOutDomain[] = "bcc-out.roster.invalid";

struct RecipientKeys {
  Address address;
  std::string full;               // local+ext@domain (the address as given, domain lower-cased)
  std::vector<std::string> keys;  // mailbox keys in order of preference: full, then without +ext
};

// One dot at the end of a domain goes, as Postfix's trivial-rewrite drops it
// when it rewrites or resolves an address: "bob@example.org." is delivered to
// bob@example.org. Not two dots, not a dot right after '@', not a lone dot
// (those stay, and fail to parse). For addresses and bare domains alike.
std::string_view WithoutRootDot(std::string_view address_or_domain);

// As Postfix looks up "user+ext@domain" and then "user@domain" (after
// WithoutRootDot).
Result<RecipientKeys> KeysOf(std::string_view address, const AddressOptions& options);

// "alice@example.com" (a lookup key) -> "alice=example.com@bcc-in.roster.invalid".
std::string BccListAddress(std::string_view key, char direction);
// The reverse: the subscribed address and the direction ('I' or 'O'), if
// `address` is a BCC list address.
std::optional<std::pair<std::string, char>> ParseBccListAddress(std::string_view address);

// Lower-cased key "alice@example.com" -> "example.com/alice/" (maildir path).
std::string MaildirPathOf(std::string_view key);
std::string DomainOfKey(std::string_view key);

}  // namespace roster

#endif
