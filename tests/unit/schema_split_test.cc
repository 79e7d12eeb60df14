// Tests of the migration file splitter and the compiled-in migrations.
#include <gtest/gtest.h>

#include "admin/schema.h"
#include "sql/embedded_sql.h"

namespace roster {
namespace {

TEST(SchemaSplit, StatementsEndAtSemicolonLineEnd) {
  auto s = SplitSqlStatements("-- comment\nCREATE TABLE a (\n  x INT -- inline kept\n);\n\n  -- more\nDROP x;  \n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], "CREATE TABLE a (\n  x INT -- inline kept\n)");
  EXPECT_EQ(s[1], "DROP x");
}

TEST(SchemaSplit, MigrationsAreOrderedAndNonEmpty) {
  int previous = 0;
  for (const Migration& m : Migrations()) {
    EXPECT_EQ(m.version, previous + 1) << m.name;
    previous = m.version;
    EXPECT_FALSE(SplitSqlStatements(m.sql).empty());
  }
  EXPECT_EQ(LatestSchemaVersion(), previous);
}

TEST(SchemaSplit, NamesQuotedIntoDdlAreChecked) {
  EXPECT_TRUE(CheckSqlName("roster_auth", "u", false).ok());
  EXPECT_FALSE(CheckSqlName("a'b", "u", false).ok());
  EXPECT_FALSE(CheckSqlName("a`b", "u", true).ok());
  EXPECT_FALSE(CheckSqlName("", "u", false).ok());
  EXPECT_TRUE(CheckSqlName("10.0.%", "h", true).ok());
  EXPECT_FALSE(CheckSqlName("10.0.%", "h", false).ok());
}

// Role passwords reach the server only as this hash (mysql_native_password).
TEST(SchemaSplit, NativePasswordHashIsTheServersFormat) {
  EXPECT_EQ(*NativePasswordHash("secret"), "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7");
  EXPECT_EQ(*NativePasswordHash(""), "*BE1BDEC0AA74B4DCB079943E70528096CCA985F8");
}

}  // namespace
}  // namespace roster
