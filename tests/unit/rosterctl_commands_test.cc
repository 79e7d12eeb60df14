// rosterctl's command table (admin/rosterctl.h): every row whole (a handler,
// a synopsis that names each option the row accepts, a sane word count), no
// command twice, the usage text and the "unknown command" errors made from
// it, and doc/rosterctl.1 documenting every command and option in it, so
// that a command added without its manual fails here. rosterctl runs
// in-process (RosterctlMain) on an empty configuration file: nothing here
// reaches a database.
#include <gtest/gtest.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "admin/rosterctl.h"

namespace roster {
namespace {

const std::set<std::string> kGlobal = {"config", "actor", "json"};

std::string Key(const Command& c) { return std::string(c.group) + (c.verb ? std::string(" ") + c.verb : ""); }

// The "--name" options a text mentions.
std::set<std::string> OptionsIn(const std::string& text) {
  std::set<std::string> out;
  for (size_t at = text.find("--"); at != std::string::npos; at = text.find("--", at + 2)) {
    size_t end = at + 2;
    while (end < text.size() && (islower(static_cast<unsigned char>(text[end])) ||
                                 isdigit(static_cast<unsigned char>(text[end])) || text[end] == '-'))
      ++end;
    if (end > at + 2) out.insert(text.substr(at + 2, end - at - 2));
    at = end - 2;
  }
  return out;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

struct Outcome {
  int rc;
  std::string out, err;
};

class RosterctlCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/rosterctl-commands-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    config_ = path;
  }
  void TearDown() override { unlink(config_.c_str()); }

  // rosterctl --config EMPTY ARGS..., its exit status and output.
  Outcome Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"rosterctl", "--config", config_});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    Outcome o;
    o.rc = RosterctlMain(static_cast<int>(args.size()), argv.data());
    std::cout.flush();
    o.out = testing::internal::GetCapturedStdout();
    o.err = testing::internal::GetCapturedStderr();
    return o;
  }

  std::string config_;
};

TEST_F(RosterctlCommands, EveryRowIsWhole) {
  std::set<std::string> value_options, flags;
  for (const Command& c : Commands()) {
    SCOPED_TRACE(Key(c));
    ASSERT_NE(c.group, nullptr);
    EXPECT_NE(*c.group, '\0');
    EXPECT_TRUE(c.verb == nullptr || *c.verb != '\0');
    EXPECT_NE(c.run, nullptr);
    ASSERT_NE(c.synopsis, nullptr);
    EXPECT_LE(c.min_args, c.max_args);
    // The synopsis names every option the row accepts, and no other but the global ones.
    std::set<std::string> declared(c.options.begin(), c.options.end());
    declared.insert(c.flags.begin(), c.flags.end());
    std::set<std::string> named = OptionsIn(c.synopsis);
    for (const std::string& o : declared) EXPECT_TRUE(named.count(o)) << "--" << o << " missing from the synopsis";
    for (const std::string& o : named)
      EXPECT_TRUE(declared.count(o) || kGlobal.count(o)) << "--" << o << " in the synopsis, not in the row";
    for (const std::string& o : declared) EXPECT_FALSE(kGlobal.count(o)) << "--" << o << " is global";
    value_options.insert(c.options.begin(), c.options.end());
    flags.insert(c.flags.begin(), c.flags.end());
  }
  // The command line is parsed before the command is known: a name is
  // either an option with a value or a flag, in every row.
  for (const std::string& f : flags) EXPECT_FALSE(value_options.count(f)) << "--" << f;
}

TEST_F(RosterctlCommands, NoCommandTwiceAndGroupsTogether) {
  std::set<std::string> seen, groups_done;
  std::map<std::string, bool> verbless;
  std::string current;
  for (const Command& c : Commands()) {
    EXPECT_TRUE(seen.insert(Key(c)).second) << Key(c) << " twice";
    // A group is either one command without a verb or verbs only.
    if (verbless.count(c.group)) {
      EXPECT_TRUE(!verbless[c.group] && c.verb) << Key(c);
    }
    verbless[c.group] = c.verb == nullptr;
    // A group's rows stand together (the usage text lists them so).
    if (current != c.group) {
      EXPECT_TRUE(groups_done.insert(c.group).second) << c.group << " is split";
      current = c.group;
    }
    EXPECT_EQ(FindCommand(c.group, c.verb), &c) << Key(c);
    EXPECT_TRUE(IsCommandGroup(c.group));
  }
  EXPECT_EQ(FindCommand("mailbox", "frob"), nullptr);
  EXPECT_EQ(FindCommand("mailbox", nullptr), nullptr);
  EXPECT_FALSE(IsCommandGroup("frob"));
}

// The verbs each line of a usage text lists, by group ("  domain
// enable|disable|show DOMAIN" lists three).
std::map<std::string, std::set<std::string>> VerbsIn(const std::string& usage) {
  std::map<std::string, std::set<std::string>> out;
  for (const std::string& line : Split(usage, '\n')) {
    if (line.size() < 3 || line.compare(0, 2, "  ") != 0 || line[2] == ' ') continue;
    std::vector<std::string> words = Split(line.substr(2), ' ');
    if (!IsCommandGroup(words[0])) continue;
    std::set<std::string>& verbs = out[words[0]];
    if (words.size() > 1 && FindCommand(words[0], nullptr) == nullptr)
      for (const std::string& v : Split(words[1], '|')) verbs.insert(v);
  }
  return out;
}

TEST_F(RosterctlCommands, UsageIsTheTable) {
  std::map<std::string, std::set<std::string>> want;
  for (const Command& c : Commands())
    if (c.verb) want[c.group].insert(c.verb);
    else want[c.group];
  auto listed = VerbsIn(UsageText());
  for (auto& [group, verbs] : want) {
    if (verbs.empty()) {
      EXPECT_TRUE(listed.count(group)) << group;
      continue;
    }
    EXPECT_EQ(listed[group], verbs) << group;
  }
  EXPECT_EQ(UsageText().rfind("usage: rosterctl [--config FILE] [--json] [--actor NAME] COMMAND ...\n\n", 0), 0u);
  EXPECT_NE(UsageText().find("  domain enable|disable|show DOMAIN\n"), std::string::npos) << UsageText();
  EXPECT_NE(UsageText().find("  mailbox add ADDRESS [--password-stdin | --hash-stdin] [--name TEXT] "
                             "[--department TEXT]\n                      [--quota SIZE]"),
            std::string::npos);
  EXPECT_NE(UsageText().find("  lastlogin [ADDRESS] [--limit N]\n"), std::string::npos);

  Outcome help = Run({"--help"});
  EXPECT_EQ(help.rc, EX_OK);
  EXPECT_EQ(help.out, UsageText());
  Outcome all = Run({"help"});
  EXPECT_EQ(all.rc, EX_OK);
  EXPECT_EQ(all.out, UsageText());
  for (auto& [group, verbs] : want) {
    Outcome one = Run({"help", group});
    EXPECT_EQ(one.rc, EX_OK) << group;
    EXPECT_EQ(one.out, UsageText(group));
    auto only = VerbsIn(one.out);
    EXPECT_EQ(only.size(), 1u) << one.out;
    EXPECT_EQ(only[group], verbs) << one.out;
  }
  Outcome unknown = Run({"help", "frob"});
  EXPECT_EQ(unknown.rc, EX_USAGE);
  EXPECT_EQ(unknown.err.rfind("rosterctl: unknown command 'frob'\n", 0), 0u) << unknown.err;
}

// rosterctl GROUP with a wrong or no verb: the error, and the group's verbs
// from the table (only its lines of the usage text).
TEST_F(RosterctlCommands, WrongVerbListsTheGroupsVerbs) {
  std::map<std::string, std::set<std::string>> want;
  for (const Command& c : Commands())
    if (c.verb) want[c.group].insert(c.verb);
  ASSERT_GE(want.size(), 10u);
  for (auto& [group, verbs] : want) {
    SCOPED_TRACE(group);
    Outcome wrong = Run({group, "frob", "x"});
    EXPECT_EQ(wrong.rc, EX_USAGE);
    EXPECT_EQ(wrong.out, "");
    EXPECT_EQ(wrong.err, "rosterctl: unknown " + group + " command 'frob'\n" + UsageText(group));
    auto listed = VerbsIn(wrong.err);
    EXPECT_EQ(listed.size(), 1u) << wrong.err;
    EXPECT_EQ(listed[group], verbs) << wrong.err;

    Outcome none = Run({group});
    EXPECT_EQ(none.rc, EX_USAGE);
    EXPECT_EQ(none.err, "rosterctl: missing " + group + " command\n" + UsageText(group));
  }
  Outcome unknown = Run({"frob"});
  EXPECT_EQ(unknown.rc, EX_USAGE);
  EXPECT_EQ(unknown.err, "rosterctl: unknown command 'frob'\n" + UsageText());
}

// The row's options and word counts are checked before its handler runs
// (nothing below reaches the database: the configuration is empty).
TEST_F(RosterctlCommands, RowChecksOptionsAndWords) {
  Outcome o = Run({"domain", "list", "--force"});
  EXPECT_EQ(o.rc, EX_USAGE);
  EXPECT_EQ(o.err.rfind("rosterctl: --force does not apply here\n", 0), 0u) << o.err;
  o = Run({"mailbox", "show", "a@b.test", "extra", "--force"});  // the word count wins
  EXPECT_EQ(o.err.rfind("rosterctl: unexpected argument 'extra'\n", 0), 0u) << o.err;
  o = Run({"api-key", "revoke", "ops"});
  EXPECT_EQ(o.err.rfind("rosterctl: missing argument\n", 0), 0u) << o.err;
  o = Run({"lastlogin", "a@b.test", "b@b.test"});
  EXPECT_EQ(o.err.rfind("rosterctl: unexpected argument 'b@b.test'\n", 0), 0u) << o.err;
  o = Run({"log", "--since"});
  EXPECT_EQ(o.err.rfind("rosterctl: --since needs a value\n", 0), 0u) << o.err;
  o = Run({"--bogus", "domain", "list"});
  EXPECT_EQ(o.err.rfind("rosterctl: unknown option --bogus\n", 0), 0u) << o.err;
}

// The commands of doc/rosterctl.1: the heading lines of its COMMANDS
// section (after .TP or .TQ), as "GROUP VERB|VERB ARGS...", with the
// options each mentions.
struct Manual {
  std::map<std::string, std::set<std::string>> options;  // "group verb" or "group" -> options
  std::set<std::string> groups;
};

Manual ReadManual() {
  const char* srcdir = getenv("srcdir");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/doc/rosterctl.1");
  Manual m;
  std::string line;
  bool in_commands = false, heading = false;
  while (std::getline(in, line)) {
    if (line.rfind(".SH", 0) == 0) in_commands = line == ".SH COMMANDS";
    if (!in_commands) continue;
    if (line == ".TP" || line == ".TQ") {
      heading = true;
      continue;
    }
    if (!heading) continue;
    heading = false;
    // Plain text from the man markup: fonts, escapes, macros, quotes.
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line.compare(i, 2, "\\f") == 0) {
        i += 2;
      } else if (line.compare(i, 2, "\\-") == 0) {
        text += '-';
        ++i;
      } else if (line.compare(i, 4, "\\(dq") == 0) {
        i += 3;
      } else if (line.compare(i, 2, "\\ ") == 0) {
        text += ' ';
        ++i;
      } else if (line[i] != '"') {
        text += line[i];
      }
    }
    for (const char* macro : {".BI ", ".BR ", ".B ", ".IR ", ".I "})
      if (text.rfind(macro, 0) == 0) text = text.substr(std::string(macro).size());
    std::vector<std::string> words;
    for (const std::string& w : Split(text, ' '))
      if (!w.empty()) words.push_back(w);
    if (words.empty()) continue;
    std::set<std::string> options = OptionsIn(text);
    m.groups.insert(words[0]);
    m.options[words[0]].insert(options.begin(), options.end());
    if (words.size() > 1)
      for (const std::string& verb : Split(words[1], '|'))
        m.options[words[0] + " " + verb].insert(options.begin(), options.end());
  }
  return m;
}

TEST_F(RosterctlCommands, ManualDocumentsEveryCommand) {
  Manual m = ReadManual();
  ASSERT_GE(m.groups.size(), 10u) << "doc/rosterctl.1 not found or not read (srcdir?)";
  for (const Command& c : Commands()) {
    SCOPED_TRACE(Key(c));
    auto it = m.options.find(Key(c));
    if (it == m.options.end()) {
      ADD_FAILURE() << Key(c) << " is not in doc/rosterctl.1 (a .TP heading of COMMANDS)";
      continue;
    }
    for (const std::vector<const char*>* list : {&c.options, &c.flags})
      for (const char* o : *list)
        EXPECT_TRUE(it->second.count(o)) << "--" << o << " of " << Key(c) << " not in its doc/rosterctl.1 heading";
  }
  // And the manual documents no command the table lacks.
  for (const auto& [key, options] : m.options) {
    std::vector<std::string> words = Split(key, ' ');
    EXPECT_TRUE(IsCommandGroup(words[0])) << key << " is in doc/rosterctl.1, not in the table";
    if (words.size() == 2 && FindCommand(words[0], nullptr) == nullptr) {
      EXPECT_NE(FindCommand(words[0], words[1].c_str()), nullptr) << key << " is in doc/rosterctl.1, not in the table";
    }
  }
}

}  // namespace
}  // namespace roster
