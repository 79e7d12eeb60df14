// routes.cc: the route table and how a request maps to an operation's input;
// see routes.h.
#include "api/routes.h"

#include "common/text.h"
#include "common/units.h"

namespace roster {

namespace {
constexpr bool kBody = true, kNoBody = false, kQuery = true, kNoQuery = false;
constexpr bool kVersioned = true, kPlain = false, kIdempotentCreate = true, kStrict = false;
constexpr bool kOpen = true, kSignedIn = false;
using K = RouteKind;
}  // namespace

const std::vector<ApiRoute>& ApiRoutes() {
  static const std::vector<ApiRoute> kRoutes = {
      // ---- session and the document
      {"POST", "/v1/session", K::kSessionCreate, "", 201, kBody, kNoQuery, nullptr, kPlain, kStrict, kOpen,
       "Sign in (administrator name or mailbox address, password, TOTP code): a bearer session token"},
      {"GET", "/v1/session", K::kSessionShow, "", 200, kNoBody, kNoQuery, nullptr, kPlain, kStrict, kSignedIn,
       "Who the bearer token stands for"},
      {"DELETE", "/v1/session", K::kSessionEnd, "", 204, kNoBody, kNoQuery, nullptr, kPlain, kStrict, kSignedIn,
       "Sign out: the session token stops working"},
      {"GET", "/v1/openapi.json", K::kOpenApi, "", 200, kNoBody, kNoQuery, nullptr, kPlain, kStrict, kOpen,
       "This document"},
      // ---- domains
      {"GET", "/v1/domains", K::kOperation, "domain.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict, kSignedIn,
       "The domains (a domain administrator: its own), by name, one page per call"},
      {"POST", "/v1/domains", K::kOperation, "domain.add", 201, kBody, kNoQuery, nullptr, kPlain, kStrict, kSignedIn,
       "Add a domain"},
      {"GET", "/v1/domains/{domain}", K::kOperation, "domain.show", 200, kNoBody, kNoQuery, nullptr, kVersioned,
       kStrict, kSignedIn, "A domain, with its counts"},
      {"DELETE", "/v1/domains/{domain}", K::kOperation, "domain.del", 204, kNoBody, kQuery, nullptr, kVersioned,
       kStrict, kSignedIn, "Delete a domain (force=true: with its mailboxes)"},
      {"POST", "/v1/domains/{domain}/enable", K::kOperation, "domain.enable", 200, kNoBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Enable a domain"},
      {"POST", "/v1/domains/{domain}/disable", K::kOperation, "domain.disable", 200, kNoBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn, "Disable a domain: none of its mailboxes logs in or receives mail"},
      {"GET", "/v1/domains/{domain}/mailboxes", K::kOperation, "mailbox.list", 200, kNoBody, kQuery, nullptr, kPlain,
       kStrict, kSignedIn,
       "A domain's mailboxes, filtered (department, active, prefix, min_usage_percent: near or over quota), sorted "
       "(sort: address, usage or last_login; -desc), one page per call (cursor, limit)"},
      {"GET", "/v1/domains/{domain}/inactive-mailboxes", K::kOperation, "mailbox.inactive", 200, kNoBody, kQuery,
       nullptr, kPlain, kStrict, kSignedIn, "A domain's mailboxes with no login for `days` days"},
      {"GET", "/v1/domains/{domain}/outbound", K::kOperation, "outbound.defaults", 200, kNoBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "A domain's default outbound limits"},
      {"PUT", "/v1/domains/{domain}/outbound", K::kOperation, "outbound.set_defaults", 200, kBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "Set a domain's default outbound limits (null: none)"},
      // ---- mailboxes
      {"GET", "/v1/mailboxes/{address}", K::kOperation, "mailbox.show", 200, kNoBody, kNoQuery, nullptr, kVersioned,
       kStrict, kSignedIn, "A mailbox: settings, limits, usage"},
      {"PUT", "/v1/mailboxes/{address}", K::kMailboxPut, "mailbox.add", 200, kBody, kNoQuery, nullptr, kVersioned,
       kStrict, kSignedIn,
       "Create a mailbox (201), or bring an existing one to the given active state and limits (200); the password "
       "is the initial one, used only when the mailbox is created"},
      {"PATCH", "/v1/mailboxes/{address}", K::kMailboxPatch, "mailbox.set_quota", 200, kBody, kNoQuery, nullptr, kVersioned, kStrict,
       kSignedIn, "Change a mailbox's active state and/or limits"},
      {"DELETE", "/v1/mailboxes/{address}", K::kOperation, "mailbox.del", 204, kNoBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "Delete a mailbox (404 if there is none)"},
      {"PUT", "/v1/mailboxes/{address}/password", K::kPassword, "mailbox.set_password", 204, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn,
       "Set a mailbox's password (administrators), or change one's own (with current_password)"},
      {"PUT", "/v1/mailboxes/{address}/quota", K::kOperation, "mailbox.set_quota", 200, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn, "Set a mailbox's limits (0: unlimited)"},
      {"GET", "/v1/mailboxes/{address}/access", K::kOperation, "mailbox.access", 200, kNoBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "Where a mailbox may log in, and where its main password works"},
      {"PUT", "/v1/mailboxes/{address}/access", K::kOperation, "mailbox.set_access", 200, kBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "Set where a mailbox may log in, and where its main password works"},
      {"GET", "/v1/mailboxes/{address}/logins", K::kOperation, "mailbox.logins", 200, kNoBody, kQuery, nullptr,
       kPlain, kStrict, kSignedIn, "A mailbox's login history, newest first"},
      {"GET", "/v1/mailboxes/{address}/last-logins", K::kOperation, "mailbox.last_logins", 200, kNoBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "A mailbox's last login per protocol"},
      {"GET", "/v1/mailboxes/{address}/app-passwords", K::kOperation, "app_password.list", 200, kNoBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "A mailbox's app passwords (never the passwords)"},
      {"POST", "/v1/mailboxes/{address}/app-passwords", K::kOperation, "app_password.add", 201, kBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "Make an app password: shown once, in this answer"},
      {"DELETE", "/v1/mailboxes/{address}/app-passwords/{id}", K::kOperation, "app_password.revoke", 204, kNoBody,
       kNoQuery, nullptr, kPlain, kStrict, kSignedIn, "Revoke an app password"},
      {"GET", "/v1/mailboxes/{address}/outbound", K::kOperation, "outbound.show", 200, kNoBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "A mailbox's outbound limits, counts and suspension"},
      {"PUT", "/v1/mailboxes/{address}/outbound", K::kOperation, "outbound.set", 200, kBody, kNoQuery, nullptr,
       kVersioned, kStrict, kSignedIn, "Set a mailbox's outbound limits (null: the domain's default)"},
      {"POST", "/v1/mailboxes/{address}/outbound/suspend", K::kOperation, "outbound.suspend", 200, kBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "Suspend a mailbox's sending"},
      {"POST", "/v1/mailboxes/{address}/outbound/lift", K::kOperation, "outbound.lift", 200, kNoBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "Lift a mailbox's suspension"},
      {"GET", "/v1/outbound/suspended", K::kOperation, "outbound.suspended", 200, kNoBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "The mailboxes whose sending is suspended"},
      // ---- units (seed 004): the hosts that hold mailboxes
      {"GET", "/v1/units", K::kOperation, "unit.list", 200, kNoBody, kNoQuery, nullptr, kPlain, kStrict, kSignedIn,
       "The units: where each one's mail is relayed and its logins proxied, and how many mailboxes it holds"},
      {"PUT", "/v1/units/{name}", K::kOperation, "unit.set", 200, kBody, kNoQuery, nullptr, kPlain, kStrict,
       kSignedIn, "Create a unit or change it whole (host, transport, imap_port, pop3_port)"},
      {"DELETE", "/v1/units/{name}", K::kOperation, "unit.del", 204, kNoBody, kNoQuery, nullptr, kPlain, kStrict,
       kSignedIn, "Delete a unit that holds no mailbox (409 otherwise)"},
      {"PUT", "/v1/mailboxes/{address}/unit", K::kOperation, "mailbox.set_unit", 200, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn,
       "Move a mailbox to a unit (\"\": none): new mail and new logins go there at once; its stored mail is not moved"},
      // ---- subscriptions: aliases, forwards, lists (incoming), sender BCC (outgoing)
      {"GET", "/v1/subscriptions", K::kOperation, "sub.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict,
       kSignedIn,
       "Subscriptions, of one address (address=), or those delivering to a mailbox (recipient=, paged: cursor, "
       "limit), or all"},
      {"PUT", "/v1/subscriptions/incoming/{address}/{recipient}", K::kOperation, "sub.add", 204, kNoBody, kNoQuery,
       R"({"outgoing":false})", kPlain, kIdempotentCreate, kSignedIn,
       "Mail to address (or @domain) also goes to recipient"},
      {"DELETE", "/v1/subscriptions/incoming/{address}/{recipient}", K::kOperation, "sub.del", 204, kNoBody,
       kNoQuery, R"({"outgoing":false})", kPlain, kStrict, kSignedIn, "Remove an incoming subscription"},
      {"PUT", "/v1/subscriptions/outgoing/{address}/{recipient}", K::kOperation, "sub.add", 204, kNoBody, kNoQuery,
       R"({"outgoing":true})", kPlain, kIdempotentCreate, kSignedIn,
       "Mail sent by address is copied to recipient (sender BCC)"},
      {"DELETE", "/v1/subscriptions/outgoing/{address}/{recipient}", K::kOperation, "sub.del", 204, kNoBody,
       kNoQuery, R"({"outgoing":true})", kPlain, kStrict, kSignedIn, "Remove an outgoing subscription"},
      // ---- send-as grants
      {"GET", "/v1/send-as", K::kOperation, "send_as.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict, kSignedIn,
       "Send-as grants, of one address or mailbox (who=) or all"},
      {"PUT", "/v1/send-as/{address}/{login}", K::kOperation, "send_as.grant", 204, kNoBody, kNoQuery, nullptr,
       kPlain, kIdempotentCreate, kSignedIn, "Let the mailbox login send as address (or @domain)"},
      {"DELETE", "/v1/send-as/{address}/{login}", K::kOperation, "send_as.revoke", 204, kNoBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn, "Revoke a send-as grant"},
      // ---- administrators (the mail administrator's; each its own password, TOTP and keys)
      {"GET", "/v1/admins", K::kOperation, "admin.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict, kSignedIn,
       "The administrator accounts, by name"},
      {"POST", "/v1/admins", K::kOperation, "admin.add", 201, kBody, kNoQuery, nullptr, kPlain, kStrict, kSignedIn,
       "Add an administrator: kind mail, domain (domains) or group (one domain and a department)"},
      {"GET", "/v1/admins/{name}", K::kOperation, "admin.show", 200, kNoBody, kNoQuery, nullptr, kVersioned, kStrict,
       kSignedIn, "An administrator account"},
      {"DELETE", "/v1/admins/{name}", K::kOperation, "admin.del", 204, kNoBody, kNoQuery, nullptr, kVersioned,
       kStrict, kSignedIn, "Delete an administrator, with its API keys"},
      {"PUT", "/v1/admins/{name}/password", K::kOperation, "admin.set_password", 204, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn, "Set an administrator's password (one's own: with current_password)"},
      {"PUT", "/v1/admins/{name}/totp", K::kOperation, "admin.set_totp", 200, kBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Turn the second factor on (a new secret and its otpauth:// URI, shown once) or off"},
      {"POST", "/v1/admins/{name}/enable", K::kOperation, "admin.enable", 200, kNoBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Enable an administrator account"},
      {"POST", "/v1/admins/{name}/disable", K::kOperation, "admin.disable", 200, kNoBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Disable an administrator account (its sessions' next sign-in and its keys fail)"},
      {"POST", "/v1/admins/{name}/unlock", K::kOperation, "admin.unlock", 200, kNoBody, kNoQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Lift the lock failed sign-ins put on an account"},
      // ---- API keys: one's own (/v1/api-keys) or an administrator's
      {"GET", "/v1/api-keys", K::kOperation, "api_key.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict,
       kSignedIn, "The principal's own API keys (admin=: another's)"},
      {"POST", "/v1/api-keys", K::kOperation, "api_key.add", 201, kBody, kNoQuery, nullptr, kPlain, kStrict,
       kSignedIn, "Make an API key (read_only, domains, expiry): the key is in this answer, once"},
      {"DELETE", "/v1/api-keys/{id}", K::kOperation, "api_key.revoke", 204, kNoBody, kQuery, nullptr, kPlain,
       kStrict, kSignedIn, "Revoke one of the principal's own API keys (admin=: another's)"},
      // ---- self-service password recovery: the user's own settings, an
      // administrator's unlock, and the public steps (no Authorization;
      // throttled per client; every address in a body, never in the URL)
      {"GET", "/v1/mailboxes/{address}/recovery", K::kOperation, "recovery.show", 200, kNoBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn,
       "A mailbox's security question and recovery address (never the answer), and whether its reset is locked"},
      {"PUT", "/v1/mailboxes/{address}/recovery", K::kOperation, "recovery.set", 200, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kSignedIn,
       "Set one's own security question and answer and/or recovery address (with current_password)"},
      {"POST", "/v1/mailboxes/{address}/recovery/unlock", K::kOperation, "recovery.unlock", 200, kNoBody, kNoQuery,
       nullptr, kPlain, kStrict, kSignedIn, "Lift the lock wrong answers put on a mailbox's password reset"},
      {"POST", "/v1/recovery/question", K::kOperation, "recovery.question", 200, kBody, kNoQuery, nullptr, kPlain,
       kStrict, kOpen,
       "The security question of an address (null alike for an unknown address, a disabled mailbox and one "
       "without a question) and whether a reset link can be mailed"},
      {"POST", "/v1/recovery/reset", K::kOperation, "recovery.reset", 200, kBody, kNoQuery, nullptr, kPlain, kStrict,
       kOpen,
       "Reset a forgotten password with the answer to the security question (403 wrong answer; 429 with "
       "retry_after when locked)"},
      {"POST", "/v1/recovery/link", K::kOperation, "recovery.send_link", 200, kBody, kNoQuery, nullptr, kPlain,
       kStrict, kOpen, "Mail a one-hour, single-use reset link to the address's recovery address (same answer "
                       "whether one was sent)"},
      {"POST", "/v1/recovery/link/reset", K::kOperation, "recovery.reset_by_link", 200, kBody, kNoQuery, nullptr,
       kPlain, kStrict, kOpen, "Reset a forgotten password with the token of a mailed reset link (works once)"},
      // ---- mailbox applications and a domain's self-service settings
      {"GET", "/v1/domains/{domain}/self-service", K::kOperation, "domain.self_service", 200, kNoBody, kNoQuery,
       nullptr, kVersioned, kStrict, kSignedIn,
       "Whether a domain takes applications (closed, approval, open) and mails reset links"},
      {"PUT", "/v1/domains/{domain}/self-service", K::kOperation, "domain.set_self_service", 200, kBody, kNoQuery,
       nullptr, kVersioned, kStrict, kSignedIn, "Set a domain's applications and recovery_mail"},
      {"POST", "/v1/applications", K::kOperation, "application.submit", 201, kBody, kNoQuery, nullptr, kPlain,
       kStrict, kOpen,
       "Apply for a mailbox (throttled): recorded for approval, or created at once in an open domain"},
      {"GET", "/v1/domains/{domain}/applications", K::kOperation, "application.list", 200, kNoBody, kQuery, nullptr,
       kPlain, kStrict, kSignedIn, "A domain's applications, newest first, by state"},
      {"POST", "/v1/domains/{domain}/applications/{id}/approve", K::kOperation, "application.approve", 200, kNoBody,
       kNoQuery, nullptr, kPlain, kStrict, kSignedIn, "Approve a submitted application: the mailbox is created"},
      {"POST", "/v1/domains/{domain}/applications/{id}/reject", K::kOperation, "application.reject", 200, kNoBody,
       kNoQuery, nullptr, kPlain, kStrict, kSignedIn, "Reject a submitted application"},
      // ---- the change log
      {"GET", "/v1/log", K::kOperation, "log.list", 200, kNoBody, kQuery, nullptr, kPlain, kStrict, kSignedIn,
       "The change log, newest first, filtered (object, actor, action, since)"},
  };
  return kRoutes;
}

const ops::Operation* RouteOperation(const ApiRoute& route) {
  if (route.operation == nullptr || *route.operation == '\0') return nullptr;
  return ops::FindOperation(route.operation);
}

std::vector<std::string> PatternParams(const std::string& pattern) {
  std::vector<std::string> names;
  size_t pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string::npos) {
    size_t close = pattern.find('}', pos);
    if (close == std::string::npos) break;
    names.push_back(pattern.substr(pos + 1, close - pos - 1));
    pos = close + 1;
  }
  return names;
}

namespace {

const ops::Field* FindField(const ops::Operation& op, const std::string& name) {
  for (const ops::Field& f : op.fields)
    if (name == f.name) return &f;
  return nullptr;
}

Error Refused(const std::string& field, const std::string& message) {
  Error e = Error::Invalid(message);
  e.field = field.size() <= 64 ? field : std::string();
  return e;
}

}  // namespace

Result<Json> ParamValue(const ops::Field& field, const std::string& text) {
  using F = ops::FieldType;
  switch (field.type) {
    case F::kBool:
      if (text == "true") return Json(true);
      if (text == "false") return Json(false);
      return Refused(field.name, std::string(field.name) + ": expected true or false");
    case F::kUintOrNull:
      if (text == "null") return Json(nullptr);
      [[fallthrough]];
    case F::kUint: {
      auto n = ParseCount(text);
      if (!n) return Refused(field.name, std::string(field.name) + ": expected a whole number, 0 or more");
      return Json(*n);
    }
    case F::kSecret:
      // A secret never travels in a URL (it would be logged by every proxy).
      return Refused(field.name, std::string(field.name) + ": a secret goes in the body, never in the URL");
    default:
      return Json(text);
  }
}

Result<Json> RouteInput(const ApiRoute& route, const ops::Operation& op, const HttpRequest& request) {
  Json input = Json::object();
  if (route.body) {
    if (!request.json.is_object()) return Refused("", "the body must be a JSON object");
    input = request.json;
  }
  for (const auto& [name, value] : request.params) {
    if (input.contains(name)) return Refused(name, name + ": given by the path; leave it out of the body");
    const ops::Field* f = FindField(op, name);
    if (f == nullptr) return Refused(name, "unknown path parameter " + name);  // a table fault; tested
    auto v = ParamValue(*f, value);
    if (!v) return v.error();
    input[name] = std::move(*v);
  }
  for (const auto& [name, value] : request.query) {
    const ops::Field* f = route.query ? FindField(op, name) : nullptr;
    if (f == nullptr || request.params.count(name))
      return Refused(name, "unknown query parameter '" + Shown(name, 64) + "'");
    auto v = ParamValue(*f, value);
    if (!v) return v.error();
    input[name] = std::move(*v);
  }
  if (route.fixed != nullptr) {
    Json fixed = Json::parse(route.fixed);
    for (auto it = fixed.begin(); it != fixed.end(); ++it) {
      if (input.contains(it.key()) && input[it.key()] != it.value())
        return Refused(it.key(), it.key() + ": given by the path");
      input[it.key()] = it.value();
    }
  }
  return input;
}

}  // namespace roster
