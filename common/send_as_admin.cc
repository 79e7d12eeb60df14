// send_as_admin.cc: see send_as_admin.h. The admin role's statements about
// the send-as grants (migration 006). Every statement has bound parameters
// and a bounded result.
#include "common/send_as_admin.h"

#include "common/change_log.h"

namespace roster {

Status SendAsAdmin::Grant(std::string_view address, std::string_view login, const Actor& actor) {
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
    return WriteChangeLog(db_, actor, "send-as-grant", mailbox->front().String(1),
                                   "may send as " + std::string(address));
  });
}

Status SendAsAdmin::Revoke(std::string_view address, std::string_view login, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto mailbox = db_.Query("SELECT id, address FROM mailbox WHERE lookup_key = LOWER(?)", {std::string(login)});
    if (!mailbox) return mailbox.error();
    if (mailbox->empty()) return Error::NotFound("no such mailbox: " + std::string(login));
    auto a = db_.Execute("DELETE FROM send_as WHERE address = LOWER(?) AND mailbox_id = ?",
                         {std::string(address), mailbox->front().Uint(0)});
    if (!a) return a.error();
    if (*a == 0)
      return Error::NotFound(std::string(login) + " has no send-as grant on " + std::string(address));
    return WriteChangeLog(db_, actor, "send-as-revoke", mailbox->front().String(1),
                                   "may no longer send as " + std::string(address));
  });
}

Result<uint64_t> SendAsAdmin::RemoveGrantsOnDomain(std::string_view domain, const Actor& actor) {
  if (!db_.in_transaction()) return Error::Permanent("send-as grants of a domain are removed only with the domain");
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
      ROSTER_TRY(WriteChangeLog(db_, actor, "send-as-revoke", r.String(2),
                                         "may no longer send as " + r.String(0) + " (domain " + std::string(domain) +
                                             " deleted)"));
      removed += *gone;
    }
    if (grants->size() < kPage) return removed;
    if (page_removed == 0) return Error::Permanent("send-as grants of " + std::string(domain) + " read but not deleted");
  }
}

Result<std::vector<SendAsGrant>> SendAsAdmin::List(std::string_view who, size_t limit) {
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
