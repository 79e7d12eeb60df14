// Tests of `rosterctl import seed003`: seed 003's three tables, created with
// the statements the seed gives, filled with good and bad rows, imported by
// the real rosterctl into roster's schema.
#include <gtest/gtest.h>

#include <set>

#include "common/password.h"
#include "tests/db/mariadb_fixture.h"
#include "tests/db/stores.h"

namespace roster::test {
namespace {

// Seed 003's schema, as the seed's author created it.
const char* const kSeedSchema[] = {
    "CREATE TABLE `subscription` ( `id` int(10) unsigned NOT NULL auto_increment, `direction` varchar(1) NOT NULL "
    "default 'I', `email` varchar(255) character set latin1 NOT NULL, `recipient` varchar(255) character set latin1 "
    "NOT NULL, PRIMARY KEY (`id`), UNIQUE KEY `subscription` (`direction`,`email`,`recipient`) ) ENGINE=InnoDB "
    "AUTO_INCREMENT=1 DEFAULT CHARSET=utf8",
    "CREATE TABLE `user` ( `id` int(10) unsigned NOT NULL auto_increment, `active` varchar(1) default 'Y', `email` "
    "varchar(255) character set latin1 NOT NULL, `password` varchar(255) character set latin1 NOT NULL default '', "
    "`surname` varchar(255) NOT NULL default '', `name` varchar(255) NOT NULL default '', `patronym` varchar(255) NOT "
    "NULL default '', `lastip` varchar(32) default NULL, `lasttime` datetime default NULL, `bytes` bigint(20) default "
    "NULL, `messages` int(11) default NULL, `max_bytes` bigint(20) unsigned NOT NULL default '1073741824', "
    "`max_messages` int(10) unsigned NOT NULL default '1000', `ad_login` varchar(255) character set latin1 NOT NULL "
    "default '', `phones` varchar(255) NOT NULL default '', `position` varchar(255) NOT NULL default '', `department` "
    "varchar(255) NOT NULL default '', PRIMARY KEY (`id`), UNIQUE KEY `email` (`email`), UNIQUE KEY `fullname` "
    "(`surname`,`name`,`patronym`) ) ENGINE=InnoDB AUTO_INCREMENT=1 DEFAULT CHARSET=utf8",
    "CREATE TABLE `domain` ( `id` int(10) unsigned NOT NULL auto_increment, `domain` varchar(255) character set latin1 "
    "NOT NULL, `transport` varchar(255) character set latin1 NOT NULL default 'dovecot:', PRIMARY KEY (`id`), UNIQUE "
    "KEY `domain` (`domain`) ) ENGINE=InnoDB AUTO_INCREMENT=1 DEFAULT CHARSET=utf8",
};

const char kPassword[] = "correct horse";
const char kMd5[] = "$1$vVt5fc9v$fOzlNxn0/91JtVcZSRGO/.";  // MD5-CRYPT of kPassword, as seed 003 stored them

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MariaDb::Get().Truncate();
    auto root = DbSettings::FromConfig(MariaDb::Get().config(), DbRole::kSetup);
    root->database.clear();
    setup_ = std::make_unique<Db>(std::move(*root));
    Sql("DROP DATABASE IF EXISTS seed003");
    Sql("CREATE DATABASE seed003");
    Sql("USE seed003");
    for (const char* create : kSeedSchema) Sql(create);
  }
  void TearDown() override { Sql("DROP DATABASE IF EXISTS seed003"); }
  void Sql(const std::string& sql) { ASSERT_TRUE(setup_->Execute(sql).ok()) << sql; }
  CommandResult Import() { return MariaDb::Get().Rosterctl({"import", "seed003", "seed003"}); }
  std::unique_ptr<Db> setup_;
};

TEST_F(ImportTest, KeepsHashesLimitsUsageAndSubscriptionsAndSaysWhatItSkipped) {
  Sql("INSERT INTO domain (domain, transport) VALUES ('Example.TEST', 'dovecot:'), ('unit.test', 'smtp:[u2.unit.test]'),"
      " ('bad_domain', 'dovecot:')");
  Sql("INSERT INTO user (email, password, surname, name, patronym, department, bytes, messages, max_bytes, "
      "max_messages) VALUES ('alice@example.test', '" + std::string(kMd5) + "', 'Ivanova', 'Alisa', 'Petrovna', "
      "'Sales', 5000, 7, 1048576, 100)");
  Sql("INSERT INTO user (email, password, surname, active, bytes, messages) VALUES ('bob@example.test', '{SHA512-CRYPT}"
      "$6$O27mz1e5AD2W5fzr$uhe1Vl/YWd3ZadQy5WYRHYoac7JFV5YXsQpVoOk47KHqcnuCtVoOEDhYbjykpjZRKY4yQHZo7Lirv.4RIaaAA.', "
      "'b', 'N', NULL, NULL)");
  Sql("INSERT INTO user (email, password, surname) VALUES ('des@unit.test', 'abJnggxhB/yJU', 'd')");
  Sql("INSERT INTO user (email, password, surname) VALUES ('../example.test/alice@example.test', '', 'e')");
  Sql("INSERT INTO user (email, password, surname) VALUES ('carol@nowhere.test', '', 'f')");
  Sql("INSERT INTO user (email, password, surname, max_bytes) VALUES ('huge@example.test', '', 'g', "
      "18446744073709551615)");
  Sql("INSERT INTO subscription (direction, email, recipient) VALUES ('I', 'sales@example.test', 'alice@example.test'),"
      " ('O', 'alice@example.test', 'archive@remote.test'), ('I', '@example.test', 'alice@example.test'),"
      " ('X', 'x@example.test', 'alice@example.test'), ('I', 'bad address', 'alice@example.test')");

  auto r = Import();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("imported 2 domain(s), 3 mailbox(es), 3 subscription(s)"), std::string::npos) << r.out;
  for (const char* said : {"skipped domain bad_domain: ", "skipped mailbox ../example.test/alice@example.test: mailbox "
                           "name", "skipped mailbox carol@nowhere.test: no such domain",
                           "skipped mailbox huge@example.test: byte quota", "skipped subscription x@example.test",
                           "skipped subscription bad address", "warning: mailbox des@unit.test: password not imported"})
    EXPECT_NE(r.out.find(said), std::string::npos) << said << "\n" << r.out;

  auto db = MariaDb::Get().Connect(DbRole::kAdmin);
  Stores accounts(*db);
  auto alice = accounts.GetMailbox("alice@example.test");
  ASSERT_TRUE(alice.ok());
  EXPECT_TRUE(alice->active);
  EXPECT_EQ(alice->display_name, "Ivanova Alisa Petrovna");
  EXPECT_EQ(alice->department, "Sales");
  EXPECT_EQ(alice->max_bytes, 1048576u);
  EXPECT_EQ(alice->max_messages, 100u);
  ASSERT_TRUE(alice->usage.has_value());
  EXPECT_EQ(alice->usage->bytes, 5000);
  EXPECT_EQ(alice->usage->messages, 7);
  auto login = accounts.FindMailboxForLogin("alice@example.test");
  ASSERT_TRUE(login.ok());
  PasswordHasher hasher{PasswordPolicy{}};
  EXPECT_TRUE(hasher.Verify(kPassword, login->password_hash).matched()) << login->password_hash;
  EXPECT_EQ(login->password_hash, std::string("{MD5-CRYPT}") + kMd5);
  EXPECT_TRUE(hasher.NeedsRehash(login->password_hash));  // upgraded at the first login

  auto bob = accounts.GetMailbox("bob@example.test");
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(bob->active);
  EXPECT_EQ(bob->max_bytes, 1073741824u);  // seed 003's column default
  auto bob_usage = accounts.GetUsageCounter("bob@example.test", UsageCounter::kBytes);
  EXPECT_TRUE(bob_usage.error().is_not_found());  // NULL: unknown, Dovecot recounts
  EXPECT_TRUE(hasher.Verify(kPassword, accounts.FindMailboxForLogin("bob@example.test")->password_hash).matched());
  EXPECT_EQ(accounts.GetDomain("unit.test")->transport, "smtp:[u2.unit.test]");
  EXPECT_EQ(accounts.GetDomain("example.test")->transport, "");

  std::set<std::string> subs;
  auto listed = accounts.ListSubscriptions("");
  ASSERT_TRUE(listed.ok());
  for (const Subscription& s : *listed)
    subs.insert(std::string(1, s.direction) + " " + s.address + " " + s.recipient);
  EXPECT_EQ(subs, (std::set<std::string>{"I sales@example.test alice@example.test",
                                         "O alice@example.test archive@remote.test",
                                         "I @example.test alice@example.test"}));
  ChangeLogFilter filter;
  filter.object = "alice@example.test";
  filter.action = "mailbox-add";
  EXPECT_EQ(accounts.ListChangeLog(filter)->size(), 1u);

  // Run again: nothing twice, nothing changed.
  auto again = Import();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("imported 0 domain(s), 0 mailbox(es), 0 subscription(s)"), std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("skipped mailbox alice@example.test: mailbox exists already"), std::string::npos)
      << again.out;
  EXPECT_EQ(accounts.GetMailbox("alice@example.test")->usage->bytes, 5000);
}

TEST_F(ImportTest, RefusesAMissingOrBadlyNamedSource) {
  EXPECT_EQ(MariaDb::Get().Rosterctl({"import", "seed003", "no_such_db"}).exit_code, 70);
  EXPECT_EQ(MariaDb::Get().Rosterctl({"import", "seed003", "x`; DROP DATABASE roster"}).exit_code, 65);
  EXPECT_EQ(MariaDb::Get().Rosterctl({"import", "postfixadmin", "seed003"}).exit_code, 64);
}

// A hash moved from elsewhere, never a password, never on the command line.
TEST_F(ImportTest, MailboxAddTakesAnExistingHashOnStdin) {
  MariaDb::Get().Rosterctl({"domain", "add", "example.test"});
  auto r = MariaDb::Get().Rosterctl({"mailbox", "add", "moved@example.test", "--hash-stdin"},
                                    std::string(kMd5) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto db = MariaDb::Get().Connect(DbRole::kAdmin);
  Stores accounts(*db);
  PasswordHasher hasher{PasswordPolicy{}};
  EXPECT_TRUE(hasher.Verify(kPassword, accounts.FindMailboxForLogin("moved@example.test")->password_hash).matched());
  EXPECT_EQ(accounts.GetMailbox("moved@example.test")->password_scheme, "MD5-CRYPT");
  for (const char* bad : {"{PLAIN}correct horse", "correct horse", "abJnggxhB/yJU", ""}) {
    auto refused = MariaDb::Get().Rosterctl({"mailbox", "passwd", "moved@example.test", "--hash-stdin"},
                                            std::string(bad) + "\n");
    EXPECT_EQ(refused.exit_code, 65) << bad << ": " << refused.err;
  }
  EXPECT_EQ(MariaDb::Get().Rosterctl({"mailbox", "add", "x@example.test", "--hash-stdin", "--password-stdin"},
                                     std::string(kMd5) + "\n").exit_code, 64);
}

}  // namespace
}  // namespace roster::test
