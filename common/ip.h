// ip.h: client IP addresses as the database stores them: the INET6_ATON form
// (4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address is stored as
// IPv4, so a client seen over either family matches).
//
// Trusts: nothing; text is parsed with inet_pton, bytes are length-checked.
#ifndef ROSTER_COMMON_IP_H
#define ROSTER_COMMON_IP_H

#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

// "192.0.2.1" or "2001:db8::1" (an optional "[...]" is accepted) -> packed bytes.
Result<std::string> PackIp(std::string_view text);
// Packed bytes -> canonical text; "" if the length is neither 4 nor 16.
std::string UnpackIp(std::string_view packed);

}  // namespace roster

#endif
