// http_server.cc: see http_server.h. The only file that knows libmicrohttpd.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/ip.h"
#include "common/text.h"

namespace roster {

using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ request, response

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

namespace {

// Every string of a parsed JSON value, zeroed in place.
void ZeroJsonStrings(Json& j) {
  if (j.is_string()) {
    std::string& text = j.get_ref<std::string&>();
    sodium_memzero(text.data(), text.size());
  } else if (j.is_structured()) {
    for (Json& member : j) ZeroJsonStrings(member);
  }
}

}  // namespace

void HttpRequest::Wipe() {
  sodium_memzero(body.data(), body.size());
  ZeroJsonStrings(json);
}

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [n, value] : query) {
    if (n == name) return &value;
  }
  return nullptr;
}

const std::string& HttpRequest::Param(std::string_view name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

HttpResponse HttpResponse::WithJson(int status, const Json& value) {
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(value);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view code, std::string_view message,
                                 std::string_view field) {
  Json inner = Json::object();
  inner["code"] = ValidUtf8(code);
  inner["message"] = ValidUtf8(message);
  inner["field"] = field.empty() ? Json(nullptr) : Json(ValidUtf8(field));
  Json outer = Json::object();
  outer["error"] = std::move(inner);
  return WithJson(status, outer);
}

HttpResponse HttpResponse::FromError(const roster::Error& error, std::string_view field) {
  if (field.empty()) field = error.field;  // the input field the error is about, if the layer below named one
  // The layer below's finer word for a refusal (Error::code), else the kind's.
  auto code = [&](std::string_view kind_word) -> std::string_view {
    return error.code.empty() ? kind_word : std::string_view(error.code);
  };
  switch (error.kind) {
    case ErrorKind::kForbidden: return Error(403, code("forbidden"), error.message, field);
    case ErrorKind::kUnauthenticated:
      return Error(401, "unauthenticated", error.message, field).AddHeader("WWW-Authenticate", "Bearer");
    case ErrorKind::kThrottled: {
      HttpResponse answer = Error(429, code("too_many_attempts"), error.message, field);
      if (error.retry_after > 0) answer.AddHeader("Retry-After", std::to_string(error.retry_after));
      return answer;
    }
    case ErrorKind::kNotFound: return Error(404, "not_found", error.message, field);
    case ErrorKind::kInvalid: return Error(400, code("invalid"), error.message, field);
    case ErrorKind::kConflict: return Error(409, code("conflict"), error.message, field);
    case ErrorKind::kTemporary:
      return Error(503, "unavailable", "temporarily unavailable, try again later", field).AddHeader("Retry-After", "5");
    case ErrorKind::kPermanent: break;
  }
  return Error(500, "internal", "internal error");
}

HttpResponse& HttpResponse::AddHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

// ------------------------------------------------------------------ ETags

std::string ETagFor(std::string_view representation) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(representation.data()), representation.size());
  static const char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (size_t i = 0; i < 16; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 15];
  }
  tag += '"';
  return tag;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a list header (If-Match, If-None-Match) names tag; weak ones only if allow_weak.
bool ListNames(std::string_view list, std::string_view tag, bool allow_weak) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item == "*") return true;
    bool weak = item.size() >= 2 && item[0] == 'W' && item[1] == '/';
    if (weak) {
      if (!allow_weak) continue;
      item.remove_prefix(2);
    }
    if (item == tag) return true;
  }
  return false;
}

}  // namespace

Precondition CheckIfMatch(const HttpRequest& request, std::string_view current_etag, bool required) {
  const std::string* if_match = request.Header("if-match");
  if (if_match == nullptr) return required ? Precondition::kRequired : Precondition::kMet;
  return ListNames(*if_match, current_etag, false) ? Precondition::kMet : Precondition::kFailed;
}

HttpResponse PreconditionResponse(Precondition p) {
  if (p == Precondition::kRequired) {
    return HttpResponse::Error(428, "precondition_required", "this change needs If-Match with the current ETag",
                               "If-Match");
  }
  return HttpResponse::Error(412, "precondition_failed", "the object changed since its ETag was read", "If-Match");
}

bool IfNoneMatchHits(const HttpRequest& request, std::string_view current_etag) {
  const std::string* h = request.Header("if-none-match");
  return h != nullptr && ListNames(*h, current_etag, true);
}

// ------------------------------------------------------------------ Router

namespace {

bool IsParam(const std::string& part) { return part.size() > 2 && part.front() == '{' && part.back() == '}'; }

}  // namespace

Result<Router> Router::Make(std::vector<Route> routes) {
  Router router;
  std::set<std::pair<std::string, std::string>> shapes;
  for (const Route& route : routes) {
    const std::string where = route.method + " " + route.pattern;
    if (route.method.empty() || !route.handler) return Error::Invalid(where + ": no method or no handler");
    if (route.pattern.empty() || route.pattern[0] != '/') return Error::Invalid(where + ": pattern is not a path");
    Compiled c;
    std::set<std::string> names;
    std::string shape;
    if (route.pattern != "/") {
      std::string_view rest = std::string_view(route.pattern).substr(1);
      while (true) {
        size_t slash = rest.find('/');
        std::string part(rest.substr(0, slash));
        if (part.empty()) return Error::Invalid(where + ": empty segment");
        if (IsParam(part)) {
          if (!names.insert(part).second) return Error::Invalid(where + ": " + part + " used twice");
          shape += "/{}";
        } else if (part.find_first_of("{}") != std::string::npos) {
          return Error::Invalid(where + ": a segment is a literal or a whole {name}");
        } else {
          shape += "/" + part;
        }
        c.parts.push_back(std::move(part));
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
      }
    }
    if (!shapes.emplace(route.method, shape).second) return Error::Invalid(where + ": given twice");
    router.compiled_.push_back(std::move(c));
  }
  router.routes_ = std::move(routes);
  return router;
}

Router::Match Router::Find(std::string_view method, const std::vector<std::string>& segments) const {
  // Among the routes whose pattern fits, the best has literals earliest
  // (compared segment by segment, a literal beating a {name}).
  Match best;
  std::vector<bool> best_key;
  std::vector<std::string> allowed;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const std::vector<std::string>& parts = compiled_[i].parts;
    if (parts.size() != segments.size()) continue;
    std::vector<bool> key;  // per segment: whether it is a {name}
    bool fits = true;
    for (size_t k = 0; k < parts.size() && fits; ++k) {
      bool param = IsParam(parts[k]);
      if (!param && parts[k] != segments[k]) fits = false;
      key.push_back(param);
    }
    if (!fits) continue;
    // HEAD is answered wherever GET is (the same handler; no body is sent).
    const bool head_of_get = method == "HEAD" && routes_[i].method == "GET";
    if (routes_[i].method != method && !head_of_get) {
      allowed.push_back(routes_[i].method);
      if (routes_[i].method == "GET") allowed.push_back("HEAD");
      continue;
    }
    if (best.route == nullptr || key < best_key) {
      best.route = &routes_[i];
      best_key = key;
    }
  }
  if (best.route != nullptr) {
    best.status = 200;
    const std::vector<std::string>& parts = compiled_[best.route - routes_.data()].parts;
    for (size_t k = 0; k < parts.size(); ++k) {
      if (IsParam(parts[k])) best.params[parts[k].substr(1, parts[k].size() - 2)] = segments[k];
    }
    return best;
  }
  if (!allowed.empty()) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    best.status = 405;
    for (const std::string& m : allowed) best.allow += (best.allow.empty() ? "" : ", ") + m;
  }
  return best;
}

// ------------------------------------------------------------------ HttpListener

namespace {

bool IsLoopback(std::string_view packed) {
  if (packed.size() == 4) return static_cast<unsigned char>(packed[0]) == 127;
  return packed == std::string(15, '\0') + '\1';
}

}  // namespace

Result<HttpListener> HttpListener::Open(const HttpListen& where, bool tls) {
  HttpListener l;
  if (!where.unix_path.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (where.unix_path.size() >= sizeof(addr.sun_path)) return Error::Invalid(where.unix_path + ": path too long");
    std::memcpy(addr.sun_path, where.unix_path.c_str(), where.unix_path.size() + 1);
    struct stat st;
    if (lstat(where.unix_path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return Error::Invalid(where.unix_path + ": exists and is not a socket");
      unlink(where.unix_path.c_str());
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error::Permanent(std::string("socket: ") + strerror(errno));
    l.fd_ = fd;
    // Made with no permission at all, then given its mode: never open wider
    // than asked, not even for a moment.
    mode_t old = umask(0777);
    int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int bind_errno = errno;
    umask(old);
    if (rc != 0) return Error::Permanent(where.unix_path + ": bind: " + strerror(bind_errno));
    l.unix_path_ = where.unix_path;
    if (where.unix_group && chown(where.unix_path.c_str(), static_cast<uid_t>(-1), *where.unix_group) != 0) {
      return Error::Permanent(where.unix_path + ": chown: " + strerror(errno));
    }
    if (chmod(where.unix_path.c_str(), where.unix_mode) != 0) {
      return Error::Permanent(where.unix_path + ": chmod: " + strerror(errno));
    }
    l.display_ = where.unix_path;
  } else {
    auto packed = PackIp(where.address);
    if (!packed.ok()) return Error::Invalid("listen address " + where.address + ": not an IP address");
    if (!IsLoopback(*packed) && !tls) {
      return Error::Invalid("listen address " + where.address +
                            ": not loopback; without the built-in TLS only 127.0.0.0/8 and ::1 (put a TLS proxy "
                            "in front, or configure the certificate and key)");
    }
    sockaddr_storage storage{};
    socklen_t len;
    int family;
    if (packed->size() == 4) {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = family = AF_INET;
      in->sin_port = htons(where.port);
      std::memcpy(&in->sin_addr, packed->data(), 4);
      len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = family = AF_INET6;
      in6->sin6_port = htons(where.port);
      std::memcpy(&in6->sin6_addr, packed->data(), 16);
      len = sizeof(sockaddr_in6);
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error::Permanent(std::string("socket: ") + strerror(errno));
    l.fd_ = fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    std::string text = family == AF_INET6 ? "[" + UnpackIp(*packed) + "]" : UnpackIp(*packed);
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0) {
      return Error::Permanent(text + ":" + std::to_string(where.port) + ": bind: " + strerror(errno));
    }
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
      l.port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
    }
    l.display_ = text + ":" + std::to_string(l.port_);
  }
  if (listen(l.fd_, 128) != 0) return Error::Permanent(l.display_ + ": listen: " + strerror(errno));
  return l;
}

HttpListener::HttpListener(HttpListener&& other) noexcept { *this = std::move(other); }

HttpListener& HttpListener::operator=(HttpListener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    if (!unix_path_.empty()) unlink(unix_path_.c_str());
    fd_ = std::exchange(other.fd_, -1);
    unix_path_ = std::exchange(other.unix_path_, "");
    port_ = other.port_;
    display_ = std::move(other.display_);
  }
  return *this;
}

HttpListener::~HttpListener() {
  if (fd_ >= 0) close(fd_);
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

std::string HttpListener::Display() const { return display_; }

int HttpListener::Release() { return std::exchange(fd_, -1); }

// ------------------------------------------------------------------ the server

namespace {

// One TCP connection (libmicrohttpd's socket context).
struct Conn {
  int fd = -1;
  std::string peer;  // "127.0.0.1", "::1", "unix:uid=N"
  std::string key;   // whom the per-client cap counts: the address, or "uid:N"
  bool trusted_proxy = false;
  bool counted = false;  // counted against its client's cap
  // Guarded by Impl::mu:
  Clock::time_point deadline;  // until when its current request may take to arrive
  bool busy = false;           // its request is read whole: being answered
  bool cut = false;            // the watchdog shut it down
};

// One request (libmicrohttpd's request context), made when the request line
// has arrived.
struct RequestState {
  Conn* conn = nullptr;
  bool started = false;    // the first call (headers complete) is done
  bool answered = false;   // an answer is queued already (an early refusal)
  bool too_large = false;  // the body passed max_body: what follows is dropped
  size_t max_body = 0;     // the limit when the request started (SetRequestLimits)
  const Route* route = nullptr;  // null: the fallback answers (a GET or HEAD no route takes)
  HttpRequest request;
};


// Appends to a body without leaving a copy of its start in freed memory:
// the string grows into a buffer of its own, and the old one is wiped.
void AppendWiping(std::string& body, const char* data, size_t size) {
  if (body.size() + size > body.capacity()) {
    std::string bigger;
    bigger.reserve(std::max(body.capacity() * 2, body.size() + size));
    bigger.append(body);
    sodium_memzero(body.data(), body.size());
    body.swap(bigger);
  }
  body.append(data, size);
}

// What a client past its connection cap is told, written straight to the socket.
const std::string& CutResponse() {
  static const std::string text = [] {
    std::string body =
        HttpResponse::Error(503, "too_many_connections", "too many connections from this client").body;
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
           "Retry-After: 1\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return text;
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Router router;
  HttpListener listener;  // its socket belongs to libmicrohttpd once started; kept to remove the unix path
  bool tls = false;
  std::string cert, key;  // PEM, alive as long as the daemon
  std::set<std::string> trusted_packed;
  MHD_Daemon* daemon = nullptr;

  // The per-request limits, changed at run time (SetRequestLimits): each
  // request reads them once, when it starts; options' copies are not used.
  std::atomic<size_t> max_body;
  std::atomic<unsigned> max_headers;
  std::atomic<int64_t> request_timeout_ms;
  std::atomic<bool> draining{false};  // Stop's drain: answers say Connection: close
  // Stop's, on its thread only:
  bool quiesced = false;
  int quiesced_fd = -1;

  std::mutex mu;
  std::condition_variable wake;
  std::condition_variable idle;  // notified when requests_in_flight falls to 0
  // Guarded by mu:
  std::unordered_map<MHD_Connection*, Conn*> conns;
  std::map<std::string, unsigned> per_client;
  unsigned requests_in_flight = 0;  // from the request line to the answer written (or the connection gone)
  bool stopping = false;
  std::thread watchdog;

  Impl(HttpServerOptions o, Router r, HttpListener l)
      : options(std::move(o)), router(std::move(r)), listener(std::move(l)),
        max_body(options.max_body), max_headers(options.max_headers),
        request_timeout_ms(options.request_timeout.count()) {}

  std::chrono::milliseconds RequestTimeout() const { return std::chrono::milliseconds(request_timeout_ms.load()); }

  void Log(const std::string& line) {
    if (!options.log) return;
    try {
      options.log(line);
    } catch (...) {
    }
  }

  void Watch();
  void ConnectionStarted(MHD_Connection* connection, void** socket_context);
  void ConnectionClosed(void** socket_context);
  MHD_Result Access(MHD_Connection* connection, const char* method, const char* upload_data,
                    size_t* upload_data_size, void** req_cls);
  MHD_Result Respond(MHD_Connection* connection, RequestState* state, const HttpResponse& response);
  MHD_Result RespondError(MHD_Connection* connection, RequestState* state, int status, std::string_view code,
                          std::string_view message, std::string_view field = {}) {
    return Respond(connection, state, HttpResponse::Error(status, code, message, field));
  }
  // The checks on the request line and the headers, before any of the body is read.
  MHD_Result Begin(MHD_Connection* connection, RequestState* state, const char* method);
  // The whole request has arrived.
  MHD_Result Finish(MHD_Connection* connection, RequestState* state);
};

void HttpServer::Impl::Watch() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    auto tick = std::clamp(RequestTimeout() / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    wake.wait_for(lock, tick);
    Clock::time_point now = Clock::now();
    for (auto& [connection, conn] : conns) {
      if (conn->busy || conn->cut || now < conn->deadline) continue;
      // libmicrohttpd reports the connection closed (and removes it from this
      // table, under mu) before it closes the descriptor: fd is still ours to shut.
      conn->cut = true;
      Log("http: cut a connection from " + conn->peer + ": its request did not arrive within " +
          std::to_string(request_timeout_ms.load()) + " ms");
      shutdown(conn->fd, SHUT_RDWR);
    }
  }
}

void HttpServer::Impl::ConnectionStarted(MHD_Connection* connection, void** socket_context) {
  auto conn = std::make_unique<Conn>();
  // Each answer of MHD_get_connection_info lives in one buffer per connection
  // (libmicrohttpd 1.0 reuses it for the next question): copy it out at once.
  const MHD_ConnectionInfo* fd_info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  conn->fd = fd_info != nullptr ? fd_info->connect_fd : -1;
  const MHD_ConnectionInfo* addr_info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const sockaddr* addr = addr_info != nullptr ? addr_info->client_addr : nullptr;
  if (addr != nullptr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
    std::string packed = addr->sa_family == AF_INET
                             ? std::string(reinterpret_cast<const char*>(
                                               &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr),
                                           4)
                             : std::string(reinterpret_cast<const char*>(
                                               &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr),
                                           16);
    // An IPv4-mapped IPv6 peer counts as its IPv4 address.
    if (auto canonical = PackIp(UnpackIp(packed)); canonical.ok()) packed = *canonical;
    conn->peer = UnpackIp(packed);
    conn->key = conn->peer;
    conn->trusted_proxy = trusted_packed.count(packed) > 0;
  } else {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (conn->fd >= 0 && getsockopt(conn->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      conn->peer = "unix:uid=" + std::to_string(cred.uid);
      conn->key = "uid:" + std::to_string(cred.uid);
      conn->trusted_proxy = std::find(options.trusted_proxy_uids.begin(), options.trusted_proxy_uids.end(),
                                      cred.uid) != options.trusted_proxy_uids.end();
    } else {
      conn->peer = "unix";
      conn->key = "unix";
    }
  }
  bool refuse = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    unsigned& count = per_client[conn->key];
    if (count >= options.max_connections_per_client) {
      refuse = true;
      if (count == 0) per_client.erase(conn->key);
    } else {
      ++count;
      conn->counted = true;
    }
    conn->deadline = Clock::now() + RequestTimeout();
    conns[connection] = conn.get();
  }
  if (refuse && conn->fd >= 0) {
    // Nothing read from it yet; a plain-text client is told why.
    if (!tls) (void)!send(conn->fd, CutResponse().data(), CutResponse().size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    Log("http: refused a connection from " + conn->peer + ": it has " +
        std::to_string(options.max_connections_per_client) + " open");
    shutdown(conn->fd, SHUT_RDWR);
  }
  *socket_context = conn.release();
}

void HttpServer::Impl::ConnectionClosed(void** socket_context) {
  auto* conn = static_cast<Conn*>(*socket_context);
  if (conn == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = conns.begin(); it != conns.end(); ++it) {
      if (it->second == conn) {
        conns.erase(it);
        break;
      }
    }
    if (conn->counted) {
      auto it = per_client.find(conn->key);
      if (it != per_client.end() && --it->second == 0) per_client.erase(it);
    }
  }
  delete conn;
  *socket_context = nullptr;
}

namespace {

// On every answer, API and pages alike; an answer that sets one of these
// names itself (a page's Cache-Control) keeps its own. The policy lets a page
// load scripts, styles, images and API answers from its own origin only, and
// nothing inline: no script a value could smuggle into a page would run.
const char* const kSecurityHeaders[][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Cache-Control", "no-store"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, size_t key_size, const char* value,
                         size_t value_size) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  headers->emplace_back(AsciiLower(std::string_view(key, key_size)), std::string(value, value_size));
  return MHD_YES;
}

// "application/json", optionally with "; charset=utf-8".
bool IsJsonContentType(std::string_view value) {
  size_t semicolon = value.find(';');
  if (!EqualsIgnoreCase(Trim(value.substr(0, semicolon)), "application/json")) return false;
  while (semicolon != std::string_view::npos) {
    value = value.substr(semicolon + 1);
    semicolon = value.find(';');
    std::string_view param = Trim(value.substr(0, semicolon));
    if (param.empty()) continue;
    size_t equals = param.find('=');
    if (equals == std::string_view::npos) return false;
    if (!EqualsIgnoreCase(Trim(param.substr(0, equals)), "charset")) return false;
    std::string_view charset = Trim(param.substr(equals + 1));
    if (!EqualsIgnoreCase(charset, "utf-8") && !EqualsIgnoreCase(charset, "\"utf-8\"")) return false;
  }
  return true;
}

}  // namespace

MHD_Result HttpServer::Impl::Respond(MHD_Connection* connection, RequestState* state, const HttpResponse& r) {
  state->answered = true;
  MHD_Response* response =
      MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  if (!r.body.empty() && !r.content_type.empty()) {
    MHD_add_response_header(response, "Content-Type", r.content_type.c_str());
  }
  for (const auto& h : kSecurityHeaders) {
    bool own = false;
    for (const auto& [name, value] : r.headers) own = own || EqualsIgnoreCase(name, h[0]);
    if (!own) MHD_add_response_header(response, h[0], h[1]);
  }
  if (tls) MHD_add_response_header(response, "Strict-Transport-Security", "max-age=31536000");
  for (const auto& [name, value] : r.headers) MHD_add_response_header(response, name.c_str(), value.c_str());
  // Draining: the connection ends with this answer (no next request on it).
  if (draining.load()) MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_Result rc = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return rc;
}

MHD_Result HttpServer::Impl::Begin(MHD_Connection* connection, RequestState* state, const char* method) {
  HttpRequest& req = state->request;
  req.method = method;
  state->max_body = max_body.load();
  const unsigned header_limit = max_headers.load();
  MHD_get_connection_values_n(connection, MHD_HEADER_KIND, CollectHeader, &req.headers);
  if (req.headers.size() > header_limit) {
    return RespondError(connection, state, 431, "headers_too_large",
                        "more than " + std::to_string(header_limit) + " header fields");
  }
  auto target = ParseRequestTarget(req.target, options.target);
  if (!target.ok()) return RespondError(connection, state, 400, "bad_target", target.error().message);
  req.segments = std::move(target->segments);
  req.query = std::move(target->query);

  // Who asks.
  req.client = state->conn != nullptr ? state->conn->peer : "unknown";
  if (state->conn != nullptr && state->conn->trusted_proxy) {
    const std::string* last = nullptr;
    for (const auto& [name, value] : req.headers) {
      if (name == "x-forwarded-for") last = &value;
    }
    if (last != nullptr) {
      std::string_view list = *last;
      size_t comma = list.rfind(',');
      std::string_view hop = Trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      auto packed = PackIp(hop);
      if (!packed.ok()) {
        return RespondError(connection, state, 400, "bad_forwarded_for",
                            "the proxy's X-Forwarded-For does not end in an IP address", "X-Forwarded-For");
      }
      req.client = UnpackIp(*packed);
    }
  }

  Router::Match match = router.Find(req.method, req.segments);
  const bool fallback = match.status == 404 && options.fallback && (req.method == "GET" || req.method == "HEAD");
  if (match.status == 404 && !fallback) return RespondError(connection, state, 404, "not_found", "no such resource");
  if (match.status == 405) {
    HttpResponse r = HttpResponse::Error(405, "method_not_allowed", "the resource does not take " + req.method);
    r.AddHeader("Allow", match.allow);
    return Respond(connection, state, r);
  }
  state->route = match.route;
  req.params = std::move(match.params);

  const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length != nullptr) {
    errno = 0;
    char* end = nullptr;
    unsigned long long n = strtoull(length, &end, 10);
    if (errno != 0 || end == length || n > state->max_body) {
      return RespondError(connection, state, 413, "body_too_large",
                          "the body is larger than " + std::to_string(state->max_body) + " bytes");
    }
    req.body.reserve(static_cast<size_t>(n));  // one buffer: no copy left behind as it grows
  }
  if (state->route != nullptr && state->route->body == HttpBody::kJson) {
    const std::string* type = req.Header("content-type");
    if (type == nullptr || !IsJsonContentType(*type)) {
      return RespondError(connection, state, 415, "unsupported_media_type",
                          "the body must be application/json", "Content-Type");
    }
  }
  return MHD_YES;
}

MHD_Result HttpServer::Impl::Finish(MHD_Connection* connection, RequestState* state) {
  if (state->conn != nullptr) {
    std::lock_guard<std::mutex> lock(mu);
    state->conn->busy = true;
  }
  if (state->too_large) {
    return RespondError(connection, state, 413, "body_too_large",
                        "the body is larger than " + std::to_string(state->max_body) + " bytes");
  }
  HttpRequest& req = state->request;
  if (state->route != nullptr && state->route->body == HttpBody::kJson) {
    JsonLimits limits = options.json;
    limits.max_bytes = state->max_body;
    auto json = ParseJson(req.body, limits);
    if (!json.ok()) return RespondError(connection, state, 400, "malformed_json", json.error().message);
    req.json = std::move(*json);
  }
  HttpResponse response;
  try {
    response = state->route != nullptr ? state->route->handler(req) : options.fallback(req);
  } catch (const std::exception& e) {
    Log("http: " + req.method + " " + req.target + " from " + req.client + ": the handler threw: " + e.what());
    response = HttpResponse::Error(500, "internal", "internal error");
  } catch (...) {
    Log("http: " + req.method + " " + req.target + " from " + req.client + ": the handler threw");
    response = HttpResponse::Error(500, "internal", "internal error");
  }
  req.Wipe();  // the handler has what it needed
  if (response.status < 100 || response.status > 599) {
    Log("http: " + req.method + " " + req.target + ": the handler answered status " +
        std::to_string(response.status));
    response = HttpResponse::Error(500, "internal", "internal error");
  }
  return Respond(connection, state, response);
}

MHD_Result HttpServer::Impl::Access(MHD_Connection* connection, const char* method, const char* upload_data,
                                    size_t* upload_data_size, void** req_cls) {
  auto* state = static_cast<RequestState*>(*req_cls);
  if (state == nullptr) return MHD_NO;  // the URI callback makes it; never absent
  if (state->answered) {
    *upload_data_size = 0;  // a refusal is on its way: drop the rest
    return MHD_YES;
  }
  if (!state->started) {
    state->started = true;
    return Begin(connection, state, method);
  }
  if (*upload_data_size > 0) {
    if (!state->too_large) {
      std::string& body = state->request.body;
      if (body.size() + *upload_data_size > state->max_body) {
        state->too_large = true;
        sodium_memzero(body.data(), body.size());
        std::string().swap(body);
      } else {
        AppendWiping(body, upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  return Finish(connection, state);
}

namespace {

// libmicrohttpd's callbacks: C, so nothing may throw through them.

void* OnUri(void* cls, const char* uri, MHD_Connection* connection) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  try {
    auto* state = new RequestState;
    state->request.target = uri != nullptr ? uri : "";
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    state->conn = info != nullptr ? static_cast<Conn*>(info->socket_context) : nullptr;
    // Counted until OnCompleted, which libmicrohttpd calls for every request
    // this callback saw (whatever becomes of it).
    std::lock_guard<std::mutex> lock(impl->mu);
    ++impl->requests_in_flight;
    return state;
  } catch (...) {
    return nullptr;
  }
}

MHD_Result OnAccess(void* cls, MHD_Connection* connection, const char* /*url*/, const char* method,
                    const char* /*version*/, const char* upload_data, size_t* upload_data_size, void** req_cls) {
  try {
    return static_cast<HttpServer::Impl*>(cls)->Access(connection, method, upload_data, upload_data_size, req_cls);
  } catch (...) {
    return MHD_NO;  // out of memory: drop the connection
  }
}

void OnCompleted(void* cls, MHD_Connection*, void** req_cls, MHD_RequestTerminationCode) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  auto* state = static_cast<RequestState*>(*req_cls);
  if (state == nullptr) return;
  state->request.Wipe();  // cut mid-body, or refused early: wiped all the same
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (state->conn != nullptr) {
      state->conn->busy = false;
      state->conn->deadline = Clock::now() + impl->RequestTimeout();
    }
    if (impl->requests_in_flight > 0 && --impl->requests_in_flight == 0) impl->idle.notify_all();
  }
  delete state;
  *req_cls = nullptr;
}

void OnConnection(void* cls, MHD_Connection* connection, void** socket_context, MHD_ConnectionNotificationCode code) {
  auto* impl = static_cast<HttpServer::Impl*>(cls);
  try {
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      impl->ConnectionStarted(connection, socket_context);
    } else {
      impl->ConnectionClosed(socket_context);
    }
  } catch (...) {
  }
}

void OnLog(void* cls, const char* format, va_list ap) {
  char buffer[512];
  vsnprintf(buffer, sizeof(buffer), format, ap);
  std::string line = buffer;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  try {
    static_cast<HttpServer::Impl*>(cls)->Log("http: libmicrohttpd: " + line);
  } catch (...) {
  }
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid(path + ": cannot be read");
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > (1 << 20)) return Error::Invalid(path + ": larger than 1 MiB");
  }
  if (text.empty()) return Error::Invalid(path + ": empty");
  return text;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options, Router router,
                                                      HttpListener listener) {
  if (options.threads == 0 || options.max_connections == 0 || options.max_connections_per_client == 0) {
    return Error::Invalid("threads and connection caps must be at least 1");
  }
  if (options.idle_timeout.count() < 1) return Error::Invalid("idle timeout under a second");
  if (options.request_timeout.count() < 1) return Error::Invalid("request timeout of 0");
  if (options.max_headers == 0) return Error::Invalid("max_headers of 0");
  if (listener.fd() < 0) return Error::Invalid("no listening socket");
  bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    return Error::Invalid("TLS needs both a certificate and a key file");
  }

  std::unique_ptr<HttpServer> server(new HttpServer);
  server->impl_ = std::make_unique<Impl>(std::move(options), std::move(router), std::move(listener));
  Impl* impl = server->impl_.get();
  impl->tls = tls;
  for (const std::string& proxy : impl->options.trusted_proxies) {
    auto packed = PackIp(proxy);
    if (!packed.ok()) return Error::Invalid("trusted proxy " + proxy + ": not an IP address");
    impl->trusted_packed.insert(*packed);
  }
  // MHD_USE_ITC: what MHD_quiesce_daemon needs to stop accepting (Stop's drain).
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
  if (tls) {
    auto cert = ReadSmallFile(impl->options.tls_cert_file);
    if (!cert.ok()) return cert.error();
    auto key = ReadSmallFile(impl->options.tls_key_file);
    if (!key.ok()) return key.error();
    impl->cert = std::move(*cert);
    impl->key = std::move(*key);
    flags |= MHD_USE_TLS;
  }
  server->port_ = impl->listener.port();
  server->tls_ = tls;
  int fd = impl->listener.fd();
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&OnLog), impl},  // first, to catch all
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(impl->options.max_connections), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(impl->options.idle_timeout.count()), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(impl->options.max_header_bytes), nullptr},
      {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&OnUri), impl},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&OnCompleted), impl},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&OnConnection), impl},
#if MHD_VERSION >= 0x01000000
      {MHD_OPTION_CLIENT_DISCIPLINE_LVL, 1, nullptr},
#else
      {MHD_OPTION_STRICT_FOR_CLIENT, 1, nullptr},
#endif
  };
  if (impl->options.threads > 1) {
    opts.push_back({MHD_OPTION_THREAD_POOL_SIZE, static_cast<intptr_t>(impl->options.threads), nullptr});
  }
  if (tls) {
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(impl->cert.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(impl->key.c_str())});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  impl->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &OnAccess, impl, MHD_OPTION_ARRAY, opts.data(),
                                  MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    return Error::Permanent("libmicrohttpd did not start on " + impl->listener.Display() +
                            (tls ? " (check the certificate and key)" : ""));
  }
  impl->listener.Release();  // libmicrohttpd closes it when it stops
  impl->watchdog = std::thread([impl] { impl->Watch(); });
  return server;
}

Status HttpServer::SetRequestLimits(const HttpServerOptions& limits) {
  if (limits.request_timeout.count() < 1) return Error::Invalid("request timeout of 0");
  if (limits.max_headers == 0) return Error::Invalid("max_headers of 0");
  impl_->max_body = limits.max_body;
  impl_->max_headers = limits.max_headers;
  impl_->request_timeout_ms = limits.request_timeout.count();
  impl_->wake.notify_all();  // the watchdog's tick follows the timeout
  return Status::Ok();
}

void HttpServer::Stop(std::chrono::milliseconds drain) {
  if (impl_ == nullptr) return;
  if (drain.count() > 0 && impl_->daemon != nullptr && !impl_->quiesced) {
    // No new connection; the requests under way (read, handled, or their
    // answers being written) finish, for at most `drain`. The watchdog still
    // cuts a request that does not arrive in time.
    impl_->draining = true;
    impl_->quiesced = true;
    MHD_socket listen_fd = MHD_quiesce_daemon(impl_->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) impl_->quiesced_fd = listen_fd;
    std::unique_lock<std::mutex> lock(impl_->mu);
    if (impl_->requests_in_flight > 0)
      impl_->Log("http: stopping: " + std::to_string(impl_->requests_in_flight) +
                 " request(s) under way, waiting at most " + std::to_string(drain.count()) + " ms");
    if (!impl_->idle.wait_for(lock, drain, [&] { return impl_->requests_in_flight == 0; }))
      impl_->Log("http: stopping with " + std::to_string(impl_->requests_in_flight) +
                 " request(s) still under way after " + std::to_string(drain.count()) + " ms");
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
  if (impl_->daemon != nullptr) {
    MHD_stop_daemon(impl_->daemon);  // closes every connection: ConnectionClosed for each
    impl_->daemon = nullptr;
  }
  // A quiesced daemon gave its listening socket back: ours to close, after
  // MHD_stop_daemon (a pool thread may still have looked at it until then).
  if (impl_->quiesced_fd >= 0) {
    close(impl_->quiesced_fd);
    impl_->quiesced_fd = -1;
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& [connection, conn] : impl_->conns) delete conn;
  impl_->conns.clear();
  if (!impl_->key.empty()) sodium_memzero(impl_->key.data(), impl_->key.size());
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace roster
