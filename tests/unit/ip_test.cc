// Tests of the IP packing used for last logins, and of the login addresses
// that let a client relay (prefixes, NAT64).
#include <gtest/gtest.h>

#include "common/ip.h"

namespace roster {
namespace {

TEST(Ip, PacksBothFamilies) {
  EXPECT_EQ(PackIp("127.0.0.2")->size(), 4u);
  EXPECT_EQ(PackIp("::1")->size(), 16u);
  EXPECT_EQ(PackIp("[2001:db8::5]")->size(), 16u);
  EXPECT_EQ(UnpackIp(*PackIp("2001:db8::5")), "2001:db8::5");
  EXPECT_EQ(UnpackIp(*PackIp("192.0.2.44")), "192.0.2.44");
}

TEST(Ip, MappedV4IsStoredAsV4) { EXPECT_EQ(*PackIp("::ffff:192.0.2.1"), *PackIp("192.0.2.1")); }

TEST(Ip, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "localhost", "1.2.3.4 ", "::g", "[::1"})
    EXPECT_FALSE(PackIp(bad).ok()) << bad;
  EXPECT_FALSE(PackIp(std::string(100, '1')).ok());
  EXPECT_EQ(UnpackIp("abc"), "");
}

}  // namespace
}  // namespace roster

namespace roster {
namespace {

std::string P(const char* text) { return *PackIp(text); }
Nat64Prefix Prefix(const char* text) {
  auto p = ParseNat64Prefix(text);
  EXPECT_TRUE(p.ok()) << text;
  return p.ok() ? *p : Nat64Prefix{};
}
// Whether a login from `login` lets `client` relay, as the SQL compares.
bool Matches(const std::vector<IpRange>& ranges, const char* login) {
  std::string l = P(login);
  for (const IpRange& r : ranges)
    if (l.size() == r.low.size() && r.low <= l && l <= r.high) return true;
  return false;
}

TEST(Ip, PrefixRanges) {
  IpRange r = PrefixRange(P("192.0.2.77"), 24);
  EXPECT_EQ(UnpackIp(r.low), "192.0.2.0");
  EXPECT_EQ(UnpackIp(r.high), "192.0.2.255");
  r = PrefixRange(P("2001:db8:1:2:3:4:5:6"), 64);
  EXPECT_EQ(UnpackIp(r.low), "2001:db8:1:2::");
  EXPECT_EQ(UnpackIp(r.high), "2001:db8:1:2:ffff:ffff:ffff:ffff");
  EXPECT_EQ(PrefixRange(P("192.0.2.77"), 32).low, P("192.0.2.77"));
  EXPECT_EQ(UnpackIp(PrefixRange(P("192.0.2.77"), 0).high), "255.255.255.255");
  EXPECT_TRUE(InPrefix(P("2001:db8::1"), P("2001:db8::"), 32));
  EXPECT_FALSE(InPrefix(P("2001:db9::1"), P("2001:db8::"), 32));
  EXPECT_FALSE(InPrefix(P("192.0.2.1"), P("2001:db8::"), 0));  // families never mix
}

TEST(Ip, Nat64PrefixesParseOnlyRfc6052Forms) {
  Nat64Prefix wkp = Prefix("64:ff9b::/96");
  EXPECT_EQ(wkp.length, 96);
  EXPECT_EQ(UnpackIp(wkp.bytes), "64:ff9b::");
  EXPECT_EQ(Prefix("64:ff9b:1::/48").length, 48);
  for (const char* bad : {"64:ff9b::", "64:ff9b::/97", "64:ff9b::/24", "64:ff9b::/x", "192.0.2.0/96",
                          "64:ff9b::1/96", "64:ff9b:1:2::/48", "2001:db8::/", "/96", ""})
    EXPECT_FALSE(ParseNat64Prefix(bad).ok()) << bad;
}

TEST(Ip, EmbeddedIpv4AtEveryRfc6052Length) {
  // RFC 6052 section 2.4's examples, for 192.0.2.33 under 2001:db8::/n.
  const struct {
    const char* prefix;
    const char* address;
  } kExamples[] = {
      {"2001:db8::/32", "2001:db8:c000:221::"},   {"2001:db8:100::/40", "2001:db8:1c0:2:21::"},
      {"2001:db8:122::/48", "2001:db8:122:c000:2:2100::"}, {"2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"},
      {"2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"}, {"2001:db8:122:344::/96", "2001:db8:122:344::c000:221"},
  };
  for (const auto& e : kExamples) {
    Nat64Prefix p = Prefix(e.prefix);
    EXPECT_EQ(UnpackIp(EmbedIpv4(P("192.0.2.33"), p)), e.address) << e.prefix;
    auto v4 = EmbeddedIpv4(P(e.address), p);
    ASSERT_TRUE(v4) << e.prefix;
    EXPECT_EQ(UnpackIp(*v4), "192.0.2.33") << e.prefix;
  }
  EXPECT_FALSE(EmbeddedIpv4(P("2001:db9::c000:221"), Prefix("2001:db8::/96")));  // another prefix
  EXPECT_FALSE(EmbeddedIpv4(P("192.0.2.33"), Prefix("64:ff9b::/96")));
  EXPECT_FALSE(EmbeddedIpv4(P("2001:db8:122:344:ffc0:2:2100:0"), Prefix("2001:db8:122:344::/64")));  // u-octet
}

TEST(Ip, Nat64ClientIsItsIpv4AddressNotA64) {
  const std::vector<Nat64Prefix> nat64 = {Prefix("64:ff9b::/96")};
  auto ranges = RelayRanges(P("64:ff9b::c000:201"), 32, 64, nat64);  // 192.0.2.1 through the translator
  EXPECT_TRUE(Matches(ranges, "192.0.2.1"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b::c000:201"));  // its login, also through the translator
  EXPECT_FALSE(Matches(ranges, "192.0.2.2"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:202"));  // another IPv4 host, in the same /64
  EXPECT_FALSE(Matches(ranges, "64:ff9b::1"));
  // The IPv4 prefix setting applies, in both forms.
  ranges = RelayRanges(P("64:ff9b::c000:201"), 24, 64, nat64);
  EXPECT_TRUE(Matches(ranges, "192.0.2.200"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b::c000:2c8"));
  EXPECT_FALSE(Matches(ranges, "192.0.3.1"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:301"));
  // An IPv4 client matches its own logins made through the translator.
  ranges = RelayRanges(P("192.0.2.1"), 32, 64, nat64);
  EXPECT_TRUE(Matches(ranges, "192.0.2.1"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b::c000:201"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:202"));
}

TEST(Ip, ConfiguredLocalUsePrefix) {
  const std::vector<Nat64Prefix> nat64 = {Prefix("64:ff9b::/96"), Prefix("64:ff9b:1::/48")};
  // 192.0.2.1 under 64:ff9b:1::/48: 64:ff9b:1:c000:2:100::.
  auto ranges = RelayRanges(P("64:ff9b:1:c000:2:100::"), 32, 64, nat64);
  EXPECT_TRUE(Matches(ranges, "192.0.2.1"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b::c000:201"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b:1:c000:2:100::"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b:1:c000:2:200::"));  // 192.0.2.2
  EXPECT_FALSE(Matches(ranges, "64:ff9b:1:c000:2:1ff::"));  // 192.0.2.1 with a suffix: not RFC 6052's form
  EXPECT_FALSE(Matches(ranges, "192.0.2.2"));
}

TEST(Ip, UnconfiguredTranslationBlocksMatchOnlyTheSameAddress) {
  // The local-use block without a configured length: where the IPv4 address
  // sits is unknown, so only the very address matches, never its /64.
  auto ranges = RelayRanges(P("64:ff9b:1::c000:201"), 32, 64, {});
  EXPECT_TRUE(Matches(ranges, "64:ff9b:1::c000:201"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b:1::c000:202"));
  EXPECT_FALSE(Matches(ranges, "192.0.2.1"));
  // The well-known prefix with the setting emptied: the same.
  ranges = RelayRanges(P("64:ff9b::c000:201"), 32, 64, {});
  EXPECT_TRUE(Matches(ranges, "64:ff9b::c000:201"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:202"));
  // Teredo: every client of one Teredo server (here 65.54.227.120) shares a /64.
  ranges = RelayRanges(P("2001:0:4136:e378:8000:63bf:3fff:fdd2"), 32, 64, {});
  EXPECT_TRUE(Matches(ranges, "2001:0:4136:e378:8000:63bf:3fff:fdd2"));
  EXPECT_FALSE(Matches(ranges, "2001:0:4136:e378:8000:63bf:3fff:fdd3"));
  // A native client's short prefix does not take Teredo in either.
  ranges = RelayRanges(P("2001:db8::1"), 32, 16, {});
  EXPECT_TRUE(Matches(ranges, "2001:db8:ffff::1"));
  EXPECT_FALSE(Matches(ranges, "2001:0:4136:e378:8000:63bf:3fff:fdd2"));
}

TEST(Ip, NativeIpv6ClientNeverTakesInATranslationPrefix) {
  const std::vector<Nat64Prefix> nat64 = {Prefix("64:ff9b::/96")};
  // A client in 64:ff9b::/64 but outside the /96: its /64 would hold every
  // IPv4 host; it gets its /96 instead.
  auto ranges = RelayRanges(P("64:ff9b::1:0:0:5"), 32, 64, nat64);
  EXPECT_TRUE(Matches(ranges, "64:ff9b::1:0:0:5"));
  EXPECT_TRUE(Matches(ranges, "64:ff9b::1:0:0:6"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:201"));
  // A short IPv6 prefix: the same.
  ranges = RelayRanges(P("64:ff9b:2::1"), 32, 16, nat64);
  EXPECT_TRUE(Matches(ranges, "64:ff9b:2::2"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b::c000:201"));
  EXPECT_FALSE(Matches(ranges, "64:ff9b:1::c000:201"));
  // Other clients keep their /64.
  ranges = RelayRanges(P("2001:db8:1:2::10"), 32, 64, nat64);
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_TRUE(Matches(ranges, "2001:db8:1:2:ffff::1"));
  EXPECT_FALSE(Matches(ranges, "2001:db8:1:3::10"));
  EXPECT_TRUE(RelayRanges("abc", 32, 64, nat64).empty());
}

}  // namespace
}  // namespace roster
