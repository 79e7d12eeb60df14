// outbound.h: outbound limits and the circuit breaker's data (migration 007):
// what a mailbox may send per UTC hour and day, its counters, and the
// suspension of its sending. The policy role counts and suspends
// (roster-policyd); the admin role sets limits, shows them and lifts a
// suspension (rosterctl). All SQL about these columns and the table
// outbound_counter is here (the first of common/accounts' per-role parts).
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
// made by common/address.h; the caller to have checked the actor's right.
#ifndef ROSTER_COMMON_OUTBOUND_H
#define ROSTER_COMMON_OUTBOUND_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/accounts.h"
#include "common/db.h"
#include "common/ip.h"
#include "common/result.h"

namespace roster {

// Largest limit anyone may set (the schema's CHECK says the same); 0 = unlimited.
constexpr uint64_t kMaxOutboundLimit = 100000000;
// Largest breaker factor (a multiple of the hourly limit).
constexpr uint64_t kMaxBreakerFactor = 1000;

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

class Outbound {
 public:
  explicit Outbound(Db& db) : db_(db) {}

  // --- role policy ---
  // Counts a message of `recipients` recipients sent by the mailbox `key`:
  // admitted (one statement: counted) or refused (counted as an attempt
  // only). A refusal that takes the hour's attempts past the breaker's
  // threshold suspends the mailbox's sending and writes the change log as
  // `actor`; exactly one request sees tripped = true, the others past the
  // threshold at the same time kSuspended.
  Result<OutboundDecision> Count(std::string_view key, uint64_t recipients, const BreakerRule& rule,
                                 const Actor& actor);
  // The same for several messages (at most Accounts::kMaxBatch), decided in
  // their order (two of one mailbox: the second sees the first counted):
  // element i answers checks[i]. One batch of one is Count. Otherwise one
  // read of the mailboxes, then one transaction: the missing counter rows
  // made, every counter row read under its lock, the decisions, one UPDATE
  // of the rows that changed, COMMIT; a trip of the breaker after it as in
  // Count. A key the batch cannot match (no such mailbox) goes through
  // Count. A failure of the transaction answers every check with it.
  std::vector<Result<OutboundDecision>> CountBatch(const std::vector<OutboundCheck>& checks, const BreakerRule& rule);
  // The lookup key of the active mailbox of an active domain that logged in
  // over IMAP or POP3 from one of `ranges` (as Accounts::LoggedInFrom) within
  // `window`: the newest such login's; nullopt if none.
  Result<std::optional<std::string>> MailboxLoggedInFrom(const std::vector<IpRange>& ranges,
                                                         std::chrono::milliseconds window);

  // --- role admin; each change writes the change log in the same transaction ---
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
  // After a refusal that took the hour's attempts to `d->attempts`: trips
  // the breaker past `threshold` (one transaction; exactly one request
  // across daemons sees tripped), else leaves `d` as it is.
  Status MaybeTrip(uint64_t id, uint64_t threshold, const Actor& actor, OutboundDecision* d);

  Db& db_;
};

}  // namespace roster

#endif
