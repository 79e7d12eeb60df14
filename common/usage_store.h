// usage_store.h: the data access of the dict role (roster_dict): what
// Dovecot's dict driver (quota/) may do, and nothing else. It reads and
// writes a mailbox's usage counters (Dovecot's quota dict, quota_clone) and
// records and reads its last logins (the lastlogin plugin through the dict
// proxy). It reads no address of another mailbox and deletes nothing.
//
// Addresses are normalised by the caller (common/address.h); lookups compare
// with the mailbox's lookup_key, LOWER(address). NotFound when the thing does
// not exist, Temporary when the database cannot answer now.
//
// Trusts: the Db it is given (and so the database's answers). One
// UsageStore on one Db, on the Db's thread.
#ifndef ROSTER_COMMON_USAGE_STORE_H
#define ROSTER_COMMON_USAGE_STORE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "common/sql_batch.h"
#include "common/store_types.h"

namespace roster {

// A usage row's counters; either may be unknown (migration 003).
struct UsageCounters {
  std::optional<int64_t> bytes, messages;
};

struct UsageIncrement {
  std::string address;
  int64_t bytes = 0, messages = 0;
};

// Absolute values for a mailbox's counters; nullopt leaves that counter as it is.
struct UsageSet {
  std::string address;
  std::optional<int64_t> bytes, messages;
};

class UsageStore {
 public:
  explicit UsageStore(Db& db) : db_(db) {}

  Result<Usage> GetUsage(std::string_view address);
  // One counter of Dovecot's quota dict (migration 003: a counter may be
  // unknown). NotFound when the mailbox has no usage row or the counter is
  // unknown: Dovecot then recounts and sets it.
  Result<int64_t> GetUsageCounter(std::string_view address, UsageCounter counter);
  // Increments whose database write fails with a temporary error (the
  // server away, a deadlock) or whose outcome is unknown (the connection died
  // after it was sent, common/db.h) leave the counters they change unknown,
  // so Dovecot recounts them instead of keeping a counter that missed, or
  // may have doubled, an increment: they answer NotFound once the counters
  // are unknown, and the error when that cannot be done now (then it is done
  // once the server is back, before this Db's next statement). Inside a
  // transaction the caller does this after the rollback (ForgetUsage).
  //
  // Adds diff in one statement, so concurrent increments are never lost;
  // NotFound when there is no usage row or the counter is unknown.
  Status AddToUsageCounter(std::string_view address, UsageCounter counter, int64_t diff);
  // Adds to both counters in one statement (the quota plugin's usual commit):
  // NotFound when there is no usage row or a counter being changed is unknown,
  // and then nothing is changed. At least one diff must be non-zero.
  Status AddToUsage(std::string_view address, int64_t bytes, int64_t messages);
  // Batches for the dict's asynchronous mode, kMaxBatch mailboxes per
  // statement. GetUsages: element i answers addresses[i], empty if there is
  // no usage row. AddToUsages: one UPDATE for the batch (each mailbox's
  // increments summed, and applied or not together); element i answers
  // increments[i] as AddToUsage would: Ok (applied), NotFound (no usage row,
  // a counter it changes is unknown, or, rarely, it cannot be told: Dovecot
  // then recounts), or an error. When a row makes the batch fail (a counter
  // out of range), each increment is applied alone, so only the one at fault
  // fails; an error's text names no other increment's mailbox.
  Result<std::vector<std::optional<UsageCounters>>> GetUsages(const std::vector<std::string>& addresses);
  std::vector<Status> AddToUsages(const std::vector<UsageIncrement>& increments);
  // Makes the chosen counters unknown (NULL, as Dovecot's unset) now, or,
  // while the server is away, before this Db's next statement.
  Status ForgetUsage(std::string_view address, bool bytes, bool messages);
  // Sets the counter, creating the usage row if needed; nullopt makes it
  // unknown (Dovecot's unset) and keeps the row and the account. NotFound when
  // there is no such mailbox (common/shared_sql.h).
  Status SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value);
  // Sets the given counters (at least one) in one statement (quota_clone's
  // commit: both), creating the usage row if needed (a counter not given is
  // then unknown) and leaving a counter not given as it is; a counter set is
  // known again. NotFound when there is no such mailbox. Setting twice gives
  // what setting once gives: retried after a lost connection, and after a
  // deadlock. SetUsages: the same for a batch, kMaxBatch mailboxes per
  // statement, as if applied in order (a mailbox's later set of a counter
  // wins); element i answers sets[i]. When a row makes the batch fail, each
  // set is applied alone, so only the one at fault fails.
  Status SetUsage(std::string_view address, std::optional<int64_t> bytes, std::optional<int64_t> messages);
  std::vector<Status> SetUsages(const std::vector<UsageSet>& sets);

  // unix_time: when the login happened (default: now, the database server's
  // clock); a time ahead of that clock is stored as its now. Retried once
  // after a lost connection (running it twice changes nothing more).
  Status RecordLastLogin(std::string_view address, std::string_view protocol, std::string_view ip,
                         std::optional<int64_t> unix_time = std::nullopt);
  // The mailbox's newest login as (protocol, ip, unix time) for the dict role,
  // which may not read addresses; NotFound when there is none.
  Result<std::tuple<std::string, std::string, int64_t>> NewestLogin(std::string_view address);

 private:
  Db& db_;
};

}  // namespace roster

#endif
