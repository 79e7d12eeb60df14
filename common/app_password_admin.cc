// app_password_admin.cc: see app_password_admin.h. The admin role's SQL
// about app passwords, mailbox access and the login history's display.
#include "common/app_password_admin.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "common/change_log.h"
#include "common/ip.h"
#include "common/shared_sql.h"
#include "common/text.h"

namespace roster {
namespace {

// HEX() text back to bytes; nullopt for text that is not hexadecimal.
std::optional<std::string> UnhexStrict(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

// A label: 1 to kMaxLabelChars characters of valid UTF-8, no control character.
Status CheckLabel(std::string_view label) {
  if (label.empty()) return Error::Invalid("an app password needs a label (--label)");
  if (label.size() > 4 * kMaxLabelChars)
    return Error::Invalid("label too long (at most " + std::to_string(kMaxLabelChars) + " characters)");
  size_t chars = 0;
  for (size_t i = 0; i < label.size(); ++chars) {
    unsigned char c = static_cast<unsigned char>(label[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > label.size()) return Error::Invalid("label is not valid UTF-8");
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(label[i + k]) & 0xc0) != 0x80) return Error::Invalid("label is not valid UTF-8");
    if (c < 0x20 || c == 0x7f) return Error::Invalid("label holds a control character");
    i += len;
  }
  if (chars > kMaxLabelChars)
    return Error::Invalid("label too long (at most " + std::to_string(kMaxLabelChars) + " characters)");
  return Status::Ok();
}

DbValue ProtocolsValue(std::optional<unsigned> bits) {
  if (!bits) return DbValue(nullptr);
  return DbValue(ProtocolsText(*bits));
}

std::optional<unsigned> ProtocolsFromRow(const DbRow& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  return static_cast<unsigned>(r.Uint(i));
}

}  // namespace

Result<uint64_t> AppPasswordAdmin::MailboxId(std::string_view address, bool lock) {
  if (!lock) return MailboxIdOf(db_, address);
  auto rows = db_.Query("SELECT id FROM mailbox WHERE lookup_key = LOWER(?) FOR UPDATE", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return rows->front().Uint(0);
}

Result<std::pair<uint64_t, std::string>> AppPasswordAdmin::Add(const NewAppPassword& add, const Actor& actor) {
  ROSTER_TRY(CheckLabel(add.label));
  if ((add.protocols & kAllProtocols) == 0) return Error::Invalid("an app password needs at least one protocol");
  if (add.expires_unix) {
    constexpr int64_t kLatest = 253402214400;  // 9999-12-31 00:00:00 UTC
    if (*add.expires_unix <= static_cast<int64_t>(std::time(nullptr)))
      return Error::Invalid("the expiry is not in the future");
    if (*add.expires_unix >= kLatest) return Error::Invalid("the expiry is past the year 9999");
  }
  std::pair<uint64_t, std::string> made;
  Status s = db_.Transaction([&]() -> Status {
    // The mailbox row locked: adds to one mailbox take their turn, so two
    // cannot take the same slot or pass the bound together.
    auto id = MailboxId(add.address, true);
    if (!id) return id.error();
    auto rows = db_.Query("SELECT slot, selector FROM app_password WHERE mailbox_id = ?", {*id});
    if (!rows) return rows.error();
    std::set<uint64_t> slots;
    std::set<std::string> selectors;
    for (const DbRow& r : *rows) {
      slots.insert(r.Uint(0));
      selectors.insert(r.String(1));
    }
    uint64_t slot = 0;
    while (slots.count(slot)) ++slot;
    if (slot >= kMaxAppPasswords)
      return Error::Conflict(std::string(add.address) + " has " + std::to_string(kMaxAppPasswords) +
                             " app passwords already (revoke one first)");
    std::string password;
    do {
      password = GenerateAppPassword();
    } while (selectors.count(password.substr(0, kSelectorChars)));
    auto normalised = NormaliseAppPassword(password);
    std::string digest = AppPasswordDigest(*normalised);
    sodium_memzero(normalised->data(), normalised->size());
    auto inserted = db_.Execute(
        "INSERT INTO app_password (mailbox_id, slot, selector, secret_hash, label, protocols, expires_at) "
        // Not FROM_UNIXTIME, which stops at 2038 on MariaDB 10.11.
        "VALUES (?, ?, ?, UNHEX(?), ?, ?, TIMESTAMPADD(SECOND, ?, '1970-01-01 00:00:00'))",
        {*id, slot, password.substr(0, kSelectorChars), Hex(digest), add.label, ProtocolsText(add.protocols),
         add.expires_unix ? DbValue(*add.expires_unix) : DbValue(nullptr)});
    if (!inserted) return inserted.error();
    auto new_id = db_.LastInsertId();
    if (!new_id) return new_id.error();
    std::string detail = "id=" + std::to_string(*new_id) + " label=" + add.label +
                         " protocols=" + ProtocolsText(add.protocols);
    if (add.expires_unix) detail += " expires=" + std::to_string(*add.expires_unix);
    ROSTER_TRY(WriteChangeLog(db_, actor, "app-password-add", add.address, detail));
    if (!made.second.empty()) sodium_memzero(made.second.data(), made.second.size());
    made = {*new_id, std::move(password)};
    return Status::Ok();
  });
  if (!s.ok()) {
    if (!made.second.empty()) sodium_memzero(made.second.data(), made.second.size());
    return s.error();
  }
  return made;
}

Result<std::vector<AppPassword>> AppPasswordAdmin::List(std::string_view address) {
  auto id = MailboxId(address, false);
  if (!id) return id.error();
  auto rows = db_.Query(
      "SELECT id, selector, label, protocols + 0, created_at, COALESCE(CAST(expires_at AS CHAR), ''), "
      "expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(), COALESCE(CAST(last_used_at AS CHAR), ''), "
      "COALESCE(HEX(last_used_ip), '') FROM app_password WHERE mailbox_id = ? ORDER BY id",
      {*id});
  if (!rows) return rows.error();
  std::vector<AppPassword> out;
  for (const DbRow& r : *rows) {
    AppPassword a;
    a.id = r.Uint(0);
    a.selector = r.String(1);
    a.label = r.String(2);
    a.protocols = static_cast<unsigned>(r.Uint(3));
    a.created_at = r.String(4);
    a.expires_at = r.String(5);
    a.expired = r.Bool(6);
    a.last_used_at = r.String(7);
    auto ip = UnhexStrict(r.String(8));
    a.last_used_ip = ip ? UnpackIp(*ip) : "";
    out.push_back(std::move(a));
  }
  return out;
}

Status AppPasswordAdmin::Revoke(std::string_view address, uint64_t id, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto mailbox = MailboxId(address, false);
    if (!mailbox) return mailbox.error();
    auto rows = db_.Query("SELECT label FROM app_password WHERE id = ? AND mailbox_id = ?", {id, *mailbox});
    if (!rows) return rows.error();
    if (rows->empty())
      return Error::NotFound("no app password " + std::to_string(id) + " for " + std::string(address));
    auto deleted = db_.Execute("DELETE FROM app_password WHERE id = ? AND mailbox_id = ?", {id, *mailbox});
    if (!deleted) return deleted.error();
    return WriteChangeLog(db_, actor, "app-password-revoke", address,
                          "id=" + std::to_string(id) + " label=" + rows->front().String(0));
  });
}

Result<MailboxAccess> AppPasswordAdmin::GetAccess(std::string_view address) {
  auto rows = db_.Query(
      "SELECT login_protocols + 0, main_password_protocols + 0 FROM mailbox WHERE lookup_key = LOWER(?)",
      {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return MailboxAccess{ProtocolsFromRow(rows->front(), 0), ProtocolsFromRow(rows->front(), 1)};
}

Status AppPasswordAdmin::SetAccess(std::string_view address, std::optional<std::optional<unsigned>> login,
                               std::optional<std::optional<unsigned>> main_password, const Actor& actor) {
  if (!login && !main_password) return Error::Invalid("nothing to change: give --protocols or --main-password");
  return db_.Transaction([&]() -> Status {
    auto id = MailboxId(address, false);
    if (!id) return id.error();
    std::string detail;
    if (login) {
      auto a = db_.Execute("UPDATE mailbox SET login_protocols = ? WHERE id = ?", {ProtocolsValue(*login), *id});
      if (!a) return a.error();
      detail += "protocols=" + (*login ? ProtocolsText(**login) : std::string("all"));
    }
    if (main_password) {
      auto a = db_.Execute("UPDATE mailbox SET main_password_protocols = ? WHERE id = ?",
                           {ProtocolsValue(*main_password), *id});
      if (!a) return a.error();
      detail += std::string(detail.empty() ? "" : " ") + "main-password=" +
                (*main_password ? ProtocolsText(**main_password) : std::string("all"));
    }
    return WriteChangeLog(db_, actor, "mailbox-access", address, detail);
  });
}

Result<std::vector<LoginRecord>> AppPasswordAdmin::Logins(std::string_view address, uint64_t limit) {
  auto id = MailboxId(address, false);
  if (!id) return id.error();
  auto rows = db_.Query(
      "SELECT h.logged_at, h.protocol, HEX(h.ip), COALESCE(h.app_password_id, 0), COALESCE(a.label, '') "
      "FROM login_history h LEFT JOIN app_password a ON a.id = h.app_password_id "
      "WHERE h.mailbox_id = ? ORDER BY h.seq DESC LIMIT ?",
      {*id, limit});
  if (!rows) return rows.error();
  std::vector<LoginRecord> out;
  for (const DbRow& r : *rows) {
    auto ip = UnhexStrict(r.String(2));
    out.push_back(LoginRecord{r.String(0), r.String(1), ip ? UnpackIp(*ip) : "", r.Uint(3), r.String(4)});
  }
  return out;
}

Status AppPasswordAdmin::ListInactive(uint64_t days, const std::function<bool(const InactiveMailbox&)>& each,
                                  std::string_view domain) {
  return ListInactive(
      days, [&](const InactiveMailbox& m, const std::string&) { return each(m); }, domain, {});
}

Status AppPasswordAdmin::ListInactive(uint64_t days,
                                      const std::function<bool(const InactiveMailbox&, const std::string& key)>& each,
                                      std::string_view domain, std::string_view after_key) {
  if (days == 0 || days > 36500) return Error::Invalid("--inactive: 1 day to 100 years");
  // Keyset pagination on the lookup key, as ListMailboxes: at most kPage
  // rows in memory however many mailboxes are dormant. A mailbox's newest
  // login is mailbox.last_login_at (migration 015: the newest of the dict's
  // and the passdb's); it is dormant when that is before the cut-off, or it
  // never logged in, and it was created before the cut-off.
  constexpr uint64_t kPage = 500;
  // Which index reads a page: in address order, the scan stops once a page
  // is full, which is soon when many are dormant and reads every mailbox
  // when few are. So for one domain the dormant are counted first from the
  // index on (domain_id, last_login_at) (a range of it, nothing else read):
  // if they are few, the page is that range, sorted. With no domain the scan
  // follows the lookup key's index (a join with the domain would make the
  // server sort every mailbox left, for each page).
  constexpr uint64_t kFewDormant = 5000;
  auto text = [](const char* index) {
    return std::string("SELECT m.lookup_key, m.address, CAST(m.last_login_at AS CHAR) FROM mailbox m ") +
           (*index ? std::string("FORCE INDEX (") + index + ") " : "") + "WHERE " +
           (*index ? "m.domain_id = (SELECT id FROM domain WHERE name = ?) AND " : "") +
           "m.lookup_key > ? AND m.created_at < UTC_TIMESTAMP() - INTERVAL ? DAY "
           "AND (m.last_login_at IS NULL OR m.last_login_at < UTC_TIMESTAMP() - INTERVAL ? DAY) "
           "ORDER BY m.lookup_key LIMIT ?";
  };
  static const std::string kAll = text(""), kByAddress = text("mailbox_domain_lookup"),
                           kByLogin = text("mailbox_domain_last_login");
  const std::string* sql = &kAll;
  if (!domain.empty()) {
    auto few = db_.Query(
        "SELECT COUNT(*) FROM mailbox m FORCE INDEX (mailbox_domain_last_login) "
        "WHERE m.domain_id = (SELECT id FROM domain WHERE name = ?) "
        "AND (m.last_login_at IS NULL OR m.last_login_at < UTC_TIMESTAMP() - INTERVAL ? DAY)",
        {std::string(domain), days});
    if (!few) return few.error();
    sql = few->front().Uint(0) <= kFewDormant ? &kByLogin : &kByAddress;
  }
  std::string after(after_key);
  for (;;) {
    uint64_t rows = 0;
    bool stopped = false;
    DbParams params = {after, days, days, kPage};
    if (!domain.empty()) params.insert(params.begin(), std::string(domain));
    Status s = db_.QueryEach(*sql, params, [&](const DbRow& r) {
      ++rows;
      after = r.String(0);
      if (!each(InactiveMailbox{r.String(1), r.IsNull(2) ? std::string() : r.String(2)}, after)) stopped = true;
      return !stopped;
    });
    if (!s) return s;
    if (stopped || rows < kPage) return Status::Ok();
  }
}

}  // namespace roster
