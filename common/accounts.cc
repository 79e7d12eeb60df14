// accounts.cc: see accounts.h. All of roster's data SQL is here.
#include "common/accounts.h"

#include <algorithm>
#include <functional>

#include "common/address.h"
#include "common/app_passwords.h"
#include "common/ip.h"
#include "common/password.h"
#include "common/send_as.h"
#include "common/text.h"

namespace roster {
namespace {

std::string DomainOf(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

std::string Unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return 0;
  };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  return out;
}

std::string Bounded(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  // Do not cut a UTF-8 sequence in half: strict mode would refuse the row.
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

Status ExpectOneRow(const Result<uint64_t>& affected, const std::string& what) {
  if (!affected) return affected.error();
  if (*affected == 0) return Error::NotFound(what);
  return Status::Ok();
}

constexpr char kMailboxColumns[] =
    "SELECT m.id, m.address, d.name, m.active, d.active, m.display_name, m.department, m.max_bytes, "
    "m.max_messages, m.unit, m.password_hash, m.created_at, m.updated_at, m.password_changed_at, "
    "u.bytes, u.messages, m.lookup_key "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_id LEFT JOIN mailbox_usage u ON u.mailbox_id = m.id ";

constexpr char kDomainColumns[] =
    "SELECT d.id, d.name, d.transport, d.active, d.default_max_bytes, d.default_max_messages, d.created_at, "
    "(SELECT COUNT(*) FROM mailbox m WHERE m.domain_id = d.id) FROM domain d ";

Domain DomainFromRow(const DbRow& r) {
  return Domain{r.Uint(0), r.String(1), r.String(2), r.Bool(3), r.Uint(4), r.Uint(5), r.String(6), r.Uint(7)};
}

Mailbox MailboxFromRow(const DbRow& r) {
  Mailbox m;
  m.id = r.Uint(0);
  m.address = r.String(1);
  m.domain = r.String(2);
  m.active = r.Bool(3);
  m.domain_active = r.Bool(4);
  m.display_name = r.String(5);
  m.department = r.String(6);
  m.max_bytes = r.Uint(7);
  m.max_messages = r.Uint(8);
  m.unit = r.String(9);
  m.password_scheme = r.String(10).empty() ? "" : SchemeName(ParseStoredHash(r.String(10)).scheme);
  m.created_at = r.String(11);
  m.updated_at = r.String(12);
  m.password_changed_at = r.String(13);
  if (!r.IsNull(14)) m.usage = Usage{r.Int(14), r.Int(15)};
  return m;
}

}  // namespace

// ---------------------------------------------------------------- login

namespace {

// Migration 005: the access columns, then the app password (if any) whose
// selector the typed password starts with, joined in the same query, so a
// login stays one statement and brings at most the one row it may check.
const std::string kLoginColumns =
    "m.id, m.address, m.password_hash, m.active, d.active, m.max_bytes, m.max_messages, m.unit, u.host, "
    "u.imap_port, u.pop3_port, m.login_protocols + 0, m.main_password_protocols + 0, a.id, a.selector, "
    "HEX(a.secret_hash), a.protocols + 0, a.expires_at IS NOT NULL AND a.expires_at <= UTC_TIMESTAMP(), "
    "a.last_used_at IS NULL OR a.last_used_at < UTC_TIMESTAMP() - INTERVAL 60 SECOND ";
// The login history's newest seq of the mailbox (with_history), or NULL: the
// end of the primary key's (mailbox_id, seq) range, one index dive
// (migration 008).
std::string LoginColumns(bool with_history) {
  return kLoginColumns +
         (with_history ? ", (SELECT MAX(h.seq) FROM login_history h WHERE h.mailbox_id = m.id) " : ", NULL ");
}
// FORCE INDEX: with a handful of domains the optimiser would scan the domain
// table through a join buffer for a batch, which does not stay cheap as
// domains grow.
constexpr char kLoginJoins[] =
    "JOIN domain d FORCE INDEX (PRIMARY) ON d.id = m.domain_id LEFT JOIN unit u ON u.name = m.unit "
    "LEFT JOIN app_password a ON a.mailbox_id = m.id AND a.selector ";

// The app password of a login row (kLoginColumns from `first`), if it has one
// and `m` does not hold it yet.
void AddAppPasswordKey(const DbRow& r, size_t first, MailboxLogin* m) {
  if (r.IsNull(first + 13)) return;
  AppPasswordKey key;
  key.id = r.Uint(first + 13);
  for (const AppPasswordKey& k : m->app_passwords)
    if (k.id == key.id) return;
  key.selector = r.String(first + 14);
  key.digest = Unhex(r.String(first + 15));
  key.protocols = static_cast<unsigned>(r.Uint(first + 16));
  key.expired = r.Bool(first + 17);
  key.last_use_due = r.Bool(first + 18);
  if (key.digest.size() == 32 && m->app_passwords.size() < kMaxAppPasswords) m->app_passwords.push_back(std::move(key));
}

// kLoginColumns starting at column `first`.
MailboxLogin LoginFromRow(const DbRow& r, size_t first) {
  MailboxLogin m;
  m.id = r.Uint(first);
  m.address = r.String(first + 1);
  m.password_hash = r.String(first + 2);
  m.mailbox_active = r.Bool(first + 3);
  m.domain_active = r.Bool(first + 4);
  m.max_bytes = r.Uint(first + 5);
  m.max_messages = r.Uint(first + 6);
  m.unit = r.String(first + 7);
  m.unit_host = r.String(first + 8);
  m.unit_imap_port = static_cast<unsigned>(r.Uint(first + 9));
  m.unit_pop3_port = static_cast<unsigned>(r.Uint(first + 10));
  if (!r.IsNull(first + 11)) m.login_protocols = static_cast<unsigned>(r.Uint(first + 11));
  if (!r.IsNull(first + 12)) m.main_password_protocols = static_cast<unsigned>(r.Uint(first + 12));
  if (!r.IsNull(first + 19)) m.newest_login_seq = r.Uint(first + 19);
  AddAppPasswordKey(r, first, &m);
  return m;
}

// A statement over a batch of `n` keys, "head ?, ?, ... tail", built once
// per size (1, 2, 4 ... kMaxBatch), so hot paths do not rebuild SQL text and
// a connection prepares a handful of statements. `list` makes the part
// repeated per key ("?" for an IN list).
class BatchStatements {
 public:
  using ListFn = std::string (*)(size_t n);
  explicit BatchStatements(ListFn list) {
    for (size_t size = 1; size <= Accounts::kMaxBatch; size *= 2) by_size_.push_back(list(size));
  }
  // The statement for n keys (padded up to a power of two) and its size.
  std::pair<const std::string&, size_t> For(size_t n) const {
    size_t index = 0;
    while ((size_t{1} << index) < n) ++index;
    return {by_size_.at(index), size_t{1} << index};
  }

 private:
  std::vector<std::string> by_size_;
};

std::string Placeholders(size_t n, const char* each = "?", const char* separator = ", ") {
  std::string list;
  for (size_t i = 0; i < n; ++i) list += (i == 0 ? "" : separator) + std::string(each);
  return list;
}

// The lower-cased keys are compared as they are (the column is
// utf8mb4_bin); the row's lookup_key says which key it answers.
// The selectors of the batch first, then its keys.
std::string LoginBatch(size_t n, bool with_history) {
  return "SELECT m.lookup_key, " + LoginColumns(with_history) + "FROM mailbox m " + kLoginJoins + "IN (" +
         Placeholders(n) + ") WHERE m.lookup_key IN (" + Placeholders(n) + ")";
}
const BatchStatements kLoginBatch([](size_t n) { return LoginBatch(n, false); });
const BatchStatements kLoginBatchWithHistory([](size_t n) { return LoginBatch(n, true); });

// Runs `batch` over lower-cased keys, kMaxBatch at a time, the last key
// repeated up to the statement's size; on_row(i, row) for every row whose
// first column is keys[i] (a key may appear more than once).
Status QueryByKeys(Db& db, const BatchStatements& batch, const std::vector<std::string>& keys,
                   const std::function<void(size_t, const DbRow&)>& on_row) {
  for (size_t start = 0; start < keys.size(); start += Accounts::kMaxBatch) {
    size_t count = std::min(Accounts::kMaxBatch, keys.size() - start);
    auto [sql, size] = batch.For(count);
    DbParams params;
    for (size_t i = 0; i < size; ++i) params.emplace_back(keys[start + std::min(i, count - 1)]);
    auto rows = db.Query(sql, params);
    if (!rows) return rows.error();
    for (const DbRow& r : *rows)
      for (size_t i = start; i < start + count; ++i)
        if (keys[i] == r.String(0)) on_row(i, r);
  }
  return Status::Ok();
}

// Dovecot keeps limits as signed 64-bit numbers (a larger quota_rule value
// makes it refuse the rule, and every delivery then fails); the columns are
// unsigned and migration 004 checks the same bound.
constexpr uint64_t kMaxLimit = 9223372036854775807ull;

Status CheckLimits(std::optional<uint64_t> bytes, std::optional<uint64_t> messages) {
  if (bytes && *bytes > kMaxLimit)
    return Error::Invalid("byte quota " + std::to_string(*bytes) + " is larger than Dovecot can hold (at most " +
                          std::to_string(kMaxLimit) + " bytes)");
  if (messages && *messages > kMaxLimit)
    return Error::Invalid("message limit " + std::to_string(*messages) + " is larger than Dovecot can hold (at most " +
                          std::to_string(kMaxLimit) + ")");
  return Status::Ok();
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Batch statements compare keys as stored, so the keys are lower-cased here,
// which gives what the server's LOWER() gives only for ASCII. Returns the
// indexes of the ASCII addresses (their keys appended to `keys`, in order);
// the others' indexes go to `others`, for a query of their own.
std::vector<size_t> SplitAscii(const std::vector<std::string>& addresses, std::vector<std::string>* keys,
                               std::vector<size_t>* others) {
  std::vector<size_t> ascii;
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (IsAscii(addresses[i])) {
      ascii.push_back(i);
      keys->push_back(AsciiLower(addresses[i]));
    } else {
      others->push_back(i);
    }
  }
  return ascii;
}

constexpr char kUsageOfOneSql[] =
    "SELECT u.bytes, u.messages FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id "
    "WHERE m.lookup_key = LOWER(?)";

}  // namespace

Result<MailboxLogin> Accounts::FindMailboxForLogin(std::string_view address, std::string_view selector,
                                                  bool with_history) {
  static const std::string kSql[2] = {
      "SELECT " + LoginColumns(false) + "FROM mailbox m " + kLoginJoins + "= ? WHERE m.lookup_key = LOWER(?)",
      "SELECT " + LoginColumns(true) + "FROM mailbox m " + kLoginJoins + "= ? WHERE m.lookup_key = LOWER(?)"};
  auto rows = db_.Query(kSql[with_history ? 1 : 0], {std::string(selector), std::string(address)});
  if (!rows) return rows.error();
  // The server's LOWER() also folds non-ASCII letters; a login matches only
  // the spellings that differ from the stored one in ASCII case, which is
  // also what Dovecot's cache keys (%Lu) and rosterctl's flushes fold.
  if (rows->empty() || !EqualsIgnoreCase(rows->front().String(1), address))
    return Error::NotFound("no such mailbox");
  return LoginFromRow(rows->front(), 0);
}

Result<std::vector<std::optional<MailboxLogin>>> Accounts::FindMailboxesForLogin(
    const std::vector<std::string>& addresses, const std::vector<std::string>& selectors, bool with_history) {
  auto selector_of = [&](size_t i) { return i < selectors.size() ? selectors[i] : std::string(); };
  std::vector<std::optional<MailboxLogin>> found(addresses.size());
  std::vector<std::string> keys;
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  for (size_t i : others) {
    auto one = FindMailboxForLogin(addresses[i], selector_of(i), with_history);
    if (one)
      found[i] = std::move(*one);
    else if (!one.error().is_not_found())
      return one.error();
  }
  // As QueryByKeys, with the batch's selectors bound before its keys: a
  // mailbox comes once per app password of it whose selector one of the
  // batch's passwords starts with (or once without one).
  for (size_t start = 0; start < keys.size(); start += kMaxBatch) {
    size_t count = std::min(kMaxBatch, keys.size() - start);
    auto [sql, size] = (with_history ? kLoginBatchWithHistory : kLoginBatch).For(count);
    DbParams params;
    for (size_t i = 0; i < size; ++i) params.emplace_back(selector_of(batched[start + std::min(i, count - 1)]));
    for (size_t i = 0; i < size; ++i) params.emplace_back(keys[start + std::min(i, count - 1)]);
    auto rows = db_.Query(sql, params);
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) {
      for (size_t i = start; i < start + count; ++i) {
        size_t at = batched[i];
        if (keys[i] != r.String(0) || !EqualsIgnoreCase(r.String(2), addresses[at])) continue;
        if (!found[at]) found[at] = LoginFromRow(r, 1);
        else AddAppPasswordKey(r, 1, &*found[at]);
      }
    }
  }
  return found;
}

Result<std::vector<std::pair<std::string, std::string>>> Accounts::ActiveAddressPage(std::string_view after_key,
                                                                                    uint64_t limit) {
  auto rows = db_.Query(
      "SELECT m.address, m.lookup_key FROM mailbox m JOIN domain d ON d.id = m.domain_id "
      "WHERE m.active = 1 AND d.active = 1 AND m.lookup_key > ? ORDER BY m.lookup_key LIMIT ?",
      {std::string(after_key), limit});
  if (!rows) return rows.error();
  std::vector<std::pair<std::string, std::string>> page;
  for (const DbRow& r : *rows) page.emplace_back(r.String(0), r.String(1));
  return page;
}

Result<bool> Accounts::ReplacePasswordHash(std::string_view address, std::string_view old_hash,
                                           std::string_view new_hash) {
  auto affected = db_.Execute(
      "UPDATE mailbox SET password_hash = ?, password_changed_at = UTC_TIMESTAMP() "
      "WHERE lookup_key = LOWER(?) AND password_hash = ?",
      {std::string(new_hash), std::string(address), std::string(old_hash)});
  if (!affected) return affected.error();
  return *affected == 1;
}

// ---------------------------------------------------------------- usage

Result<Usage> Accounts::GetUsage(std::string_view address) {
  auto rows = db_.Query(kUsageOfOneSql, {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no usage row");
  return Usage{rows->front().Int(0), rows->front().Int(1)};
}

namespace {

// The counter's column: one of two fixed names, never text from a caller.
const char* CounterColumn(UsageCounter counter) { return counter == UsageCounter::kBytes ? "bytes" : "messages"; }

}  // namespace

Result<int64_t> Accounts::GetUsageCounter(std::string_view address, UsageCounter counter) {
  auto rows = db_.Query(std::string("SELECT u.") + CounterColumn(counter) +
                            " FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id WHERE m.lookup_key = LOWER(?)",
                        {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no usage row");
  if (rows->front().IsNull(0)) return Error::NotFound("usage unknown");
  return rows->front().Int(0);
}

Status Accounts::ForgetUsage(std::string_view address, bool bytes, bool messages) {
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
Status AfterFailedIncrement(Db& db, Accounts& accounts, std::string_view address, bool bytes, bool messages,
                            const Error& cause) {
  if (!cause.is_temporary() || db.in_transaction()) return cause;
  Status forgotten = accounts.ForgetUsage(address, bytes, messages);
  if (!forgotten.ok()) return cause;
  return Error::NotFound(std::string(cause.outcome_unknown ? "the increment may have been applied or not"
                                                           : "the increment was not applied") +
                         " (" + cause.message + "): the counter is unknown until recounted");
}

}  // namespace

Status Accounts::AddToUsageCounter(std::string_view address, UsageCounter counter, int64_t diff) {
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

Status Accounts::AddToUsage(std::string_view address, int64_t bytes, int64_t messages) {
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

Result<std::vector<std::optional<UsageCounters>>> Accounts::GetUsages(const std::vector<std::string>& addresses) {
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

std::vector<Status> Accounts::AddToUsages(const std::vector<UsageIncrement>& increments) {
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

Status Accounts::SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value) {
  const std::string column = CounterColumn(counter);
  const std::string other = CounterColumn(counter == UsageCounter::kBytes ? UsageCounter::kMessages
                                                                          : UsageCounter::kBytes);
  DbValue bound = value ? DbValue(*value) : DbValue(nullptr);
  // A row created here knows only this counter: the other stays unknown until set.
  // Setting a value twice gives what setting it once gives: retried after a lost connection.
  auto affected = db_.ExecuteIdempotent("INSERT INTO mailbox_usage (mailbox_id, " + column + ", " + other +
                                  ") SELECT id, ?, NULL FROM mailbox WHERE lookup_key = LOWER(?) "
                                  "ON DUPLICATE KEY UPDATE " + column + " = VALUES(" + column + ")",
                              {bound, std::string(address)});
  if (!affected) return affected.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: either no such mailbox, or the counter already held this value.
  auto id = MailboxId(address);
  return id ? Status::Ok() : Status(id.error());
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

Status Accounts::SetUsage(std::string_view address, std::optional<int64_t> bytes, std::optional<int64_t> messages) {
  if (!bytes && !messages) return Error::Invalid("nothing to set");
  auto affected = ExecuteSet(db_, kSetUsageSql, {Bound(bytes), Bound(messages), std::string(address)});
  if (!affected) return affected.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: either no such mailbox, or the counters already held these values.
  auto id = MailboxId(address);
  return id ? Status::Ok() : Status(id.error());
}

std::vector<Status> Accounts::SetUsages(const std::vector<UsageSet>& sets) {
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

Status Accounts::RecordLastLogin(std::string_view address, std::string_view protocol, std::string_view ip,
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
  auto affected = db_.ExecuteIdempotent(
      "INSERT INTO last_login (mailbox_id, protocol, ip, logged_at) "
      "SELECT id, ?, UNHEX(?), LEAST(COALESCE(FROM_UNIXTIME(?), UTC_TIMESTAMP(6)), UTC_TIMESTAMP(6)) "
      "FROM mailbox WHERE lookup_key = LOWER(?) "
      "ON DUPLICATE KEY UPDATE ip = IF(VALUES(logged_at) >= logged_at, VALUES(ip), ip), "
      "logged_at = GREATEST(logged_at, VALUES(logged_at))",
      {std::string(protocol), Hex(*packed), unix_time ? DbValue(*unix_time) : DbValue(nullptr),
       std::string(address)});
  if (!affected) return affected.error();
  if (*affected > 0) return Status::Ok();
  // Zero rows: no such mailbox, or a newer login is already stored.
  auto id = MailboxId(address);
  return id ? Status::Ok() : Status(id.error());
}

Result<std::tuple<std::string, std::string, int64_t>> Accounts::NewestLogin(std::string_view address) {
  auto rows = db_.Query(
      "SELECT l.protocol, HEX(l.ip), CAST(UNIX_TIMESTAMP(l.logged_at) AS SIGNED) FROM last_login l "
      "JOIN mailbox m ON m.id = l.mailbox_id WHERE m.lookup_key = LOWER(?) ORDER BY l.logged_at DESC LIMIT 1",
      {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no login recorded");
  const DbRow& r = rows->front();
  return std::make_tuple(r.String(0), UnpackIp(Unhex(r.String(1))), r.Int(2));
}

Result<std::vector<LastLogin>> Accounts::LastLogins(std::string_view address, uint64_t limit) {
  auto rows = db_.Query(
      "SELECT m.address, l.protocol, HEX(l.ip), l.logged_at FROM last_login l "
      "JOIN mailbox m ON m.id = l.mailbox_id WHERE (? = '' OR m.lookup_key = LOWER(?)) "
      "ORDER BY l.logged_at DESC, m.address, l.protocol LIMIT ?",
      {std::string(address), std::string(address), limit});
  if (!rows) return rows.error();
  std::vector<LastLogin> out;
  for (const DbRow& r : *rows)
    out.push_back(LastLogin{r.String(0), r.String(1), UnpackIp(Unhex(r.String(2))), r.String(3)});
  return out;
}

// ---------------------------------------------------------------- Postfix's questions

namespace {

constexpr char kStateColumns[] =
    "m.lookup_key, m.active, d.active, m.max_bytes, m.max_messages, u.bytes, u.messages, m.unit, un.host, "
    "un.transport ";
constexpr char kStateJoins[] = "LEFT JOIN mailbox_usage u ON u.mailbox_id = m.id LEFT JOIN unit un ON un.name = m.unit ";

// kStateColumns starting at column `first`.
MailboxState StateFromRow(const DbRow& r, size_t first) {
  auto counter = [&](size_t i) { return r.IsNull(first + i) ? std::nullopt : std::optional(r.Int(first + i)); };
  MailboxState m;
  m.key = r.String(first);
  m.active = r.Bool(first + 1);
  m.domain_active = r.Bool(first + 2);
  m.max_bytes = r.Uint(first + 3);
  m.max_messages = r.Uint(first + 4);
  m.bytes = counter(5);
  m.messages = counter(6);
  m.unit = r.String(first + 7);
  m.unit_host = r.String(first + 8);
  m.unit_transport = r.String(first + 9);
  return m;
}

const BatchStatements kStateBatch([](size_t n) {
  return std::string("SELECT ") + kStateColumns + "FROM mailbox m JOIN domain d ON d.id = m.domain_id " +
         kStateJoins + "WHERE m.lookup_key IN (" + Placeholders(n) + ")";
});
const std::string kStateOfOneSql = std::string("SELECT ") + kStateColumns +
                                   "FROM mailbox m JOIN domain d ON d.id = m.domain_id " + kStateJoins +
                                   "WHERE m.lookup_key = LOWER(?)";

// Subscribers in one direction; the literal direction keeps each statement's
// only parameters the keys.
// Every statement reads at most kMaxSubscriberRows + 1 rows, so one query
// never loads a list of any size into memory.
std::string SubscriberLimit() { return " LIMIT " + std::to_string(Accounts::kMaxSubscriberRows + 1); }
BatchStatements::ListFn SubscriberList(char direction) {
  if (direction == 'I')
    return [](size_t n) {
      return "SELECT address, recipient FROM subscription WHERE direction = 'I' AND address IN (" + Placeholders(n) +
             ") ORDER BY recipient" + SubscriberLimit();
    };
  return [](size_t n) {
    return "SELECT address, recipient FROM subscription WHERE direction = 'O' AND address IN (" + Placeholders(n) +
           ") ORDER BY recipient" + SubscriberLimit();
  };
}
const BatchStatements kIncomingBatch(SubscriberList('I'));
const BatchStatements kOutgoingBatch(SubscriberList('O'));

// QueryByKeys for addresses of any spelling: the ASCII ones lower-cased and
// batched, the others one by one through `one` (the same columns; its one
// parameter compared with LOWER(?)). on_row(i, row) answers addresses[i].
Status QueryByAddresses(Db& db, const BatchStatements& batch, std::string_view one,
                        const std::vector<std::string>& addresses,
                        const std::function<void(size_t, const DbRow&)>& on_row) {
  std::vector<std::string> keys;
  std::vector<size_t> others;
  std::vector<size_t> batched = SplitAscii(addresses, &keys, &others);
  for (size_t i : others) {
    auto rows = db.Query(one, {addresses[i]});
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) on_row(i, r);
  }
  return QueryByKeys(db, batch, keys, [&](size_t i, const DbRow& r) { on_row(batched[i], r); });
}

}  // namespace

Result<RecipientState> Accounts::FindRecipient(std::string_view domain, const std::vector<std::string>& keys) {
  if (keys.size() > 2) return Error::Invalid("at most two keys");
  // No key: the domain alone (no lookup_key is empty).
  const std::string first = keys.empty() ? std::string() : keys.front();
  const std::string second = keys.empty() ? std::string() : keys.back();
  // One round trip for the common case: the domain's row, and the mailbox
  // row of the preferred key that exists (LEFT JOIN: none is not an error).
  static const std::string sql = std::string("SELECT d.active, d.transport, m.lookup_key = LOWER(?) AS preferred, ") +
                                 kStateColumns +
                                 "FROM domain d LEFT JOIN mailbox m ON m.domain_id = d.id "
                                 "AND m.lookup_key IN (LOWER(?), LOWER(?)) " +
                                 kStateJoins + "WHERE d.name = LOWER(?) ORDER BY preferred DESC LIMIT 1";
  auto rows = db_.Query(sql, {first, first, second, std::string(domain)});
  if (!rows) return rows.error();
  RecipientState state;
  if (rows->empty()) return state;
  const DbRow& r = rows->front();
  state.domain_exists = true;
  state.domain_active = r.Bool(0);
  state.domain_transport = r.String(1);
  if (!r.IsNull(3)) state.mailbox = StateFromRow(r, 3);
  return state;
}

Result<std::vector<std::optional<MailboxState>>> Accounts::FindMailboxStates(const std::vector<std::string>& addresses) {
  std::vector<std::optional<MailboxState>> found(addresses.size());
  Status s = QueryByAddresses(db_, kStateBatch, kStateOfOneSql, addresses,
                              [&](size_t i, const DbRow& r) { found[i] = StateFromRow(r, 0); });
  if (!s.ok()) return s.error();
  return found;
}

Result<std::vector<std::vector<std::string>>> Accounts::FindSubscribers(const std::vector<std::string>& addresses,
                                                                        char direction) {
  if (direction != 'I' && direction != 'O') return Error::Invalid("direction must be I or O");
  static const std::string one_incoming =
      "SELECT address, recipient FROM subscription WHERE direction = 'I' AND address = LOWER(?) ORDER BY recipient" +
      SubscriberLimit();
  static const std::string one_outgoing =
      "SELECT address, recipient FROM subscription WHERE direction = 'O' AND address = LOWER(?) ORDER BY recipient" +
      SubscriberLimit();
  std::vector<std::vector<std::string>> found(addresses.size());
  bool too_many = false;
  Status s = QueryByAddresses(db_, direction == 'I' ? kIncomingBatch : kOutgoingBatch,
                              direction == 'I' ? one_incoming : one_outgoing, addresses, [&](size_t i, const DbRow& r) {
                                if (found[i].size() >= kMaxSubscriberRows) too_many = true;
                                else found[i].push_back(r.String(1));
                              });
  if (!s.ok()) return s.error();
  if (too_many)
    return Error::Invalid("more than " + std::to_string(kMaxSubscriberRows) +
                          " subscribers: a list that long is a configuration problem");
  return found;
}

namespace {

// The WHERE condition of last_login rows from any of `ranges`, its parameters
// appended to `params`.
Result<std::string> LoginRangeCondition(const std::vector<IpRange>& ranges, DbParams* params) {
  if (ranges.empty() || ranges.size() > Accounts::kMaxBatch) return Error::Invalid("bad number of address ranges");
  std::string where;
  for (const IpRange& r : ranges) {
    if (r.low.size() != r.high.size() || (r.low.size() != 4 && r.low.size() != 16))
      return Error::Invalid("bad address range");
    where += std::string(where.empty() ? "" : " OR ") + "(l.ip BETWEEN UNHEX(?) AND UNHEX(?) AND LENGTH(l.ip) = ?)";
    params->insert(params->end(), {Hex(r.low), Hex(r.high), static_cast<uint64_t>(r.low.size())});
  }
  return "(" + where + ")";
}

}  // namespace

Result<bool> Accounts::LoggedInFrom(const std::vector<IpRange>& ranges, std::chrono::milliseconds window) {
  auto who = NewestLoginFrom(ranges, window, /*newest=*/false);
  if (!who) return who.error();
  return who->has_value();
}

Result<std::optional<std::string>> Accounts::NewestLoginFrom(const std::vector<IpRange>& ranges,
                                                             std::chrono::milliseconds window, bool newest) {
  DbParams params;
  auto where = LoginRangeCondition(ranges, &params);
  if (!where) return where.error();
  params.emplace_back(static_cast<int64_t>(window.count()) * 1000);
  auto rows = db_.Query(
      "SELECT m.lookup_key FROM last_login l JOIN mailbox m ON m.id = l.mailbox_id JOIN domain d ON d.id = m.domain_id "
      "WHERE " + *where + " AND l.logged_at > UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND AND m.active = 1 AND "
      "d.active = 1 " + (newest ? "ORDER BY l.logged_at DESC " : "") + "LIMIT 1",
      params);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->front().String(0));
}

// ---------------------------------------------------------------- domains

Result<uint64_t> Accounts::DomainId(std::string_view name) {
  auto rows = db_.Query("SELECT id FROM domain WHERE name = ?", {std::string(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
  return rows->front().Uint(0);
}

Status Accounts::AddDomain(const Domain& d, const Actor& actor) {
  ROSTER_TRY(CheckLimits(d.default_max_bytes, d.default_max_messages));
  return db_.Transaction([&]() -> Status {
    auto affected = db_.Execute(
        "INSERT INTO domain (name, transport, active, default_max_bytes, default_max_messages) VALUES (?, ?, ?, ?, ?)",
        {d.name, d.transport, int64_t{d.active ? 1 : 0}, d.default_max_bytes, d.default_max_messages});
    if (!affected) {
      if (affected.error().kind == ErrorKind::kConflict) return Error::Conflict("domain exists already: " + d.name);
      return affected.error();
    }
    return WriteChangeLog(actor, "domain-add", d.name,
                          "transport=" + d.transport + " active=" + (d.active ? "yes" : "no") +
                              " default_max_bytes=" + std::to_string(d.default_max_bytes) +
                              " default_max_messages=" + std::to_string(d.default_max_messages));
  });
}

Status Accounts::DeleteDomain(std::string_view name, bool force, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query(
        "SELECT d.id, (SELECT COUNT(*) FROM mailbox m WHERE m.domain_id = d.id) FROM domain d WHERE d.name = ? "
        "FOR UPDATE",
        {std::string(name)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
    uint64_t id = rows->front().Uint(0), mailboxes = rows->front().Uint(1);
    if (mailboxes > 0 && !force)
      return Error::Conflict("domain " + std::string(name) + " has " + std::to_string(mailboxes) +
                             " mailbox(es); use --force to delete them too");
    auto gone = db_.Execute("DELETE FROM mailbox WHERE domain_id = ?", {id});
    if (!gone) return gone.error();
    // The domain's aliases, and every subscription that delivered to one of
    // its mailboxes.
    auto subs = db_.Execute(
        "DELETE FROM subscription WHERE SUBSTRING_INDEX(address, '@', -1) = ? "
        "OR LOWER(SUBSTRING_INDEX(recipient, '@', -1)) = ?",
        {std::string(name), std::string(name)});
    if (!subs) return subs.error();
    // The send-as grants on its addresses, held by other domains' mailboxes
    // (a new owner of the domain must not find them granted).
    auto grants = SendAs(db_).RemoveGrantsOnDomain(name, actor);
    if (!grants) return grants.error();
    auto dom = db_.Execute("DELETE FROM domain WHERE id = ?", {id});
    if (!dom) return dom.error();
    return WriteChangeLog(actor, "domain-del", name,
                          "mailboxes=" + std::to_string(*gone) + " subscriptions=" + std::to_string(*subs) +
                              " send_as=" + std::to_string(*grants));
  });
}

Status Accounts::SetDomainActive(std::string_view name, bool active, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = DomainId(name);
    if (!id) return id.error();
    auto affected = db_.Execute("UPDATE domain SET active = ? WHERE id = ?", {int64_t{active ? 1 : 0}, *id});
    if (!affected) return affected.error();
    return WriteChangeLog(actor, active ? "domain-enable" : "domain-disable", name, "");
  });
}

Result<Domain> Accounts::GetDomain(std::string_view name) {
  auto rows = db_.Query(std::string(kDomainColumns) + "WHERE d.name = ?", {std::string(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
  return DomainFromRow(rows->front());
}

Result<std::vector<Domain>> Accounts::ListDomains() {
  auto rows = db_.Query(std::string(kDomainColumns) + "ORDER BY d.name");
  if (!rows) return rows.error();
  std::vector<Domain> out;
  for (const DbRow& r : *rows) out.push_back(DomainFromRow(r));
  return out;
}

// ---------------------------------------------------------------- mailboxes

Result<uint64_t> Accounts::MailboxId(std::string_view address) {
  auto rows = db_.Query("SELECT id FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return rows->front().Uint(0);
}

Status Accounts::AddMailbox(const NewMailbox& nm, const Actor& actor) {
  ROSTER_TRY(CheckMailboxPathName(nm.address));
  ROSTER_TRY(CheckLimits(nm.max_bytes, nm.max_messages));
  std::string domain = DomainOf(nm.address);
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT id, default_max_bytes, default_max_messages FROM domain WHERE name = ?", {domain});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such domain: " + domain);
    uint64_t domain_id = rows->front().Uint(0);
    uint64_t max_bytes = nm.max_bytes.value_or(rows->front().Uint(1));
    uint64_t max_messages = nm.max_messages.value_or(rows->front().Uint(2));
    auto inserted = db_.Execute(
        "INSERT INTO mailbox (domain_id, address, password_hash, active, display_name, department, max_bytes, "
        "max_messages, unit, password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP())",
        {domain_id, nm.address, nm.password_hash, int64_t{nm.active ? 1 : 0}, nm.display_name, nm.department,
         max_bytes, max_messages, nm.unit});
    if (!inserted) {
      if (inserted.error().kind == ErrorKind::kConflict) return Error::Conflict("mailbox exists already: " + nm.address);
      return inserted.error();
    }
    auto usage = db_.Execute("INSERT INTO mailbox_usage (mailbox_id) VALUES (LAST_INSERT_ID())");
    if (!usage) return usage.error();
    return WriteChangeLog(actor, "mailbox-add", nm.address,
                          "max_bytes=" + std::to_string(max_bytes) + " max_messages=" + std::to_string(max_messages) +
                              " active=" + (nm.active ? "yes" : "no") + (nm.unit.empty() ? "" : " unit=" + nm.unit));
  });
}

Status Accounts::DeleteMailbox(std::string_view address, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto affected = db_.Execute("DELETE FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(address)});
    ROSTER_TRY(ExpectOneRow(affected, "no such mailbox: " + std::string(address)));
    // Aliases and forwards that delivered to it would now bounce or loop.
    auto subs = db_.Execute("DELETE FROM subscription WHERE LOWER(recipient) = LOWER(?)", {std::string(address)});
    if (!subs) return subs.error();
    return WriteChangeLog(actor, "mailbox-del", address, "subscriptions=" + std::to_string(*subs));
  });
}

Status Accounts::SetMailboxActive(std::string_view address, bool active, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    auto affected = db_.Execute("UPDATE mailbox SET active = ? WHERE id = ?", {int64_t{active ? 1 : 0}, *id});
    if (!affected) return affected.error();
    return WriteChangeLog(actor, active ? "mailbox-enable" : "mailbox-disable", address, "");
  });
}

Status Accounts::SetMailboxQuota(std::string_view address, std::optional<uint64_t> max_bytes,
                                 std::optional<uint64_t> max_messages, const Actor& actor) {
  if (!max_bytes && !max_messages) return Error::Invalid("nothing to change: give a byte quota or a message count");
  ROSTER_TRY(CheckLimits(max_bytes, max_messages));
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    std::string detail;
    if (max_bytes) {
      auto a = db_.Execute("UPDATE mailbox SET max_bytes = ? WHERE id = ?", {*max_bytes, *id});
      if (!a) return a.error();
      detail += "max_bytes=" + std::to_string(*max_bytes);
    }
    if (max_messages) {
      auto a = db_.Execute("UPDATE mailbox SET max_messages = ? WHERE id = ?", {*max_messages, *id});
      if (!a) return a.error();
      detail += std::string(detail.empty() ? "" : " ") + "max_messages=" + std::to_string(*max_messages);
    }
    return WriteChangeLog(actor, "mailbox-quota", address, detail);
  });
}

Status Accounts::SetPasswordHash(std::string_view address, std::string_view hash, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    auto a = db_.Execute("UPDATE mailbox SET password_hash = ?, password_changed_at = UTC_TIMESTAMP() WHERE id = ?",
                         {std::string(hash), *id});
    if (!a) return a.error();
    return WriteChangeLog(actor, "mailbox-passwd", address, std::string("scheme=") + SchemeName(ParseStoredHash(hash).scheme));
  });
}

Result<Mailbox> Accounts::GetMailbox(std::string_view address) {
  auto rows = db_.Query(std::string(kMailboxColumns) + "WHERE m.lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return MailboxFromRow(rows->front());
}

Status Accounts::ListMailboxes(std::string_view domain, const std::function<bool(const Mailbox&)>& each) {
  // Keyset pagination: at most kPage rows in memory, however many mailboxes.
  constexpr uint64_t kPage = 500;
  const std::string sql = std::string(kMailboxColumns) +
                          "WHERE (? = '' OR d.name = ?) AND m.lookup_key > ? ORDER BY m.lookup_key LIMIT ?";
  std::string after;
  for (;;) {
    uint64_t rows = 0;
    bool stopped = false;
    std::string last;
    Status s = db_.QueryEach(sql, {std::string(domain), std::string(domain), after, kPage}, [&](const DbRow& r) {
      ++rows;
      last = r.String(16);
      if (!each(MailboxFromRow(r))) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!s) return s;
    if (stopped || rows < kPage) return Status::Ok();
    after = last;
  }
}

// ---------------------------------------------------------------- subscriptions

Status Accounts::AddSubscription(const Subscription& sub, const Actor& actor) {
  if (sub.direction != 'I' && sub.direction != 'O') return Error::Invalid("direction must be I or O");
  return db_.Transaction([&]() -> Status {
    auto a = db_.Execute("INSERT INTO subscription (direction, address, recipient) VALUES (?, LOWER(?), ?)",
                         {std::string(1, sub.direction), sub.address, sub.recipient});
    if (!a) {
      if (a.error().kind == ErrorKind::kConflict) return Error::Conflict("subscription exists already");
      return a.error();
    }
    return WriteChangeLog(actor, "sub-add", sub.address,
                          std::string(sub.direction == 'I' ? "incoming" : "outgoing") + " -> " + sub.recipient);
  });
}

Status Accounts::DeleteSubscription(const Subscription& sub, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto a = db_.Execute("DELETE FROM subscription WHERE address = LOWER(?) AND direction = ? AND recipient = ?",
                         {sub.address, std::string(1, sub.direction), sub.recipient});
    ROSTER_TRY(ExpectOneRow(a, "no such subscription"));
    return WriteChangeLog(actor, "sub-del", sub.address,
                          std::string(sub.direction == 'I' ? "incoming" : "outgoing") + " -> " + sub.recipient);
  });
}

Result<std::vector<Subscription>> Accounts::ListSubscriptions(std::string_view address) {
  auto rows = db_.Query(
      "SELECT id, direction, address, recipient FROM subscription WHERE (? = '' OR address = LOWER(?)) "
      "ORDER BY address, direction, recipient",
      {std::string(address), std::string(address)});
  if (!rows) return rows.error();
  std::vector<Subscription> out;
  for (const DbRow& r : *rows)
    out.push_back(Subscription{r.Uint(0), r.String(1).empty() ? 'I' : r.String(1)[0], r.String(2), r.String(3)});
  return out;
}

// ---------------------------------------------------------------- change log

Status Accounts::WriteChangeLog(const Actor& actor, std::string_view action, std::string_view object,
                                std::string_view detail) {
  auto a = db_.Execute(
      "INSERT INTO change_log (at, actor, origin, action, object, detail) VALUES (UTC_TIMESTAMP(6), ?, ?, ?, ?, ?)",
      {Bounded(actor.name, 64), Bounded(actor.origin, 64), Bounded(action, 32), Bounded(object, 255),
       Bounded(detail, 1024)});
  if (!a) return a.error();
  return Status::Ok();
}

Result<std::vector<ChangeLogEntry>> Accounts::ListChangeLog(const ChangeLogFilter& f) {
  auto rows = db_.Query(
      "SELECT id, at, actor, origin, action, object, detail FROM change_log "
      "WHERE (? = '' OR object = LOWER(?) OR object = ?) AND (? = '' OR actor = ?) AND (? = '' OR action = ?) "
      "AND at >= ? ORDER BY id DESC LIMIT ?",
      {f.object, f.object, f.object, f.actor, f.actor, f.action, f.action,
       f.since.empty() ? std::string("1970-01-01") : f.since, f.limit});
  if (!rows) return rows.error();
  std::vector<ChangeLogEntry> out;
  for (const DbRow& r : *rows)
    out.push_back(ChangeLogEntry{r.Uint(0), r.String(1), r.String(2), r.String(3), r.String(4), r.String(5), r.String(6)});
  return out;
}

}  // namespace roster
