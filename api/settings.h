// settings.h: roster-apid's configuration, read from roster.conf (the api_*
// keys of common/config_keys.cc, the database role's, and what the
// administration layer reads: ops::OpsSettings) and checked as a whole, so a
// reload either takes all of a new file or keeps all of the old one.
//
// Trusts: the config parser for types; checks the bounds and forms the types
// cannot (listen address, socket mode, proxies, ranges).
#ifndef ROSTER_API_SETTINGS_H
#define ROSTER_API_SETTINGS_H

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "common/db.h"
#include "common/result.h"
#include "ops/operations.h"

namespace roster {

class Config;

struct ApiSettings {
  // --- fixed at start (a reload that changes them says so in the log) ---
  HttpListen listen;                 // api_listen (unix_mode from api_socket_mode)
  std::string listen_text;           // as written, for messages
  std::string socket_group;          // "" = the daemon's own
  std::string user;                  // "" = stay
  bool log_to_syslog = true;
  // libmicrohttpd's options (api_threads, the limits, TLS, proxies): the
  // server is made with them at start.
  HttpServerOptions http;
  // --- reloadable ---
  bool log_requests = true;
  size_t max_sessions = 10000;
  std::chrono::seconds session_idle{1800};
  std::chrono::seconds session_lifetime{12 * 3600};
  std::string dovecot_auth_master;  // "" = no flush
  std::string web_root;             // api_web_root: "" = no pages; read again at each reload
  bool cookie_secure = true;        // api_cookie_secure
  DbSettings db;                    // the roster_api role; used from the next connection on
  ops::OpsSettings ops;  // with the sign-in throttle and lockout (api_client_*, api_lockout*)

  static Result<ApiSettings> FromConfig(const Config& config, const std::string& config_path);
};

// "unix:/path", "127.0.0.1:8080", "[::1]:8080" (any numeric address:port is
// read; HttpListener refuses one that is not loopback without TLS).
Result<HttpListen> ParseApiListen(std::string_view text);

// The settings a running daemon cannot change ("" if none changed): named in
// a reload's warning.
std::string FixedChanges(const ApiSettings& running, const ApiSettings& fresh);

}  // namespace roster

#endif  // ROSTER_API_SETTINGS_H
