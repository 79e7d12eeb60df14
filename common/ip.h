// ip.h: client IP addresses as the database stores them: the INET6_ATON form
// (4 bytes for IPv4, 16 for IPv6; an IPv4-mapped IPv6 address is stored as
// IPv4, so a client seen over either family matches), address prefixes, and
// the IPv4 addresses that NAT64 translators embed in IPv6 ones (RFC 6052).
//
// Trusts: nothing; text is parsed with inet_pton, bytes are length-checked.
#ifndef ROSTER_COMMON_IP_H
#define ROSTER_COMMON_IP_H

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace roster {

// "192.0.2.1" or "2001:db8::1" (an optional "[...]" is accepted) -> packed bytes.
Result<std::string> PackIp(std::string_view text);
// Packed bytes -> canonical text; "" if the length is neither 4 nor 16.
std::string UnpackIp(std::string_view packed);

// The packed addresses from `low` to `high` (same length), as bytes compare.
struct IpRange {
  std::string low, high;
  bool operator==(const IpRange& o) const { return low == o.low && high == o.high; }
};
// The addresses that share the first `bits` bits with `packed` (clamped to
// its length).
IpRange PrefixRange(std::string_view packed, int bits);
// Whether `packed` shares the first `bits` bits with `prefix` (same length).
bool InPrefix(std::string_view packed, std::string_view prefix, int bits);

// A network "192.0.2.0/24", "2001:db8::/32" or a single address (all bits).
struct IpPrefix {
  std::string packed;
  int bits = 0;
};
// Refused: a length past the family's, or bits set past it.
Result<IpPrefix> ParseIpPrefix(std::string_view text);
// Whether `packed` (an address) is in any of `prefixes`.
bool InAnyPrefix(std::string_view packed, const std::vector<IpPrefix>& prefixes);

// An IPv6 prefix under which a NAT64 translator (or SIIT) writes IPv4
// addresses: 64:ff9b::/96 (RFC 6052's well-known prefix), or a network's own,
// such as one in the local-use 64:ff9b:1::/48 (RFC 8215).
struct Nat64Prefix {
  std::string bytes;  // 16 bytes, zero past `length`
  int length = 96;    // 32, 40, 48, 56, 64 or 96: RFC 6052's lengths
  bool operator==(const Nat64Prefix& o) const { return bytes == o.bytes && length == o.length; }
};
// "64:ff9b::/96" -> the prefix; refused: another length, bits set past it,
// or (for lengths up to 64) bits 64-71, which RFC 6052 keeps zero.
Result<Nat64Prefix> ParseNat64Prefix(std::string_view text);
// The IPv4 address (4 bytes) that `packed` carries, if it is under `prefix`.
std::optional<std::string> EmbeddedIpv4(std::string_view packed, const Nat64Prefix& prefix);
// The IPv6 address (16 bytes) that carries `ipv4` under `prefix` (bits 64-71
// and the suffix zero, as RFC 6052 writes them).
std::string EmbedIpv4(std::string_view ipv4, const Nat64Prefix& prefix);

// POP/IMAP-before-SMTP: the ranges of login addresses that let `client`
// (packed) relay. An IPv4 client, or an IPv6 one under a NAT64 prefix in
// `nat64` (the IPv4 address it carries is the client), matches logins from
// the addresses that share its first `ipv4_bits`, whether seen over IPv4 or
// through any prefix of `nat64`. Another IPv6 client matches logins that
// share its first `ipv6_bits`, but never takes in a block of unrelated hosts
// (a prefix of `nat64`, 64:ff9b::/96, 64:ff9b:1::/48, or Teredo's 2001::/32,
// whose /64s hold every client of one Teredo server): its range is narrowed
// to stay out of them, and a client inside one of these three blocks that
// `nat64` does not cover matches only its own address.
std::vector<IpRange> RelayRanges(std::string_view client, int ipv4_bits, int ipv6_bits,
                                 const std::vector<Nat64Prefix>& nat64);

}  // namespace roster

#endif
