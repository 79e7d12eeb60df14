// schema.h: creating and upgrading roster's database: the migrations of
// sql/migrations and the roles of sql/roles.sql. Used by `rosterctl db ...`.
//
// Trusts: the SQL compiled in from sql/ (it is ours); names from the config
// (database, role users, role hosts) are checked against a strict character
// set before they are quoted into DDL, because DDL cannot take parameters.
// Role passwords never appear in SQL text: the server hashes them through a
// bound parameter and only the hash is spliced, after its format is checked.
#ifndef ROSTER_ADMIN_SCHEMA_H
#define ROSTER_ADMIN_SCHEMA_H

#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/db.h"
#include "common/result.h"

namespace roster {

// Splits a SQL file into statements ("--" comment lines dropped; a statement
// ends with ';' at the end of a line).
std::vector<std::string> SplitSqlStatements(const std::string& text);

// The version the compiled-in migrations reach.
int LatestSchemaVersion();
// The database's version (0 for an empty database).
Result<int> CurrentSchemaVersion(Db& db);

struct MigrationReport {
  int from = 0;
  int to = 0;
  std::vector<std::string> applied;  // "001-initial", ...
};
// Applies the missing migrations in order under a server-side lock. Refuses
// (kConflict) a database newer than this tool.
Result<MigrationReport> Migrate(Db& db);

// CREATE DATABASE IF NOT EXISTS, with roster's character set.
Status CreateDatabase(Db& setup_db, const std::string& name);

struct RoleReport {
  std::string role;    // "auth"
  std::string user;    // "roster_auth"
  std::string status;  // "created/updated for localhost" or "skipped: ..."
};
// The mysql_native_password hash of a role password ("*" and 40 upper-case
// hex digits), made here so the password itself never reaches the server.
Result<std::string> NativePasswordHash(std::string_view password);
// Creates or updates the five roles and grants them exactly sql/roles.sql.
// Only each password's hash is sent to the server.
Result<std::vector<RoleReport>> ApplyRoles(Db& setup_db, const Config& config);

// Checks a name that will be quoted into DDL.
Status CheckSqlName(const std::string& name, const char* what, bool allow_host_chars);

}  // namespace roster

#endif
