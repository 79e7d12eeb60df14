// roster-apid: roster's administration service, an HTTP JSON API
// (doc/api.md, doc/roster-apid.8). Reads its configuration, binds its
// socket, drops to its own user, and serves until SIGTERM (then stops
// accepting and lets the requests under way finish, for at most 5 s); SIGHUP
// reloads the configuration (what can change without a restart, the
// per-request limits among it), keeping the old one if the new file is bad,
// and reads the web pages (api_web_root) again.
//
// Trusts: the configuration file (root's, or its own user's after the
// drop); nothing from clients (api/service.h, api/http_server.h).
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "api/openapi.h"
#include "api/service.h"
#include "api/settings.h"
#include "api/web_root.h"
#include "common/config.h"
#include "common/privileges.h"
#include "common/text.h"
#include "policy/log.h"

namespace roster {
namespace {

constexpr char kDefaultConfig[] = ROSTER_CONFDIR "/roster-apid.conf";
// On SIGTERM: how long the requests under way may take to finish.
constexpr std::chrono::seconds kDrain{5};

void Usage() {
  fprintf(stderr,
          "usage: roster-apid [-c CONFIG] [-t] [--openapi]\n"
          "  -c CONFIG  configuration file (default %s)\n"
          "  -t         check the configuration and exit\n"
          "  --openapi  print the OpenAPI document (doc/api.openapi.json) and exit\n",
          kDefaultConfig);
}

Result<ApiSettings> LoadSettings(const std::string& path) {
  auto config = Config::LoadFile(path);
  if (!config) return config.error();
  return ApiSettings::FromConfig(*config, path);
}

int Run(int argc, char** argv) {
  std::string config_path = kDefaultConfig;
  bool check_only = false, openapi = false;
  static const option kLong[] = {{"openapi", no_argument, nullptr, 'O'}, {nullptr, 0, nullptr, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "c:th", kLong, nullptr)) != -1) {
    switch (opt) {
      case 'c': config_path = optarg; break;
      case 't': check_only = true; break;
      case 'O': openapi = true; break;
      default: Usage(); return 2;
    }
  }
  if (optind != argc) {
    Usage();
    return 2;
  }
  if (openapi) {
    std::cout << OpenApiDocument().dump(2) << "\n";
    return 0;
  }
  // Passwords and session tokens stay out of core dumps.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);

  auto settings = LoadSettings(config_path);
  if (!settings) {
    fprintf(stderr, "roster-apid: %s: %s\n", config_path.c_str(), settings.error().message.c_str());
    return 1;
  }
  HttpListen where = settings->listen;
  if (!settings->socket_group.empty() && !where.unix_path.empty()) {
    struct group* gr = getgrnam(settings->socket_group.c_str());
    if (gr == nullptr) {
      fprintf(stderr, "roster-apid: %s: api_socket_group %s: no such group\n", config_path.c_str(),
              Shown(settings->socket_group).c_str());
      return 1;
    }
    where.unix_group = gr->gr_gid;
  }
  if (check_only) {
    // The daemon serves the API without its pages when they cannot be read:
    // said here, not refused.
    if (!settings->web_root.empty()) {
      auto web = WebRoot::Load(settings->web_root);
      if (!web) fprintf(stderr, "roster-apid: warning: %s: no web pages will be served\n", web.error().message.c_str());
    }
    printf("%s: ok\n", config_path.c_str());
    return 0;
  }
  Logger log(settings->log_to_syslog, "roster-apid");
  const bool tls = !settings->http.tls_cert_file.empty();
  auto listener = HttpListener::Open(where, tls);
  Status ready = listener ? DropPrivileges(settings->user, "api_user") : Status(listener.error());
  if (!ready) {
    log.Error(ready.error().message);
    return 1;
  }
  const std::string display = listener->Display();

  // SIGHUP, SIGTERM and SIGINT are taken by sigwait below: blocked before
  // any thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const ApiSettings first = *settings;
  ApiService service(std::move(*settings), &log);
  auto router = service.MakeRouter();
  if (!router) {
    log.Error("routes: " + router.error().message);
    return 1;
  }
  HttpServerOptions options = first.http;
  options.log = [&log](std::string_view line) { log.Warning(std::string(line)); };
  options.fallback = service.Pages();
  auto server = HttpServer::Start(std::move(options), std::move(*router), std::move(*listener));
  if (!server) {
    log.Error(server.error().message);
    return 1;
  }
  log.Info("started on " + display + (tls ? " (TLS)" : "") + ": " + std::to_string(first.http.threads) +
           " thread(s), at most " + std::to_string(first.http.max_connections) + " connection(s), " +
           std::to_string(first.http.max_connections_per_client) + " per client");
  for (;;) {
    int signo = 0;
    if (sigwait(&signals, &signo) != 0) continue;
    if (signo != SIGHUP) {
      log.Info("stopping on signal " + std::to_string(signo));
      break;
    }
    auto fresh = LoadSettings(config_path);
    if (!fresh) {
      log.Error("reload: " + config_path + ": " + fresh.error().message + "; keeping the running configuration");
      continue;
    }
    std::string fixed = FixedChanges(first, *fresh);
    if (!fixed.empty()) log.Warning("reload: changes to " + fixed + " take effect only after a restart");
    Status limits = (*server)->SetRequestLimits(fresh->http);  // bounded by the settings' own checks
    if (!limits) log.Error("reload: " + limits.error().message);
    service.Reload(std::move(*fresh));
    log.Info("reload: configuration reloaded from " + config_path);
  }
  // No new connection; the requests under way finish (for at most kDrain),
  // then every connection is closed and the threads joined.
  (*server)->Stop(kDrain);
  log.Info("stopped");
  return 0;
}

}  // namespace
}  // namespace roster

int main(int argc, char** argv) {
  try {
    return roster::Run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "roster-apid: fatal: %s\n", e.what());
    return 1;
  }
}
