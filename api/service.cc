// service.cc: see service.h.
#include "api/service.h"

#include <functional>

#include "api/openapi.h"
#include "common/address.h"
#include "common/password.h"
#include "common/text.h"

namespace roster {

// One request being answered: its route, request, configuration, principal
// and connection, and what the request log line says of it.
struct ApiService::Call {
  const ApiRoute& route;
  const HttpRequest& request;
  std::shared_ptr<const State> state;
  ops::Principal principal;
  std::string who = "-";  // the principal's name, once known
  Db* db = nullptr;
  // Authenticated by the session cookie (not an Authorization header): its
  // token and the session's CSRF token.
  bool by_cookie = false;
  std::string cookie_token;
  std::string csrf;
};

namespace {

std::atomic<uint64_t> g_generation{0};

// This pool thread's database connection, made again when the
// configuration's generation changed.
struct ThreadDb {
  uint64_t generation = 0;
  std::unique_ptr<Db> db;
};
thread_local ThreadDb t_db;

Db& DbFor(const ApiSettings& settings, uint64_t generation) {
  if (!t_db.db || t_db.generation != generation) {
    t_db.db = std::make_unique<Db>(settings.db);
    t_db.generation = generation;
  }
  return *t_db.db;
}

// What a version of an object is: its representation without the usage
// counters, which move with every delivery (an ETag that changed with each
// message would fail every If-Match on a busy mailbox).
std::string VersionOf(const Json& representation) {
  Json v = representation;
  if (v.is_object()) v.erase("usage");
  return ETagFor(DumpJson(v));
}

std::string PathOf(const HttpRequest& request) {
  std::string path;
  for (const std::string& s : request.segments) path += "/" + s;
  return path.empty() ? "/" : path;
}

const ApiRoute* GetRouteOf(const ApiRoute& route) {
  for (const ApiRoute& r : ApiRoutes())
    if (std::string(r.method) == "GET" && std::string(r.pattern) == route.pattern) return &r;
  return nullptr;
}

constexpr char kCookie[] = "roster_session";

// The value of the first cookie `roster_session` among the Cookie headers,
// or "".
std::string SessionCookieOf(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != kCookie) continue;
      std::string_view v = pair.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return std::string(v);
    }
  }
  return "";
}

bool Changes(const HttpRequest& request) { return request.method != "GET" && request.method != "HEAD"; }

// No Origin header (a same-origin GET, or a client that is not a browser),
// or one whose host[:port] is the request's Host: the browser says the
// request comes from a page of this server. The scheme is not compared: behind
// a TLS proxy the daemon speaks plain HTTP for an https:// origin.
bool OriginPasses(const HttpRequest& request) {
  const std::string* origin = request.Header("origin");
  if (origin == nullptr) return true;
  const std::string* host = request.Header("host");
  if (host == nullptr || host->empty()) return false;
  std::string_view o = *origin;
  if (StartsWith(o, "https://")) {
    o.remove_prefix(8);
  } else if (StartsWith(o, "http://")) {
    o.remove_prefix(7);
  } else {
    return false;  // "null" (a sandboxed or opaque origin) among them
  }
  return EqualsIgnoreCase(o, *host);
}

HttpResponse CsrfRefusal() {
  return HttpResponse::Error(403, "csrf",
                             "a change made with the session cookie needs the X-Roster-CSRF header of its session "
                             "and a request from this server's own pages",
                             "X-Roster-CSRF");
}

Error InvalidField(const std::string& field, const std::string& message) {
  Error e = Error::Invalid(message);
  e.field = field;
  return e;
}

}  // namespace

Json PrincipalJson(const ops::Principal& p) {
  static const char* const kKinds[] = {"mail_admin", "domain_admin", "group_admin", "mailbox_user", "public"};
  Json j = Json::object();
  j["kind"] = kKinds[static_cast<int>(p.kind)];
  j["name"] = p.name;
  if (p.kind == ops::PrincipalKind::kDomainAdmin) j["domains"] = Json(p.domains);
  if (p.kind == ops::PrincipalKind::kGroupAdmin) {
    j["domain"] = p.domain;
    j["department"] = p.department;
  }
  if (p.kind == ops::PrincipalKind::kMailboxUser) j["mailbox"] = p.mailbox;
  if (p.api_key) {
    j["api_key"] = Json{{"read_only", p.api_key->read_only}, {"domains", Json(p.api_key->domains)}};
  } else {
    j["api_key"] = nullptr;
  }
  return j;
}

ApiService::ApiService(ApiSettings settings, Logger* log)
    : log_(log), sessions_(SessionLimits{settings.max_sessions, settings.session_idle, settings.session_lifetime}) {
  Reload(std::move(settings));
}

HttpHandler ApiService::Pages() {
  return [this](const HttpRequest& request) {
    if (!request.segments.empty() && request.segments[0] == "v1")
      return HttpResponse::Error(404, "not_found", "no such resource");
    return Current()->web->Answer(request);
  };
}

void ApiService::Reload(ApiSettings fresh) {
  auto state = std::make_shared<State>();
  std::shared_ptr<const WebRoot> web;
  if (fresh.web_root.empty()) {
    web = std::make_shared<WebRoot>();
  } else {
    std::vector<std::string> skipped;
    auto loaded = WebRoot::Load(fresh.web_root, &skipped);
    for (size_t i = 0; i < skipped.size() && i < 20; ++i) log_->Warning("web pages: skipped " + skipped[i]);
    if (skipped.size() > 20) log_->Warning("web pages: skipped " + std::to_string(skipped.size() - 20) + " more");
    if (loaded) {
      log_->Info("web pages: " + std::to_string(loaded->files()) + " file(s), " + std::to_string(loaded->bytes()) +
                 " bytes from " + fresh.web_root);
      web = std::make_shared<WebRoot>(std::move(*loaded));
    } else {
      log_->Error("web pages: " + loaded.error().message + (state_ ? "; keeping the pages read before" : ""));
    }
  }
  state->web = std::move(web);
  state->generation = ++g_generation;
  Logger* log = log_;
  state->flusher = std::make_unique<DovecotAuthCacheFlusher>(
      fresh.dovecot_auth_master, [log](const Result<unsigned>& flushed) {
        if (!flushed && !flushed.error().is_not_found())
          log->Warning("could not flush Dovecot's auth cache (" + flushed.error().message +
                       "): old credentials may work until auth_cache_ttl expires");
      });
  sessions_.SetLimits(SessionLimits{fresh.max_sessions, fresh.session_idle, fresh.session_lifetime});
  std::lock_guard<std::mutex> lock(mu_);
  // The per-client counts survive a reload that keeps their bounds.
  const ops::OpsSettings& o = fresh.ops;
  if (state_ && state_->settings.ops.api_client_failures == o.api_client_failures &&
      state_->settings.ops.api_client_window == o.api_client_window) {
    state->throttle = state_->throttle;
  } else {
    state->throttle =
        std::make_shared<ops::LoginThrottle>(o.api_client_failures, std::chrono::seconds(o.api_client_window));
  }
  if (!state->web) state->web = state_ ? state_->web : std::make_shared<WebRoot>();
  if (state_ && state_->settings.ops.public_client_limit == o.public_client_limit &&
      state_->settings.ops.public_application_limit == o.public_application_limit &&
      state_->settings.ops.public_window == o.public_window) {
    state->public_throttle = state_->public_throttle;
  } else {
    state->public_throttle = std::make_shared<ops::PublicThrottle>(
        o.public_client_limit, o.public_application_limit, std::chrono::seconds(o.public_window));
  }
  state->mailer = std::make_unique<ops::SmtpMailer>(o);
  state->settings = std::move(fresh);
  state_ = std::move(state);
}

std::shared_ptr<const ApiService::State> ApiService::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::mutex& ApiService::ObjectLock(const std::string& key) {
  return object_locks_[std::hash<std::string>()(key) % object_locks_.size()];
}

Result<Router> ApiService::MakeRouter() {
  std::vector<Route> routes;
  for (const ApiRoute& r : ApiRoutes()) {
    const ApiRoute* route = &r;
    routes.push_back(Route{r.method, r.pattern, [this, route](const HttpRequest& req) { return Handle(*route, req); },
                           r.body ? HttpBody::kJson : HttpBody::kNone});
  }
  return Router::Make(std::move(routes));
}

HttpResponse ApiService::Failure(Call& call, const Error& error) {
  if (error.kind == ErrorKind::kPermanent)
    log_->Error(call.request.method + " " + PathOf(call.request) + ": " + error.message);
  return HttpResponse::FromError(error);
}

HttpResponse ApiService::Handle(const ApiRoute& route, const HttpRequest& request) {
  Call call{route, request, Current(), {}, "-", nullptr, false, "", ""};
  HttpResponse response = Dispatch(call);
  if (call.state->settings.log_requests) {
    // The path without its query (no cursor, no filter values); never a
    // header or a body, where the secrets are.
    log_->Info(request.method + " " + Shown(PathOf(request), 512) + " " + std::to_string(response.status) + " " +
               Shown(call.who, 128) + " " + request.client);
  }
  return response;
}

HttpResponse ApiService::Dispatch(Call& call) {
  if (call.route.kind == RouteKind::kOpenApi) {
    static const std::string kDocument = DumpJson(OpenApiDocument()) + "\n";
    HttpResponse r{200, kDocument, "application/json", {}};
    return r;
  }
  call.db = &DbFor(call.state->settings, call.state->generation);
  if (call.route.kind == RouteKind::kSessionCreate) return SessionCreate(call);
  // The operations open to everyone (Audience kPublic): no principal,
  // whatever Authorization says; ops::Run throttles them per client.
  if (call.route.open && call.route.kind == RouteKind::kOperation) {
    call.principal = ops::Principal::Public();
    return Operation(call);
  }
  auto principal = Authenticate(call);
  if (!principal) {
    HttpResponse r = Failure(call, principal.error());
    // A cookie whose session has ended is cleared.
    if (call.by_cookie && principal.error().kind == ErrorKind::kUnauthenticated)
      r.AddHeader("Set-Cookie", CookieHeader(call, ""));
    return r;
  }
  if (call.by_cookie && Changes(call.request) && !CsrfPasses(call)) return CsrfRefusal();
  call.principal = std::move(*principal);
  call.who = call.principal.name;
  switch (call.route.kind) {
    case RouteKind::kSessionShow: {
      Json j = Json::object();
      j["principal"] = PrincipalJson(call.principal);
      // The page reloaded: it reads its CSRF token again (a cross-site page
      // cannot read this answer).
      if (call.by_cookie) j["csrf_token"] = call.csrf;
      HttpResponse r = HttpResponse::WithJson(200, j);
      return r;
    }
    case RouteKind::kSessionEnd: {
      if (call.by_cookie) {
        sessions_.End(call.cookie_token);
        return HttpResponse::NoContent().AddHeader("Set-Cookie", CookieHeader(call, ""));
      }
      const std::string* auth = call.request.Header("authorization");
      std::string_view token = std::string_view(*auth).substr(7);
      if (!sessions_.End(token)) {
        return HttpResponse::Error(400, "not_a_session", "the bearer token is an API key, not a session: revoke "
                                                         "the key instead");
      }
      return HttpResponse::NoContent();
    }
    default:
      break;
  }
  if (call.route.versioned && std::string(call.route.method) != "GET") return Versioned(call);
  if (call.route.kind == RouteKind::kMailboxPut) return MailboxPut(call);
  if (call.route.kind == RouteKind::kMailboxPatch) return MailboxPatch(call);
  return Operation(call);
}

bool ApiService::CsrfPasses(const Call& call) const {
  const std::string* presented = call.request.Header("x-roster-csrf");
  return presented != nullptr && SessionStore::CsrfMatches(call.csrf, *presented) && OriginPasses(call.request);
}

std::string ApiService::CookieHeader(const Call& call, const std::string& token) {
  std::string h = std::string(kCookie) + "=" + token + "; Path=/";
  if (token.empty()) h += "; Max-Age=0";
  h += "; HttpOnly";
  if (call.state->settings.cookie_secure) h += "; Secure";
  h += "; SameSite=Strict";
  return h;
}

Result<ops::Principal> ApiService::Authenticate(Call& call) {
  const std::string* auth = call.request.Header("authorization");
  if (auth == nullptr) {
    std::string cookie = SessionCookieOf(call.request);
    if (cookie.empty()) return Error::Unauthenticated("sign in first: send Authorization: Bearer <token>");
    call.by_cookie = true;
    call.cookie_token = std::move(cookie);
    auto found = sessions_.Use(call.cookie_token, clock_.NowUnix());
    // Only a session made for a cookie is taken from one.
    if (!found || found->csrf.empty()) return Error::Unauthenticated("the session has ended: sign in again");
    call.csrf = found->csrf;
    auto principal = ops::ResumeSession(*call.db, found->account);
    if (!principal && principal.error().kind == ErrorKind::kUnauthenticated) sessions_.End(call.cookie_token);
    return principal;
  }
  if (auth->size() < 8 || !EqualsIgnoreCase(std::string_view(*auth).substr(0, 7), "Bearer "))
    return Error::Unauthenticated("the Authorization header must be Bearer <token>");
  std::string_view token = std::string_view(*auth).substr(7);
  const int64_t now = clock_.NowUnix();
  if (SessionStore::LooksLikeToken(token)) {
    auto found = sessions_.Use(token, now);
    // A cookie session's token is never shown to anyone: not taken as a bearer token.
    if (!found || !found->csrf.empty()) return Error::Unauthenticated("the session has ended: sign in again");
    // The account as it stands now (one read by primary key): a change made
    // anywhere, this daemon or not, counts at this request.
    auto principal = ops::ResumeSession(*call.db, found->account);
    if (!principal && principal.error().kind == ErrorKind::kUnauthenticated) sessions_.End(token);
    return principal;
  }
  ops::LoginThrottle& throttle = *call.state->throttle;
  ROSTER_TRY(throttle.Check(call.request.client, now));
  auto p = ops::AuthenticateApiKey(*call.db, clock_, token, call.request.client);
  if (!p && p.error().kind == ErrorKind::kUnauthenticated) throttle.Failed(call.request.client, now);
  return p;
}

HttpResponse ApiService::SessionCreate(Call& call) {
  const Json& body = call.request.json;
  if (!body.is_object()) return HttpResponse::FromError(InvalidField("", "the body must be a JSON object"));
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k != "name" && k != "address" && k != "password" && k != "totp" && k != "cookie")
      return HttpResponse::FromError(InvalidField(k.size() <= 64 ? k : "", "unknown field '" + Shown(k, 64) + "'"));
    if (k == "cookie") {
      if (!it->is_boolean()) return HttpResponse::FromError(InvalidField(k, k + ": expected true or false"));
    } else if (!it->is_string()) {
      return HttpResponse::FromError(InvalidField(k, k + ": expected a string"));
    }
  }
  const bool cookie = body.value("cookie", false);
  // A browser signs in from this server's own page only (a sign-in forced on
  // it by another site would act as the attacker's account).
  if (cookie && !OriginPasses(call.request)) return CsrfRefusal();
  const bool mailbox = body.contains("address");
  if (mailbox == body.contains("name"))
    return HttpResponse::FromError(InvalidField("name", "give either name (an administrator) or address (a mailbox)"));
  if (!body.contains("password")) return HttpResponse::FromError(InvalidField("password", "password: required"));
  if (mailbox && body.contains("totp"))
    return HttpResponse::FromError(InvalidField("totp", "totp: only administrators sign in with a code"));
  const std::string& name = body[mailbox ? "address" : "name"].get_ref<const std::string&>();
  const std::string& password = body["password"].get_ref<const std::string&>();
  const std::string totp = body.contains("totp") ? body["totp"].get<std::string>() : "";
  if (name.empty() || name.size() > 320)
    return HttpResponse::FromError(InvalidField(mailbox ? "address" : "name", "1 to 320 bytes"));
  if (password.empty() || password.size() > kMaxPasswordBytes)
    return HttpResponse::FromError(InvalidField("password", "1 to " + std::to_string(kMaxPasswordBytes) + " bytes"));
  if (totp.size() > 16) return HttpResponse::FromError(InvalidField("totp", "at most 16 bytes"));
  call.who = Shown(name, 128);

  const int64_t now = clock_.NowUnix();
  ops::LoginThrottle& throttle = *call.state->throttle;
  Status allowed = throttle.Check(call.request.client, now);
  if (!allowed) return Failure(call, allowed.error());
  ops::Credentials c{name, password, totp, call.request.client};
  ops::SessionAccount account;
  auto p = mailbox ? ops::AuthenticateMailbox(*call.db, call.state->settings.ops, clock_, c, &account)
                   : ops::AuthenticateAdmin(*call.db, call.state->settings.ops, clock_, c, &account);
  if (!p) {
    if (p.error().kind == ErrorKind::kUnauthenticated) throttle.Failed(call.request.client, now);
    return Failure(call, p.error());
  }
  SessionStore::Created created = sessions_.Create(account, now, cookie);
  Json j = Json::object();
  if (cookie) {
    // The token goes in the cookie only: no script of the page can read it.
    j["csrf_token"] = created.csrf;
  } else {
    j["token"] = created.token;
    j["token_type"] = "Bearer";
  }
  j["expires_at"] = created.expires_at;
  j["idle_timeout"] = static_cast<int64_t>(call.state->settings.session_idle.count());
  j["principal"] = PrincipalJson(*p);
  HttpResponse r = HttpResponse::WithJson(201, j);
  r.AddHeader("Cache-Control", "no-store");
  if (cookie) {
    // The browser's session before this one (if it had one) ends.
    std::string previous = SessionCookieOf(call.request);
    if (!previous.empty()) sessions_.End(previous);
    r.AddHeader("Set-Cookie", CookieHeader(call, created.token));
  }
  return r;
}

Result<Json> ApiService::Run(Call& call, std::string_view name, const Json& input) {
  ops::Context ctx;
  ctx.principal = call.principal;
  ctx.actor = Actor{call.principal.name, call.request.client};
  ctx.db = call.db;
  ctx.flusher = call.state->flusher.get();
  ctx.clock = &clock_;
  ctx.settings = &call.state->settings.ops;
  ctx.mailer = call.state->mailer.get();
  ctx.public_throttle = call.state->public_throttle.get();
  return ops::Run(ctx, name, input);
}

HttpResponse ApiService::Operation(Call& call) {
  const ops::Operation* op = RouteOperation(call.route);
  if (op == nullptr) return HttpResponse::Error(500, "internal", "internal error");
  std::string name = op->name;
  if (call.route.kind == RouteKind::kPassword && call.request.json.is_object() &&
      call.request.json.contains("current_password")) {
    name = "mailbox.change_password";
    op = ops::FindOperation(name);
  }
  auto input = RouteInput(call.route, *op, call.request);
  if (!input) return Failure(call, input.error());
  auto answer = Run(call, name, *input);
  if (!answer) {
    if (answer.error().kind == ErrorKind::kConflict && call.route.exists_is_done)
      return HttpResponse{call.route.status, "", "", {}};  // PUT twice: the same answer
    return Failure(call, answer.error());
  }
  if (call.route.status == 204) return HttpResponse::NoContent();
  HttpResponse r = HttpResponse::WithJson(call.route.status, *answer);
  if (call.route.versioned && std::string(call.route.method) == "GET") {
    std::string etag = VersionOf(*answer);
    if (IfNoneMatchHits(call.request, etag)) return HttpResponse{304, "", "", {{"ETag", etag}}};
    r.AddHeader("ETag", etag);
  }
  return r;
}

// A write to a versioned object: its current version is read through the
// GET of the same path and the request's If-Match checked against it, both
// under the object's lock, then the write runs, still under it.
HttpResponse ApiService::Versioned(Call& call) {
  const std::string* if_match = call.request.Header("if-match");
  auto write = [&]() {
    if (call.route.kind == RouteKind::kMailboxPut) return MailboxPut(call);
    if (call.route.kind == RouteKind::kMailboxPatch) return MailboxPatch(call);
    return Operation(call);
  };
  if (if_match == nullptr) return write();
  const ApiRoute* get = GetRouteOf(call.route);
  const ops::Operation* get_op = get ? RouteOperation(*get) : nullptr;
  if (get_op == nullptr) return HttpResponse::Error(500, "internal", "internal error");
  std::lock_guard<std::mutex> lock(ObjectLock(PathOf(call.request)));
  Json input = Json::object();
  for (const auto& [name, value] : call.request.params) {
    for (const ops::Field& f : get_op->fields) {
      if (name != f.name) continue;
      auto v = ParamValue(f, value);
      if (!v) return Failure(call, v.error());
      input[name] = std::move(*v);
    }
  }
  auto current = Run(call, get_op->name, input);
  if (!current) {
    // If-Match on nothing fails (RFC 9110 13.1.1): a 412, unless the
    // principal may not see it at all.
    if (current.error().is_not_found()) return PreconditionResponse(Precondition::kFailed);
    return Failure(call, current.error());
  }
  Precondition p = CheckIfMatch(call.request, VersionOf(*current), false);
  if (p != Precondition::kMet) return PreconditionResponse(p);
  return write();
}

HttpResponse ApiService::MailboxPut(Call& call) {
  const ops::Operation* add = ops::FindOperation("mailbox.add");
  auto input = RouteInput(call.route, *add, call.request);
  if (!input) return Failure(call, input.error());
  auto run = [&](std::string_view name, const Json& in) { return Run(call, name, in); };
  const Json address = (*input)["address"];
  const Json key = Json{{"address", address}};
  auto shown = run("mailbox.show", key);
  int status = 200;
  if (!shown && shown.error().is_not_found()) {
    auto added = run("mailbox.add", *input);
    if (added) {
      status = 201;
    } else if (added.error().kind != ErrorKind::kConflict) {
      return Failure(call, added.error());
    }
    shown = run("mailbox.show", key);  // made now, or by a concurrent PUT
  }
  if (!shown) return Failure(call, shown.error());
  if (status == 200) {
    // An existing mailbox: brought to the state asked for. Its password is
    // not: the body's is the initial one (change it at .../password).
    for (auto it = input->begin(); it != input->end(); ++it) {
      const std::string& k = it.key();
      bool known = false;
      for (const ops::Field& f : add->fields) known = known || k == f.name;
      if (!known) return Failure(call, InvalidField(k.size() <= 64 ? k : "", "unknown field '" + Shown(k, 64) + "'"));
      if (k != "name" && k != "department" && k != "unit") continue;  // the others: below, or initial only
      if (!(shown->value(k, Json()) == it.value())) {
        Error e = Error::Conflict(k + ": cannot be changed on an existing mailbox");
        e.field = k;
        return Failure(call, e);
      }
    }
    Json patch = Json::object();
    for (const char* k : {"active", "max_bytes", "max_messages"})
      if (input->contains(k)) patch[k] = (*input)[k];
    HttpRequest patched = call.request;  // as a PATCH of those fields
    patched.Wipe();  // the copy of the body (and its initial password)
    patched.json = std::move(patch);
    Call inner{call.route, patched, call.state, call.principal, call.who, call.db, call.by_cookie, call.cookie_token,
               call.csrf};
    return MailboxPatch(inner);
  }
  HttpResponse r = HttpResponse::WithJson(status, *shown);
  r.AddHeader("ETag", VersionOf(*shown));
  return r;
}

HttpResponse ApiService::MailboxPatch(Call& call) {
  const Json& body = call.request.json;
  if (!body.is_object()) return Failure(call, InvalidField("", "the body must be a JSON object"));
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k != "active" && k != "max_bytes" && k != "max_messages")
      return Failure(call, InvalidField(k.size() <= 64 ? k : "",
                                        "unknown field '" + Shown(k, 64) + "': a PATCH changes active, max_bytes, "
                                        "max_messages"));
  }
  if (body.contains("active") && !body["active"].is_boolean())
    return Failure(call, InvalidField("active", "active: expected true or false"));
  auto run = [&](std::string_view name, const Json& in) { return Run(call, name, in); };
  auto address = ParseMailboxName(call.request.Param("address"));
  if (!address) return Failure(call, InvalidField("address", "address: " + address.error().message));
  const Json key = Json{{"address", address->Mailbox()}};
  auto shown = run("mailbox.show", key);
  if (!shown) return Failure(call, shown.error());
  // Only what differs is changed: the same PATCH twice changes nothing the
  // second time (and writes no change log).
  Json quota = key;
  bool quota_differs = false;
  for (const char* k : {"max_bytes", "max_messages"}) {
    if (!body.contains(k)) continue;
    quota[k] = body[k];
    quota_differs = quota_differs || !(body[k] == (*shown)[k]);
  }
  if (quota_differs) {
    auto r = run("mailbox.set_quota", quota);
    if (!r) return Failure(call, r.error());
  }
  if (body.contains("active") && !(body["active"] == (*shown)["active"])) {
    auto r = run(body["active"].get<bool>() ? "mailbox.enable" : "mailbox.disable", key);
    if (!r) return Failure(call, r.error());
  }
  if (quota_differs || body.contains("active")) shown = run("mailbox.show", key);
  if (!shown) return Failure(call, shown.error());
  HttpResponse r = HttpResponse::WithJson(200, *shown);
  r.AddHeader("ETag", VersionOf(*shown));
  return r;
}

}  // namespace roster
