// libFuzzer target: client addresses as they arrive in policy requests and
// dict writes (PackIp), NAT64 prefixes from the configuration, and the relay
// ranges built from them. Beyond "no crash", it checks the promises of
// common/ip.h: a packed address is 4 or 16 bytes and survives a round trip
// through text; every relay range is ordered and of one address length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/ip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  // "address|prefix|bits": the parts a request and the configuration supply.
  size_t bar = input.find('|');
  std::string address = input.substr(0, bar);
  std::string rest = bar == std::string::npos ? "" : input.substr(bar + 1);
  size_t bar2 = rest.find('|');
  std::string prefix_text = rest.substr(0, bar2);
  int bits = bar2 == std::string::npos || bar2 + 1 >= rest.size() ? 24 : static_cast<unsigned char>(rest[bar2 + 1]);

  std::vector<roster::Nat64Prefix> nat64;
  if (auto p = roster::ParseNat64Prefix(prefix_text); p.ok()) {
    if (p->bytes.size() != 16) abort();
    nat64.push_back(*p);
  }
  auto packed = roster::PackIp(address);
  if (!packed.ok()) return 0;
  if (packed->size() != 4 && packed->size() != 16) abort();
  auto again = roster::PackIp(roster::UnpackIp(*packed));
  if (!again.ok() || *again != *packed) abort();
  for (const roster::Nat64Prefix& p : nat64) {
    if (auto v4 = roster::EmbeddedIpv4(*packed, p)) {
      if (v4->size() != 4) abort();
      if (roster::EmbeddedIpv4(roster::EmbedIpv4(*v4, p), p) != v4) abort();
    }
  }
  for (const roster::IpRange& r : roster::RelayRanges(*packed, bits % 33, bits % 129, nat64)) {
    if (r.low.size() != r.high.size() || (r.low.size() != 4 && r.low.size() != 16) || r.high < r.low) abort();
  }
  return 0;
}
