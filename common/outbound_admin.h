// outbound_admin.h: the admin role's side of the outbound limits (migration
// 007): what a mailbox and a domain may send per UTC hour and day, the
// current counts for display, and suspensions set and lifted by hand. The
// counting is the policy role's (common/outbound_counter.h). Each change
// writes the change log in the same transaction.
//
// Trusts: the Db it is given; addresses normalised by common/address.h; the
// caller to have checked the actor's right. One OutboundAdmin on one Db.
#ifndef ROSTER_COMMON_OUTBOUND_ADMIN_H
#define ROSTER_COMMON_OUTBOUND_ADMIN_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

// The four limits. As a domain's defaults 0 means unlimited; as a mailbox's
// own, nullopt means "the domain's default".
struct OutboundLimits {
  std::optional<uint64_t> per_hour, per_day, rcpt_per_message, rcpt_per_day;
};

// A change of limits: an unset field keeps its value; for a mailbox, a set
// field holding nullopt returns to the domain's default.
struct OutboundLimitChange {
  std::optional<std::optional<uint64_t>> per_hour, per_day, rcpt_per_message, rcpt_per_day;
  bool empty() const { return !per_hour && !per_day && !rcpt_per_message && !rcpt_per_day; }
};

// What `rosterctl outbound show` prints.
struct OutboundStatus {
  std::string address;
  OutboundLimits own;        // nullopt: the domain's default
  OutboundLimits effective;  // what applies (0 = unlimited)
  // Counts of the current UTC hour and day (0 when the window has passed).
  uint64_t hour_messages = 0, hour_attempts = 0, day_messages = 0, day_recipients = 0;
  std::string suspended_at;  // "" = not suspended
  std::string suspended_reason;
};

struct SuspendedMailbox {
  std::string address;
  std::string suspended_at;
  std::string reason;
};

class OutboundAdmin {
 public:
  explicit OutboundAdmin(Db& db) : db_(db) {}

  // Invalid for a limit above kMaxOutboundLimit or an empty change.
  Status SetMailboxLimits(std::string_view address, const OutboundLimitChange& change, const Actor& actor);
  // A domain's defaults: a field set to nullopt is invalid (a default is a number).
  Status SetDomainDefaults(std::string_view domain, const OutboundLimitChange& change, const Actor& actor);
  Result<OutboundLimits> DomainDefaults(std::string_view domain);
  Result<OutboundStatus> Show(std::string_view address);
  // Suspends by hand; Conflict if suspended already.
  Status Suspend(std::string_view address, std::string_view reason, const Actor& actor);
  // Lifts a suspension and forgets the hour's refused attempts, so the
  // breaker counts afresh (the limits' counts stay); Conflict if the
  // mailbox's sending is not suspended.
  Status Lift(std::string_view address, const Actor& actor);
  Result<std::vector<SuspendedMailbox>> ListSuspended();

 private:
  Db& db_;
};

}  // namespace roster

#endif
