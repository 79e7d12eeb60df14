// mariadb_fixture.h: one private MariaDB server for the whole db_tests run
// (tests/db/mariadb-private under a temporary directory), with roster's
// schema and roles created by the real `rosterctl db init`, and helpers to run
// rosterctl and to connect as any role. Everything is removed at the end.
#ifndef ROSTER_TESTS_DB_MARIADB_FIXTURE_H
#define ROSTER_TESTS_DB_MARIADB_FIXTURE_H

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/db.h"

namespace roster::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with argv, feeding `input` on stdin, without a shell.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::vector<std::string>& extra_env = {});

class MariaDb : public ::testing::Environment {
 public:
  static MariaDb& Get();

  void SetUp() override;
  void TearDown() override;

  const std::string& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }
  const std::string& config_path() const { return config_path_; }
  const Config& config() const { return *config_; }

  // The password every role gets in the test config.
  static std::string RolePassword(DbRole role);

  // A Db connected as `role` (settings from the test config).
  std::unique_ptr<Db> Connect(DbRole role) const;
  // rosterctl --config <test config> args...
  CommandResult Rosterctl(const std::vector<std::string>& args, const std::string& input = "",
                          const std::vector<std::string>& extra_env = {}) const;
  // Deletes every row (keeps schema and roles).
  void Truncate() const;

  void Stop();   // SIGTERM and wait
  void Start();  // same data directory
  void Pause();  // SIGSTOP: a hung server
  void Resume();

 private:
  std::string Script() const;
  std::string dir_, socket_, config_path_;
  std::unique_ptr<Config> config_;
};

}  // namespace roster::test

#endif
