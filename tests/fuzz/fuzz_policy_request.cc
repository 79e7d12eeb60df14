// libFuzzer target: the policy protocol reader on arbitrary bytes, fed in
// pieces whose sizes come from the input. Beyond "no crash", it checks the
// reader's promises: it never holds more than one unfinished request and one
// piece, a request never has more attributes than the limit, and a final
// status is final.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/policy_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const roster::PolicyLimits limits{512, 8};
  roster::PolicyRequestReader reader(limits);
  size_t piece = 1 + data[0] % 64;
  std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  roster::PolicyRequest request;
  std::string problem;
  for (size_t at = 0; at < input.size(); at += piece) {
    std::string chunk = input.substr(at, piece);
    reader.Feed(chunk);
    for (;;) {
      auto status = reader.Next(&request, &problem);
      if (status == roster::PolicyRequestReader::Status::kRequest) {
        if (request.attributes > limits.max_attributes) abort();
        continue;
      }
      if (status == roster::PolicyRequestReader::Status::kNeedMore) {
        if (reader.buffered() > limits.max_bytes + piece) abort();
        break;
      }
      if (problem.empty()) abort();
      return 0;  // the connection would be closed here
    }
  }
  return 0;
}
