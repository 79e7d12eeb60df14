// Tests of app passwords, mailbox access and the login history
// (common/app_passwords.h, migration 005) against the private MariaDB: the
// password format, add/list/revoke with the change log and its bounds (a
// 51st app password, huge or empty labels, absurd expiries), the login query
// bringing the app password a selector names in its one statement (both forms), the
// access columns, the ring of the login history and the dormant report.
#include <gtest/gtest.h>

#include <ctime>
#include <set>
#include <tuple>

#include "common/ip.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};

TEST(AppPasswordFormat, GeneratedPasswordsHaveTheShapeAndNormalise) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string p = GenerateAppPassword();
    ASSERT_EQ(p.size(), 29u) << p;  // 6 groups of 4, 5 dashes
    for (size_t k = 4; k < p.size(); k += 5) EXPECT_EQ(p[k], '-') << p;
    EXPECT_EQ(p.find_first_of("01IO"), std::string::npos) << p;
    auto n = NormaliseAppPassword(p);
    ASSERT_TRUE(n.has_value()) << p;
    EXPECT_EQ(n->size(), 24u);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 200u);
  // Typed without dashes, in lower case, or grouped otherwise: the same.
  EXPECT_EQ(NormaliseAppPassword("abcd-efgh-jkmn-pqrs-tuvw-xyz2"), std::string("ABCDEFGHJKMNPQRSTUVWXYZ2"));
  EXPECT_EQ(NormaliseAppPassword("abcdefghjkmnpqrstuvwxyz2"), std::string("ABCDEFGHJKMNPQRSTUVWXYZ2"));
  // Not the shape: a main password then.
  EXPECT_FALSE(NormaliseAppPassword("correct horse battery staple"));
  EXPECT_FALSE(NormaliseAppPassword("ABCD-EFGH-JKMN-PQRS-TUVW-XYZ"));     // 23
  EXPECT_FALSE(NormaliseAppPassword("ABCD-EFGH-JKMN-PQRS-TUVW-XYZ22"));   // 25
  EXPECT_FALSE(NormaliseAppPassword("ABCD-EFGH-JKMN-PQRS-TUVW-XYZ0"));    // a look-alike
  EXPECT_FALSE(NormaliseAppPassword(std::string(10000, 'A')));
  EXPECT_EQ(AppPasswordDigest("ABCDEFGHJKMNPQRSTUVWXYZ2").size(), 32u);
}

TEST(AppPasswordFormat, ProtocolsParseAndPrint) {
  EXPECT_EQ(*ParseProtocols("imap,pop3"), unsigned{kProtoImap | kProtoPop3});
  EXPECT_EQ(*ParseProtocols("IMAP submission"), unsigned{kProtoImap | kProtoSmtp});
  EXPECT_EQ(*ParseProtocols("all"), kAllProtocols);
  EXPECT_EQ(*ParseProtocols(""), 0u);
  EXPECT_FALSE(ParseProtocols("imap,ftp").ok());
  EXPECT_EQ(ProtocolsText(kProtoSmtp | kProtoWebmail), "smtp,webmail");
  EXPECT_EQ(ProtocolOfService("submission"), unsigned{kProtoSmtp});
  EXPECT_EQ(ProtocolOfService("doveadm"), 0u);
  EXPECT_TRUE(ProtocolAllowed(std::nullopt, 0, false));
  EXPECT_FALSE(ProtocolAllowed(kProtoImap, 0, false));
  EXPECT_TRUE(ProtocolAllowed(kProtoWebmail, kProtoImap, true));
  EXPECT_FALSE(ProtocolAllowed(kProtoWebmail, kProtoImap, false));
  auto net = ParseIpPrefix("192.0.2.0/24");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(InAnyPrefix(*PackIp("192.0.2.9"), {*net}));
  EXPECT_FALSE(InAnyPrefix(*PackIp("192.0.3.9"), {*net}));
  EXPECT_FALSE(ParseIpPrefix("192.0.2.1/24").ok());  // bits past the length
  EXPECT_FALSE(ParseIpPrefix("192.0.2.0/33").ok());
  EXPECT_TRUE(ParseIpPrefix("2001:db8::/32").ok());
}

class AppPasswordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    db_ = MariaDb::Get().Connect(DbRole::kAdmin);
    accounts_ = std::make_unique<Stores>(*db_);
    store_ = std::make_unique<AppPasswordStores>(*db_);
    Domain d;
    d.name = "example.test";
    ASSERT_TRUE(accounts_->AddDomain(d, kActor).ok());
    for (const char* a : {"alice@example.test", "bob@example.test"}) {
      NewMailbox m;
      m.address = a;
      m.password_hash = "{PLAIN}pw";
      ASSERT_TRUE(accounts_->AddMailbox(m, kActor).ok());
    }
  }
  Result<std::pair<uint64_t, std::string>> Add(const std::string& label, unsigned protocols = kProtoImap,
                                                std::optional<int64_t> expires = std::nullopt,
                                                const std::string& address = "alice@example.test") {
    NewAppPassword n;
    n.address = address;
    n.label = label;
    n.protocols = protocols;
    n.expires_unix = expires;
    return store_->Add(n, kActor);
  }
  uint64_t ChangeLogCount(const std::string& action) {
    ChangeLogFilter f;
    f.action = action;
    auto entries = accounts_->ListChangeLog(f);
    return entries.ok() ? entries->size() : 0;
  }
  std::unique_ptr<Db> db_;
  std::unique_ptr<Stores> accounts_;
  std::unique_ptr<AppPasswordStores> store_;
};

TEST_F(AppPasswordsTest, AddListRevokeWriteTheChangeLogAndNeverThePassword) {
  auto made = Add("phone", kProtoImap | kProtoSmtp, std::time(nullptr) + 3600);
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto list = store_->List("Alice@example.test");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, made->first);
  EXPECT_EQ((*list)[0].label, "phone");
  EXPECT_EQ((*list)[0].selector, made->second.substr(0, 4));
  EXPECT_EQ((*list)[0].protocols, unsigned{kProtoImap | kProtoSmtp});
  EXPECT_FALSE((*list)[0].expires_at.empty());
  EXPECT_FALSE((*list)[0].expired);
  EXPECT_EQ(ChangeLogCount("app-password-add"), 1u);
  auto log = accounts_->ListChangeLog(ChangeLogFilter{});
  ASSERT_TRUE(log.ok());
  for (const auto& e : *log) {
    EXPECT_EQ(e.detail.find(made->second), std::string::npos);
    EXPECT_EQ(e.detail.find(made->second.substr(5)), std::string::npos);
  }
  // The stored digest is the SHA-256 of the normalised password, never it.
  auto rows = db_->Query("SELECT HEX(secret_hash) FROM app_password");
  ASSERT_TRUE(rows.ok());
  // 64 hex digits (a digest has no "0" one time in 60: never look for one).
  const std::string digest = rows->front().String(0);
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_EQ(digest.find_first_not_of("0123456789ABCDEF"), std::string::npos) << digest;
  // Revoke: only the mailbox's own id.
  EXPECT_TRUE(store_->Revoke("bob@example.test", made->first, kActor).error().is_not_found());
  ASSERT_TRUE(store_->Revoke("alice@example.test", made->first, kActor).ok());
  EXPECT_TRUE(store_->List("alice@example.test")->empty());
  EXPECT_EQ(ChangeLogCount("app-password-revoke"), 1u);
  EXPECT_TRUE(store_->Revoke("alice@example.test", made->first, kActor).error().is_not_found());
  EXPECT_TRUE(Add("x", kProtoImap, std::nullopt, "nobody@example.test").error().is_not_found());
}

TEST_F(AppPasswordsTest, BadInputIsRefusedBeforeAnyRow) {
  EXPECT_EQ(Add("").error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(Add(std::string(101, 'x')).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(Add(std::string(1 << 20, 'x')).error().kind, ErrorKind::kInvalid);
  EXPECT_TRUE(Add(std::string(100, 'x')).ok());
  EXPECT_TRUE(Add("téléphone ☎").ok());                       // UTF-8, counted in characters
  EXPECT_EQ(Add("bad\xff").error().kind, ErrorKind::kInvalid);  // not UTF-8
  EXPECT_EQ(Add("line\nbreak").error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(Add("none", 0).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(Add("past", kProtoImap, std::time(nullptr) - 10).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(Add("far", kProtoImap, int64_t{1} << 40).error().kind, ErrorKind::kInvalid);
  auto after_2038 = Add("after 2038", kProtoImap, int64_t{4102444800});  // 2100-01-01
  ASSERT_TRUE(after_2038.ok()) << after_2038.error().message;
  auto listed = store_->List("alice@example.test");
  for (const auto& a : *listed)
    if (a.label == "after 2038") EXPECT_EQ(a.expires_at.substr(0, 10), "2100-01-01");
  EXPECT_EQ(Add("negative", kProtoImap, int64_t{-1}).error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(store_->List("alice@example.test")->size(), 3u);
}

TEST_F(AppPasswordsTest, AMailboxHoldsAtMostFiftyAndTheSchemaSaysSoToo) {
  std::set<std::string> selectors;
  for (size_t i = 0; i < kMaxAppPasswords; ++i) {
    auto made = Add("app " + std::to_string(i));
    ASSERT_TRUE(made.ok()) << i << ": " << made.error().message;
    selectors.insert(made->second.substr(0, 4));
  }
  EXPECT_EQ(selectors.size(), kMaxAppPasswords);  // unique per mailbox
  auto fifty_first = Add("one too many");
  ASSERT_FALSE(fifty_first.ok());
  EXPECT_EQ(fifty_first.error().kind, ErrorKind::kConflict);
  EXPECT_TRUE(Add("bob's", kProtoImap, std::nullopt, "bob@example.test").ok());  // per mailbox
  // A row written around rosterctl cannot pass the bound either.
  auto id = db_->Query("SELECT id FROM mailbox WHERE address = 'alice@example.test'");
  auto raw = db_->Execute(
      "INSERT INTO app_password (mailbox_id, slot, selector, secret_hash, label, protocols) "
      "VALUES (?, 50, 'ZZZZ', UNHEX(REPEAT('00', 32)), 'raw', 'imap')",
      {id->front().Uint(0)});
  EXPECT_FALSE(raw.ok());
  // Revoking one frees its slot.
  auto list = store_->List("alice@example.test");
  ASSERT_TRUE(store_->Revoke("alice@example.test", list->at(7).id, kActor).ok());
  EXPECT_TRUE(Add("again").ok());
}

TEST_F(AppPasswordsTest, TheLoginQueryBringsTheNamedAppPasswordInBothForms) {
  auto a1 = Add("phone", kProtoImap | kProtoSmtp);
  auto a2 = Add("laptop", kProtoPop3, std::time(nullptr) + 2);
  ASSERT_TRUE(a1.ok() && a2.ok());
  for (int i = 0; i < 48; ++i) ASSERT_TRUE(Add("more").ok());  // fifty: only the one named comes
  ASSERT_TRUE(store_->SetAccess("alice@example.test", std::optional<unsigned>(kProtoImap | kProtoWebmail),
                                std::optional<unsigned>(kProtoWebmail), kActor)
                  .ok());
  std::string s1 = SelectorOf(a1->second), s2 = SelectorOf(a2->second);
  EXPECT_EQ(s1, a1->second.substr(0, 4));
  EXPECT_EQ(SelectorOf("correct horse"), "");
  auto check = [&](const MailboxLogin& m, const std::pair<uint64_t, std::string>& made, unsigned protocols) {
    EXPECT_EQ(m.login_protocols, std::optional<unsigned>(kProtoImap | kProtoWebmail));
    EXPECT_EQ(m.main_password_protocols, std::optional<unsigned>(kProtoWebmail));
    ASSERT_EQ(m.app_passwords.size(), 1u);
    EXPECT_EQ(m.app_passwords[0].id, made.first);
    EXPECT_EQ(m.app_passwords[0].selector, made.second.substr(0, 4));
    EXPECT_EQ(m.app_passwords[0].digest, AppPasswordDigest(*NormaliseAppPassword(made.second)));
    EXPECT_EQ(m.app_passwords[0].protocols, protocols);
    EXPECT_FALSE(m.app_passwords[0].expired);
  };
  auto one = accounts_->FindMailboxForLogin("alice@example.test", s1);
  ASSERT_TRUE(one.ok());
  check(*one, *a1, kProtoImap | kProtoSmtp);
  EXPECT_TRUE(accounts_->FindMailboxForLogin("alice@example.test")->app_passwords.empty());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("alice@example.test", "2222")->app_passwords.empty());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("bob@example.test", s1)->app_passwords.empty());  // hers only
  // Batched: each address with its own selector; the same address twice.
  auto many = accounts_->FindMailboxesForLogin(
      {"bob@example.test", "alice@example.test", "nobody@example.test", "Alice@example.test"}, {s1, s1, s1, s2});
  ASSERT_TRUE(many.ok());
  ASSERT_TRUE((*many)[0].has_value() && (*many)[1].has_value() && (*many)[3].has_value());
  EXPECT_TRUE((*many)[0]->app_passwords.empty());
  EXPECT_FALSE((*many)[0]->login_protocols.has_value());
  EXPECT_FALSE((*many)[2].has_value());
  // Alice's two logins each find their own among what came.
  for (size_t i : {1u, 3u}) {
    std::set<uint64_t> ids;
    for (const auto& k : (*many)[i]->app_passwords) ids.insert(k.id);
    EXPECT_TRUE(ids.count(i == 1 ? a1->first : a2->first)) << i;
  }
  // Without selectors: none.
  auto plain = accounts_->FindMailboxesForLogin({"alice@example.test", "bob@example.test"});
  EXPECT_TRUE((*plain)[0]->app_passwords.empty());
  // Expiry is the database server's clock.
  ASSERT_TRUE(db_->Execute("UPDATE app_password SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE id = ?",
                           {a2->first})
                  .ok());
  EXPECT_TRUE(accounts_->FindMailboxForLogin("alice@example.test", s2)->app_passwords.at(0).expired);
  EXPECT_FALSE(accounts_->FindMailboxForLogin("alice@example.test", s1)->app_passwords.at(0).expired);
  // Access back to "all": NULL.
  ASSERT_TRUE(store_->SetAccess("alice@example.test", std::optional<unsigned>(), std::nullopt, kActor).ok());
  auto access = store_->GetAccess("alice@example.test");
  EXPECT_FALSE(access->login_protocols.has_value());
  EXPECT_EQ(access->main_password_protocols, std::optional<unsigned>(kProtoWebmail));
  EXPECT_EQ(ChangeLogCount("mailbox-access"), 2u);
}

TEST_F(AppPasswordsTest, TheLoginHistoryIsBoundedPerMailbox) {
  auto id = accounts_->FindMailboxForLogin("alice@example.test")->id;
  auto ip = *PackIp("2001:db8::7");
  // Kept: the newest 5 and those since the last prune (seq 10): 10..12.
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(store_->RecordLogin(id, i % 2 ? "imap" : "pop3", ip, i == 11 ? 42 : 0, 5).ok()) << i;
  auto rows = db_->Query("SELECT COUNT(*), MIN(seq) FROM login_history WHERE mailbox_id = ?", {id});
  EXPECT_EQ(rows->front().Uint(0), 7u);
  EXPECT_EQ(rows->front().Uint(1), 6u);
  auto logins = store_->Logins("alice@example.test", 100);
  ASSERT_TRUE(logins.ok());
  ASSERT_EQ(logins->size(), 7u);
  EXPECT_EQ((*logins)[0].app_password_id, 42u);  // newest first
  EXPECT_EQ((*logins)[0].protocol, "imap");
  EXPECT_EQ((*logins)[0].ip, "2001:db8::7");
  EXPECT_EQ((*logins)[1].protocol, "pop3");
  EXPECT_EQ((*logins)[1].app_password_id, 0u);
  EXPECT_EQ(store_->Logins("alice@example.test", 2)->size(), 2u);
  EXPECT_TRUE(store_->Logins("bob@example.test", 100)->empty());
}

TEST_F(AppPasswordsTest, ThePassdbsHistoryIsOneAppendAfterTheSeqTheLoginQueryBrings) {
  auto alice = accounts_->FindMailboxForLogin("alice@example.test", "", true);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->newest_login_seq, 0u);  // no history yet
  // 70 logins of alice and one of bob in one call (two statements: 64 + 7),
  // with a history of 5: alice's are pruned at every fifth (the last at
  // 70, before the second statement appends 65..70), so her newest 5 stay,
  // and bob's.
  auto bob = accounts_->FindMailboxForLogin("bob@example.test")->id;
  std::vector<LoginEntry> entries;
  for (uint64_t seq = 1; seq <= 70; ++seq)
    entries.push_back(LoginEntry{alice->id, seq, seq % 2 ? "imap" : "pop3", *PackIp("192.0.2.9"), seq == 70 ? 42u : 0u});
  entries.push_back(LoginEntry{bob, 1, "smtp", "", 0});
  ASSERT_TRUE(store_->RecordLogins(entries, 5).ok());
  auto rows = db_->Query("SELECT COUNT(*), MIN(seq), MAX(seq) FROM login_history WHERE mailbox_id = ?", {alice->id});
  EXPECT_EQ(rows->front().Uint(0), 5u);
  EXPECT_EQ(rows->front().Uint(1), 66u);
  EXPECT_EQ(rows->front().Uint(2), 70u);
  auto logins = store_->Logins("alice@example.test", 10);
  ASSERT_EQ(logins->size(), 5u);
  EXPECT_EQ((*logins)[0].app_password_id, 42u);
  EXPECT_EQ((*logins)[0].ip, "192.0.2.9");
  EXPECT_EQ(store_->Logins("bob@example.test", 10)->at(0).protocol, "smtp");
  // The login query now brings the newest seq, single and batched; without
  // with_history it does not look.
  EXPECT_EQ(accounts_->FindMailboxForLogin("alice@example.test", "", true)->newest_login_seq, 70u);
  EXPECT_EQ(accounts_->FindMailboxForLogin("alice@example.test")->newest_login_seq, 0u);
  auto batch = accounts_->FindMailboxesForLogin({"bob@example.test", "ALICE@example.test"}, {}, true);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ((*batch)[0]->newest_login_seq, 1u);
  EXPECT_EQ((*batch)[1]->newest_login_seq, 70u);
  // A second write of a seq (a login that read a stale newest, through
  // another process) is not kept, and changes nothing.
  ASSERT_TRUE(store_->RecordLogins({LoginEntry{alice->id, 70, "sieve", "", 0}}, 5).ok());
  rows = db_->Query("SELECT COUNT(*) FROM login_history WHERE mailbox_id = ?", {alice->id});
  EXPECT_EQ(rows->front().Uint(0), 5u);
  EXPECT_EQ(store_->Logins("alice@example.test", 1)->at(0).protocol, "pop3");
  // Between prunes a mailbox grows to at most 2 * 5 - 1 rows; the prune at
  // 75 takes it back to its newest 5 (71..75), as at 80 (76..80) after a
  // seq that went missing (a write lost before it reached the server).
  for (uint64_t seq = 71; seq <= 84; ++seq) {
    if (seq == 79) continue;
    ASSERT_TRUE(store_->RecordLogins({LoginEntry{alice->id, seq, "imap", "", 0}}, 5).ok());
    rows = db_->Query("SELECT COUNT(*), MIN(seq) FROM login_history WHERE mailbox_id = ?", {alice->id});
    EXPECT_LE(rows->front().Uint(0), 9u) << seq;
    if (seq == 74) EXPECT_EQ(rows->front().Uint(0), 9u);
    if (seq == 75 || seq == 80) EXPECT_EQ(rows->front().Uint(1), seq - 4) << seq;
  }
  EXPECT_EQ(store_->RecordLogins(entries, 0).error().kind, ErrorKind::kInvalid);
}

TEST_F(AppPasswordsTest, TheDormantReportUsesTheHistoryAndTheLastLogins) {
  ASSERT_TRUE(db_->Execute("UPDATE mailbox SET created_at = UTC_TIMESTAMP() - INTERVAL 200 DAY").ok());
  NewMailbox fresh;
  fresh.address = "new@example.test";
  fresh.password_hash = "{PLAIN}pw";
  ASSERT_TRUE(accounts_->AddMailbox(fresh, kActor).ok());
  auto list = [&] {
    std::vector<std::string> out;
    EXPECT_TRUE(store_->ListInactive(90, [&](const InactiveMailbox& m) {
                        out.push_back(m.address + "|" + (m.last_login.empty() ? "never" : "some"));
                        return true;
                      })
                    .ok());
    return out;
  };
  EXPECT_EQ(list(), (std::vector<std::string>{"alice@example.test|never", "bob@example.test|never"}));
  auto alice = accounts_->FindMailboxForLogin("alice@example.test")->id;
  ASSERT_TRUE(store_->RecordLogin(alice, "imap", "", 0, 20).ok());
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "imap", "192.0.2.1", std::time(nullptr) - 100 * 86400).ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"bob@example.test|some"}));
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "pop3", "192.0.2.1").ok());
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(store_->ListInactive(0, [](const InactiveMailbox&) { return true; }).error().kind, ErrorKind::kInvalid);
}

// Migration 015: both login writers raise mailbox.last_login_at beside
// their own rows (the sorted pages and the dormant report read it), to the
// minute, never lower it, and leave updated_at (an administrator's last
// change) as it was.
TEST_F(AppPasswordsTest, LoginWritersRaiseTheMailboxsNewestLogin) {
  ASSERT_TRUE(db_->Execute("UPDATE mailbox SET updated_at = '2020-02-02 02:02:02'").ok());
  auto state = [&](const char* address) {
    auto rows = db_->Query(
        "SELECT COALESCE(CAST(last_login_at AS CHAR), ''), CAST(updated_at AS CHAR), "
        "COALESCE(TIMESTAMPDIFF(SECOND, last_login_at, UTC_TIMESTAMP(6)), -1) FROM mailbox WHERE lookup_key = ?",
        {std::string(address)});
    EXPECT_TRUE(rows.ok() && rows->size() == 1);
    return std::make_tuple(rows->front().String(0), rows->front().String(1), rows->front().Int(2));
  };
  EXPECT_EQ(std::get<0>(state("bob@example.test")), "");
  const int64_t now = std::time(nullptr);
  // The dict: a login 100 days ago, then an older one (late), which changes nothing.
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "imap", "192.0.2.1", now - 100 * 86400).ok());
  auto [at, updated, age] = state("bob@example.test");
  EXPECT_NEAR(age, 100 * 86400, 60);
  EXPECT_EQ(updated, "2020-02-02 02:02:02");
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "pop3", "192.0.2.1", now - 200 * 86400).ok());
  EXPECT_EQ(std::get<0>(state("bob@example.test")), at);
  // The passdb: a login now raises it; the dict's older one after it does not lower it.
  ASSERT_TRUE(store_->RecordLogin(accounts_->FindMailboxForLogin("bob@example.test")->id, "imap", "", 0, 20).ok());
  auto [raised, updated2, age2] = state("bob@example.test");
  EXPECT_GT(raised, at);
  EXPECT_LE(age2, 60);
  EXPECT_EQ(updated2, "2020-02-02 02:02:02");
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "imap", "192.0.2.1", now - 100 * 86400).ok());
  EXPECT_EQ(std::get<0>(state("bob@example.test")), raised);
  // To the minute: another login within it, from either writer, writes nothing.
  ASSERT_TRUE(store_->RecordLogin(accounts_->FindMailboxForLogin("bob@example.test")->id, "pop3", "", 0, 20).ok());
  ASSERT_TRUE(accounts_->RecordLastLogin("bob@example.test", "imap", "192.0.2.1").ok());
  EXPECT_EQ(std::get<0>(state("bob@example.test")), raised);
  // A batch of several mailboxes' logins raises each; another mailbox stays as it was.
  auto alice = accounts_->FindMailboxForLogin("alice@example.test")->id;
  auto bob = accounts_->FindMailboxForLogin("bob@example.test")->id;
  ASSERT_TRUE(store_->RecordLogins({LoginEntry{alice, 1, "imap", "", 0}, LoginEntry{alice, 2, "pop3", "", 0},
                                    LoginEntry{bob, 2, "imap", "", 0}},
                                   20)
                  .ok());
  EXPECT_LE(std::get<2>(state("alice@example.test")), 60);
  EXPECT_GE(std::get<0>(state("bob@example.test")), raised);
  EXPECT_EQ(std::get<1>(state("alice@example.test")), "2020-02-02 02:02:02");
}

}  // namespace
}  // namespace roster::test
