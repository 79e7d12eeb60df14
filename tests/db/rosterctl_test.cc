// Tests of the real rosterctl binary against a real MariaDB: every command,
// its output, its exit status, and the refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "common/admin_accounts.h"
#include "common/password.h"
#include "ops/authn.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

class RosterctlTest : public ::testing::Test {
 protected:
  void SetUp() override { MariaDb::Get().Truncate(); }
  CommandResult Run(const std::vector<std::string>& args, const std::string& input = "",
                    const std::vector<std::string>& env = {}) {
    return MariaDb::Get().Rosterctl(args, input, env);
  }
  void MustRun(const std::vector<std::string>& args, const std::string& input = "") {
    auto r = Run(args, input);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // rosterctl with the test configuration plus `extra` lines (a file of its own).
  CommandResult RunWithConfig(const std::string& extra, const std::vector<std::string>& args) {
    std::string path = MariaDb::Get().dir() + "/extra.conf";
    std::ofstream(path, std::ios::trunc) << "!include roster.conf\n" << extra;
    std::vector<std::string> argv = {ROSTERCTL_PATH, "--config", path};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  void AddDomainAndMailbox() {
    MustRun({"domain", "add", "Example.TEST", "--quota", "1G", "--messages", "5000"});
    MustRun({"mailbox", "add", "alice@example.test", "--password-stdin", "--name", "Alice A."}, "s3cret pass\n");
  }
};

TEST_F(RosterctlTest, DomainLifecycle) {
  AddDomainAndMailbox();
  auto list = Run({"--json", "domain", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"name\":\"example.test\""), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"mailboxes\":1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"default_max_bytes\":1073741824"), std::string::npos) << list.out;
  auto show = Run({"domain", "show", "example.test"});
  EXPECT_NE(show.out.find("default quota:   1G"), std::string::npos) << show.out;
  EXPECT_EQ(Run({"domain", "add", "example.test"}).exit_code, 65);  // exists
  auto del = Run({"domain", "del", "example.test"});
  EXPECT_EQ(del.exit_code, 65);
  EXPECT_NE(del.err.find("--force"), std::string::npos) << del.err;
  MustRun({"domain", "disable", "example.test"});
  EXPECT_NE(Run({"--json", "domain", "show", "example.test"}).out.find("\"active\":false"), std::string::npos);
  MustRun({"domain", "del", "example.test", "--force"});
  EXPECT_EQ(Run({"domain", "show", "example.test"}).exit_code, 67);
}

// Deleting a domain takes the send-as grants on its addresses with it, also
// those other domains' mailboxes hold, each with a change-log entry, in the
// same transaction; grants elsewhere stay.
TEST_F(RosterctlTest, DomainDelRemovesTheSendAsGrantsOnItsAddresses) {
  for (const char* d : {"a.test", "b.test", "c.test"}) MustRun({"domain", "add", d});
  MustRun({"mailbox", "add", "alice@a.test", "--password-stdin"}, "pw pw pw\n");
  MustRun({"mailbox", "add", "bob@b.test", "--password-stdin"}, "pw pw pw\n");
  for (const char* address : {"sales@a.test", "@a.test", "alice@a.test", "x@c.test", "y@elsewhere.test"})
    MustRun({"send-as", "grant", address, "bob@b.test"});
  MustRun({"send-as", "grant", "bob@b.test", "alice@a.test"});  // held by a.test's mailbox
  MustRun({"domain", "del", "a.test", "--force"});
  auto list = Run({"send-as", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find("a.test"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("x@c.test"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("y@elsewhere.test"), std::string::npos) << list.out;
  auto revoked = Run({"log", "--account", "bob@b.test", "--action", "send-as-revoke"});
  for (const char* address : {"sales@a.test", "@a.test", "alice@a.test"})
    EXPECT_NE(revoked.out.find(std::string("may no longer send as ") + address + " (domain a.test deleted)"),
              std::string::npos)
        << address << ": " << revoked.out;
  EXPECT_EQ(std::count(revoked.out.begin(), revoked.out.end(), '\n'), 3) << revoked.out;
  EXPECT_NE(Run({"log", "--account", "a.test"}).out.find("mailboxes=1 subscriptions=0 send_as=3"), std::string::npos);
  // A domain without mailboxes (no --force needed) too; more grants than one page.
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  ASSERT_TRUE(admin
                  ->Execute("INSERT INTO send_as (address, mailbox_id) SELECT CONCAT('u', seq, '@c.test'), m.id "
                            "FROM seq_1_to_1200 JOIN mailbox m WHERE m.lookup_key = 'bob@b.test'")
                  .ok());
  MustRun({"domain", "del", "c.test"});
  EXPECT_NE(Run({"log", "--account", "c.test"}).out.find("send_as=1201"), std::string::npos);
  auto left = admin->Query("SELECT COUNT(*) FROM send_as WHERE address LIKE '%@c.test'");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->front().Uint(0), 0u);
  list = Run({"send-as", "list"});
  EXPECT_EQ(list.out.find("x@c.test"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("y@elsewhere.test"), std::string::npos) << list.out;
  // Added again, the domain finds none of the old grants.
  MustRun({"domain", "add", "a.test"});
  EXPECT_EQ(Run({"send-as", "list", "sales@a.test"}).out.find("bob@b.test"), std::string::npos);
}

TEST_F(RosterctlTest, MailboxAddStoresArgon2idThatVerifies) {
  AddDomainAndMailbox();
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  auto m = a.FindMailboxForLogin("alice@example.test");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->password_hash.rfind("{ARGON2ID}$argon2id$", 0), 0u);
  PasswordHasher h{PasswordPolicy{}};
  EXPECT_TRUE(h.Verify("s3cret pass", m->password_hash).matched());
  EXPECT_EQ(m->max_bytes, 1ull << 30);  // from the domain default
  EXPECT_EQ(m->max_messages, 5000u);
  auto show = Run({"--json", "mailbox", "show", "ALICE@example.test"});
  ASSERT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("\"password_scheme\":\"ARGON2ID\""), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"name\":\"Alice A.\""), std::string::npos);
  EXPECT_NE(show.out.find("\"usage\":{\"bytes\":0,\"messages\":0}"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("argon2id$"), std::string::npos);  // the hash itself is never shown
}

TEST_F(RosterctlTest, PasswdQuotaEnableDisable) {
  AddDomainAndMailbox();
  MustRun({"mailbox", "passwd", "alice@example.test", "--password-stdin"}, "new one\n");
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  PasswordHasher h{PasswordPolicy{}};
  EXPECT_TRUE(h.Verify("new one", a.FindMailboxForLogin("alice@example.test")->password_hash).matched());
  auto quota = Run({"mailbox", "quota", "alice@example.test", "--quota", "2G", "--messages", "0"});
  ASSERT_EQ(quota.exit_code, 0) << quota.err;
  EXPECT_NE(quota.out.find("2G"), std::string::npos);
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->max_bytes, 2ull << 30);
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->max_messages, 0u);
  EXPECT_EQ(Run({"mailbox", "quota", "alice@example.test"}).exit_code, 64);
  EXPECT_EQ(Run({"mailbox", "quota", "alice@example.test", "--quota", "lots"}).exit_code, 65);
  MustRun({"mailbox", "disable", "alice@example.test"});
  EXPECT_FALSE(a.FindMailboxForLogin("alice@example.test")->mailbox_active);
  MustRun({"mailbox", "enable", "alice@example.test"});
  EXPECT_TRUE(a.FindMailboxForLogin("alice@example.test")->mailbox_active);
  auto list = Run({"mailbox", "list", "example.test"});
  EXPECT_NE(list.out.find("alice@example.test"), std::string::npos) << list.out;
  auto json = Run({"--json", "mailbox", "list"});
  EXPECT_EQ(json.out.front(), '[');
  MustRun({"mailbox", "del", "alice@example.test"});
  EXPECT_EQ(Run({"mailbox", "show", "alice@example.test"}).exit_code, 67);
  EXPECT_EQ(Run({"mailbox", "del", "alice@example.test"}).exit_code, 67);
}

// Units (seed 004): made and changed whole, listed with their mailboxes; a
// mailbox moved to one is proxied there at its next login; a unit that still
// holds mailboxes, or one that does not exist, is refused.
TEST_F(RosterctlTest, UnitsAndMovingAMailbox) {
  AddDomainAndMailbox();
  MustRun({"unit", "set", "unit2", "--host", "10.0.0.2", "--imap-port", "1143"});
  auto changed = Run({"unit", "set", "unit2", "--host", "unit2.example.test", "--transport", "lmtp:inet:10.0.0.2:24"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_NE(changed.out.find("changed unit unit2"), std::string::npos) << changed.out;
  auto same = Run({"unit", "set", "unit2", "--host", "unit2.example.test", "--transport", "lmtp:inet:10.0.0.2:24"});
  EXPECT_NE(same.out.find("changed unit unit2"), std::string::npos) << same.out;  // exists: not "added"
  EXPECT_EQ(Run({"unit", "set", "unit3"}).exit_code, 64);                                // no --host
  EXPECT_EQ(Run({"unit", "set", "unit3", "--host", "a host"}).exit_code, 65);            // not a host
  EXPECT_EQ(Run({"unit", "set", "bad/name", "--host", "h"}).exit_code, 65);               // not a name
  EXPECT_EQ(Run({"unit", "set", "unit3", "--host", "h", "--imap-port", "70000"}).exit_code, 65);

  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->unit, "");
  EXPECT_EQ(Run({"mailbox", "unit", "alice@example.test", "unit9"}).exit_code, 67);  // no such unit
  auto moved = Run({"mailbox", "unit", "alice@example.test", "unit2"});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.out.find("doveadm sync"), std::string::npos) << moved.out;
  auto login = a.FindMailboxForLogin("alice@example.test");
  EXPECT_EQ(login->unit, "unit2");
  EXPECT_EQ(login->unit_host, "unit2.example.test");
  EXPECT_EQ(login->unit_imap_port, 0u);  // the change was whole: back to the standard port

  auto list = Run({"--json", "unit", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(R"("mailboxes":1)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(R"("transport":"lmtp:inet:10.0.0.2:24")"), std::string::npos) << list.out;
  EXPECT_EQ(Run({"unit", "del", "unit2"}).exit_code, 65);  // still holds alice
  MustRun({"mailbox", "unit", "alice@example.test"});
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->unit, "");
  MustRun({"unit", "del", "unit2"});
  EXPECT_EQ(Run({"unit", "del", "unit2"}).exit_code, 67);
  auto log = Run({"log", "--action", "mailbox-unit"});
  EXPECT_NE(log.out.find("unit=unit2"), std::string::npos) << log.out;
}

TEST_F(RosterctlTest, PasswordsOnTheCommandLineAreRefused) {
  MustRun({"domain", "add", "example.test"});
  for (const char* opt : {"--password=hunter2", "--password", "-p"}) {
    auto r = Run({"mailbox", "add", "bob@example.test", opt, "hunter2"});
    EXPECT_EQ(r.exit_code, 64) << opt;
    EXPECT_NE(r.err.find("not accepted on the command line"), std::string::npos) << r.err;
  }
  // No terminal and no --password-stdin: refused, nothing created.
  auto no_tty = Run({"mailbox", "add", "bob@example.test"});
  EXPECT_EQ(no_tty.exit_code, 65);
  EXPECT_NE(no_tty.err.find("--password-stdin"), std::string::npos);
  EXPECT_EQ(Run({"mailbox", "add", "bob@example.test", "--password-stdin"}, "\n").exit_code, 65);
  EXPECT_EQ(Run({"mailbox", "add", "bob@example.test", "--password-stdin"}, std::string(2000, 'x') + "\n").exit_code,
            65);
  EXPECT_EQ(Run({"mailbox", "show", "bob@example.test"}).exit_code, 67);
}

TEST_F(RosterctlTest, BadAddressesAreRefused) {
  MustRun({"domain", "add", "example.test"});
  for (const std::string& bad : {std::string("a\r\nb@example.test"), std::string(10240, 'x') + "@example.test",
                                 std::string("no-at-sign"), std::string("x';DROP TABLE mailbox;--@example.test")}) {
    auto r = Run({"mailbox", "add", bad, "--password-stdin"}, "pw\n");
    EXPECT_EQ(r.exit_code, 65) << r.err;
    EXPECT_LT(r.err.size(), 400u);  // a bounded message, not the input echoed back
  }
  EXPECT_EQ(Run({"mailbox", "add", "x@nodomain.test", "--password-stdin"}, "pw\n").exit_code, 67);
  EXPECT_EQ(Run({"domain", "add", "bad_domain.test"}).exit_code, 65);
  // Names that would become paths outside their directory (doc/rosterctl.1).
  for (const char* bad : {"../example.test/alice@example.test", "a/b@example.test", "..@example.test",
                          ".profile@example.test", "dot.@example.test"}) {
    auto r = Run({"mailbox", "add", bad, "--password-stdin"}, "pw\n");
    EXPECT_EQ(r.exit_code, 65) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("mailbox name"), std::string::npos) << r.err;
  }
}

TEST_F(RosterctlTest, LimitsDovecotCannotHoldAreRefused) {
  MustRun({"domain", "add", "example.test"});
  EXPECT_EQ(Run({"domain", "add", "big.test", "--quota", "8388608T"}).exit_code, 65);
  auto r = Run({"mailbox", "add", "big@example.test", "--quota", "9223372036854775808", "--password-stdin"}, "pw\n");
  EXPECT_EQ(r.exit_code, 65) << r.err;
  EXPECT_NE(r.err.find("larger than Dovecot can hold"), std::string::npos) << r.err;
  MustRun({"mailbox", "add", "big@example.test", "--password-stdin"}, "pw\n");
  EXPECT_EQ(Run({"mailbox", "quota", "big@example.test", "--messages", "9223372036854775808"}).exit_code, 65);
  MustRun({"mailbox", "quota", "big@example.test", "--messages", "9223372036854775807"});
}

TEST_F(RosterctlTest, SubscriptionsAliasesAndCatchAll) {
  AddDomainAndMailbox();
  MustRun({"sub", "add", "sales@example.test", "alice@example.test"});
  MustRun({"sub", "add", "@example.test", "alice@example.test"});
  MustRun({"sub", "add", "alice@example.test", "archive@example.test", "--outgoing"});
  EXPECT_EQ(Run({"sub", "add", "sales@example.test", "alice@example.test"}).exit_code, 65);
  EXPECT_EQ(Run({"sub", "add", "@example.test", "x@example.test", "--outgoing"}).exit_code, 64);
  auto list = Run({"--json", "sub", "list"});
  EXPECT_NE(list.out.find("{\"address\":\"@example.test\",\"direction\":\"incoming\",\"recipient\":\"alice@example.test\"}"),
            std::string::npos)
      << list.out;
  EXPECT_NE(list.out.find("\"direction\":\"outgoing\""), std::string::npos);
  MustRun({"sub", "del", "sales@example.test", "alice@example.test"});
  EXPECT_EQ(Run({"sub", "del", "sales@example.test", "alice@example.test"}).exit_code, 67);
  EXPECT_EQ(Run({"sub", "list", "sales@example.test"}).out, "");
}

// app-password add|list|revoke, mailbox access|logins, mailbox list --inactive.
TEST_F(RosterctlTest, AppPasswordsAccessLoginsAndDormantMailboxes) {
  AddDomainAndMailbox();
  auto add = Run({"app-password", "add", "alice@example.test", "--label", "Phone", "--protocols", "imap,smtp",
                  "--expires", "30d"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  // Shown once: 6 groups of 4 on a line of its own.
  auto at = add.out.find("\n\n    ");
  ASSERT_NE(at, std::string::npos) << add.out;
  std::string password = add.out.substr(at + 6, 29);
  ASSERT_TRUE(NormaliseAppPassword(password).has_value()) << add.out;
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  auto m = a.FindMailboxForLogin("alice@example.test", SelectorOf(password));
  ASSERT_EQ(m->app_passwords.size(), 1u);
  EXPECT_EQ(m->app_passwords[0].digest, AppPasswordDigest(*NormaliseAppPassword(password)));
  // list: never the password; json.
  auto list = Run({"--json", "app-password", "list", "alice@example.test"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"label\":\"Phone\""), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\"protocols\":\"imap,smtp\""), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(password.substr(5)), std::string::npos);
  auto json_add = Run({"--json", "app-password", "add", "alice@example.test", "--label", "x", "--expires",
                       "2099-01-31"});
  ASSERT_EQ(json_add.exit_code, 0) << json_add.err;
  EXPECT_NE(json_add.out.find("\"password\":\""), std::string::npos);
  // The change log never holds it.
  auto log = Run({"log", "--account", "alice@example.test"});
  EXPECT_NE(log.out.find("app-password-add"), std::string::npos) << log.out;
  EXPECT_EQ(log.out.find(password.substr(5)), std::string::npos);
  // Bad input.
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test"}).exit_code, 64);  // no --label
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test", "--label", std::string(5000, 'x')}).exit_code, 65);
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test", "--label", "a", "--protocols", "ftp"}).exit_code, 65);
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test", "--label", "a", "--expires", "-5d"}).exit_code, 65);
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test", "--label", "a", "--expires", "99999d"}).exit_code,
            65);
  EXPECT_EQ(Run({"app-password", "add", "alice@example.test", "--label", "a", "--expires", "1999-01-01"}).exit_code,
            65);
  EXPECT_EQ(Run({"app-password", "add", "nobody@example.test", "--label", "a"}).exit_code, 67);
  EXPECT_EQ(Run({"app-password", "revoke", "alice@example.test", "abc"}).exit_code, 65);
  // revoke
  uint64_t id = m->app_passwords[0].id;
  ASSERT_EQ(Run({"app-password", "revoke", "alice@example.test", std::to_string(id)}).exit_code, 0);
  EXPECT_EQ(Run({"app-password", "revoke", "alice@example.test", std::to_string(id)}).exit_code, 67);
  // access
  auto access = RunWithConfig("auth_webmail_networks = 192.0.2.0/24\n",
                              {"mailbox", "access", "alice@example.test", "--protocols", "imap,smtp,webmail",
                               "--main-password", "webmail"});
  ASSERT_EQ(access.exit_code, 0) << access.err;
  EXPECT_NE(access.out.find("protocols:     imap,smtp,webmail"), std::string::npos) << access.out;
  m = a.FindMailboxForLogin("alice@example.test");
  EXPECT_EQ(m->login_protocols, std::optional<unsigned>(kProtoImap | kProtoSmtp | kProtoWebmail));
  EXPECT_EQ(m->main_password_protocols, std::optional<unsigned>(kProtoWebmail));
  auto shown = Run({"--json", "mailbox", "access", "alice@example.test"});
  EXPECT_NE(shown.out.find("\"main_password\":\"webmail\""), std::string::npos) << shown.out;
  MustRun({"mailbox", "access", "alice@example.test", "--protocols", "all", "--main-password", "all"});
  EXPECT_FALSE(a.FindMailboxForLogin("alice@example.test")->login_protocols.has_value());
  EXPECT_EQ(Run({"mailbox", "access", "alice@example.test", "--protocols", "gopher"}).exit_code, 65);
  EXPECT_EQ(Run({"mailbox", "access", "alice@example.test", "--label", "x"}).exit_code, 64);
  // logins: the passdb's history.
  AppPasswordStores history(*db);
  ASSERT_TRUE(history.RecordLogin(m->id, "imap", std::string("\xc0\x00\x02\x05", 4), 0, 20).ok());
  auto logins = Run({"mailbox", "logins", "alice@example.test"});
  ASSERT_EQ(logins.exit_code, 0) << logins.err;
  EXPECT_NE(logins.out.find("192.0.2.5"), std::string::npos) << logins.out;
  EXPECT_NE(logins.out.find("main"), std::string::npos) << logins.out;
  // The table may hold up to 2 x auth_login_history - 1 rows between prunes;
  // the listing shows the newest auth_login_history (here 3) unless --limit.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(history.RecordLogin(m->id, "pop3", std::string("\xc0\x00\x02\x06", 4), 0, 20).ok());
  auto newest = RunWithConfig("auth_login_history = 3\n", {"mailbox", "logins", "alice@example.test"});
  ASSERT_EQ(newest.exit_code, 0) << newest.err;
  EXPECT_EQ(newest.out.find("192.0.2.5"), std::string::npos) << newest.out;  // the 4th newest
  EXPECT_NE(newest.out.find("192.0.2.6"), std::string::npos) << newest.out;
  auto more = RunWithConfig("auth_login_history = 3\n", {"mailbox", "logins", "alice@example.test", "--limit", "4"});
  EXPECT_NE(more.out.find("192.0.2.5"), std::string::npos) << more.out;
  // Dormant: alice has logged in; a mailbox made long ago that never did is listed.
  MustRun({"mailbox", "add", "bob@example.test", "--password-stdin"}, "pw pw pw\n");
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  ASSERT_TRUE(admin->Execute("UPDATE mailbox SET created_at = UTC_TIMESTAMP() - INTERVAL 100 DAY").ok());
  auto dormant = Run({"mailbox", "list", "--inactive", "90d"});
  ASSERT_EQ(dormant.exit_code, 0) << dormant.err;
  EXPECT_NE(dormant.out.find("bob@example.test"), std::string::npos) << dormant.out;
  EXPECT_EQ(dormant.out.find("alice@example.test"), std::string::npos) << dormant.out;
  EXPECT_NE(Run({"--json", "mailbox", "list", "--inactive", "90d"}).out.find("\"last_login\":null"),
            std::string::npos);
  EXPECT_EQ(Run({"mailbox", "list", "--inactive", "soon"}).exit_code, 65);
}

// "webmail" is a login from auth_webmail_networks: without them, a list that
// names it gives nothing there, and --main-password webmail would lock the
// main password out everywhere. Refused (65), unless --force.
// admin add|list|show|passwd|totp|enable|disable|unlock|del and api-key
// add|list|revoke (ops/admin_ops.cc): the password from stdin, a key and a
// TOTP secret printed once, the change log, sign-in with what was printed.
TEST_F(RosterctlTest, AdministratorsAndApiKeys) {
  AddDomainAndMailbox();
  MustRun({"domain", "add", "other.test"});
  MustRun({"admin", "add", "Ops-Team", "--kind", "domain", "--domain", "example.test", "--domain", "other.test",
           "--password-stdin"},
          "admin pass 1\n");
  MustRun({"admin", "add", "sales-lead", "--kind", "group", "--domain", "example.test", "--department", "Sales",
           "--password-stdin"},
          "admin pass 2\n");
  // Refusals: no kind, a scope that does not fit it, a domain that does not exist, a taken name.
  EXPECT_EQ(Run({"admin", "add", "x", "--password-stdin"}, "p\n").exit_code, 64);
  EXPECT_EQ(Run({"admin", "add", "x", "--kind", "group", "--domain", "example.test", "--password-stdin"}, "p\n")
                .exit_code,
            65);
  EXPECT_EQ(Run({"admin", "add", "x", "--kind", "domain", "--domain", "none.test", "--password-stdin"}, "p\n")
                .exit_code,
            67);
  EXPECT_EQ(Run({"admin", "add", "ops-team", "--kind", "mail", "--password-stdin"}, "p\n").exit_code, 65);
  auto list = Run({"admin", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ops-team"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("example.test,other.test"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("example.test / Sales"), std::string::npos) << list.out;
  auto json = Run({"--json", "admin", "show", "ops-team"});
  EXPECT_NE(json.out.find("\"kind\":\"domain\""), std::string::npos) << json.out;
  EXPECT_EQ(json.out.find("password"), std::string::npos) << json.out;

  auto db = MariaDb::Get().Connect(DbRole::kAdmin);
  auto settings = ops::OpsSettings::FromConfig(MariaDb::Get().config(), MariaDb::Get().config_path());
  ASSERT_TRUE(settings.ok());
  ops::SystemClock clock;
  auto sign_in = [&](const std::string& name, const std::string& password, const std::string& code = "") {
    return ops::AuthenticateAdmin(*db, *settings, clock, ops::Credentials{name, password, code, "192.0.2.5"});
  };
  EXPECT_TRUE(sign_in("ops-team", "admin pass 1").ok());
  MustRun({"admin", "passwd", "ops-team", "--password-stdin"}, "admin pass 3\n");
  EXPECT_FALSE(sign_in("ops-team", "admin pass 1").ok());
  EXPECT_TRUE(sign_in("ops-team", "admin pass 3").ok());

  // TOTP: the secret printed once; the code from it signs in.
  auto totp = Run({"--json", "admin", "totp", "ops-team", "on"});
  ASSERT_EQ(totp.exit_code, 0) << totp.err;
  Json t = Json::parse(totp.out);
  EXPECT_EQ(t["uri"].get<std::string>().rfind("otpauth://totp/roster:ops-team?secret=", 0), 0u);
  auto stored = AdminAccounts(*db).FindForSignIn("ops-team");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(ops::Base32(stored->totp_secret), t["secret"]);
  EXPECT_FALSE(sign_in("ops-team", "admin pass 3").ok());
  EXPECT_TRUE(
      sign_in("ops-team", "admin pass 3", ops::TotpCode(stored->totp_secret, clock.NowUnix() / ops::kTotpPeriod)).ok());
  MustRun({"admin", "totp", "ops-team", "off"});
  EXPECT_EQ(Run({"admin", "totp", "ops-team", "maybe"}).exit_code, 64);

  // Locked by failures; unlocked by the administrator.
  for (unsigned i = 0; i < settings->api_lockout_failures; ++i) EXPECT_FALSE(sign_in("ops-team", "wrong").ok());
  EXPECT_EQ(sign_in("ops-team", "admin pass 3").error().kind, ErrorKind::kThrottled);
  EXPECT_NE(Run({"admin", "show", "ops-team"}).out.find("locked until:   20"), std::string::npos);
  MustRun({"admin", "unlock", "ops-team"});
  EXPECT_TRUE(sign_in("ops-team", "admin pass 3").ok());
  MustRun({"admin", "disable", "ops-team"});
  EXPECT_FALSE(sign_in("ops-team", "admin pass 3").ok());
  MustRun({"admin", "enable", "ops-team"});

  // API keys: printed once, listed without the secret, revoked.
  auto key = Run({"api-key", "add", "ops-team", "--read-only", "--domain", "example.test", "--label", "monitoring",
                  "--expires", "30d"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(key.out, m, std::regex("rk_[a-z2-7]{12}_[a-z2-7]{32}"))) << key.out;
  const std::string secret = m.str();
  auto p = ops::AuthenticateApiKey(*db, clock, secret, "192.0.2.6");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->api_key->read_only);
  EXPECT_EQ(p->api_key->domains, std::set<std::string>{"example.test"});
  auto keys = Run({"api-key", "list", "ops-team"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_NE(keys.out.find("monitoring"), std::string::npos) << keys.out;
  EXPECT_NE(keys.out.find("read-only"), std::string::npos) << keys.out;
  EXPECT_NE(keys.out.find("192.0.2.6"), std::string::npos) << keys.out;
  EXPECT_EQ(keys.out.find(secret.substr(16)), std::string::npos) << keys.out;
  // Wider than its owner: refused.
  EXPECT_EQ(Run({"api-key", "add", "sales-lead", "--domain", "other.test"}).exit_code, 65);
  auto listed = Json::parse(Run({"--json", "api-key", "list", "ops-team"}).out);
  ASSERT_EQ(listed.size(), 1u);
  MustRun({"api-key", "revoke", "ops-team", std::to_string(listed[0]["id"].get<uint64_t>())});
  EXPECT_EQ(ops::AuthenticateApiKey(*db, clock, secret, "192.0.2.6").error().kind, ErrorKind::kUnauthenticated);
  EXPECT_EQ(Run({"api-key", "revoke", "ops-team", "1"}).exit_code, 67);

  auto log = Run({"--json", "log", "--account", "ops-team"});
  for (const char* action : {"admin-add", "admin-password", "admin-totp-set", "admin-totp-clear", "admin-lock",
                             "admin-unlock", "admin-disable", "admin-enable", "api-key-add", "api-key-revoke"})
    EXPECT_NE(log.out.find(std::string("\"") + action + "\""), std::string::npos) << action << "\n" << log.out;
  EXPECT_EQ(log.out.find("admin pass"), std::string::npos);
  EXPECT_EQ(log.out.find(secret), std::string::npos);
  MustRun({"admin", "del", "ops-team"});
  EXPECT_EQ(Run({"admin", "show", "ops-team"}).exit_code, 67);
}

TEST_F(RosterctlTest, WebmailInAnAccessListNeedsWebmailNetworks) {
  AddDomainAndMailbox();
  auto refused = Run({"mailbox", "access", "alice@example.test", "--main-password", "webmail"});
  EXPECT_EQ(refused.exit_code, 65) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("auth_webmail_networks is not set in " + MariaDb::Get().config_path()),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("would work nowhere"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  auto partly = Run({"mailbox", "access", "alice@example.test", "--main-password", "imap,webmail"});
  EXPECT_EQ(partly.exit_code, 65);
  EXPECT_NE(partly.err.find("would work only over imap"), std::string::npos) << partly.err;
  auto login = Run({"mailbox", "access", "alice@example.test", "--protocols", "webmail"});
  EXPECT_EQ(login.exit_code, 65);
  EXPECT_NE(login.err.find("could log in nowhere"), std::string::npos) << login.err;
  // Nothing was changed, nothing logged.
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  EXPECT_FALSE(a.FindMailboxForLogin("alice@example.test")->main_password_protocols.has_value());
  EXPECT_FALSE(a.FindMailboxForLogin("alice@example.test")->login_protocols.has_value());
  EXPECT_EQ(Run({"log", "--action", "mailbox-access"}).out, "");
  // Lists without webmail, and "all", need no networks.
  MustRun({"mailbox", "access", "alice@example.test", "--main-password", "imap", "--protocols", "all"});
  // With the networks set, accepted as it is.
  auto ok = RunWithConfig("auth_webmail_networks = 192.0.2.0/24\n",
                          {"mailbox", "access", "alice@example.test", "--main-password", "webmail"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err.find("warning"), std::string::npos) << ok.err;
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->main_password_protocols,
            std::optional<unsigned>(kProtoWebmail));
  // Without them, showing it warns; --force sets it anyway.
  auto shown = Run({"mailbox", "access", "alice@example.test"});
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_NE(shown.err.find("warning: webmail is named, but auth_webmail_networks is not set"), std::string::npos)
      << shown.err;
  MustRun({"mailbox", "access", "alice@example.test", "--main-password", "all"});
  auto forced = Run({"mailbox", "access", "alice@example.test", "--main-password", "webmail", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(a.FindMailboxForLogin("alice@example.test")->main_password_protocols,
            std::optional<unsigned>(kProtoWebmail));
  EXPECT_EQ(Run({"mailbox", "show", "alice@example.test", "--force"}).exit_code, 64);
}

// Text tables print times to the second; --json keeps what the database
// holds (microseconds where the column has them).
TEST_F(RosterctlTest, TextTablesShowSecondsAndJsonKeepsMicroseconds) {
  AddDomainAndMailbox();
  MustRun({"app-password", "add", "alice@example.test", "--label", "Phone", "--expires", "30d"});
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  auto m = a.FindMailboxForLogin("alice@example.test");
  ASSERT_TRUE(m.ok());
  AppPasswordStores history(*db);
  const std::string ip("\xc0\x00\x02\x05", 4);
  ASSERT_TRUE(history.RecordLogin(m->id, "imap", ip, 0, 20).ok());
  ASSERT_TRUE(history.TouchAppPassword(1, ip).ok());
  MustRun({"outbound", "suspend", "alice@example.test", "--reason", "test"});
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  ASSERT_TRUE(admin->Execute("UPDATE mailbox SET created_at = UTC_TIMESTAMP() - INTERVAL 100 DAY").ok());
  // Whole seconds would print no fraction either way: make sure each has one.
  for (const char* sql : {"UPDATE login_history SET logged_at = UTC_TIMESTAMP() - INTERVAL 95 DAY + INTERVAL 0.25 SECOND",
                          "UPDATE mailbox SET last_login_at = UTC_TIMESTAMP() - INTERVAL 95 DAY + INTERVAL 0.25 SECOND",
                          "UPDATE app_password SET last_used_at = UTC_TIMESTAMP() + INTERVAL 0.25 SECOND",
                          "UPDATE mailbox SET send_suspended_at = UTC_TIMESTAMP() + INTERVAL 0.25 SECOND",
                          "UPDATE change_log SET at = UTC_TIMESTAMP() + INTERVAL 0.25 SECOND"})
    ASSERT_TRUE(admin->Execute(sql).ok()) << sql;
  const std::regex time(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"), fraction(R"(\d\d:\d\d:\d\d\.\d)");
  using V = std::vector<std::string>;
  for (const V& args : {V{"app-password", "list", "alice@example.test"}, V{"outbound", "show", "alice@example.test"},
                        V{"outbound", "suspended"}, V{"mailbox", "logins", "alice@example.test"},
                        V{"mailbox", "list", "--inactive", "90d"}, V{"log"}}) {
    auto text = Run(args);
    ASSERT_EQ(text.exit_code, 0) << args[0] << ": " << text.err;
    EXPECT_TRUE(std::regex_search(text.out, time)) << text.out;
    EXPECT_FALSE(std::regex_search(text.out, fraction)) << text.out;
    V json_args = {"--json"};
    json_args.insert(json_args.end(), args.begin(), args.end());
    auto json = Run(json_args);
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_TRUE(std::regex_search(json.out, fraction)) << json.out;
  }
  // The columns stay aligned: the time is 19 characters wide.
  auto suspended = Run({"outbound", "suspended"}).out;
  EXPECT_EQ(suspended.find("SUSPENDED (UTC)     REASON"), 41u) << suspended;
  EXPECT_NE(Run({"outbound", "show", "alice@example.test"}).out.find(" UTC: test\n"), std::string::npos);
}

// The dormant report of one domain, and of more mailboxes than one page.
TEST_F(RosterctlTest, DormantReportOfOneDomainPagesThroughEveryMailbox) {
  AddDomainAndMailbox();
  MustRun({"domain", "add", "other.test"});
  MustRun({"mailbox", "add", "carol@other.test", "--password-stdin"}, "pw pw pw\n");
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  // 1203 more mailboxes in big.test; every third logged in lately, and the
  // rest have a last login (last_login) older than their history's newest.
  MustRun({"domain", "add", "big.test"});
  for (const char* sql :
       {"INSERT INTO mailbox (domain_id, address) SELECT d.id, CONCAT('u', LPAD(seq, 4, '0'), '@big.test') "
        "FROM seq_1_to_1203 JOIN domain d WHERE d.name = 'big.test'",
        "UPDATE mailbox SET created_at = UTC_TIMESTAMP() - INTERVAL 200 DAY",
        "INSERT INTO last_login (mailbox_id, protocol, ip, logged_at) SELECT id, 'imap', UNHEX('C0000205'), "
        "UTC_TIMESTAMP() - INTERVAL 150 DAY FROM mailbox WHERE address LIKE 'u%@big.test'",
        "INSERT INTO login_history (mailbox_id, seq, logged_at, protocol, ip) SELECT id, 1, "
        "IF(MOD(id, 3) = 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP() - INTERVAL 120 DAY + INTERVAL 0.5 SECOND), 'smtp', "
        "UNHEX('C0000205') "
        "FROM mailbox WHERE address LIKE 'u%@big.test'",
        // Those rows were written behind the writers' backs: migration 015
        // made again (as on an upgrade, with those after it) takes each
        // mailbox's newest of them.
        "DELETE FROM schema_version WHERE version >= 15"})
    ASSERT_TRUE(admin->Execute(sql).ok()) << sql;
  auto migrated = Run({"db", "migrate"});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  auto expected = admin->Query(
      "SELECT m.address, CAST(h.logged_at AS CHAR) FROM mailbox m JOIN login_history h ON h.mailbox_id = m.id "
      "WHERE m.address LIKE 'u%@big.test' AND MOD(m.id, 3) <> 0 ORDER BY m.lookup_key");
  ASSERT_TRUE(expected.ok());
  ASSERT_GT(expected->size(), 500u);
  std::string want = "[";
  for (const DbRow& r : *expected) {
    EXPECT_EQ(r.String(1).substr(19), ".500000");  // the history's, newer than the last-login table's
    want += (want.size() > 1 ? "," : "") + std::string("{\"address\":\"") + r.String(0) + "\",\"last_login\":\"" +
            r.String(1) + "\"}";
  }
  want += "]\n";
  auto big = Run({"--json", "mailbox", "list", "big.test", "--inactive", "90d"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(big.out, want);
  auto text = Run({"mailbox", "list", "big.test", "--inactive", "90d"});
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), static_cast<long>(expected->size()) + 1);
  // One domain only; without one, every domain.
  auto example = Run({"mailbox", "list", "example.test", "--inactive", "90d"});
  ASSERT_EQ(example.exit_code, 0) << example.err;
  EXPECT_EQ(example.out, "ADDRESS                                  LAST LOGIN (UTC)\n"
                         "alice@example.test                       never\n");
  auto all = Run({"mailbox", "list", "--inactive", "90d"});
  EXPECT_NE(all.out.find("alice@example.test"), std::string::npos);
  EXPECT_NE(all.out.find("carol@other.test"), std::string::npos);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), static_cast<long>(expected->size()) + 3);
  EXPECT_EQ(Run({"mailbox", "list", "nowhere.test", "--inactive", "90d"}).exit_code, 67);
  EXPECT_EQ(Run({"mailbox", "list", "bad_domain", "--inactive", "90d"}).exit_code, 65);
  EXPECT_EQ(Run({"mailbox", "list", "example.test", "x", "--inactive", "90d"}).exit_code, 64);
}

// DURATION (rosterctl(1), ARGUMENTS): --inactive takes whole days, 1 day to 100 years.
TEST_F(RosterctlTest, InactiveTakesDurationsOfADayToAHundredYears) {
  AddDomainAndMailbox();
  for (const char* ok : {"1d", "36h", "2160h", "36500d", "86400s", "1440m"})
    EXPECT_EQ(Run({"mailbox", "list", "--inactive", ok}).exit_code, 0) << ok;
  for (const char* bad : {"0d", "12h", "90", "1w", "1y", "36501d", "-1d", "1.5d", "d"}) {
    auto r = Run({"mailbox", "list", "--inactive", bad});
    EXPECT_EQ(r.exit_code, 65) << bad << ": " << r.err;
  }
}

TEST_F(RosterctlTest, LastLoginShowsWhatTheDictWrote) {
  AddDomainAndMailbox();
  auto db = MariaDb::Get().Connect(DbRole::kDict);
  Stores a(*db);
  ASSERT_TRUE(a.RecordLastLogin("alice@example.test", "imap", "127.0.0.2").ok());
  ASSERT_TRUE(a.RecordLastLogin("alice@example.test", "pop3", "::1").ok());
  auto r = Run({"lastlogin", "alice@example.test"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("imap"), std::string::npos);
  EXPECT_NE(r.out.find("127.0.0.2"), std::string::npos);
  EXPECT_NE(r.out.find("::1"), std::string::npos);
  auto json = Run({"--json", "lastlogin"});
  EXPECT_NE(json.out.find("\"protocol\":\"pop3\",\"ip\":\"::1\""), std::string::npos) << json.out;
  EXPECT_EQ(Run({"lastlogin", "nobody@example.test"}).exit_code, 67);
}

TEST_F(RosterctlTest, ChangeLogRecordsWhoAndFromWhere) {
  auto r = Run({"domain", "add", "example.test"}, "", {"SSH_CLIENT=198.51.100.9 50000 22", "SUDO_USER=operator"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  MustRun({"--actor", "helpdesk", "mailbox", "add", "carol@example.test", "--password-stdin"}, "pw\n");
  auto log = Run({"--json", "log"});
  ASSERT_EQ(log.exit_code, 0);
  EXPECT_NE(log.out.find("\"actor\":\"operator\",\"origin\":\"198.51.100.9\",\"action\":\"domain-add\""),
            std::string::npos)
      << log.out;
  EXPECT_NE(log.out.find("\"actor\":\"helpdesk\",\"origin\":\"local\",\"action\":\"mailbox-add\","
                         "\"object\":\"carol@example.test\""),
            std::string::npos)
      << log.out;
  auto filtered = Run({"log", "--account", "carol@example.test"});
  EXPECT_NE(filtered.out.find("mailbox-add"), std::string::npos);
  EXPECT_EQ(filtered.out.find("domain-add"), std::string::npos) << filtered.out;
  EXPECT_EQ(Run({"log", "--since", "yesterday"}).exit_code, 65);
  EXPECT_EQ(Run({"log", "--since", "2020-01-01"}).exit_code, 0);
  // Passwords never reach the change log.
  EXPECT_EQ(Run({"log"}).out.find("pw"), std::string::npos);
}

TEST_F(RosterctlTest, MigrateIsIdempotentAndRefusesANewerDatabase) {
  auto again = Run({"db", "migrate"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("up to date"), std::string::npos);
  auto status = Run({"--json", "db", "status"});
  EXPECT_NE(status.out.find("\"state\":\"up to date\""), std::string::npos) << status.out;
  auto admin = MariaDb::Get().Connect(DbRole::kAdmin);
  ASSERT_TRUE(admin->Execute("INSERT INTO schema_version VALUES (999, 'future', NOW())").ok());
  auto newer = Run({"db", "migrate"});
  auto newer_status = Run({"db", "status"});
  ASSERT_TRUE(admin->Execute("DELETE FROM schema_version WHERE version = 999").ok());
  EXPECT_EQ(newer.exit_code, 69);
  EXPECT_NE(newer.err.find("newer than this rosterctl"), std::string::npos) << newer.err;
  EXPECT_EQ(newer_status.exit_code, 69);
}

TEST_F(RosterctlTest, DatabaseDownIsTempfail) {
  MariaDb::Get().Stop();
  auto r = Run({"domain", "list"});
  MariaDb::Get().Start();
  EXPECT_EQ(r.exit_code, 75) << r.err;
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

TEST_F(RosterctlTest, ConfigErrorsNameFileAndLine) {
  std::string path = MariaDb::Get().dir() + "/bad.conf";
  std::ofstream(path) << "db_name = roster\ndb_hots = x\n";
  auto r = RunCommand({ROSTERCTL_PATH, "--config", path, "domain", "list"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(path + ":2: unknown key 'db_hots'"), std::string::npos) << r.err;
  auto missing = RunCommand({ROSTERCTL_PATH, "--config", path + ".absent", "domain", "list"});
  EXPECT_EQ(missing.exit_code, 66);
  std::ofstream(path) << "admin_db_password = x\n";
  chmod(path.c_str(), 0644);
  auto leaky = RunCommand({ROSTERCTL_PATH, "--config", path, "domain", "list"});
  EXPECT_EQ(leaky.exit_code, 78);
  EXPECT_NE(leaky.err.find("may be read by group or other"), std::string::npos) << leaky.err;
}

// ./configure --sysconfdir=DIR puts the default configuration in DIR/roster.
TEST_F(RosterctlTest, DefaultConfigFollowsSysconfdir) {
  auto r = RunCommand({ROSTERCTL_PATH, "domain", "list"}, "", {"SUDO_USER="});
  const std::string expected = std::string(TEST_SYSCONFDIR) + "/roster/roster.conf";
  if (access(expected.c_str(), F_OK) == 0) GTEST_SKIP() << expected << " exists on this machine";
  EXPECT_EQ(r.exit_code, 66) << r.err;
  EXPECT_NE(r.err.find(expected + ": No such file"), std::string::npos) << r.err;
}

TEST_F(RosterctlTest, UsageErrors) {
  EXPECT_EQ(Run({}).exit_code, 64);
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 64);
  EXPECT_EQ(Run({"domain", "add"}).exit_code, 64);
  EXPECT_EQ(Run({"domain", "add", "a.test", "b.test"}).exit_code, 64);
  EXPECT_EQ(Run({"domain", "list", "--force"}).exit_code, 64);
  EXPECT_EQ(Run({"--bogus", "domain", "list"}).exit_code, 64);
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
}

TEST_F(RosterctlTest, WrongRolePasswordIsNoPerm) {
  std::string dir = MariaDb::Get().dir();
  std::ofstream(dir + "/wrong.conf") << "db_hosts = " << MariaDb::Get().socket()
                                     << "\n!include wrong-secrets.conf\n";
  std::ofstream(dir + "/wrong-secrets.conf") << "admin_db_password = nope\n";
  chmod((dir + "/wrong-secrets.conf").c_str(), 0600);
  auto r = RunCommand({ROSTERCTL_PATH, "--config", dir + "/wrong.conf", "domain", "list"});
  EXPECT_EQ(r.exit_code, 77) << r.err;
}

}  // namespace
}  // namespace roster::test

#include <pty.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace roster::test {
namespace {

// Runs rosterctl on a pseudo-terminal (its /dev/tty) and answers its prompts.
struct PtyRun {
  int exit_code = -1;
  std::string screen;
};

PtyRun RunOnTerminal(const std::vector<std::string>& args, const std::vector<std::string>& answers) {
  std::vector<std::string> argv = {ROSTERCTL_PATH, "--config", MariaDb::Get().config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
    cargs.push_back(nullptr);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  PtyRun run;
  size_t answered = 0;
  for (;;) {
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;
    char buf[512];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    run.screen.append(buf, static_cast<size_t>(n));
    // Answer each prompt once, in order.
    size_t prompts = 0;
    for (size_t pos = 0; (pos = run.screen.find(": ", pos)) != std::string::npos; pos += 2) ++prompts;
    while (answered < answers.size() && answered < prompts) {
      std::string line = answers[answered++] + "\n";
      if (write(master, line.data(), line.size()) < 0) break;
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST_F(RosterctlTest, PasswordPromptAsksTwiceWithoutEcho) {
  MustRun({"domain", "add", "example.test"});
  auto mismatch = RunOnTerminal({"mailbox", "add", "tty@example.test"}, {"first try", "second try"});
  EXPECT_EQ(mismatch.exit_code, 65) << mismatch.screen;
  EXPECT_NE(mismatch.screen.find("do not match"), std::string::npos) << mismatch.screen;
  auto ok = RunOnTerminal({"mailbox", "add", "tty@example.test"}, {"typed secret", "typed secret"});
  ASSERT_EQ(ok.exit_code, 0) << ok.screen;
  EXPECT_NE(ok.screen.find("New password: "), std::string::npos);
  EXPECT_NE(ok.screen.find("Again: "), std::string::npos);
  EXPECT_EQ(ok.screen.find("typed secret"), std::string::npos) << "the password was echoed: " << ok.screen;
  auto db = MariaDb::Get().Connect(DbRole::kAuth);
  Stores a(*db);
  EXPECT_TRUE(PasswordHasher{PasswordPolicy{}}
                  .Verify("typed secret", a.FindMailboxForLogin("tty@example.test")->password_hash)
                  .matched());
}

}  // namespace
}  // namespace roster::test
