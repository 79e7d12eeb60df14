// roster-policyd: Postfix's policy service and lookup tables from roster's
// database (doc/roster-policyd.8). Reads its configuration, binds its
// sockets, drops to its own user, and serves until SIGTERM; SIGHUP reloads
// the configuration, keeping the old one if the new file is bad.
//
// Trusts: the configuration file (root's, or its own user's after the
// drop); nothing from clients (server.h).
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/privileges.h"
#include "common/text.h"
#include "policy/log.h"
#include "policy/server.h"
#include "policy/service.h"
#include "policy/settings.h"

namespace roster {
namespace {

constexpr char kDefaultConfig[] = ROSTER_CONFDIR "/roster-policyd.conf";

void Usage() {
  fprintf(stderr,
          "usage: roster-policyd [-c CONFIG] [-t] [-S policy|socketmap]\n"
          "  -c CONFIG  configuration file (default %s)\n"
          "  -t         check the configuration and exit\n"
          "  -S PROTO   serve one connection on standard input (Postfix spawn(8)) and exit\n",
          kDefaultConfig);
}

Result<PolicySettings> LoadSettings(const std::string& path) {
  auto config = Config::LoadFile(path);
  if (!config) return config.error();
  return PolicySettings::FromConfig(*config);
}

// The group of the unix sockets, or (gid_t)-1 to leave the daemon's own.
Result<gid_t> SocketGroup(const PolicySettings& settings) {
  bool unix_socket = false;
  for (const Listener& l : settings.listeners) unix_socket = unix_socket || !l.path.empty();
  if (settings.socket_group.empty() || !unix_socket) return static_cast<gid_t>(-1);
  struct group* gr = getgrnam(settings.socket_group.c_str());
  if (gr == nullptr)
    return Error::Invalid("policy_socket_group " + Shown(settings.socket_group) +
                          ": no such group (empty: the daemon's own group)");
  return gr->gr_gid;
}

// Every client connection takes a descriptor; the others are the
// listeners, a database connection per thread (two while a reload's
// requests finish on the old pool), stdio, syslog, Asio's epoll, eventfd
// and timers, name-service lookups. policy_max_connections is lowered so
// that clients alone never run the daemon out of descriptors; the line
// saying so is logged at start and at each reload that still needs it.
void FitDescriptorLimit(PolicySettings* settings, const PolicySettings& running, Logger& log) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  size_t reserved = running.listeners.size() + 2 * static_cast<size_t>(running.threads) + 32;
  size_t fits = limit.rlim_cur > reserved + 1 ? static_cast<size_t>(limit.rlim_cur) - reserved : 1;
  if (settings->max_connections <= fits) return;
  log.Warning("policy_max_connections " + std::to_string(settings->max_connections) + " lowered to " +
              std::to_string(fits) + ": the open-file limit (RLIMIT_NOFILE) is " + std::to_string(limit.rlim_cur) +
              ", " + std::to_string(reserved) + " kept for listeners, database connections and logs");
  settings->max_connections = fits;
}

// The settings a running daemon cannot change: a reload that changes them
// is applied in everything else, and says so.
std::string FixedChanges(const PolicySettings& old, const PolicySettings& fresh) {
  std::string changed;
  if (!(old.listeners == fresh.listeners)) changed += " listeners";
  if (old.socket_mode != fresh.socket_mode) changed += " policy_socket_mode";
  if (old.socket_group != fresh.socket_group) changed += " policy_socket_group";
  if (old.user != fresh.user) changed += " policy_user";
  if (old.log_to_syslog != fresh.log_to_syslog) changed += " policy_log";
  if (old.threads != fresh.threads) changed += " policy_threads";
  return changed;
}

int Run(int argc, char** argv) {
  std::string config_path = kDefaultConfig;
  bool check_only = false;
  std::string stdin_protocol;
  int opt;
  while ((opt = getopt(argc, argv, "c:tS:h")) != -1) {
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 't': check_only = true; break;
      case 'S': stdin_protocol = optarg; break;
      default: Usage(); return 2;
    }
  }
  if (optind != argc || (!stdin_protocol.empty() && stdin_protocol != "policy" && stdin_protocol != "socketmap")) {
    Usage();
    return 2;
  }
  // Passwords stay out of core dumps.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);

  auto settings = LoadSettings(config_path);
  if (!settings) {
    fprintf(stderr, "roster-policyd: %s: %s\n", config_path.c_str(), settings.error().message.c_str());
    return 1;
  }
  // Spawned by Postfix, it opens no socket of its own.
  auto socket_group = stdin_protocol.empty() ? SocketGroup(*settings) : Result<gid_t>(static_cast<gid_t>(-1));
  if (!socket_group) {
    fprintf(stderr, "roster-policyd: %s: %s\n", config_path.c_str(), socket_group.error().message.c_str());
    return 1;
  }
  if (check_only) {
    printf("%s: ok\n", config_path.c_str());
    return 0;
  }
  // Under spawn(8) stdout and stderr are the client's connection: log to syslog.
  Logger log(settings->log_to_syslog || !stdin_protocol.empty());
  asio::io_context io(settings->threads);
  if (stdin_protocol.empty()) FitDescriptorLimit(&*settings, *settings, log);
  const PolicySettings first = *settings;
  Server server(io, log, std::make_shared<Service>(std::move(*settings), &log));

  if (!stdin_protocol.empty()) {
    Status s = server.ServeDescriptor(0, stdin_protocol == "policy" ? Listener::Protocol::kPolicy
                                                                    : Listener::Protocol::kSocketmap);
    if (s.ok()) s = DropPrivileges(first.user, "policy_user");
    if (!s.ok()) {
      log.Error(s.error().message);
      return 1;
    }
    io.run();
    return 0;
  }

  Status bound = server.Bind(first.listeners, first.socket_mode, *socket_group);
  if (bound.ok()) bound = DropPrivileges(first.user, "policy_user");
  if (!bound.ok()) {
    log.Error(bound.error().message);
    return 1;
  }

  std::atomic<bool> abandoned{false};
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      auto fresh = LoadSettings(config_path);
      if (!fresh) {
        log.Error("reload: " + config_path + ": " + fresh.error().message + "; keeping the running configuration");
      } else {
        std::string fixed = FixedChanges(first, *fresh);
        if (!fixed.empty()) log.Warning("reload: changes to" + fixed + " take effect only after a restart");
        FitDescriptorLimit(&*fresh, first, log);
        server.Replace(std::make_shared<Service>(std::move(*fresh), &log));
        log.Info("reload: configuration reloaded from " + config_path);
      }
      signals.async_wait(on_signal);
      return;
    }
    log.Info("stopping on signal " + std::to_string(signo));
    // Connections that do not finish within the grace time are dropped.
    auto deadline = std::make_shared<asio::steady_timer>(io, std::chrono::seconds(10));
    deadline->async_wait([&io, &abandoned, deadline](const std::error_code& e) {
      if (e) return;
      abandoned = true;
      io.stop();
    });
    server.Drain([&io] { io.stop(); });
  };
  signals.async_wait(on_signal);

  server.Start();
  log.Info("started: " + std::to_string(first.threads) + " thread(s), at most " +
           std::to_string(first.max_connections) + " connection(s), " +
           std::to_string(first.max_connections_per_peer) + " per peer, cache ttl " +
           std::to_string(first.cache_ttl.count()) + " ms, relay window " +
           std::to_string(first.relay_window.count() / 1000) + " s");
  std::vector<std::thread> threads;
  for (int i = 1; i < first.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (abandoned) {
    // Connections still open hold handlers that refer to the server: leave
    // without destroying them (the kernel closes their sockets).
    log.Warning("stopped with connections that did not finish within the grace time");
    _exit(0);
  }
  log.Info("stopped");
  return 0;
}

}  // namespace
}  // namespace roster

int main(int argc, char** argv) {
  try {
    return roster::Run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "roster-policyd: fatal: %s\n", e.what());
    return 1;
  }
}
