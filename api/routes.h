// routes.h: roster-apid's REST API as a table of data. Each row is a method
// and a path pattern, the administration operation (ops/operations.h) it
// runs, where that operation's input comes from, and what success answers.
// The daemon's handlers (api/service.cc), the OpenAPI document
// (api/openapi.cc) and the tests all read this one table, so the routes, the
// operations and the document cannot drift apart.
//
// How a request becomes an operation's input (a JSON object):
//   - each {name} of the path is the operation's field `name`, converted by
//     the field's type ("42" for a number, "true"/"false" for a flag);
//   - with `query`, each query parameter is the field of its name, converted
//     the same way (listings: filters, sort, cursor, limit); without it, a
//     query parameter is refused;
//   - with a JSON body, its members are the fields of their names (one also
//     given by the path is refused);
//   - `fixed` adds fields the route itself implies ({"outgoing": true}).
// The operation then checks the input as it always does (unknown fields,
// types, bounds: 400 with the field's name).
//
// Trusts: nothing; plain data.
#ifndef ROSTER_API_ROUTES_H
#define ROSTER_API_ROUTES_H

#include <string>
#include <vector>

#include "api/http_server.h"
#include "common/json.h"
#include "common/result.h"
#include "ops/operations.h"

namespace roster {

enum class RouteKind {
  kOperation,     // runs `operation`
  kPassword,      // PUT .../password: mailbox.change_password when the body has
                  // current_password (a user's own change), else mailbox.set_password
  kMailboxPut,    // PUT /v1/mailboxes/{address}: creates it (mailbox.add) or brings an
                  // existing one to the given active state and limits
  kMailboxPatch,  // PATCH /v1/mailboxes/{address}: active (enable/disable), limits (set_quota)
  kSessionCreate, // POST /v1/session: sign in
  kSessionShow,   // GET /v1/session: who am I
  kSessionEnd,    // DELETE /v1/session: sign out
  kOpenApi,       // GET /v1/openapi.json
};

struct ApiRoute {
  const char* method;
  const char* pattern;
  RouteKind kind;
  // kOperation: the operation run. The other kinds: the operation whose
  // fields describe the input ("" for none).
  const char* operation;
  int status;          // the answer on success (204: no body)
  bool body;           // takes a JSON body
  bool query;          // the query's parameters are input fields
  const char* fixed;   // a JSON object of fields the route implies, or nullptr
  // GET: answers an ETag (and 304 to If-None-Match). PUT, PATCH, DELETE: an
  // If-Match is checked against the ETag of the GET of the same path, under
  // a lock, so of two writers with the same If-Match one gets 412.
  bool versioned;
  // PUT that creates: the operation's "exists already" (kConflict) is the
  // same success as the first PUT's (PUT twice, same answer).
  bool exists_is_done;
  bool open;           // no Authorization needed
  const char* summary;
};

// Every route, in the order of the document.
const std::vector<ApiRoute>& ApiRoutes();

// The operation of a kOperation route, or the one describing another kind's
// input; nullptr if none.
const ops::Operation* RouteOperation(const ApiRoute& route);

// The {name}s of a pattern, in order.
std::vector<std::string> PatternParams(const std::string& pattern);

// The operation's input for `request` on `route` (see the top of this
// file), for the operation `op`. kInvalid with Error::field for a value
// the field's type refuses, an unknown query parameter, a body member that
// the path already gives.
Result<Json> RouteInput(const ApiRoute& route, const ops::Operation& op, const HttpRequest& request);

// A text value of a path or query parameter as the field's type reads it.
Result<Json> ParamValue(const ops::Field& field, const std::string& text);

}  // namespace roster

#endif  // ROSTER_API_ROUTES_H
