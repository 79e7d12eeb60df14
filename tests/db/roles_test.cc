// Tests that each role can do what its piece needs and nothing more, on a
// real server with the grants of sql/roles.sql as `rosterctl db init` made them.
#include <gtest/gtest.h>

#include "admin/schema.h"
#include "ops/authn.h"
#include "ops/operations.h"
#include "ops/recovery.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

class RolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
    Stores a(*admin);
    Domain d;
    d.name = "roles.test";
    ASSERT_TRUE(a.AddDomain(d, Actor{"t", "local"}).ok());
    NewMailbox m;
    m.address = "user@roles.test";
    m.password_hash = "{PLAIN}secret";
    ASSERT_TRUE(a.AddMailbox(m, Actor{"t", "local"}).ok());
  }
  static void ExpectDenied(Db& db, const std::string& sql) {
    auto r = db.Query(sql);
    ASSERT_FALSE(r.ok()) << "allowed: " << sql;
    EXPECT_TRUE(r.error().db_code == 1142 || r.error().db_code == 1143 || r.error().db_code == 1044 ||
                r.error().db_code == 1227)
        << sql << ": " << r.error().message;
  }
  static void ExpectDeniedWrite(Db& db, const std::string& sql) {
    auto r = db.Execute(sql);
    ASSERT_FALSE(r.ok()) << "allowed: " << sql;
    EXPECT_TRUE(r.error().db_code == 1142 || r.error().db_code == 1143 || r.error().db_code == 1044 ||
                r.error().db_code == 1227)
        << sql << ": " << r.error().message;
  }
};

TEST_F(RolesTest, PolicyCannotReadPasswordHashes) {
  auto db = MariaDb::Get().Connect(DbRole::kPolicy);
  auto ok = db->Query("SELECT address, active, max_bytes, max_messages, unit FROM mailbox");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->size(), 1u);
  ExpectDenied(*db, "SELECT password_hash FROM mailbox");
  ExpectDenied(*db, "SELECT * FROM mailbox");
  ExpectDeniedWrite(*db, "UPDATE mailbox_usage SET bytes = 0");
  ExpectDeniedWrite(*db, "INSERT INTO last_login (mailbox_id, protocol, ip, logged_at) VALUES (1, 'x', 'x', NOW())");
  ExpectDenied(*db, "SELECT user, password FROM mysql.user");
  EXPECT_TRUE(db->Query("SELECT * FROM subscription").ok());
  EXPECT_TRUE(db->Query("SELECT * FROM last_login").ok());
}

TEST_F(RolesTest, PolicyReadsSendAsGrantsAndCannotChangeThem) {
  auto policy = MariaDb::Get().Connect(DbRole::kPolicy);
  EXPECT_TRUE(policy->Query("SELECT address, mailbox_id, created_at FROM send_as").ok());
  ExpectDeniedWrite(*policy, "INSERT INTO send_as (address, mailbox_id) VALUES ('x@roles.test', 1)");
  ExpectDeniedWrite(*policy, "DELETE FROM send_as");
  ExpectDeniedWrite(*policy, "UPDATE send_as SET address = 'y@roles.test'");
  // The other pieces never see them.
  for (DbRole role : {DbRole::kAuth, DbRole::kDict}) {
    auto db = MariaDb::Get().Connect(role);
    ExpectDenied(*db, "SELECT * FROM send_as");
  }
}

// Outbound limits (migration 007): the policy role counts, suspends and logs
// the suspension, and nothing more.
TEST_F(RolesTest, PolicyCountsAndSuspendsButChangesNothingElse) {
  auto db = MariaDb::Get().Connect(DbRole::kPolicy);
  OutboundStores o(*db);
  auto counted = o.Count("user@roles.test", 1, BreakerRule{1, 0}, Actor{"roster-policyd", "127.0.0.1"});
  ASSERT_TRUE(counted.ok()) << counted.error().message;
  EXPECT_EQ(counted->verdict, OutboundVerdict::kAdmitted);
  auto tripped = o.Count("user@roles.test", 1, BreakerRule{1, 0}, Actor{"roster-policyd", "127.0.0.1"});
  ASSERT_TRUE(tripped.ok()) << tripped.error().message;
  EXPECT_TRUE(tripped->tripped);  // UPDATE of the suspension columns, INSERT into change_log
  EXPECT_TRUE(db->Query("SELECT send_per_hour, send_suspended_at, send_suspended_reason FROM mailbox").ok());
  EXPECT_TRUE(db->Query("SELECT * FROM outbound_counter").ok());
  ExpectDeniedWrite(*db, "UPDATE mailbox SET send_per_hour = 1000");
  ExpectDeniedWrite(*db, "UPDATE mailbox SET active = 1");
  ExpectDeniedWrite(*db, "UPDATE domain SET default_send_per_hour = 1000");
  ExpectDeniedWrite(*db, "DELETE FROM outbound_counter");
  ExpectDeniedWrite(*db, "DELETE FROM change_log");
  ExpectDeniedWrite(*db, "UPDATE change_log SET actor = 'x'");
  ExpectDenied(*db, "SELECT * FROM change_log");
  ExpectDenied(*db, "SELECT password_hash FROM mailbox");
  // The other roles cannot touch them.
  auto dict = MariaDb::Get().Connect(DbRole::kDict);
  ExpectDeniedWrite(*dict, "UPDATE outbound_counter SET hour_messages = 0");
  ExpectDeniedWrite(*dict, "UPDATE mailbox SET send_suspended_at = NULL");
  auto auth = MariaDb::Get().Connect(DbRole::kAuth);
  ExpectDenied(*auth, "SELECT * FROM outbound_counter");
  ExpectDeniedWrite(*auth, "UPDATE mailbox SET send_suspended_at = NULL");
}

TEST_F(RolesTest, DictWritesOnlyUsageAndLastLogin) {
  auto db = MariaDb::Get().Connect(DbRole::kDict);
  Stores a(*db);
  EXPECT_TRUE(a.AddToUsageCounter("user@roles.test", UsageCounter::kBytes, 10).ok());
  EXPECT_TRUE(a.SetUsageCounter("user@roles.test", UsageCounter::kMessages, 5).ok());
  EXPECT_TRUE(a.SetUsageCounter("user@roles.test", UsageCounter::kBytes, std::nullopt).ok());
  EXPECT_TRUE(a.GetUsageCounter("user@roles.test", UsageCounter::kMessages).ok());
  EXPECT_TRUE(a.RecordLastLogin("user@roles.test", "imap", "127.0.0.2").ok());
  ExpectDeniedWrite(*db, "UPDATE mailbox SET password_hash = '{PLAIN}x'");
  ExpectDeniedWrite(*db, "UPDATE mailbox SET active = 0");
  ExpectDeniedWrite(*db, "DELETE FROM mailbox");
  ExpectDeniedWrite(*db, "DELETE FROM mailbox_usage");
  ExpectDenied(*db, "SELECT password_hash FROM mailbox");
  ExpectDenied(*db, "SELECT * FROM subscription");
  ExpectDeniedWrite(*db, "INSERT INTO domain (name) VALUES ('evil.test')");
}

TEST_F(RolesTest, AuthChangesOnlyTheHash) {
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  auto m = a.FindMailboxForLogin("user@roles.test");
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto replaced = a.ReplacePasswordHash("user@roles.test", "{PLAIN}secret", "{PLAIN}rehashed");
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_TRUE(*replaced);
  ExpectDeniedWrite(*db, "UPDATE mailbox SET active = 1");
  ExpectDeniedWrite(*db, "UPDATE mailbox SET max_bytes = 0");
  ExpectDeniedWrite(*db, "UPDATE domain SET active = 1");
  ExpectDeniedWrite(*db, "DELETE FROM mailbox");
  ExpectDenied(*db, "SELECT * FROM mailbox_usage");
  ExpectDenied(*db, "SELECT * FROM last_login");
  ExpectDenied(*db, "SELECT * FROM change_log");
}

// Migration 005: the passdb reads app passwords and the access columns,
// writes only an app password's last use and the login history (migration
// 008: appends and prunes, never changes an entry).
TEST_F(RolesTest, AuthReadsAppPasswordsAndWritesOnlyTheirUseAndTheHistory) {
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  AppPasswordStores store(*admin);
  NewAppPassword n;
  n.address = "user@roles.test";
  n.label = "phone";
  auto made = store.Add(n, Actor{"t", "local"});
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  auto m = a.FindMailboxForLogin("user@roles.test", SelectorOf(made->second));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->app_passwords.size(), 1u);
  AppPasswordStores auth(*db);
  EXPECT_TRUE(auth.TouchAppPassword(made->first, "").ok());
  EXPECT_TRUE(auth.RecordLogin(m->id, "imap", "", made->first, 20).ok());
  EXPECT_TRUE(auth.RecordLogin(m->id, "imap", "", 0, 20).ok());
  EXPECT_TRUE(auth.RecordLogins({LoginEntry{m->id, 3, "smtp", "", made->first}, LoginEntry{m->id, 4, "imap", "", 0}}, 20)
                  .ok());
  // seq 40 of a history of 2 prunes (the DELETE of seq <= 38) before it appends.
  EXPECT_TRUE(auth.RecordLogins({LoginEntry{m->id, 40, "imap", "", 0}}, 2).ok());
  auto kept = admin->Query("SELECT COUNT(*), MIN(seq) FROM login_history WHERE mailbox_id = ?", {m->id});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->front().Uint(0), 1u);
  EXPECT_EQ(kept->front().Uint(1), 40u);
  ExpectDeniedWrite(*db, "UPDATE login_history SET protocol = 'pop3'");
  ExpectDeniedWrite(*db, "UPDATE app_password SET secret_hash = UNHEX(REPEAT('00', 32))");
  ExpectDeniedWrite(*db, "UPDATE app_password SET protocols = 'imap,pop3,smtp,sieve,webmail'");
  ExpectDeniedWrite(*db, "UPDATE app_password SET expires_at = NULL");
  ExpectDeniedWrite(*db, "DELETE FROM app_password");
  ExpectDeniedWrite(*db, "INSERT INTO app_password (mailbox_id, slot, selector, secret_hash, label, protocols) "
                         "VALUES (1, 1, 'AAAA', UNHEX(REPEAT('00', 32)), 'x', 'imap')");
  ExpectDenied(*db, "SELECT label FROM app_password");
  ExpectDeniedWrite(*db, "UPDATE mailbox SET login_protocols = NULL");
  ExpectDeniedWrite(*db, "UPDATE mailbox SET main_password_protocols = NULL");
  // The policy and dict roles see none of it.
  for (DbRole role : {DbRole::kPolicy, DbRole::kDict}) {
    auto other = MariaDb::Get().Connect(role);
    ExpectDenied(*other, "SELECT secret_hash FROM app_password");
    ExpectDeniedWrite(*other, "DELETE FROM login_history");
  }
}

TEST_F(RolesTest, AdminOwnsTheSchemaButNotTheServer) {
  auto db = MariaDb::Get().Connect(DbRole::kAdmin);
  EXPECT_TRUE(db->Execute("CREATE TABLE IF NOT EXISTS scratch (x INT)").ok());
  EXPECT_TRUE(db->Execute("DROP TABLE scratch").ok());
  ExpectDeniedWrite(*db, "CREATE USER 'intruder'@'localhost'");
  ExpectDenied(*db, "SELECT user FROM mysql.user");
}

// roster-apid's role (roster_api): every kind of operation of ops/ and
// every sign-in run on it, whatever tables they touch; no DDL, no users, no
// grants, and the change log only grows.
TEST_F(RolesTest, ApiRunsTheOperationsButNeverTheSchemaOrTheServer) {
  auto db = MariaDb::Get().Connect(DbRole::kApi);
  auto settings = ops::OpsSettings::FromConfig(MariaDb::Get().config(), MariaDb::Get().config_path());
  ASSERT_TRUE(settings.ok());
  ops::NoAuthCacheFlush flusher;
  ops::SystemClock clock;
  ops::Context ctx;
  ctx.principal = ops::Principal::MailAdmin("api-test");
  ctx.actor = Actor{"api-test", "192.0.2.1"};
  ctx.db = db.get();
  ctx.flusher = &flusher;
  ctx.clock = &clock;
  ctx.settings = &*settings;
  const std::pair<const char*, const char*> steps[] = {
      {"domain.add", R"({"domain":"api.test"})"},
      {"mailbox.add", R"({"address":"u@api.test","password":"pw-u"})"},
      {"mailbox.add", R"({"address":"v@api.test","password":"pw-v"})"},
      {"mailbox.set_password", R"({"address":"u@api.test","password":"pw-2"})"},
      {"mailbox.set_quota", R"({"address":"u@api.test","max_bytes":1000})"},
      {"mailbox.disable", R"({"address":"u@api.test"})"},
      {"mailbox.enable", R"({"address":"u@api.test"})"},
      {"mailbox.set_access", R"({"address":"u@api.test","protocols":"imap,pop3,webmail","force":true})"},
      {"mailbox.show", R"({"address":"u@api.test"})"},
      {"mailbox.list", R"({"domain":"api.test"})"},
      {"mailbox.logins", R"({"address":"u@api.test"})"},
      {"mailbox.last_logins", "{}"},
      {"mailbox.inactive", R"({"days":1})"},
      {"app_password.add", R"({"address":"u@api.test","label":"phone"})"},
      {"app_password.list", R"({"address":"u@api.test"})"},
      {"sub.add", R"({"address":"alias@api.test","recipient":"u@api.test"})"},
      {"sub.del", R"({"address":"alias@api.test","recipient":"u@api.test"})"},
      {"send_as.grant", R"({"address":"v@api.test","login":"u@api.test"})"},
      {"send_as.revoke", R"({"address":"v@api.test","login":"u@api.test"})"},
      {"outbound.set", R"({"address":"u@api.test","per_hour":5})"},
      {"outbound.set_defaults", R"({"domain":"api.test","per_hour":50})"},
      {"outbound.suspend", R"({"address":"u@api.test"})"},
      {"outbound.lift", R"({"address":"u@api.test"})"},
      {"outbound.suspended", "{}"},
      {"unit.set", R"({"name":"u2","host":"10.0.0.2","imap_port":1143})"},
      {"unit.set", R"({"name":"u2","host":"10.0.0.3"})"},
      {"mailbox.set_unit", R"({"address":"u@api.test","unit":"u2"})"},
      {"unit.list", "{}"},
      {"mailbox.set_unit", R"({"address":"u@api.test","unit":""})"},
      {"unit.del", R"({"name":"u2"})"},
      {"log.list", "{}"},
      {"admin.add", R"({"name":"da","kind":"domain","domains":["api.test"],"password":"pw-da"})"},
      {"admin.set_password", R"({"name":"da","password":"pw-da2"})"},
      {"admin.set_totp", R"({"name":"da","enable":true})"},
      {"admin.set_totp", R"({"name":"da","enable":false})"},
      {"admin.disable", R"({"name":"da"})"},
      {"admin.enable", R"({"name":"da"})"},
      {"admin.unlock", R"({"name":"da"})"},
      {"admin.list", "{}"},
      {"api_key.add", R"({"admin":"da","domains":["api.test"]})"},
      {"api_key.list", R"({"admin":"da"})"},
      {"mailbox.del", R"({"address":"v@api.test"})"},
      {"domain.disable", R"({"domain":"api.test"})"},
      {"domain.enable", R"({"domain":"api.test"})"},
  };
  for (const auto& [name, input] : steps) {
    auto r = ops::Run(ctx, name, Json::parse(input));
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().message;
  }
  // The sign-ins: a failure counted, a key's last use, a success.
  auto key = ops::Run(ctx, "api_key.add", Json{{"admin", "da"}});
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(ops::AuthenticateAdmin(*db, *settings, clock, {"da", "wrong", "", "192.0.2.1"}).error().kind,
            ErrorKind::kUnauthenticated);
  EXPECT_TRUE(ops::AuthenticateAdmin(*db, *settings, clock, {"da", "pw-da2", "", "192.0.2.1"}).ok());
  EXPECT_TRUE(ops::AuthenticateApiKey(*db, clock, (*key)["key"].get<std::string>(), "192.0.2.1").ok());
  EXPECT_TRUE(ops::AuthenticateMailbox(*db, *settings, clock, {"u@api.test", "pw-2", "", "192.0.2.1"}).ok());
  for (const auto& [name, input] : {std::pair<const char*, const char*>{"api_key.revoke", R"({"admin":"da","id":1})"},
                                    {"admin.del", R"({"name":"da"})"},
                                    {"domain.del", R"({"domain":"api.test","force":true})"}}) {
    auto r = ops::Run(ctx, name, Json::parse(input));
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().message;
  }
  ExpectDeniedWrite(*db, "CREATE TABLE scratch (x INT)");
  ExpectDeniedWrite(*db, "ALTER TABLE mailbox ADD COLUMN x INT");
  ExpectDeniedWrite(*db, "DROP TABLE api_key");
  ExpectDeniedWrite(*db, "TRUNCATE TABLE change_log");
  ExpectDeniedWrite(*db, "CREATE USER 'intruder'@'localhost'");
  ExpectDeniedWrite(*db, "GRANT SELECT ON roster.mailbox TO 'roster_dict'@'localhost'");
  ExpectDeniedWrite(*db, "UPDATE change_log SET actor = 'someone else'");
  ExpectDeniedWrite(*db, "DELETE FROM change_log");
  ExpectDeniedWrite(*db, "DELETE FROM schema_version");
  ExpectDenied(*db, "SELECT user FROM mysql.user");
}

// Issue 15's self-service operations on roster-apid's role: the recovery
// (question, wrong answers, the lock, an administrator's unlock, the link and
// its use) and applications (submitted, approved, rejected); applications
// are never deleted, the recovery rows only with their mailbox.
namespace {
class KeepMail : public ops::Mailer {
 public:
  Status Send(const std::string&, const std::string&, const std::string& body) override {
    last = body;
    return Status::Ok();
  }
  std::string last;
};
}  // namespace

TEST_F(RolesTest, ApiRunsTheSelfServiceOperations) {
  auto db = MariaDb::Get().Connect(DbRole::kApi);
  auto settings = ops::OpsSettings::FromConfig(MariaDb::Get().config(), MariaDb::Get().config_path());
  ASSERT_TRUE(settings.ok());
  settings->public_url = "https://mail.roles.test/";
  ops::NoAuthCacheFlush flusher;
  ops::SystemClock clock;
  KeepMail mailer;
  ops::PublicThrottle throttle(1000, 1000, std::chrono::seconds(60));
  auto run = [&](const ops::Principal& who, const char* name, const Json& input) {
    ops::Context ctx;
    ctx.principal = who;
    ctx.actor = Actor{who.name, "192.0.2.1"};
    ctx.db = db.get();
    ctx.flusher = &flusher;
    ctx.clock = &clock;
    ctx.settings = &*settings;
    ctx.mailer = &mailer;
    ctx.public_throttle = &throttle;
    return ops::Run(ctx, name, input);
  };
  const ops::Principal mail = ops::Principal::MailAdmin("api-test");
  const ops::Principal user = ops::Principal::MailboxUser("user@roles.test");
  const ops::Principal anyone = ops::Principal::Public();
  auto ok = [](const Result<Json>& r, const char* what) {
    EXPECT_TRUE(r.ok()) << what << ": " << r.error().message;
    return r.ok() ? *r : Json();
  };
  ok(run(mail, "mailbox.set_password", Json{{"address", "user@roles.test"}, {"password", "secret"}}), "password");
  ok(run(mail, "domain.set_self_service", Json{{"domain", "roles.test"}, {"applications", "approval"},
                                                {"recovery_mail", true}}), "domain.set_self_service");
  ok(run(mail, "domain.self_service", Json{{"domain", "roles.test"}}), "domain.self_service");
  ok(run(user, "recovery.set", Json{{"address", "user@roles.test"}, {"current_password", "secret"},
                                    {"question", "q?"}, {"answer", "a"}, {"recovery_address", "u@else.test"}}),
     "recovery.set");
  ok(run(user, "recovery.show", Json{{"address", "user@roles.test"}}), "recovery.show");
  ok(run(anyone, "recovery.question", Json{{"address", "user@roles.test"}}), "recovery.question");
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(run(anyone, "recovery.reset", Json{{"address", "user@roles.test"}, {"answer", "b"}, {"password", "x"}})
                  .error()
                  .kind,
              ErrorKind::kTemporary);
  ok(run(mail, "recovery.unlock", Json{{"address", "user@roles.test"}}), "recovery.unlock");
  ok(run(anyone, "recovery.reset", Json{{"address", "user@roles.test"}, {"answer", "A"}, {"password", "new-1"}}),
     "recovery.reset");
  ok(run(anyone, "recovery.send_link", Json{{"address", "user@roles.test"}}), "recovery.send_link");
  auto at = mailer.last.find("#/reset/");
  ASSERT_NE(at, std::string::npos);
  ok(run(anyone, "recovery.reset_by_link",
         Json{{"token", mailer.last.substr(at + 8, ops::kResetTokenChars)}, {"password", "new-2"}}),
     "recovery.reset_by_link");
  ok(run(anyone, "application.submit", Json{{"address", "a1@roles.test"}, {"password", "p"}}), "application.submit");
  ok(run(anyone, "application.submit", Json{{"address", "a2@roles.test"}, {"password", "p"}}), "application.submit");
  Json list = ok(run(mail, "application.list", Json{{"domain", "roles.test"}}), "application.list");
  ASSERT_EQ(list["items"].size(), 2u);
  ok(run(mail, "application.approve", Json{{"id", list["items"][0]["id"]}}), "application.approve");
  ok(run(mail, "application.reject", Json{{"id", list["items"][1]["id"]}}), "application.reject");
  ExpectDeniedWrite(*db, "DELETE FROM mailbox_application");
  ExpectDeniedWrite(*db, "ALTER TABLE mailbox_recovery ADD COLUMN x INT");
  // The other pieces never see them.
  for (DbRole role : {DbRole::kAuth, DbRole::kDict, DbRole::kPolicy}) {
    auto other = MariaDb::Get().Connect(role);
    ExpectDenied(*other, "SELECT * FROM mailbox_recovery");
    ExpectDenied(*other, "SELECT * FROM mailbox_application");
  }
}

TEST_F(RolesTest, RolesAreIdempotentAndRevokeStrayGrants) {
  auto root = DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup);
  Db setup(*root);
  ASSERT_TRUE(setup.Execute("GRANT SELECT ON roster.change_log TO 'roster_policy'@'localhost'").ok());
  auto again = MariaDb::Get().Rosterctl({"db", "roles"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto db = MariaDb::Get().Connect(DbRole::kPolicy);
  ExpectDenied(*db, "SELECT * FROM change_log");
  EXPECT_TRUE(db->Query("SELECT address FROM mailbox").ok());
}

// A general (or audit) log keeps what clients send: only each role
// password's hash may be sent, never the password.
TEST_F(RolesTest, RolePasswordsNeverReachTheServer) {
  auto root = DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup);
  Db setup(*root);
  ASSERT_TRUE(setup.Execute("TRUNCATE mysql.general_log").ok());
  ASSERT_TRUE(setup.Execute("SET GLOBAL log_output = 'TABLE'").ok());
  ASSERT_TRUE(setup.Execute("SET GLOBAL general_log = 1").ok());
  auto again = MariaDb::Get().Rosterctl({"db", "roles"});
  ASSERT_TRUE(setup.Execute("SET GLOBAL general_log = 0").ok());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto logged = setup.Query("SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log");
  ASSERT_TRUE(logged.ok()) << logged.error().message;
  bool saw_hash = false;
  for (DbRole role : {DbRole::kAuth, DbRole::kDict, DbRole::kPolicy, DbRole::kAdmin}) {
    const std::string password = MariaDb::RolePassword(role);
    for (const DbRow& row : *logged) {
      EXPECT_EQ(row.String(0).find(password), std::string::npos) << row.String(0);
      saw_hash = saw_hash || row.String(0).find(*NativePasswordHash(password)) != std::string::npos;
    }
  }
  EXPECT_TRUE(saw_hash);  // the log did record the statements
  ASSERT_TRUE(setup.Execute("TRUNCATE mysql.general_log").ok());
  // The roles still log in with their passwords.
  EXPECT_TRUE(MariaDb::Get().Connect(DbRole::kAuth)->Query("SELECT 1").ok());
}

}  // namespace
}  // namespace roster::test
