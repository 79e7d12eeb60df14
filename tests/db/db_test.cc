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

// --- Galera's refusals ---------------------------------------------------
// What a Galera node answers (1047 outside the Primary Component, 1213 for a
// certification conflict, 1180 for a commit it could not replicate) is played
// here by a stored function: roster_galera_test.refuse(code, times) raises
// error `code` on its first `times` calls since the test began (counted in a
// MyISAM table, which no rollback undoes), then returns the call's number.
// tests/scale/ meets the real ones on a three-node cluster.
class GaleraErrorsTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    auto settings = DbSettings::FromConfig(server().config(), DbRole::kSetup);
    ASSERT_TRUE(settings.ok());
    root_ = std::make_unique<Db>(*settings);
    for (const char* sql : {
             "CREATE DATABASE IF NOT EXISTS roster_galera_test",
             "CREATE TABLE IF NOT EXISTS roster_galera_test.calls (n INT NOT NULL) ENGINE=MyISAM",
             "DELETE FROM roster_galera_test.calls",
             "CREATE OR REPLACE FUNCTION roster_galera_test.refuse(code INT, times INT) RETURNS INT MODIFIES SQL DATA "
             "BEGIN DECLARE seen INT; INSERT INTO roster_galera_test.calls VALUES (1); "
             "SELECT COUNT(*) INTO seen FROM roster_galera_test.calls; "
             "IF seen <= times THEN SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = code, MESSAGE_TEXT = 'refused'; END IF; "
             "RETURN seen; END",
             "GRANT EXECUTE ON FUNCTION roster_galera_test.refuse TO roster_admin@localhost",
         }) {
      auto r = root_->Execute(sql);
      ASSERT_TRUE(r.ok()) << sql << ": " << r.error().message;
    }
    // A second name for the same server, so that a move to "the next host"
    // shows in Describe().
    alias_ = server().dir() + "/galera-alias.sock";
    unlink(alias_.c_str());
    ASSERT_EQ(symlink(server().socket().c_str(), alias_.c_str()), 0);
  }
  void TearDown() override { unlink(alias_.c_str()); }
  uint64_t Calls() { return root_->Query("SELECT COUNT(*) FROM roster_galera_test.calls")->front().Uint(0); }
  DbSettings TwoHosts() {
    DbSettings s = AdminSettings();
    s.endpoints.push_back(*ParseDbEndpoint(alias_));
    return s;
  }
  std::unique_ptr<Db> root_;
  std::string alias_;
};

// A node outside the Primary Component refuses everything with 1047: a read
// and a write are run once more at once on the next host, the write applied
// once; a refusal there too is a temporary failure, never an answer.
TEST_F(GaleraErrorsTest, ANodeThatIsNotPrimaryIsLeftForTheNextHost) {
  Db db(TwoHosts());
  ASSERT_TRUE(db.Query("SELECT 1").ok());
  EXPECT_EQ(db.Describe().find(alias_), std::string::npos) << db.Describe();
  auto read = db.Query("SELECT roster_galera_test.refuse(1047, 1)");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->front().Uint(0), 2u);
  EXPECT_NE(db.Describe().find(alias_), std::string::npos) << db.Describe();

  auto write = db.Execute("INSERT INTO domain (name) VALUES (CONCAT('np', roster_galera_test.refuse(1047, 3), '.example'))");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(*write, 1u);
  EXPECT_EQ(db.Query("SELECT name FROM domain")->front().String(0), "np4.example");

  auto refused = db.Query("SELECT roster_galera_test.refuse(1047, 1000)");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kTemporary) << refused.error().message;
  EXPECT_EQ(refused.error().db_code, 1047);
  auto refused_write = db.Execute("UPDATE domain SET active = roster_galera_test.refuse(1047, 1000)");
  ASSERT_FALSE(refused_write.ok());
  EXPECT_EQ(refused_write.error().kind, ErrorKind::kTemporary) << refused_write.error().message;
  EXPECT_FALSE(refused_write.error().outcome_unknown);
}

// A certification conflict (1213) rolled the statement back: an autocommit
// write runs again after a short wait, up to kWriteAttempts in all, on the
// same connection; one conflict too many is a temporary failure.
TEST_F(GaleraErrorsTest, CertificationConflictsAreRetried) {
  Db db(AdminSettings());
  const int conflicts = Db::kWriteAttempts - 1;
  auto write = db.Execute("INSERT INTO domain (name) VALUES (CONCAT('cc', roster_galera_test.refuse(1213, ?), '.example'))",
                          {int64_t{conflicts}});
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(Calls(), static_cast<uint64_t>(Db::kWriteAttempts));
  EXPECT_EQ(db.Query("SELECT COUNT(*) FROM domain")->front().Uint(0), 1u);

  ASSERT_TRUE(root_->Execute("DELETE FROM roster_galera_test.calls").ok());
  auto failed = db.Execute("UPDATE domain SET active = roster_galera_test.refuse(1213, 1000)");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(failed.error().db_code, 1213);
  EXPECT_FALSE(failed.error().outcome_unknown);
  EXPECT_EQ(Calls(), static_cast<uint64_t>(Db::kWriteAttempts));

  // A read that met one is asked once more.
  ASSERT_TRUE(root_->Execute("DELETE FROM roster_galera_test.calls").ok());
  auto read = db.Query("SELECT roster_galera_test.refuse(1213, 1)");
  ASSERT_TRUE(read.ok()) << read.error().message;
}

// Inside a transaction a conflict (after a wait) or a refusing node (on the
// next host) reruns the whole body; what the failed attempts wrote is gone.
TEST_F(GaleraErrorsTest, TransactionsRerunAfterAConflictOrARefusal) {
  for (int code : {1213, 1047}) {
    SCOPED_TRACE(code);
    server().Truncate();
    ASSERT_TRUE(root_->Execute("DELETE FROM roster_galera_test.calls").ok());
    Db db(TwoHosts());
    int runs = 0;
    Status s = db.Transaction([&]() -> Status {
      ++runs;
      ROSTER_TRY(db.Execute("INSERT INTO domain (name) VALUES (?)", {"run" + std::to_string(runs) + ".example"}));
      auto r = db.Query("SELECT roster_galera_test.refuse(?, 2)", {int64_t{code}});
      if (!r) return r.error();
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(runs, 3);
    auto names = db.Query("SELECT name FROM domain");
    ASSERT_EQ(names->size(), 1u);
    EXPECT_EQ(names->front().String(0), "run3.example");
  }
  // Never more than kTransactionAttempts runs.
  ASSERT_TRUE(root_->Execute("DELETE FROM roster_galera_test.calls").ok());
  Db db(AdminSettings());
  int runs = 0;
  Status s = db.Transaction([&]() -> Status {
    ++runs;
    auto r = db.Query("SELECT roster_galera_test.refuse(1213, 1000)");
    return r ? Status::Ok() : Status(r.error());
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(runs, Db::kTransactionAttempts);
}

// A commit the node could not replicate (1180) may have been applied by the
// rest of the cluster: its outcome is unknown, and only an idempotent write
// is run again.
TEST_F(GaleraErrorsTest, AWriteThatFailedToReplicateHasAnUnknownOutcome) {
  Db db(TwoHosts());
  ASSERT_TRUE(db.Execute("INSERT INTO domain (name) VALUES ('one.example')").ok());
  auto r = db.Execute("UPDATE domain SET active = roster_galera_test.refuse(1180, 1)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTemporary);
  EXPECT_TRUE(r.error().outcome_unknown) << r.error().message;
  EXPECT_EQ(Calls(), 1u);
  auto again = db.ExecuteIdempotent("UPDATE domain SET active = roster_galera_test.refuse(1180, 2)");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(Calls(), 3u);
}

// db_sync_wait sets Galera's wsrep_sync_wait for each session; 0 leaves the
// server's; out of Galera's range it is a configuration error.
TEST_F(DbTest, SyncWaitIsSetOnEverySession) {
  DbSettings s = AdminSettings();
  s.sync_wait = 1;
  Db db(s);
  auto r = db.Query("SELECT @@SESSION.wsrep_sync_wait");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->front().Uint(0), 1u);
  auto plain = server().Connect(DbRole::kAdmin)->Query("SELECT @@SESSION.wsrep_sync_wait");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->front().Uint(0), 0u);

  for (const char* value : {"16", "-1"}) {
    auto config = Config::ParseText(std::string("db_sync_wait = ") + value + "\nadmin_db_user = a\n", "t.conf",
                                    RosterConfigKeys(), nullptr);
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto settings = DbSettings::FromConfig(*config, DbRole::kAdmin);
    ASSERT_FALSE(settings.ok()) << value;
    EXPECT_NE(settings.error().message.find("db_sync_wait"), std::string::npos);
  }
}

}  // namespace
}  // namespace roster::test
