// libFuzzer target: common/json.h's ParseJson, the reader of every request
// body roster-apid accepts, on arbitrary bytes. Beyond "no crash" (and no
// exception: ParseJson catches the library's), it checks ParseJson's promises:
// what it accepts is within the depth bound, has no object naming a key twice,
// and written out with DumpJson and read again gives the same value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace {

// The deepest nesting of v; aborts on a key twice in one object.
int Depth(const roster::Json& v) {
  if (!v.is_structured()) return 0;
  int deepest = 0;
  if (v.is_object()) {
    // ordered_json keeps keys in a vector: a duplicate would show here.
    std::vector<std::string> seen;
    for (auto it = v.begin(); it != v.end(); ++it) {
      for (const std::string& k : seen)
        if (k == it.key()) abort();
      seen.push_back(it.key());
    }
  }
  for (const auto& child : v) deepest = std::max(deepest, Depth(child));
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  roster::JsonLimits limits;
  limits.max_bytes = 4096;
  limits.max_depth = 8;
  auto v = roster::ParseJson(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!v.ok()) return 0;
  if (Depth(*v) > limits.max_depth) abort();
  std::string text = roster::DumpJson(*v);
  roster::JsonLimits wide;
  wide.max_bytes = 1 << 20;
  auto again = roster::ParseJson(text, wide);
  if (!again.ok() || *again != *v) abort();
  return 0;
}
