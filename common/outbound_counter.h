// outbound_counter.h: the policy role's outbound counting and circuit
// breaker (migration 007): what roster-policyd writes. The limits
// themselves are set by the admin role (common/outbound_admin.h).
//
// Counting is exact when several roster-policyd share one database: the
// admission of a message is one conditional UPDATE of the mailbox's counter
// row, which holds the row lock while it rolls the windows, compares every
// limit and counts, so N requests at once at the limit admit exactly the
// allowed number; the windows are the database server's UTC clock hour and
// day, the same for every daemon. A refused message is not counted as sent,
// only as an attempt (the breaker's measure). Under load the policy daemon
// counts many messages at once (CountBatch): one transaction locks their
// counter rows (SELECT ... FOR UPDATE), decides in order in C++ and writes
// them back in one UPDATE, exact under the same row locks.
//
// Trusts: the Db it is given; keys are lookup keys (lower-cased addresses)
// made by common/address.h. One OutboundCounter on one Db, on its thread.
#ifndef ROSTER_COMMON_OUTBOUND_COUNTER_H
#define ROSTER_COMMON_OUTBOUND_COUNTER_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

// When the breaker trips: attempts in the UTC hour (admitted and refused
// messages) past the lowest of those that apply: `attempts` (0 = none) and
// `factor` times the mailbox's hourly limit (0, or no hourly limit = none).
struct BreakerRule {
  uint64_t attempts = 0;
  uint64_t factor = 0;
};

enum class OutboundVerdict {
  kAdmitted,
  kUnknownSender,        // no such mailbox: not counted
  kSuspended,            // its sending is suspended
  kRecipientsPerMessage,
  kMessagesPerHour,
  kMessagesPerDay,
  kRecipientsPerDay,
  kBreaker,              // attempts past the breaker's threshold
};
const char* OutboundVerdictName(OutboundVerdict verdict);

struct OutboundDecision {
  OutboundVerdict verdict = OutboundVerdict::kAdmitted;
  uint64_t limit = 0;            // the limit that refused; for kBreaker the threshold
  std::string address;           // the mailbox as stored (refused answers only)
  uint64_t attempts = 0;         // attempts in the hour after this one (refused answers only)
  bool tripped = false;          // this request suspended the mailbox (exactly one request does)
  std::string suspended_reason;  // kSuspended, or tripped
};

// One message to count (CountBatch).
struct OutboundCheck {
  std::string key;  // the sender's mailbox, as for Count
  uint64_t recipients = 1;
  Actor actor;      // who suspends it, should this message trip the breaker
};

class OutboundCounter {
 public:
  explicit OutboundCounter(Db& db) : db_(db) {}

  // Counts a message of `recipients` recipients sent by the mailbox `key`:
  // admitted (one statement: counted) or refused (counted as an attempt
  // only). A refusal that takes the hour's attempts past the breaker's
  // threshold suspends the mailbox's sending and writes the change log as
  // `actor`; exactly one request sees tripped = true, the others past the
  // threshold at the same time kSuspended.
  Result<OutboundDecision> Count(std::string_view key, uint64_t recipients, const BreakerRule& rule,
                                 const Actor& actor);
  // The same for several messages (at most kMaxBatch, common/sql_batch.h),
  // decided in their order (two of one mailbox: the second sees the first
  // counted): element i answers checks[i]. One batch of one is Count.
  // Otherwise one read of the mailboxes, then one transaction: the missing
  // counter rows made, every counter row read under its lock, the
  // decisions, one UPDATE of the rows that changed, COMMIT; a trip of the
  // breaker after it as in Count. A key the batch cannot match (no such
  // mailbox) goes through Count. A failure of the transaction answers every
  // check with it.
  std::vector<Result<OutboundDecision>> CountBatch(const std::vector<OutboundCheck>& checks, const BreakerRule& rule);

 private:
  // After a refusal that took the hour's attempts to `d->attempts`: trips
  // the breaker past `threshold` (one transaction; exactly one request
  // across daemons sees tripped), else leaves `d` as it is.
  Status MaybeTrip(uint64_t id, uint64_t threshold, const Actor& actor, OutboundDecision* d);

  Db& db_;
};

}  // namespace roster

#endif
