// openapi.cc: see openapi.h.
#include "api/openapi.h"

#include <algorithm>
#include <string>

#include "api/routes.h"
#include "ops/operations.h"
#include "roster-config.h"

namespace roster {
namespace {

using F = ops::FieldType;

Json FieldSchema(const ops::Field& f) {
  Json s = Json::object();
  switch (f.type) {
    case F::kBool:
      s["type"] = "boolean";
      return s;
    case F::kUintOrNull:
      s["nullable"] = true;
      [[fallthrough]];
    case F::kUint:
      s["type"] = "integer";
      s["minimum"] = 0;
      s["maximum"] = f.max ? f.max : UINT64_MAX;
      return s;
    case F::kDomainList:  // ops' CheckField: an array of at most max (0: 1000) domains
      s["type"] = "array";
      s["items"] = Json{{"type", "string"}, {"format", "hostname"}, {"maxLength", 253}};
      s["maxItems"] = f.max ? f.max : 1000;
      return s;
    default:
      break;
  }
  s["type"] = "string";
  switch (f.type) {
    case F::kSecret:
      s["format"] = "password";
      s["minLength"] = 1;
      s["maxLength"] = f.max ? f.max : 4096;
      break;
    case F::kDomain:
      s["format"] = "hostname";
      s["maxLength"] = 253;
      break;
    case F::kMailbox:
      s["format"] = "email";
      s["maxLength"] = 320;
      break;
    case F::kAddress:
      s["description"] = "an address, or @domain";
      s["maxLength"] = 320;
      break;
    case F::kAdminName:  // common/admin_accounts.h: 1..64 characters
      s["minLength"] = 1;
      s["maxLength"] = f.max ? f.max : 64;
      break;
    default:
      s["maxLength"] = f.max ? f.max : 1024;
      break;
  }
  return s;
}

// The body schema of an operation's fields, without those the path or the
// route gives.
Json BodySchema(const ops::Operation& op, const std::vector<std::string>& taken) {
  Json props = Json::object();
  Json required = Json::array();
  for (const ops::Field& f : op.fields) {
    if (std::find(taken.begin(), taken.end(), f.name) != taken.end()) continue;
    props[f.name] = FieldSchema(f);
    if (f.required) required.push_back(f.name);
  }
  Json s = Json{{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
  if (!required.empty()) s["required"] = required;
  return s;
}

Json Ref(const char* name) { return Json{{"$ref", std::string("#/components/schemas/") + name}}; }

Json ErrorResponse(const char* what) {
  return Json{{"description", what}, {"content", {{"application/json", {{"schema", Ref("Error")}}}}}};
}

Json SessionBody() {
  Json props = Json::object();
  props["name"] = Json{{"type", "string"}, {"maxLength", 320}, {"description", "an administrator's account"}};
  props["address"] = Json{{"type", "string"}, {"maxLength", 320}, {"description", "a mailbox's address"}};
  props["password"] = Json{{"type", "string"}, {"format", "password"}, {"minLength", 1}, {"maxLength", 4096}};
  props["totp"] = Json{{"type", "string"}, {"maxLength", 16}, {"description", "the code, when the account has TOTP"}};
  props["cookie"] = Json{{"type", "boolean"},
                         {"description", "a browser's sign-in: the session in the HttpOnly cookie roster_session, "
                                         "csrf_token in the answer (send it as X-Roster-CSRF with every change)"}};
  return Json{{"type", "object"}, {"additionalProperties", false}, {"properties", props}, {"required", {"password"}}};
}

Json PatchBody() {
  const ops::Operation* quota = ops::FindOperation("mailbox.set_quota");
  Json props = Json::object();
  props["active"] = Json{{"type", "boolean"}};
  for (const ops::Field& f : quota->fields)
    if (std::string(f.name) != "address") props[f.name] = FieldSchema(f);
  return Json{{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
}

Json Operation(const ApiRoute& route) {
  const ops::Operation* op = RouteOperation(route);
  std::vector<std::string> params = PatternParams(route.pattern);
  std::vector<std::string> taken = params;
  if (route.fixed != nullptr) {
    Json fixed = Json::parse(route.fixed);
    for (auto it = fixed.begin(); it != fixed.end(); ++it) taken.push_back(it.key());
  }
  Json o = Json::object();
  std::string id = op ? std::string(op->name) : "";
  if (route.kind != RouteKind::kOperation || id.empty()) {
    id = std::string(route.method) + std::string(route.pattern);
    std::replace_if(id.begin(), id.end(), [](char c) { return c == '/' || c == '{' || c == '}' || c == '.'; }, '_');
  } else if (route.fixed != nullptr) {
    id += std::string(route.pattern).find("/outgoing/") != std::string::npos ? ".outgoing" : ".incoming";
  }
  o["operationId"] = id;
  o["summary"] = route.summary;
  if (op) {
    o["x-roster-operation"] = op->name;
    o["x-roster-changes"] = op->changes;
  }
  Json parameters = Json::array();
  for (const std::string& p : params) {
    Json schema = Json{{"type", "string"}};
    if (op)
      for (const ops::Field& f : op->fields)
        if (p == f.name) schema = FieldSchema(f);
    parameters.push_back(Json{{"name", p}, {"in", "path"}, {"required", true}, {"schema", schema}});
  }
  if (route.query && op) {
    for (const ops::Field& f : op->fields) {
      if (std::find(taken.begin(), taken.end(), f.name) != taken.end()) continue;
      parameters.push_back(Json{{"name", f.name}, {"in", "query"}, {"required", f.required}, {"schema", FieldSchema(f)}});
    }
  }
  if (route.versioned) {
    const char* header = std::string(route.method) == "GET" ? "If-None-Match" : "If-Match";
    parameters.push_back(Json{{"name", header}, {"in", "header"}, {"required", false}, {"schema", {{"type", "string"}}}});
  }
  if (!parameters.empty()) o["parameters"] = parameters;
  if (route.body) {
    Json schema;
    if (route.kind == RouteKind::kSessionCreate) {
      schema = SessionBody();
    } else if (route.kind == RouteKind::kMailboxPatch) {
      schema = PatchBody();
    } else if (route.kind == RouteKind::kPassword) {
      schema = Json{{"oneOf", {BodySchema(*op, taken), BodySchema(*ops::FindOperation("mailbox.change_password"), taken)}}};
    } else {
      schema = BodySchema(*op, taken);
    }
    o["requestBody"] = Json{{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
  }
  Json responses = Json::object();
  Json ok = Json{{"description", "done"}};
  if (route.status != 204) ok["content"] = Json{{"application/json", {{"schema", {{"type", "object"}}}}}};
  if (route.versioned && std::string(route.method) != "DELETE")
    ok["headers"] = Json{{"ETag", {{"schema", {{"type", "string"}}}}}};
  responses[std::to_string(route.status)] = ok;
  if (route.kind == RouteKind::kMailboxPut) responses["201"] = Json{{"description", "created"}, {"content", ok["content"]}};
  if (route.versioned && std::string(route.method) == "GET") responses["304"] = Json{{"description", "not modified"}};
  responses["400"] = ErrorResponse("invalid input (error.field names it)");
  if (!route.open) {
    responses["401"] = ErrorResponse("no valid bearer token");
    responses["403"] = ErrorResponse("not allowed to this principal (code csrf: a change with the session cookie "
                                     "lacked its X-Roster-CSRF header or came from another origin)");
  }
  if (!params.empty()) responses["404"] = ErrorResponse("no such object (inside the principal's scope)");
  if (op && op->changes) responses["409"] = ErrorResponse("conflicts with what exists");
  if (route.versioned && std::string(route.method) != "GET") responses["412"] = ErrorResponse("If-Match failed");
  if (route.body) responses["415"] = ErrorResponse("the body is not application/json");
  if (route.kind == RouteKind::kSessionCreate) {
    responses["403"] = ErrorResponse("code csrf: a cookie sign-in from another origin");
    responses["429"] = ErrorResponse("too many failed sign-ins");
  }
  // The open operations' refusals, each with a code of its own (doc/api.md "Errors").
  const std::string name = op ? op->name : "";
  if (route.open && op) {
    responses["429"] = ErrorResponse("code too_many_attempts: this client (or, for applications, all clients "
                                     "together) made too many calls; Retry-After says when to try again");
  }
  if (name == "recovery.reset") {
    responses["429"] = ErrorResponse("code reset_locked: the reset is locked after too many wrong answers "
                                     "(Retry-After: the seconds left); code too_many_attempts: this client made "
                                     "too many calls (Retry-After)");
  }
  if (name == "application.submit") {
    responses["409"] = ErrorResponse("code mailbox_exists: the address has a mailbox; code application_pending: "
                                     "an application for the address is waiting for a decision");
  }
  responses["503"] = ErrorResponse("the database is unavailable: retry later");
  o["responses"] = responses;
  if (route.open) o["security"] = Json::array();
  return o;
}

}  // namespace

Json OpenApiDocument() {
  Json doc = Json::object();
  doc["openapi"] = "3.0.3";
  doc["info"] = Json{{"title", "roster administration API"},
                     {"version", PACKAGE_VERSION},
                     {"description", "roster-apid: domains, mailboxes, subscriptions, app passwords, send-as grants, "
                                     "outbound limits, the change log, administrators and API keys (doc/api.md)."}};
  Json paths = Json::object();
  for (const ApiRoute& route : ApiRoutes()) {
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), [](char c) { return static_cast<char>(c - 'A' + 'a'); });
    paths[route.pattern][method] = Operation(route);
  }
  doc["paths"] = paths;
  Json error = Json::object();
  error["type"] = "object";
  error["required"] = {"error"};
  error["properties"] = Json{
      {"error",
       {{"type", "object"},
        {"required", {"code", "message", "field"}},
        {"properties",
         {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}, {"field", {{"type", "string"}, {"nullable", true}}}}}}}};
  doc["components"] = Json{{"schemas", {{"Error", error}}},
                           {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}};
  doc["security"] = Json::array({Json{{"bearer", Json::array()}}});
  return doc;
}

}  // namespace roster
