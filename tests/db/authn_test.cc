// authn_test.cc: the sign-in of the administration service (ops/authn.h)
// against the private MariaDB: administrator accounts (password, TOTP,
// replay, lockout that trips and lifts by a clock the test moves), mailbox
// users (the access rules of the main password, "webmail"), API keys
// (revoked, expired, scope narrowing, last use at most once a minute), the
// per-client throttle, one message for every refusal, sessions that end at
// a change made anywhere (ResumeSession) but not at Dovecot's rehash, and a
// database that is down answering kTemporary.
#include <gtest/gtest.h>

#include "common/admin_accounts.h"
#include "common/admin_store.h"
#include "common/app_password_admin.h"
#include "common/login_store.h"
#include "ops/authn.h"
#include "ops/operations.h"
#include "tests/db/mariadb_fixture.h"

namespace roster::test {
namespace {

using ops::Credentials;
using ops::Principal;
using ops::PrincipalKind;

class MovableClock : public ops::Clock {
 public:
  int64_t NowUnix() const override { return now; }
  int64_t now = 1800000000;  // a multiple of 30: step boundaries are plain
};

class AuthnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = MariaDb::Get().Connect(DbRole::kAdmin);
    if (!db_) GTEST_SKIP() << "no test database";
    auto settings = ops::OpsSettings::FromConfig(MariaDb::Get().config(), MariaDb::Get().config_path());
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    settings_ = *settings;
    settings_.password_policy.argon2_ops = 1;
    settings_.password_policy.argon2_memory = 1 << 16;
    settings_.api_lockout_failures = 3;
    settings_.api_lockout = 600;
    MariaDb::Get().Truncate();
    AdminStore store(*db_);
    for (const char* d : {"a.test", "b.test"}) {
      Domain domain;
      domain.name = d;
      ASSERT_TRUE(store.AddDomain(domain, setup_).ok());
    }
    NewMailbox m;
    m.address = "alice@a.test";
    m.department = "sales";
    m.password_hash = *PasswordHasher(settings_.password_policy).Hash("pw-alice");
    ASSERT_TRUE(store.AddMailbox(m, setup_).ok());
    ASSERT_TRUE(Op("admin.add", {{"name", "root"}, {"kind", "mail"}, {"password", "pw-root"}}).ok());
    ASSERT_TRUE(
        Op("admin.add", {{"name", "da"}, {"kind", "domain"}, {"domains", {"a.test"}}, {"password", "pw-da"}}).ok());
    ASSERT_TRUE(Op("admin.add", {{"name", "ga"},
                                 {"kind", "group"},
                                 {"domains", {"a.test"}},
                                 {"department", "sales"},
                                 {"password", "pw-ga"}})
                    .ok());
  }

  Result<Json> Op(const std::string& name, const Json& input, const Principal& who = Principal::MailAdmin("test")) {
    ops::Context ctx;
    ctx.principal = who;
    ctx.actor = Actor{who.name, "192.0.2.1"};
    ctx.db = db_.get();
    ctx.flusher = &flusher_;
    ctx.clock = &clock_;
    ctx.settings = &settings_;
    return ops::Run(ctx, name, input);
  }

  Result<Principal> Admin(const std::string& name, const std::string& password, const std::string& totp = "") {
    return ops::AuthenticateAdmin(*db_, settings_, clock_, Credentials{name, password, totp, "192.0.2.7"});
  }
  Result<Principal> Mailbox(const std::string& address, const std::string& password) {
    return ops::AuthenticateMailbox(*db_, settings_, clock_, Credentials{address, password, "", "192.0.2.7"});
  }
  Result<Principal> Key(const std::string& key) { return ops::AuthenticateApiKey(*db_, clock_, key, "192.0.2.8"); }

  std::string NewKey(const Json& input) {
    auto made = Op("api_key.add", input);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? (*made)["key"].get<std::string>() : std::string();
  }

  // The message of a refusal, which must not tell what was wrong.
  static std::string Refusal(const Result<Principal>& r) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated) << r.error().message;
    return r.error().message;
  }

  uint64_t ChangeLogRows(const std::string& action) {
    auto rows = db_->Query("SELECT COUNT(*) FROM change_log WHERE action = ?", {action});
    return rows.ok() ? rows->front().Uint(0) : 999;
  }

  std::unique_ptr<Db> db_;
  ops::OpsSettings settings_;
  ops::NoAuthCacheFlush flusher_;
  MovableClock clock_;
  Actor setup_{"setup", "local"};
};

TEST_F(AuthnTest, AdministratorsSignInAsTheirKindAndScope) {
  auto root = Admin("root", "pw-root");
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_EQ(root->kind, PrincipalKind::kMailAdmin);
  EXPECT_EQ(root->account, "root");
  auto da = Admin("DA", "pw-da");  // names fold to lower case
  ASSERT_TRUE(da.ok()) << da.error().message;
  EXPECT_EQ(da->kind, PrincipalKind::kDomainAdmin);
  EXPECT_EQ(da->domains, std::set<std::string>{"a.test"});
  auto ga = Admin("ga", "pw-ga");
  ASSERT_TRUE(ga.ok());
  EXPECT_EQ(ga->kind, PrincipalKind::kGroupAdmin);
  EXPECT_EQ(ga->domain, "a.test");
  EXPECT_EQ(ga->department, "sales");
  // The sign-in is recorded, by the service's clock.
  auto shown = Op("admin.show", {{"name", "root"}});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["last_sign_in"], "2027-01-15 08:00:00");
  EXPECT_EQ((*shown)["last_sign_in_client"], "192.0.2.7");
}

TEST_F(AuthnTest, EveryRefusalReadsTheSame) {
  ASSERT_TRUE(Op("admin.set_totp", {{"name", "da"}, {"enable", true}}).ok());
  std::string key = NewKey({{"admin", "root"}});
  std::string expiring = NewKey({{"admin", "root"}, {"expires_in", 60}});
  auto listed = Op("api_key.list", {{"admin", "root"}});
  ASSERT_TRUE(listed.ok());
  ASSERT_TRUE(Op("api_key.revoke", {{"admin", "root"}, {"id", (*listed)["items"][0]["id"]}}).ok());
  clock_.now += 61;
  ASSERT_TRUE(Op("admin.disable", {{"name", "ga"}}).ok());
  std::vector<std::string> messages = {
      Refusal(Admin("nobody", "pw-root")),           // unknown account
      Refusal(Admin("root", "wrong")),               // wrong password
      Refusal(Admin("da", "pw-da", "000000")),       // wrong TOTP
      Refusal(Admin("da", "pw-da")),                 // TOTP missing
      Refusal(Admin("ga", "pw-ga")),                 // disabled
      Refusal(Admin("-bad name", "x")),              // not a name at all
      Refusal(Mailbox("nobody@a.test", "pw-alice")),  // unknown mailbox
      Refusal(Mailbox("alice@a.test", "wrong")),     // wrong password
      Refusal(Key(key)),                             // revoked
      Refusal(Key(expiring)),                        // expired
      Refusal(Key("rk_aaaaaaaaaaaa_" + std::string(32, 'a'))),  // unknown
      Refusal(Key("not a key")),
  };
  for (const std::string& m : messages) EXPECT_EQ(m, messages.front());
}

TEST_F(AuthnTest, TotpCodesWorkOnceWithinOneStepOfDrift) {
  auto set = Op("admin.set_totp", {{"name", "root"}, {"enable", true}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  std::string uri = (*set)["uri"];
  EXPECT_EQ(uri.rfind("otpauth://totp/roster:root?secret=", 0), 0u) << uri;
  // The secret as the URI gives it, back to bytes through the account's row.
  auto signin = AdminAccounts(*db_).FindForSignIn("root");
  ASSERT_TRUE(signin.ok());
  const std::string secret = signin->totp_secret;
  EXPECT_EQ(ops::Base32(secret), (*set)["secret"]);
  const uint64_t step = static_cast<uint64_t>(clock_.now / ops::kTotpPeriod);
  EXPECT_TRUE(Admin("root", "pw-root", ops::TotpCode(secret, step)).ok());
  // The same code again: a replay.
  Refusal(Admin("root", "pw-root", ops::TotpCode(secret, step)));
  // An older step than the last accepted one: refused too.
  Refusal(Admin("root", "pw-root", ops::TotpCode(secret, step - 1)));
  // One step ahead (a clock behind): accepted; two ahead: not.
  EXPECT_TRUE(Admin("root", "pw-root", ops::TotpCode(secret, step + 1)).ok());
  Refusal(Admin("root", "pw-root", ops::TotpCode(secret, step + 3)));
  // Right code, wrong password.
  clock_.now += 4 * ops::kTotpPeriod;
  Refusal(Admin("root", "wrong", ops::TotpCode(secret, step + 4)));
  // Cleared: the password alone again.
  ASSERT_TRUE(Op("admin.set_totp", {{"name", "root"}, {"enable", false}}).ok());
  ASSERT_TRUE(Op("admin.unlock", {{"name", "root"}}).ok());
  EXPECT_TRUE(Admin("root", "pw-root").ok());
}

// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
TEST_F(AuthnTest, TotpMatchesTheRfcVectors) {
  const std::string secret = "12345678901234567890";
  EXPECT_EQ(ops::TotpCode(secret, 59 / 30), "287082");
  EXPECT_EQ(ops::TotpCode(secret, 1111111109 / 30), "081804");
  EXPECT_EQ(ops::TotpCode(secret, 1234567890 / 30), "005924");
  EXPECT_EQ(ops::TotpCode(secret, 20000000000 / 30), "353130");
  EXPECT_EQ(ops::Base32("foobar"), "MZXW6YTBOI");
}

TEST_F(AuthnTest, LockoutTripsAndLifts) {
  const uint64_t locks = ChangeLogRows("admin-lock");
  for (int i = 0; i < 3; ++i) Refusal(Admin("da", "wrong"));
  EXPECT_EQ(ChangeLogRows("admin-lock"), locks + 1);
  // Locked: even the right password is throttled, before it is checked.
  auto locked = Admin("da", "pw-da");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().kind, ErrorKind::kThrottled);
  EXPECT_EQ(locked.error().retry_after, 600);
  clock_.now += 599;
  auto still = Admin("da", "pw-da");
  ASSERT_FALSE(still.ok());
  EXPECT_EQ(still.error().retry_after, 1);
  // The lock's time passes: lifted (and logged), the count starts again.
  clock_.now += 1;
  const uint64_t unlocks = ChangeLogRows("admin-unlock");
  EXPECT_TRUE(Admin("da", "pw-da").ok());
  EXPECT_EQ(ChangeLogRows("admin-unlock"), unlocks + 1);
  // A success resets the failures: two, a success, two more do not lock.
  Refusal(Admin("da", "wrong"));
  Refusal(Admin("da", "wrong"));
  EXPECT_TRUE(Admin("da", "pw-da").ok());
  Refusal(Admin("da", "wrong"));
  Refusal(Admin("da", "wrong"));
  EXPECT_TRUE(Admin("da", "pw-da").ok());
  // admin.unlock lifts a lock at once. The other accounts never noticed.
  for (int i = 0; i < 3; ++i) Refusal(Admin("da", "wrong"));
  EXPECT_EQ(Admin("da", "pw-da").error().kind, ErrorKind::kThrottled);
  EXPECT_TRUE(Admin("root", "pw-root").ok());
  ASSERT_TRUE(Op("admin.unlock", {{"name", "da"}}).ok());
  EXPECT_TRUE(Admin("da", "pw-da").ok());
}

TEST_F(AuthnTest, MailboxUsersFollowTheMainPasswordsAccessRules) {
  auto alice = Mailbox("Alice@A.test", "pw-alice");
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  EXPECT_EQ(alice->kind, PrincipalKind::kMailboxUser);
  EXPECT_EQ(alice->mailbox, "alice@a.test");
  EXPECT_EQ(alice->account, "");
  // The main password only over IMAP: not here. With webmail: here too.
  AppPasswordAdmin access(*db_);
  ASSERT_TRUE(access.SetAccess("alice@a.test", std::nullopt, std::optional<unsigned>(kProtoImap), setup_).ok());
  Refusal(Mailbox("alice@a.test", "pw-alice"));
  ASSERT_TRUE(access
                  .SetAccess("alice@a.test", std::nullopt, std::optional<unsigned>(kProtoImap | kProtoWebmail),
                             setup_)
                  .ok());
  EXPECT_TRUE(Mailbox("alice@a.test", "pw-alice").ok());
  // Logins limited to IMAP (webmail not among them): refused.
  ASSERT_TRUE(access.SetAccess("alice@a.test", std::optional<unsigned>(kProtoImap), std::nullopt, setup_).ok());
  Refusal(Mailbox("alice@a.test", "pw-alice"));
  ASSERT_TRUE(access.SetAccess("alice@a.test", std::optional<unsigned>(), std::nullopt, setup_).ok());
  EXPECT_TRUE(Mailbox("alice@a.test", "pw-alice").ok());
  // A disabled mailbox, a disabled domain.
  AdminStore store(*db_);
  ASSERT_TRUE(store.SetMailboxActive("alice@a.test", false, setup_).ok());
  Refusal(Mailbox("alice@a.test", "pw-alice"));
  ASSERT_TRUE(store.SetMailboxActive("alice@a.test", true, setup_).ok());
  ASSERT_TRUE(store.SetDomainActive("a.test", false, setup_).ok());
  Refusal(Mailbox("alice@a.test", "pw-alice"));
}

TEST_F(AuthnTest, ApiKeysNarrowTheirOwner) {
  std::string rw = NewKey({{"admin", "root"}, {"label", "provisioning"}});
  std::string ro = NewKey({{"admin", "root"}, {"read_only", true}});
  std::string only_a = NewKey({{"admin", "root"}, {"domains", {"a.test"}}});
  ASSERT_EQ(rw.size(), 48u);
  EXPECT_EQ(rw.rfind("rk_", 0), 0u);
  auto p = Key(rw);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, PrincipalKind::kMailAdmin);
  EXPECT_EQ(p->account, "root");
  ASSERT_TRUE(p->api_key.has_value());
  auto changed = Op("mailbox.disable", {{"address", "alice@a.test"}}, *p);
  EXPECT_TRUE(changed.ok());
  // Read-only: may look, not change.
  auto read_only = Key(ro);
  ASSERT_TRUE(read_only.ok());
  EXPECT_TRUE(Op("mailbox.show", {{"address", "alice@a.test"}}, *read_only).ok());
  auto refused = Op("mailbox.enable", {{"address", "alice@a.test"}}, *read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kForbidden);
  // Limited to a.test: b.test is outside, and so are the accounts.
  auto limited = Key(only_a);
  ASSERT_TRUE(limited.ok());
  EXPECT_TRUE(Op("mailbox.enable", {{"address", "alice@a.test"}}, *limited).ok());
  auto outside = Op("domain.show", {{"domain", "b.test"}}, *limited);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().kind, ErrorKind::kForbidden);
  auto accounts = Op("api_key.add", {{"admin", "root"}}, *limited);
  ASSERT_FALSE(accounts.ok());
  EXPECT_EQ(accounts.error().kind, ErrorKind::kForbidden);
  // A domain administrator's key cannot reach beyond its owner's domains.
  auto wider = Op("api_key.add", {{"admin", "da"}, {"domains", {"b.test"}}});
  ASSERT_FALSE(wider.ok());
  EXPECT_EQ(wider.error().kind, ErrorKind::kInvalid);
  std::string da_key = NewKey({{"admin", "da"}});
  auto da = Key(da_key);
  ASSERT_TRUE(da.ok());
  EXPECT_EQ(da->kind, PrincipalKind::kDomainAdmin);
  EXPECT_EQ(Op("domain.show", {{"domain", "b.test"}}, *da).error().kind, ErrorKind::kForbidden);
  // A key limited to a domain that is deleted stops working: it never
  // falls back to its owner's whole scope.
  ASSERT_TRUE(AdminStore(*db_).DeleteDomain("a.test", true, setup_).ok());
  Refusal(Key(only_a));
  EXPECT_TRUE(Key(rw).ok());
  // The domain administrator keeps its account, with nothing to administer.
  auto shown = Op("admin.show", {{"name", "da"}});
  ASSERT_TRUE(shown.ok());
  EXPECT_TRUE((*shown)["domains"].empty());
  // A disabled owner's keys stop too.
  ASSERT_TRUE(Op("admin.disable", {{"name", "root"}}).ok());
  Refusal(Key(rw));
}

TEST_F(AuthnTest, AKeysLastUseIsWrittenAtMostOnceAMinute) {
  std::string key = NewKey({{"admin", "root"}});
  auto last_use = [&]() {
    auto rows = db_->Query("SELECT COALESCE(CAST(last_used_at AS CHAR), ''), last_used_client FROM api_key");
    EXPECT_TRUE(rows.ok());
    return rows.ok() && !rows->empty() ? rows->front().String(0) + " " + rows->front().String(1) : std::string();
  };
  EXPECT_EQ(last_use(), " ");
  ASSERT_TRUE(Key(key).ok());
  EXPECT_EQ(last_use(), "2027-01-15 08:00:00 192.0.2.8");
  clock_.now += 59;
  ASSERT_TRUE(ops::AuthenticateApiKey(*db_, clock_, key, "192.0.2.99").ok());
  EXPECT_EQ(last_use(), "2027-01-15 08:00:00 192.0.2.8");
  clock_.now += 1;
  ASSERT_TRUE(ops::AuthenticateApiKey(*db_, clock_, key, "192.0.2.99").ok());
  EXPECT_EQ(last_use(), "2027-01-15 08:01:00 192.0.2.99");
}

TEST_F(AuthnTest, TheThrottleCountsByClientAndForgets) {
  ops::LoginThrottle throttle(3, std::chrono::seconds(60), 2);
  const int64_t t = 1000;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(throttle.Check("192.0.2.1", t).ok());
    throttle.Failed("192.0.2.1", t + i);
  }
  Status s = throttle.Check("192.0.2.1", t + 10);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kThrottled);
  EXPECT_EQ(s.error().retry_after, 50);
  EXPECT_TRUE(throttle.Check("192.0.2.2", t + 10).ok());  // another client
  EXPECT_TRUE(throttle.Check("192.0.2.1", t + 60).ok());  // the window passed
  // There is no success that forgets a client's failures (a valid account of
  // one's own must not buy fresh guesses at others'): two failures leave it
  // one short of the limit, a third throttles it.
  throttle.Failed("192.0.2.3", t);
  throttle.Failed("192.0.2.3", t);
  EXPECT_TRUE(throttle.Check("192.0.2.3", t).ok());
  // Bounded: with two clients tracked, a third pushes out the oldest.
  for (int i = 0; i < 3; ++i) throttle.Failed("192.0.2.4", t + 1);
  for (int i = 0; i < 3; ++i) throttle.Failed("192.0.2.5", t + 2);
  EXPECT_FALSE(throttle.Check("192.0.2.4", t + 3).ok());
  EXPECT_FALSE(throttle.Check("192.0.2.5", t + 3).ok());
  EXPECT_TRUE(throttle.Check("192.0.2.3", t + 3).ok());
  // No limit at all.
  ops::LoginThrottle off(0, std::chrono::seconds(60));
  for (int i = 0; i < 100; ++i) off.Failed("192.0.2.1", t);
  EXPECT_TRUE(off.Check("192.0.2.1", t).ok());
}

TEST_F(AuthnTest, AnAdministratorsSessionFollowsItsAccount) {
  ops::SessionAccount s;
  ASSERT_TRUE(ops::AuthenticateAdmin(*db_, settings_, clock_, Credentials{"da", "pw-da", "", "192.0.2.7"}, &s).ok());
  EXPECT_EQ(s.kind, ops::SessionAccount::Kind::kAdmin);
  auto p = ops::ResumeSession(*db_, s);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->domains, std::set<std::string>{"a.test"});
  // A scope changed elsewhere counts at the next request.
  ASSERT_TRUE(db_->Execute("INSERT INTO admin_domain (admin_id, domain_id) SELECT a.id, d.id FROM admin_account a, "
                           "domain d WHERE a.name = 'da' AND d.name = 'b.test'",
                           {})
                  .ok());
  p = ops::ResumeSession(*db_, s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->domains, (std::set<std::string>{"a.test", "b.test"}));
  ASSERT_TRUE(db_->Execute("UPDATE admin_account SET kind = 'mail' WHERE name = 'da'", {}).ok());
  p = ops::ResumeSession(*db_, s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, PrincipalKind::kMailAdmin);
  // Locked out by someone guessing its password: its sessions go on.
  for (int i = 0; i < 3; ++i) Refusal(Admin("da", "wrong"));
  EXPECT_EQ(Admin("da", "pw-da").error().kind, ErrorKind::kThrottled);
  EXPECT_TRUE(ops::ResumeSession(*db_, s).ok());
  ASSERT_TRUE(Op("admin.unlock", {{"name", "da"}}).ok());
  // Disabled, even if enabled again before the next request: ended.
  ASSERT_TRUE(Op("admin.disable", {{"name", "da"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  ASSERT_TRUE(Op("admin.enable", {{"name", "da"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  // A new password, a second factor: ended.
  auto again = [&] {
    EXPECT_TRUE(ops::AuthenticateAdmin(*db_, settings_, clock_, Credentials{"da", "pw-da", "", "192.0.2.7"}, &s).ok());
    EXPECT_TRUE(ops::ResumeSession(*db_, s).ok());
  };
  again();
  ASSERT_TRUE(Op("admin.set_password", {{"name", "da"}, {"password", "pw-da"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  again();
  ASSERT_TRUE(Op("admin.set_totp", {{"name", "da"}, {"enable", false}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  again();
  ASSERT_TRUE(Op("admin.del", {{"name", "da"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
}

TEST_F(AuthnTest, AMailboxUsersSessionFollowsItsMailboxButNotTheRehash) {
  ops::SessionAccount s;
  auto again = [&](const std::string& password) {
    ASSERT_TRUE(ops::AuthenticateMailbox(*db_, settings_, clock_, Credentials{"alice@a.test", password, "", "x"}, &s)
                    .ok());
    ASSERT_TRUE(ops::ResumeSession(*db_, s).ok());
  };
  again("pw-alice");
  EXPECT_EQ(s.kind, ops::SessionAccount::Kind::kMailbox);
  EXPECT_EQ(ops::ResumeSession(*db_, s)->mailbox, "alice@a.test");
  // Dovecot's rehash at login (the auth role's compare-and-set): the same
  // password, so the session goes on.
  auto auth = MariaDb::Get().Connect(DbRole::kAuth);
  ASSERT_TRUE(auth);
  auto old_hash = AdminStore(*db_).PasswordHash("alice@a.test");
  ASSERT_TRUE(old_hash.ok());
  auto rehashed = PasswordHasher(settings_.password_policy).Hash("pw-alice");
  ASSERT_TRUE(rehashed.ok());
  auto replaced = LoginStore(*auth).ReplacePasswordHash("alice@a.test", *old_hash, *rehashed);
  ASSERT_TRUE(replaced.ok() && *replaced);
  EXPECT_TRUE(ops::ResumeSession(*db_, s).ok());
  // A new password by an administrator, or by the user: ended.
  ASSERT_TRUE(Op("mailbox.set_password", {{"address", "alice@a.test"}, {"password", "pw-alice"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  again("pw-alice");
  ASSERT_TRUE(Op("mailbox.change_password",
                 {{"address", "alice@a.test"}, {"current_password", "pw-alice"}, {"password", "pw-alice2"}},
                 Principal::MailboxUser("alice@a.test"))
                  .ok());
  Refusal(ops::ResumeSession(*db_, s));
  // Its main password no longer allowed here: ended while so.
  again("pw-alice2");
  AppPasswordAdmin access(*db_);
  ASSERT_TRUE(access.SetAccess("alice@a.test", std::optional<unsigned>(kProtoImap), std::nullopt, setup_).ok());
  Refusal(ops::ResumeSession(*db_, s));
  ASSERT_TRUE(access.SetAccess("alice@a.test", std::optional<unsigned>(), std::nullopt, setup_).ok());
  // Its domain disabled.
  again("pw-alice2");
  ASSERT_TRUE(Op("domain.disable", {{"domain", "a.test"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  ASSERT_TRUE(Op("domain.enable", {{"domain", "a.test"}}).ok());
  // Disabled and enabled again before the next request: ended.
  again("pw-alice2");
  ASSERT_TRUE(Op("mailbox.disable", {{"address", "alice@a.test"}}).ok());
  ASSERT_TRUE(Op("mailbox.enable", {{"address", "alice@a.test"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
  // Deleted, and made again with the same address and password: a new
  // mailbox, not the one signed in to.
  again("pw-alice2");
  ASSERT_TRUE(Op("mailbox.del", {{"address", "alice@a.test"}}).ok());
  ASSERT_TRUE(Op("mailbox.add", {{"address", "alice@a.test"}, {"password", "pw-alice2"}}).ok());
  Refusal(ops::ResumeSession(*db_, s));
}

TEST_F(AuthnTest, ADatabaseThatIsDownIsTemporaryNeverARefusal) {
  std::string key = NewKey({{"admin", "root"}});
  MariaDb::Get().Stop();
  auto admin = Admin("root", "pw-root");
  auto mailbox = Mailbox("alice@a.test", "pw-alice");
  auto api = Key(key);
  auto resumed = ops::ResumeSession(*db_, ops::SessionAccount{ops::SessionAccount::Kind::kAdmin, 1, 0});
  MariaDb::Get().Start();
  for (const Result<Principal>* r : {&admin, &mailbox, &api, &resumed}) {
    ASSERT_FALSE(r->ok());
    EXPECT_EQ(r->error().kind, ErrorKind::kTemporary) << r->error().message;
  }
  EXPECT_TRUE(Admin("root", "pw-root").ok());
}

}  // namespace
}  // namespace roster::test
