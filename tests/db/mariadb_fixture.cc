// mariadb_fixture.cc: see mariadb_fixture.h.
#include "tests/db/mariadb_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#ifndef ROSTERCTL_PATH
#error ROSTERCTL_PATH must name the built rosterctl
#endif

namespace roster::test {

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input,
                         const std::vector<std::string>& extra_env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (const std::string& e : extra_env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty() && write(in[1], input.data(), input.size()) < 0) {
  }
  close(in[1]);
  CommandResult r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

MariaDb& MariaDb::Get() {
  static MariaDb* instance = new MariaDb();  // owned by gtest's environment list
  return *instance;
}

std::string MariaDb::Script() const {
  const char* srcdir = getenv("srcdir");
  return std::string(srcdir ? srcdir : ".") + "/tests/db/mariadb-private";
}

std::string MariaDb::RolePassword(DbRole role) { return std::string("test-") + DbRoleName(role) + "-pw'\"\\;"; }

void MariaDb::SetUp() {
  char tmpl[] = "/tmp/roster-db-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);
  auto started = RunCommand({"/bin/bash", Script(), "start", dir_ + "/mariadb"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  socket_ = dir_ + "/mariadb/run/mysqld.sock";

  config_path_ = dir_ + "/roster.conf";
  std::string secrets = dir_ + "/secrets.conf";
  {
    std::ofstream c(config_path_);
    c << "# test configuration\n"
      << "db_hosts = " << socket_ << "\n"
      << "db_name = roster\n"
      << "db_connect_timeout = 2s\n"
      << "db_read_timeout = 3s\n"
      << "db_write_timeout = 3s\n"
      << "password_argon2_memory = 8M\n"
      << "password_argon2_ops = 1\n"
      << "!include secrets.conf\n";
  }
  {
    std::ofstream s(secrets);
    for (DbRole r : {DbRole::kAuth, DbRole::kDict, DbRole::kPolicy, DbRole::kAdmin, DbRole::kApi})
      s << DbRoleName(r) << "_db_password = " << RolePassword(r) << "\n";
  }
  chmod(config_path_.c_str(), 0644);
  chmod(secrets.c_str(), 0600);
  auto config = Config::LoadFile(config_path_);
  ASSERT_TRUE(config.ok()) << config.error().message;
  config_ = std::make_unique<Config>(std::move(*config));

  auto init = Rosterctl({"db", "init"});
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
}

void MariaDb::TearDown() {
  if (dir_.empty()) return;
  RunCommand({"/bin/bash", Script(), "stop", dir_ + "/mariadb"});
  if (!getenv("ROSTER_KEEP_TEST_DIR")) RunCommand({"/bin/rm", "-rf", dir_});
}

std::unique_ptr<Db> MariaDb::Connect(DbRole role) const {
  auto settings = DbSettings::FromConfig(*config_, role);
  EXPECT_TRUE(settings.ok());
  return std::make_unique<Db>(std::move(*settings));
}

CommandResult MariaDb::Rosterctl(const std::vector<std::string>& args, const std::string& input,
                                 const std::vector<std::string>& extra_env) const {
  std::vector<std::string> argv = {ROSTERCTL_PATH, "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, input, extra_env);
}

void MariaDb::Truncate() const {
  auto db = Connect(DbRole::kAdmin);
  for (const char* sql : {"SET FOREIGN_KEY_CHECKS = 0", "TRUNCATE TABLE outbound_counter", "TRUNCATE TABLE last_login", "TRUNCATE TABLE mailbox_usage",
                          "TRUNCATE TABLE subscription", "TRUNCATE TABLE send_as", "TRUNCATE TABLE change_log", "TRUNCATE TABLE app_password",
                          "TRUNCATE TABLE login_history", "TRUNCATE TABLE mailbox_recovery", "TRUNCATE TABLE mailbox_application", "TRUNCATE TABLE api_key_domain", "TRUNCATE TABLE api_key",
                          "TRUNCATE TABLE admin_domain", "TRUNCATE TABLE admin_account", "TRUNCATE TABLE mailbox",
                          "TRUNCATE TABLE domain", "TRUNCATE TABLE unit", "SET FOREIGN_KEY_CHECKS = 1"}) {
    auto r = db->Execute(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().message;
  }
}

void MariaDb::Stop() { RunCommand({"/bin/bash", Script(), "stop", dir_ + "/mariadb"}); }

void MariaDb::Start() {
  auto started = RunCommand({"/bin/bash", Script(), "start", dir_ + "/mariadb"});
  EXPECT_EQ(started.exit_code, 0) << started.err;
}

static pid_t ServerPid(const std::string& dir) {
  std::ifstream f(dir + "/mariadb/run/mysqld.pid");
  pid_t pid = 0;
  f >> pid;
  return pid;
}

void MariaDb::Pause() {
  pid_t pid = ServerPid(dir_);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  // SIGSTOP is asynchronous: wait until the kernel shows the process stopped.
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    stat >> pid_field >> comm >> state;
    if (state == "T" || state == "t") return;
    usleep(10000);
  }
  FAIL() << "mariadbd " << pid << " did not stop";
}

void MariaDb::Resume() {
  pid_t pid = ServerPid(dir_);
  if (pid > 0) kill(pid, SIGCONT);
}

}  // namespace roster::test

// One server for every test in this binary.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(&roster::test::MariaDb::Get());
  return RUN_ALL_TESTS();
}
