// Tests of the role stores (common/login_store, usage_store, policy_store, admin_store) against a real MariaDB.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/password.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    db_ = MariaDb::Get().Connect(DbRole::kAdmin);
    accounts_ = std::make_unique<Stores>(*db_);
    Domain d;
    d.name = "example.test";
    d.default_max_bytes = 1000;
    d.default_max_messages = 10;
    ASSERT_TRUE(accounts_->AddDomain(d, kActor).ok());
  }
  Status AddMailbox(const std::string& address, bool active = true) {
    NewMailbox m;
    m.address = address;
    m.password_hash = "{PLAIN}pw";
    m.active = active;
    return accounts_->AddMailbox(m, kActor);
  }
  std::unique_ptr<Db> db_;
  std::unique_ptr<Stores> accounts_;
};

TEST_F(AccountsTest, MailboxForLoginIsCaseInsensitiveAndCarriesFlags) {
  ASSERT_TRUE(AddMailbox("Alice@example.test").ok());
  auto m = accounts_->FindMailboxForLogin("alice@EXAMPLE.test");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->address, "Alice@example.test");
  EXPECT_EQ(m->password_hash, "{PLAIN}pw");
  EXPECT_TRUE(m->mailbox_active);
  EXPECT_TRUE(m->domain_active);
  EXPECT_EQ(m->max_bytes, 1000u);  // the domain's defaults
  EXPECT_EQ(m->max_messages, 10u);
  ASSERT_TRUE(accounts_->SetMailboxActive("alice@example.test", false, kActor).ok());
  ASSERT_TRUE(accounts_->SetDomainActive("example.test", false, kActor).ok());
  m = accounts_->FindMailboxForLogin("alice@example.test");
  EXPECT_FALSE(m->mailbox_active);
  EXPECT_FALSE(m->domain_active);
  auto none = accounts_->FindMailboxForLogin("bob@example.test");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.error().is_not_found());
}

// A login matches the stored spelling in ASCII case only, as Dovecot's cache
// keys and rosterctl's flushes fold it, not the server's LOWER() (which
// folds other letters too); never accent-insensitive.
TEST_F(AccountsTest, LoginsFoldAsciiCaseOnly) {
  ASSERT_TRUE(AddMailbox("Δοκιμή@example.test").ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("Δοκιμή@EXAMPLE.test").ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("δοκιμή@example.test").error().is_not_found());
  ASSERT_TRUE(AddMailbox("Émile@example.test").ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("ÉMILE@Example.TEST").ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("émile@example.test").error().is_not_found());
  auto batch = accounts_->FindMailboxesForLogin({"émile@example.test", "ÉmiLE@example.test"});
  ASSERT_TRUE(batch.ok());
  EXPECT_FALSE((*batch)[0].has_value());
  EXPECT_TRUE((*batch)[1].has_value());
  ASSERT_TRUE(AddMailbox("jose@example.test").ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("josé@example.test").error().is_not_found());
  EXPECT_EQ(AddMailbox("JOSE@example.test").error().kind, ErrorKind::kConflict);
}

TEST_F(AccountsTest, SqlMetacharactersAreStoredVerbatim) {
  const std::string address = "o_brien--y@example.test";
  NewMailbox m;
  m.address = address;
  m.password_hash = "{PLAIN}x";
  m.display_name = "Robert'); DROP TABLE mailbox;-- \\ \"";
  ASSERT_TRUE(accounts_->AddMailbox(m, kActor).ok());
  auto got = accounts_->GetMailbox(address);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->address, address);
  EXPECT_EQ(got->display_name, m.display_name);
  // '%' and '_' are not wildcards anywhere.
  EXPECT_TRUE(accounts_->FindMailboxForLogin("o%brien--y@example.test").error().is_not_found());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("oXbrien--y@example.test").error().is_not_found());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("o'brien'--y@example.test").error().is_not_found());
  // Aliases may hold what mailbox names may not; stored as given.
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "o'brien%_x@example.test", address}, kActor).ok());
  EXPECT_EQ(accounts_->ListSubscriptions("o'brien%_x@example.test")->size(), 1u);
  EXPECT_TRUE(accounts_->ListSubscriptions("o'brienAAx@example.test")->empty());
  EXPECT_EQ(MariaDb::Get().Connect(DbRole::kAdmin)->Query("SELECT COUNT(*) FROM mailbox")->front().Uint(0), 1u);
}

TEST_F(AccountsTest, BatchedLoginLookupAnswersEachAddressInPlace) {
  ASSERT_TRUE(AddMailbox("Alice@example.test").ok());
  ASSERT_TRUE(AddMailbox("Δοκιμή@example.test").ok());
  ASSERT_TRUE(AddMailbox("off@example.test", false).ok());
  const std::string long_local(64, 'l');
  ASSERT_TRUE(AddMailbox(long_local + "@example.test").ok());
  std::vector<std::string> asked = {"alice@example.test", "nobody@example.test", "ALICE@example.test",
                                    "δοκιμή@example.test", "off@example.test", "o'brien%@example.test",
                                    "alice@example.test", long_local + "@example.test", "josé@example.test"};
  auto found = accounts_->FindMailboxesForLogin(asked);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), asked.size());
  for (size_t i : {0, 2, 6}) {
    ASSERT_TRUE((*found)[i]) << i;
    EXPECT_EQ((*found)[i]->address, "Alice@example.test");
    EXPECT_EQ((*found)[i]->password_hash, "{PLAIN}pw");
  }
  EXPECT_FALSE((*found)[1]);
  EXPECT_FALSE((*found)[3]);  // ASCII case only
  ASSERT_TRUE((*found)[4]);
  EXPECT_FALSE((*found)[4]->mailbox_active);
  EXPECT_FALSE((*found)[5]);
  ASSERT_TRUE((*found)[7]);
  EXPECT_EQ((*found)[7]->address, long_local + "@example.test");
  EXPECT_FALSE((*found)[8]);  // never accent-insensitive
}

TEST_F(AccountsTest, BatchedLoginLookupBeyondOneQuery) {
  std::vector<std::string> asked;
  for (int i = 0; i < 75; ++i) {
    std::string address = "u" + std::to_string(i) + "@example.test";
    if (i % 3 == 0) {
      ASSERT_TRUE(AddMailbox(address).ok());
    }
    asked.push_back(address);
  }
  auto found = accounts_->FindMailboxesForLogin(asked);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->size(), asked.size());
  for (size_t i = 0; i < asked.size(); ++i) {
    EXPECT_EQ(static_cast<bool>((*found)[i]), i % 3 == 0) << asked[i];
    if ((*found)[i]) {
      EXPECT_EQ((*found)[i]->address, asked[i]);
    }
  }
  EXPECT_TRUE(accounts_->FindMailboxesForLogin({})->empty());
}

TEST_F(AccountsTest, PasswordCompareAndSet) {
  ASSERT_TRUE(AddMailbox("carol@example.test").ok());
  auto lost = accounts_->ReplacePasswordHash("carol@example.test", "{PLAIN}other", "{PLAIN}new");
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(*lost);
  auto won = accounts_->ReplacePasswordHash("Carol@example.test", "{PLAIN}pw", "{PLAIN}new");
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(*won);
  EXPECT_EQ(accounts_->FindMailboxForLogin("carol@example.test")->password_hash, "{PLAIN}new");
}

TEST_F(AccountsTest, UsageCountersIncrementSetUnknownAndMissingRow) {
  constexpr auto kBytes = UsageCounter::kBytes;
  constexpr auto kMessages = UsageCounter::kMessages;
  ASSERT_TRUE(AddMailbox("dave@example.test").ok());
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kBytes), 0);
  ASSERT_TRUE(accounts_->AddToUsageCounter("dave@example.test", kBytes, 500).ok());
  ASSERT_TRUE(accounts_->AddToUsageCounter("Dave@example.test", kMessages, 2).ok());
  ASSERT_TRUE(accounts_->AddToUsageCounter("dave@example.test", kBytes, -100).ok());
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kBytes), 400);
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kMessages), 2);
  // Unset: the counter becomes unknown (Dovecot recounts), the row and account stay.
  ASSERT_TRUE(accounts_->SetUsageCounter("dave@example.test", kBytes, std::nullopt).ok());
  ASSERT_TRUE(accounts_->SetUsageCounter("dave@example.test", kBytes, std::nullopt).ok());  // twice: still fine
  EXPECT_TRUE(accounts_->GetUsageCounter("dave@example.test", kBytes).error().is_not_found());
  EXPECT_TRUE(accounts_->AddToUsageCounter("dave@example.test", kBytes, 5).error().is_not_found());
  EXPECT_TRUE(accounts_->AddToUsageCounter("dave@example.test", kBytes, 0).error().is_not_found());
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kMessages), 2);
  EXPECT_EQ(db_->Query("SELECT COUNT(*) FROM mailbox_usage")->front().Uint(0), 1u);
  ASSERT_TRUE(accounts_->SetUsageCounter("dave@example.test", kBytes, 7000).ok());
  ASSERT_TRUE(accounts_->SetUsageCounter("dave@example.test", kBytes, 7000).ok());  // unchanged is not "not found"
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kBytes), 7000);
  // Without a usage row an increment is NotFound, and set recreates the row
  // with only that counter known.
  ASSERT_TRUE(db_->Execute("DELETE FROM mailbox_usage").ok());
  EXPECT_TRUE(accounts_->AddToUsageCounter("dave@example.test", kMessages, 1).error().is_not_found());
  ASSERT_TRUE(accounts_->SetUsageCounter("dave@example.test", kMessages, 3).ok());
  EXPECT_EQ(*accounts_->GetUsageCounter("dave@example.test", kMessages), 3);
  EXPECT_TRUE(accounts_->GetUsageCounter("dave@example.test", kBytes).error().is_not_found());
  EXPECT_TRUE(accounts_->SetUsageCounter("nobody@example.test", kBytes, 1).error().is_not_found());
  EXPECT_TRUE(accounts_->AddToUsageCounter("nobody@example.test", kBytes, 1).error().is_not_found());
  EXPECT_TRUE(accounts_->GetUsageCounter("nobody@example.test", kBytes).error().is_not_found());
}

TEST_F(AccountsTest, BatchedUsageLookupsAndIncrements) {
  constexpr auto kBytes = UsageCounter::kBytes;
  constexpr auto kMessages = UsageCounter::kMessages;
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) {  // more than one batch statement
    many.push_back("m" + std::to_string(i) + "@example.test");
    ASSERT_TRUE(AddMailbox(many.back()).ok());
  }
  for (const char* a : {"known@example.test", "ann@example.test", "nobytes@example.test", "norow@example.test",
                        "zero@example.test"})
    ASSERT_TRUE(AddMailbox(a).ok());
  ASSERT_TRUE(accounts_->SetUsageCounter("ann@example.test", kBytes, std::nullopt).ok());
  ASSERT_TRUE(accounts_->SetUsageCounter("nobytes@example.test", kBytes, std::nullopt).ok());
  ASSERT_TRUE(db_->Execute("DELETE u FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id "
                           "WHERE m.address = 'norow@example.test'")
                  .ok());

  std::vector<UsageIncrement> incs = {
      {"known@example.test", 100, 1},  {"KNOWN@example.test", 50, 1},  // one mailbox, twice: summed
      {"ann@example.test", 0, 1},                                      // changes only its known counter
      {"nobytes@example.test", 0, 1},                                  // a mailbox's increments go together:
      {"nobytes@example.test", 10, 1},                                 // one needs the unknown counter, so neither
      {"norow@example.test", 10, 1},                                   // no usage row
      {"nobody@example.test", 10, 1},                                  // no mailbox
      {"zero@example.test", 5, 1},     {"zero@example.test", -5, -1},  // sums to nothing
  };
  for (const std::string& a : many) incs.push_back({a, 7, 1});
  std::vector<bool> applied;
  for (const Status& s : accounts_->AddToUsages(incs)) {
    EXPECT_TRUE(s.ok() || s.error().is_not_found()) << s.error().message;
    applied.push_back(s.ok());
  }
  std::vector<bool> expected = {true, true, true, false, false, false, false, true, true};
  expected.resize(incs.size(), true);
  EXPECT_EQ(applied, expected);
  EXPECT_EQ(*accounts_->GetUsageCounter("known@example.test", kBytes), 150);
  EXPECT_EQ(*accounts_->GetUsageCounter("known@example.test", kMessages), 2);
  EXPECT_EQ(*accounts_->GetUsageCounter("ann@example.test", kMessages), 1);
  EXPECT_EQ(*accounts_->GetUsageCounter("nobytes@example.test", kMessages), 0);
  EXPECT_TRUE(accounts_->GetUsageCounter("nobytes@example.test", kBytes).error().is_not_found());
  EXPECT_EQ(*accounts_->GetUsageCounter("zero@example.test", kMessages), 0);
  for (const std::string& a : many) EXPECT_EQ(*accounts_->GetUsageCounter(a, kBytes), 7) << a;

  std::vector<std::string> asked = {"known@example.test", "ann@example.test", "norow@example.test",
                                    "nobody@example.test", "Known@Example.test"};
  asked.insert(asked.end(), many.begin(), many.end());
  auto usages = accounts_->GetUsages(asked);
  ASSERT_TRUE(usages) << usages.error().message;
  ASSERT_EQ(usages->size(), asked.size());
  EXPECT_EQ((*usages)[0]->bytes, 150);
  EXPECT_EQ((*usages)[0]->messages, 2);
  EXPECT_FALSE((*usages)[1]->bytes.has_value());
  EXPECT_EQ((*usages)[1]->messages, 1);
  EXPECT_FALSE((*usages)[2].has_value());
  EXPECT_FALSE((*usages)[3].has_value());
  EXPECT_EQ((*usages)[4]->bytes, 150);
  for (size_t i = 5; i < asked.size(); ++i) EXPECT_EQ((*usages)[i]->messages, 1) << asked[i];
}

TEST_F(AccountsTest, BatchedIncrementsOfANonAsciiAddress) {
  ASSERT_TRUE(AddMailbox("jos\xc3\xa9@example.test").ok());
  ASSERT_TRUE(AddMailbox("ascii@example.test").ok());
  auto applied = accounts_->AddToUsages({{"JOS\xc3\xa9@example.test", 10, 1}, {"ascii@example.test", 20, 2}});
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_TRUE(applied[0].ok());
  EXPECT_TRUE(applied[1].ok());
  auto usages = accounts_->GetUsages({"jos\xc3\xa9@example.test", "ascii@example.test"});
  ASSERT_TRUE(usages);
  EXPECT_EQ((*usages)[0]->bytes, 10);
  EXPECT_EQ((*usages)[1]->bytes, 20);
}

TEST_F(AccountsTest, ConcurrentIncrementsAreNeverLost) {
  ASSERT_TRUE(AddMailbox("busy@example.test").ok());
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&failures] {
      auto db = MariaDb::Get().Connect(DbRole::kDict);
      Stores a(*db);
      for (int i = 0; i < kEach; ++i)
        if (!a.AddToUsageCounter("busy@example.test", UsageCounter::kBytes, 10).ok() ||
            !a.AddToUsageCounter("busy@example.test", UsageCounter::kMessages, 1).ok())
          ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto u = accounts_->GetUsage("busy@example.test");
  EXPECT_EQ(u->bytes, kThreads * kEach * 10);
  EXPECT_EQ(u->messages, kThreads * kEach);
}

TEST_F(AccountsTest, LastLoginPerProtocol) {
  ASSERT_TRUE(AddMailbox("erin@example.test").ok());
  ASSERT_TRUE(accounts_->RecordLastLogin("erin@example.test", "imap", "127.0.0.2").ok());
  ASSERT_TRUE(accounts_->RecordLastLogin("erin@example.test", "pop3", "::1").ok());
  ASSERT_TRUE(accounts_->RecordLastLogin("erin@example.test", "imap", "2001:db8::7").ok());
  auto list = accounts_->LastLogins("erin@example.test", 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  std::map<std::string, std::string> by_protocol;
  for (const LastLogin& l : *list) by_protocol[l.protocol] = l.ip;
  EXPECT_EQ(by_protocol["imap"], "2001:db8::7");
  EXPECT_EQ(by_protocol["pop3"], "::1");
  EXPECT_TRUE(accounts_->RecordLastLogin("nobody@example.test", "imap", "127.0.0.1").error().is_not_found());
  EXPECT_EQ(accounts_->RecordLastLogin("erin@example.test", "imap", "not-an-ip").error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(accounts_->RecordLastLogin("erin@example.test", "IMAP;", "127.0.0.1").error().kind, ErrorKind::kInvalid);
}

TEST_F(AccountsTest, DomainDeleteNeedsForceWhenItHasMailboxes) {
  ASSERT_TRUE(AddMailbox("frank@example.test").ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "@example.test", "frank@example.test"}, kActor).ok());
  Status refused = accounts_->DeleteDomain("example.test", false, kActor);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kConflict);
  EXPECT_TRUE(accounts_->GetMailbox("frank@example.test").ok());
  ASSERT_TRUE(accounts_->DeleteDomain("example.test", true, kActor).ok());
  EXPECT_TRUE(accounts_->GetMailbox("frank@example.test").error().is_not_found());
  EXPECT_TRUE(accounts_->GetDomain("example.test").error().is_not_found());
  EXPECT_TRUE(accounts_->ListSubscriptions("")->empty());
  EXPECT_TRUE(accounts_->DeleteDomain("example.test", true, kActor).error().is_not_found());
}

TEST_F(AccountsTest, DeletingLeavesNoSubscriptionIntoWhatWasDeleted) {
  Domain other;
  other.name = "other.test";
  ASSERT_TRUE(accounts_->AddDomain(other, kActor).ok());
  ASSERT_TRUE(AddMailbox("gina@example.test").ok());
  ASSERT_TRUE(AddMailbox("hal@other.test").ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "team@other.test", "Gina@example.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "team@other.test", "hal@other.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "team@other.test", "far@away.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "hal@other.test", "gina@example.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->DeleteMailbox("gina@example.test", kActor).ok());
  auto left = accounts_->ListSubscriptions("");
  ASSERT_TRUE(left.ok());
  std::set<std::string> recipients;
  for (const Subscription& sub : *left) recipients.insert(sub.address + ">" + sub.recipient);
  EXPECT_EQ(recipients, (std::set<std::string>{"team@other.test>hal@other.test", "team@other.test>far@away.test"}));

  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "list@example.test", "hal@other.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->DeleteDomain("other.test", true, kActor).ok());
  left = accounts_->ListSubscriptions("");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());  // team@ was the domain's alias, list@ delivered into it
}

// Mailbox names become paths (auth_home, the mailboxes table): the local parts
// that could leave their directory are refused however they arrive.
TEST_F(AccountsTest, MailboxNamesThatCouldLeaveTheirDirectoryAreRefused) {
  for (const char* bad : {"../example.test/alice@example.test", "a/b@example.test", ".@example.test",
                          "..@example.test", ".hidden@example.test", "dot.@example.test", "a..b@example.test",
                          "-rf@example.test", "o'brien@example.test", "50%@example.test"}) {
    Status s = AddMailbox(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().kind, ErrorKind::kInvalid) << bad;
    EXPECT_TRUE(accounts_->GetMailbox(bad).error().is_not_found()) << bad;
  }
  for (const char* good : {"a.b_c-d+e@example.test", "x@example.test", "Δοκιμή@example.test"})
    EXPECT_TRUE(AddMailbox(good).ok()) << good;
}

TEST_F(AccountsTest, LimitsDovecotCannotHoldAreRefused) {
  constexpr uint64_t kMax = 9223372036854775807ull;
  NewMailbox m;
  m.address = "big@example.test";
  m.password_hash = "{PLAIN}pw";
  m.max_bytes = kMax + 1;
  EXPECT_EQ(accounts_->AddMailbox(m, kActor).error().kind, ErrorKind::kInvalid);
  m.max_bytes = kMax;
  m.max_messages = kMax + 1;
  EXPECT_EQ(accounts_->AddMailbox(m, kActor).error().kind, ErrorKind::kInvalid);
  m.max_messages = kMax;
  ASSERT_TRUE(accounts_->AddMailbox(m, kActor).ok());
  EXPECT_EQ(accounts_->SetMailboxQuota("big@example.test", kMax + 1, std::nullopt, kActor).error().kind,
            ErrorKind::kInvalid);
  EXPECT_EQ(accounts_->SetMailboxQuota("big@example.test", std::nullopt, ~uint64_t{0}, kActor).error().kind,
            ErrorKind::kInvalid);
  EXPECT_EQ(accounts_->GetMailbox("big@example.test")->max_bytes, kMax);
  Domain d;
  d.name = "huge.test";
  d.default_max_bytes = ~uint64_t{0};
  EXPECT_EQ(accounts_->AddDomain(d, kActor).error().kind, ErrorKind::kInvalid);
  // The server refuses them too (migration 004), whoever writes.
  auto raw = db_->Execute("UPDATE mailbox SET max_bytes = 9223372036854775808 WHERE lookup_key = 'big@example.test'");
  EXPECT_FALSE(raw.ok());
  raw = db_->Execute("UPDATE domain SET default_max_messages = 18446744073709551615 WHERE name = 'example.test'");
  EXPECT_FALSE(raw.ok());
}

TEST_F(AccountsTest, MailboxNeedsItsDomain) {
  NewMailbox m;
  m.address = "x@elsewhere.test";
  m.password_hash = "{PLAIN}x";
  EXPECT_TRUE(accounts_->AddMailbox(m, kActor).error().is_not_found());
}

TEST_F(AccountsTest, SubscriptionsAndChangeLog) {
  ASSERT_TRUE(AddMailbox("grace@example.test").ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'I', "Sales@example.test", "grace@example.test"}, kActor).ok());
  ASSERT_TRUE(accounts_->AddSubscription({0, 'O', "grace@example.test", "archive@example.test"}, kActor).ok());
  EXPECT_EQ(accounts_->AddSubscription({0, 'I', "sales@example.test", "grace@example.test"}, kActor).error().kind,
            ErrorKind::kConflict);
  auto subs = accounts_->ListSubscriptions("SALES@example.test");
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].address, "sales@example.test");
  EXPECT_EQ((*subs)[0].recipient, "grace@example.test");
  ASSERT_TRUE(accounts_->DeleteSubscription({0, 'I', "sales@example.test", "grace@example.test"}, kActor).ok());
  EXPECT_TRUE(accounts_->DeleteSubscription({0, 'I', "sales@example.test", "grace@example.test"}, kActor)
                  .error()
                  .is_not_found());
  auto log = accounts_->ListChangeLog(ChangeLogFilter{});
  ASSERT_TRUE(log.ok());
  ASSERT_GE(log->size(), 5u);
  EXPECT_EQ((*log)[0].action, "sub-del");
  EXPECT_EQ((*log)[0].actor, "tester");
  EXPECT_EQ((*log)[0].origin, "192.0.2.7");
  ChangeLogFilter only;
  only.object = "grace@example.test";
  only.action = "mailbox-add";
  EXPECT_EQ(accounts_->ListChangeLog(only)->size(), 1u);
}

TEST_F(AccountsTest, QuotaChangesOnlyWhatIsGiven) {
  ASSERT_TRUE(AddMailbox("heidi@example.test").ok());
  ASSERT_TRUE(accounts_->SetMailboxQuota("heidi@example.test", 2ull << 30, std::nullopt, kActor).ok());
  auto m = accounts_->GetMailbox("heidi@example.test");
  EXPECT_EQ(m->max_bytes, 2ull << 30);
  EXPECT_EQ(m->max_messages, 10u);
  EXPECT_EQ(accounts_->SetMailboxQuota("heidi@example.test", std::nullopt, std::nullopt, kActor).error().kind,
            ErrorKind::kInvalid);
  EXPECT_TRUE(accounts_->SetMailboxQuota("nobody@example.test", 1, 1, kActor).error().is_not_found());
}

TEST_F(AccountsTest, ListMailboxesStreamsInOrder) {
  for (const char* a : {"zed@example.test", "amy@example.test", "Bob@example.test"}) ASSERT_TRUE(AddMailbox(a).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(accounts_->ListMailboxes("example.test", [&](const Mailbox& m) {
    seen.push_back(m.address);
    return true;
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"amy@example.test", "Bob@example.test", "zed@example.test"}));
}

TEST_F(AccountsTest, ListMailboxesPagesThroughThousands) {
  // More than two pages of the keyset pagination, each row seen exactly once.
  auto domain_id = db_->Query("SELECT id FROM domain WHERE name = 'example.test'")->front().Uint(0);
  ASSERT_TRUE(db_->Transaction([&]() -> Status {
    for (int i = 0; i < 1203; ++i) {
      auto r = db_->Execute("INSERT INTO mailbox (domain_id, address) VALUES (?, ?)",
                            {domain_id, "u" + std::to_string(i) + "@example.test"});
      if (!r) return r.error();
    }
    return Status::Ok();
  }).ok());
  std::set<std::string> seen;
  int calls = 0;
  ASSERT_TRUE(accounts_->ListMailboxes("", [&](const Mailbox& m) {
    ++calls;
    seen.insert(m.address);
    return true;
  }).ok());
  EXPECT_EQ(calls, 1203);
  EXPECT_EQ(seen.size(), 1203u);
  int stop_after = 0;
  ASSERT_TRUE(accounts_->ListMailboxes("example.test", [&](const Mailbox&) { return ++stop_after < 700; }).ok());
  EXPECT_EQ(stop_after, 700);
}

TEST_F(AccountsTest, ActiveAddressPagesSkipDisabled) {
  ASSERT_TRUE(AddMailbox("b@example.test").ok());
  ASSERT_TRUE(AddMailbox("A@example.test").ok());
  ASSERT_TRUE(AddMailbox("c@example.test", false).ok());
  Domain off;
  off.name = "off.test";
  off.active = false;
  ASSERT_TRUE(accounts_->AddDomain(off, kActor).ok());
  ASSERT_TRUE(AddMailbox("d@off.test").ok());
  auto first = accounts_->ActiveAddressPage("", 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].first, "A@example.test");
  auto rest = accounts_->ActiveAddressPage((*first)[0].second, 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].first, "b@example.test");
  EXPECT_TRUE(accounts_->ActiveAddressPage((*rest)[0].second, 10)->empty());
}

TEST_F(AccountsTest, LoginLookupCarriesTheUnitHost) {
  NewMailbox m;
  m.address = "far@example.test";
  m.password_hash = "{PLAIN}x";
  m.unit = "unit2";
  ASSERT_TRUE(accounts_->AddMailbox(m, kActor).ok());
  EXPECT_EQ(accounts_->FindMailboxForLogin("far@example.test")->unit_host, "");
  ASSERT_TRUE(db_->Execute("INSERT INTO unit (name, host) VALUES ('unit2', '192.0.2.20')").ok());
  auto found = accounts_->FindMailboxForLogin("far@example.test");
  EXPECT_EQ(found->unit, "unit2");
  EXPECT_EQ(found->unit_host, "192.0.2.20");
}

TEST_F(AccountsTest, DatabaseDownIsTemporaryNotNotFound) {
  ASSERT_TRUE(AddMailbox("ivan@example.test").ok());
  MariaDb::Get().Stop();
  auto m = accounts_->FindMailboxForLogin("ivan@example.test");
  Status inc = accounts_->AddToUsageCounter("ivan@example.test", UsageCounter::kBytes, 1);
  MariaDb::Get().Start();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kTemporary) << m.error().message;
  ASSERT_FALSE(inc.ok());
  EXPECT_EQ(inc.error().kind, ErrorKind::kTemporary);
  EXPECT_TRUE(accounts_->FindMailboxForLogin("ivan@example.test").ok());
}

}  // namespace
}  // namespace roster::test
