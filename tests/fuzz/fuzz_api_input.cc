// libFuzzer target: how roster-apid turns a request into an operation's
// input (api/routes.h, RouteInput) on arbitrary requests: the bytes up to the
// first newline are the request target (decoded by api/http_request.h as the
// daemon does), the rest the JSON body (bounded by ParseJson). For every route
// whose pattern the path fits, beyond "no crash": an accepted input is a JSON
// object that holds each path parameter, and no secret (a password) ever came
// from the URL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/http_request.h"
#include "api/routes.h"
#include "common/json.h"

namespace {

bool Fits(const roster::ApiRoute& route, const std::vector<std::string>& segments,
          std::map<std::string, std::string, std::less<>>* params) {
  std::vector<std::string> parts;
  std::string pattern = route.pattern;
  size_t pos = 1;
  while (pos <= pattern.size()) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string::npos) slash = pattern.size();
    parts.push_back(pattern.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (parts.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].empty() && parts[i][0] == '{') {
      (*params)[parts[i].substr(1, parts[i].size() - 2)] = segments[i];
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string target = input.substr(0, newline);
  std::string body = newline == std::string::npos ? "" : input.substr(newline + 1);
  auto t = roster::ParseRequestTarget(target);
  if (!t.ok()) return 0;
  roster::HttpRequest request;
  request.segments = t->segments;
  request.query = t->query;
  if (!body.empty()) {
    auto json = roster::ParseJson(body, roster::JsonLimits{});
    if (!json.ok()) return 0;
    request.json = std::move(*json);
  }
  for (const roster::ApiRoute& route : roster::ApiRoutes()) {
    const roster::ops::Operation* op = roster::RouteOperation(route);
    if (op == nullptr || !Fits(route, request.segments, &request.params)) continue;
    auto in = roster::RouteInput(route, *op, request);
    if (!in.ok()) continue;
    if (!in->is_object()) abort();
    for (const auto& [name, value] : request.params)
      if (!in->contains(name)) abort();
    for (const auto& [name, value] : request.query)
      for (const roster::ops::Field& f : op->fields)
        if (name == f.name && f.type == roster::ops::FieldType::kSecret) abort();
  }
  return 0;
}
