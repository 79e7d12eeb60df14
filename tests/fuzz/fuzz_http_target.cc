// libFuzzer target: roster-apid's request-target decoder (api/http_request.h)
// on arbitrary bytes, as a client sends them. Beyond "no crash", it checks the
// decoder's promises: within the limits, every accepted segment is non-empty,
// valid UTF-8, free of NUL and control characters, neither "." nor "..", and
// holds no "/" or "\"; query names are non-empty and unique; and encoding what
// was accepted and parsing that again gives the same target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "api/http_request.h"
#include "common/address.h"

namespace {

void CheckText(const std::string& s, size_t max) {
  if (s.size() > max || !roster::IsValidUtf8(s)) abort();
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  roster::TargetLimits limits;
  auto t = roster::ParseRequestTarget(input, limits);
  if (!t.ok()) return 0;
  if (t->segments.size() > limits.max_segments || t->query.size() > limits.max_params) abort();
  std::string again;
  for (const std::string& s : t->segments) {
    if (s.empty() || s == "." || s == ".." || s.find_first_of("/\\") != std::string::npos) abort();
    CheckText(s, limits.max_segment);
    again += "/" + roster::PercentEncode(s);
  }
  if (again.empty()) again = "/";
  std::set<std::string> names;
  for (const auto& [name, value] : t->query) {
    if (name.empty() || !names.insert(name).second) abort();
    CheckText(name, limits.max_param);
    CheckText(value, limits.max_param);
    again += (names.size() == 1 ? "?" : "&") + roster::PercentEncode(name) + "=" + roster::PercentEncode(value);
  }
  roster::TargetLimits roomy = limits;
  roomy.max_target = again.size();
  auto t2 = roster::ParseRequestTarget(again, roomy);
  if (!t2.ok() || t2->segments != t->segments || t2->query != t->query) abort();
  return 0;
}
