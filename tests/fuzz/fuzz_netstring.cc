// libFuzzer target: the socketmap netstring reader on arbitrary bytes, fed
// in pieces whose sizes come from the input. Beyond "no crash", it checks
// that a payload read back encodes to the bytes it came from, that no
// payload exceeds the limit, and that nothing unbounded is held.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/netstring.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t kMax = 300;
  roster::NetstringReader reader(kMax);
  size_t piece = 1 + data[0] % 64;
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string payload, problem, consumed;
  for (size_t at = 0; at < input.size(); at += piece) {
    reader.Feed(input.substr(at, piece));
    for (;;) {
      auto status = reader.Next(&payload, &problem);
      if (status == roster::NetstringReader::Status::kNetstring) {
        if (payload.size() > kMax) abort();
        consumed += roster::EncodeNetstring(payload);
        if (input.compare(0, consumed.size(), consumed) != 0) abort();
        continue;
      }
      if (status == roster::NetstringReader::Status::kNeedMore) {
        if (reader.buffered() > kMax + 11 + piece) abort();
        break;
      }
      if (problem.empty()) abort();
      return 0;
    }
  }
  return 0;
}
