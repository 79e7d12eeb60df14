// send_as_admin.h: the admin role's side of the send-as grants (migration
// 006): grant, revoke and list which mailbox may use which sender address
// (an alias, another mailbox's, one elsewhere, or "@domain" for every
// address of a domain). Each change writes its change-log row in the same
// transaction. The policy role's lookups of a sender's owners are
// common/policy_store.h.
//
// Addresses are normalised by the caller (common/address.h); the database
// compares lower-cased, as for subscriptions.
//
// Trusts: the Db it is given; the caller to have checked the actor's right.
// One SendAsAdmin on one Db, on the Db's thread.
#ifndef ROSTER_COMMON_SEND_AS_ADMIN_H
#define ROSTER_COMMON_SEND_AS_ADMIN_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

struct SendAsGrant {
  std::string address;  // lower-cased; "@domain" for a whole domain
  std::string login;    // the mailbox, as stored
  bool login_active = false;  // the mailbox and its domain are active
  std::string created_at;
};

class SendAsAdmin {
 public:
  // Grants on one address: no more than one answer to Postfix can carry
  // (common/store_types.h).
  static constexpr size_t kMaxGrantsPerAddress = kMaxSendAsOwners;

  explicit SendAsAdmin(Db& db) : db_(db) {}

  // `address` as common/address.h normalised it ("@domain" allowed), `login`
  // a mailbox here. Conflict when the grant exists; NotFound when the mailbox
  // does not; Invalid past kMaxGrantsPerAddress.
  Status Grant(std::string_view address, std::string_view login, const Actor& actor);
  // NotFound when there is no such grant.
  Status Revoke(std::string_view address, std::string_view login, const Actor& actor);
  // Deleting a domain (AdminStore::DeleteDomain, inside its transaction: call
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
