// outbound_admin.cc: see outbound_admin.h. The admin role's statements about
// outbound limits and suspensions.
#include "common/outbound_admin.h"

#include "common/change_log.h"
#include "common/outbound_sql.h"

namespace roster {
namespace {


constexpr char kShow[] =
    "SELECT m.address, m.send_per_hour, m.send_per_day, m.rcpt_per_message, m.rcpt_per_day, "
    ROSTER_LH ", " ROSTER_LD ", " ROSTER_LM ", " ROSTER_LRD ", "
    ROSTER_HM ", " ROSTER_HA ", " ROSTER_DM ", " ROSTER_DR ", m.send_suspended_at, m.send_suspended_reason "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_id LEFT JOIN outbound_counter c ON c.mailbox_id = m.id "
    "WHERE m.lookup_key = LOWER(?)";

std::optional<uint64_t> OptionalUint(const DbRow& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  return r.Uint(i);
}

Status CheckChange(const OutboundLimitChange& change, bool domain) {
  if (change.empty()) return Error::Invalid("nothing to change: give at least one limit");
  for (const auto* f : {&change.per_hour, &change.per_day, &change.rcpt_per_message, &change.rcpt_per_day}) {
    if (!*f) continue;
    if (!**f && domain) return Error::Invalid("a domain's default is a number (0 = unlimited)");
    if (**f && ***f > kMaxOutboundLimit)
      return Error::Invalid("an outbound limit must be 0.." + std::to_string(kMaxOutboundLimit) +
                            " (0 = unlimited)");
  }
  return Status::Ok();
}

// "send_per_hour = ?, ..." with its parameters, and the change log's detail.
void ChangeColumns(const OutboundLimitChange& change, const char* prefix, std::string* set, DbParams* params,
                   std::string* detail) {
  const std::pair<const std::optional<std::optional<uint64_t>>*, const char*> fields[] = {
      {&change.per_hour, "send_per_hour"},
      {&change.per_day, "send_per_day"},
      {&change.rcpt_per_message, "rcpt_per_message"},
      {&change.rcpt_per_day, "rcpt_per_day"}};
  for (const auto& [value, name] : fields) {
    if (!*value) continue;
    std::string column = std::string(prefix) + name;
    *set += std::string(set->empty() ? "" : ", ") + column + " = ?";
    if (**value) params->emplace_back(***value);
    else params->emplace_back(nullptr);
    *detail += std::string(detail->empty() ? "" : " ") + name + "=" +
               (**value ? std::to_string(***value) : std::string("default"));
  }
}

}  // namespace

Status OutboundAdmin::SetMailboxLimits(std::string_view address, const OutboundLimitChange& change, const Actor& actor) {
  ROSTER_TRY(CheckChange(change, false));
  std::string set, detail;
  DbParams params;
  ChangeColumns(change, "", &set, &params, &detail);
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT id, address FROM mailbox WHERE lookup_key = LOWER(?) FOR UPDATE",
                          {std::string(address)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
    DbParams p = params;
    p.emplace_back(rows->front().Uint(0));
    auto a = db_.Execute("UPDATE mailbox SET " + set + " WHERE id = ?", p);
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "outbound-limits", rows->front().String(1), detail);
  });
}

Status OutboundAdmin::SetDomainDefaults(std::string_view domain, const OutboundLimitChange& change, const Actor& actor) {
  ROSTER_TRY(CheckChange(change, true));
  std::string set, detail;
  DbParams params;
  ChangeColumns(change, "default_", &set, &params, &detail);
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT id FROM domain WHERE name = ? FOR UPDATE", {std::string(domain)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such domain: " + std::string(domain));
    DbParams p = params;
    p.emplace_back(rows->front().Uint(0));
    auto a = db_.Execute("UPDATE domain SET " + set + " WHERE id = ?", p);
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "outbound-defaults", domain, detail);
  });
}

Result<OutboundLimits> OutboundAdmin::DomainDefaults(std::string_view domain) {
  auto rows = db_.Query(
      "SELECT default_send_per_hour, default_send_per_day, default_rcpt_per_message, default_rcpt_per_day "
      "FROM domain WHERE name = ?",
      {std::string(domain)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such domain: " + std::string(domain));
  const DbRow& r = rows->front();
  return OutboundLimits{r.Uint(0), r.Uint(1), r.Uint(2), r.Uint(3)};
}

Result<OutboundStatus> OutboundAdmin::Show(std::string_view address) {
  auto rows = db_.Query(kShow, {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  const DbRow& r = rows->front();
  OutboundStatus s;
  s.address = r.String(0);
  s.own = OutboundLimits{OptionalUint(r, 1), OptionalUint(r, 2), OptionalUint(r, 3), OptionalUint(r, 4)};
  s.effective = OutboundLimits{r.Uint(5), r.Uint(6), r.Uint(7), r.Uint(8)};
  s.hour_messages = r.Uint(9);
  s.hour_attempts = r.Uint(10);
  s.day_messages = r.Uint(11);
  s.day_recipients = r.Uint(12);
  s.suspended_at = r.IsNull(13) ? "" : r.String(13);
  s.suspended_reason = r.String(14);
  return s;
}

Status OutboundAdmin::Suspend(std::string_view address, std::string_view reason, const Actor& actor) {
  std::string why = reason.empty() ? std::string("suspended by ") + actor.name : std::string(reason);
  if (why.size() > 255) return Error::Invalid("a suspension's reason is at most 255 bytes");
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query(
        "SELECT id, address, send_suspended_at IS NOT NULL FROM mailbox WHERE lookup_key = LOWER(?) FOR UPDATE",
        {std::string(address)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
    if (rows->front().Bool(2))
      return Error::Conflict("sending of " + rows->front().String(1) + " is suspended already");
    auto a = db_.Execute(
        "UPDATE mailbox SET send_suspended_at = UTC_TIMESTAMP(6), send_suspended_reason = ? WHERE id = ?",
        {why, rows->front().Uint(0)});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "send-suspend", rows->front().String(1), why);
  });
}

Status OutboundAdmin::Lift(std::string_view address, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    // The mailbox row first, then the counter: the order of the admission.
    auto rows = db_.Query(
        "SELECT id, address, send_suspended_at IS NOT NULL, send_suspended_reason FROM mailbox "
        "WHERE lookup_key = LOWER(?) FOR UPDATE",
        {std::string(address)});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
    const DbRow& r = rows->front();
    if (!r.Bool(2)) return Error::Conflict("sending of " + r.String(1) + " is not suspended");
    auto a = db_.Execute("UPDATE mailbox SET send_suspended_at = NULL, send_suspended_reason = '' WHERE id = ?",
                         {r.Uint(0)});
    if (!a) return a.error();
    // The breaker counts afresh; the limits' counts stay.
    auto c = db_.Execute("UPDATE outbound_counter SET hour_attempts = 0 WHERE mailbox_id = ?",
                         {r.Uint(0)});
    if (!c) return c.error();
    return WriteChangeLog(db_, actor, "send-lift", r.String(1), "was: " + r.String(3));
  });
}

Result<std::vector<SuspendedMailbox>> OutboundAdmin::ListSuspended() {
  auto rows = db_.Query(
      "SELECT address, send_suspended_at, send_suspended_reason FROM mailbox WHERE send_suspended_at IS NOT NULL "
      "ORDER BY lookup_key LIMIT 100000");
  if (!rows) return rows.error();
  std::vector<SuspendedMailbox> out;
  for (const DbRow& r : *rows) out.push_back(SuspendedMailbox{r.String(0), r.String(1), r.String(2)});
  return out;
}

}  // namespace roster
