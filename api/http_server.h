// http_server.h: roster-apid's one HTTP layer, a small class over GNU
// libmicrohttpd (Debian's libmicrohttpd-dev): a listener on a unix socket or a
// loopback TCP address (any other address only with the built-in TLS), a pool
// of threads with a bounded number of connections, every request bounded
// (target, headers, body, time), routing by a table of data, JSON answers and
// JSON errors of one shape, ETag/If-Match helpers and security headers on every
// answer (the strict Content-Security-Policy of the web pages, doc/web.md, no
// framing, no sniffing, no referrer, Cache-Control: no-store unless the answer
// sets its own), and a fallback handler for the GET and HEAD requests no route
// takes (roster-apid's web pages). No other file of roster knows libmicrohttpd.
//
// Error answers all have the body {"error":{"code":C,"message":M,"field":F}}:
// C a stable machine-readable word ("not_found", "malformed_json", ...), M a
// sentence for a human, F the offending field or parameter, or null. Statuses
// the layer itself gives: 400 bad_target (path tricks, bad escapes, ...),
// bad_forwarded_for, malformed_json; 404 not_found; 405 method_not_allowed
// (with Allow); 413 body_too_large; 415 unsupported_media_type; 431
// headers_too_large (more headers than allowed; a header block past
// max_header_bytes is refused with 431 by libmicrohttpd itself, with its own
// body); 500 internal (a handler threw: logged, never shown). A connection
// still receiving its request at its deadline is cut (no answer is possible
// mid-request); one from a client past its connection cap is closed at once.
//
// Threads: Start() starts `threads` threads of libmicrohttpd's own, and one
// watchdog thread. Handlers run on the pool's threads, up to `threads` at once,
// each request on one thread from its first to its last callback; a handler
// blocks the other connections of its thread while it runs, so what it calls
// must be bounded in time (the database layer is). Handlers, the Router and the
// log function must therefore be safe to call concurrently; a thread_local in a
// handler (a database connection) stays with its pool thread. The Router is
// not changed after Start. Stop() (or the destructor) may be called from any
// thread but a handler's, one at a time: with a drain time it first stops
// accepting and lets the requests under way finish (their answers written)
// for at most that long; then it closes the listener, closes every
// connection, joins every thread; no handler runs after it returns.
// SetRequestLimits may be called from any thread, at any time.
//
// Secrets in requests: a request's body and the strings parsed from it are
// wiped (sodium_memzero) once its handler has run, or when the request ends
// without one; a body growing in pieces leaves no copy of its start behind.
// libmicrohttpd's own connection buffer is its to reuse.
//
// Trusts: nothing from clients (see above; the request target is decoded by
// api/http_request.h from the raw bytes); the X-Forwarded-For header only from
// a peer named in trusted_proxies (TCP) or trusted_proxy_uids (unix socket,
// by SO_PEERCRED). Trusts its options, the certificate and key files included.
#ifndef ROSTER_API_HTTP_SERVER_H
#define ROSTER_API_HTTP_SERVER_H

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_request.h"
#include "common/json.h"
#include "common/result.h"

namespace roster {

struct HttpRequest {
  std::string method;                 // as sent ("GET", ...)
  std::string target;                 // the raw request target, for logs
  std::vector<std::string> segments;  // the decoded path (http_request.h)
  std::vector<std::pair<std::string, std::string>> query;    // decoded, names unique
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case, in order
  std::map<std::string, std::string, std::less<>> params;    // the route's {name}s
  // Who asks: the TCP peer's address ("127.0.0.1", "::1"), or for a peer that
  // is a trusted proxy the last address of its X-Forwarded-For; on a unix
  // socket without a trusted proxy's header "unix:uid=N".
  std::string client;
  std::string body;  // at most max_body bytes
  Json json;         // the parsed body, for a route that takes JSON (else null)

  // The first header of that name (give it lower-case), or null.
  const std::string* Header(std::string_view lower_name) const;
  // The query parameter of that name, or null.
  const std::string* Query(std::string_view name) const;
  // The route parameter of that name; "" if the route has none of that name.
  const std::string& Param(std::string_view name) const;
  // Zeroes the body and every string parsed from it, in place (a password in
  // a sign-in or a password change). The layer calls it once the handler has
  // run; a handler keeps what it needs in copies of its own.
  void Wipe();
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and the security headers

  // status with value as its JSON body.
  static HttpResponse WithJson(int status, const Json& value);
  // An error of the one shape (see the top of this file); field "" = null.
  static HttpResponse Error(int status, std::string_view code, std::string_view message,
                            std::string_view field = {});
  // The answer for an error from the layers below, by its kind (common/result.h):
  // kNotFound 404 not_found, kInvalid 400 invalid, kConflict 409 conflict,
  // kForbidden 403 forbidden, kUnauthenticated 401 unauthenticated (with
  // WWW-Authenticate: Bearer), kThrottled 429 too_many_attempts (Retry-After
  // when the error says), kTemporary 503 unavailable (with Retry-After), kPermanent 500 internal
  // (whose message, a fault's, is logged by the caller, not shown).
  static HttpResponse FromError(const roster::Error& error, std::string_view field = {});
  static HttpResponse NoContent() { return HttpResponse{204, "", "", {}}; }
  HttpResponse& AddHeader(std::string name, std::string value);
};

// --- ETags (RFC 9110 8.8.3, 13.1.1) ---
// A strong ETag for a representation: "\"" + 32 hex digits of its SHA-256 + "\"".
std::string ETagFor(std::string_view representation);
enum class Precondition {
  kMet,       // no If-Match, or one that matches: go on
  kFailed,    // If-Match names other versions: answer 412
  kRequired,  // required and absent: answer 428
};
// Checks the request's If-Match against the current version's ETag ("*"
// matches any; weak tags never match, as the strong comparison demands).
Precondition CheckIfMatch(const HttpRequest& request, std::string_view current_etag, bool required);
// The answer for a precondition that is not met (412 precondition_failed or
// 428 precondition_required).
HttpResponse PreconditionResponse(Precondition p);
// Whether If-None-Match names current_etag (or is "*"): a GET then answers 304.
bool IfNoneMatchHits(const HttpRequest& request, std::string_view current_etag);

// --- routes ---
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
enum class HttpBody {
  kNone,  // any body is read (within max_body) and ignored
  kJson,  // Content-Type application/json (else 415), parsed into request.json (else 400)
};
struct Route {
  std::string method;   // "GET", "POST", "PUT", "PATCH", "DELETE"
  std::string pattern;  // "/domains/{domain}/mailboxes/{address}": literal segments and {name}s
  HttpHandler handler;
  HttpBody body = HttpBody::kNone;
};

// The route table: immutable once made, safe to share between threads.
class Router {
 public:
  // Refused: a pattern that is not "/" or "/seg/..." with non-empty segments, a
  // {name} used twice in one pattern, two routes with the same method and shape.
  static Result<Router> Make(std::vector<Route> routes);

  struct Match {
    int status = 404;           // 200 found, 404 no such path, 405 path without that method
    const Route* route = nullptr;
    std::map<std::string, std::string, std::less<>> params;
    std::string allow;          // for 405: the path's methods, "GET, PUT"
  };
  // A literal segment wins over a {name} at the same place.
  Match Find(std::string_view method, const std::vector<std::string>& segments) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> parts;  // literal, or "{name}"
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

// --- where to listen ---
struct HttpListen {
  // A unix socket (this path, if set) ...
  std::string unix_path;
  mode_t unix_mode = 0660;
  std::optional<gid_t> unix_group;
  // ... or a TCP address: an IP address and a port (0: the kernel picks one).
  std::string address = "127.0.0.1";
  uint16_t port = 0;
};

// A bound and listening socket. Opened before the daemon drops its privileges
// (a unix socket's mode and group are set here), then given to the server.
class HttpListener {
 public:
  // Refused: a TCP address that is not loopback (127.0.0.0/8, ::1) unless tls
  // is set, a unix path that exists and is not a socket (a stale socket is
  // replaced).
  static Result<HttpListener> Open(const HttpListen& where, bool tls);
  HttpListener(HttpListener&& other) noexcept;
  HttpListener& operator=(HttpListener&& other) noexcept;
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;
  ~HttpListener();  // closes the socket if it was not given away, removes the unix path

  int fd() const { return fd_; }
  bool is_unix() const { return !unix_path_.empty(); }
  uint16_t port() const { return port_; }  // the bound TCP port
  const std::string& unix_path() const { return unix_path_; }
  // "127.0.0.1:8080", "[::1]:8080" or the unix path.
  std::string Display() const;
  int Release();  // gives the socket away

 private:
  HttpListener() = default;
  int fd_ = -1;
  std::string unix_path_;
  uint16_t port_ = 0;
  std::string display_;
};

struct HttpServerOptions {
  // Built-in TLS (libmicrohttpd over GnuTLS): both files PEM; empty = plain HTTP,
  // for a unix socket or loopback behind a TLS-terminating reverse proxy.
  std::string tls_cert_file;
  std::string tls_key_file;
  unsigned threads = 2;
  unsigned max_connections = 64;            // in all; beyond, new ones wait in the listen queue
  unsigned max_connections_per_client = 8;  // per TCP address or unix peer uid
  size_t max_body = 1 << 20;
  size_t max_header_bytes = 16 << 10;  // request line and headers (libmicrohttpd's buffer)
  unsigned max_headers = 64;
  // From a connection's start, or the end of its previous answer, until its
  // request is read whole; past it the connection is cut.
  std::chrono::milliseconds request_timeout{30000};
  // A connection that sends nothing this long is closed (whole seconds, at least 1).
  std::chrono::seconds idle_timeout{60};
  TargetLimits target;
  JsonLimits json;  // max_bytes is max_body
  std::vector<std::string> trusted_proxies;  // TCP peers whose X-Forwarded-For is believed
  std::vector<uid_t> trusted_proxy_uids;     // unix-socket peers whose X-Forwarded-For is believed
  // max_body, max_headers and request_timeout may change while the server
  // runs (SetRequestLimits); the others are fixed at Start.
  // Where the layer's own problems go (a handler's exception, libmicrohttpd's
  // errors, cut connections); called from any thread. Null: nowhere.
  std::function<void(std::string_view)> log;
  // The answer to a GET or HEAD whose path no route has (any body is read
  // within max_body and ignored), called like a handler; null: 404
  // not_found. For a HEAD, libmicrohttpd sends the headers only.
  HttpHandler fallback;
};

class HttpServer {
 public:
  // Starts serving on listener (taken over). Refused: unreadable TLS files,
  // libmicrohttpd failing to start, bad options.
  static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options, Router router,
                                                   HttpListener listener);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // drain 0: at once (the requests under way are cut). Else: stops accepting
  // new connections, answers end their connections (Connection: close), and
  // waits until no request is under way, at most `drain`, before stopping.
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));
  // New per-request limits from `limits` (max_body, max_headers,
  // request_timeout; its other fields are ignored) for the requests that
  // start from now; a connection's current deadline stays. Invalid: a zero
  // timeout or header count.
  Status SetRequestLimits(const HttpServerOptions& limits);
  uint16_t port() const { return port_; }
  bool tls() const { return tls_; }

  struct Impl;  // libmicrohttpd's callbacks and the connection table (http_server.cc)

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace roster

#endif
