// ip.cc: see ip.h.
#include "common/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace roster {

Result<std::string> PackIp(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return Error::Invalid("invalid IP address");
  std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(buf, kMapped, 12) == 0) return std::string(reinterpret_cast<char*>(buf + 12), 4);
    return std::string(reinterpret_cast<char*>(buf), 16);
  }
  return Error::Invalid("invalid IP address");
}

std::string UnpackIp(std::string_view packed) {
  char out[INET6_ADDRSTRLEN];
  if (packed.size() == 4 && inet_ntop(AF_INET, packed.data(), out, sizeof out)) return out;
  if (packed.size() == 16 && inet_ntop(AF_INET6, packed.data(), out, sizeof out)) return out;
  return "";
}

}  // namespace roster
