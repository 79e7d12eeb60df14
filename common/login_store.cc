// login_store.cc: see login_store.h. The SQL of the auth role: the login
// query, the password upgrade, the userdb listing, the login history and an
// app password's last use.
#include "common/login_store.h"

#include <algorithm>
#include <map>

#include "common/ip.h"
#include "common/sql_batch.h"
#include "common/text.h"

namespace roster {
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
// (migration 008); then whether the mailbox's newest login is due to be
// raised (migration 015: unset or over a minute old).
std::string LoginColumns(bool with_history) {
  return kLoginColumns +
         (with_history ? ", (SELECT MAX(h.seq) FROM login_history h WHERE h.mailbox_id = m.id) " : ", NULL ") +
         ", m.last_login_at IS NULL OR m.last_login_at < UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE ";
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
  m.newest_login_due = r.IsNull(first + 20) || r.Bool(first + 20);
  AddAppPasswordKey(r, first, &m);
  return m;
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

}  // namespace

Result<MailboxLogin> LoginStore::FindMailboxForLogin(std::string_view address, std::string_view selector,
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

Result<std::vector<std::optional<MailboxLogin>>> LoginStore::FindMailboxesForLogin(
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

Result<std::vector<std::pair<std::string, std::string>>> LoginStore::ActiveAddressPage(std::string_view after_key,
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

Result<bool> LoginStore::ReplacePasswordHash(std::string_view address, std::string_view old_hash,
                                           std::string_view new_hash) {
  auto affected = db_.Execute(
      "UPDATE mailbox SET password_hash = ?, password_changed_at = UTC_TIMESTAMP() "
      "WHERE lookup_key = LOWER(?) AND password_hash = ?",
      {std::string(new_hash), std::string(address), std::string(old_hash)});
  if (!affected) return affected.error();
  return *affected == 1;
}

Status LoginStore::RecordLogin(uint64_t mailbox_id, std::string_view protocol, std::string_view ip,
                                 uint64_t app_password_id, unsigned slots) {
  if (slots == 0 || slots > 1000) return Error::Invalid("login history: 1 to 1000 slots");
  auto newest = db_.Query("SELECT COALESCE(MAX(seq), 0) FROM login_history WHERE mailbox_id = ?", {mailbox_id});
  if (!newest) return newest.error();
  return RecordLogins({LoginEntry{mailbox_id, newest->front().Uint(0) + 1, std::string(protocol), std::string(ip),
                                  app_password_id}},
                      slots);
}

Status LoginStore::RecordLogins(const std::vector<LoginEntry>& entries, unsigned slots) {
  if (slots == 0 || slots > 1000) return Error::Invalid("login history: 1 to 1000 slots");
  // One statement text per size 1, 2, 4 ... kMaxLoginBatch (padded with the
  // last entry again, which the IGNORE drops), prepared once per connection.
  static const std::vector<std::string> kSql = [] {
    std::vector<std::string> by_size;
    for (size_t n = 1; n <= kMaxLoginBatch; n *= 2) {
      std::string sql = "INSERT IGNORE INTO login_history (mailbox_id, seq, logged_at, protocol, ip, app_password_id) "
                        "VALUES ";
      for (size_t i = 0; i < n; ++i) sql += (i ? ", " : "") + std::string("(?, ?, UTC_TIMESTAMP(6), ?, UNHEX(?), ?)");
      by_size.push_back(std::move(sql));
    }
    return by_size;
  }();
  for (size_t start = 0; start < entries.size(); start += kMaxLoginBatch) {
    size_t count = std::min(kMaxLoginBatch, entries.size() - start);
    // Prunes first, one per mailbox (below its batch's newest multiple):
    // a batch is written only once its prunes are done, and without its
    // entries they would remove, so a mailbox never grows past its bound,
    // however many of its logins one batch holds or how often a prune fails.
    std::map<uint64_t, uint64_t> prune_below;  // mailbox -> seqs up to this go
    for (size_t i = start; i < start + count; ++i) {
      const LoginEntry& e = entries[i];
      if (e.seq % slots != 0 || e.seq <= slots) continue;
      uint64_t& below = prune_below[e.mailbox_id];
      below = std::max(below, e.seq - slots);
    }
    for (const auto& [mailbox, below] : prune_below) {
      auto pruned = db_.ExecuteIdempotent("DELETE FROM login_history WHERE mailbox_id = ? AND seq <= ?",
                                          {mailbox, below});
      if (!pruned) return pruned.error();
    }
    std::vector<const LoginEntry*> kept;
    for (size_t i = start; i < start + count; ++i) {
      auto below = prune_below.find(entries[i].mailbox_id);
      if (below == prune_below.end() || entries[i].seq > below->second) kept.push_back(&entries[i]);
    }
    size_t index = 0;
    while ((size_t{1} << index) < kept.size()) ++index;
    DbParams params;
    for (size_t i = 0; i < (size_t{1} << index); ++i) {
      const LoginEntry& e = *kept[std::min(i, kept.size() - 1)];
      params.emplace_back(e.mailbox_id);
      params.emplace_back(e.seq);
      params.emplace_back(e.protocol.substr(0, 16));
      params.emplace_back(Hex(e.ip));
      if (e.app_password_id)
        params.emplace_back(e.app_password_id);
      else
        params.emplace_back(nullptr);
    }
    auto affected = db_.ExecuteIdempotent(kSql.at(index), params);
    if (!affected) return affected.error();
    std::vector<uint64_t> mailboxes;
    for (const LoginEntry* e : kept)
      if (e->raise_newest) mailboxes.push_back(e->mailbox_id);
    std::sort(mailboxes.begin(), mailboxes.end());
    mailboxes.erase(std::unique(mailboxes.begin(), mailboxes.end()), mailboxes.end());
    ROSTER_TRY(RaiseNewestLogin(mailboxes));
  }
  return Status::Ok();
}

Status LoginStore::RaiseNewestLogin(const std::vector<uint64_t>& mailboxes) {
  // The mailboxes' newest login (migration 015), raised once their entries
  // are in, to the minute: the login query said which are due (so a client
  // that logs in again and again costs no statement), and one whose stored
  // login is less than a minute old by now is read, not written. Never
  // lowered, so a batch written late or twice changes nothing; updated_at
  // stays as it is (the last change an administrator made).
  static const BatchStatements kRaise([](size_t n) {
    return "UPDATE mailbox SET last_login_at = UTC_TIMESTAMP(6), updated_at = updated_at WHERE id IN (" +
           Placeholders(n) + ") AND (last_login_at IS NULL OR last_login_at < UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE)";
  });
  return ExecuteByIds(db_, kRaise, mailboxes);
}

Status LoginStore::TouchAppPassword(uint64_t id, std::string_view ip) {
  auto affected = db_.ExecuteIdempotent(
      "UPDATE app_password SET last_used_at = UTC_TIMESTAMP(6), last_used_ip = UNHEX(?) WHERE id = ?",
      {Hex(ip), id});
  if (!affected) return affected.error();
  return Status::Ok();
}

}  // namespace roster
