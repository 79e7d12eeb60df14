// service.h: what roster-apid answers. ApiService turns the route table
// (api/routes.h) into the HTTP layer's Router: each handler authenticates
// the bearer token (a session of api/sessions.h, or an API key through
// ops/authn.h), maps the request to an operation's input, runs it through
// ops::Run with the actor {principal's name, client's address} and the
// Dovecot auth-cache flusher rosterctl uses (admin/dovecot_flush.h), and
// answers its JSON, or the error's status and JSON error (HttpResponse::
// FromError). A session's principal is made anew at each request from its
// account's row (ops::ResumeSession), and the session ends when the account
// is gone, disabled or its credentials changed, wherever the change was made. Sign-in (POST /v1/session) is throttled per client address
// (ops::LoginThrottle) and per account (ops/authn.h). The open routes of the
// public operations (password recovery, applications) run as
// ops::Principal::Public() with the per-client throttle ops::PublicThrottle
// and the SMTP mailer of api_smtp.
//
// Browsers (doc/web.md): a sign-in with "cookie": true gets its session in
// the cookie `roster_session` (Path=/; HttpOnly; Secure unless
// api_cookie_secure = no; SameSite=Strict) instead of a token in the answer,
// and a CSRF token in the answer. A request with no Authorization header is
// authenticated by that cookie; one that changes anything (any method but GET
// and HEAD) must then carry the CSRF token in the header X-Roster-CSRF and, if
// it has an Origin header, come from the request's own origin (the Origin's
// host is the Host header's), else 403 csrf. Bearer tokens and API keys are
// not affected. Signing out clears the cookie. The web pages themselves are
// the in-memory table of api/web_root.h (Pages()), read again at each reload.
//
// Threads: the handlers run on the HTTP layer's pool threads, concurrently.
// Each thread keeps its own database connection (thread_local), made on
// first need with the settings current then, and made again after a reload
// changed them. Reload() may be called from any thread: requests already
// running finish with the settings they started with.
//
// Trusts: the HTTP layer for bounded, decoded requests and the client's
// address; the operations layer for every decision about what a principal
// may do; nothing in a request.
#ifndef ROSTER_API_SERVICE_H
#define ROSTER_API_SERVICE_H

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "admin/dovecot_flush.h"
#include "api/http_server.h"
#include "api/routes.h"
#include "api/sessions.h"
#include "api/settings.h"
#include "api/web_root.h"
#include "ops/authn.h"
#include "ops/operations.h"
#include "ops/recovery.h"
#include "policy/log.h"

namespace roster {

class ApiService {
 public:
  // `log` outlives the service.
  ApiService(ApiSettings settings, Logger* log);
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  // The routes of ApiRoutes(), each with its handler on this service (which
  // must outlive the server using them).
  Result<Router> MakeRouter();

  // The HTTP layer's fallback (HttpServerOptions::fallback): the web pages
  // for a GET or HEAD no route takes; a JSON 404 under /v1.
  HttpHandler Pages();

  // Takes the reloadable settings of `fresh` (the caller logs what could not
  // change). Sessions survive; their limits are the new ones. The web root is
  // read again; if that fails (logged), the pages read before stay.
  void Reload(ApiSettings fresh);

  SessionStore& sessions() { return sessions_; }

 private:
  // One configuration, shared by the requests that started under it.
  struct State {
    ApiSettings settings;
    uint64_t generation = 0;  // which thread_local connections are still good
    std::unique_ptr<DovecotAuthCacheFlusher> flusher;
    std::shared_ptr<ops::LoginThrottle> throttle;
    std::shared_ptr<const WebRoot> web;  // never null (empty: no pages)
    std::shared_ptr<ops::PublicThrottle> public_throttle;  // the public operations' (survives a reload)
    std::unique_ptr<ops::SmtpMailer> mailer;                // reset links (api_smtp)
  };
  struct Call;  // one request being answered (service.cc)

  std::shared_ptr<const State> Current() const;
  HttpResponse Handle(const ApiRoute& route, const HttpRequest& request);
  HttpResponse Dispatch(Call& call);
  HttpResponse Operation(Call& call);
  HttpResponse Versioned(Call& call);
  HttpResponse MailboxPut(Call& call);
  HttpResponse MailboxPatch(Call& call);
  HttpResponse SessionCreate(Call& call);
  Result<ops::Principal> Authenticate(Call& call);
  // A cookie session's change: the CSRF token and the origin check.
  bool CsrfPasses(const Call& call) const;
  // The Set-Cookie value carrying `token`; "" clears the cookie.
  static std::string CookieHeader(const Call& call, const std::string& token);
  // ops::Run for the call's principal, actor {principal, client}, connection.
  Result<Json> Run(Call& call, std::string_view name, const Json& input);
  HttpResponse Failure(Call& call, const Error& error);
  std::mutex& ObjectLock(const std::string& key);

  Logger* const log_;
  const ops::SystemClock clock_;
  SessionStore sessions_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;  // GUARDED_BY(mu_)
  // Conditional writes: the If-Match check and the write under one lock per
  // object (by its path's hash), so two writers with one ETag cannot both win.
  std::array<std::mutex, 64> object_locks_;
};

// The principal as GET /v1/session shows it.
Json PrincipalJson(const ops::Principal& p);

}  // namespace roster

#endif  // ROSTER_API_SERVICE_H
