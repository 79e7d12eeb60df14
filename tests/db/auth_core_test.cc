// Tests of the passdb/userdb driver's core (auth/auth_core.h) through its C
// API (auth/roster_auth.h), against the private MariaDB, as the auth role,
// each in both modes (parameterised): blocking (the callback runs before
// roster_auth_submit returns) and threaded (it runs from roster_auth_drain,
// when the descriptor the host watches is readable). What they prove:
// verify (right, wrong, unknown, disabled), lookup (credentials), userdb (a
// disabled mailbox is unknown), the dummy hash check of unknown and disabled
// users, rehash on login and its compare-and-set (a hash changed meanwhile
// is not overwritten), a database down (a temporary failure, never a "no"),
// destroy with jobs in flight (each callback runs once, none after the last
// release), and one shared core for passdb and userdb of the same file.
// App passwords (migration 005): right, wrong, expired, revoked, for another
// protocol, the main password where only app passwords work (and from the
// webmail's networks where it does), one verification whatever the number
// of app passwords, the login history written after the answer, and rehash
// for the main password only.
#include <crypt.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "auth/roster_auth.h"
#include "common/password.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

const Actor kActor{"tester", "192.0.2.7"};
const char kPassword[] = "correct horse";

// What the host (the glue, in Dovecot) sees: the descriptor to watch, and
// the log lines of no request.
struct Host {
  std::vector<int> watched;  // fds, one per watch call
  int unwatched = 0;
  std::vector<std::string> logs;
};
Host host_seen;

void HostLog(void*, roster_log_level, const char* message) { host_seen.logs.emplace_back(message); }
void* HostWatch(int fd, roster_auth*) {
  host_seen.watched.push_back(fd);
  return &host_seen;
}
void HostUnwatch(void* watch) {
  EXPECT_EQ(watch, &host_seen);
  ++host_seen.unwatched;
}
const roster_auth_host kHost{ROSTER_FIELDS_DOVECOT23, HostLog, HostWatch, HostUnwatch};

// One request's answer, as its callback saw it.
struct Reply {
  int calls = 0;
  roster_auth_result result = ROSTER_AUTH_TEMPFAIL;
  std::map<std::string, std::string> fields;
  std::vector<std::string> logs;
  // Runs inside the callback, once (tests that act "meanwhile").
  std::function<void()> then;

  static void Done(void* context, const roster_job_result* r) {
    auto* self = static_cast<Reply*>(context);
    ++self->calls;
    self->result = r->result;
    for (size_t i = 0; r->fields[i] != nullptr; i += 2) self->fields[r->fields[i]] = r->fields[i + 1];
    for (unsigned i = 0; i < r->log_count; ++i) self->logs.emplace_back(r->logs[i].message);
    if (self->then) self->then();
  }
};

class AuthCoreTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    host_seen = Host{};
    MariaDb::Get().Truncate();
    admin_ = MariaDb::Get().Connect(DbRole::kAdmin);
    Stores accounts(*admin_);
    for (const char* name : {"here.test", "off.test"}) {
      Domain d;
      d.name = name;
      ASSERT_TRUE(accounts.AddDomain(d, kActor).ok());
    }
    auto policy = PasswordPolicy::FromConfig(MariaDb::Get().config());
    ASSERT_TRUE(policy.ok());
    auto hash = PasswordHasher(*policy).Hash(kPassword);
    ASSERT_TRUE(hash.ok());
    for (const char* address : {"alice@here.test", "carol@here.test", "dave@off.test", "erin@here.test"}) {
      NewMailbox m;
      m.address = address;
      m.password_hash = *hash;
      m.max_bytes = 1000;
      ASSERT_TRUE(accounts.AddMailbox(m, kActor).ok()) << address;
    }
    ASSERT_TRUE(accounts.SetMailboxActive("carol@here.test", false, kActor).ok());
    ASSERT_TRUE(accounts.SetDomainActive("off.test", false, kActor).ok());
    // Erin's hash is an older scheme: a login rehashes it.
    crypt_data data{};
    const char* sha = crypt_r(kPassword, "$6$rostertestsalt$", &data);
    ASSERT_NE(sha, nullptr);
    weak_hash_ = std::string("{SHA512-CRYPT}") + sha;
    SetHash("erin@here.test", weak_hash_);

    path_ = ConfigFile("auth-core");
    auth_ = Acquire(path_);
    ASSERT_NE(auth_, nullptr);
  }
  void TearDown() override {
    if (auth_) roster_auth_release(auth_);
  }

  bool Threaded() const { return GetParam() > 0; }

  std::string ConfigFile(const std::string& name, const std::string& extra = "") {
    std::string path = MariaDb::Get().dir() + "/" + name + "-" + std::to_string(GetParam()) + ".conf";
    std::ofstream c(path);
    c << "!include " << MariaDb::Get().config_path() << "\nauth_uid = 0\nauth_gid = 0\nauth_threads = "
      << GetParam() << "\nauth_rehash = yes\n" << extra;
    return path;
  }
  // Acquires the core of `path` and, in threaded mode, starts it.
  roster_auth* Acquire(const std::string& path) {
    char error[512] = "";
    roster_auth* auth = roster_auth_acquire(path.c_str(), &kHost, error, sizeof error);
    EXPECT_NE(auth, nullptr) << error;
    if (auth != nullptr && Threaded()) {
      EXPECT_EQ(roster_auth_start(auth, error, sizeof error), 0) << error;
    }
    return auth;
  }

  void SetHash(const std::string& address, const std::string& hash) {
    ASSERT_TRUE(admin_->Execute("UPDATE mailbox SET password_hash = ? WHERE address = ?", {hash, address}).ok());
  }
  std::string StoredHash(const std::string& address) {
    auto rows = admin_->Query("SELECT password_hash FROM mailbox WHERE address = ?", {address});
    EXPECT_TRUE(rows.ok() && rows->size() == 1);
    return rows.ok() && !rows->empty() ? rows->front().String(0) : "";
  }

  void Submit(roster_auth* auth, roster_auth_kind kind, const std::string& user, const char* password,
              Reply* reply) {
    roster_auth_request r{kind, user.c_str(), password, "imap"};
    roster_auth_submit(auth, &r, Reply::Done, reply);
    // Blocking mode: answered before submit returns; threaded: not yet.
    if (!Threaded()) {
      EXPECT_EQ(reply->calls, 1) << user;
    }
  }
  // Drains until `done` holds (a bounded wait, not a timing assertion).
  void DrainUntil(roster_auth* auth, const std::function<bool()>& done) {
    for (int rounds = 0; !done() && rounds < 300; ++rounds) {
      pollfd p{host_seen.watched.empty() ? -1 : host_seen.watched.front(), POLLIN, 0};
      if (poll(&p, 1, 100) > 0) roster_auth_drain(auth);
    }
    EXPECT_TRUE(done()) << "answers missing";
  }
  // The answers of requests of one kind, asked all at once (one batch in
  // threaded mode).
  std::vector<Reply> Ask(roster_auth_kind kind, const std::vector<std::string>& users,
                         const char* password = kPassword, roster_auth* auth = nullptr) {
    if (auth == nullptr) auth = auth_;
    std::vector<Reply> replies(users.size());
    for (size_t i = 0; i < users.size(); ++i)
      Submit(auth, kind, users[i], kind == ROSTER_AUTH_VERIFY ? password : nullptr, &replies[i]);
    DrainUntil(auth, [&] {
      for (const Reply& r : replies)
        if (r.calls == 0) return false;
      return true;
    });
    for (const Reply& r : replies) EXPECT_EQ(r.calls, 1);
    return replies;
  }
  std::vector<roster_auth_result> Results(const std::vector<Reply>& replies) {
    std::vector<roster_auth_result> out;
    for (const Reply& r : replies) out.push_back(r.result);
    return out;
  }
  std::vector<roster_auth_result> Verify(const std::vector<std::string>& users, const char* password = kPassword) {
    return Results(Ask(ROSTER_AUTH_VERIFY, users, password));
  }
  unsigned long long Dummies() const { return roster_auth_dummy_verifications(auth_); }

  // One verify over `service` from `ip`, answered.
  Reply VerifyFrom(const std::string& user, const std::string& password, const char* service, const char* ip,
                   roster_auth* auth = nullptr) {
    if (auth == nullptr) auth = auth_;
    Reply reply;
    roster_auth_request r{ROSTER_AUTH_VERIFY, user.c_str(), password.c_str(), service, ip};
    roster_auth_submit(auth, &r, Reply::Done, &reply);
    DrainUntil(auth, [&] { return reply.calls > 0; });
    EXPECT_EQ(reply.calls, 1);
    return reply;
  }
  static bool Logged(const Reply& r, const std::string& what) {
    for (const std::string& line : r.logs)
      if (line.find(what) != std::string::npos) return true;
    return false;
  }
  std::pair<uint64_t, std::string> AddAppPassword(const std::string& address, unsigned protocols,
                                                  const std::string& label = "phone") {
    AppPasswordStores store(*admin_);
    NewAppPassword n;
    n.address = address;
    n.label = label;
    n.protocols = protocols;
    auto made = store.Add(n, kActor);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? *made : std::pair<uint64_t, std::string>{};
  }
  uint64_t HistoryRows(const std::string& where = "1") {
    auto rows = admin_->Query("SELECT COUNT(*) FROM login_history WHERE " + where);
    return rows.ok() ? rows->front().Uint(0) : 0;
  }

  std::unique_ptr<Db> admin_;
  std::string path_, weak_hash_;
  roster_auth* auth_ = nullptr;
};

using R = std::vector<roster_auth_result>;

TEST_P(AuthCoreTest, VerifyAnswersRightWrongUnknownAndDisabled) {
  auto replies = Ask(ROSTER_AUTH_VERIFY, {"alice@here.test"});
  ASSERT_EQ(replies[0].result, ROSTER_AUTH_OK);
  EXPECT_EQ(replies[0].fields["user"], "alice@here.test");
  EXPECT_EQ(replies[0].fields["password"].rfind("{ARGON2ID}", 0), 0u) << replies[0].fields["password"];
  EXPECT_EQ(replies[0].fields["userdb_quota_rule"], "*:bytes=1000:messages=0");
  EXPECT_EQ(replies[0].fields["userdb_uid"], "0");
  EXPECT_EQ(Verify({"alice@here.test"}, "wrong"), R{ROSTER_AUTH_MISMATCH});
  EXPECT_EQ(Verify({"nobody@here.test", "carol@here.test", "dave@off.test"}),
            (R{ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_DISABLED, ROSTER_AUTH_DISABLED}));
}

TEST_P(AuthCoreTest, LookupAnswersTheCredentials) {
  auto replies = Ask(ROSTER_AUTH_LOOKUP, {"Alice@HERE.test", "nobody@here.test", "carol@here.test"});
  EXPECT_EQ(Results(replies), (R{ROSTER_AUTH_OK, ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_DISABLED}));
  EXPECT_EQ(replies[0].fields["user"], "alice@here.test");
  EXPECT_EQ(replies[0].fields["password"], StoredHash("alice@here.test"));
  EXPECT_EQ(replies[0].fields.count("userdb_home"), 1u);
  EXPECT_EQ(Dummies(), 0u);  // no password, no check
}

TEST_P(AuthCoreTest, UserdbKnowsOnlyUsableMailboxes) {
  auto replies = Ask(ROSTER_AUTH_USERDB, {"alice@here.test", "carol@here.test", "dave@off.test", "nobody@here.test"});
  EXPECT_EQ(Results(replies), (R{ROSTER_AUTH_OK, ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_UNKNOWN}));
  EXPECT_EQ(replies[0].fields["user"], "alice@here.test");
  EXPECT_EQ(replies[0].fields["quota_rule"], "*:bytes=1000:messages=0");
  EXPECT_EQ(replies[0].fields.count("home"), 1u);
  EXPECT_EQ(replies[0].fields.count("password"), 0u);
  EXPECT_EQ(replies[1].fields.size(), 0u);
}

TEST_P(AuthCoreTest, UnknownUserPasswordIsCheckedAgainstTheDummyHash) {
  EXPECT_EQ(Dummies(), 0u);
  EXPECT_EQ(Verify({"nobody@here.test"}), R{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 1u);
  EXPECT_EQ(Verify({"nobody@nowhere.test"}, "wrong"), R{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 2u);
  // A user name that cannot be an address is unknown too, and costs the same.
  EXPECT_EQ(Verify({"not an address"}), R{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(Dummies(), 3u);
}

TEST_P(AuthCoreTest, DisabledMailboxOrDomainIsCheckedAgainstTheDummyHash) {
  EXPECT_EQ(Verify({"carol@here.test", "dave@off.test"}), (R{ROSTER_AUTH_DISABLED, ROSTER_AUTH_DISABLED}));
  EXPECT_EQ(Dummies(), 2u);
}

TEST_P(AuthCoreTest, RealUsersAreAnsweredAsBeforeWithoutTheDummy) {
  EXPECT_EQ(Verify({"alice@here.test"}), R{ROSTER_AUTH_OK});
  EXPECT_EQ(Verify({"alice@here.test"}, "wrong"), R{ROSTER_AUTH_MISMATCH});
  EXPECT_EQ(Dummies(), 0u);
  // Mixed in one batch: each gets its own answer.
  EXPECT_EQ(Verify({"alice@here.test", "nobody@here.test", "carol@here.test", "Alice@HERE.test"}),
            (R{ROSTER_AUTH_OK, ROSTER_AUTH_UNKNOWN, ROSTER_AUTH_DISABLED, ROSTER_AUTH_OK}));
  EXPECT_EQ(Dummies(), 2u);
}

TEST_P(AuthCoreTest, ALoginRehashesAWeakerHashAfterItsAnswer) {
  EXPECT_EQ(Verify({"erin@here.test"}), R{ROSTER_AUTH_OK});
  // The rehash runs after the answer: inside submit (blocking), or on a
  // thread, logging to the host through the handoff (threaded).
  DrainUntil(auth_, [&] { return !host_seen.logs.empty(); });
  EXPECT_NE(host_seen.logs.front().find("rehashed from SHA512-CRYPT to ARGON2ID"), std::string::npos)
      << host_seen.logs.front();
  EXPECT_EQ(StoredHash("erin@here.test").rfind("{ARGON2ID}", 0), 0u);
  // A wrong password rehashes nothing.
  SetHash("erin@here.test", weak_hash_);
  EXPECT_EQ(Verify({"erin@here.test"}, "wrong"), R{ROSTER_AUTH_MISMATCH});
  roster_auth_release(auth_);  // the threads end what they run
  auth_ = nullptr;
  EXPECT_EQ(StoredHash("erin@here.test"), weak_hash_);
}

// The stored hash changes between the login's lookup and its rehash (an
// administrator sets a new password): the rehash must not overwrite it.
TEST_P(AuthCoreTest, ARehashDoesNotOverwriteAHashChangedMeanwhile) {
  const std::string changed = "{PLAIN}set by the administrator";
  Reply reply;
  if (!Threaded()) {
    // The rehash runs after the callback, inside submit: change it there.
    reply.then = [&] { SetHash("erin@here.test", changed); };
    Submit(auth_, ROSTER_AUTH_VERIFY, "erin@here.test", kPassword, &reply);
  } else {
    // Erin's row is locked, so the rehash's compare-and-set waits for it;
    // meanwhile the administrator's change is made and committed.
    auto root = DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup);
    Db locker(*root);
    ASSERT_TRUE(locker.Execute("START TRANSACTION").ok());
    ASSERT_TRUE(locker.Query("SELECT password_hash FROM roster.mailbox WHERE address = 'erin@here.test' FOR UPDATE")
                    .ok());
    Submit(auth_, ROSTER_AUTH_VERIFY, "erin@here.test", kPassword, &reply);
    DrainUntil(auth_, [&] { return reply.calls > 0; });
    bool waiting = false;
    for (int i = 0; i < 500 && !waiting; ++i) {
      auto rows = locker.Query(
          "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'roster_auth' AND "
          "INFO LIKE 'UPDATE mailbox%'");
      waiting = rows.ok() && rows->front().Uint(0) > 0;
      if (!waiting) usleep(10000);
    }
    EXPECT_TRUE(waiting) << "the rehash never waited for erin's row";
    ASSERT_TRUE(locker.Execute("UPDATE roster.mailbox SET password_hash = ? WHERE address = 'erin@here.test'",
                               {changed})
                    .ok());
    ASSERT_TRUE(locker.Execute("COMMIT").ok());
    roster_auth_release(auth_);  // joins the threads: the rehash has ended
    auth_ = nullptr;
  }
  EXPECT_EQ(reply.calls, 1);
  EXPECT_EQ(reply.result, ROSTER_AUTH_OK);
  EXPECT_EQ(StoredHash("erin@here.test"), changed);
  for (const std::string& line : host_seen.logs) EXPECT_EQ(line.find("rehashed"), std::string::npos) << line;
}

TEST_P(AuthCoreTest, DatabaseDownIsATemporaryFailureWithoutTheDummy) {
  MariaDb::Get().Stop();
  auto verified = Verify({"nobody@here.test", "alice@here.test"});
  auto looked_up = Results(Ask(ROSTER_AUTH_LOOKUP, {"alice@here.test"}));
  auto userdb = Results(Ask(ROSTER_AUTH_USERDB, {"alice@here.test"}));
  MariaDb::Get().Start();
  EXPECT_EQ(verified, (R{ROSTER_AUTH_TEMPFAIL, ROSTER_AUTH_TEMPFAIL}));
  EXPECT_EQ(looked_up, R{ROSTER_AUTH_TEMPFAIL});
  EXPECT_EQ(userdb, R{ROSTER_AUTH_TEMPFAIL});
  EXPECT_EQ(Dummies(), 0u);
  // Back without a restart of the core.
  EXPECT_EQ(Verify({"alice@here.test"}), R{ROSTER_AUTH_OK});
}

// The contract of the last release: every callback runs exactly once, at
// the latest inside it (requests not yet taken: TEMPFAIL), none after it;
// a request submitted from such a callback is answered at once.
TEST_P(AuthCoreTest, ReleaseWithRequestsInFlightAnswersEachOnce) {
  std::vector<Reply> replies(40);
  Reply late;
  replies[0].then = [&] { Submit(auth_, ROSTER_AUTH_USERDB, "alice@here.test", nullptr, &late); };
  for (size_t i = 0; i < replies.size(); ++i)
    Submit(auth_, i % 3 == 2 ? ROSTER_AUTH_USERDB : ROSTER_AUTH_VERIFY, i % 2 ? "alice@here.test" : "nobody@here.test",
           kPassword, &replies[i]);
  roster_auth_release(auth_);
  auth_ = nullptr;
  for (const Reply& r : replies) {
    EXPECT_EQ(r.calls, 1);
    EXPECT_TRUE(r.result == ROSTER_AUTH_OK || r.result == ROSTER_AUTH_UNKNOWN || r.result == ROSTER_AUTH_TEMPFAIL)
        << r.result;
  }
  EXPECT_EQ(late.calls, 1);
  if (Threaded()) {
    EXPECT_EQ(host_seen.unwatched, 1);
  }
}

// passdb and userdb naming the same file share one core: one set of
// threads, one watched descriptor, freed at the last release only.
TEST_P(AuthCoreTest, PassdbAndUserdbShareOneCore) {
  roster_auth* userdb = Acquire(path_);
  ASSERT_EQ(userdb, auth_);
  if (Threaded()) {
    EXPECT_EQ(host_seen.watched.size(), 1u);
  }
  EXPECT_EQ(Results(Ask(ROSTER_AUTH_USERDB, {"alice@here.test"}, nullptr, userdb)), R{ROSTER_AUTH_OK});
  EXPECT_EQ(Verify({"nobody@here.test"}), R{ROSTER_AUTH_UNKNOWN});
  EXPECT_EQ(roster_auth_dummy_verifications(userdb), 1u);  // the same core counted it
  // The passdb goes first (as Dovecot deinits them): the userdb still works.
  roster_auth_release(auth_);
  auth_ = userdb;
  EXPECT_EQ(host_seen.unwatched, 0);
  EXPECT_EQ(Results(Ask(ROSTER_AUTH_USERDB, {"alice@here.test"})), R{ROSTER_AUTH_OK});
  // Another file is another core.
  roster_auth* other = Acquire(ConfigFile("auth-core-other"));
  EXPECT_NE(other, auth_);
  roster_auth_release(other);
}

TEST_P(AuthCoreTest, AppPasswordRightWrongExpiredRevokedAndForAnotherProtocol) {
  auto [id, app] = AddAppPassword("alice@here.test", kProtoImap | kProtoSmtp);
  Reply ok = VerifyFrom("alice@here.test", app, "imap", "198.51.100.9");
  ASSERT_EQ(ok.result, ROSTER_AUTH_OK);
  EXPECT_EQ(ok.fields["user"], "alice@here.test");
  // The cache gets neither the main hash nor anything the app password matches.
  EXPECT_NE(ok.fields["password"], StoredHash("alice@here.test"));
  EXPECT_EQ(ok.fields["password"].rfind("{SHA256}", 0), 0u);
  EXPECT_EQ(ok.fields.count("userdb_home"), 1u);
  // Typed without dashes, in lower case; and Dovecot's submission is smtp.
  std::string typed = app;
  typed.erase(std::remove(typed.begin(), typed.end(), '-'), typed.end());
  for (char& c : typed) c = static_cast<char>(tolower(c));
  EXPECT_EQ(VerifyFrom("alice@here.test", typed, "submission", "198.51.100.9").result, ROSTER_AUTH_OK);
  // Its selector with another secret: a mismatch (and not the main password's check).
  std::string wrong = app.substr(0, 5) + (app[5] == 'A' ? "B" : "A") + app.substr(6);
  EXPECT_EQ(VerifyFrom("alice@here.test", wrong, "imap", "198.51.100.9").result, ROSTER_AUTH_MISMATCH);
  // Another protocol: refused, and the log says why (never the password).
  Reply pop = VerifyFrom("alice@here.test", app, "pop3", "198.51.100.9");
  EXPECT_EQ(pop.result, ROSTER_AUTH_MISMATCH);
  EXPECT_TRUE(Logged(pop, "is not for pop3 from 198.51.100.9")) << (pop.logs.empty() ? "" : pop.logs[0]);
  for (const std::string& line : pop.logs) EXPECT_EQ(line.find(app.substr(5)), std::string::npos);
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "sieve", "198.51.100.9").result, ROSTER_AUTH_MISMATCH);
  // The main password still works everywhere (no rule set).
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "pop3", "198.51.100.9").result, ROSTER_AUTH_OK);
  // Another mailbox does not know it.
  EXPECT_EQ(VerifyFrom("erin@here.test", app, "imap", "198.51.100.9").result, ROSTER_AUTH_MISMATCH);
  // Expired (by the database's clock): refused at once.
  ASSERT_TRUE(admin_->Execute("UPDATE app_password SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE id = ?",
                              {id})
                  .ok());
  Reply expired = VerifyFrom("alice@here.test", app, "imap", "198.51.100.9");
  EXPECT_EQ(expired.result, ROSTER_AUTH_MISMATCH);
  EXPECT_TRUE(Logged(expired, "has expired"));
  ASSERT_TRUE(admin_->Execute("UPDATE app_password SET expires_at = NULL WHERE id = ?", {id}).ok());
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "198.51.100.9").result, ROSTER_AUTH_OK);
  // Revoked: the next login is refused (it is then checked as a main password).
  AppPasswordStores store(*admin_);
  ASSERT_TRUE(store.Revoke("alice@here.test", id, kActor).ok());
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "198.51.100.9").result, ROSTER_AUTH_MISMATCH);
  EXPECT_EQ(Dummies(), 0u);
}

TEST_P(AuthCoreTest, OneVerificationWhateverTheNumberOfAppPasswords) {
  std::string last;
  for (size_t i = 0; i < kMaxAppPasswords; ++i) last = AddAppPassword("alice@here.test", kProtoImap).second;
  auto before = roster_auth_verifications(auth_);
  EXPECT_EQ(VerifyFrom("alice@here.test", last, "imap", "192.0.2.1").result, ROSTER_AUTH_OK);
  EXPECT_EQ(roster_auth_verifications(auth_), before + 1);
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "imap", "192.0.2.1").result, ROSTER_AUTH_OK);
  EXPECT_EQ(roster_auth_verifications(auth_), before + 2);
  // An app password's shape whose selector is none of hers: the main password's check.
  EXPECT_EQ(VerifyFrom("alice@here.test", "2222-3333-4444-5555-6666-7777", "imap", "192.0.2.1").result,
            ROSTER_AUTH_MISMATCH);
  EXPECT_EQ(roster_auth_verifications(auth_), before + 3);
  // In a batch too (threaded mode: one query for all).
  auto replies = Ask(ROSTER_AUTH_VERIFY, {"alice@here.test", "alice@here.test", "erin@here.test"}, last.c_str());
  EXPECT_EQ(Results(replies), (R{ROSTER_AUTH_OK, ROSTER_AUTH_OK, ROSTER_AUTH_MISMATCH}));
  EXPECT_EQ(roster_auth_verifications(auth_), before + 6);
}

TEST_P(AuthCoreTest, MainPasswordOnlyWhereTheMailboxAllowsIt) {
  roster_auth_release(auth_);
  auth_ = Acquire(ConfigFile("auth-core-webmail", "auth_webmail_networks = 192.0.2.0/24, 2001:db8:1::/48\n"));
  ASSERT_NE(auth_, nullptr);
  auto [id, app] = AddAppPassword("alice@here.test", kProtoImap | kProtoPop3);
  AppPasswordStores store(*admin_);
  ASSERT_TRUE(store.SetAccess("alice@here.test", std::nullopt, std::optional<unsigned>(kProtoWebmail), kActor).ok());
  // The main password from the webmail, over IMAP or SMTP: yes.
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "imap", "192.0.2.10").result, ROSTER_AUTH_OK);
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "smtp", "2001:db8:1::5").result, ROSTER_AUTH_OK);
  // From anywhere else: refused, with the reason logged; no address: refused.
  Reply away = VerifyFrom("alice@here.test", kPassword, "imap", "198.51.100.1");
  EXPECT_EQ(away.result, ROSTER_AUTH_MISMATCH);
  EXPECT_TRUE(Logged(away, "main password of alice@here.test does not work over imap from 198.51.100.1"))
      << (away.logs.empty() ? "" : away.logs[0]);
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "imap", nullptr).result, ROSTER_AUTH_MISMATCH);
  // A wrong main password is a plain mismatch, nothing more said.
  Reply wrong = VerifyFrom("alice@here.test", "wrong", "imap", "198.51.100.1");
  EXPECT_EQ(wrong.result, ROSTER_AUTH_MISMATCH);
  EXPECT_FALSE(Logged(wrong, "refused"));
  // The app password works there.
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "198.51.100.1").result, ROSTER_AUTH_OK);
  // Credentials (non-plaintext mechanisms) are the main password's: not there.
  Reply creds;
  roster_auth_request r{ROSTER_AUTH_LOOKUP, "alice@here.test", nullptr, "imap", "198.51.100.1"};
  roster_auth_submit(auth_, &r, Reply::Done, &creds);
  DrainUntil(auth_, [&] { return creds.calls > 0; });
  EXPECT_EQ(creds.result, ROSTER_AUTH_MISMATCH);
  // Login over IMAP only: POP3 refused for every password.
  ASSERT_TRUE(store.SetAccess("alice@here.test", std::optional<unsigned>(kProtoImap), std::optional<unsigned>(),
                              kActor)
                  .ok());
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "pop3", "198.51.100.1").result, ROSTER_AUTH_MISMATCH);
  Reply pop = VerifyFrom("alice@here.test", kPassword, "pop3", "192.0.2.10");
  EXPECT_EQ(pop.result, ROSTER_AUTH_MISMATCH);
  EXPECT_TRUE(Logged(pop, "may not log in over pop3"));
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "imap", "198.51.100.1").result, ROSTER_AUTH_OK);
  // A service no list names (doveadm) passes only where all are allowed.
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "doveadm", "127.0.0.1").result, ROSTER_AUTH_MISMATCH);
  EXPECT_EQ(VerifyFrom("erin@here.test", kPassword, "doveadm", "127.0.0.1").result, ROSTER_AUTH_OK);
}

TEST_P(AuthCoreTest, SuccessfulLoginsAreRecordedAfterTheirAnswer) {
  auto [id, app] = AddAppPassword("alice@here.test", kProtoImap);
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "2001:db8::9").result, ROSTER_AUTH_OK);
  EXPECT_EQ(VerifyFrom("alice@here.test", kPassword, "pop3", "192.0.2.4").result, ROSTER_AUTH_OK);
  EXPECT_EQ(VerifyFrom("alice@here.test", "wrong", "pop3", "192.0.2.4").result, ROSTER_AUTH_MISMATCH);
  EXPECT_EQ(VerifyFrom("nobody@here.test", kPassword, "pop3", "192.0.2.4").result, ROSTER_AUTH_UNKNOWN);
  // Threaded mode writes on a thread after the answer: wait for it (bounded).
  for (int i = 0; i < 100 && HistoryRows() < 2; ++i) usleep(20000);
  AppPasswordStores store(*admin_);
  auto logins = store.Logins("alice@here.test", 10);
  ASSERT_TRUE(logins.ok());
  ASSERT_EQ(logins->size(), 2u);
  std::map<std::string, LoginRecord> by_protocol;
  for (const auto& l : *logins) by_protocol[l.protocol] = l;
  EXPECT_EQ(by_protocol["imap"].app_password_id, id);
  EXPECT_EQ(by_protocol["imap"].ip, "2001:db8::9");
  EXPECT_EQ(by_protocol["pop3"].app_password_id, 0u);
  EXPECT_EQ(by_protocol["pop3"].ip, "192.0.2.4");
  for (int i = 0; i < 100 && store.List("alice@here.test")->front().last_used_at.empty(); ++i) usleep(20000);
  EXPECT_EQ(store.List("alice@here.test")->front().last_used_ip, "2001:db8::9");
  // Within a minute, its last use is not written again (one write, not one per login).
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "192.0.2.77").result, ROSTER_AUTH_OK);
  for (int i = 0; i < 100 && HistoryRows() < 3; ++i) usleep(20000);
  EXPECT_EQ(HistoryRows(), 3u);
  EXPECT_EQ(store.List("alice@here.test")->front().last_used_ip, "2001:db8::9");
  // Off (auth_login_history = 0): no row; an app password's last use still.
  roster_auth_release(auth_);
  auth_ = Acquire(ConfigFile("auth-core-nohistory", "auth_login_history = 0\n"));
  ASSERT_NE(auth_, nullptr);
  EXPECT_EQ(VerifyFrom("erin@here.test", kPassword, "imap", "192.0.2.4").result, ROSTER_AUTH_OK);
  // A rehash happens for Erin's main password (threaded: on a thread; a
  // release would drop it if still queued, so it is awaited first).
  for (int i = 0; i < 100 && StoredHash("erin@here.test").rfind("{ARGON2ID}", 0) != 0; ++i) usleep(20000);
  EXPECT_EQ(StoredHash("erin@here.test").rfind("{ARGON2ID}", 0), 0u);
  roster_auth_release(auth_);  // ends what the threads run
  auth_ = nullptr;
  EXPECT_EQ(HistoryRows(), 3u);
}

TEST_P(AuthCoreTest, ConcurrentLoginsOfOneMailboxKeepItsHistoryBoundedAndFull) {
  // 60 logins of one mailbox at once (threaded: batches of one query each,
  // their history written together), with the default history of 20.
  auto [id, app] = AddAppPassword("alice@here.test", kProtoImap);
  std::vector<std::string> users(60, "alice@here.test");
  EXPECT_EQ(Verify(users, app.c_str()), R(60, ROSTER_AUTH_OK));
  // The release writes the history still waiting (none is dropped).
  roster_auth_release(auth_);
  auth_ = nullptr;
  EXPECT_EQ(HistoryRows(), 20u);
  // One process gives each login of a mailbox a seq of its own: none lost,
  // the newest 20 kept (the 60th pruned the older ones).
  auto rows = admin_->Query("SELECT MIN(seq), MAX(seq), COUNT(*) FROM login_history");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->front().Uint(0), 41u);
  EXPECT_EQ(rows->front().Uint(1), 60u);
  EXPECT_EQ(rows->front().Uint(2), 20u);
  // A new core (another auth process) goes on after the newest seq it reads;
  // the next prune is at 80, so until then the history grows (at most 39).
  auth_ = Acquire(path_);
  EXPECT_EQ(VerifyFrom("alice@here.test", app, "imap", "192.0.2.8").result, ROSTER_AUTH_OK);
  roster_auth_release(auth_);
  auth_ = nullptr;
  rows = admin_->Query("SELECT MAX(seq), COUNT(*) FROM login_history");
  EXPECT_EQ(rows->front().Uint(0), 61u);
  EXPECT_EQ(rows->front().Uint(1), 21u);
}

TEST_P(AuthCoreTest, AnAppPasswordLoginDoesNotRehashTheMainPassword) {
  auto [id, app] = AddAppPassword("erin@here.test", kProtoImap);
  EXPECT_EQ(VerifyFrom("erin@here.test", app, "imap", "192.0.2.4").result, ROSTER_AUTH_OK);
  roster_auth_release(auth_);
  auth_ = nullptr;
  EXPECT_EQ(StoredHash("erin@here.test"), weak_hash_);
}

TEST_P(AuthCoreTest, ABadWebmailNetworkIsRefusedAtStart) {
  char error[512] = "";
  std::string path = ConfigFile("auth-core-badnet", "auth_webmail_networks = 192.0.2.1/24\n");
  EXPECT_EQ(roster_auth_acquire(path.c_str(), &kHost, error, sizeof error), nullptr);
  EXPECT_NE(std::string(error).find("auth_webmail_networks"), std::string::npos) << "[" << error << "]";
  path = ConfigFile("auth-core-badhistory", "auth_login_history = 1001\n");
  EXPECT_EQ(roster_auth_acquire(path.c_str(), &kHost, error, sizeof error), nullptr);
}

INSTANTIATE_TEST_SUITE_P(BlockingAndThreaded, AuthCoreTest, ::testing::Values(0u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return info.param == 0 ? std::string("Blocking") : std::string("Threaded");
                         });

}  // namespace
}  // namespace roster::test
