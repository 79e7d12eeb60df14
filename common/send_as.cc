// send_as.cc: the SQL of the send-as grants (send_as.h, migration 006). Every
// statement has bound parameters and a bounded result.
#include "common/send_as.h"

#include <map>
#include <set>

namespace roster {
namespace {

// The keys padded to a fixed count by repeating the last, so that each
// statement has one text (prepared once per connection).
DbParams Padded(const std::vector<std::string>& keys, size_t count) {
  DbParams out;
  for (size_t i = 0; i < count; ++i) out.emplace_back(keys[i < keys.size() ? i : keys.size() - 1]);
  return out;
}

}  // namespace

Result<SenderOwners> SendAs::FindOwners(const std::vector<std::string>& mailbox_keys,
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

Result<std::vector<std::string>> SendAs::StoredAddresses(const std::vector<std::string>& keys) {
  constexpr size_t kChunk = Accounts::kMaxBatch;
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

Status SendAs::Grant(std::string_view address, std::string_view login, const Actor& actor) {
  Accounts accounts(db_);
  return db_.Transaction([&]() -> Status {
    auto mailbox = db_.Query("SELECT id, address FROM mailbox WHERE lookup_key = LOWER(?) FOR UPDATE",
                             {std::string(login)});
    if (!mailbox) return mailbox.error();
    if (mailbox->empty()) return Error::NotFound("no such mailbox: " + std::string(login));
    // Locks the address's grants (and the gap), so two grants at once cannot pass the bound together.
    auto held = db_.Query("SELECT mailbox_id FROM send_as WHERE address = LOWER(?) LIMIT " +
                              std::to_string(kMaxGrantsPerAddress) + " FOR UPDATE",
                          {std::string(address)});
    if (!held) return held.error();
    if (held->size() >= kMaxGrantsPerAddress)
      return Error::Invalid(std::string(address) + " has " + std::to_string(kMaxGrantsPerAddress) +
                            " send-as grants already (the most one answer to Postfix can carry)");
    auto a = db_.Execute("INSERT INTO send_as (address, mailbox_id) VALUES (LOWER(?), ?)",
                         {std::string(address), mailbox->front().Uint(0)});
    if (!a) {
      if (a.error().kind == ErrorKind::kConflict)
        return Error::Conflict(std::string(login) + " may send as " + std::string(address) + " already");
      return a.error();
    }
    return accounts.WriteChangeLog(actor, "send-as-grant", mailbox->front().String(1),
                                   "may send as " + std::string(address));
  });
}

Status SendAs::Revoke(std::string_view address, std::string_view login, const Actor& actor) {
  Accounts accounts(db_);
  return db_.Transaction([&]() -> Status {
    auto mailbox = db_.Query("SELECT id, address FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(login)});
    if (!mailbox) return mailbox.error();
    if (mailbox->empty()) return Error::NotFound("no such mailbox: " + std::string(login));
    auto a = db_.Execute("DELETE FROM send_as WHERE address = LOWER(?) AND mailbox_id = ?",
                         {std::string(address), mailbox->front().Uint(0)});
    if (!a) return a.error();
    if (*a == 0)
      return Error::NotFound(std::string(login) + " has no send-as grant on " + std::string(address));
    return accounts.WriteChangeLog(actor, "send-as-revoke", mailbox->front().String(1),
                                   "may no longer send as " + std::string(address));
  });
}

Result<uint64_t> SendAs::RemoveGrantsOnDomain(std::string_view domain, const Actor& actor) {
  if (!db_.in_transaction()) return Error::Permanent("send-as grants of a domain are removed only with the domain");
  Accounts accounts(db_);
  constexpr uint64_t kPage = 500;
  uint64_t removed = 0;
  // Each page is deleted before the next is read, so the next read starts
  // again at the first grant left.
  for (;;) {
    auto grants = db_.Query(
        "SELECT g.address, g.mailbox_id, m.address FROM send_as g JOIN mailbox m ON m.id = g.mailbox_id "
        "WHERE SUBSTRING_INDEX(g.address, '@', -1) = ? ORDER BY g.address, g.mailbox_id LIMIT ? FOR UPDATE",
        {std::string(domain), kPage});
    if (!grants) return grants.error();
    uint64_t page_removed = 0;
    for (const DbRow& r : *grants) {
      auto gone = db_.Execute("DELETE FROM send_as WHERE address = ? AND mailbox_id = ?", {r.String(0), r.Uint(1)});
      if (!gone) return gone.error();
      page_removed += *gone;
      ROSTER_TRY(accounts.WriteChangeLog(actor, "send-as-revoke", r.String(2),
                                         "may no longer send as " + r.String(0) + " (domain " + std::string(domain) +
                                             " deleted)"));
      removed += *gone;
    }
    if (grants->size() < kPage) return removed;
    if (page_removed == 0) return Error::Permanent("send-as grants of " + std::string(domain) + " read but not deleted");
  }
}

Result<std::vector<SendAsGrant>> SendAs::List(std::string_view who, size_t limit) {
  auto rows = db_.Query(
      "SELECT g.address, m.address, m.active = 1 AND d.active = 1, g.created_at FROM send_as g "
      "JOIN mailbox m ON m.id = g.mailbox_id JOIN domain d ON d.id = m.domain_id "
      "WHERE ? = '' OR g.address = LOWER(?) OR m.lookup_key = LOWER(?) "
      "ORDER BY g.address, m.lookup_key LIMIT ?",
      {std::string(who), std::string(who), std::string(who), uint64_t{limit}});
  if (!rows) return rows.error();
  std::vector<SendAsGrant> out;
  for (const DbRow& r : *rows) out.push_back(SendAsGrant{r.String(0), r.String(1), r.Bool(2), r.String(3)});
  return out;
}

}  // namespace roster
