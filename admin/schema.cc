// schema.cc: see schema.h.
#include "admin/schema.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <map>

#include "sql/embedded_sql.h"

namespace roster {

std::vector<std::string> SplitSqlStatements(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line.compare(first, 2, "--") == 0) continue;
    size_t last = line.find_last_not_of(" \t\r");
    line = line.substr(0, last + 1);
    bool ends = line.back() == ';';
    if (ends) line.pop_back();
    if (!current.empty()) current += '\n';
    current += line;
    if (ends) {
      out.push_back(current);
      current.clear();
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
  return out;
}

int LatestSchemaVersion() {
  int v = 0;
  for (const Migration& m : Migrations()) v = m.version > v ? m.version : v;
  return v;
}

Status CheckSqlName(const std::string& name, const char* what, bool allow_host_chars) {
  if (name.empty() || name.size() > 64) return Error::Invalid(std::string(what) + " must be 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (allow_host_chars) ok = ok || c == '.' || c == '-' || c == '%' || c == ':';
    if (!ok) return Error::Invalid(std::string(what) + " '" + name + "' contains '" + std::string(1, c) + "'");
  }
  return Status::Ok();
}

static Status EnsureVersionTable(Db& db) {
  auto r = db.Execute(
      "CREATE TABLE IF NOT EXISTS schema_version (version INT UNSIGNED NOT NULL PRIMARY KEY, "
      "name VARCHAR(64) NOT NULL, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
  if (!r) return r.error();
  return Status::Ok();
}

Result<int> CurrentSchemaVersion(Db& db) {
  auto exists = db.Query(
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = "
      "'schema_version'");
  if (!exists) return exists.error();
  if (exists->empty() || exists->front().Uint(0) == 0) return 0;
  auto rows = db.Query("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!rows) return rows.error();
  return static_cast<int>(rows->front().Uint(0));
}

Result<MigrationReport> Migrate(Db& db) {
  ROSTER_TRY(EnsureVersionTable(db));
  // One migrator at a time; a second waits, then finds nothing left to do.
  auto lock = db.Query("SELECT GET_LOCK('roster_migrate', 60)");
  if (!lock) return lock.error();
  if (lock->empty() || lock->front().Int(0) != 1) return Error::Temporary("another migration holds the lock");
  auto unlock = [&db] { (void)db.Query("SELECT RELEASE_LOCK('roster_migrate')"); };

  MigrationReport report;
  auto current = CurrentSchemaVersion(db);
  if (!current) {
    unlock();
    return current.error();
  }
  report.from = report.to = *current;
  if (*current > LatestSchemaVersion()) {
    unlock();
    return Error::Conflict("database schema version " + std::to_string(*current) +
                           " is newer than this rosterctl (" + std::to_string(LatestSchemaVersion()) +
                           "): upgrade roster before using it on this database");
  }
  for (const Migration& m : Migrations()) {
    if (m.version <= *current) continue;
    for (const std::string& statement : SplitSqlStatements(m.sql)) {
      auto r = db.Execute(statement);
      if (!r) {
        unlock();
        return Error{r.error().kind, "migration " + std::to_string(m.version) + "-" + m.name + ": " +
                                         r.error().message, r.error().db_code};
      }
    }
    auto rec = db.Execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(6))",
                          {int64_t{m.version}, std::string(m.name)});
    if (!rec) {
      unlock();
      return rec.error();
    }
    char num[8];
    snprintf(num, sizeof num, "%03d", m.version);
    report.applied.push_back(std::string(num) + "-" + m.name);
    report.to = m.version;
  }
  unlock();
  return report;
}

Status CreateDatabase(Db& setup_db, const std::string& name) {
  ROSTER_TRY(CheckSqlName(name, "db_name", false));
  auto r = setup_db.Execute("CREATE DATABASE IF NOT EXISTS `" + name +
                            "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  if (!r) return r.error();
  return Status::Ok();
}

namespace {

// sql/roles.sql split by "-- role NAME" markers.
std::map<std::string, std::vector<std::string>> RoleSections() {
  std::map<std::string, std::string> text;
  std::string current;
  std::string all = RolesSql();
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    std::string line = all.substr(pos, end - pos);
    pos = end + 1;
    if (line.compare(0, 8, "-- role ") == 0) {
      current = line.substr(8);
      continue;
    }
    if (!current.empty()) text[current] += line + "\n";
  }
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [role, body] : text) out[role] = SplitSqlStatements(body);
  return out;
}

std::string Substitute(std::string s, const std::string& token, const std::string& value) {
  for (size_t p = s.find(token); p != std::string::npos; p = s.find(token, p + value.size()))
    s.replace(p, token.size(), value);
  return s;
}

}  // namespace

Result<std::string> NativePasswordHash(std::string_view password) {
  // mysql_native_password: '*' and upper-case hex of SHA1(SHA1(password)).
  unsigned char once[SHA_DIGEST_LENGTH], twice[SHA_DIGEST_LENGTH];
  unsigned int length = 0;
  if (EVP_Digest(password.data(), password.size(), once, &length, EVP_sha1(), nullptr) != 1 ||
      length != SHA_DIGEST_LENGTH ||
      EVP_Digest(once, sizeof once, twice, &length, EVP_sha1(), nullptr) != 1 || length != SHA_DIGEST_LENGTH) {
    OPENSSL_cleanse(once, sizeof once);
    return Error::Permanent("SHA-1 is not available from libcrypto");
  }
  OPENSSL_cleanse(once, sizeof once);
  static const char kHex[] = "0123456789ABCDEF";
  std::string hash = "*";
  for (unsigned char c : twice) {
    hash += kHex[c >> 4];
    hash += kHex[c & 15];
  }
  return hash;
}

Result<std::vector<RoleReport>> ApplyRoles(Db& setup_db, const Config& config) {
  const std::string db_name = config.GetString("db_name");
  ROSTER_TRY(CheckSqlName(db_name, "db_name", false));
  std::vector<std::string> hosts = config.GetList("db_role_hosts");
  if (hosts.empty()) return Error::Invalid("db_role_hosts is empty");
  for (const std::string& h : hosts) ROSTER_TRY(CheckSqlName(h, "db_role_hosts entry", true));

  auto sections = RoleSections();
  std::vector<RoleReport> reports;
  for (const char* role : {"auth", "dict", "policy", "admin", "api"}) {
    RoleReport report{role, config.GetString(std::string(role) + "_db_user"), ""};
    const std::string& password = config.GetString(std::string(role) + "_db_password");
    ROSTER_TRY(CheckSqlName(report.user, (std::string(role) + "_db_user").c_str(), false));
    if (password.empty()) {
      report.status = std::string("skipped: ") + role + "_db_password is not set";
      reports.push_back(report);
      continue;
    }
    // Only the hash reaches the server, in the DDL text: a password sent even
    // as a bound parameter would be kept by a general or audit log.
    auto hash = NativePasswordHash(password);
    if (!hash) return hash.error();

    for (const std::string& host : hosts) {
      std::string user = "'" + report.user + "'@'" + host + "'";
      for (const std::string& ddl : {"CREATE USER IF NOT EXISTS " + user + " IDENTIFIED BY PASSWORD '" + *hash + "'",
                                     "ALTER USER " + user + " IDENTIFIED BY PASSWORD '" + *hash + "'",
                                     "REVOKE ALL PRIVILEGES, GRANT OPTION FROM " + user}) {
        auto r = setup_db.Execute(ddl);
        if (!r) return Error{r.error().kind, "role " + report.user + ": " + r.error().message, r.error().db_code};
      }
      for (const std::string& grant : sections[role]) {
        std::string statement = Substitute(Substitute(grant, "{db}", "`" + db_name + "`"), "{user}", user);
        auto r = setup_db.Execute(statement);
        if (!r) return Error{r.error().kind, "role " + report.user + ": " + r.error().message, r.error().db_code};
      }
    }
    report.status = "granted for " + config.GetString("db_role_hosts");
    reports.push_back(report);
  }
  return reports;
}

}  // namespace roster
