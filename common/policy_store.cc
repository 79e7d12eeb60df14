// policy_store.cc: see policy_store.h. The SQL of Postfix's questions (role
// policy): recipients, subscribers, logins from a client's network and the
// owners of a sender address. Every statement has bound parameters and a
// bounded result.
#include "common/policy_store.h"

#include <map>
#include <set>

#include "common/sql_batch.h"
#include "common/text.h"

namespace roster {
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
std::string SubscriberLimit() { return " LIMIT " + std::to_string(PolicyStore::kMaxSubscriberRows + 1); }
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

}  // namespace

Result<RecipientState> PolicyStore::FindRecipient(std::string_view domain, const std::vector<std::string>& keys) {
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

Result<std::vector<std::optional<MailboxState>>> PolicyStore::FindMailboxStates(const std::vector<std::string>& addresses) {
  std::vector<std::optional<MailboxState>> found(addresses.size());
  Status s = QueryByAddresses(db_, kStateBatch, kStateOfOneSql, addresses,
                              [&](size_t i, const DbRow& r) { found[i] = StateFromRow(r, 0); });
  if (!s.ok()) return s.error();
  return found;
}

Result<std::vector<std::vector<std::string>>> PolicyStore::FindSubscribers(const std::vector<std::string>& addresses,
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
  if (ranges.empty() || ranges.size() > kMaxBatch) return Error::Invalid("bad number of address ranges");
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

Result<bool> PolicyStore::LoggedInFrom(const std::vector<IpRange>& ranges, std::chrono::milliseconds window) {
  auto who = NewestLoginFrom(ranges, window, /*newest=*/false);
  if (!who) return who.error();
  return who->has_value();
}

Result<std::optional<std::string>> PolicyStore::NewestLoginFrom(const std::vector<IpRange>& ranges,
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

// ---------------------------------------------------------------- senders (send-as grants)

namespace {

// The keys padded to a fixed count by repeating the last, so that each
// statement has one text (prepared once per connection).
DbParams Padded(const std::vector<std::string>& keys, size_t count) {
  DbParams out;
  for (size_t i = 0; i < count; ++i) out.emplace_back(keys[i < keys.size() ? i : keys.size() - 1]);
  return out;
}

}  // namespace

Result<SenderOwners> PolicyStore::FindOwners(const std::vector<std::string>& mailbox_keys,
                                        const std::vector<std::string>& grant_keys) {
  if (mailbox_keys.empty() || mailbox_keys.size() > 2) return Error::Invalid("one or two mailbox keys");
  if (grant_keys.empty() || grant_keys.size() > 3) return Error::Invalid("one to three grant keys");
  // One round trip: the mailboxes named by the keys (active or not, so the
  // first key that exists decides, as for delivery), then the grants' active
  // mailboxes, at most kMaxOwners + 1 of them (one more tells "too many").
  static const std::string sql =
      "SELECT 0, m.lookup_key = LOWER(?), m.address, m.active = 1 AND d.active = 1 "
      "FROM mailbox m JOIN domain d ON d.id = m.domain_id WHERE m.lookup_key IN (LOWER(?), LOWER(?)) "
      "UNION ALL (SELECT DISTINCT 1, 0, m.address, 1 FROM send_as g JOIN mailbox m ON m.id = g.mailbox_id "
      "JOIN domain d ON d.id = m.domain_id "
      "WHERE g.address IN (LOWER(?), LOWER(?), LOWER(?)) AND m.active = 1 AND d.active = 1 "
      "ORDER BY m.address LIMIT " + std::to_string(kMaxOwners + 1) + ")";
  DbParams params{mailbox_keys.front()};
  for (DbValue& v : Padded(mailbox_keys, 2)) params.push_back(std::move(v));
  for (DbValue& v : Padded(grant_keys, 3)) params.push_back(std::move(v));
  auto rows = db_.Query(sql, params);
  if (!rows) return rows.error();
  SenderOwners owners;
  bool preferred_seen = false;
  for (const DbRow& r : *rows) {
    if (r.Uint(0) == 1) {
      owners.granted.push_back(r.String(2));
      continue;
    }
    // The preferred key's row wins over the other one.
    bool preferred = r.Bool(1);
    if (owners.mailbox_exists && (preferred_seen || !preferred)) continue;
    owners.mailbox_exists = true;
    preferred_seen = preferred;
    owners.mailbox = r.Bool(3) ? std::optional<std::string>(r.String(2)) : std::nullopt;
  }
  if (owners.granted.size() > kMaxOwners)
    return Error::Invalid("more than " + std::to_string(kMaxOwners) + " send-as grants");
  return owners;
}

Result<std::vector<std::string>> PolicyStore::StoredAddresses(const std::vector<std::string>& keys) {
  constexpr size_t kChunk = kMaxBatch;
  static const std::string sql = [] {
    std::string s = "SELECT lookup_key, address FROM mailbox WHERE lookup_key IN (";
    for (size_t i = 0; i < kChunk; ++i) s += i ? ", ?" : "?";
    return s + ")";
  }();
  std::map<std::string, std::string> found;
  for (size_t start = 0; start < keys.size(); start += kChunk) {
    // Padding with "" matches nothing: no lookup key is empty.
    DbParams params;
    for (size_t i = start; i < start + kChunk; ++i) params.emplace_back(i < keys.size() ? keys[i] : std::string());
    auto rows = db_.Query(sql, params);
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) found[r.String(0)] = r.String(1);
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& k : keys) {
    auto it = found.find(k);
    if (it != found.end() && seen.insert(k).second) out.push_back(it->second);
  }
  return out;
}
}  // namespace roster
