// policy_store.h: the data access of the policy role (roster_policy): the
// questions roster-policyd (policy/) answers for Postfix. It reads domains,
// mailboxes' state, limits and usage, subscriptions, last logins by client
// address and the send-as grants, never a password hash. (The policy role's
// writes, the outbound counters and the breaker's suspension, are
// common/outbound_counter, in the same library.)
//
// Addresses are normalised by the caller (common/address.h); the database
// compares lower-cased. Answers are bounded (kMaxSubscriberRows, kMaxOwners).
// NotFound is never a "no" here: an empty answer is; Temporary when the
// database cannot answer now.
//
// Trusts: the Db it is given (and so the database's answers). One
// PolicyStore on one Db, on the Db's thread.
#ifndef ROSTER_COMMON_POLICY_STORE_H
#define ROSTER_COMMON_POLICY_STORE_H

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/ip.h"
#include "common/result.h"
#include "common/sql_batch.h"
#include "common/store_types.h"

namespace roster {

// What Postfix's questions need about one mailbox: state, limits, usage and
// route, never a credential.
struct MailboxState {
  std::string key;  // lookup_key
  bool active = false;
  bool domain_active = false;
  uint64_t max_bytes = 0;     // 0 = unlimited
  uint64_t max_messages = 0;  // 0 = unlimited
  std::optional<int64_t> bytes, messages;  // unknown: no usage row, or a recount pending
  std::string unit;            // "" = no unit (the MX's own)
  std::string unit_host;       // from the unit table
  std::string unit_transport;  // from the unit table
};

// A recipient's domain and mailbox, in one query.
struct RecipientState {
  bool domain_exists = false;
  bool domain_active = false;
  std::string domain_transport;
  std::optional<MailboxState> mailbox;  // the first key that names a mailbox
};

// Who may send as one address (sender_logins; the send-as grants, migration
// 006: a mailbox owns its own address, a grant lets a mailbox use another).
struct SenderOwners {
  // The mailbox named by the first of the mailbox keys that names one, as
  // stored, when it and its domain are active (it owns its address).
  std::optional<std::string> mailbox;
  // Whether the first mailbox key that names a mailbox exists at all (active or not).
  bool mailbox_exists = false;
  // The active mailboxes granted any of the grant keys, in address order, once each.
  std::vector<std::string> granted;
};

class PolicyStore {
 public:
  explicit PolicyStore(Db& db) : db_(db) {}

  // The domain and the mailbox named by the first of `keys` (addresses of
  // that domain, in order of preference: "a+b@d" before "a@d") that exists;
  // no keys: the domain alone. No such domain: domain_exists is false.
  Result<RecipientState> FindRecipient(std::string_view domain, const std::vector<std::string>& keys);
  // Element i: the mailbox named addresses[i], if there is one.
  Result<std::vector<std::optional<MailboxState>>> FindMailboxStates(const std::vector<std::string>& addresses);
  // Element i: the recipients subscribed to addresses[i] in `direction`
  // ('I' incoming, 'O' outgoing), in recipient order. Invalid when a query
  // meets more than kMaxSubscriberRows (more than Postfix takes in one answer
  // of 100,000 bytes): the rows read are bounded whatever the list's size.
  static constexpr size_t kMaxSubscriberRows = 25000;
  Result<std::vector<std::vector<std::string>>> FindSubscribers(const std::vector<std::string>& addresses,
                                                                char direction);
  // Whether an active mailbox of an active domain logged in over IMAP or POP3
  // from an address in one of `ranges` (packed as common/ip.h; each range's
  // ends of the same length; at most kMaxBatch ranges) within the last `window`.
  Result<bool> LoggedInFrom(const std::vector<IpRange>& ranges, std::chrono::milliseconds window);
  // The mailbox (lookup key) that logged in from one of `ranges` within
  // `window`: with `newest`, the one that did last; else any; none if nobody.
  Result<std::optional<std::string>> NewestLoginFrom(const std::vector<IpRange>& ranges,
                                                     std::chrono::milliseconds window, bool newest = true);

  // An answer lists at most this many logins (common/store_types.h).
  static constexpr size_t kMaxOwners = kMaxSendAsOwners;
  // mailbox_keys: the sender and then its form without +ext (1 or 2);
  // grant_keys: the keys grants may name ("a+x@d", "a@d", "@d"; 1 to 3).
  // Only active mailboxes of active domains are owners. Invalid when more
  // than kMaxOwners grants match.
  Result<SenderOwners> FindOwners(const std::vector<std::string>& mailbox_keys,
                                  const std::vector<std::string>& grant_keys);
  // The stored spelling of the mailboxes whose lookup keys (exact, as
  // MailboxState::key gives them) are `keys`, in the order of `keys`; keys
  // that name no mailbox are left out.
  Result<std::vector<std::string>> StoredAddresses(const std::vector<std::string>& keys);

 private:
  Db& db_;
};

}  // namespace roster

#endif
