// Tests of the IP packing used for last logins.
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
