// Tests of the dict driver's core (quota/dict_core.h) through its C API
// (quota/roster_dict.h), against the private MariaDB, as the dict role: keys,
// values, commits; inline (the callback runs before the call returns) and
// threaded (it runs from roster_dict_drain/roster_dict_wait).
#include <gtest/gtest.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "quota/roster_dict.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};

class DictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    Stores accounts(*admin_);
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

  // The test configuration plus `extra` lines, as a file of its own.
  static std::string ConfigWith(const std::string& name, const std::string& extra) {
    std::ifstream in(MariaDb::Get().config_path());
    std::stringstream text;
    text << in.rdbuf() << extra;
    std::string path = MariaDb::Get().dir() + "/" + name;
    std::ofstream(path) << text.str();
    return path;
  }
  // Replaces this test's dict by one made from `config_path`.
  void Reopen(const std::string& config_path) {
    roster_dict_destroy(dict_);
    char error[256] = "";
    dict_ = roster_dict_create(config_path.c_str(), error, sizeof error);
    ASSERT_NE(dict_, nullptr) << error;
  }
  std::optional<int64_t> Counter(const char* address, const char* column) {
    auto rows = admin_->Query(std::string("SELECT u.") + column +
                                  " FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id WHERE m.address = ?",
                              {std::string(address)});
    EXPECT_TRUE(rows.ok() && rows->size() == 1);
    if (!rows.ok() || rows->empty() || rows->front().IsNull(0)) return std::nullopt;
    return rows->front().Int(0);
  }
  uint64_t LoginRows(const std::string& where = "1") {
    return admin_->Query("SELECT COUNT(*) FROM last_login WHERE " + where)->front().Uint(0);
  }

  // An inline request's answer: its callback has run once when the call returns.
  struct Inline {
    int calls = 0;
    roster_dict_answer answer{};
    std::string value, error;
    static void Done(void* context, const roster_dict_answer* a) {
      auto* self = static_cast<Inline*>(context);
      ++self->calls;
      self->answer = *a;
      self->value = a->value != nullptr ? a->value : "";
      self->error = a->error != nullptr ? a->error : "";
    }
  };
  // "found:VALUE", "notfound" or "error:MESSAGE".
  std::string Lookup(const char* user, const char* key) {
    Inline got;
    roster_dict_lookup(dict_, user, key, 1, Inline::Done, &got);
    EXPECT_EQ(got.calls, 1);
    int r = got.answer.found;
    return r > 0 ? "found:" + got.value : r == 0 ? "notfound" : "error:" + got.error;
  }
  roster_dict_commit_result Commit(const char* user, std::vector<roster_dict_change> changes,
                                   std::string* error_text = nullptr) {
    Inline got;
    roster_dict_commit(dict_, user, changes.data(), static_cast<unsigned>(changes.size()), 1, Inline::Done, &got);
    EXPECT_EQ(got.calls, 1);
    if (error_text) *error_text = got.answer.result == ROSTER_DICT_COMMIT_FAILED ? got.error : "";
    return got.answer.result;
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
  // Back without a restart of the dict. The failed increment would leave the
  // counter short ("desynced", as Dovecot logs it), so it is forgotten once
  // the server is back: Dovecot recounts it, and from then on it counts.
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 5)}), ROSTER_DICT_COMMIT_NOTFOUND);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "notfound");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:0");  // not changed: still known
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "700")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 5)}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:705");
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
    roster_dict_commit(dict_, "ann@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &commits);
  roster_dict_commit(dict_, "bob@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &commits);
  roster_dict_commit(dict_, "nobody@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &commits);
  std::vector<roster_dict_change> bad = {Inc("priv/quota/other", 1)};
  roster_dict_commit(dict_, "ann@dict.test", bad.data(), 1, 0, AsyncAnswers::Committed, &commits);
  std::vector<roster_dict_change> login = {Set("shared/roster/lastlogin/ann@dict.test", "imap 192.0.2.1")};
  roster_dict_commit(dict_, nullptr, login.data(), 1, 0, AsyncAnswers::Committed, &commits);
  // A recount's set, then an increment sent after it: applied in that order.
  std::vector<roster_dict_change> recount = {Set("priv/quota/storage", "1000")};
  roster_dict_commit(dict_, "bob@dict.test", recount.data(), 1, 0, AsyncAnswers::Committed, &commits);
  roster_dict_commit(dict_, "bob@dict.test", usual.data(), 1, 0, AsyncAnswers::Committed, &commits);
  // Lookups sent after the commits see them.
  roster_dict_lookup(dict_, "ann@dict.test", "priv/quota/storage", 0, AsyncAnswers::Done, &lookups);
  roster_dict_lookup(dict_, "ann@dict.test", "priv/quota/messages", 0, AsyncAnswers::Done, &lookups);
  roster_dict_lookup(dict_, "bob@dict.test", "priv/quota/storage", 0, AsyncAnswers::Done, &lookups);
  roster_dict_lookup(dict_, "nobody@dict.test", "priv/quota/storage", 0, AsyncAnswers::Done, &lookups);
  roster_dict_lookup(dict_, "ann@dict.test", "priv/quota/nothing", 0, AsyncAnswers::Done, &lookups);
  roster_dict_lookup(dict_, nullptr, "shared/roster/lastlogin/ann@dict.test", 0, AsyncAnswers::Done, &lookups);
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

// Destroying the core with requests still queued: each callback runs once,
// inside roster_dict_destroy (after the threads ran the request), and none
// after it; the commits are applied, never lost.
TEST_F(DictTest, DestroyWithRequestsInFlightAnswersEachOnce) {
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  AsyncAnswers commits, lookups;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)};
  for (int i = 0; i < 40; ++i) {
    roster_dict_commit(dict_, i % 2 ? "ann@dict.test" : "bob@dict.test", usual.data(), 2, 0,
                       AsyncAnswers::Committed, &commits);
    roster_dict_lookup(dict_, "ann@dict.test", "priv/quota/messages", 0, AsyncAnswers::Done, &lookups);
  }
  roster_dict_destroy(dict_);
  dict_ = nullptr;
  EXPECT_EQ(commits.got, std::vector<std::string>(40, "ok"));
  EXPECT_EQ(lookups.got.size(), 40u);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 20);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 2000);
}

TEST_F(DictTest, AsynchronousModeWithTheDatabaseDownFailsEveryRequest) {
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  MariaDb::Get().Stop();
  AsyncAnswers commits, lookups;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)};
  for (int i = 0; i < 5; ++i)
    roster_dict_commit(dict_, "ann@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &commits);
  roster_dict_lookup(dict_, "ann@dict.test", "priv/quota/storage", 0, AsyncAnswers::Done, &lookups);
  roster_dict_wait(dict_);
  MariaDb::Get().Start();
  ASSERT_EQ(commits.got.size(), 5u);
  for (const std::string& g : commits.got) EXPECT_EQ(g.rfind("failed:", 0), 0u) << g;
  ASSERT_EQ(lookups.got.size(), 1u);
  EXPECT_EQ(lookups.got[0].rfind("error:", 0), 0u) << lookups.got[0];
  // Back without a restart: the counters that missed increments are unknown
  // (recounted by Dovecot), never short.
  roster_dict_commit(dict_, "ann@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &commits);
  roster_dict_wait(dict_);
  EXPECT_EQ(commits.got.back(), "notfound");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "notfound");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "notfound");
}

// ---------------------------------------------------------------- a server restart between writes

// Writes on a connection that sat idle across a server restart: the login is
// recorded and the increment applied exactly once, in either mode.
TEST_F(DictTest, WritesAfterARestartAreAppliedOnce) {
  // No ping first, so the writes themselves meet the dead connection.
  Reopen(ConfigWith("noping.conf", "db_idle_check = 1h\n"));
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "imap 127.0.0.2")}), ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)}),
            ROSTER_DICT_COMMIT_OK);
  MariaDb::Get().Stop();
  MariaDb::Get().Start();
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "pop3 127.0.0.3")}), ROSTER_DICT_COMMIT_OK);
  MariaDb::Get().Stop();
  MariaDb::Get().Start();
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 200);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 2);
  EXPECT_EQ(LoginRows("protocol = 'pop3'"), 1u);

  // The asynchronous mode's own connection.
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  AsyncAnswers answers;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 10), Inc("priv/quota/messages", 1)};
  std::vector<roster_dict_change> login = {Set("shared/roster/lastlogin/bob@dict.test", "imap 192.0.2.1")};
  roster_dict_commit(dict_, "bob@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  MariaDb::Get().Stop();
  MariaDb::Get().Start();
  roster_dict_commit(dict_, nullptr, login.data(), 1, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  MariaDb::Get().Stop();
  MariaDb::Get().Start();
  roster_dict_commit(dict_, "bob@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  EXPECT_EQ(answers.got, std::vector<std::string>({"ok", "ok", "ok"}));
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 20);
  EXPECT_EQ(Counter("bob@dict.test", "messages"), 2);
  EXPECT_EQ(LoginRows("protocol = 'imap' AND ip = INET6_ATON('192.0.2.1')"), 1u);
}

// The server takes an increment and hangs before answering: it may have been
// applied or not. The counter ends unknown (Dovecot recounts it), never
// counted twice or left short, whether it is forgotten at once or, as here
// while the server still hangs, once it is back.
TEST_F(DictTest, AnIncrementWhoseFateIsUnknownLeavesTheCounterUnknown) {
  Reopen(ConfigWith("noping.conf", "db_idle_check = 1h\n"));
  ASSERT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)}),
            ROSTER_DICT_COMMIT_OK);
  MariaDb::Get().Pause();
  std::string error;
  auto r = Commit("ann@dict.test", {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)}, &error);
  MariaDb::Get().Resume();
  EXPECT_EQ(r, ROSTER_DICT_COMMIT_FAILED);
  EXPECT_NE(error.find("outcome unknown"), std::string::npos) << error;
  // The dict's next request forgets the counters first.
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "notfound");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "notfound");
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), std::nullopt);
  // Whatever the server did with the hung statement, it does not change an
  // unknown counter; the recount's value is then the base of what follows.
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "300"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 1)}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 301);
  // Bob's counters were never in doubt.
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 0);
}

// ---------------------------------------------------------------- one bad increment in a batch

// The asynchronous mode runs many clients' increments as one UPDATE. One
// that does not fit (a counter pushed past BIGINT) fails alone, and its
// error names only its own mailbox; the others are applied.
TEST_F(DictTest, ABadIncrementInABatchFailsAlone) {
  for (const char* address : {"carl@dict.test", "dora@dict.test"}) {
    NewMailbox m;
    m.address = address;
    m.password_hash = "{PLAIN}x";
    ASSERT_TRUE(AdminStore(*admin_).AddMailbox(m, kActor).ok());
  }
  ASSERT_EQ(Commit("bob@dict.test", {Set("priv/quota/storage", "9223372036854775000")}), ROSTER_DICT_COMMIT_OK);
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  // Carl's row is locked, so the dict thread waits on his increment while the
  // others queue up behind it and then run together as one batch.
  auto root = DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup);
  Db locker(*root);
  ASSERT_TRUE(locker.Execute("START TRANSACTION").ok());
  ASSERT_TRUE(locker
                  .Query("SELECT u.bytes FROM roster.mailbox_usage u JOIN roster.mailbox m ON m.id = u.mailbox_id "
                         "WHERE m.address = 'carl@dict.test' FOR UPDATE")
                  .ok());
  AsyncAnswers answers;
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 1000), Inc("priv/quota/messages", 1)};
  roster_dict_commit(dict_, "carl@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  // Waiting shows as its UPDATE running (in a lock wait, or in the
  // optimizer's read of the locked row).
  bool waiting = false;
  for (int i = 0; i < 500 && !waiting; ++i) {
    auto rows = locker.Query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'roster_dict' AND COMMAND = 'Execute' "
        "AND INFO LIKE 'UPDATE mailbox_usage%'");
    waiting = rows.ok() && rows->front().Uint(0) > 0;
    if (!waiting) usleep(10000);
  }
  if (!waiting) {
    ASSERT_TRUE(locker.Execute("COMMIT").ok());
    roster_dict_wait(dict_);
    FAIL() << "the dict thread never waited for carl's row: " << testing::PrintToString(answers.got);
  }
  for (const char* user : {"ann@dict.test", "bob@dict.test", "dora@dict.test"})
    roster_dict_commit(dict_, user, usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  ASSERT_TRUE(locker.Execute("COMMIT").ok());
  roster_dict_wait(dict_);
  ASSERT_EQ(answers.got.size(), 4u);
  EXPECT_EQ(answers.got[0], "ok");  // carl
  EXPECT_EQ(answers.got[1], "ok");  // ann
  EXPECT_EQ(answers.got[2].rfind("failed:", 0), 0u) << answers.got[2];  // bob
  EXPECT_EQ(answers.got[3], "ok");  // dora
  for (const char* other : {"ann@", "carl@", "dora@"})
    EXPECT_EQ(answers.got[2].find(other), std::string::npos) << answers.got[2];
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 1000);
  EXPECT_EQ(Counter("carl@dict.test", "bytes"), 1000);
  EXPECT_EQ(Counter("dora@dict.test", "messages"), 1);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 9223372036854775000);
  EXPECT_EQ(Counter("bob@dict.test", "messages"), 0);
}

// Increments whose sum overflows even before SQL: only that mailbox's fail.
TEST_F(DictTest, IncrementsThatOverflowTogetherFailOnlyTheirMailbox) {
  Stores accounts(*admin_);
  std::vector<UsageIncrement> incs = {{"ann@dict.test", INT64_MAX, 0},
                                      {"bob@dict.test", 5, 1},
                                      {"ann@dict.test", INT64_MAX, 0}};
  auto db = MariaDb::Get().Connect(DbRole::kDict);
  std::vector<Status> applied = UsageStore(*db).AddToUsages(incs);
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_TRUE(applied[0].ok());   // alone it fits
  EXPECT_TRUE(applied[1].ok());
  ASSERT_FALSE(applied[2].ok());  // on top of the first it does not
  EXPECT_EQ(applied[2].error().message.find("bob@"), std::string::npos) << applied[2].error().message;
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), INT64_MAX);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 5);
}

// ---------------------------------------------------------------- quota_clone's sets

// What MariaDB counted of the statements that change or read rows, server-wide
// (only this test talks to the server), read through a root connection.
class StatementCounts {
 public:
  StatementCounts() : root_(*DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup)) {}
  // The counts now; the query itself adds one to Com_select.
  std::map<std::string, int64_t> Now() {
    std::map<std::string, int64_t> counts;
    auto rows = root_.Query(
        "SELECT LOWER(VARIABLE_NAME), CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS "
        "WHERE VARIABLE_NAME IN ('COM_INSERT', 'COM_INSERT_SELECT', 'COM_UPDATE', 'COM_DELETE', 'COM_REPLACE', "
        "'COM_BEGIN', 'COM_COMMIT', 'COM_ROLLBACK', 'COM_SELECT')");
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    if (rows.ok())
      for (const DbRow& r : *rows) counts[r.String(0)] = r.Int(1);
    EXPECT_EQ(counts.size(), 9u);
    return counts;
  }
  // What ran between two counts, without the counting query's own SELECT:
  // "com_insert_select=1" and so on, zeros left out.
  static std::string Between(const std::map<std::string, int64_t>& before,
                             const std::map<std::string, int64_t>& after) {
    std::string ran;
    for (const auto& [name, n] : after) {
      int64_t diff = n - before.at(name) - (name == "com_select" ? 1 : 0);
      if (diff != 0) ran += (ran.empty() ? "" : " ") + name + "=" + std::to_string(diff);
    }
    return ran;
  }

 private:
  Db root_;
};

// quota_clone (Dovecot 2.4's only way to the dict) sets both counters after
// every delivery: one statement, as dict-sql's one upsert, not a transaction
// of one statement per counter.
TEST_F(DictTest, QuotaClonesSetOfBothCountersIsOneStatement) {
  StatementCounts counts;
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:0");  // connected
  auto before = counts.Now();
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "7000"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  auto after = counts.Now();
  EXPECT_EQ(StatementCounts::Between(before, after), "com_insert_select=1");
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 7000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 3);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 0);
  // The same through the asynchronous mode.
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  AsyncAnswers answers;
  std::vector<roster_dict_change> clone = {Set("priv/quota/storage", "9000"), Set("priv/quota/messages", "4")};
  before = counts.Now();
  roster_dict_commit(dict_, "ann@dict.test", clone.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  after = counts.Now();
  EXPECT_EQ(answers.got, std::vector<std::string>({"ok"}));
  EXPECT_EQ(StatementCounts::Between(before, after), "com_insert_select=1");
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 9000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 4);
}

TEST_F(DictTest, ASetOfOneCounterLeavesTheOther) {
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "7000"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "8000")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 8000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 3);
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/messages", "5")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 8000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 5);
  // A later set of the same counter in one commit wins, as applied in order.
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "1"), Set("priv/quota/messages", "6"),
                                     Set("priv/quota/storage", "2")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 2);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 6);
  // Setting the values a mailbox already has is OK too (no row changes).
  EXPECT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "2"), Set("priv/quota/messages", "6")}),
            ROSTER_DICT_COMMIT_OK);
  // A mailbox without a usage row gets one: the counter not set is unknown.
  ASSERT_TRUE(admin_->Execute("DELETE u FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id "
                              "WHERE m.address = 'bob@dict.test'")
                  .ok());
  ASSERT_EQ(Commit("bob@dict.test", {Set("priv/quota/storage", "500")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("bob@dict.test", "priv/quota/storage"), "found:500");
  EXPECT_EQ(Lookup("bob@dict.test", "priv/quota/messages"), "notfound");
}

TEST_F(DictTest, ASetMakesAnUnknownCounterKnown) {
  ASSERT_EQ(Commit("ann@dict.test", {Unset("priv/quota/storage"), Unset("priv/quota/messages")}),
            ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Counter("ann@dict.test", "bytes"), std::nullopt);
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "300"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:300");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:3");
  // One of them unknown, set alone: known again, the other kept.
  ASSERT_EQ(Commit("ann@dict.test", {Unset("priv/quota/messages")}), ROSTER_DICT_COMMIT_OK);
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/messages", "4")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/messages"), "found:4");
  EXPECT_EQ(Lookup("ann@dict.test", "priv/quota/storage"), "found:300");
  // And counts from there.
  EXPECT_EQ(Commit("ann@dict.test", {Inc("priv/quota/storage", 10), Inc("priv/quota/messages", 1)}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 310);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 5);
}

// An unknown user's sets fail the commit naming the mailbox, as a commit
// that takes the generic path (a set and an unset) does, and create nothing.
TEST_F(DictTest, SetsForAnUnknownUserFailAsTheGenericPathDoes) {
  std::string generic, both, one;
  EXPECT_EQ(Commit("nobody@dict.test", {Set("priv/quota/storage", "1"), Unset("priv/quota/messages")}, &generic),
            ROSTER_DICT_COMMIT_FAILED);
  EXPECT_EQ(Commit("nobody@dict.test", {Set("priv/quota/storage", "1"), Set("priv/quota/messages", "1")}, &both),
            ROSTER_DICT_COMMIT_FAILED);
  EXPECT_EQ(Commit("nobody@dict.test", {Set("priv/quota/messages", "1")}, &one), ROSTER_DICT_COMMIT_FAILED);
  EXPECT_NE(generic.find("no such mailbox: nobody@dict.test"), std::string::npos) << generic;
  EXPECT_EQ(both, generic);
  EXPECT_EQ(one, generic);
  EXPECT_EQ(admin_->Query("SELECT COUNT(*) FROM mailbox_usage")->front().Uint(0), 2u);
}

TEST_F(DictTest, SetsWithTheDatabaseDownFailAndChangeNothing) {
  ASSERT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "7000"), Set("priv/quota/messages", "3")}),
            ROSTER_DICT_COMMIT_OK);
  MariaDb::Get().Stop();
  std::string error;
  auto committed = Commit("ann@dict.test", {Set("priv/quota/storage", "8000"), Set("priv/quota/messages", "4")},
                          &error);
  MariaDb::Get().Start();
  EXPECT_EQ(committed, ROSTER_DICT_COMMIT_FAILED);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 7000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 3);
  // Back without a restart of the dict: the next set is applied.
  EXPECT_EQ(Commit("ann@dict.test", {Set("priv/quota/storage", "8000"), Set("priv/quota/messages", "4")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 8000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 4);
  // The asynchronous mode: every commit fails, none is half-applied.
  char buffer[256] = "";
  ASSERT_GE(roster_dict_start(dict_, buffer, sizeof buffer), 0) << buffer;
  MariaDb::Get().Stop();
  AsyncAnswers answers;
  std::vector<roster_dict_change> clone = {Set("priv/quota/storage", "9000"), Set("priv/quota/messages", "5")};
  for (const char* user : {"ann@dict.test", "bob@dict.test", "ann@dict.test"})
    roster_dict_commit(dict_, user, clone.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  MariaDb::Get().Start();
  ASSERT_EQ(answers.got.size(), 3u);
  for (const std::string& g : answers.got) EXPECT_EQ(g.rfind("failed:", 0), 0u) << g;
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 8000);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 4);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 0);
}

// The asynchronous mode's batch: several mailboxes' sets in one upsert, in
// the order they came (a later set wins, an increment after a set counts
// from it), each answered as alone.
TEST_F(DictTest, SetsOfManyMailboxesAreOneStatement) {
  auto db = MariaDb::Get().Connect(DbRole::kDict);
  Stores accounts(*db);
  StatementCounts counts;
  ASSERT_TRUE(db->Ping().ok());
  auto before = counts.Now();
  std::vector<Status> applied = accounts.SetUsages({{"ann@dict.test", 100, 1},
                                                    {"BOB@dict.test", 200, std::nullopt},
                                                    {"Ann@Dict.Test", std::nullopt, 2}});
  auto after = counts.Now();
  ASSERT_EQ(applied.size(), 3u);
  for (const Status& s : applied) EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(StatementCounts::Between(before, after), "com_insert_select=1");
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 100);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 2);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 200);
  EXPECT_EQ(Counter("bob@dict.test", "messages"), 0);
  // An unknown mailbox (and values that change nothing) cost a query that
  // tells which mailboxes are there; only the unknown one fails.
  applied = accounts.SetUsages({{"ann@dict.test", 100, 2}, {"nobody@dict.test", 1, 1}, {"bob@dict.test", 300, 3}});
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_TRUE(applied[0].ok());
  ASSERT_FALSE(applied[1].ok());
  EXPECT_TRUE(applied[1].error().is_not_found());
  EXPECT_NE(applied[1].error().message.find("nobody@dict.test"), std::string::npos);
  EXPECT_TRUE(applied[2].ok());
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 300);
  EXPECT_EQ(admin_->Query("SELECT COUNT(*) FROM mailbox_usage")->front().Uint(0), 2u);

  // Through the dict's threads, with whatever batches they make.
  char error[256] = "";
  ASSERT_GE(roster_dict_start(dict_, error, sizeof error), 0) << error;
  AsyncAnswers answers;
  std::vector<roster_dict_change> clone = {Set("priv/quota/storage", "5000"), Set("priv/quota/messages", "5")};
  std::vector<roster_dict_change> messages = {Set("priv/quota/messages", "7")};
  std::vector<roster_dict_change> usual = {Inc("priv/quota/storage", 100), Inc("priv/quota/messages", 1)};
  for (const char* user : {"ann@dict.test", "bob@dict.test", "nobody@dict.test"})
    roster_dict_commit(dict_, user, clone.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_commit(dict_, "ann@dict.test", messages.data(), 1, 0, AsyncAnswers::Committed, &answers);
  roster_dict_commit(dict_, "bob@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_commit(dict_, "bob@dict.test", clone.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_commit(dict_, "ann@dict.test", usual.data(), 2, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  ASSERT_EQ(answers.got.size(), 7u);
  EXPECT_EQ(answers.got[0], "ok");
  EXPECT_EQ(answers.got[1], "ok");
  EXPECT_EQ(answers.got[2].rfind("failed:", 0), 0u) << answers.got[2];
  EXPECT_NE(answers.got[2].find("no such mailbox: nobody@dict.test"), std::string::npos) << answers.got[2];
  for (size_t i = 3; i < 7; ++i) EXPECT_EQ(answers.got[i], "ok") << i;
  EXPECT_EQ(Counter("ann@dict.test", "bytes"), 5100);
  EXPECT_EQ(Counter("ann@dict.test", "messages"), 8);
  EXPECT_EQ(Counter("bob@dict.test", "bytes"), 5000);
  EXPECT_EQ(Counter("bob@dict.test", "messages"), 5);
}

// ---------------------------------------------------------------- what a dict client may write

TEST_F(DictTest, ALoginTimeAheadOfTheClockIsNeverStoredAsFuture) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string far = "imap 127.0.0.2 " + std::to_string(now + 30 * 86400);
  std::string error;
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", far.c_str())}, &error),
            ROSTER_DICT_COMMIT_FAILED);
  EXPECT_NE(error.find("ahead of this server's clock"), std::string::npos) << error;
  EXPECT_EQ(LoginRows(), 0u);
  // A little ahead (a client's clock running fast): stored as the database's now.
  std::string near = "imap 127.0.0.2 " + std::to_string(now + 120);
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", near.c_str())}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(LoginRows("logged_at <= UTC_TIMESTAMP(6)"), 1u);
  // So the next real login is recorded (its address replaces the older one).
  ASSERT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "imap 127.0.0.9")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(LoginRows("ip = INET6_ATON('127.0.0.9')"), 1u);
  // The same through the asynchronous mode.
  char buffer[256] = "";
  ASSERT_GE(roster_dict_start(dict_, buffer, sizeof buffer), 0) << buffer;
  AsyncAnswers answers;
  std::vector<roster_dict_change> login = {Set("shared/roster/lastlogin/bob@dict.test", far.c_str())};
  roster_dict_commit(dict_, nullptr, login.data(), 1, 0, AsyncAnswers::Committed, &answers);
  roster_dict_wait(dict_);
  ASSERT_EQ(answers.got.size(), 1u);
  EXPECT_EQ(answers.got[0].rfind("failed:", 0), 0u) << answers.got[0];
  EXPECT_EQ(LoginRows(), 1u);
}

TEST_F(DictTest, OnlyTheConfiguredProtocolsMakeALoginRow) {
  std::string error;
  for (const char* value : {"smtp 127.0.0.2", "lmtp 127.0.0.2", "doveadm 127.0.0.2", "x 127.0.0.2"}) {
    EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", value)}, &error),
              ROSTER_DICT_COMMIT_FAILED)
        << value;
    EXPECT_NE(error.find("dict_login_protocols"), std::string::npos) << error;
  }
  EXPECT_EQ(LoginRows(), 0u);
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "pop3 127.0.0.2")}), ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(LoginRows(), 1u);
  // A site that lists another service has its logins stored too.
  Reopen(ConfigWith("protocols.conf", "dict_login_protocols = imap pop3 submission\n"));
  EXPECT_EQ(Commit(nullptr, {Set("shared/roster/lastlogin/ann@dict.test", "submission 127.0.0.2")}),
            ROSTER_DICT_COMMIT_OK);
  EXPECT_EQ(LoginRows(), 2u);
  // A setting that is not a protocol name is refused at start.
  char buffer[256] = "";
  std::string bad = ConfigWith("bad-protocols.conf", "dict_login_protocols = imap IMAP;\n");
  EXPECT_EQ(roster_dict_create(bad.c_str(), buffer, sizeof buffer), nullptr);
  EXPECT_NE(std::string(buffer).find("dict_login_protocols"), std::string::npos) << buffer;
}

}  // namespace
}  // namespace roster::test
