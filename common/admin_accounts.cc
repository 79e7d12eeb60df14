// admin_accounts.cc: see admin_accounts.h. The admin role's SQL about
// administrator accounts, their domains, their API keys, and the mailbox
// read of a mailbox user's sign-in to the administration service.
#include "common/admin_accounts.h"

#include <algorithm>
#include <set>

#include "common/change_log.h"
#include "common/sql_batch.h"
#include "common/text.h"

namespace roster {
namespace {

// Unix seconds <-> DATETIME, not FROM_UNIXTIME/UNIX_TIMESTAMP (2038 on MariaDB 10.11).
constexpr char kEpoch[] = "'1970-01-01 00:00:00'";
std::string FromUnix() { return std::string("TIMESTAMPADD(SECOND, ?, ") + kEpoch + ")"; }
std::string ToUnix(const std::string& column) {
  return std::string("COALESCE(TIMESTAMPDIFF(SECOND, ") + kEpoch + ", " + column + "), 0)";
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The names of the domains of `owner` (a column of the outer query) in the
// link table `table` (admin_domain, api_key_domain), as one space-separated list.
std::string DomainNames(const char* table, const char* key, const char* owner) {
  return std::string("(SELECT GROUP_CONCAT(d.name ORDER BY d.name SEPARATOR ' ') FROM ") + table +
         " x JOIN domain d ON d.id = x.domain_id WHERE x." + key + " = " + owner + ")";
}

// The columns of an account, its domains as one space-separated list.
const std::string& AccountColumns() {
  static const std::string kColumns =
      "SELECT a.id, a.name, a.kind, a.department, a.active, a.totp_secret IS NOT NULL, CAST(a.created_at AS CHAR), "
      "COALESCE(CAST(a.last_sign_in_at AS CHAR), ''), a.last_sign_in_client, a.failures, " +
      ToUnix("a.locked_until") +
      ", " + DomainNames("admin_domain", "admin_id", "a.id") +
      ", a.password_hash, COALESCE(HEX(a.totp_secret), ''), a.totp_last_step, a.credentials_version "
      "FROM admin_account a ";
  return kColumns;
}

AdminAccount AccountFromRow(const DbRow& r) {
  AdminAccount a;
  a.id = r.Uint(0);
  a.name = r.String(1);
  a.kind = ParseAdminKind(r.String(2)).value_or(AdminKind::kGroup);
  a.department = r.String(3);
  a.active = r.Bool(4);
  a.has_totp = r.Bool(5);
  a.created_at = r.String(6);
  a.last_sign_in_at = r.String(7);
  a.last_sign_in_client = r.String(8);
  a.failures = r.Uint(9);
  a.locked_until = r.Int(10);
  a.domains = Words(r.String(11));
  a.credentials_version = r.Uint(15);
  return a;
}

const std::string& KeyColumns() {
  static const std::string kColumns =
      "SELECT k.id, k.selector, a.name, k.label, k.read_only, k.domain_limited, " +
      DomainNames("api_key_domain", "key_id", "k.id") + ", CAST(k.created_at AS CHAR), " +
      ToUnix("k.expires_at") + ", COALESCE(CAST(k.last_used_at AS CHAR), ''), " + ToUnix("k.last_used_at") +
      ", k.last_used_client, HEX(k.secret_hash) FROM api_key k JOIN admin_account a ON a.id = k.admin_id ";
  return kColumns;
}

ApiKeyInfo KeyFromRow(const DbRow& r) {
  ApiKeyInfo k;
  k.id = r.Uint(0);
  k.selector = r.String(1);
  k.admin = r.String(2);
  k.label = r.String(3);
  k.read_only = r.Bool(4);
  k.domain_limited = r.Bool(5);
  k.domains = Words(r.String(6));
  k.created_at = r.String(7);
  k.expires_at = r.Int(8);
  k.last_used_at = r.String(9);
  k.last_used_unix = r.Int(10);
  k.last_used_client = r.String(11);
  return k;
}

std::string Cut(std::string_view s, size_t max) { return std::string(s.substr(0, std::min(s.size(), max))); }

std::string DomainsText(const std::vector<std::string>& domains) {
  std::string out;
  for (const std::string& d : domains) out += (out.empty() ? "" : ",") + d;
  return out;
}

Status CheckKeyLabel(std::string_view label) {
  size_t chars = 0;
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) return Error::Invalid("label holds a control character");
    if ((c & 0xc0) != 0x80) ++chars;
  }
  if (chars > kMaxApiKeyLabelChars)
    return Error::Invalid("label too long (at most " + std::to_string(kMaxApiKeyLabelChars) + " characters)");
  return Status::Ok();
}

}  // namespace

const char* AdminKindName(AdminKind kind) {
  switch (kind) {
    case AdminKind::kMail: return "mail";
    case AdminKind::kDomain: return "domain";
    case AdminKind::kGroup: return "group";
  }
  return "group";
}

std::optional<AdminKind> ParseAdminKind(std::string_view text) {
  if (text == "mail") return AdminKind::kMail;
  if (text == "domain") return AdminKind::kDomain;
  if (text == "group") return AdminKind::kGroup;
  return std::nullopt;
}

Result<std::string> NormaliseAdminName(std::string_view name) {
  if (name.empty() || name.size() > 64) return Error::Invalid("an administrator's name has 1 to 64 characters");
  std::string out = AsciiLower(name);
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(out[0])) return Error::Invalid("an administrator's name starts with a letter or a digit");
  for (char c : out)
    if (!alnum(c) && c != '.' && c != '_' && c != '@' && c != '+' && c != '-')
      return Error::Invalid("an administrator's name holds only a-z, 0-9 and . _ @ + -");
  return out;
}

// ------------------------------------------------------------------ accounts

Result<std::vector<uint64_t>> AdminAccounts::DomainIds(const std::vector<std::string>& names) {
  std::vector<uint64_t> ids;
  for (const std::string& name : names) {
    auto row =
        db_.QueryOne("SELECT id FROM domain WHERE name = ? LOCK IN SHARE MODE", {name}, "no such domain: " + name);
    if (!row) return row.error();
    ids.push_back(row->Uint(0));
  }
  return ids;
}

Result<uint64_t> AdminAccounts::AccountId(std::string_view name, bool lock) {
  auto row = db_.QueryOne(lock ? "SELECT id FROM admin_account WHERE name = ? FOR UPDATE"
                               : "SELECT id FROM admin_account WHERE name = ?",
                          {std::string(name)}, "no such administrator: " + std::string(name));
  if (!row) return row.error();
  return row->Uint(0);
}

Status AdminAccounts::Add(const NewAdminAccount& account, const Actor& actor) {
  auto name = NormaliseAdminName(account.name);
  if (!name) return name.error();
  std::set<std::string> unique(account.domains.begin(), account.domains.end());
  std::vector<std::string> domains(unique.begin(), unique.end());
  switch (account.kind) {
    case AdminKind::kMail:
      if (!domains.empty() || !account.department.empty())
        return Error::Invalid("a mail administrator administers everything: no domain, no department");
      break;
    case AdminKind::kDomain:
      if (domains.empty()) return Error::Invalid("a domain administrator needs at least one domain");
      if (domains.size() > kMaxAdminDomains)
        return Error::Invalid("at most " + std::to_string(kMaxAdminDomains) + " domains");
      if (!account.department.empty()) return Error::Invalid("a domain administrator has no department");
      break;
    case AdminKind::kGroup:
      if (domains.size() != 1 || account.department.empty())
        return Error::Invalid("a group administrator needs one domain and a department");
      break;
  }
  if (account.password_hash.empty() || account.password_hash.size() > 255)
    return Error::Invalid("an administrator needs a password");
  return db_.Transaction([&]() -> Status {
    auto ids = DomainIds(domains);
    if (!ids) return ids.error();
    auto added = db_.Execute(
        "INSERT INTO admin_account (name, kind, password_hash, department, active) VALUES (?, ?, ?, ?, ?)",
        {*name, std::string(AdminKindName(account.kind)), account.password_hash, account.department,
         int64_t{account.active ? 1 : 0}});
    if (!added) {
      if (added.error().kind == ErrorKind::kConflict)
        return Error::Conflict("administrator " + *name + " exists already");
      return added.error();
    }
    auto id = db_.LastInsertId();
    if (!id) return id.error();
    for (uint64_t domain : *ids) {
      auto a = db_.Execute("INSERT INTO admin_domain (admin_id, domain_id) VALUES (?, ?)", {*id, domain});
      if (!a) return a.error();
    }
    std::string detail = std::string("kind=") + AdminKindName(account.kind);
    if (!domains.empty()) detail += " domains=" + DomainsText(domains);
    if (!account.department.empty()) detail += " department=" + account.department;
    if (!account.active) detail += " disabled";
    return WriteChangeLog(db_, actor, "admin-add", *name, detail);
  });
}

Status AdminAccounts::Delete(std::string_view name, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = AccountId(name, true);
    if (!id) return id.error();
    // Its domains and its keys go with it (ON DELETE CASCADE).
    auto keys = db_.Query("SELECT COUNT(*) FROM api_key WHERE admin_id = ?", {*id});
    if (!keys) return keys.error();
    auto gone = db_.Execute("DELETE FROM admin_account WHERE id = ?", {*id});
    if (!gone) return gone.error();
    return WriteChangeLog(db_, actor, "admin-del", name, "api_keys=" + std::to_string(keys->front().Uint(0)));
  });
}

Result<AdminAccount> AdminAccounts::Get(std::string_view name) {
  auto row = db_.QueryOne(AccountColumns() + "WHERE a.name = ?", {std::string(name)},
                          "no such administrator: " + std::string(name));
  if (!row) return row.error();
  return AccountFromRow(*row);
}

Result<std::vector<AdminAccount>> AdminAccounts::Page(std::string_view after, uint64_t limit) {
  auto rows = db_.Query(AccountColumns() + "WHERE a.name > ? ORDER BY a.name LIMIT ?", {std::string(after), limit});
  if (!rows) return rows.error();
  std::vector<AdminAccount> out;
  for (const DbRow& r : *rows) out.push_back(AccountFromRow(r));
  return out;
}

Result<std::string> AdminAccounts::PasswordHash(std::string_view name) {
  auto row = db_.QueryOne("SELECT password_hash FROM admin_account WHERE name = ?", {std::string(name)},
                          "no such administrator: " + std::string(name));
  if (!row) return row.error();
  return row->String(0);
}

Status AdminAccounts::SetPasswordHash(std::string_view name, std::string_view hash, const Actor& actor) {
  if (hash.empty() || hash.size() > 255) return Error::Invalid("an administrator needs a password");
  return db_.Transaction([&]() -> Status {
    auto id = AccountId(name, true);
    if (!id) return id.error();
    auto a = db_.Execute(
        "UPDATE admin_account SET password_hash = ?, credentials_version = credentials_version + 1 WHERE id = ?",
        {std::string(hash), *id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "admin-password", name, "");
  });
}

Status AdminAccounts::SetTotpSecret(std::string_view name, const std::optional<std::string>& secret,
                                    const Actor& actor) {
  if (secret && (secret->size() < 16 || secret->size() > 64)) return Error::Invalid("a TOTP secret has 16 to 64 bytes");
  return db_.Transaction([&]() -> Status {
    auto id = AccountId(name, true);
    if (!id) return id.error();
    // A new secret starts a new sequence of steps.
    auto a = db_.Execute("UPDATE admin_account SET totp_secret = UNHEX(?), totp_last_step = 0, "
                         "credentials_version = credentials_version + 1 WHERE id = ?",
                         {secret ? DbValue(Hex(*secret)) : DbValue(nullptr), *id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, secret ? "admin-totp-set" : "admin-totp-clear", name, "");
  });
}

Status AdminAccounts::SetActive(std::string_view name, bool active, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = AccountId(name, true);
    if (!id) return id.error();
    auto a = db_.Execute("UPDATE admin_account SET active = ?, credentials_version = credentials_version + ? WHERE id = ?",
                         {int64_t{active ? 1 : 0}, int64_t{active ? 0 : 1}, *id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, active ? "admin-enable" : "admin-disable", name, "");
  });
}

Status AdminAccounts::Unlock(std::string_view name, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = AccountId(name, true);
    if (!id) return id.error();
    auto a = db_.Execute("UPDATE admin_account SET failures = 0, locked_until = NULL WHERE id = ?", {*id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "admin-unlock", name, "");
  });
}

// ------------------------------------------------------------------ sign-in

Result<AdminAccount> AdminAccounts::GetById(uint64_t id) {
  auto row = db_.QueryOne(AccountColumns() + "WHERE a.id = ?", {id}, "no such administrator");
  if (!row) return row.error();
  return AccountFromRow(*row);
}

Result<AdminSignIn> AdminAccounts::FindForSignIn(std::string_view name) {
  auto row = db_.QueryOne(AccountColumns() + "WHERE a.name = ?", {std::string(name)}, "no such administrator");
  if (!row) return row.error();
  const DbRow& r = *row;
  AdminSignIn s;
  s.account = AccountFromRow(r);
  s.password_hash = r.String(12);
  s.totp_secret = Unhex(r.String(13));
  s.totp_last_step = r.Uint(14);
  return s;
}

Result<bool> AdminAccounts::RecordFailure(uint64_t id, unsigned max_failures, int64_t lock_seconds, int64_t now,
                                          const Actor& actor) {
  bool locked = false;
  Status s = db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT name, failures FROM admin_account WHERE id = ? FOR UPDATE", {id});
    if (!rows) return rows.error();
    if (rows->empty()) return Status::Ok();  // deleted meanwhile
    const std::string name = rows->front().String(0);
    uint64_t failures = rows->front().Uint(1) + 1;
    locked = max_failures > 0 && failures >= max_failures;
    if (!locked) {
      auto a = db_.Execute("UPDATE admin_account SET failures = ? WHERE id = ?", {failures, id});
      return a ? Status::Ok() : Status(a.error());
    }
    auto a = db_.Execute("UPDATE admin_account SET failures = 0, locked_until = " + FromUnix() + " WHERE id = ?",
                         {now + lock_seconds, id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "admin-lock", name,
                          "failures=" + std::to_string(failures) + " seconds=" + std::to_string(lock_seconds));
  });
  if (!s) return s.error();
  return locked;
}

Status AdminAccounts::LiftExpiredLock(uint64_t id, int64_t now, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query("SELECT name FROM admin_account WHERE id = ? AND locked_until IS NOT NULL AND " +
                              ToUnix("locked_until") + " <= ? FOR UPDATE",
                          {id, now});
    if (!rows) return rows.error();
    if (rows->empty()) return Status::Ok();  // lifted by another sign-in, or locked again
    auto a = db_.Execute("UPDATE admin_account SET locked_until = NULL WHERE id = ?", {id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "admin-unlock", rows->front().String(0), "lock expired");
  });
}

Result<bool> AdminAccounts::RecordSuccess(uint64_t id, int64_t now, std::string_view client,
                                          std::optional<uint64_t> totp_step) {
  std::string sql = "UPDATE admin_account SET failures = 0, last_sign_in_at = " + FromUnix() +
                    ", last_sign_in_client = ?";
  DbParams params = {now, Cut(client, 64)};
  if (totp_step) {
    sql += ", totp_last_step = ? WHERE id = ? AND totp_last_step < ?";
    params.insert(params.end(), {*totp_step, id, *totp_step});
  } else {
    sql += " WHERE id = ?";
    params.push_back(id);
  }
  auto a = db_.Execute(sql, params);
  if (!a) return a.error();
  // Without a step the row may simply be unchanged (same second, same client).
  return !totp_step || *a > 0;
}

// ------------------------------------------------------------------ API keys

Result<uint64_t> AdminAccounts::AddKey(const NewApiKey& key, int64_t now, const Actor& actor) {
  ROSTER_TRY(CheckKeyLabel(key.label));
  if (key.digest.size() != 32) return Error::Invalid("an API key's digest has 32 bytes");
  constexpr int64_t kLatest = 253402214400;  // 9999-12-31 00:00:00 UTC
  if (key.expires_at != 0 && (key.expires_at <= now || key.expires_at >= kLatest))
    return Error::Invalid("the expiry must be in the future, before the year 9999");
  std::set<std::string> unique(key.domains.begin(), key.domains.end());
  std::vector<std::string> domains(unique.begin(), unique.end());
  if (domains.size() > kMaxAdminDomains) return Error::Invalid("at most " + std::to_string(kMaxAdminDomains) + " domains");
  uint64_t new_id = 0;
  Status s = db_.Transaction([&]() -> Status {
    // The owner's row locked: adds for one owner take their turn, so two
    // cannot pass the bound together.
    auto owner = db_.QueryOne(AccountColumns() + "WHERE a.name = ? FOR UPDATE", {key.admin},
                              "no such administrator: " + key.admin);
    if (!owner) return owner.error();
    AdminAccount a = AccountFromRow(*owner);
    // A key narrows its owner: a limit outside the owner's domains is refused.
    if (a.kind != AdminKind::kMail)
      for (const std::string& d : domains)
        if (std::find(a.domains.begin(), a.domains.end(), d) == a.domains.end())
          return Error::Invalid("administrator " + a.name + " does not administer " + d);
    auto count = db_.Query("SELECT COUNT(*) FROM api_key WHERE admin_id = ?", {a.id});
    if (!count) return count.error();
    if (count->front().Uint(0) >= kMaxApiKeys)
      return Error::Conflict(a.name + " has " + std::to_string(kMaxApiKeys) + " API keys already (revoke one first)");
    auto ids = DomainIds(domains);
    if (!ids) return ids.error();
    auto inserted = db_.Execute(
        "INSERT INTO api_key (selector, secret_hash, admin_id, label, read_only, domain_limited, expires_at) "
        "VALUES (?, UNHEX(?), ?, ?, ?, ?, " + FromUnix() + ")",
        {key.selector, Hex(key.digest), a.id, key.label, int64_t{key.read_only ? 1 : 0},
         int64_t{domains.empty() ? 0 : 1}, key.expires_at ? DbValue(key.expires_at) : DbValue(nullptr)});
    if (!inserted) return inserted.error();
    auto id = db_.LastInsertId();
    if (!id) return id.error();
    for (uint64_t domain : *ids) {
      auto d = db_.Execute("INSERT INTO api_key_domain (key_id, domain_id) VALUES (?, ?)", {*id, domain});
      if (!d) return d.error();
    }
    new_id = *id;
    std::string detail = "id=" + std::to_string(*id) + " selector=" + key.selector + " label=" + key.label +
                         (key.read_only ? " read-only" : " read-write");
    if (!domains.empty()) detail += " domains=" + DomainsText(domains);
    if (key.expires_at) detail += " expires=" + std::to_string(key.expires_at);
    return WriteChangeLog(db_, actor, "api-key-add", a.name, detail);
  });
  if (!s) return s.error();
  return new_id;
}

Result<std::vector<ApiKeyInfo>> AdminAccounts::KeyPage(std::string_view admin, uint64_t after_id, uint64_t limit) {
  auto owner = AccountId(admin, false);
  if (!owner) return owner.error();
  auto rows = db_.Query(KeyColumns() + "WHERE k.admin_id = ? AND k.id > ? ORDER BY k.id LIMIT ?",
                        {*owner, after_id, limit});
  if (!rows) return rows.error();
  std::vector<ApiKeyInfo> out;
  for (const DbRow& r : *rows) out.push_back(KeyFromRow(r));
  return out;
}

Status AdminAccounts::RevokeKey(std::string_view admin, uint64_t id, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto owner = AccountId(admin, false);
    if (!owner) return owner.error();
    auto key = db_.QueryOne("SELECT selector, label FROM api_key WHERE id = ? AND admin_id = ? FOR UPDATE",
                            {id, *owner}, "no API key " + std::to_string(id) + " of " + std::string(admin));
    if (!key) return key.error();
    auto gone = db_.Execute("DELETE FROM api_key WHERE id = ?", {id});
    if (!gone) return gone.error();
    return WriteChangeLog(db_, actor, "api-key-revoke", admin,
                          "id=" + std::to_string(id) + " selector=" + key->String(0) + " label=" + key->String(1));
  });
}

Result<ApiKeySignIn> AdminAccounts::FindKeyForSignIn(std::string_view selector) {
  auto row = db_.QueryOne(KeyColumns() + "WHERE k.selector = ?", {std::string(selector)}, "no such API key");
  if (!row) return row.error();
  ApiKeySignIn s;
  s.key = KeyFromRow(*row);
  s.digest = Unhex(row->String(12));
  auto owner = Get(s.key.admin);
  if (!owner) return owner.error();
  s.owner = std::move(*owner);
  return s;
}

Status AdminAccounts::TouchKey(uint64_t id, int64_t now, std::string_view client) {
  // The condition in the statement too: of two uses at once, one writes.
  auto a = db_.ExecuteIdempotent("UPDATE api_key SET last_used_at = " + FromUnix() +
                                     ", last_used_client = ? WHERE id = ? AND (last_used_at IS NULL OR " +
                                     ToUnix("last_used_at") + " <= ?)",
                                 {now, Cut(client, 64), id, now - kApiKeyTouchSeconds});
  if (!a) return a.error();
  return Status::Ok();
}

// ------------------------------------------------------------------ mailbox users

namespace {

MailboxSignIn MailboxSignInFromRow(const DbRow& r) {
  MailboxSignIn m;
  m.id = r.Uint(0);
  m.address = r.String(1);
  m.active = r.Bool(2);
  m.domain_active = r.Bool(3);
  if (!r.IsNull(4)) m.login_protocols = static_cast<unsigned>(r.Uint(4));
  if (!r.IsNull(5)) m.main_password_protocols = static_cast<unsigned>(r.Uint(5));
  m.credentials_version = r.Uint(6);
  return m;
}

constexpr char kMailboxSignInColumns[] =
    "SELECT m.id, m.address, m.active, d.active, m.login_protocols + 0, m.main_password_protocols + 0, "
    "m.credentials_version";

}  // namespace

Result<MailboxSignIn> AdminAccounts::FindMailboxForSignIn(std::string_view address) {
  auto row = db_.QueryOne(std::string(kMailboxSignInColumns) +
                              ", m.password_hash FROM mailbox m JOIN domain d ON d.id = m.domain_id "
                              "WHERE m.lookup_key = LOWER(?)",
                          {std::string(address)}, "no such mailbox");
  if (!row) return row.error();
  MailboxSignIn m = MailboxSignInFromRow(*row);
  m.password_hash = row->String(7);
  return m;
}

Result<MailboxSignIn> AdminAccounts::FindMailboxById(uint64_t id) {
  auto row = db_.QueryOne(std::string(kMailboxSignInColumns) +
                              " FROM mailbox m JOIN domain d ON d.id = m.domain_id WHERE m.id = ?",
                          {id}, "no such mailbox");
  if (!row) return row.error();
  return MailboxSignInFromRow(*row);
}

}  // namespace roster
