// Tests of roster-policyd's sender_logins table (Postfix's
// smtpd_sender_login_maps) and of the send-as grants behind it
// (common/policy_store.h, common/send_as_admin.h), against the private MariaDB as the policy and admin
// roles: who owns an address (its mailbox with +ext and any case, a grant, an
// alias's members when configured), what nobody owns, addresses that parse
// oddly, the bounds, and a database that is down.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "policy/service.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};
const std::string kNotFound = "NOTFOUND ";

class SenderLoginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    auto settings = PolicySettings::FromConfig(MariaDb::Get().config());
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    settings_ = *settings;
    AddDomain("here.test");
    AddDomain("also.test");
    AddMailbox("Alice@here.test");
    AddMailbox("bob@here.test");
    AddMailbox("carol@also.test");
  }

  Stores admin() { return Stores(*admin_); }
  SendAsStores send_as() { return SendAsStores(*admin_); }
  void AddDomain(const std::string& name, bool active = true) {
    Domain d;
    d.name = name;
    d.active = active;
    ASSERT_TRUE(admin().AddDomain(d, kActor).ok()) << name;
  }
  void AddMailbox(const std::string& address, bool active = true) {
    NewMailbox m;
    m.address = address;
    m.password_hash = "{PLAIN}x";
    m.active = active;
    ASSERT_TRUE(admin().AddMailbox(m, kActor).ok()) << address;
  }
  void Subscribe(const std::string& address, const std::string& recipient) {
    ASSERT_TRUE(admin().AddSubscription(Subscription{0, 'I', address, recipient}, kActor).ok());
  }
  void Grant(const std::string& address, const std::string& login) {
    Status s = send_as().Grant(address, login, kActor);
    ASSERT_TRUE(s.ok()) << address << " " << login << ": " << s.error().message;
  }

  Service& service() {
    if (!service_) service_ = std::make_unique<Service>(settings_);
    return *service_;
  }
  std::string Owners(const std::string& sender) {
    std::string log;
    return service().AnswerSocketmap("sender_logins " + sender, &log);
  }

  std::unique_ptr<Db> admin_;
  PolicySettings settings_;
  std::unique_ptr<Service> service_;
};

TEST_F(SenderLoginsTest, AMailboxOwnsItsAddressWithAnyExtensionAndCase) {
  // The login as stored: Dovecot's passdb answers that spelling as the SASL login.
  EXPECT_EQ(Owners("Alice@here.test"), "OK Alice@here.test");
  EXPECT_EQ(Owners("alice@HERE.test"), "OK Alice@here.test");
  EXPECT_EQ(Owners("alice+lists@here.test"), "OK Alice@here.test");
  EXPECT_EQ(Owners("ALICE+Lists@here.test"), "OK Alice@here.test");
  // Postfix drops one dot at the end of the domain; roster reads it the same way.
  EXPECT_EQ(Owners("alice@here.test."), "OK Alice@here.test");
  // A mailbox whose name holds the delimiter owns its whole name.
  AddMailbox("a+b@here.test");
  AddMailbox("a@here.test");
  EXPECT_EQ(Owners("a+b@here.test"), "OK a+b@here.test");
  EXPECT_EQ(Owners("a+c@here.test"), "OK a@here.test");
}

TEST_F(SenderLoginsTest, NobodyOwnsOtherAddresses) {
  EXPECT_EQ(Owners("nobody@here.test"), kNotFound);
  EXPECT_EQ(Owners("someone@remote.test"), kNotFound);
  // Postfix never asks with anything but a whole address; the table does not guess.
  EXPECT_EQ(Owners("@here.test"), kNotFound);
  EXPECT_EQ(Owners("here.test"), kNotFound);
  EXPECT_EQ(Owners("alice"), kNotFound);
}

TEST_F(SenderLoginsTest, DisabledMailboxesAndDomainsOwnNothing) {
  AddMailbox("off@here.test", false);
  EXPECT_EQ(Owners("off@here.test"), kNotFound);
  AddDomain("gone.test", false);
  AddMailbox("dave@gone.test");
  EXPECT_EQ(Owners("dave@gone.test"), kNotFound);
  // A disabled mailbox does not keep a grant either.
  Grant("shared@here.test", "off@here.test");
  Grant("shared@here.test", "bob@here.test");
  EXPECT_EQ(Owners("shared@here.test"), "OK bob@here.test");
  // A disabled mailbox named by +ext is what delivery finds: the bare mailbox does not own it.
  AddMailbox("e+x@here.test", false);
  AddMailbox("e@here.test");
  EXPECT_EQ(Owners("e+x@here.test"), kNotFound);
  EXPECT_EQ(Owners("e+y@here.test"), "OK e@here.test");
}

TEST_F(SenderLoginsTest, GrantsOnAnAddressItsExtensionsAndAWholeDomain) {
  Subscribe("sales@here.test", "bob@here.test");
  EXPECT_EQ(Owners("sales@here.test"), kNotFound);  // receiving is not sending, by default
  Grant("Sales@here.test", "carol@also.test");
  EXPECT_EQ(Owners("sales@here.test"), "OK carol@also.test");
  EXPECT_EQ(Owners("SALES+eu@here.test"), "OK carol@also.test");
  // Another mailbox's address: its owner and the granted login.
  Grant("bob@here.test", "alice@here.test");
  EXPECT_EQ(Owners("bob@here.test"), "OK bob@here.test,Alice@here.test");
  EXPECT_EQ(Owners("bob+x@here.test"), "OK bob@here.test,Alice@here.test");
  // A grant on one +ext form is only that form (and its owner keeps it).
  Grant("bob+news@here.test", "carol@also.test");
  EXPECT_EQ(Owners("bob+news@here.test"), "OK bob@here.test,Alice@here.test,carol@also.test");
  EXPECT_EQ(Owners("bob+other@here.test"), "OK bob@here.test,Alice@here.test");
  // An address elsewhere.
  Grant("carol@remote.test", "carol@also.test");
  EXPECT_EQ(Owners("Carol@Remote.test"), "OK carol@also.test");
  // "@domain": every address of the domain, next to each address's own owners.
  Grant("@also.test", "alice@here.test");
  EXPECT_EQ(Owners("anything@also.test"), "OK Alice@here.test");
  EXPECT_EQ(Owners("carol@also.test"), "OK carol@also.test,Alice@here.test");
  // Revoked: gone at once (nothing is cached).
  ASSERT_TRUE(send_as().Revoke("sales@here.test", "Carol@also.test", kActor).ok());
  EXPECT_EQ(Owners("sales@here.test"), kNotFound);
}

TEST_F(SenderLoginsTest, AliasMembersOnlyWhenConfigured) {
  AddMailbox("dan@here.test");
  AddMailbox("off@here.test", false);
  Subscribe("team@here.test", "bob@here.test");
  Subscribe("team@here.test", "sub@here.test");     // a nested alias
  Subscribe("sub@here.test", "dan@here.test");
  Subscribe("team@here.test", "off@here.test");     // disabled: not an owner
  Subscribe("team@here.test", "friend@remote.test"); // elsewhere: not a login here
  Subscribe("@here.test", "alice@here.test");       // the catch-all: never an owner
  Subscribe("bob@here.test", "carol@also.test");    // a forward of a mailbox: never its sender
  EXPECT_EQ(Owners("team@here.test"), kNotFound);
  settings_.sender_login_alias_members = true;
  service_.reset();
  EXPECT_EQ(Owners("team@here.test"), "OK bob@here.test,dan@here.test");
  EXPECT_EQ(Owners("team+x@here.test"), "OK bob@here.test,dan@here.test");
  EXPECT_EQ(Owners("unknown@here.test"), kNotFound);
  EXPECT_EQ(Owners("bob@here.test"), "OK bob@here.test");
  // A grant and a membership: named once.
  Grant("team@here.test", "bob@here.test");
  Grant("team@here.test", "carol@also.test");
  EXPECT_EQ(Owners("team@here.test"), "OK bob@here.test,carol@also.test,dan@here.test");
  // A loop ends.
  Subscribe("sub@here.test", "team@here.test");
  EXPECT_EQ(Owners("team@here.test"), "OK bob@here.test,carol@also.test,dan@here.test");
}

// The alias members are found within the quota check's bounds
// (Service::kMaxAliasDepth levels, kMaxAliasTargets addresses); those past
// them are not owners, and the log says so.
TEST_F(SenderLoginsTest, AliasMembersWithinTheQuotaChecksBounds) {
  settings_.sender_login_alias_members = true;
  AddMailbox("deep@here.test");
  // d1 -> d2 -> d3 -> d4 -> deep: four levels from d1, five from d0.
  Subscribe("d4@here.test", "deep@here.test");
  for (int i = 3; i >= 0; --i)
    Subscribe("d" + std::to_string(i) + "@here.test", "d" + std::to_string(i + 1) + "@here.test");
  std::string log;
  EXPECT_EQ(service().AnswerSocketmap("sender_logins d1@here.test", &log), "OK deep@here.test");
  EXPECT_EQ(log, "");
  EXPECT_EQ(service().AnswerSocketmap("sender_logins d0@here.test", &log), kNotFound);
  EXPECT_NE(log.find("alias members past 4 levels or 100 addresses are not owners"), std::string::npos) << log;
  // 99 members and the alias itself are 100 addresses; one member more is past it.
  for (size_t i = 0; i < Service::kMaxAliasTargets; ++i) {
    std::string member = "m" + std::to_string(i) + "@here.test";
    AddMailbox(member);
    Subscribe("wide@here.test", member);
    if (i + 1 < Service::kMaxAliasTargets) Subscribe("narrow@here.test", member);
  }
  auto count = [](const std::string& answer) { return std::count(answer.begin(), answer.end(), '@'); };
  log.clear();
  EXPECT_EQ(count(service().AnswerSocketmap("sender_logins narrow@here.test", &log)), 99);
  EXPECT_EQ(log, "");
  EXPECT_EQ(count(service().AnswerSocketmap("sender_logins wide@here.test", &log)), 99);
  EXPECT_NE(log.find("are not owners"), std::string::npos) << log;
}

TEST_F(SenderLoginsTest, OddSendersParseOrAreRefusedCleanly) {
  // Postfix skips the check for the null sender; asked anyway, nobody owns it.
  EXPECT_EQ(Owners("<>"), kNotFound);
  EXPECT_EQ(Owners("<alice@here.test>"), kNotFound);
  // Quoted local parts (Postfix asks with the quoted form, then the unquoted one).
  EXPECT_EQ(Owners("\"alice\"@here.test"), kNotFound);
  EXPECT_EQ(Owners("\"alice smith\"@here.test"), kNotFound);
  EXPECT_EQ(Owners("alice smith@here.test"), kNotFound);
  // Dots: two at the end, one right after '@', one closing the local part.
  EXPECT_EQ(Owners("alice@here.test.."), kNotFound);
  EXPECT_EQ(Owners("alice@.here.test"), kNotFound);
  EXPECT_EQ(Owners("alice.@here.test"), kNotFound);
  // 8-bit that is not UTF-8, control characters, NUL.
  EXPECT_EQ(Owners("al\xffice@here.test"), kNotFound);
  EXPECT_EQ(Owners(std::string("alice\0@here.test", 16)), kNotFound);
  EXPECT_EQ(Owners("alice\r@here.test"), kNotFound);
  // Over-long local part and address.
  EXPECT_EQ(Owners(std::string(65, 'a') + "@here.test"), kNotFound);
  EXPECT_EQ(Owners("a@" + std::string(250, 'b') + ".test"), kNotFound);
  EXPECT_EQ(Owners(std::string(5000, 'x')), kNotFound);
  // Two '@': the last one splits, as Postfix does; nobody owns the result.
  EXPECT_EQ(Owners("alice@here.test@evil.test"), kNotFound);
  // UTF-8 is an address like any other.
  AddMailbox("jürgen@here.test");
  EXPECT_EQ(Owners("jürgen+x@here.test"), "OK jürgen@here.test");
}

TEST_F(SenderLoginsTest, GrantsAreBoundedAndCheckedAndLogged) {
  EXPECT_EQ(send_as().Grant("x@here.test", "nobody@here.test", kActor).error().kind, ErrorKind::kNotFound);
  Grant("x@here.test", "bob@here.test");
  EXPECT_EQ(send_as().Grant("X@here.test", "BOB@here.test", kActor).error().kind, ErrorKind::kConflict);
  EXPECT_EQ(send_as().Revoke("x@here.test", "alice@here.test", kActor).error().kind, ErrorKind::kNotFound);
  auto listed = send_as().List("bob@here.test", 100);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].address, "x@here.test");
  EXPECT_EQ((*listed)[0].login, "bob@here.test");
  ChangeLogFilter f;
  f.object = "bob@here.test";
  f.action = "send-as-grant";
  auto log = admin().ListChangeLog(f);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].detail, "may send as x@here.test");
  // Deleting the mailbox deletes its grants.
  ASSERT_TRUE(admin().DeleteMailbox("bob@here.test", kActor).ok());
  EXPECT_TRUE(send_as().List("x@here.test", 100)->empty());
}

TEST_F(SenderLoginsTest, AnAnswerStaysWithinWhatPostfixTakes) {
  // kMaxOwners grants fit one answer; one more row, written around rosterctl,
  // defers the mail instead of answering a list cut short.
  for (size_t i = 0; i < PolicyStore::kMaxOwners; ++i) AddMailbox("user" + std::to_string(i) + "@here.test");
  ASSERT_TRUE(admin_->Execute("INSERT INTO send_as (address, mailbox_id) SELECT 'big@here.test', id FROM mailbox "
                              "WHERE address LIKE 'user%'").ok());
  std::string answer = Owners("big@here.test");
  ASSERT_EQ(answer.substr(0, 3), "OK ");
  EXPECT_LT(answer.size(), 100000u);
  EXPECT_EQ(send_as().Grant("big@here.test", "alice@here.test", kActor).error().kind, ErrorKind::kInvalid);
  ASSERT_TRUE(admin_->Execute("INSERT INTO send_as (address, mailbox_id) SELECT 'big@here.test', id FROM mailbox "
                              "WHERE address = 'Alice@here.test'").ok());
  EXPECT_EQ(Owners("big@here.test"), "TEMP lookup failed (see the log)");
}

TEST_F(SenderLoginsTest, DatabaseDownIsATemporaryFailureNeverANo) {
  EXPECT_EQ(Owners("alice@here.test"), "OK Alice@here.test");
  MariaDb::Get().Stop();
  service_.reset();
  EXPECT_EQ(Owners("alice@here.test"), "TEMP database unavailable");
  EXPECT_EQ(Owners("nobody@here.test"), "TEMP database unavailable");
  MariaDb::Get().Start();
  EXPECT_EQ(Owners("alice@here.test"), "OK Alice@here.test");
}

TEST_F(SenderLoginsTest, RosterctlGrantsListsAndRevokesWithTheChangeLog) {
  auto& db = MariaDb::Get();
  auto r = db.Rosterctl({"send-as", "grant", "Sales@Here.test", "BOB@here.test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "granted: BOB@here.test may send as Sales@here.test\n");
  EXPECT_EQ(Owners("sales@here.test"), "OK bob@here.test");
  ASSERT_EQ(db.Rosterctl({"send-as", "grant", "@also.test", "alice@here.test"}).exit_code, 0);
  EXPECT_EQ(Owners("x@also.test"), "OK Alice@here.test");
  // Twice, an unknown login, bad addresses, a missing word: refused, nothing written.
  EXPECT_NE(db.Rosterctl({"send-as", "grant", "sales@here.test", "bob@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "grant", "sales@here.test", "nobody@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "grant", "\"a b\"@here.test", "bob@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "grant", std::string(300, 'a') + "@here.test", "bob@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "grant", "@", "bob@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "grant", "sales@here.test"}).exit_code, 0);
  EXPECT_NE(db.Rosterctl({"send-as", "allow", "sales@here.test", "bob@here.test"}).exit_code, 0);
  // list: all, by address, by login; --json.
  r = db.Rosterctl({"send-as", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "@also.test  Alice@here.test\nsales@here.test  bob@here.test\n");
  r = db.Rosterctl({"send-as", "list", "bob@here.test"});
  EXPECT_EQ(r.out, "sales@here.test  bob@here.test\n");
  r = db.Rosterctl({"send-as", "list", "@also.test", "--json"});
  EXPECT_NE(r.out.find("\"address\":\"@also.test\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"login\":\"Alice@here.test\""), std::string::npos) << r.out;
  // revoke, and the change log of both.
  r = db.Rosterctl({"send-as", "revoke", "sales@here.test", "bob@here.test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Owners("sales@here.test"), kNotFound);
  EXPECT_NE(db.Rosterctl({"send-as", "revoke", "sales@here.test", "bob@here.test"}).exit_code, 0);
  r = db.Rosterctl({"log", "--account", "bob@here.test"});
  EXPECT_NE(r.out.find("send-as-grant"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("send-as-revoke"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace roster::test
