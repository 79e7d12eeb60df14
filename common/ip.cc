// ip.cc: see ip.h.
#include "common/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "common/units.h"

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

namespace {

// The mask of byte `i` of a prefix `bits` long.
unsigned char MaskOf(size_t i, int bits) {
  int keep = std::clamp(bits - static_cast<int>(i * 8), 0, 8);
  return static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
}

// RFC 6052 section 2.2: the IPv4 address follows the prefix, skipping bits
// 64-71 (byte 8); what is left after it is the suffix.
size_t EmbeddedByte(const Nat64Prefix& prefix, size_t i) {
  size_t pos = static_cast<size_t>(prefix.length) / 8 + i;
  return pos >= 8 && prefix.length < 96 ? pos + 1 : pos;
}

// Blocks whose /64s hold unrelated hosts: NAT64's well-known prefix and
// local-use block (RFC 6052, RFC 8215), where every IPv4 host is an address,
// and Teredo (RFC 4380: 2001::/32), where every client of one Teredo server
// shares the /64.
const std::vector<Nat64Prefix>& SharedBlocks() {
  static const std::vector<Nat64Prefix> blocks = {
      {std::string("\x00\x64\xff\x9b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16), 96},
      {std::string("\x00\x64\xff\x9b\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16), 48},
      {std::string("\x20\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16), 32},
  };
  return blocks;
}

}  // namespace

IpRange PrefixRange(std::string_view packed, int bits) {
  IpRange r{std::string(packed), std::string(packed)};
  for (size_t i = 0; i < packed.size(); ++i) {
    unsigned char mask = MaskOf(i, bits);
    r.low[i] = static_cast<char>(static_cast<unsigned char>(packed[i]) & mask);
    r.high[i] = static_cast<char>(static_cast<unsigned char>(packed[i]) | static_cast<unsigned char>(~mask));
  }
  return r;
}

bool InPrefix(std::string_view packed, std::string_view prefix, int bits) {
  if (packed.size() != prefix.size()) return false;
  for (size_t i = 0; i < packed.size(); ++i) {
    unsigned char mask = MaskOf(i, bits);
    if ((static_cast<unsigned char>(packed[i]) & mask) != (static_cast<unsigned char>(prefix[i]) & mask))
      return false;
  }
  return true;
}

Result<Nat64Prefix> ParseNat64Prefix(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return Error::Invalid("NAT64 prefix needs a length: " + std::string(text));
  std::string address(text.substr(0, slash));
  auto length = ParseCount(text.substr(slash + 1));
  if (!length || (*length != 32 && *length != 40 && *length != 48 && *length != 56 && *length != 64 && *length != 96))
    return Error::Invalid("NAT64 prefix length must be 32, 40, 48, 56, 64 or 96: " + std::string(text));
  unsigned char buf[16];
  if (address.size() > INET6_ADDRSTRLEN || inet_pton(AF_INET6, address.c_str(), buf) != 1)
    return Error::Invalid("NAT64 prefix must be an IPv6 address: " + std::string(text));
  Nat64Prefix p;
  p.bytes.assign(reinterpret_cast<char*>(buf), 16);
  p.length = static_cast<int>(*length);
  if (PrefixRange(p.bytes, p.length).low != p.bytes)
    return Error::Invalid("NAT64 prefix has bits set past its length: " + std::string(text));
  return p;
}

std::optional<std::string> EmbeddedIpv4(std::string_view packed, const Nat64Prefix& prefix) {
  if (packed.size() != 16 || !InPrefix(packed, prefix.bytes, prefix.length)) return std::nullopt;
  if (prefix.length < 96 && packed[8] != 0) return std::nullopt;  // bits 64-71 must be zero
  std::string v4(4, '\0');
  for (size_t i = 0; i < 4; ++i) v4[i] = packed[EmbeddedByte(prefix, i)];
  return v4;
}

std::string EmbedIpv4(std::string_view ipv4, const Nat64Prefix& prefix) {
  std::string out = prefix.bytes;
  for (size_t i = 0; i < 4 && i < ipv4.size(); ++i) out[EmbeddedByte(prefix, i)] = ipv4[i];
  return out;
}

std::vector<IpRange> RelayRanges(std::string_view client, int ipv4_bits, int ipv6_bits,
                                 const std::vector<Nat64Prefix>& nat64) {
  std::string v4;
  if (client.size() == 4) {
    v4 = std::string(client);
  } else if (client.size() == 16) {
    for (const Nat64Prefix& p : nat64) {
      if (!InPrefix(client, p.bytes, p.length)) continue;
      auto carried = EmbeddedIpv4(client, p);
      if (!carried) return {IpRange{std::string(client), std::string(client)}};  // not RFC 6052's form
      v4 = *carried;
      break;
    }
    if (v4.empty()) {
      for (const Nat64Prefix& b : SharedBlocks())
        if (InPrefix(client, b.bytes, b.length)) return {IpRange{std::string(client), std::string(client)}};
      // A native IPv6 client: its network, but none of the translation
      // prefixes, whose addresses stand for unrelated hosts anywhere.
      int bits = ipv6_bits;
      for (const auto* list : {&nat64, &SharedBlocks()})
        for (const Nat64Prefix& b : *list)
          if (b.length > ipv6_bits && InPrefix(client, b.bytes, ipv6_bits)) bits = std::max(bits, b.length);
      return {PrefixRange(client, bits)};
    }
  } else {
    return {};
  }
  IpRange four = PrefixRange(v4, ipv4_bits);
  std::vector<IpRange> ranges{four};
  for (const Nat64Prefix& p : nat64) ranges.push_back({EmbedIpv4(four.low, p), EmbedIpv4(four.high, p)});
  return ranges;
}

Result<IpPrefix> ParseIpPrefix(std::string_view text) {
  auto slash = text.find('/');
  auto packed = PackIp(text.substr(0, slash));
  if (!packed) return packed.error();
  int max = static_cast<int>(packed->size() * 8), bits = max;
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string_view::npos)
      return Error::Invalid("bad prefix length in '" + std::string(text.substr(0, 64)) + "'");
    bits = std::stoi(std::string(len));
    // An IPv4-mapped IPv6 network is stored as IPv4 (PackIp): its length too.
    if (packed->size() == 4 && text.substr(0, slash).find(':') != std::string_view::npos) bits -= 96;
    if (bits < 0 || bits > max) return Error::Invalid("prefix length out of range in '" + std::string(text.substr(0, 64)) + "'");
  }
  if (PrefixRange(*packed, bits).low != *packed)
    return Error::Invalid("'" + std::string(text.substr(0, 64)) + "' has bits set past its prefix length");
  return IpPrefix{std::move(*packed), bits};
}

bool InAnyPrefix(std::string_view packed, const std::vector<IpPrefix>& prefixes) {
  for (const IpPrefix& p : prefixes)
    if (p.packed.size() == packed.size() && InPrefix(packed, p.packed, p.bits)) return true;
  return false;
}

}  // namespace roster
