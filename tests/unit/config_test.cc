// Tests of the config parser: format, includes, typed values, secrets, errors at file:line.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "common/config.h"

namespace roster {
namespace {

const std::vector<ConfigKey> kKeys = {
    {"name", ConfigType::kString, "default-name", false, ""},
    {"count", ConfigType::kInt, "7", false, ""},
    {"flag", ConfigType::kBool, "no", false, ""},
    {"size", ConfigType::kSize, "1M", false, ""},
    {"wait", ConfigType::kDuration, "5s", false, ""},
    {"hosts", ConfigType::kList, "a b", false, ""},
    {"secret_password", ConfigType::kString, "", true, ""},
};

// Includes served from memory: path -> (text, private?)
struct FakeFiles {
  std::map<std::string, std::pair<std::string, bool>> files;
  IncludeReader Reader() {
    return [this](const std::string& path, std::string* exposed) -> Result<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return Error::NotFound(path + ": No such file or directory");
      *exposed = it->second.second ? "" : "the file may be read by group or other";
      return it->second.first;
    };
  }
};

Result<Config> Parse(const std::string& text, FakeFiles* files = nullptr) {
  static FakeFiles none;
  return Config::ParseText(text, "/etc/roster/roster.conf", kKeys, (files ? files : &none)->Reader());
}

TEST(Config, DefaultsWhenUnset) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->GetString("name"), "default-name");
  EXPECT_EQ(c->GetInt("count"), 7);
  EXPECT_FALSE(c->GetBool("flag"));
  EXPECT_EQ(c->GetSize("size"), 1u << 20);
  EXPECT_EQ(c->GetDuration("wait").count(), 5000);
  EXPECT_EQ(c->GetList("hosts"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(c->IsSet("name"));
  EXPECT_EQ(c->Origin("name"), "default");
}

TEST(Config, ParsesValuesCommentsAndWhitespace) {
  auto c = Parse("# comment\n\n  name =  hello world  \ncount=-3\nflag = yes\r\nsize = 2G\nwait = 3m\n"
                 "hosts = x, y\tz\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->GetString("name"), "hello world");
  EXPECT_EQ(c->GetInt("count"), -3);
  EXPECT_TRUE(c->GetBool("flag"));
  EXPECT_EQ(c->GetSize("size"), 2ull << 30);
  EXPECT_EQ(c->GetDuration("wait").count(), 180000);
  EXPECT_EQ(c->GetList("hosts"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_TRUE(c->IsSet("name"));
  EXPECT_EQ(c->Origin("name"), "/etc/roster/roster.conf:3");
}

TEST(Config, HashInsideValueIsKept) {
  auto c = Parse("name = a#b # not a comment\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->GetString("name"), "a#b # not a comment");
}

TEST(Config, UnknownKeyNamesFileAndLine) {
  auto c = Parse("name = x\n\nnmae = y\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "/etc/roster/roster.conf:3: unknown key 'nmae'");
}

TEST(Config, BadValuesNameFileLineAndKey) {
  auto c = Parse("count = 12x\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("roster.conf:1: count: invalid integer '12x'"), std::string::npos)
      << c.error().message;
  EXPECT_FALSE(Parse("flag = maybe\n").ok());
  EXPECT_FALSE(Parse("size = 5Q\n").ok());
  EXPECT_FALSE(Parse("wait = soon\n").ok());
  EXPECT_FALSE(Parse("size = 99999999999999999999\n").ok());
}

TEST(Config, MalformedLines) {
  EXPECT_NE(Parse("just words\n").error().message.find(":1: expected 'key = value'"), std::string::npos);
  EXPECT_NE(Parse("= value\n").error().message.find("missing key"), std::string::npos);
  EXPECT_NE(Parse("Bad-Key = 1\n").error().message.find("invalid key name"), std::string::npos);
  EXPECT_NE(Parse("!frobnicate x\n").error().message.find("unknown directive"), std::string::npos);
  EXPECT_NE(Parse(std::string("name = a\0b\n", 11)).error().message.find("control character"), std::string::npos);
  EXPECT_NE(Parse("name = " + std::string(5000, 'x') + "\n").error().message.find("line longer"), std::string::npos);
}

TEST(Config, DuplicateKeyIsAnError) {
  auto c = Parse("name = a\nname = b\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(":2: 'name' is already set at /etc/roster/roster.conf:1"), std::string::npos)
      << c.error().message;
}

TEST(Config, IncludeRelativeToIncludingFile) {
  FakeFiles files;
  files.files["/etc/roster/secrets.conf"] = {"secret_password = s3cr#t\n", true};
  auto c = Parse("name = x\n!include secrets.conf\n", &files);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->GetString("secret_password"), "s3cr#t");
  EXPECT_EQ(c->Origin("secret_password"), "/etc/roster/secrets.conf:1");
}

TEST(Config, SecretInReadableFileIsRefused) {
  FakeFiles files;
  files.files["/etc/roster/secrets.conf"] = {"secret_password = x\n", false};
  auto c = Parse("!include /etc/roster/secrets.conf\n", &files);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/etc/roster/secrets.conf:1: secret 'secret_password' is in a file that is not "
                                   "private (the file may be read by group or other)"),
            std::string::npos)
      << c.error().message;
  // Directly in the main text (treated as readable) too.
  EXPECT_FALSE(Parse("secret_password = x\n").ok());
}

TEST(Config, MissingIncludeAndIncludeTry) {
  auto c = Parse("!include nothere.conf\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("roster.conf:1: cannot include"), std::string::npos);
  EXPECT_TRUE(Parse("!include_try nothere.conf\n").ok());
}

TEST(Config, IncludeTrySkipsAFileThisProcessMayNotRead) {
  IncludeReader denied = [](const std::string& path, std::string*) -> Result<std::string> {
    return Error::Permanent(path + ": Permission denied");
  };
  EXPECT_TRUE(Config::ParseText("!include_try secrets.conf\n", "/etc/roster/roster.conf", kKeys, denied).ok());
  auto c = Config::ParseText("!include secrets.conf\n", "/etc/roster/roster.conf", kKeys, denied);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("Permission denied"), std::string::npos);
}

TEST(Config, IncludeLoopAndDepthAreBounded) {
  FakeFiles files;
  files.files["/etc/roster/a.conf"] = {"!include b.conf\n", true};
  files.files["/etc/roster/b.conf"] = {"!include a.conf\n", true};
  auto c = Parse("!include a.conf\n", &files);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("include loop"), std::string::npos) << c.error().message;
  FakeFiles chain;
  for (int i = 0; i < 20; ++i)
    chain.files["/etc/roster/" + std::to_string(i) + ".conf"] = {"!include " + std::to_string(i + 1) + ".conf\n", true};
  auto deep = Parse("!include 0.conf\n", &chain);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested too deeply"), std::string::npos);
}

TEST(Config, EveryRosterDefaultIsValid) {
  auto c = Config::ParseText("", "empty", RosterConfigKeys(), [](const std::string&, std::string*) -> Result<std::string> {
    return Error::NotFound("none");
  });
  ASSERT_TRUE(c.ok()) << c.error().message;
  // A default that fails its own type would read as 0/false: check each parses.
  for (const ConfigKey& k : RosterConfigKeys()) {
    std::string text = std::string(k.name) + " = " + k.default_value + "\n";
    if (k.secret || std::string(k.default_value).empty()) continue;
    auto one = Config::ParseText(text, "one", RosterConfigKeys(), nullptr);
    EXPECT_TRUE(one.ok()) << k.name << ": " << one.error().message;
  }
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roster-config-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const char* f : {"/main.conf", "/secrets.conf"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& name, const std::string& text, mode_t mode) {
    std::ofstream(dir_ + "/" + name) << text;
    chmod((dir_ + "/" + name).c_str(), mode);
  }
  std::string dir_;
};

TEST_F(ConfigFileTest, SecretsFileModeIsChecked) {
  Write("main.conf", "db_name = mail\n!include secrets.conf\n", 0644);
  Write("secrets.conf", "auth_db_password = pw\n", 0640);
  auto c = Config::LoadFile(dir_ + "/main.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("secrets.conf:1: secret 'auth_db_password'"), std::string::npos)
      << c.error().message;
  EXPECT_NE(c.error().message.find("the file may be read by group or other"), std::string::npos);
  EXPECT_NE(c.error().message.find("mode 0600"), std::string::npos);
  chmod((dir_ + "/secrets.conf").c_str(), 0600);
  auto ok = Config::LoadFile(dir_ + "/main.conf");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->GetString("auth_db_password"), "pw");
  EXPECT_EQ(ok->GetString("db_name"), "mail");
}

// Read bits are not all: a file others may change, or swap through its
// directory, or that another user owns, may not hold secrets either.
TEST_F(ConfigFileTest, SecretsFileMustBeUnchangeableByOthers) {
  Write("main.conf", "db_name = mail\n!include secrets.conf\n", 0644);
  Write("secrets.conf", "auth_db_password = pw\n", 0602);
  auto c = Config::LoadFile(dir_ + "/main.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("the file may be written by group or other"), std::string::npos)
      << c.error().message;

  chmod((dir_ + "/secrets.conf").c_str(), 0600);
  chmod(dir_.c_str(), 0777);
  c = Config::LoadFile(dir_ + "/main.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("its directory " + dir_ + " may be written by group or other"), std::string::npos)
      << c.error().message;
  // A sticky directory (as /tmp) keeps others to their own entries.
  chmod(dir_.c_str(), 01777);
  c = Config::LoadFile(dir_ + "/main.conf");
  EXPECT_TRUE(c.ok()) << c.error().message;
  chmod(dir_.c_str(), 0700);

  if (geteuid() == 0) {  // only root can give a file away
    // To a person's account: they could read and change it.
    ASSERT_EQ(chown((dir_ + "/secrets.conf").c_str(), 1234, 1234), 0);
    c = Config::LoadFile(dir_ + "/main.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("the file is owned by uid 1234, a person's account"), std::string::npos)
        << c.error().message;
    // To a system account (a daemon's own secret, read by root at start).
    ASSERT_EQ(chown((dir_ + "/secrets.conf").c_str(), 999, 999), 0);
    c = Config::LoadFile(dir_ + "/main.conf");
    EXPECT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(chown(dir_.c_str(), 1234, 1234), 0);
    c = Config::LoadFile(dir_ + "/main.conf");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("its directory " + dir_ + " is owned by uid 1234"), std::string::npos)
        << c.error().message;
    ASSERT_EQ(chown(dir_.c_str(), 0, 0), 0);
  }
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  auto c = Config::LoadFile(dir_ + "/absent.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.error().is_not_found());
}

}  // namespace
}  // namespace roster

namespace roster {
namespace {

// doc/roster.conf.example is what administrators copy: it must load as it is.
TEST(Config, ShippedExampleLoads) {
  const char* srcdir = getenv("srcdir");
  std::string path = std::string(srcdir ? srcdir : ".") + "/doc/roster.conf.example";
  auto c = Config::LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  // Every key the example sets holds the built-in default: the example documents defaults.
  for (const ConfigKey& k : RosterConfigKeys()) {
    if (c->IsSet(k.name)) {
      EXPECT_EQ(c->GetString(k.name), k.default_value) << k.name;
    }
  }
}

}  // namespace
}  // namespace roster
