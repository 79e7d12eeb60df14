// usage_store.cc: see usage_store.h. The SQL of the dict role: the usage
// counters and the last logins.
#include "common/usage_store.h"

#include <algorithm>

#include "common/ip.h"
#include "common/shared_sql.h"
#include "common/sql_batch.h"
#include "common/text.h"

namespace roster {
namespace {

constexpr char kUsageOfOneSql[] =
    "SELECT u.bytes, u.messages FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id "
    "WHERE m.lookup_key = LOWER(?)";

}  // namespace

Result<Usage> UsageStore::GetUsage(std::string_view address) {
  auto rows = db_.Query(kUsageOfOneSql, {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no usage row");
  return Usage{rows->front().Int(0), rows->front().Int(1)};
}

Result<int64_t> UsageStore::GetUsageCounter(std::string_view address, UsageCounter counter) {
  auto rows = db_.Query(std::string("SELECT u.") + CounterColumn(counter) +
                            " FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id WHERE m.lookup_key = LOWER(?)",
                        {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no usage row");
  if (rows->front().IsNull(0)) return Error::NotFound("usage unknown");
  return rows->front().Int(0);
}

Status UsageStore::ForgetUsage(std::string_view address, bool bytes, bool messages) {
  if (!bytes && !messages) return Status::Ok();
  // Idempotent, so it is retried and, while the server is away, kept until it
  // is back (Db::ExecuteEventually).
  return db_.ExecuteEventually(
      "UPDATE mailbox_usage SET bytes = IF(? = 1, NULL, bytes), messages = IF(? = 1, NULL, messages) "
      "WHERE mailbox_id = (SELECT id FROM mailbox WHERE lookup_key = LOWER(?))",
      {int64_t{bytes ? 1 : 0}, int64_t{messages ? 1 : 0}, std::string(address)});
}

namespace {

// The answer to an increment that failed with a temporary error: it was not
// applied, or may have been (outcome_unknown). Either way the counter would
// now be wrong, so it becomes unknown and Dovecot recounts it: NotFound when
// that is done, else the error (and the counter is forgotten once the server
// is back). Inside a transaction the caller does this after the rollback.
Status AfterFailedIncrement(Db& db, UsageStore& store, std::string_view address, bool bytes, bool messages,
                            const Error& cause) {
  if (!cause.is_temporary() || db.in_transaction()) return cause;
  Status forgotten = store.ForgetUsage(address, bytes, messages);
  if (!forgotten.ok()) return cause;
  return Error::NotFound(std::string(cause.outcome_unknown ? "the increment may have been applied or not"
                                                           : "the increment was not applied") +
                         " (" + cause.message + "): the counter is unknown until recounted");
}

}  // namespace

Status UsageStore::AddToUsageCounter(std::string_view address, UsageCounter counter, int64_t diff) {
  if (diff == 0) {
    auto value = GetUsageCounter(address, counter);
    return value ? Status::Ok() : Status(value.error());
  }
  const std::string column = CounterColumn(counter);
  auto affected = db_.Execute("UPDATE mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id SET u." + column +
                                  " = u." + column + " + ? WHERE m.lookup_key = LOWER(?) AND u." + column +
                                  " IS NOT NULL",
                              {diff, std::string(address)});
  if (!affected)
    return AfterFailedIncrement(db_, *this, address, counter == UsageCounter::kBytes,
                                counter == UsageCounter::kMessages, affected.error());
  return ExpectOneRow(affected, "no usage row");
}

Status UsageStore::AddToUsage(std::string_view address, int64_t bytes, int64_t messages) {
  if (bytes == 0 && messages == 0) return Error::Invalid("nothing to add");
  auto affected = db_.Execute(
      "UPDATE mailbox_usage SET bytes = bytes + ?, messages = messages + ? "
      "WHERE mailbox_id = (SELECT id FROM mailbox WHERE lookup_key = LOWER(?)) "
      "AND (? = 0 OR bytes IS NOT NULL) AND (? = 0 OR messages IS NOT NULL)",
      {bytes, messages, std::string(address), bytes, messages});
  if (!affected) return AfterFailedIncrement(db_, *this, address, bytes != 0, messages != 0, affected.error());
  return ExpectOneRow(affected, "no usage row");
}

namespace {

// Both counters of a batch of mailboxes (NULL: unknown).
const BatchStatements kUsageBatch([](size_t n) {
  return "SELECT m.lookup_key, u.bytes, u.messages FROM mailbox m JOIN mailbox_usage u ON u.mailbox_id = m.id "
         "WHERE m.lookup_key IN (" + Placeholders(n) + ")";
});

// Adds per-key sums to a batch of mailboxes in one statement. A row changes
// only if every counter its sum changes is known, so the affected-rows
// count says whether all of them were applied.
const BatchStatements kUsageAddBatch([](size_t n) {
  return "UPDATE mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id "
         "SET u.bytes = u.bytes + CASE m.lookup_key " + Placeholders(n, "WHEN ? THEN ?", " ") +
         " ELSE 0 END, u.messages = u.messages + CASE m.lookup_key " + Placeholders(n, "WHEN ? THEN ?", " ") +
         " ELSE 0 END WHERE m.lookup_key IN (" + Placeholders(n) + ") AND CASE m.lookup_key " +
         Placeholders(n, "WHEN ? THEN (? = 0 OR u.bytes IS NOT NULL) AND (? = 0 OR u.messages IS NOT NULL)", " ") +
         " ELSE FALSE END";
});

}  // namespace

Result<std::vector<std::optional<UsageCounters>>> UsageStore::GetUsages(const std::vector<std::string>& addresses) {
  std::vector<std::optional<UsageCounters>> found(addresses.size());
  auto counter = [](const DbRow& r, size_t i) { return r.IsNull(i) ? std::nullopt : std::optional(r.Int(i)); };
  std::vector<std::string> keys;
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  for (size_t i : others) {
    auto rows = db_.Query(kUsageOfOneSql, {addresses[i]});
    if (!rows) return rows.error();
    if (!rows->empty()) found[i] = UsageCounters{counter(rows->front(), 0), counter(rows->front(), 1)};
  }
  Status s = QueryByKeys(db_, kUsageBatch, keys, [&](size_t i, const DbRow& r) {
    found[batched[i]] = UsageCounters{counter(r, 1), counter(r, 2)};
  });
  if (!s.ok()) return s.error();
  return found;
}

std::vector<Status> UsageStore::AddToUsages(const std::vector<UsageIncrement>& increments) {
  std::vector<Status> result(increments.size());
  std::vector<std::string> addresses, keys;
  for (const UsageIncrement& inc : increments) addresses.push_back(inc.address);
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  auto alone = [&](size_t i) {
    result[i] = AddToUsage(increments[i].address, increments[i].bytes, increments[i].messages);
  };
  for (size_t i : others) alone(i);
  // Sums per key, with the increments they came from; a key whose sums are
  // both zero changes nothing and is done.
  struct Sum {
    std::string key;
    int64_t bytes = 0, messages = 0;
    std::vector<size_t> from;  // indexes into increments
    bool overflow = false;
  };
  std::vector<Sum> sums;
  for (size_t k = 0; k < keys.size(); ++k) {
    const UsageIncrement& inc = increments[batched[k]];
    auto same = std::find_if(sums.begin(), sums.end(), [&](const Sum& s) { return s.key == keys[k]; });
    if (same == sums.end()) {
      same = sums.insert(sums.end(), Sum{});
      same->key = keys[k];
    }
    same->from.push_back(batched[k]);
    if (__builtin_add_overflow(same->bytes, inc.bytes, &same->bytes) ||
        __builtin_add_overflow(same->messages, inc.messages, &same->messages))
      same->overflow = true;
  }
  // A mailbox whose sum overflows has its increments applied one by one: only
  // the one that does not fit fails.
  for (const Sum& sum : sums)
    if (sum.overflow)
      for (size_t i : sum.from) alone(i);
  sums.erase(std::remove_if(sums.begin(), sums.end(),
                            [](const Sum& s) { return s.overflow || (s.bytes == 0 && s.messages == 0); }),
             sums.end());
  auto answer = [&](const Sum& sum, const Status& status) {
    for (size_t i : sum.from) result[i] = status;
  };
  for (size_t start = 0; start < sums.size(); start += kMaxBatch) {
    size_t count = std::min(kMaxBatch, sums.size() - start);
    auto [sql, size] = kUsageAddBatch.For(count);
    auto nth = [&](size_t i) -> const Sum& { return sums[start + std::min(i, count - 1)]; };
    DbParams params;
    for (size_t i = 0; i < size; ++i) params.insert(params.end(), {nth(i).key, nth(i).bytes});
    for (size_t i = 0; i < size; ++i) params.insert(params.end(), {nth(i).key, nth(i).messages});
    for (size_t i = 0; i < size; ++i) params.emplace_back(nth(i).key);
    for (size_t i = 0; i < size; ++i) params.insert(params.end(), {nth(i).key, nth(i).bytes, nth(i).messages});
    auto affected = db_.Execute(sql, params);
    if (!affected) {
      const Error& cause = affected.error();
      for (size_t i = start; i < start + count; ++i) {
        const Sum& sum = sums[i];
        if (cause.is_temporary()) {
          // Not applied, or maybe applied: each mailbox's counters become unknown.
          answer(sum, AfterFailedIncrement(db_, *this, sum.key, sum.bytes != 0, sum.messages != 0, cause));
        } else {
          // A row refused the statement (a counter out of range, say), and
          // with it the whole batch: each increment alone, so that only the
          // one at fault fails, with an error about its own mailbox.
          for (size_t j : sum.from) alone(j);
        }
      }
      continue;
    }
    if (*affected == count) continue;  // every one applied: Ok
    // Some rows had no usage row or an unknown counter: which ones, the
    // counters say now. Should they have changed meanwhile (the counts
    // disagree), the whole chunk is reported not applied: a needless recount
    // is harmless, a lost increment is not.
    std::vector<std::string> chunk;
    for (size_t i = start; i < start + count; ++i) chunk.push_back(sums[i].key);
    std::vector<bool> eligible(count, false);
    Status s = QueryByKeys(db_, kUsageBatch, chunk, [&](size_t i, const DbRow& r) {
      eligible[i] = (sums[start + i].bytes == 0 || !r.IsNull(1)) && (sums[start + i].messages == 0 || !r.IsNull(2));
    });
    size_t now_eligible = std::count(eligible.begin(), eligible.end(), true);
    for (size_t i = 0; i < count; ++i)
      if (!s.ok() || now_eligible != *affected || !eligible[i])
        answer(sums[start + i], Error::NotFound("no usage row, or a counter is unknown"));
  }
  return result;
}

Status UsageStore::SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value) {
  return roster::SetUsageCounter(db_, address, counter, value);
}

namespace {

// Sets counters of one mailbox; a NULL value leaves that counter as it is
// (a row created here then has it unknown). Sets are never NULL: an unset
// is SetUsageCounter's.
constexpr char kSetUsageSql[] =
    "INSERT INTO mailbox_usage (mailbox_id, bytes, messages) SELECT id, ?, ? FROM mailbox WHERE lookup_key = LOWER(?) "
    "ON DUPLICATE KEY UPDATE bytes = COALESCE(VALUES(bytes), bytes), messages = COALESCE(VALUES(messages), messages)";

// The same for a batch of mailboxes by lower-cased key.
const BatchStatements kSetUsageBatch([](size_t n) {
  return "INSERT INTO mailbox_usage (mailbox_id, bytes, messages) SELECT id, CASE lookup_key " +
         Placeholders(n, "WHEN ? THEN ?", " ") + " END, CASE lookup_key " + Placeholders(n, "WHEN ? THEN ?", " ") +
         " END FROM mailbox WHERE lookup_key IN (" + Placeholders(n) +
         ") ON DUPLICATE KEY UPDATE bytes = COALESCE(VALUES(bytes), bytes), "
         "messages = COALESCE(VALUES(messages), messages)";
});

DbValue Bound(std::optional<int64_t> v) { return v ? DbValue(*v) : DbValue(nullptr); }

// An idempotent write, run again after a deadlock (as Db::Transaction does).
Result<uint64_t> ExecuteSet(Db& db, const std::string& sql, const DbParams& params) {
  for (int attempt = 1;; ++attempt) {
    auto affected = db.ExecuteIdempotent(sql, params);
    if (affected || affected.error().db_code != 1213 || attempt == 3) return affected;
  }
}

}  // namespace

Status UsageStore::SetUsage(std::string_view address, std::optional<int64_t> bytes, std::optional<int64_t> messages) {
  if (!bytes && !messages) return Error::Invalid("nothing to set");
  auto affected = ExecuteSet(db_, kSetUsageSql, {Bound(bytes), Bound(messages), std::string(address)});
  if (!affected) return affected.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: either no such mailbox, or the counters already held these values.
  auto id = MailboxIdOf(db_, address);
  return id ? Status::Ok() : Status(id.error());
}

std::vector<Status> UsageStore::SetUsages(const std::vector<UsageSet>& sets) {
  std::vector<Status> result(sets.size());
  std::vector<std::string> addresses, keys;
  for (const UsageSet& set : sets) addresses.push_back(set.address);
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  auto alone = [&](size_t i) { result[i] = SetUsage(sets[i].address, sets[i].bytes, sets[i].messages); };
  for (size_t i : others) alone(i);
  // One row per key: its later sets win, as if applied in order.
  struct Row {
    std::string key;
    std::optional<int64_t> bytes, messages;
    std::vector<size_t> from;  // indexes into sets
  };
  std::vector<Row> rows;
  for (size_t k = 0; k < keys.size(); ++k) {
    const UsageSet& set = sets[batched[k]];
    if (!set.bytes && !set.messages) {
      result[batched[k]] = Error::Invalid("nothing to set");
      continue;
    }
    auto same = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.key == keys[k]; });
    if (same == rows.end()) {
      same = rows.insert(rows.end(), Row{});
      same->key = keys[k];
    }
    same->from.push_back(batched[k]);
    if (set.bytes) same->bytes = set.bytes;
    if (set.messages) same->messages = set.messages;
  }
  auto answer = [&](const Row& row, const Status& status) {
    for (size_t i : row.from) result[i] = status;
  };
  for (size_t start = 0; start < rows.size(); start += kMaxBatch) {
    size_t count = std::min(kMaxBatch, rows.size() - start);
    if (count == 1) {
      const Row& row = rows[start];
      answer(row, SetUsage(row.key, row.bytes, row.messages));
      continue;
    }
    auto [sql, size] = kSetUsageBatch.For(count);
    auto nth = [&](size_t i) -> const Row& { return rows[start + std::min(i, count - 1)]; };
    DbParams params;
    for (size_t i = 0; i < size; ++i) params.insert(params.end(), {nth(i).key, Bound(nth(i).bytes)});
    for (size_t i = 0; i < size; ++i) params.insert(params.end(), {nth(i).key, Bound(nth(i).messages)});
    for (size_t i = 0; i < size; ++i) params.emplace_back(nth(i).key);
    auto affected = ExecuteSet(db_, sql, params);
    if (!affected) {
      for (size_t i = start; i < start + count; ++i) {
        const Row& row = rows[i];
        if (affected.error().is_temporary())
          answer(row, affected.error());  // nothing written, or (unknown) written: a set may be sent again
        else
          for (size_t j : row.from) alone(j);  // only the one at fault fails, with its own error
      }
      continue;
    }
    // A row counts 1 inserted, 2 changed, 0 unchanged (or no such mailbox):
    // 2 each means every mailbox was there. Otherwise which were, their
    // usage rows say: the upsert gave every mailbox there one.
    if (*affected == 2 * count) continue;
    std::vector<std::string> chunk;
    for (size_t i = start; i < start + count; ++i) chunk.push_back(rows[i].key);
    std::vector<bool> there(count, false);
    Status s = QueryByKeys(db_, kUsageBatch, chunk, [&](size_t i, const DbRow&) { there[i] = true; });
    for (size_t i = 0; i < count; ++i)
      if (!s.ok())
        answer(rows[start + i], s);
      else if (!there[i])
        for (size_t j : rows[start + i].from) result[j] = Error::NotFound("no such mailbox: " + sets[j].address);
  }
  return result;
}

// ---------------------------------------------------------------- last login

Status UsageStore::RecordLastLogin(std::string_view address, std::string_view protocol, std::string_view ip,
                                 std::optional<int64_t> unix_time) {
  if (protocol.empty() || protocol.size() > 16) return Error::Invalid("invalid protocol name");
  for (char c : protocol)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return Error::Invalid("invalid protocol name");
  auto packed = PackIp(ip);
  if (!packed) return packed.error();
  // A login recorded late (commits are asynchronous) never replaces a newer
  // one: ip is assigned first, while logged_at still holds the stored time.
  // No time is stored ahead of the database server's clock: a time from the
  // future would hide every real login until then. Running it twice gives
  // what running it once gives, so a lost connection costs a retry, not the
  // login.
#define ROSTER_LOGIN_TIME "LEAST(COALESCE(FROM_UNIXTIME(?), UTC_TIMESTAMP(6)), UTC_TIMESTAMP(6))"
  const DbValue when = unix_time ? DbValue(*unix_time) : DbValue(nullptr);
  auto affected = db_.ExecuteIdempotent(
      "INSERT INTO last_login (mailbox_id, protocol, ip, logged_at) "
      "SELECT id, ?, UNHEX(?), " ROSTER_LOGIN_TIME " FROM mailbox WHERE lookup_key = LOWER(?) "
      "ON DUPLICATE KEY UPDATE ip = IF(VALUES(logged_at) >= logged_at, VALUES(ip), ip), "
      "logged_at = GREATEST(logged_at, VALUES(logged_at))",
      {std::string(protocol), Hex(*packed), when, std::string(address)});
  if (!affected) return affected.error();
  // The mailbox's newest login of every protocol and the passdb's
  // (migration 015), raised to this one's time, to the minute (as the
  // passdb's: common/login_store.cc); never lowered, so late or twice is
  // harmless. updated_at stays (the last change an administrator made).
  auto raised = db_.ExecuteIdempotent(
      "UPDATE mailbox SET last_login_at = " ROSTER_LOGIN_TIME ", updated_at = updated_at WHERE lookup_key = LOWER(?) "
      "AND (last_login_at IS NULL OR last_login_at < " ROSTER_LOGIN_TIME " - INTERVAL 1 MINUTE)",
      {when, std::string(address), when});
#undef ROSTER_LOGIN_TIME
  if (!raised) return raised.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: no such mailbox, or a newer login is already stored.
  auto id = MailboxIdOf(db_, address);
  return id ? Status::Ok() : Status(id.error());
}

Result<std::tuple<std::string, std::string, int64_t>> UsageStore::NewestLogin(std::string_view address) {
  auto rows = db_.Query(
      "SELECT l.protocol, HEX(l.ip), CAST(UNIX_TIMESTAMP(l.logged_at) AS SIGNED) FROM last_login l "
      "JOIN mailbox m ON m.id = l.mailbox_id WHERE m.lookup_key = LOWER(?) ORDER BY l.logged_at DESC LIMIT 1",
      {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no login recorded");
  const DbRow& r = rows->front();
  return std::make_tuple(r.String(0), UnpackIp(Unhex(r.String(1))), r.Int(2));
}

}  // namespace roster
