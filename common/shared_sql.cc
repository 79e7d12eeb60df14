// shared_sql.cc: see shared_sql.h.
#include "common/shared_sql.h"

#include <string>

namespace roster {

Result<uint64_t> MailboxIdOf(Db& db, std::string_view address) {
  auto rows = db.Query("SELECT id FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return rows->front().Uint(0);
}

const char* CounterColumn(UsageCounter counter) { return counter == UsageCounter::kBytes ? "bytes" : "messages"; }

Status SetUsageCounter(Db& db, std::string_view address, UsageCounter counter, std::optional<int64_t> value) {
  const std::string column = CounterColumn(counter);
  const std::string other = CounterColumn(counter == UsageCounter::kBytes ? UsageCounter::kMessages
                                                                          : UsageCounter::kBytes);
  DbValue bound = value ? DbValue(*value) : DbValue(nullptr);
  // A row created here knows only this counter: the other stays unknown until set.
  // Setting a value twice gives what setting it once gives: retried after a lost connection.
  auto affected = db.ExecuteIdempotent("INSERT INTO mailbox_usage (mailbox_id, " + column + ", " + other +
                                           ") SELECT id, ?, NULL FROM mailbox WHERE lookup_key = LOWER(?) "
                                           "ON DUPLICATE KEY UPDATE " + column + " = VALUES(" + column + ")",
                                       {bound, std::string(address)});
  if (!affected) return affected.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: either no such mailbox, or the counter already held this value.
  auto id = MailboxIdOf(db, address);
  return id ? Status::Ok() : Status(id.error());
}

}  // namespace roster
