// openapi.h: roster-apid's OpenAPI 3 document, made by code from the route
// table (api/routes.h) and the operations' declared input fields
// (ops/operations.h: types, bounds, required), so it cannot say something
// the daemon does not do. Served at GET /v1/openapi.json; `roster-apid
// --openapi` prints it, and doc/api.openapi.json is that output, checked by
// tests/api/apid.test against the served one.
//
// Trusts: nothing; a pure function of the two tables.
#ifndef ROSTER_API_OPENAPI_H
#define ROSTER_API_OPENAPI_H

#include "common/json.h"

namespace roster {

Json OpenApiDocument();

}  // namespace roster

#endif  // ROSTER_API_OPENAPI_H
