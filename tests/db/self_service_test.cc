// self_service_test.cc: issue 15's self-service operations against the
// private MariaDB, through ops::Run as roster-apid runs them: the password
// recovery by security question (the lock on the third wrong answer, lifted
// after 30 minutes of a fake clock or by an administrator, every attempt in
// the change log with the client's address, an unknown address told apart
// from nothing), the reset link (one use, one hour; none that works when
// its mail could not be sent), mailbox applications (every step, none skipped
// or repeated, no second application for one address, closed and open
// domains), the public operations' throttle, and the codes that tell their
// refusals apart (reset_locked beside the throttle's 429; mailbox_exists and
// application_pending for an application's 409).
// The permission matrix rows of these operations are in ops_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/admin_store.h"
#include "common/application_store.h"
#include "common/password.h"
#include "ops/authn.h"
#include "ops/operations.h"
#include "ops/recovery.h"
#include "tests/db/mariadb_fixture.h"

namespace roster::test {
namespace {

using ops::Principal;

class SettableClock : public ops::Clock {
 public:
  int64_t NowUnix() const override { return now; }
  int64_t now = 1800000000;
};

// Keeps the mails an operation sends (the real SMTP path: tests/postfix/recovery-mail.test).
// With `refuse` set it answers as an MTA that refused the mail (or could not
// be reached) would, after keeping what was handed to it in `refused`.
class RecordingMailer : public ops::Mailer {
 public:
  struct Mail {
    std::string to, subject, body;
  };
  Status Send(const std::string& to, const std::string& subject, const std::string& body) override {
    if (refuse) {
      refused.push_back(Mail{to, subject, body});
      return Error::Temporary("451 4.3.0 try again later");
    }
    mails.push_back(Mail{to, subject, body});
    return Status::Ok();
  }
  std::vector<Mail> mails, refused;
  bool refuse = false;
};

class SelfServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = MariaDb::Get().Connect(DbRole::kAdmin);
    if (!db_) GTEST_SKIP() << "no test database";
    auto settings = ops::OpsSettings::FromConfig(MariaDb::Get().config(), MariaDb::Get().config_path());
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    settings_ = *settings;
    settings_.password_policy.argon2_ops = 1;
    settings_.password_policy.argon2_memory = 1 << 16;
    settings_.public_url = "https://mail.a.test/";
    MariaDb::Get().Truncate();
    AdminStore store(*db_);
    PasswordHasher hasher(settings_.password_policy);
    Actor setup{"setup", "local"};
    for (const char* d : {"a.test", "b.test"}) {
      Domain domain;
      domain.name = d;
      ASSERT_TRUE(store.AddDomain(domain, setup).ok());
    }
    for (auto [address, department] : {std::pair<const char*, const char*>{"alice@a.test", "sales"},
                                       {"bob@a.test", "ops"}}) {
      NewMailbox m;
      m.address = address;
      m.department = department;
      m.password_hash = *hasher.Hash(std::string("pw-") + address);
      ASSERT_TRUE(store.AddMailbox(m, setup).ok());
    }
  }

  Result<Json> Run(const Principal& who, const std::string& op, const Json& input,
                   const std::string& client = "192.0.2.9") {
    ops::Context ctx;
    ctx.principal = who;
    ctx.actor = Actor{who.name, client};
    ctx.db = db_.get();
    ctx.flusher = &flusher_;
    ctx.clock = &clock_;
    ctx.settings = &settings_;
    ctx.mailer = &mailer_;
    ctx.public_throttle = throttle_.get();
    return ops::Run(ctx, op, input);
  }
  Result<Json> Public(const std::string& op, const Json& input, const std::string& client = "192.0.2.9") {
    return Run(Principal::Public(), op, input, client);
  }

  void SetQuestion(const std::string& answer) {
    auto set = Run(Principal::MailboxUser("alice@a.test"), "recovery.set",
                   Json{{"address", "alice@a.test"}, {"current_password", "pw-alice@a.test"},
                        {"question", "Favourite animal?"}, {"answer", answer}});
    ASSERT_TRUE(set.ok()) << set.error().message;
  }
  Result<Json> Reset(const std::string& answer, const std::string& password = "new-pw-1") {
    return Public("recovery.reset", Json{{"address", "alice@a.test"}, {"answer", answer}, {"password", password}});
  }
  bool PasswordIs(const std::string& address, const std::string& password) {
    auto hash = AdminStore(*db_).PasswordHash(address);
    return hash.ok() && PasswordHasher(settings_.password_policy).Verify(password, *hash).matched();
  }
  // The change log's entries about `object`, oldest first, as "action origin actor".
  std::vector<std::string> Log(const std::string& object) {
    std::vector<std::string> out;
    auto rows = db_->Query("SELECT action, origin, actor FROM change_log WHERE object = ? ORDER BY id", {object});
    EXPECT_TRUE(rows.ok());
    if (rows.ok())
      for (const DbRow& r : *rows) out.push_back(r.String(0) + " " + r.String(1) + " " + r.String(2));
    return out;
  }

  std::unique_ptr<Db> db_;
  ops::OpsSettings settings_;
  ops::NoAuthCacheFlush flusher_;
  SettableClock clock_;
  RecordingMailer mailer_;
  std::unique_ptr<ops::PublicThrottle> throttle_;
};

TEST(RecoveryAnswer, IsNormalisedWithoutCaseOrSpaceTrouble) {
  using ops::NormaliseRecoveryAnswer;
  EXPECT_EQ(NormaliseRecoveryAnswer("  Blue   WHALE \t\n"), "blue whale");
  EXPECT_EQ(NormaliseRecoveryAnswer("blue whale"), "blue whale");
  // Full-width forms and the ideographic space, as Chinese input methods type them.
  EXPECT_EQ(NormaliseRecoveryAnswer("\xe3\x80\x80\xef\xbc\xa2lue\xe3\x80\x80\xef\xbd\x97hale\xef\xbc\x91"),
            "blue whale1");
  EXPECT_EQ(NormaliseRecoveryAnswer("\xc2\xa0" "a\xc2\xa0\xc2\xa0" "b"), "a b");
  // Chinese characters are kept as they are.
  EXPECT_EQ(NormaliseRecoveryAnswer(" 蓝鲸 "), "蓝鲸");
  EXPECT_EQ(NormaliseRecoveryAnswer("   "), "");
}

// The third wrong answer locks the reset for 30 minutes; while locked even
// the right answer is refused without being looked at; once the lock has
// passed, the right answer (in other case and spacing) resets the password.
// Every attempt, the lock, its end and the reset are in the change log with
// the client's address.
TEST_F(SelfServiceTest, TheThirdWrongAnswerLocksTheResetForThirtyMinutes) {
  SetQuestion("Blue Whale");
  for (int i = 1; i <= 2; ++i) {
    auto r = Reset("red fox");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kForbidden) << i;
    EXPECT_EQ(r.error().field, "answer");
  }
  auto third = Reset("green frog");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind, ErrorKind::kThrottled);
  EXPECT_EQ(third.error().code, "reset_locked");  // not the per-client throttle's 429
  EXPECT_EQ(third.error().retry_after, 1800);
  clock_.now += 60;
  auto locked = Reset("blue whale");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().kind, ErrorKind::kThrottled);
  EXPECT_EQ(locked.error().code, "reset_locked");
  EXPECT_EQ(locked.error().retry_after, 1740);
  clock_.now += 1739;  // one second before the end
  EXPECT_EQ(Reset("blue whale").error().kind, ErrorKind::kThrottled);
  auto show = Run(Principal::MailboxUser("alice@a.test"), "recovery.show", Json{{"address", "alice@a.test"}});
  ASSERT_TRUE(show.ok());
  EXPECT_EQ((*show)["locked_until"], 1800000000 + 1800);
  EXPECT_TRUE(PasswordIs("alice@a.test", "pw-alice@a.test"));
  clock_.now += 1;
  auto reset = Reset("  BLUE   whale ", "new-pw-1");
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  EXPECT_EQ((*reset)["password_changed"], "alice@a.test");
  EXPECT_TRUE(PasswordIs("alice@a.test", "new-pw-1"));
  EXPECT_EQ(Log("alice@a.test"),
            (std::vector<std::string>{
                "mailbox-add local setup", "mailbox-recovery-set 192.0.2.9 alice@a.test",
                "mailbox-recovery-fail 192.0.2.9 public", "mailbox-recovery-fail 192.0.2.9 public",
                "mailbox-recovery-fail 192.0.2.9 public", "mailbox-recovery-lock 192.0.2.9 public",
                "mailbox-recovery-unlock 192.0.2.9 public", "mailbox-passwd 192.0.2.9 public",
                "mailbox-recovery-reset 192.0.2.9 public"}));
}

TEST_F(SelfServiceTest, ARightAnswerStartsTheCountAgain) {
  SetQuestion("blue whale");
  EXPECT_FALSE(Reset("no").ok());
  EXPECT_FALSE(Reset("no").ok());
  ASSERT_TRUE(Reset("blue whale", "new-pw-1").ok());
  EXPECT_EQ(Reset("no").error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(Reset("no").error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(Reset("no").error().kind, ErrorKind::kThrottled);  // three in a row again
}

// A group administrator of the mailbox's department lifts the lock at once.
TEST_F(SelfServiceTest, AnAdministratorLiftsTheLock) {
  SetQuestion("blue whale");
  for (int i = 0; i < 3; ++i) (void)Reset("no");
  EXPECT_EQ(Reset("blue whale").error().kind, ErrorKind::kThrottled);
  Principal ga = Principal::GroupAdmin("ga", "a.test", "sales");
  ga.account = "ga";
  auto unlocked = Run(ga, "recovery.unlock", Json{{"address", "alice@a.test"}}, "198.51.100.7");
  ASSERT_TRUE(unlocked.ok()) << unlocked.error().message;
  EXPECT_EQ((*unlocked)["unlocked"], true);
  ASSERT_TRUE(Reset("blue whale").ok());
  std::vector<std::string> log = Log("alice@a.test");
  EXPECT_NE(std::find(log.begin(), log.end(), "mailbox-recovery-unlock 198.51.100.7 ga"), log.end());
  // Of another department: refused.
  EXPECT_EQ(Run(ga, "recovery.unlock", Json{{"address", "bob@a.test"}}).error().kind, ErrorKind::kForbidden);
}

// An unknown address, a disabled mailbox and one without a question answer
// alike; a wrong answer for them reads like any wrong answer and counts
// nothing.
TEST_F(SelfServiceTest, AStrangerCannotTellWhichAddressesExist) {
  SetQuestion("blue whale");
  auto alice = Public("recovery.question", Json{{"address", "alice@a.test"}});
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ((*alice)["question"], "Favourite animal?");
  auto shape = [&](const char* address) {
    auto r = Public("recovery.question", Json{{"address", address}});
    EXPECT_TRUE(r.ok());
    Json j = *r;
    j.erase("address");
    return DumpJson(j);
  };
  const std::string nothing = shape("nobody@a.test");
  EXPECT_EQ(nothing, R"({"question":null,"link":false})");
  EXPECT_EQ(shape("bob@a.test"), nothing);
  EXPECT_EQ(shape("x@none.test"), nothing);
  ASSERT_TRUE(AdminStore(*db_).SetMailboxActive("alice@a.test", false, Actor{"t", "local"}).ok());
  EXPECT_EQ(shape("alice@a.test"), nothing);
  auto unknown = Public("recovery.reset", Json{{"address", "nobody@a.test"}, {"answer", "x"}, {"password", "p"}});
  auto wrong = Reset("x");
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(unknown.error().kind, wrong.error().kind);
  EXPECT_EQ(unknown.error().message, wrong.error().message);
}

// The link: mailed to the recovery address when the domain allows it, works
// once, within one hour; an address without one gets the same answer and no mail.
TEST_F(SelfServiceTest, AResetLinkWorksOnceWithinAnHour) {
  auto set = Run(Principal::MailboxUser("alice@a.test"), "recovery.set",
                 Json{{"address", "alice@a.test"}, {"current_password", "pw-alice@a.test"},
                      {"recovery_address", "Alice.Home@Elsewhere.test"}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto off = Public("recovery.send_link", Json{{"address", "alice@a.test"}});
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(mailer_.mails.empty()) << "the domain has not turned reset links on";
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::nullopt, true, Actor{"t", "local"}).ok());
  EXPECT_EQ((*Public("recovery.question", Json{{"address", "alice@a.test"}}))["link"], true);
  auto none = Public("recovery.send_link", Json{{"address", "nobody@a.test"}});
  ASSERT_TRUE(none.ok());
  auto sent = Public("recovery.send_link", Json{{"address", "alice@a.test"}});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(*none, Json({{"address", "nobody@a.test"}, {"requested", true}}));
  EXPECT_EQ(*sent, Json({{"address", "alice@a.test"}, {"requested", true}}));
  ASSERT_EQ(mailer_.mails.size(), 1u);
  EXPECT_EQ(mailer_.mails[0].to, "Alice.Home@elsewhere.test");
  const std::string& body = mailer_.mails[0].body;
  auto at = body.find("https://mail.a.test/#/reset/");
  ASSERT_NE(at, std::string::npos) << body;
  std::string token = body.substr(at + 28, ops::kResetTokenChars);
  EXPECT_NE(body.find("重置"), std::string::npos);
  // Stored only as its digest.
  auto stored = db_->Query("SELECT COUNT(*) FROM mailbox_recovery WHERE token_hash = ?", {token});
  EXPECT_EQ(stored->front().Uint(0), 0u);
  auto used = Public("recovery.reset_by_link", Json{{"token", token}, {"password", "by-link-1"}});
  ASSERT_TRUE(used.ok()) << used.error().message;
  EXPECT_TRUE(PasswordIs("alice@a.test", "by-link-1"));
  auto again = Public("recovery.reset_by_link", Json{{"token", token}, {"password", "by-link-2"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kForbidden);
  EXPECT_TRUE(PasswordIs("alice@a.test", "by-link-1"));
  // A new link expires after an hour.
  ASSERT_TRUE(Public("recovery.send_link", Json{{"address", "alice@a.test"}}).ok());
  ASSERT_EQ(mailer_.mails.size(), 2u);
  std::string second = mailer_.mails[1].body.substr(mailer_.mails[1].body.find("#/reset/") + 8, ops::kResetTokenChars);
  clock_.now += 3600;
  EXPECT_EQ(Public("recovery.reset_by_link", Json{{"token", second}, {"password", "late-1"}}).error().kind,
            ErrorKind::kForbidden);
  std::vector<std::string> log = Log("alice@a.test");
  EXPECT_NE(std::find(log.begin(), log.end(), "mailbox-recovery-link 192.0.2.9 public"), log.end());
  EXPECT_NE(std::find(log.begin(), log.end(), "mailbox-recovery-reset 192.0.2.9 public"), log.end());
}

// Many clients asking for links to one mailbox send one mail per interval:
// the per-client throttle alone would let them flood the recovery address.
TEST_F(SelfServiceTest, OneResetLinkPerMailboxPerInterval) {
  ASSERT_TRUE(Run(Principal::MailboxUser("alice@a.test"), "recovery.set",
                  Json{{"address", "alice@a.test"}, {"current_password", "pw-alice@a.test"},
                       {"recovery_address", "alice.home@elsewhere.test"}})
                  .ok());
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::nullopt, true, Actor{"t", "local"}).ok());
  for (const char* client : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    auto asked = Public("recovery.send_link", Json{{"address", "alice@a.test"}}, client);
    ASSERT_TRUE(asked.ok()) << asked.error().message;
    EXPECT_EQ(*asked, Json({{"address", "alice@a.test"}, {"requested", true}})) << "the same answer, mailed or not";
  }
  EXPECT_EQ(mailer_.mails.size(), 1u);
  clock_.now += 599;
  ASSERT_TRUE(Public("recovery.send_link", Json{{"address", "alice@a.test"}}, "192.0.2.4").ok());
  EXPECT_EQ(mailer_.mails.size(), 1u);
  clock_.now += 1;
  ASSERT_TRUE(Public("recovery.send_link", Json{{"address", "alice@a.test"}}, "192.0.2.4").ok());
  EXPECT_EQ(mailer_.mails.size(), 2u) << "ten minutes later, a new link";
}

// A link whose mail the MTA refused (or could not take) leaves no token that
// works: the request is a temporary failure, the link that went nowhere is
// withdrawn (logged), and it does not count as the mailbox's one link of the
// interval, so asking again at once mails a new link, which works.
TEST_F(SelfServiceTest, ALinkThatCouldNotBeMailedNeverWorks) {
  ASSERT_TRUE(Run(Principal::MailboxUser("alice@a.test"), "recovery.set",
                  Json{{"address", "alice@a.test"}, {"current_password", "pw-alice@a.test"},
                       {"recovery_address", "alice.home@elsewhere.test"}})
                  .ok());
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::nullopt, true, Actor{"t", "local"}).ok());
  mailer_.refuse = true;
  auto asked = Public("recovery.send_link", Json{{"address", "alice@a.test"}});
  ASSERT_FALSE(asked.ok());
  EXPECT_EQ(asked.error().kind, ErrorKind::kTemporary);
  ASSERT_EQ(mailer_.refused.size(), 1u);
  const std::string& body = mailer_.refused[0].body;
  ASSERT_NE(body.find("#/reset/"), std::string::npos) << body;
  const std::string unsent = body.substr(body.find("#/reset/") + 8, ops::kResetTokenChars);
  auto stored = db_->Query("SELECT COUNT(*) FROM mailbox_recovery WHERE token_hash IS NOT NULL OR "
                           "token_expires_at IS NOT NULL",
                           {});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->front().Uint(0), 0u) << "the unsent link's token is still stored";
  auto used = Public("recovery.reset_by_link", Json{{"token", unsent}, {"password", "by-unsent-1"}});
  ASSERT_FALSE(used.ok()) << "the link of a mail that was never sent works";
  EXPECT_EQ(used.error().kind, ErrorKind::kForbidden);
  EXPECT_TRUE(PasswordIs("alice@a.test", "pw-alice@a.test"));
  // Not counted: asked again at once, the MTA taking mail again, a link goes.
  mailer_.refuse = false;
  clock_.now += 1;
  ASSERT_TRUE(Public("recovery.send_link", Json{{"address", "alice@a.test"}}).ok());
  ASSERT_EQ(mailer_.mails.size(), 1u) << "the failed send counted as the interval's link";
  const std::string& sent = mailer_.mails[0].body;
  const std::string token = sent.substr(sent.find("#/reset/") + 8, ops::kResetTokenChars);
  EXPECT_NE(token, unsent);
  auto reset = Public("recovery.reset_by_link", Json{{"token", token}, {"password", "by-link-1"}});
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  EXPECT_TRUE(PasswordIs("alice@a.test", "by-link-1"));
  std::vector<std::string> log = Log("alice@a.test");
  EXPECT_NE(std::find(log.begin(), log.end(), "mailbox-recovery-link-withdrawn 192.0.2.9 public"), log.end());
}

// Approval: submitted -> approved -> created, the mailbox made with what the
// applicant entered; no step twice, none skipped, none backwards.
TEST_F(SelfServiceTest, AnApplicationGoesThroughEveryStepOnce) {
  Actor setup{"t", "local"};
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::string("approval"), std::nullopt, setup).ok());
  Json form = {{"address", "New.Person@A.test"}, {"password", "chosen-pw-1"}, {"name", "New Person"},
               {"department", "sales"}, {"phone", "+86 10 1234"}};
  auto submitted = Public("application.submit", form, "203.0.113.5");
  ASSERT_TRUE(submitted.ok()) << submitted.error().message;
  EXPECT_EQ((*submitted)["state"], "submitted");
  EXPECT_EQ((*submitted)["address"], "New.Person@a.test");
  // No second application for the address (in any case), none for a mailbox.
  Json again = form;
  again["address"] = "new.person@a.test";
  auto pending = Public("application.submit", again);
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(pending.error().code, "application_pending");
  auto exists = Public("application.submit", Json{{"address", "alice@a.test"}, {"password", "p"}});
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(exists.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(exists.error().code, "mailbox_exists");
  Principal da = Principal::DomainAdmin("da", {"a.test"});
  da.account = "da";
  auto list = Run(da, "application.list", Json{{"state", "submitted"}});
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ((*list)["items"].size(), 1u);
  const Json& item = (*list)["items"][0];
  EXPECT_EQ(item["client"], "203.0.113.5");
  EXPECT_EQ(item["phone"], "+86 10 1234");
  EXPECT_FALSE(item.contains("password_hash"));
  const uint64_t id = item["id"].get<uint64_t>();
  EXPECT_FALSE(AdminStore(*db_).GetMailbox("new.person@a.test").ok());
  auto approved = Run(da, "application.approve", Json{{"id", id}}, "198.51.100.7");
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_EQ((*approved)["state"], "created");
  auto made = AdminStore(*db_).GetMailbox("new.person@a.test");
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->display_name, "New Person");
  EXPECT_EQ(made->department, "sales");
  EXPECT_TRUE(PasswordIs("New.Person@a.test", "chosen-pw-1"));
  // No step again, none backwards.
  auto twice = Run(da, "application.approve", Json{{"id", id}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().kind, ErrorKind::kConflict);
  EXPECT_NE(twice.error().message.find("is created"), std::string::npos) << twice.error().message;
  EXPECT_EQ(Run(da, "application.reject", Json{{"id", id}}).error().kind, ErrorKind::kConflict);
  auto decided = ApplicationStore(*db_).Get(id);
  ASSERT_TRUE(decided.ok());
  EXPECT_EQ(decided->state, "created");
  EXPECT_EQ(decided->decided_by, "da");
  EXPECT_EQ(*ApplicationStore(*db_).PasswordHash(id), "");  // not kept once decided
  EXPECT_EQ(Log("New.Person@a.test"),
            (std::vector<std::string>{"mailbox-apply 203.0.113.5 public", "mailbox-apply-approved 198.51.100.7 da",
                                      "mailbox-add 198.51.100.7 da", "mailbox-apply-created 198.51.100.7 da"}));
}

TEST_F(SelfServiceTest, ARejectedApplicationCannotBeApproved) {
  Actor setup{"t", "local"};
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::string("approval"), std::nullopt, setup).ok());
  auto submitted = Public("application.submit", Json{{"address", "x@a.test"}, {"password", "p"}});
  ASSERT_TRUE(submitted.ok());
  auto list = Run(Principal::MailAdmin("root"), "application.list", Json{{"domain", "a.test"}});
  const uint64_t id = (*list)["items"][0]["id"].get<uint64_t>();
  auto rejected = Run(Principal::MailAdmin("root"), "application.reject", Json{{"id", id}});
  ASSERT_TRUE(rejected.ok()) << rejected.error().message;
  EXPECT_EQ((*rejected)["state"], "rejected");
  EXPECT_EQ(Run(Principal::MailAdmin("root"), "application.approve", Json{{"id", id}}).error().kind,
            ErrorKind::kConflict);
  EXPECT_EQ(Run(Principal::MailAdmin("root"), "application.reject", Json{{"id", id}}).error().kind,
            ErrorKind::kConflict);
  EXPECT_FALSE(AdminStore(*db_).GetMailbox("x@a.test").ok());
  // Another domain's application reads as none to a.test's administrator.
  Principal db_admin = Principal::DomainAdmin("db", {"b.test"});
  db_admin.account = "db";
  EXPECT_EQ(Run(db_admin, "application.reject", Json{{"domain", "b.test"}, {"id", id}}).error().kind,
            ErrorKind::kNotFound);
}

// A closed domain refuses; an open one creates the mailbox at once.
TEST_F(SelfServiceTest, ClosedRefusesOpenCreatesAtOnce) {
  auto closed = Public("application.submit", Json{{"address", "x@b.test"}, {"password", "p"}});
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().kind, ErrorKind::kForbidden);
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("b.test", std::string("open"), std::nullopt, Actor{"t", "l"}).ok());
  auto open = Public("application.submit", Json{{"address", "x@b.test"}, {"password", "pw-x-1"}, {"name", "X"}});
  ASSERT_TRUE(open.ok()) << open.error().message;
  EXPECT_EQ((*open)["state"], "created");
  EXPECT_TRUE(PasswordIs("x@b.test", "pw-x-1"));
  auto again = Public("application.submit", Json{{"address", "x@b.test"}, {"password", "p"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(again.error().code, "mailbox_exists");
  EXPECT_EQ(Log("x@b.test"), (std::vector<std::string>{"mailbox-apply 192.0.2.9 public", "mailbox-add 192.0.2.9 public",
                                                      "mailbox-apply-created 192.0.2.9 public"}));
}

// Every public call counts per client; applications also for everyone
// together. A throttled call is kThrottled with the seconds to wait.
TEST_F(SelfServiceTest, ThePublicOperationsAreThrottled) {
  throttle_ = std::make_unique<ops::PublicThrottle>(3, 2, std::chrono::seconds(900));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Public("recovery.question", Json{{"address", "a@a.test"}}).ok());
  auto fourth = Public("recovery.question", Json{{"address", "a@a.test"}});
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().kind, ErrorKind::kThrottled);
  EXPECT_EQ(fourth.error().code, "");  // roster-apid's too_many_attempts, not reset_locked
  EXPECT_EQ(fourth.error().retry_after, 900);
  // Invalid input counts too, and is refused before it is read.
  EXPECT_EQ(Public("recovery.question", Json{{"bad", 1}}).error().kind, ErrorKind::kThrottled);
  EXPECT_TRUE(Public("recovery.question", Json{{"address", "a@a.test"}}, "192.0.2.10").ok());
  // Two applications from two clients, then everyone waits.
  ASSERT_TRUE(ApplicationStore(*db_).SetSelfService("a.test", std::string("approval"), std::nullopt, Actor{"t", "l"}).ok());
  EXPECT_TRUE(Public("application.submit", Json{{"address", "p1@a.test"}, {"password", "p"}}, "192.0.2.20").ok());
  EXPECT_TRUE(Public("application.submit", Json{{"address", "p2@a.test"}, {"password", "p"}}, "192.0.2.21").ok());
  EXPECT_EQ(Public("application.submit", Json{{"address", "p3@a.test"}, {"password", "p"}}, "192.0.2.22").error().kind,
            ErrorKind::kThrottled);
  clock_.now += 900;
  EXPECT_TRUE(Public("application.submit", Json{{"address", "p3@a.test"}, {"password", "p"}}, "192.0.2.22").ok());
  EXPECT_TRUE(Public("recovery.question", Json{{"address", "a@a.test"}}).ok());
}

}  // namespace
}  // namespace roster::test
