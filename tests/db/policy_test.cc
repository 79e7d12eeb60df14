// Tests of roster-policyd's answers (policy/service.h) against the private
// MariaDB, as the policy role: the quota check after +ext, aliases and
// catch-alls; POP/IMAP-before-SMTP; the socketmap tables; the cache; and a
// database that is down.
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <string>

#include "policy/service.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};
const std::string kOverQuota = "452 4.2.2 Mailbox is over quota";

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    dict_ = MariaDb::Get().Connect(DbRole::kDict);
    auto settings = PolicySettings::FromConfig(MariaDb::Get().config());
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    settings_ = *settings;
    AddDomain("here.test");
    AddDomain("also.test");
  }

  Stores admin() { return Stores(*admin_); }
  void AddDomain(const std::string& name, bool active = true) {
    Domain d;
    d.name = name;
    d.active = active;
    ASSERT_TRUE(admin().AddDomain(d, kActor).ok()) << name;
  }
  // A mailbox with byte and message limits and usage (negative: no usage).
  void AddMailbox(const std::string& address, uint64_t max_bytes, int64_t bytes, uint64_t max_messages = 0,
                  int64_t messages = 0, bool active = true, const std::string& unit = "") {
    NewMailbox m;
    m.address = address;
    m.password_hash = "{PLAIN}x";
    m.max_bytes = max_bytes;
    m.max_messages = max_messages;
    m.active = active;
    m.unit = unit;
    ASSERT_TRUE(admin().AddMailbox(m, kActor).ok()) << address;
    if (bytes >= 0) {
      ASSERT_TRUE(admin().SetUsageCounter(address, UsageCounter::kBytes, bytes).ok());
      ASSERT_TRUE(admin().SetUsageCounter(address, UsageCounter::kMessages, messages).ok());
    }
  }
  void Subscribe(const std::string& address, const std::string& recipient, char direction = 'I') {
    ASSERT_TRUE(admin().AddSubscription(Subscription{0, direction, address, recipient}, kActor).ok());
  }
  void Login(const std::string& address, const std::string& ip, int64_t seconds_ago = 0) {
    ASSERT_TRUE(UsageStore(*dict_).RecordLastLogin(address, "imap", ip, time(nullptr) - seconds_ago).ok());
  }
  void Sql(const std::string& sql) { ASSERT_TRUE(admin_->Execute(sql).ok()) << sql; }

  Service& service() {
    if (!service_) service_ = std::make_unique<Service>(settings_);
    return *service_;
  }
  std::string Decide(const std::string& recipient, const std::string& client = "192.0.2.99", uint64_t size = 0,
                     const std::string& state = "RCPT", const std::string& context = "",
                     const std::string& sasl = "") {
    PolicyRequest r;
    r.request = "smtpd_access_policy";
    r.protocol_state = state;
    r.recipient = recipient;
    r.client_address = client;
    r.size = size;
    r.policy_context = context;
    r.sasl_username = sasl;
    return service().Decide(r).action;
  }
  std::string Table(const std::string& name, const std::string& key) {
    std::string log;
    return service().AnswerSocketmap(name + " " + key, &log);
  }

  std::unique_ptr<Db> admin_, dict_;
  PolicySettings settings_;
  std::unique_ptr<Service> service_;
};

TEST_F(PolicyTest, MailboxOverItsByteOrMessageLimitIsRefusedWithItsAddress) {
  AddMailbox("full@here.test", 1000, 1000);
  AddMailbox("room@here.test", 1000, 400);
  AddMailbox("count@here.test", 0, 5, 10, 10);
  AddMailbox("fresh@here.test", 1000, -1);  // no usage row yet
  AddMailbox("free@here.test", 0, 999999);  // unlimited
  EXPECT_EQ(Decide("full@here.test"), kOverQuota);
  EXPECT_EQ(Decide("count@here.test"), kOverQuota);
  EXPECT_EQ(Decide("room@here.test"), "DUNNO");
  EXPECT_EQ(Decide("fresh@here.test"), "DUNNO");
  EXPECT_EQ(Decide("free@here.test"), "DUNNO");
  // The SIZE= of MAIL FROM counts: 400 + 600 fits exactly, 601 does not.
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 600), "DUNNO");
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 601), kOverQuota);
  // Unknown recipients are Postfix's tables' business.
  EXPECT_EQ(Decide("nobody@here.test"), "DUNNO");
}

TEST_F(PolicyTest, ExtensionAndCaseAreStripped) {
  AddMailbox("full@here.test", 1000, 1000);
  EXPECT_EQ(Decide("Full+Lists@HERE.test"), kOverQuota);
  // A mailbox whose name holds the delimiter is found by its whole name first.
  AddMailbox("a+b@here.test", 1000, 1000);
  AddMailbox("a@here.test", 1000, 0);
  EXPECT_EQ(Decide("a+b@here.test"), kOverQuota);
  EXPECT_EQ(Decide("a+c@here.test"), "DUNNO");
}

TEST_F(PolicyTest, TrailingDotOfTheDomainIsDroppedAsPostfixDoes) {
  // Postfix delivers bob@here.test. to bob@here.test: so is it checked.
  AddMailbox("bob@here.test", 1000, 1000);
  AddMailbox("room@here.test", 1000, 0);
  EXPECT_EQ(Decide("bob@here.test."), kOverQuota);
  EXPECT_EQ(Decide("Bob+x@HERE.test."), kOverQuota);
  EXPECT_EQ(Decide("bob@here.test.", "192.0.2.99", 0, "END-OF-MESSAGE"), kOverQuota);
  EXPECT_EQ(Decide("room@here.test."), "DUNNO");
  Subscribe("list@here.test", "bob@here.test");
  EXPECT_EQ(Decide("list@here.test."), kOverQuota);
  EXPECT_EQ(Decide("bob@here.test.."), "DUNNO");  // not an address Postfix delivers
  // Our domain with the dot is still ours: no relaying to it; a remote one is relayed.
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  EXPECT_EQ(Decide("x@here.test.", "192.0.2.5", 0, "RCPT", "relay"), "DUNNO");
  EXPECT_EQ(Decide("x@here.test.", "192.0.2.5"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test.", "192.0.2.5", 0, "RCPT", "relay"), "OK");
}

TEST_F(PolicyTest, EndOfMessageRechecksOneRecipientWithTheRealSize) {
  AddMailbox("room@here.test", 1000, 400);
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 0, "RCPT"), "DUNNO");
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 5000, "END-OF-MESSAGE"),
            kOverQuota);
  // Mail to several recipients has no recipient at END-OF-MESSAGE.
  EXPECT_EQ(Decide("", "192.0.2.99", 5000, "END-OF-MESSAGE"), "DUNNO");
  // Other stages are not checked.
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 5000, "DATA"), "DUNNO");
  EXPECT_EQ(Decide("room@here.test", "192.0.2.99", 5000, "MAIL"), "DUNNO");
}

TEST_F(PolicyTest, AnAliasIsRefusedOnlyWhenEveryMailboxBehindItIsOverQuota) {
  AddMailbox("full1@here.test", 1000, 1000);
  AddMailbox("full2@also.test", 1000, 1000);
  AddMailbox("room@here.test", 1000, 0);
  AddMailbox("gone@here.test", 1000, 1000, 0, 0, /*active=*/false);
  // A disabled mailbox's mail goes to its subscribers only.
  Subscribe("gone@here.test", "full1@here.test");
  Subscribe("gone@here.test", "full2@also.test");
  EXPECT_EQ(Decide("gone@here.test"), kOverQuota);
  // A list with one member that has room takes the mail.
  Subscribe("list@here.test", "full1@here.test");
  Subscribe("list@here.test", "room@here.test");
  EXPECT_EQ(Decide("list@here.test"), "DUNNO");
  // A member elsewhere can always take it.
  Subscribe("fwd@here.test", "full1@here.test");
  Subscribe("fwd@here.test", "someone@remote.test");
  EXPECT_EQ(Decide("fwd@here.test"), "DUNNO");
  // Aliases of aliases are followed.
  Subscribe("outer@here.test", "gone@here.test");
  EXPECT_EQ(Decide("outer@here.test"), kOverQuota);
  // A disabled domain's mailbox gets nothing: it neither counts nor holds up the rest.
  AddDomain("off.test", /*active=*/false);
  AddMailbox("x@off.test", 1000, 0);
  Subscribe("mixed@here.test", "x@off.test");
  Subscribe("mixed@here.test", "full1@here.test");
  EXPECT_EQ(Decide("mixed@here.test"), kOverQuota);
  // A loop ends and refuses nothing it cannot prove.
  Subscribe("loop1@here.test", "loop2@here.test");
  Subscribe("loop2@here.test", "loop1@here.test");
  EXPECT_EQ(Decide("loop1@here.test"), "DUNNO");
  // An active mailbox's own quota decides; its BCC subscribers do not.
  Subscribe("room@here.test", "full1@here.test");
  EXPECT_EQ(Decide("room@here.test"), "DUNNO");
  Subscribe("full1@here.test", "room@here.test");
  EXPECT_EQ(Decide("full1@here.test"), kOverQuota);
}

// Aliases are followed kMaxAliasDepth levels deep and to kMaxAliasTargets
// addresses; past that the mail counts as going elsewhere (never refused).
TEST_F(PolicyTest, AliasesAreFollowedWithinTheirBounds) {
  AddMailbox("full@here.test", 1000, 1000);
  // d1 -> d2 -> d3 -> d4 -> full: four levels from d1, five from d0.
  Subscribe("d4@here.test", "full@here.test");
  for (int i = 3; i >= 0; --i)
    Subscribe("d" + std::to_string(i) + "@here.test", "d" + std::to_string(i + 1) + "@here.test");
  EXPECT_EQ(Decide("d1@here.test"), kOverQuota);
  EXPECT_EQ(Decide("d0@here.test"), "DUNNO");
  // 99 members and the alias itself are 100 addresses; one member more is past it.
  for (size_t i = 0; i < Service::kMaxAliasTargets; ++i) {
    std::string member = "m" + std::to_string(i) + "@here.test";
    AddMailbox(member, 1000, 1000);
    Subscribe("wide@here.test", member);
    if (i + 1 < Service::kMaxAliasTargets) Subscribe("narrow@here.test", member);
  }
  EXPECT_EQ(Decide("narrow@here.test"), kOverQuota);
  EXPECT_EQ(Decide("wide@here.test"), "DUNNO");
}

TEST_F(PolicyTest, CatchAllTakesUnknownAddresses) {
  AddMailbox("full@here.test", 1000, 1000);
  AddMailbox("room@also.test", 1000, 0);
  Subscribe("@here.test", "full@here.test");
  Subscribe("@also.test", "room@also.test");
  EXPECT_EQ(Decide("anything@here.test"), kOverQuota);
  EXPECT_EQ(Decide("anything@also.test"), "DUNNO");
}

TEST_F(PolicyTest, ConfiguredReplyAndPermanentCode) {
  settings_.overquota_code = "552 5.2.2";
  settings_.overquota_text = "Quota exceeded";
  AddMailbox("full@here.test", 1000, 1000);
  EXPECT_EQ(Decide("full@here.test"), "552 5.2.2 Quota exceeded");
}

TEST_F(PolicyTest, RelayAfterARecentLoginFromTheSameAddressOnly) {
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.6"), "DUNNO");
  // Authenticated clients are permit_sasl_authenticated's business.
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "", "user@here.test"), "DUNNO");
  // Only at RCPT, and not in the quota-only context.
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "END-OF-MESSAGE"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "quota"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");
  // A local recipient is never "relay permitted" by this check.
  EXPECT_EQ(Decide("user@here.test", "192.0.2.5"), "DUNNO");
}

TEST_F(PolicyTest, RelayWindowAndDisabledMailboxes) {
  AddMailbox("old@here.test", 0, 0);
  AddMailbox("off@here.test", 0, 0, 0, 0, /*active=*/false);
  settings_.relay_window = std::chrono::minutes(30);
  Login("old@here.test", "192.0.2.10", 31 * 60);
  Login("off@here.test", "192.0.2.11");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.10"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.11"), "DUNNO");
  Login("old@here.test", "192.0.2.10", 29 * 60);
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.10"), "OK");
}

TEST_F(PolicyTest, RelayMatchesIpv6ByPrefixAndMappedIpv4) {
  AddMailbox("six@here.test", 0, 0);
  Login("six@here.test", "2001:db8:1:2::10");
  EXPECT_EQ(Decide("friend@remote.test", "2001:db8:1:2:ffff::1"), "OK");  // same /64
  EXPECT_EQ(Decide("friend@remote.test", "2001:db8:1:3::10"), "DUNNO");
  settings_.relay_ipv6_prefix = 128;
  service_.reset();
  EXPECT_EQ(Decide("friend@remote.test", "2001:db8:1:2:ffff::1"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "2001:db8:1:2::10"), "OK");
  AddMailbox("four@here.test", 0, 0);
  Login("four@here.test", "192.0.2.44");
  EXPECT_EQ(Decide("friend@remote.test", "::ffff:192.0.2.44"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "not an address"), "DUNNO");
}

TEST_F(PolicyTest, Nat64ClientsAreMatchedByTheIpv4AddressTheyCarry) {
  // Behind a NAT64 translator (64:ff9b::/96, the default), the whole IPv4
  // Internet shares one /64: one login must not let every IPv4 host relay.
  AddMailbox("roam@here.test", 0, 0);
  Login("roam@here.test", "64:ff9b::c000:205");  // 192.0.2.5, through the translator
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c000:205"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c000:206"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::cb00:7101"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "OK");  // the same host over IPv4
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.6"), "DUNNO");
  // A login over IPv4 counts for the same host through the translator.
  AddMailbox("four@here.test", 0, 0);
  Login("four@here.test", "198.51.100.7");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c633:6407"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c633:6408"), "DUNNO");
  // Under the IPv4 prefix setting.
  settings_.relay_ipv4_prefix = 24;
  service_.reset();
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c633:64fe"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b::c633:6507"), "DUNNO");
  // The local-use block, configured as a /48: 198.51.100.7 is 64:ff9b:1:c633:64:700::.
  settings_.relay_ipv4_prefix = 32;
  auto local_use = ParseNat64Prefix("64:ff9b:1::/48");
  ASSERT_TRUE(local_use.ok());
  settings_.relay_nat64_prefixes.push_back(*local_use);
  service_.reset();
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b:1:c633:64:700::"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b:1:c633:64:800::"), "DUNNO");
  // Not configured: only the very address counts, never its /64.
  settings_.relay_nat64_prefixes.pop_back();
  service_.reset();
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b:1:c633:64:700::"), "DUNNO");
  Login("four@here.test", "64:ff9b:1::c633:6407");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b:1::c633:6407"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "64:ff9b:1::c633:6408"), "DUNNO");
}

TEST_F(PolicyTest, CacheKeepsAnswersForItsTtlOnly) {
  AddMailbox("box@here.test", 1000, 0);
  settings_.cache_ttl = std::chrono::hours(1);
  EXPECT_EQ(Decide("box@here.test"), "DUNNO");
  ASSERT_TRUE(admin().SetUsageCounter("box@here.test", UsageCounter::kBytes, 1000).ok());
  EXPECT_EQ(Decide("box@here.test"), "DUNNO");  // cached
  EXPECT_EQ(Decide("BOX@here.test"), "DUNNO");  // the same key
  service_.reset();                            // a reload starts afresh
  EXPECT_EQ(Decide("box@here.test"), kOverQuota);
  settings_.cache_ttl = std::chrono::milliseconds(0);
  service_.reset();
  ASSERT_TRUE(admin().SetUsageCounter("box@here.test", UsageCounter::kBytes, 0).ok());
  EXPECT_EQ(Decide("box@here.test"), "DUNNO");
}

TEST_F(PolicyTest, CachedRelayOkNeedsTheDatabaseEveryTime) {
  const std::string kRelayUnknown = "DEFER_IF_REJECT 4.3.0 Temporary lookup failure";
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  settings_.cache_ttl = std::chrono::hours(1);
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "OK");  // the recipient's state is cached now
  MariaDb::Get().Stop();
  // The database is gone: no OK from the cache, but a temporary answer.
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), kRelayUnknown);
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), kRelayUnknown);
  MariaDb::Get().Start();
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");
}

TEST_F(PolicyTest, CachedRelayOkEndsWhenTheMailboxOrDomainIsDisabled) {
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  settings_.cache_ttl = std::chrono::hours(1);
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "OK");
  ASSERT_TRUE(admin().SetMailboxActive("user@here.test", false, kActor).ok());
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "DUNNO");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "DUNNO");
  // A refusal is cached (for the TTL: doc/postfix.md) ...
  ASSERT_TRUE(admin().SetMailboxActive("user@here.test", true, kActor).ok());
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"), "DUNNO");
  // ... a permission never is: the domain disabled ends it too.
  AddMailbox("other@also.test", 0, 0);
  Login("other@also.test", "192.0.2.6");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.6", 0, "RCPT", "relay"), "OK");
  ASSERT_TRUE(admin().SetDomainActive("also.test", false, kActor).ok());
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.6", 0, "RCPT", "relay"), "DUNNO");
}

TEST_F(PolicyTest, RelayOnlyContextCachesWhetherADomainIsOurs) {
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  settings_.cache_ttl = std::chrono::hours(1);
  EXPECT_EQ(Decide("f@later.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");
  AddDomain("later.test");
  EXPECT_EQ(Decide("f@later.test", "192.0.2.5", 0, "RCPT", "relay"), "OK");  // cached: not ours
  service_.reset();
  EXPECT_EQ(Decide("f@later.test", "192.0.2.5", 0, "RCPT", "relay"), "DUNNO");
}

TEST_F(PolicyTest, OtherRequestsAndBadRecipientsAreLeftToPostfix) {
  AddMailbox("full@here.test", 1000, 1000);
  PolicyRequest r;
  r.request = "something_else";
  r.protocol_state = "RCPT";
  r.recipient = "full@here.test";
  EXPECT_EQ(service().Decide(r).action, "DUNNO");
  EXPECT_EQ(Decide("no-at-sign"), "DUNNO");
  EXPECT_EQ(Decide(std::string("bad\x01@here.test")), "DUNNO");
  EXPECT_EQ(Decide(std::string(300, 'a') + "@here.test"), "DUNNO");
}

TEST_F(PolicyTest, DisabledDomainIsNotChecked) {
  AddDomain("off.test", /*active=*/false);
  AddMailbox("full@off.test", 1000, 1000);
  AddMailbox("user@here.test", 0, 0);
  Login("user@here.test", "192.0.2.5");
  EXPECT_EQ(Decide("full@off.test"), "DUNNO");
  // Still a local domain: no relaying to it on a login.
  EXPECT_EQ(Decide("x@off.test", "192.0.2.5"), "DUNNO");
}

TEST_F(PolicyTest, Tables) {
  AddDomain("off.test", /*active=*/false);
  Sql("UPDATE domain SET transport = 'smtp:[relay.also.test]' WHERE name = 'also.test'");
  AddMailbox("alice@here.test", 0, 0);
  AddMailbox("Bob@here.test", 0, 0);
  AddMailbox("gone@here.test", 0, 0, 0, 0, /*active=*/false);
  AddMailbox("x@off.test", 0, 0);
  Subscribe("gone@here.test", "alice@here.test");
  Subscribe("gone@here.test", "carol@remote.test");
  Subscribe("@here.test", "alice@here.test");
  Subscribe("list@here.test", "bob@here.test");
  Subscribe("alice@here.test", "archive@remote.test");
  Subscribe("alice@here.test", "boss@here.test");
  Subscribe("alice@here.test", "sent@remote.test", 'O');

  EXPECT_EQ(Table("domains", "here.test"), "OK here.test");
  EXPECT_EQ(Table("domains", "HERE.test"), "OK here.test");
  EXPECT_EQ(Table("domains", "off.test"), "NOTFOUND ");
  EXPECT_EQ(Table("domains", "remote.test"), "NOTFOUND ");

  EXPECT_EQ(Table("mailboxes", "alice@here.test"), "OK here.test/alice/");
  EXPECT_EQ(Table("mailboxes", "BOB+tag@here.test"), "OK here.test/bob/");
  EXPECT_EQ(Table("mailboxes", "gone@here.test"), "NOTFOUND ");
  EXPECT_EQ(Table("mailboxes", "x@off.test"), "NOTFOUND ");
  EXPECT_EQ(Table("mailboxes", "here.test"), "NOTFOUND ");

  EXPECT_EQ(Table("aliases", "alice@here.test"), "OK alice@here.test");
  EXPECT_EQ(Table("aliases", "alice+news@here.test"), "OK alice+news@here.test");
  EXPECT_EQ(Table("aliases", "gone@here.test"), "OK alice@here.test,carol@remote.test");
  EXPECT_EQ(Table("aliases", "gone+x@here.test"), "OK alice@here.test,carol@remote.test");
  EXPECT_EQ(Table("aliases", "list@here.test"), "OK bob@here.test");
  EXPECT_EQ(Table("aliases", "unknown@here.test"), "OK alice@here.test");  // the catch-all
  EXPECT_EQ(Table("aliases", "@here.test"), "OK alice@here.test");
  EXPECT_EQ(Table("aliases", "unknown@also.test"), "NOTFOUND ");
  EXPECT_EQ(Table("aliases", "x@off.test"), "NOTFOUND ");
  EXPECT_EQ(Table("aliases", "someone@remote.test"), "NOTFOUND ");

  EXPECT_EQ(Table("recipient_bcc", "alice@here.test"), "OK alice=here.test@bcc-in.roster.invalid");
  EXPECT_EQ(Table("recipient_bcc", "alice+x@here.test"), "OK alice=here.test@bcc-in.roster.invalid");
  EXPECT_EQ(Table("recipient_bcc", "bob@here.test"), "NOTFOUND ");
  EXPECT_EQ(Table("sender_bcc", "alice@here.test"), "OK alice=here.test@bcc-out.roster.invalid");
  EXPECT_EQ(Table("sender_bcc", "bob@here.test"), "NOTFOUND ");
  EXPECT_EQ(Table("aliases", "alice=here.test@bcc-in.roster.invalid"), "OK archive@remote.test,boss@here.test");
  EXPECT_EQ(Table("aliases", "alice=here.test@bcc-out.roster.invalid"), "OK sent@remote.test");

  EXPECT_EQ(Table("transport", "also.test"), "OK smtp:[relay.also.test]");
  EXPECT_EQ(Table("transport", "here.test"), "NOTFOUND ");
  EXPECT_EQ(Table("transport", "alice@here.test"), "NOTFOUND ");
  // Postfix asks socketmap transport tables for whole addresses only.
  EXPECT_EQ(Table("transport", "anyone+x@also.test"), "OK smtp:[relay.also.test]");
  EXPECT_EQ(Table("transport", "someone@remote.test"), "NOTFOUND ");

  // One dot at the end of the domain changes nothing, as in Postfix.
  for (const char* table : {"domains", "mailboxes", "aliases", "recipient_bcc", "sender_bcc", "transport"})
    for (const char* key : {"here.test", "also.test", "off.test", "alice@here.test", "alice+news@here.test",
                            "gone+x@here.test", "unknown@here.test", "@here.test", "anyone+x@also.test",
                            "x@off.test", "someone@remote.test", "alice=here.test@bcc-in.roster.invalid"})
      EXPECT_EQ(Table(table, std::string(key) + "."), Table(table, key)) << table << " " << key;
  EXPECT_EQ(Table("mailboxes", "alice@here.test."), "OK here.test/alice/");
  EXPECT_EQ(Table("domains", "here.test."), "OK here.test");
  EXPECT_EQ(Table("mailboxes", "alice@here.test.."), "NOTFOUND ");
  EXPECT_EQ(Table("domains", "."), "NOTFOUND ");

  EXPECT_EQ(Table("nosuchtable", "x"), "PERM unknown table nosuchtable");
  EXPECT_EQ(Table("aliases", ""), "NOTFOUND ");
  EXPECT_EQ(Table("aliases", std::string("a\x01@here.test")), "NOTFOUND ");
}

// The mailboxes table answers a path: a mailbox row written around
// rosterctl's checks is deferred with a logged reason, never followed.
TEST_F(PolicyTest, MailboxNamesThatCouldLeaveTheirDirectoryAreNotAnswered) {
  Sql("INSERT INTO mailbox (domain_id, address, password_hash) SELECT id, '../x/alice@here.test', '' FROM domain "
      "WHERE name = 'here.test'");
  std::string log;
  EXPECT_EQ(service().AnswerSocketmap("mailboxes ../x/alice@here.test", &log), "TEMP mailbox name unusable as a path");
  EXPECT_NE(log.find("mailbox name '../x/alice' starts with '.'"), std::string::npos) << log;
}

// A query reads a bounded number of subscribers whatever a list's size: a
// list longer than any answer Postfix takes defers, with the reason logged.
TEST_F(PolicyTest, AListLongerThanPostfixTakesIsNotLoadedWhole) {
  AddMailbox("alice@here.test", 0, 0);
  Sql("INSERT INTO subscription (direction, address, recipient) SELECT 'I', 'huge@here.test', "
      "CONCAT('m', seq, '@x.test') FROM seq_1_to_25001");
  std::string log;
  EXPECT_EQ(service().AnswerSocketmap("aliases huge@here.test", &log), "TEMP lookup failed (see the log)");
  EXPECT_NE(log.find("more than 25000 subscribers"), std::string::npos) << log;
  auto subs = admin().FindSubscribers({"huge@here.test"}, 'I');
  ASSERT_FALSE(subs.ok());
  Sql("DELETE FROM subscription WHERE recipient = 'm25001@x.test'");
  subs = admin().FindSubscribers({"huge@here.test"}, 'I');
  ASSERT_TRUE(subs.ok());
  EXPECT_EQ(subs->front().size(), 25000u);
}

TEST_F(PolicyTest, TransportRoutesSeed004Units) {
  Sql("INSERT INTO unit (name, host, transport) VALUES ('u1', 'unit1.here.test', ''), "
      "('u2', 'unit2.here.test', 'lmtp:inet:[unit2.here.test]:24')");
  AddMailbox("mx@here.test", 0, 0);
  AddMailbox("one@here.test", 0, 0, 0, 0, true, "u1");
  AddMailbox("two@here.test", 0, 0, 0, 0, true, "u2");
  // On the MX: each unit's mailboxes go to that unit.
  EXPECT_EQ(Table("transport", "one@here.test"), "OK smtp:[unit1.here.test]");
  EXPECT_EQ(Table("transport", "two+x@here.test"), "OK lmtp:inet:[unit2.here.test]:24");
  EXPECT_EQ(Table("transport", "mx@here.test"), "NOTFOUND ");
  // A unit the MX cannot reach defers its mail rather than keep it here.
  AddMailbox("lost@here.test", 0, 0, 0, 0, true, "u9");
  EXPECT_EQ(Table("transport", "lost@here.test"), "TEMP unit without a route");
  // On unit u1: its own mailboxes here, the rest to the MX.
  settings_.unit = "u1";
  settings_.unit_mx_transport = "smtp:[mx.here.test]";
  service_.reset();
  EXPECT_EQ(Table("transport", "one@here.test"), "OK :");
  EXPECT_EQ(Table("transport", "two@here.test"), "OK smtp:[mx.here.test]");
  EXPECT_EQ(Table("transport", "mx@here.test"), "OK smtp:[mx.here.test]");
  settings_.unit_mx_transport = "";
  service_.reset();
  EXPECT_EQ(Table("transport", "two@here.test"), "TEMP no route to the MX");
}

TEST_F(PolicyTest, DatabaseDownDefersQuotaAndRelayChecks) {
  AddMailbox("user@here.test", 1000, 0);
  Login("user@here.test", "192.0.2.5");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "OK");
  MariaDb::Get().Stop();
  service_.reset();
  EXPECT_EQ(Decide("user@here.test"), "DEFER_IF_PERMIT 4.3.0 Temporary lookup failure");
  // No relaying without proof, but no "Relay access denied" for good either.
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5", 0, "RCPT", "relay"),
            "DEFER_IF_REJECT 4.3.0 Temporary lookup failure");
  EXPECT_EQ(Decide("friend@remote.test", "192.0.2.5"), "DEFER_IF_PERMIT 4.3.0 Temporary lookup failure");
  EXPECT_EQ(Table("aliases", "user@here.test"), "TEMP database unavailable");
  MariaDb::Get().Start();
  EXPECT_EQ(Decide("user@here.test"), "DUNNO");
}

}  // namespace
}  // namespace roster::test
