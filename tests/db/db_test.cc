// Tests of the SQL access layer against a real MariaDB: prepared statements,
// statement reuse, error classification, reconnect, failover, timeouts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>

#include "common/db.h"
#include "tests/db/mariadb_fixture.h"

namespace roster::test {
namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override { MariaDb::Get().Truncate(); }
  MariaDb& server() { return MariaDb::Get(); }
  DbSettings AdminSettings() {
    auto s = DbSettings::FromConfig(server().config(), DbRole::kAdmin);
    EXPECT_TRUE(s.ok());
    return *s;
  }
};

TEST_F(DbTest, QueryBindsEveryParameterType) {
  auto db = server().Connect(DbRole::kAdmin);
  auto rows = db->Query("SELECT ?, ?, ?, ?", {std::string("a'b\"c\\d;--"), int64_t{-5}, uint64_t{UINT64_MAX}, nullptr});
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].String(0), "a'b\"c\\d;--");
  EXPECT_EQ((*rows)[0].Int(1), -5);
  EXPECT_EQ((*rows)[0].Uint(2), UINT64_MAX);
  EXPECT_TRUE((*rows)[0].IsNull(3));
}

TEST_F(DbTest, StatementsArePreparedOncePerConnection) {
  auto db = server().Connect(DbRole::kAdmin);
  auto prepares = [&]() {
    auto r = db->Query(
        "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'");
    EXPECT_TRUE(r.ok());
    return r->front().Uint(0);
  };
  ASSERT_TRUE(db->Query("SELECT 1 + ?", {int64_t{1}}).ok());
  uint64_t before = prepares();
  for (int i = 0; i < 20; ++i) {
    auto r = db->Query("SELECT 1 + ?", {int64_t{i}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->front().Int(0), 1 + i);
  }
  EXPECT_EQ(prepares(), before);  // the status query itself was prepared before `before` was read
}

TEST_F(DbTest, ExecuteReportsAffectedRowsAndConflicts) {
  auto db = server().Connect(DbRole::kAdmin);
  auto a = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("x.example")});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 1u);
  auto dup = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("x.example")});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::kConflict);
  auto none = db->Execute("UPDATE domain SET active = 0 WHERE name = ?", {std::string("nothing.example")});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

// QueryOne: a lookup by a unique key answers its row, or kNotFound with the
// caller's message; a statement that names several rows is a fault.
TEST_F(DbTest, QueryOneAnswersOneRowOrNotFound) {
  auto db = server().Connect(DbRole::kAdmin);
  ASSERT_TRUE(db->Execute("INSERT INTO domain (name) VALUES ('a.example'), ('b.example')").ok());
  auto one =
      db->QueryOne("SELECT name, active FROM domain WHERE name = ?", {std::string("b.example")}, "no such domain");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->String(0), "b.example");
  EXPECT_TRUE(one->Bool(1));
  auto none = db->QueryOne("SELECT name FROM domain WHERE name = ?", {std::string("c.example")}, "no such domain: c");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(none.error().message, "no such domain: c");
  auto two = db->QueryOne("SELECT name FROM domain ORDER BY name", {}, "none");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().kind, ErrorKind::kPermanent);
  auto bad = db->QueryOne("SELECT name FROM no_such_table", {}, "none");  // a driver error stays what it is
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().db_code, 1146);
}

TEST_F(DbTest, BadSqlIsPermanent) {
  auto db = server().Connect(DbRole::kAdmin);
  auto r = db->Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermanent);
  EXPECT_EQ(r.error().db_code, 1146);
}

TEST_F(DbTest, StrictModeRefusesOverlongValues) {
  auto db = server().Connect(DbRole::kAdmin);
  auto r = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string(300, 'a')});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermanent);
}

TEST_F(DbTest, TransactionRollsBackOnError) {
  auto db = server().Connect(DbRole::kAdmin);
  Status s = db->Transaction([&]() -> Status {
    auto r = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("rolled.example")});
    if (!r) return r.error();
    return Error::Invalid("changed my mind");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "changed my mind");
  auto rows = db->Query("SELECT COUNT(*) FROM domain WHERE name = 'rolled.example'");
  EXPECT_EQ(rows->front().Uint(0), 0u);
  Status ok = db->Transaction([&]() -> Status {
    auto r = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("kept.example")});
    return r ? Status::Ok() : Status(r.error());
  });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM domain WHERE name = 'kept.example'")->front().Uint(0), 1u);
}

// A transaction inside another is part of it: the inner one's success
// commits nothing, and the outer one's failure rolls both back (a START
// TRANSACTION inside would have committed the outer's work so far).
TEST_F(DbTest, ANestedTransactionIsPartOfTheOuterOne) {
  auto db = server().Connect(DbRole::kAdmin);
  Status s = db->Transaction([&]() -> Status {
    auto r = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("outer.example")});
    if (!r) return r.error();
    Status inner = db->Transaction([&]() -> Status {
      auto i = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("inner.example")});
      return i ? Status::Ok() : Status(i.error());
    });
    if (!inner) return inner;
    EXPECT_TRUE(db->in_transaction());
    return Error::Invalid("changed my mind");
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM domain WHERE name IN ('outer.example', 'inner.example')")->front().Uint(0),
            0u);
}

TEST_F(DbTest, StreamingStopsEarly) {
  auto db = server().Connect(DbRole::kAdmin);
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(db->Execute("INSERT INTO domain (name) VALUES (?)", {"d" + std::to_string(i) + ".example"}).ok());
  int seen = 0;
  Status s = db->QueryEach("SELECT name FROM domain ORDER BY name", {}, [&](const DbRow&) { return ++seen < 10; });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(seen, 10);
  // The connection is usable afterwards.
  EXPECT_EQ(db->Query("SELECT COUNT(*) FROM domain")->front().Uint(0), 50u);
}

TEST_F(DbTest, WrongPasswordIsPermanentAccessDenied) {
  DbSettings s = AdminSettings();
  s.password = "wrong";
  Db db(s);
  auto r = db.Query("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(r.error().message.find("Access denied"), std::string::npos) << r.error().message;
}

TEST_F(DbTest, UnreachableServerIsTemporary) {
  DbSettings s = AdminSettings();
  s.endpoints = {*ParseDbEndpoint("/nonexistent/mysqld.sock"), *ParseDbEndpoint("127.0.0.1:1")};
  Db db(s);
  auto r = db.Query("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTemporary) << r.error().message;
  EXPECT_NE(r.error().message.find("/nonexistent/mysqld.sock"), std::string::npos);
  EXPECT_NE(r.error().message.find("127.0.0.1:1"), std::string::npos);
}

TEST_F(DbTest, FailsOverToTheNextHost) {
  DbSettings s = AdminSettings();
  s.endpoints.insert(s.endpoints.begin(), *ParseDbEndpoint("/nonexistent/mysqld.sock"));
  Db db(s);
  auto r = db.Query("SELECT 1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(db.Describe().find(server().socket()), std::string::npos) << db.Describe();
}

TEST_F(DbTest, ReadOnlyServerIsTemporary) {
  auto root_settings = DbSettings::FromConfig(server().config(), DbRole::kSetup);
  Db root(*root_settings);
  ASSERT_TRUE(root.Execute("SET GLOBAL read_only = 1").ok());
  auto db = server().Connect(DbRole::kAdmin);
  auto r = db->Execute("INSERT INTO domain (name) VALUES (?)", {std::string("ro.example")});
  ASSERT_TRUE(root.Execute("SET GLOBAL read_only = 0").ok());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTemporary) << r.error().message;
  EXPECT_EQ(r.error().db_code, 1290);
}

TEST_F(DbTest, ServerDownIsTemporaryAndReconnectsAfterRestart) {
  auto db = server().Connect(DbRole::kAdmin);
  ASSERT_TRUE(db->Query("SELECT 1").ok());
  server().Stop();
  auto down = db->Query("SELECT 1");
  auto down_write = db->Execute("INSERT INTO domain (name) VALUES ('down.example')");
  server().Start();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::kTemporary) << down.error().message;
  ASSERT_FALSE(down_write.ok());
  EXPECT_EQ(down_write.error().kind, ErrorKind::kTemporary) << down_write.error().message;
  // The same Db object works again: no restart of the caller needed.
  auto up = db->Query("SELECT 1");
  EXPECT_TRUE(up.ok()) << up.error().message;
}

TEST_F(DbTest, StaleConnectionIsRetriedForReads) {
  auto db = server().Connect(DbRole::kAdmin);
  ASSERT_TRUE(db->Query("SELECT 1").ok());
  server().Stop();
  server().Start();
  // The old connection died with the server; a read reconnects transparently.
  auto r = db->Query("SELECT 2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->front().Int(0), 2);
}

// A server restart between two writes on an idle connection: the second write
// is applied exactly once, whether the idle check catches the dead connection
// (a ping first) or the write itself finds it gone (over a unix socket the
// client cannot even send it: 2006, retried on a fresh connection).
TEST_F(DbTest, WriteAfterARestartOnAnIdleConnectionIsAppliedOnce) {
  for (auto idle_check : {std::chrono::milliseconds(0), std::chrono::milliseconds(3600 * 1000)}) {
    SCOPED_TRACE("idle_check " + std::to_string(idle_check.count()) + " ms");
    server().Truncate();
    DbSettings s = AdminSettings();
    s.idle_check = idle_check;
    Db db(s);
    ASSERT_TRUE(db.Execute("INSERT INTO domain (name) VALUES ('before.example')").ok());
    server().Stop();
    server().Start();
    auto after = db.Execute("INSERT INTO unit (name, host) VALUES (?, 'h')", {std::string("after")});
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ(*after, 1u);
    EXPECT_EQ(db.Query("SELECT COUNT(*) FROM unit WHERE name = 'after'")->front().Uint(0), 1u);
  }
}

// A write sent to a server that hangs before answering may run or not: the
// error says so (outcome_unknown), and Execute does not repeat it.
TEST_F(DbTest, WriteWhoseAnswerNeverCameHasAnUnknownOutcome) {
  DbSettings s = AdminSettings();
  s.idle_check = std::chrono::hours(1);  // no ping first: the statement itself goes out
  auto db = std::make_unique<Db>(s);
  ASSERT_TRUE(db->Execute("INSERT INTO domain (name) VALUES ('count.example')").ok());
  const char* increment = "UPDATE domain SET default_max_messages = default_max_messages + 1 WHERE name = ?";
  // Prepared now, so that below only the execution goes out. (A statement
  // the server cannot prepare has not run: preparing it is retried.)
  ASSERT_EQ(*db->Execute(increment, {std::string("none.example")}), 0u);
  server().Pause();
  auto r = db->Execute(increment, {std::string("count.example")});
  server().Resume();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTemporary) << r.error().message;
  EXPECT_TRUE(r.error().outcome_unknown) << r.error().message;
  // The server got the statement before it hung and runs it once it goes on:
  // exactly once, never twice.
  uint64_t value = 99;
  for (int i = 0; i < 100 && value != 1; ++i) {
    auto rows = db->Query("SELECT default_max_messages FROM domain WHERE name = 'count.example'");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    value = rows->front().Uint(0);
    if (value != 1) usleep(20000);
  }
  EXPECT_EQ(value, 1u);
}

// A failure the server reports itself is not "unknown", and a refused write
// is not retried.
TEST_F(DbTest, ServerErrorsHaveAKnownOutcome) {
  auto db = server().Connect(DbRole::kAdmin);
  auto r = db->Execute("INSERT INTO no_such_table VALUES (1)");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().outcome_unknown);
  ASSERT_TRUE(db->Execute("INSERT INTO domain (name) VALUES ('d.example')").ok());
  auto dup = db->Execute("INSERT INTO domain (name) VALUES ('d.example')");
  ASSERT_FALSE(dup.ok());
  EXPECT_FALSE(dup.error().outcome_unknown);
}

// An idempotent write is retried once after an unknown outcome; a repair that
// cannot run while the server is down is kept and runs once it is back.
TEST_F(DbTest, IdempotentWritesRetryAndRepairsWaitForTheServer) {
  DbSettings s = AdminSettings();
  s.idle_check = std::chrono::hours(1);  // no ping: the write itself meets the dead connection
  Db db(s);
  ASSERT_TRUE(db.Execute("INSERT INTO domain (name) VALUES ('idem.example')").ok());
  server().Stop();
  auto down = db.ExecuteEventually("UPDATE domain SET transport = 'repaired' WHERE name = ?",
                                   {std::string("idem.example")});
  EXPECT_FALSE(down.ok());
  EXPECT_EQ(db.queued(), 1u);
  // The same repair again is kept once.
  EXPECT_FALSE(db.ExecuteEventually("UPDATE domain SET transport = 'repaired' WHERE name = ?",
                                    {std::string("idem.example")})
                   .ok());
  EXPECT_EQ(db.queued(), 1u);
  server().Start();
  auto rows = db.Query("SELECT transport FROM domain WHERE name = 'idem.example'");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->front().String(0), "repaired");
  EXPECT_EQ(db.queued(), 0u);
  auto again = db.ExecuteIdempotent("UPDATE domain SET transport = 'x' WHERE name = ?", {std::string("idem.example")});
  ASSERT_TRUE(again.ok()) << again.error().message;
}

// The id of the last insert lives and dies with its connection.
TEST_F(DbTest, LastInsertIdIsNeverAnotherConnections) {
  auto db = server().Connect(DbRole::kAdmin);
  ASSERT_TRUE(db->Execute("INSERT INTO domain (name) VALUES ('id.example')").ok());
  auto id = db->LastInsertId();
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_GT(*id, 0u);
  server().Stop();
  server().Start();
  auto lost = db->LastInsertId();
  ASSERT_FALSE(lost.ok()) << *lost;
  EXPECT_EQ(lost.error().kind, ErrorKind::kTemporary);
}

TEST_F(DbTest, HungServerTimesOutAsTemporary) {
  auto db = server().Connect(DbRole::kAdmin);
  ASSERT_TRUE(db->Query("SELECT 1").ok());
  server().Pause();
  auto r = db->Query("SELECT 3");
  server().Resume();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTemporary) << r.error().message;
  EXPECT_TRUE(db->Query("SELECT 4").ok());
}

TEST(DbEndpoint, Parses) {
  EXPECT_EQ(ParseDbEndpoint("/run/mysqld/mysqld.sock")->socket, "/run/mysqld/mysqld.sock");
  auto tcp = ParseDbEndpoint("db1.example:3307");
  EXPECT_EQ(tcp->host, "db1.example");
  EXPECT_EQ(tcp->port, 3307u);
  auto v6 = ParseDbEndpoint("[::1]:3308");
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3308u);
  EXPECT_EQ(ParseDbEndpoint("db2")->port, 3306u);
  EXPECT_FALSE(ParseDbEndpoint("db:0").ok());
  EXPECT_FALSE(ParseDbEndpoint("db:99999").ok());
  EXPECT_FALSE(ParseDbEndpoint("d b").ok());
  EXPECT_FALSE(ParseDbEndpoint("[::1").ok());
}

}  // namespace
}  // namespace roster::test
