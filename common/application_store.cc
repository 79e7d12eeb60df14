// application_store.cc: see application_store.h. The admin role's SQL about
// mailbox_application and a domain's self-service columns (migrations 013, 014).
#include "common/application_store.h"

#include "common/change_log.h"

namespace roster {
namespace {

constexpr char kEpoch[] = "'1970-01-01 00:00:00'";
std::string FromUnix() { return std::string("TIMESTAMPADD(SECOND, ?, ") + kEpoch + ")"; }

constexpr char kColumns[] =
    "SELECT a.id, d.name, a.address, a.display_name, a.department, a.phone, a.state, a.client_address, "
    "CAST(a.created_at AS CHAR), COALESCE(CAST(a.decided_at AS CHAR), ''), a.decided_by "
    "FROM mailbox_application a JOIN domain d ON d.id = a.domain_id ";

Application FromRow(const DbRow& r) {
  Application a;
  a.id = r.Uint(0);
  a.domain = r.String(1);
  a.address = r.String(2);
  a.display_name = r.String(3);
  a.department = r.String(4);
  a.phone = r.String(5);
  a.state = r.String(6);
  a.client_address = r.String(7);
  a.created_at = r.String(8);
  a.decided_at = r.String(9);
  a.decided_by = r.String(10);
  return a;
}

std::string DomainOf(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

}  // namespace

Result<SelfService> ApplicationStore::GetSelfService(std::string_view domain) {
  auto rows = db_.Query("SELECT applications, recovery_mail FROM domain WHERE name = ?", {std::string(domain)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(domain));
  return SelfService{rows->front().String(0), rows->front().Bool(1)};
}

Status ApplicationStore::SetSelfService(std::string_view domain, const std::optional<std::string>& applications,
                                        std::optional<bool> recovery_mail, const Actor& actor) {
  if (applications && *applications != "closed" && *applications != "approval" && *applications != "open") {
    Error e = Error::Invalid("applications: closed, approval or open");
    e.field = "applications";
    return e;
  }
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT id FROM domain WHERE name = ? FOR UPDATE", {std::string(domain)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such domain: " + std::string(domain));
    const uint64_t id = rows->front().Uint(0);
    std::string detail;
    if (applications) {
      auto a = db_.Execute("UPDATE domain SET applications = ? WHERE id = ?", {*applications, id});
      if (!a) return a.error();
      detail = "applications=" + *applications;
    }
    if (recovery_mail) {
      auto a = db_.Execute("UPDATE domain SET recovery_mail = ? WHERE id = ?", {int64_t{*recovery_mail ? 1 : 0}, id});
      if (!a) return a.error();
      detail += std::string(detail.empty() ? "" : " ") + "recovery_mail=" + (*recovery_mail ? "yes" : "no");
    }
    return WriteChangeLog(db_, actor, "domain-self-service", domain, detail);
  });
}

Result<uint64_t> ApplicationStore::Submit(const NewApplication& n, int64_t now, const Actor& actor) {
  uint64_t id = 0;
  Status s = db_.Transaction([&]() -> Status {
    auto domain = db_.Query("SELECT id FROM domain WHERE name = ?", {DomainOf(n.address)});
    if (!domain) return domain.error();
    if (domain->empty()) return Error::NotFound("no such domain: " + DomainOf(n.address));
    // A mailbox with that address (as lookups compare: lower-cased) refuses
    // it. Read with a lock, so a mailbox made meanwhile waits or conflicts.
    auto taken = db_.Query("SELECT 1 FROM mailbox WHERE lookup_key = LOWER(?) LOCK IN SHARE MODE", {n.address});
    if (!taken) return taken.error();
    if (!taken->empty()) {
      Error e = Error::Conflict("the address is taken: " + n.address);
      e.code = "mailbox_exists";
      return e;
    }
    auto a = db_.Execute(
        "INSERT INTO mailbox_application (domain_id, address, display_name, department, phone, password_hash, "
        "client_address, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, " + FromUnix() + ")",
        {domain->front().Uint(0), n.address, n.display_name, n.department, n.phone, n.password_hash,
         n.client_address.substr(0, 64), now});
    if (!a) {
      if (a.error().kind == ErrorKind::kConflict) {
        Error e = Error::Conflict("an application for " + n.address + " is waiting already");
        e.code = "application_pending";
        return e;
      }
      return a.error();
    }
    auto last = db_.LastInsertId();
    if (!last) return last.error();
    id = *last;
    return WriteChangeLog(db_, actor, "mailbox-apply", n.address, "id=" + std::to_string(id));
  });
  if (!s) return s.error();
  return id;
}

Result<Application> ApplicationStore::Get(uint64_t id) {
  auto rows = db_.Query(std::string(kColumns) + "WHERE a.id = ?", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such application: " + std::to_string(id));
  return FromRow(rows->front());
}

Result<std::string> ApplicationStore::PasswordHash(uint64_t id) {
  auto rows = db_.Query("SELECT password_hash FROM mailbox_application WHERE id = ?", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such application: " + std::to_string(id));
  return rows->front().String(0);
}

Status ApplicationStore::Advance(uint64_t id, std::string_view from, std::string_view to, int64_t now,
                                 const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    const bool final_step = to == "rejected" || to == "created";
    auto a = db_.Execute(std::string("UPDATE mailbox_application SET state = ?, decided_at = ") + FromUnix() +
                             ", decided_by = ?" + (final_step ? ", password_hash = ''" : "") +
                             " WHERE id = ? AND state = ?",
                         {std::string(to), now, actor.name.substr(0, 64), id, std::string(from)});
    if (!a) return a.error();
    if (*a != 1) {
      auto current = Get(id);
      if (!current) return current.error();
      return Error::Conflict("application " + std::to_string(id) + " is " + current->state + ", not " +
                             std::string(from));
    }
    auto address = db_.Query("SELECT address FROM mailbox_application WHERE id = ?", {id});
    if (!address) return address.error();
    return WriteChangeLog(db_, actor, "mailbox-apply-" + std::string(to), address->front().String(0),
                          "id=" + std::to_string(id));
  });
}

Result<std::vector<Application>> ApplicationStore::Page(std::string_view domain, std::string_view state,
                                                        uint64_t before, uint64_t limit) {
  std::string sql = kColumns;
  DbParams params;
  sql += "WHERE a.id < ?";
  params.push_back(before == 0 ? UINT64_MAX : before);
  if (!domain.empty()) {
    sql += " AND d.name = ?";
    params.push_back(std::string(domain));
  }
  if (!state.empty()) {
    sql += " AND a.state = ?";
    params.push_back(std::string(state));
  }
  sql += " ORDER BY a.id DESC LIMIT ?";
  params.push_back(limit);
  auto rows = db_.Query(sql, params);
  if (!rows) return rows.error();
  std::vector<Application> out;
  for (const DbRow& r : *rows) out.push_back(FromRow(r));
  return out;
}

}  // namespace roster
