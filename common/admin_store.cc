// admin_store.cc: see admin_store.h. The admin role's SQL about domains,
// mailboxes, subscriptions and the change log.
#include "common/admin_store.h"

#include <algorithm>

#include "common/address.h"
#include "common/change_log.h"
#include "common/ip.h"
#include "common/password.h"
#include "common/send_as_admin.h"
#include "common/shared_sql.h"
#include "common/sql_batch.h"

namespace roster {
namespace {

std::string DomainOf(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

#define ROSTER_MAILBOX_SELECT_COLUMNS                                                            \
  "m.id, m.address, d.name, m.active, d.active, m.display_name, m.department, m.max_bytes, "       \
  "m.max_messages, m.unit, m.password_hash, m.created_at, m.updated_at, m.password_changed_at, "    \
  "u.bytes, u.messages, m.lookup_key"
#define ROSTER_MAILBOX_SELECT "SELECT " ROSTER_MAILBOX_SELECT_COLUMNS " FROM mailbox m "
#define ROSTER_MAILBOX_JOINS "JOIN domain d ON d.id = m.domain_id LEFT JOIN mailbox_usage u ON u.mailbox_id = m.id "
constexpr char kMailboxColumns[] = ROSTER_MAILBOX_SELECT ROSTER_MAILBOX_JOINS;

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

}  // namespace

// ---------------------------------------------------------------- domains

Result<uint64_t> AdminStore::DomainId(std::string_view name) {
  auto rows = db_.Query("SELECT id FROM domain WHERE name = ?", {std::string(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
  return rows->front().Uint(0);
}

Status AdminStore::AddDomain(const Domain& d, const Actor& actor) {
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

Status AdminStore::DeleteDomain(std::string_view name, bool force, const Actor& actor) {
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
    auto grants = SendAsAdmin(db_).RemoveGrantsOnDomain(name, actor);
    if (!grants) return grants.error();
    auto dom = db_.Execute("DELETE FROM domain WHERE id = ?", {id});
    if (!dom) return dom.error();
    return WriteChangeLog(actor, "domain-del", name,
                          "mailboxes=" + std::to_string(*gone) + " subscriptions=" + std::to_string(*subs) +
                              " send_as=" + std::to_string(*grants));
  });
}

Status AdminStore::SetDomainActive(std::string_view name, bool active, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = DomainId(name);
    if (!id) return id.error();
    auto affected = db_.Execute("UPDATE domain SET active = ? WHERE id = ?", {int64_t{active ? 1 : 0}, *id});
    if (!affected) return affected.error();
    return WriteChangeLog(actor, active ? "domain-enable" : "domain-disable", name, "");
  });
}

Result<Domain> AdminStore::GetDomain(std::string_view name) {
  auto rows = db_.Query(std::string(kDomainColumns) + "WHERE d.name = ?", {std::string(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
  return DomainFromRow(rows->front());
}

Status AdminStore::FindDomain(std::string_view name) {
  auto rows = db_.Query("SELECT 1 FROM domain WHERE name = ?", {std::string(name)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(name));
  return Status::Ok();
}

Result<std::vector<Domain>> AdminStore::ListDomains() {
  auto rows = db_.Query(std::string(kDomainColumns) + "ORDER BY d.name");
  if (!rows) return rows.error();
  std::vector<Domain> out;
  for (const DbRow& r : *rows) out.push_back(DomainFromRow(r));
  return out;
}

Result<std::vector<Domain>> AdminStore::DomainPage(std::string_view after, uint64_t limit) {
  auto rows = db_.Query(std::string(kDomainColumns) + "WHERE d.name > ? ORDER BY d.name LIMIT ?",
                        {std::string(after), limit});
  if (!rows) return rows.error();
  std::vector<Domain> out;
  for (const DbRow& r : *rows) out.push_back(DomainFromRow(r));
  return out;
}

// ---------------------------------------------------------------- mailboxes

Result<uint64_t> AdminStore::MailboxId(std::string_view address) { return MailboxIdOf(db_, address); }

Status AdminStore::AddMailbox(const NewMailbox& nm, const Actor& actor) {
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

Status AdminStore::DeleteMailbox(std::string_view address, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto affected = db_.Execute("DELETE FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(address)});
    ROSTER_TRY(ExpectOneRow(affected, "no such mailbox: " + std::string(address)));
    // Aliases and forwards that delivered to it would now bounce or loop.
    auto subs = db_.Execute("DELETE FROM subscription WHERE LOWER(recipient) = LOWER(?)", {std::string(address)});
    if (!subs) return subs.error();
    return WriteChangeLog(actor, "mailbox-del", address, "subscriptions=" + std::to_string(*subs));
  });
}

Status AdminStore::SetMailboxActive(std::string_view address, bool active, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    // Disabling ends the mailbox's sessions in the administration service
    // (migration 010), even if it is enabled again before their next use.
    auto affected = db_.Execute("UPDATE mailbox SET active = ?, credentials_version = credentials_version + ? WHERE id = ?",
                                {int64_t{active ? 1 : 0}, int64_t{active ? 0 : 1}, *id});
    if (!affected) return affected.error();
    return WriteChangeLog(actor, active ? "mailbox-enable" : "mailbox-disable", address, "");
  });
}

Status AdminStore::SetMailboxQuota(std::string_view address, std::optional<uint64_t> max_bytes,
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

Status AdminStore::SetMailboxUnit(std::string_view address, std::string_view unit, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    if (!unit.empty()) {
      // LOCK IN SHARE MODE: a unit deleted meanwhile cannot leave the mailbox
      // on a unit that is gone.
      auto known = db_.Query("SELECT 1 FROM unit WHERE name = ? LOCK IN SHARE MODE", {std::string(unit)});
      if (!known) return known.error();
      if (known->empty()) {
        Error e = Error::NotFound("no unit " + std::string(unit) + " (rosterctl unit set)");
        e.field = "unit";
        return e;
      }
    }
    auto a = db_.Execute("UPDATE mailbox SET unit = ? WHERE id = ?", {std::string(unit), *id});
    if (!a) return a.error();
    return WriteChangeLog(actor, "mailbox-unit", address, unit.empty() ? "unit=(none)" : "unit=" + std::string(unit));
  });
}

Result<bool> AdminStore::SetUnit(const Unit& unit, const Actor& actor) {
  bool created = false;
  Status s = db_.Transaction([&]() -> Status {
    // Asked first (the affected rows of an upsert cannot tell a new row from
    // an unchanged one when the client counts found rows).
    auto known = db_.Query("SELECT 1 FROM unit WHERE name = ? FOR UPDATE", {unit.name});
    if (!known) return known.error();
    created = known->empty();
    auto a = db_.Execute(
        "INSERT INTO unit (name, host, transport, imap_port, pop3_port) VALUES (?, ?, ?, ?, ?) "
        "ON DUPLICATE KEY UPDATE host = VALUES(host), transport = VALUES(transport), imap_port = VALUES(imap_port), "
        "pop3_port = VALUES(pop3_port)",
        {unit.name, unit.host, unit.transport, unit.imap_port, unit.pop3_port});
    if (!a) return a.error();
    return WriteChangeLog(actor, created ? "unit-add" : "unit-set", unit.name,
                          "host=" + unit.host + " transport=" + unit.transport + " imap_port=" +
                              std::to_string(unit.imap_port) + " pop3_port=" + std::to_string(unit.pop3_port));
  });
  if (!s) return s.error();
  return created;
}

Status AdminStore::DeleteUnit(std::string_view name, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto known = db_.Query("SELECT 1 FROM unit WHERE name = ? FOR UPDATE", {std::string(name)});
    if (!known) return known.error();
    if (known->empty()) return Error::NotFound("no unit " + std::string(name));
    auto on = db_.Query("SELECT COUNT(*) FROM mailbox WHERE unit = ? LOCK IN SHARE MODE", {std::string(name)});
    if (!on) return on.error();
    uint64_t n = on->front().Uint(0);
    if (n > 0)
      return Error::Conflict("unit " + std::string(name) + " still holds " + std::to_string(n) +
                             " mailbox(es): move them first (rosterctl mailbox unit)");
    auto a = db_.Execute("DELETE FROM unit WHERE name = ?", {std::string(name)});
    if (!a) return a.error();
    return WriteChangeLog(actor, "unit-del", name, "");
  });
}

Result<std::vector<Unit>> AdminStore::ListUnits() {
  auto rows = db_.Query(
      "SELECT u.name, u.host, u.transport, u.imap_port, u.pop3_port, "
      "(SELECT COUNT(*) FROM mailbox m WHERE m.unit = u.name) FROM unit u ORDER BY u.name");
  if (!rows) return rows.error();
  std::vector<Unit> units;
  for (const DbRow& r : *rows)
    units.push_back(Unit{r.String(0), r.String(1), r.String(2), r.Uint(3), r.Uint(4), r.Uint(5)});
  return units;
}

Status AdminStore::SetPasswordHash(std::string_view address, std::string_view hash, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address);
    if (!id) return id.error();
    // A new password ends the mailbox's sessions (migration 010).
    auto a = db_.Execute("UPDATE mailbox SET password_hash = ?, password_changed_at = UTC_TIMESTAMP(), "
                         "credentials_version = credentials_version + 1 WHERE id = ?",
                         {std::string(hash), *id});
    if (!a) return a.error();
    return WriteChangeLog(actor, "mailbox-passwd", address, std::string("scheme=") + SchemeName(ParseStoredHash(hash).scheme));
  });
}

Result<Mailbox> AdminStore::GetMailbox(std::string_view address) {
  auto rows = db_.Query(std::string(kMailboxColumns) + "WHERE m.lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return MailboxFromRow(rows->front());
}

Status AdminStore::ListMailboxes(std::string_view domain, const std::function<bool(const Mailbox&)>& each) {
  // Page by page: at most kPage rows in memory, however many mailboxes.
  constexpr uint64_t kPage = 500;
  MailboxQuery q;
  q.domain = std::string(domain);
  q.limit = kPage;
  for (;;) {
    std::vector<MailboxKey> keys;
    auto page = MailboxPage(q, &keys);
    if (!page) return page.error();
    for (const Mailbox& m : *page)
      if (!each(m)) return Status::Ok();
    if (page->size() < kPage) return Status::Ok();
    q.after = keys.back();
  }
}

namespace {

// The sort key of each order (MailboxKey::value): usage from the dict's
// counters, the newest login from the column both login writers raise
// (migration 015).
const char* OrderKey(MailboxOrder order) {
  switch (order) {
    case MailboxOrder::kUsage: return "COALESCE(u.bytes, 0)";
    case MailboxOrder::kLastLogin:
      return "COALESCE(TIMESTAMPDIFF(MICROSECOND, TIMESTAMP'1970-01-01 00:00:00', m.last_login_at), -1)";
    case MailboxOrder::kAddress: break;
  }
  return "0";
}

// The index a page reads, named: the optimizer, guessing from statistics,
// may otherwise read every row of a domain to sort them, or every other
// domain's addresses that sort first (migration 011; tests/db/ops_test,
// ADomainsPageReadsOnlyItsOwnRows). The narrowest range that holds what the
// filters keep and the order needs, so a page never visits the rows of
// mailboxes it cannot show (migration 015): a department's or a prefix's
// addresses; the enabled or disabled ones (in address order); those with a
// byte quota and the quota (near or over it, sorted: in address order the
// addresses' index stops at the page's end); the newest logins in order.
// Ordered by usage, the domain's addresses: every key is read (their usage is
// in another table).
const char* PageIndex(const MailboxQuery& q) {
  if (q.domain.empty()) return q.order == MailboxOrder::kAddress ? "mailbox_lookup" : "mailbox_domain_lookup";
  if (!q.department.empty()) return "mailbox_department_lookup";
  if (!q.prefix.empty()) return "mailbox_domain_lookup";
  if (q.active) return "mailbox_domain_active";
  if (q.min_usage_percent && q.order != MailboxOrder::kAddress) return "mailbox_domain_quota";
  if (q.order == MailboxOrder::kLastLogin) return "mailbox_domain_last_login";
  return "mailbox_domain_lookup";
}

// The statement of a page, and the order of its parameters (MailboxPage):
// [domain], [department], [active], [like], [percent], [after...], limit.
// Made of fixed pieces only: at most 2^6 x 3 orders x 2 directions texts,
// each prepared once per connection (common/db.cc keeps them).
std::string MailboxPageSql(const MailboxQuery& q) {
  // The prefix is a LIKE pattern on the lookup key. Every other condition is
  // written only when asked for: the server reads a column for every row of
  // the range even for a condition that is always true ("? = '' OR
  // m.department = ?" with no department doubled a sorted page's time), and
  // without them a sorted page reads its keys from the index alone.
  std::string where = std::string("WHERE TRUE ") + (q.domain.empty() ? "" : "AND d.name = ? ") +
                      (q.department.empty() ? "" : "AND m.department = ? ") + (q.active ? "AND m.active = ? " : "") +
                      (q.prefix.empty() ? "" : "AND m.lookup_key LIKE LOWER(?) ESCAPE '!' ");
  // "Near or over quota": exact in DECIMAL (a counter times 100 may not fit in
  // 64 bits); no byte quota, no match.
  if (q.min_usage_percent)
    where += "AND m.max_bytes > 0 AND CAST(COALESCE(u.bytes, 0) AS DECIMAL(25,0)) * 100 >= "
             "CAST(m.max_bytes AS DECIMAL(25,0)) * ? ";
  const char* dir = q.descending ? " DESC" : "";
  const char* beyond = q.descending ? " < ?" : " > ?";
  const std::string from = std::string("FROM mailbox m FORCE INDEX (") + PageIndex(q) + ") " ROSTER_MAILBOX_JOINS;
  const std::string columns = ROSTER_MAILBOX_SELECT_COLUMNS ", CAST(m.last_login_at AS CHAR)";
  if (q.order == MailboxOrder::kAddress) {
    // A keyset query: the index's range after the cursor, in order, stops at the limit.
    if (q.after) where += std::string("AND m.lookup_key") + beyond + " ";
    return "SELECT " + columns + ", 0 " + from + where + "ORDER BY m.lookup_key" + dir + " LIMIT ?";
  }
  // The keys of every mailbox the filters leave, sorted by the server (a
  // priority queue of `limit` rows of two integers: ties go by the id, not
  // the address, whose sort key is a kilobyte), then the page's rows by id.
  std::string key = OrderKey(q.order);
  std::string keyset;
  if (q.after)
    keyset = std::string("HAVING k") + beyond + " OR (k = ? AND m.id" + beyond + ") ";
  return "SELECT " + columns + ", p.k FROM (SELECT m.id, " + key + " AS k " + from + where + keyset +
         "ORDER BY k" + dir + ", m.id" + dir + " LIMIT ?) p JOIN mailbox m ON m.id = p.id " ROSTER_MAILBOX_JOINS
         "ORDER BY p.k" + dir + ", p.id" + dir;
}

}  // namespace

Result<std::vector<Mailbox>> AdminStore::MailboxPage(const MailboxQuery& q, std::vector<MailboxKey>* keys) {
  // The prefix as a LIKE pattern on the lookup key (lower-cased as it is), its
  // wildcards escaped: the index on lookup_key serves both it and the order.
  std::string like;
  for (char c : q.prefix) {
    if (c == '%' || c == '_' || c == '!') like += '!';
    like += c;
  }
  like += '%';
  DbParams params;
  if (!q.domain.empty()) params.emplace_back(q.domain);
  if (!q.department.empty()) params.emplace_back(q.department);
  if (q.active) params.emplace_back(int64_t{*q.active ? 1 : 0});
  if (!q.prefix.empty()) params.emplace_back(like);
  if (q.min_usage_percent) params.emplace_back(*q.min_usage_percent);
  if (q.after && q.order != MailboxOrder::kAddress) {
    params.emplace_back(q.after->value);
    params.emplace_back(q.after->value);
  }
  if (q.after) {
    if (q.order == MailboxOrder::kAddress)
      params.emplace_back(q.after->lookup_key);
    else
      params.emplace_back(q.after->id);
  }
  params.emplace_back(q.limit);
  auto rows = db_.Query(MailboxPageSql(q), params);
  if (!rows) return rows.error();
  std::vector<Mailbox> out;
  for (const DbRow& r : *rows) {
    out.push_back(MailboxFromRow(r));
    out.back().last_login = r.IsNull(17) ? "" : r.String(17);
    if (keys) keys->push_back(MailboxKey{r.Int(18), r.String(16), r.Uint(0)});
  }
  return out;
}

Result<std::string> AdminStore::PasswordHash(std::string_view address) {
  auto rows = db_.Query("SELECT password_hash FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return rows->front().String(0);
}

// ---------------------------------------------------------------- subscriptions

Status AdminStore::AddSubscription(const Subscription& sub, const Actor& actor) {
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

Status AdminStore::DeleteSubscription(const Subscription& sub, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto a = db_.Execute("DELETE FROM subscription WHERE address = LOWER(?) AND direction = ? AND recipient = ?",
                         {sub.address, std::string(1, sub.direction), sub.recipient});
    ROSTER_TRY(ExpectOneRow(a, "no such subscription"));
    return WriteChangeLog(actor, "sub-del", sub.address,
                          std::string(sub.direction == 'I' ? "incoming" : "outgoing") + " -> " + sub.recipient);
  });
}

Result<std::vector<Subscription>> AdminStore::ListSubscriptions(std::string_view address) {
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

Result<std::vector<Subscription>> AdminStore::ListSubscriptionsTo(std::string_view recipient,
                                                                  std::string_view address, uint64_t after_id,
                                                                  uint64_t limit) {
  auto rows = db_.Query(
      "SELECT id, direction, address, recipient FROM subscription FORCE INDEX (subscription_recipient) "
      "WHERE recipient_key = LOWER(?) AND (? = '' OR address = LOWER(?)) AND id > ? ORDER BY id LIMIT ?",
      {std::string(recipient), std::string(address), std::string(address), after_id, limit});
  if (!rows) return rows.error();
  std::vector<Subscription> out;
  for (const DbRow& r : *rows)
    out.push_back(Subscription{r.Uint(0), r.String(1).empty() ? 'I' : r.String(1)[0], r.String(2), r.String(3)});
  return out;
}

// ---------------------------------------------------------------- change log

Status AdminStore::WriteChangeLog(const Actor& actor, std::string_view action, std::string_view object,
                                  std::string_view detail) {
  return roster::WriteChangeLog(db_, actor, action, object, detail);
}

namespace {

constexpr char kLogColumns[] = "SELECT id, at, actor, origin, action, object, detail FROM ";
// The filter's conditions; their parameters are LogFilterParams'.
constexpr char kLogFilter[] =
    "(? = '' OR object = LOWER(?) OR object = ?) AND (? = '' OR actor = ?) AND (? = '' OR action = ?) "
    "AND at >= ? AND (? = 0 OR id < ?) ";

void AddLogFilterParams(const ChangeLogFilter& f, DbParams* params) {
  for (const std::string* v : {&f.object, &f.object, &f.object, &f.actor, &f.actor, &f.action, &f.action})
    params->emplace_back(*v);
  params->emplace_back(f.since.empty() ? std::string("1970-01-01") : f.since);
  params->emplace_back(f.before_id);
  params->emplace_back(f.before_id);
}

ChangeLogEntry LogEntryFromRow(const DbRow& r) {
  return ChangeLogEntry{r.Uint(0), r.String(1), r.String(2), r.String(3), r.String(4), r.String(5), r.String(6)};
}

// One domain's newest entries: a range of change_log_domain, backwards.
std::string DomainLogPart() {
  return std::string("(") + kLogColumns + "change_log WHERE object_domain = ? AND " + kLogFilter +
         "ORDER BY id DESC LIMIT ?)";
}

// The newest entries of n domains: each domain's newest, merged.
const BatchStatements& DomainLogStatements() {
  static const BatchStatements kStatements([](size_t n) {
    return std::string(kLogColumns) + "(" + Placeholders(n, DomainLogPart().c_str(), " UNION ALL ") +
           ") c ORDER BY id DESC LIMIT ?";
  });
  return kStatements;
}

}  // namespace

Result<std::vector<ChangeLogEntry>> AdminStore::ListChangeLog(const ChangeLogFilter& f) {
  DbParams params;
  AddLogFilterParams(f, &params);
  params.emplace_back(f.limit);
  auto rows = db_.Query(std::string(kLogColumns) + "change_log WHERE " + kLogFilter + "ORDER BY id DESC LIMIT ?",
                        params);
  if (!rows) return rows.error();
  std::vector<ChangeLogEntry> out;
  for (const DbRow& r : *rows) out.push_back(LogEntryFromRow(r));
  return out;
}

Result<ChangeLogPage> AdminStore::ListChangeLogIn(const ChangeLogFilter& f, const ChangeLogScope& scope) {
  ChangeLogPage page;
  if (scope.department) {
    // One domain's entries, at most kChangeLogScan of them from the cursor,
    // each looked up among the department's mailboxes by its address.
    if (scope.domains.size() != 1) return page;
    const std::string window = std::string(kLogColumns) + "change_log WHERE object_domain = ? AND " + kLogFilter +
                               "ORDER BY id DESC LIMIT ?";
    DbParams params{scope.domains.front()};
    AddLogFilterParams(f, &params);
    params.emplace_back(kChangeLogScan);
    DbParams window_params = params;
    params.emplace_back(scope.domains.front());
    params.emplace_back(*scope.department);
    params.emplace_back(f.limit);
    // STRAIGHT_JOIN: from the window, each entry's mailbox by its unique
    // lookup key (never the domain's mailboxes against the window).
    auto rows = db_.Query("SELECT STRAIGHT_JOIN c.id, c.at, c.actor, c.origin, c.action, c.object, c.detail FROM (" + window +
                              ") c JOIN mailbox m ON m.lookup_key = LOWER(c.object) JOIN domain d "
                              "ON d.id = m.domain_id WHERE d.name = ? AND m.department = ? ORDER BY c.id DESC LIMIT ?",
                          params);
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) page.entries.push_back(LogEntryFromRow(r));
    if (page.entries.size() < f.limit) {
      // A short page: whether the window ended at the domain's oldest entry.
      auto seen = db_.Query("SELECT COUNT(*), COALESCE(MIN(id), 0) FROM (" + window + ") w", window_params);
      if (!seen) return seen.error();
      if (seen->front().Uint(0) == kChangeLogScan) page.resume_before = seen->front().Uint(1);
    }
    return page;
  }
  for (size_t start = 0; start < scope.domains.size(); start += kMaxBatch) {
    const size_t count = std::min(kMaxBatch, scope.domains.size() - start);
    auto [sql, size] = DomainLogStatements().For(count);
    DbParams params;
    for (size_t i = 0; i < size; ++i) {
      // Past the last domain, NULL: a part that matches nothing.
      if (i < count) params.emplace_back(scope.domains[start + i]);
      else params.emplace_back(nullptr);
      AddLogFilterParams(f, &params);
      params.emplace_back(f.limit);
    }
    params.emplace_back(f.limit);
    auto rows = db_.Query(sql, params);
    if (!rows) return rows.error();
    for (const DbRow& r : *rows) page.entries.push_back(LogEntryFromRow(r));
  }
  std::sort(page.entries.begin(), page.entries.end(),
            [](const ChangeLogEntry& a, const ChangeLogEntry& b) { return a.id > b.id; });
  if (page.entries.size() > f.limit) page.entries.resize(f.limit);
  return page;
}


// ---------------------------------------------------------------- last logins and usage

Result<std::vector<LastLogin>> AdminStore::LastLogins(std::string_view address, uint64_t limit) {
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

Result<StoreCounts> AdminStore::Counts(bool count) {
  StoreCounts c;
  auto version = db_.Query("SELECT VERSION()");
  if (!version) return version.error();
  if (!version->empty()) c.server_version = version->front().String(0);
  if (count) {
    auto counts = db_.Query("SELECT (SELECT COUNT(*) FROM domain), (SELECT COUNT(*) FROM mailbox)");
    if (!counts) return counts.error();
    c.domains = counts->front().Uint(0);
    c.mailboxes = counts->front().Uint(1);
  }
  return c;
}

Status AdminStore::SetUsageCounter(std::string_view address, UsageCounter counter, std::optional<int64_t> value) {
  return roster::SetUsageCounter(db_, address, counter, value);
}

}  // namespace roster
