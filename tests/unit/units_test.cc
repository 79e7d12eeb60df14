// Tests of the quantity parser shared by the config file and rosterctl.
#include <gtest/gtest.h>

#include "common/units.h"

namespace roster {
namespace {

TEST(Units, Sizes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("1024"), 1024u);
  EXPECT_EQ(*ParseSize("500M"), 500ull << 20);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
  EXPECT_EQ(*ParseSize("2g"), 2ull << 30);
  EXPECT_EQ(*ParseSize("3k"), 3072u);
  EXPECT_EQ(*ParseSize("1T"), 1ull << 40);
  EXPECT_EQ(*ParseSize("10MB"), 10ull << 20);
  EXPECT_EQ(*ParseSize("10MiB"), 10ull << 20);
  EXPECT_EQ(*ParseSize("10B"), 10u);
  for (const char* bad : {"", "M", "-1", "1.5G", "1 G", "12X", "1GG", "1BB", "99999999999999999999", "16777216T"})
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
}

TEST(Units, CountsAndInts) {
  EXPECT_EQ(*ParseCount("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseCount("18446744073709551616").ok());
  EXPECT_FALSE(ParseCount("1k").ok());
  EXPECT_EQ(*ParseInt("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(ParseInt("9223372036854775808").ok());
  EXPECT_FALSE(ParseInt("-").ok());
}

TEST(Units, Durations) {
  EXPECT_EQ(ParseDuration("30")->count(), 30000);
  EXPECT_EQ(ParseDuration("30s")->count(), 30000);
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("3h")->count(), 3 * 3600 * 1000);
  EXPECT_EQ(ParseDuration("2d")->count(), 2 * 86400 * 1000);
  EXPECT_FALSE(ParseDuration("3 h").ok());
  EXPECT_FALSE(ParseDuration("99999999999d").ok());
}

TEST(Units, Bools) {
  EXPECT_TRUE(*ParseBool("YES"));
  EXPECT_TRUE(*ParseBool("on"));
  EXPECT_FALSE(*ParseBool("0"));
  EXPECT_FALSE(ParseBool("y").ok());
}

TEST(Units, FormatSize) {
  EXPECT_EQ(FormatSize(0), "0B");
  EXPECT_EQ(FormatSize(1536), "1.5K");
  EXPECT_EQ(FormatSize(2ull << 30), "2G");
}

TEST(Units, ErrorQuotesBoundedInput) {
  auto r = ParseSize(std::string(1000, '9'));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 120u);
}

}  // namespace
}  // namespace roster
