// Tests of the dict driver's core (quota/roster_dict.h) through its C API,
// against the private MariaDB, as the dict role: keys, values, commits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/accounts.h"
#include "quota/roster_dict.h"
#include "tests/db/mariadb_fixture.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};

class DictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    Accounts accounts(*admin_);
    Domain d;
    d.name = "dict.test";
    ASSERT_TRUE(accounts.AddDomain(d, kActor).ok());
    for (const char* address : {"ann@dict.test", "bob@dict.test"}) {
      NewMailbox m;
      m.address = address;
      m.password_hash = "{PLAIN}x";
      ASSERT_TRUE(accounts.AddMailbox(m, kActor).ok());
    }
    char error[256] = "";
    dict_ = roster_dict_create(MariaDb::Get().config_path().c_str(), error, sizeof error);
    ASSERT_NE(dict_, nullptr) << error;
  }
  void TearDown() override { roster_dict_destroy(dict_); }

  // "found:VALUE", "notfound" or "error:MESSAGE".
  std::string Lookup(const char* user, const char* key) {
    char value[256] = "", error[256] = "";
    int r = roster_dict_lookup(dict_, user, key, value, sizeof value, error, sizeof error);
    return r > 0 ? std::string("found:") + value : r == 0 ? "notfound" : std::string("error:") + error;
  }
  roster_dict_commit_result Commit(const char* user, std::vector<roster_dict_change> changes,
                                   std::string* error_text = nullptr) {
    char error[256] = "";
    auto r = roster_dict_commit(dict_, user, changes.data(), static_cast<unsigned>(changes.size()), error,
                                sizeof error);
    if (error_text) *error_text = error;
    return r;
  }
  static roster_dict_change Inc(const char* key, long long diff) { return {ROSTER_DICT_INC, key, nullptr, diff}; }
  static roster_dict_change Set(const char* key, const char* value) { return {ROSTER_DICT_SET, key, value, 0}; }
  static roster_dict_change Unset(const char* key) { return {ROSTER_DICT_UNSET, key, nullptr, 0}; }

  std::unique_ptr<Db> admin_;
  roster_dict* dict_ = nullptr;
};

TEST_F(DictTest, CountersIncrementSetAndLookUp) {
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:0");
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 1500), Inc("priv/quota/messages", 2)}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Commit("Ann@DICT.test", {Inc("priv/quota/storage", -500)}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:1000");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:2");
  EXPECT_EQ(Lookup("bob@dict.test", "priv/quota/messages"), "found:0");
  EXPECT_EQ(Lookup("nobody@dict.test", "priv/quota/messages"), "notfound");
}

TEST_F(DictTest, UnsetForgetsTheValueAndAnIncrementThenIsNotFound) {
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "7000"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Commit("ann@dict.test", {Unset("priv/quota/storage"), Unset("priv/quota/messages")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "notfound");
  // The increment finds no counter: NOTFOUND, and the rest of the commit is kept.
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 10), Set("priv/quota/messages", "4")}),
            ROSTER_DICT_COMMIT_NOTFOUND);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:4");
  // The usual quota commit (both increments, one statement): one unknown counter
  // makes it NOTFOUND and changes neither.
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 10), Inc("priv/quota/messages", 1)}),
            ROSTER_DICT_COMMIT_NOTFOUND);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:4");
  EXPECT_EQ(Commit("bob@dict.test", {Inc("priv/quota/storage", 10), Inc("priv/quota/messages", 1),
                                     Inc("priv/quota/storage", 5)}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("bob@dict.test", "priv/quota/storage"), "found:15");
  EXPECT_EQ(Commit("nobody@dict.test", {Inc("priv/quota/storage", 10)}), ROSTER_DICT_COMMIT_NOTFOUND);
  EXPECT_EQ(admin_->Query("SELECT COUNT(*) FROM mailbox")->front().Uint(0), 2u);
  EXPECT_EQ(admin_->Query("SELECT COUNT(*) FROM mailbox_usage")->front().Uint(0), 2u);
}

TEST_F(DictTest, InvalidChangesCommitNothing) {
  const std::string huge(5000, '9');
  struct Case {
    std::vector<roster_dict_change> changes;
    const char* why;
  } cases[] = {
      {{Inc("priv/quota/storage", 5), Set("priv/quota/other", "1")}, "priv/quota/other"},
      {{Inc("priv/quota/storage", 5), Set("priv/quota/storage", "12abc")}, "invalid integer '12abc'"},
      {{Set("priv/quota/storage", "99999999999999999999")}, "invalid integer"},
      {{Set("priv/quota/storage", "9223372036854775808")}, "integer out of range"},
      {{Set("priv/quota/storage", huge.c_str())}, "too long"},
      {{Set("priv/quota/storage", "-")}, "invalid integer"},
      {{Inc("shared/roster/lastlogin/ann@dict.test", 1)}, "cannot be incremented"},
      {{Unset("shared/roster/lastlogin/ann@dict.test")}, "cannot be unset"},
      {{Set("shared/roster/lastlogin/ann@dict.test", "imap 999.1.1.1 1763683200")}, "IP address"},
      {{Set("shared/roster/lastlogin/ann@dict.test", "IMAP; 127.0.0.1")}, "protocol"},
      {{Set("shared/roster/lastlogin/ann@dict.test", "imap 127.0.0.1 12")}, "bad time"},
      {{Set("shared/roster/lastlogin/not an address", "imap 127.0.0.1")}, "invalid"},
      {{Inc(huge.c_str(), 1)}, "too long"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_EQ(Commit("ann@dict.test", c.changes, &error), ROSTER_DICT_COMMIT_FAILED) << c.why;
    EXPECT_NE(error.find(c.why), std::string::npos) << c.why << ": " << error;
  }
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:0");  // nothing applied
  EXPECT_EQ(Lookup(nullptr, "priv/quota/storage").rfind("error:", 0), 0u);  // priv/ needs a user
  EXPECT_NE(Lookup("ann@dict.test", "priv/quota/other").find("unsupported key 'priv/quota/other'"),
            std::string::npos);
  EXPECT_EQ(Commit("ann@dict.test", {}), ROSTER_DICT_COMMIT_OK);
}

TEST_F(DictTest, LastLoginPerProtocolNewestWins) {
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "imap 127.0.0.2 1763683200")}),
            ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "pop3 ::1 1763683300")}),
            ROSTER_DICT_COMMIT_OK);
  // A commit that arrives late, for an older login, changes nothing.
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "imap 127.0.0.9 1763683100")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup(nullptr, "shared/roster/lastlogin/ann@dict.test"), "found:pop3 ::1 1763683300");
  auto rows = admin_->Query(
      "SELECT l.protocol, INET6_NTOA(l.ip), CAST(UNIX_TIMESTAMP(l.logged_at) AS SIGNED) FROM last_login l "
      "ORDER BY l.protocol");
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].String(1), "127.0.0.2");
  EXPECT_EQ((*rows)[0].Int(2), 1763683200);
  EXPECT_EQ((*rows)[1].String(1), "::1");
  // Without a time the server's clock is used; an unknown mailbox is an error.
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/bob@dict.test", "imap 127.0.0.3")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/nobody@dict.test", "imap 127.0.0.3")}),
            ROSTER_DICT_COMMIT_FAILED);
  EXPECT_EQ(Lookup(nullptr, "shared/roster/lastlogin/nobody@dict.test"), "notfound");
}

TEST_F(DictTest, DatabaseDownFailsTheCommitAndTheLookup) {
  MariaDb::Get().Stop();
  std::string error;
  auto committed = Commit("ann@dict.test", {Inc("priv/quota/storage", 5)}, &error);
  std::string looked_up = Lookup("ann@dict.test", "priv/quota/storage");
  MariaDb::Get().Start();
  EXPECT_EQ(committed, ROSTER_DICT_COMMIT_FAILED);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(looked_up.rfind("error:", 0), 0u) << looked_up;
  // Back without a restart of the dict, and nothing was counted twice or lost.
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 5)}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:5");
}

// The asynchronous mode (the dict-async service): answers come through
// done(), run by roster_dict_wait on this thread, each exactly once.
struct AsyncAnswers {
  std::vector<std::string> got;
  static void Done(void* context, const roster_dict_answer* a) {
    auto* self = static_cast<AsyncAnswers*>(context);
    std::string text = a->found > 0 ? std::string("found:") + a->value
                       : a->found == 0 ? "notfound"
                                       : std::string("error:") + a->error;
    self->got.push_back(text);
  }
  static void Committed(void* context, const roster_dict_answer* a) {
    auto* self = static_cast<AsyncAnswers*>(context);
    self->got.push_back(a->result == ROSTER_DICT_COMMIT_OK         ? "ok"
                        : a->result == ROSTER_DICT_COMMIT_NOTFOUND ? "notfound"
                                                                   : std::string("failed:") + a->error);
  }
};

TEST_F(DictTest, AsynchronousCommitsAndLookupsAnswerEachOnceInOrder) {
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  ASSERT_EQ(Commit("bob@dict.test", {Unset("priv/quota/storage")}), ROSTER_DICT_COMMIT_OK);
  AsyncAnswers commits, lookups;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)};
  for (int i = 0; i < 50; ++i)
    roster_dict_commit_async(dict_, "ann@dict.test", usual.data(), 2, AsyncAnswers::Committed, &commits);
  roster_dict_commit_async(dict_, "bob@dict.test", usual.data(), 2, AsyncAnswers::Committed, &commits);
  roster_dict_commit_async(dict_, "nobody@dict.test", usual.data(), 2, AsyncAnswers::Committed, &commits);
  std::vector<roster_dict_change> bad = {Inc("priv/quota/other", 1)};
  roster_dict_commit_async(dict_, "ann@dict.test", bad.data(), 1, AsyncAnswers::Committed, &commits);
  std::vector<roster_dict_change> login = {Set("shared/roster/lastlogin/ann@dict.test", "imap 192.0.2.1")};
  roster_dict_commit_async(dict_, nullptr, login.data(), 1, AsyncAnswers::Committed, &commits);
  // A recount's set, then an increment sent after it: applied in that order.
  std::vector<roster_dict_change> recount = {Set("priv/quota/storage", "1000")};
  roster_dict_commit_async(dict_, "bob@dict.test", recount.data(), 1, AsyncAnswers::Committed, &commits);
  roster_dict_commit_async(dict_, "bob@dict.test", usual.data(), 1, AsyncAnswers::Committed, &commits);
  // Lookups sent after the commits see them.
  roster_dict_lookup_async(dict_, "ann@dict.test", "priv/quota/storage", AsyncAnswers::Done, &lookups);
  roster_dict_lookup_async(dict_, "ann@dict.test", "priv/quota/messages", AsyncAnswers::Done, &lookups);
  roster_dict_lookup_async(dict_, "bob@dict.test", "priv/quota/storage", AsyncAnswers::Done, &lookups);
  roster_dict_lookup_async(dict_, "nobody@dict.test", "priv/quota/storage", AsyncAnswers::Done, &lookups);
  roster_dict_lookup_async(dict_, "ann@dict.test", "priv/quota/nothing", AsyncAnswers::Done, &lookups);
  roster_dict_lookup_async(dict_, nullptr, "shared/roster/lastlogin/ann@dict.test", AsyncAnswers::Done, &lookups);
  EXPECT_EQ(roster_dict_pending(dict_), 62u);
  roster_dict_wait(dict_);
  EXPECT_EQ(roster_dict_pending(dict_), 0u);

  ASSERT_EQ(commits.got.size(), 56u);
  std::vector<std::string> ann(commits.got.begin(), commits.got.begin() + 50);
  EXPECT_EQ(ann, std::vector<std::string>(50, "ok"));
  EXPECT_EQ(commits.got[50], "notfound");  // bob's bytes are unknown
  EXPECT_EQ(commits.got[51], "notfound");  // no such mailbox
  EXPECT_EQ(commits.got[52].rfind("failed:", 0), 0u) << commits.got[52];
  EXPECT_NE(commits.got[52].find("priv/quota/other"), std::string::npos) << commits.got[52];
  EXPECT_EQ(commits.got[53], "ok");
  EXPECT_EQ(commits.got[54], "ok");
  EXPECT_EQ(commits.got[55], "ok");
  ASSERT_EQ(lookups.got.size(), 6u);
  EXPECT_EQ(lookups.got[0], "found:5000");
  EXPECT_EQ(lookups.got[1], "found:50");
  EXPECT_EQ(lookups.got[2], "found:1100");
  EXPECT_EQ(lookups.got[3], "notfound");
  EXPECT_EQ(lookups.got[4].rfind("error:", 0), 0u) << lookups.got[4];
  EXPECT_EQ(lookups.got[5].rfind("found:imap 192.0.2.1 ", 0), 0u) << lookups.got[5];
}

TEST_F(DictTest, AsynchronousModeWithTheDatabaseDownFailsEveryRequest) {
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  MariaDb::Get().Stop();
  AsyncAnswers commits, lookups;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)};
  for (int i = 0; i < 5; ++i)
    roster_dict_commit_async(dict_, "ann@dict.test", usual.data(), 2, AsyncAnswers::Committed, &commits);
  roster_dict_lookup_async(dict_, "ann@dict.test", "priv/quota/storage", AsyncAnswers::Done, &lookups);
  roster_dict_wait(dict_);
  MariaDb::Get().Start();
  ASSERT_EQ(commits.got.size(), 5u);
  for (const std::string& g : commits.got) EXPECT_EQ(g.rfind("failed:", 0), 0u) << g;
  ASSERT_EQ(lookups.got.size(), 1u);
  EXPECT_EQ(lookups.got[0].rfind("error:", 0), 0u) << lookups.got[0];
  // Back without a restart, nothing counted.
  roster_dict_commit_async(dict_, "ann@dict.test", usual.data(), 2, AsyncAnswers::Committed, &commits);
  roster_dict_wait(dict_);
  EXPECT_EQ(commits.got.back(), "ok");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:100");
}

}  // namespace
}  // namespace roster::test
