// settings.cc: see settings.h.
#include "api/settings.h"

#include <pwd.h>

#include "common/config.h"
#include "common/ip.h"
#include "common/text.h"
#include "common/units.h"

namespace roster {

Result<HttpListen> ParseApiListen(std::string_view text) {
  HttpListen l;
  if (StartsWith(text, "unix:")) {
    l.unix_path = std::string(text.substr(5));
    if (l.unix_path.empty() || l.unix_path[0] != '/')
      return Error::Invalid("api_listen: the unix socket path must be absolute: " + Shown(text));
    if (l.unix_path.size() >= 108) return Error::Invalid("api_listen: unix socket path too long: " + Shown(text));
    return l;
  }
  std::string_view host, port;
  if (StartsWith(text, "[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Error::Invalid("api_listen: expected [v6addr]:port: " + Shown(text));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return Error::Invalid("api_listen must be unix:/path, address:port or [v6addr]:port: " + Shown(text));
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!PackIp(host).ok()) return Error::Invalid("api_listen: the address must be numeric: " + Shown(text));
  auto n = ParseCount(port);
  if (!n || *n == 0 || *n > 65535) return Error::Invalid("api_listen: bad port: " + Shown(text));
  l.address = std::string(host);
  l.port = static_cast<uint16_t>(*n);
  return l;
}

Result<ApiSettings> ApiSettings::FromConfig(const Config& config, const std::string& config_path) {
  ApiSettings s;
  s.listen_text = config.GetString("api_listen");
  auto listen = ParseApiListen(s.listen_text);
  if (!listen) return listen.error();
  s.listen = *listen;
  const std::string& mode = config.GetString("api_socket_mode");
  if (mode.empty() || mode.size() > 4 || mode.find_first_not_of("01234567") != std::string::npos)
    return Error::Invalid("api_socket_mode must be octal, like 0660: " + Shown(mode));
  s.listen.unix_mode = static_cast<mode_t>(std::stoul(mode, nullptr, 8));
  s.socket_group = config.GetString("api_socket_group");
  s.user = config.GetString("api_user");
  const std::string& log = config.GetString("api_log");
  if (log != "syslog" && log != "stderr") return Error::Invalid("api_log must be syslog or stderr");
  s.log_to_syslog = log == "syslog";
  s.log_requests = config.GetBool("api_log_requests");

  auto in_range = [&](const char* key, int64_t low, int64_t high) -> Result<int64_t> {
    int64_t v = config.GetInt(key);
    if (v < low || v > high)
      return Error::Invalid(std::string(key) + " must be " + std::to_string(low) + ".." + std::to_string(high));
    return v;
  };
  auto threads = in_range("api_threads", 1, 256);
  auto connections = in_range("api_max_connections", 1, 100000);
  auto per_client = in_range("api_max_connections_per_client", 1, 100000);
  auto headers = in_range("api_max_headers", 8, 1000);
  auto sessions = in_range("api_max_sessions", 1, 1000000);
  for (auto* r : {&threads, &connections, &per_client, &headers, &sessions})
    if (!*r) return r->error();
  auto size_in = [&](const char* key, uint64_t low, uint64_t high, const char* text) -> Result<uint64_t> {
    uint64_t v = config.GetSize(key);
    if (v < low || v > high) return Error::Invalid(std::string(key) + " must be " + text);
    return v;
  };
  auto body = size_in("api_max_body", 1024, 64u << 20, "1k..64M");
  if (!body) return body.error();
  auto header_bytes = size_in("api_max_header_bytes", 4096, 1u << 20, "4k..1M");
  if (!header_bytes) return header_bytes.error();
  auto duration_in = [&](const char* key, int64_t low_ms, int64_t high_ms, const char* text,
                         std::chrono::milliseconds* out) -> Status {
    *out = config.GetDuration(key);
    if (out->count() < low_ms || out->count() > high_ms) return Error::Invalid(std::string(key) + " must be " + text);
    return Status::Ok();
  };
  std::chrono::milliseconds request_timeout, idle, session_idle, lifetime;
  ROSTER_TRY(duration_in("api_request_timeout", 100, 3600000, "100ms..1h", &request_timeout));
  ROSTER_TRY(duration_in("api_idle_timeout", 1000, 3600000, "1s..1h", &idle));
  ROSTER_TRY(duration_in("api_session_idle", 60000, 86400000, "1m..24h", &session_idle));
  ROSTER_TRY(duration_in("api_session_lifetime", 60000, 30ll * 86400000, "1m..30d", &lifetime));

  HttpServerOptions& h = s.http;
  h.tls_cert_file = config.GetString("api_tls_cert");
  h.tls_key_file = config.GetString("api_tls_key");
  if (h.tls_cert_file.empty() != h.tls_key_file.empty())
    return Error::Invalid("api_tls_cert and api_tls_key go together: set both or neither");
  h.threads = static_cast<unsigned>(*threads);
  h.max_connections = static_cast<unsigned>(*connections);
  h.max_connections_per_client = static_cast<unsigned>(*per_client);
  h.max_body = *body;
  h.max_header_bytes = *header_bytes;
  h.max_headers = static_cast<unsigned>(*headers);
  h.request_timeout = request_timeout;
  h.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(idle);
  for (const std::string& proxy : config.GetList("api_trusted_proxies")) {
    if (StartsWith(proxy, "uid:")) {
      auto uid = ParseCount(std::string_view(proxy).substr(4));
      if (!uid || *uid > 0xfffffffeu) return Error::Invalid("api_trusted_proxies: bad uid: " + Shown(proxy));
      h.trusted_proxy_uids.push_back(static_cast<uid_t>(*uid));
    } else if (StartsWith(proxy, "user:")) {
      struct passwd* pw = getpwnam(proxy.c_str() + 5);
      if (pw == nullptr) return Error::Invalid("api_trusted_proxies: no such user: " + Shown(proxy));
      h.trusted_proxy_uids.push_back(pw->pw_uid);
    } else if (PackIp(proxy).ok()) {
      h.trusted_proxies.push_back(proxy);
    } else {
      return Error::Invalid("api_trusted_proxies: expected an IP address, user:NAME or uid:N: " + Shown(proxy));
    }
  }

  s.max_sessions = static_cast<size_t>(*sessions);
  s.session_idle = std::chrono::duration_cast<std::chrono::seconds>(session_idle);
  s.session_lifetime = std::chrono::duration_cast<std::chrono::seconds>(lifetime);
  s.dovecot_auth_master = config.GetString("dovecot_auth_master");
  s.web_root = config.GetString("api_web_root");
  if (!s.web_root.empty() && s.web_root[0] != '/')
    return Error::Invalid("api_web_root must be an absolute path (or empty: no pages): " + Shown(s.web_root));
  s.cookie_secure = config.GetBool("api_cookie_secure");
  auto db = DbSettings::FromConfig(config, DbRole::kApi);
  if (!db) return db.error();
  s.db = std::move(*db);
  auto ops = ops::OpsSettings::FromConfig(config, config_path);
  if (!ops) return ops.error();
  s.ops = std::move(*ops);
  return s;
}

std::string FixedChanges(const ApiSettings& a, const ApiSettings& b) {
  std::string changed;
  auto note = [&](bool differs, const char* key) {
    if (differs) changed += std::string(changed.empty() ? "" : " ") + key;
  };
  const HttpServerOptions &x = a.http, &y = b.http;
  note(a.listen_text != b.listen_text, "api_listen");
  note(a.listen.unix_mode != b.listen.unix_mode, "api_socket_mode");
  note(a.socket_group != b.socket_group, "api_socket_group");
  note(a.user != b.user, "api_user");
  note(a.log_to_syslog != b.log_to_syslog, "api_log");
  note(x.tls_cert_file != y.tls_cert_file || x.tls_key_file != y.tls_key_file, "api_tls_cert/api_tls_key");
  note(x.trusted_proxies != y.trusted_proxies || x.trusted_proxy_uids != y.trusted_proxy_uids,
       "api_trusted_proxies");
  note(x.threads != y.threads, "api_threads");
  note(x.max_connections != y.max_connections, "api_max_connections");
  note(x.max_connections_per_client != y.max_connections_per_client, "api_max_connections_per_client");
  // api_max_body, api_max_headers, api_request_timeout: HttpServer::SetRequestLimits.
  note(x.max_header_bytes != y.max_header_bytes, "api_max_header_bytes");
  note(x.idle_timeout != y.idle_timeout, "api_idle_timeout");
  return changed;
}

}  // namespace roster
