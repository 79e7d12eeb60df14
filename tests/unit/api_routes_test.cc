// api_routes_test.cc: roster-apid's route table (api/routes.h) against the
// operations table (ops/operations.h) and the OpenAPI document
// (api/openapi.h), so none of the three can drift: every route runs an
// operation that exists and names its path parameters after the
// operation's fields, every operation is served, every route is in the
// document and every documented route is in the table; and how a request's
// path, query and body become an operation's input.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/openapi.h"
#include "api/routes.h"
#include "ops/operations.h"

namespace roster {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c - 'A' + 'a');
  return s;
}

TEST(ApiRoutes, EveryRouteRunsAnOperationThatExistsWithItsPathParameters) {
  for (const ApiRoute& r : ApiRoutes()) {
    SCOPED_TRACE(std::string(r.method) + " " + r.pattern);
    if (r.kind == RouteKind::kOperation) {
      ASSERT_NE(RouteOperation(r), nullptr) << r.operation;
    }
    const ops::Operation* op = RouteOperation(r);
    for (const std::string& p : PatternParams(r.pattern)) {
      ASSERT_NE(op, nullptr);
      bool field = false;
      for (const ops::Field& f : op->fields) field = field || p == f.name;
      EXPECT_TRUE(field) << p << " is no field of " << op->name;
    }
    if (r.versioned && std::string(r.method) != "GET") {
      bool get = false;
      for (const ApiRoute& g : ApiRoutes()) get = get || (std::string(g.method) == "GET" && g.pattern == std::string(r.pattern));
      EXPECT_TRUE(get) << "a versioned write needs the GET of its path";
    }
  }
}

TEST(ApiRoutes, TheTableMakesARouter) {
  std::vector<Route> routes;
  for (const ApiRoute& r : ApiRoutes())
    routes.push_back(Route{r.method, r.pattern, [](const HttpRequest&) { return HttpResponse::NoContent(); },
                           r.body ? HttpBody::kJson : HttpBody::kNone});
  auto router = Router::Make(std::move(routes));
  ASSERT_TRUE(router.ok()) << router.error().message;
}

TEST(ApiRoutes, EveryOperationIsServed) {
  std::set<std::string> served;
  for (const ApiRoute& r : ApiRoutes())
    if (const ops::Operation* op = RouteOperation(r)) served.insert(op->name);
  // Served through the composite routes (PUT .../password, PUT and PATCH
  // /v1/mailboxes/{address}).
  for (const char* name : {"mailbox.change_password", "mailbox.enable", "mailbox.disable", "mailbox.set_quota"})
    served.insert(name);
  for (const ops::Operation& op : ops::Operations()) EXPECT_TRUE(served.count(op.name)) << op.name << " has no route";
}

TEST(ApiRoutes, TheDocumentHasEveryRouteAndNothingElse) {
  Json doc = OpenApiDocument();
  std::set<std::string> in_table, in_doc;
  for (const ApiRoute& r : ApiRoutes()) in_table.insert(Lower(r.method) + " " + r.pattern);
  for (auto path = doc["paths"].begin(); path != doc["paths"].end(); ++path)
    for (auto method = path->begin(); method != path->end(); ++method) in_doc.insert(method.key() + " " + path.key());
  EXPECT_EQ(in_table, in_doc);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  // Bounds and required fields come from the operations.
  const Json& add = doc["paths"]["/v1/domains"]["post"]["requestBody"]["content"]["application/json"]["schema"];
  EXPECT_EQ(add["required"], Json::array({"domain"}));
  EXPECT_EQ(add["properties"]["transport"]["maxLength"], 255);
  const Json& list = doc["paths"]["/v1/domains/{domain}/mailboxes"]["get"]["parameters"];
  bool limit = false;
  for (const Json& p : list)
    if (p["name"] == "limit") limit = p["schema"]["maximum"] == ops::kMaxPage && p["in"] == "query";
  EXPECT_TRUE(limit);
}

// A field's schema says what ops' CheckField takes: a list of domains is a
// JSON array (a string is refused with 400), an administrator's name at most
// 64 characters.
TEST(ApiRoutes, TheDocumentTypesFieldsAsTheOperationsCheckThem) {
  Json doc = OpenApiDocument();
  const Json& add = doc["paths"]["/v1/admins"]["post"]["requestBody"]["content"]["application/json"]["schema"];
  EXPECT_EQ(add["properties"]["domains"]["type"], "array");
  EXPECT_EQ(add["properties"]["domains"]["items"]["type"], "string");
  EXPECT_EQ(add["properties"]["domains"]["items"]["format"], "hostname");
  EXPECT_EQ(add["properties"]["name"]["maxLength"], 64);
  const Json& key = doc["paths"]["/v1/api-keys"]["post"]["requestBody"]["content"]["application/json"]["schema"];
  EXPECT_EQ(key["properties"]["domains"]["type"], "array");
  // Every list of domains, wherever an operation takes one.
  for (const ApiRoute& r : ApiRoutes()) {
    const ops::Operation* op = RouteOperation(r);
    const Json& m = doc["paths"][r.pattern][Lower(r.method)];
    const Json::json_pointer body("/requestBody/content/application~1json/schema/properties");
    if (op == nullptr || !m.contains(body)) continue;
    const Json& props = m.at(body);
    for (const ops::Field& f : op->fields) {
      if (f.type == ops::FieldType::kDomainList && props.contains(f.name)) {
        EXPECT_EQ(props[f.name]["type"], "array") << r.method << " " << r.pattern << " " << f.name;
      }
    }
  }
}

const ApiRoute& RouteOf(const char* method, const char* pattern) {
  for (const ApiRoute& r : ApiRoutes())
    if (std::string(r.method) == method && std::string(r.pattern) == pattern) return r;
  throw std::runtime_error("no route");
}

TEST(ApiRoutes, InputFromPathQueryAndBody) {
  const ApiRoute& list = RouteOf("GET", "/v1/domains/{domain}/mailboxes");
  HttpRequest req;
  req.params = {{"domain", "a.test"}};
  req.query = {{"limit", "10"}, {"active", "true"}, {"prefix", "bo"}};
  auto in = RouteInput(list, *RouteOperation(list), req);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(*in, Json({{"domain", "a.test"}, {"limit", 10}, {"active", true}, {"prefix", "bo"}}));

  req.query = {{"limit", "ten"}};
  in = RouteInput(list, *RouteOperation(list), req);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().field, "limit");
  req.query = {{"domain", "b.test"}};  // the path gives it
  EXPECT_FALSE(RouteInput(list, *RouteOperation(list), req).ok());
  req.query = {{"colour", "red"}};
  in = RouteInput(list, *RouteOperation(list), req);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().field, "colour");

  // No secret from a URL, even where the operation takes one.
  const ApiRoute& password = RouteOf("PUT", "/v1/mailboxes/{address}/password");
  HttpRequest put;
  put.params = {{"address", "a@a.test"}};
  put.query = {{"password", "x"}};
  EXPECT_FALSE(RouteInput(password, *RouteOperation(password), put).ok());
  put.query.clear();
  put.json = Json{{"password", "pw"}, {"address", "b@a.test"}};
  in = RouteInput(password, *RouteOperation(password), put);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().field, "address");
  put.json = Json{{"password", "pw"}};
  in = RouteInput(password, *RouteOperation(password), put);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(*in, Json({{"password", "pw"}, {"address", "a@a.test"}}));

  const ApiRoute& outgoing = RouteOf("PUT", "/v1/subscriptions/outgoing/{address}/{recipient}");
  HttpRequest sub;
  sub.params = {{"address", "a@a.test"}, {"recipient", "b@b.test"}};
  in = RouteInput(outgoing, *RouteOperation(outgoing), sub);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ((*in)["outgoing"], true);
}

// The subscriptions delivering to a mailbox: recipient= with its paging,
// from the query of the listing route.
TEST(ApiRoutes, SubscriptionsByRecipientFromTheQuery) {
  const ApiRoute& list = RouteOf("GET", "/v1/subscriptions");
  HttpRequest req;
  req.query = {{"recipient", "bob@a.test"}, {"limit", "20"}, {"cursor", "17"}};
  auto in = RouteInput(list, *RouteOperation(list), req);
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(*in, Json({{"recipient", "bob@a.test"}, {"limit", 20}, {"cursor", "17"}}));
  req.query = {{"recipient", "bob@a.test"}, {"limit", "many"}};
  in = RouteInput(list, *RouteOperation(list), req);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.error().field, "limit");
  EXPECT_STREQ(RouteOperation(list)->alt_object_field, "recipient");
}

}  // namespace
}  // namespace roster
