// send_as.h: the send-as grants (migration 006) and the facts roster-policyd's
// sender_logins table needs: which SASL logins may use an envelope sender.
// A mailbox owns its own address; a grant lets a mailbox use another address
// (an alias, another mailbox's, one elsewhere, or "@domain" for every address
// of a domain). The policy role reads; rosterctl (role admin) changes grants,
// each change with its change-log row in the same transaction.
//
// Addresses are normalised by the caller (common/address.h); the database
// compares lower-cased, as for subscriptions. Only active mailboxes of active
// domains are owners. Answers are bounded: kMaxOwners logins at most.
//
// Trusts: the Db it is given; the caller to have checked the actor's right.
// One SendAs on one Db, on the Db's thread.
#ifndef ROSTER_COMMON_SEND_AS_H
#define ROSTER_COMMON_SEND_AS_H

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts.h"
#include "common/db.h"
#include "common/result.h"

namespace roster {

struct SendAsGrant {
  std::string address;  // lower-cased; "@domain" for a whole domain
  std::string login;    // the mailbox, as stored
  bool login_active = false;  // the mailbox and its domain are active
  std::string created_at;
};

// Who may send as one address (the policy role's one query).
struct SenderOwners {
  // The mailbox named by the first of the mailbox keys that names one, as
  // stored, when it and its domain are active (it owns its address).
  std::optional<std::string> mailbox;
  // Whether the first mailbox key that names a mailbox exists at all (active or not).
  bool mailbox_exists = false;
  // The active mailboxes granted any of the grant keys, in address order, once each.
  std::vector<std::string> granted;
};

class SendAs {
 public:
  // An answer lists at most this many logins: 300 addresses of at most 254
  // octets and their separators fit Postfix's 100,000-octet socketmap reply.
  static constexpr size_t kMaxOwners = 300;
  // Grants on one address; rosterctl refuses more.
  static constexpr size_t kMaxGrantsPerAddress = kMaxOwners;

  explicit SendAs(Db& db) : db_(db) {}

  // --- policy role ---
  // mailbox_keys: the sender and then its form without +ext (1 or 2);
  // grant_keys: the keys grants may name ("a+x@d", "a@d", "@d"; 1 to 3).
  // Invalid when more than kMaxOwners grants match.
  Result<SenderOwners> FindOwners(const std::vector<std::string>& mailbox_keys,
                                  const std::vector<std::string>& grant_keys);
  // The stored spelling of the mailboxes whose lookup keys (exact, as
  // MailboxState::key gives them) are `keys`, in the order of `keys`; keys
  // that name no mailbox are left out.
  Result<std::vector<std::string>> StoredAddresses(const std::vector<std::string>& keys);

  // --- administration (role admin) ---
  // `address` as common/address.h normalised it ("@domain" allowed), `login`
  // a mailbox here. Conflict when the grant exists; NotFound when the mailbox
  // does not; Invalid past kMaxGrantsPerAddress.
  Status Grant(std::string_view address, std::string_view login, const Actor& actor);
  // NotFound when there is no such grant.
  Status Revoke(std::string_view address, std::string_view login, const Actor& actor);
  // Deleting a domain (Accounts::DeleteDomain, inside its transaction: call
  // it only there): removes every grant on an address of `domain` (and on
  // "@domain"), whoever holds it, each with a send-as-revoke entry in the
  // change log; returns how many. Grants held by the domain's own mailboxes
  // went with them already. Reads kPage grants at a time.
  Result<uint64_t> RemoveGrantsOnDomain(std::string_view domain, const Actor& actor);
  // The grants on the address `who` and those held by the mailbox `who`
  // ("": all), in address then login order; at most `limit` rows.
  Result<std::vector<SendAsGrant>> List(std::string_view who, size_t limit);

 private:
  Db& db_;
};

}  // namespace roster

#endif
