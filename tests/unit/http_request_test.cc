// Tests of api/http_request: the request target read into decoded segments and
// query parameters, and every path trick refused.
#include <gtest/gtest.h>

#include <string>

#include "api/http_request.h"

namespace roster {
namespace {

TEST(RequestTarget, SegmentsAndQueryDecoded) {
  auto t = ParseRequestTarget("/domains/example.test/mailboxes/al%C3%AFce%40example.test?limit=5&q=a+b%2Bc&flag");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->segments.size(), 4u);
  EXPECT_EQ(t->segments[3], "alïce@example.test");
  ASSERT_EQ(t->query.size(), 3u);
  EXPECT_EQ(t->query[0], (std::pair<std::string, std::string>("limit", "5")));
  EXPECT_EQ(t->query[1].second, "a b+c");
  EXPECT_EQ(t->query[2], (std::pair<std::string, std::string>("flag", "")));
  auto root = ParseRequestTarget("/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->segments.empty());
  // '+' is a plus in the path, a space only in the query; raw '@' and ':' are fine in a path.
  EXPECT_EQ(ParseRequestTarget("/a+b@c:d")->segments[0], "a+b@c:d");
  EXPECT_TRUE(ParseRequestTarget("/x?a=1&&b=2&")->query.size() == 2);
}

TEST(RequestTarget, PathTricksRefused) {
  for (const char* bad : {
           "",  "x", "*", "http://example.test/a",        // not origin-form
           "//a", "/a//b", "/a/",                          // empty segments
           "/..", "/a/../b", "/a/.", "/a/%2e%2e", "/%2E",  // dot segments, also encoded
           "/a%2Fb", "/a%2fb", "/a%5Cb", "/a\\b",          // encoded separators
           "/a%00b", "/a%0ab", "/a%7f", "/a%1b",           // NUL and control characters
           "/a%", "/a%4", "/a%zz", "/a%%41", "/a%g0",      // bad escapes
           "/a%ff", "/a%c3", "/a%ed%a0%80",                // not UTF-8
           "/a b", "/a\"b", "/a<b", "/a#frag", "/a\x01",   // raw characters that must be escaped
           "/a?x=%00", "/a?x=%zz", "/a?x=1&x=2", "/a?=1",  // bad query
           "/a?x=\xff", "/a?x=a b"}) {
    auto t = ParseRequestTarget(bad);
    EXPECT_FALSE(t.ok()) << "accepted: " << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.error().kind, ErrorKind::kInvalid);
    }
  }
}

TEST(RequestTarget, Bounds) {
  TargetLimits limits;
  limits.max_target = 40;
  limits.max_segments = 3;
  limits.max_segment = 5;
  limits.max_params = 2;
  limits.max_param = 4;
  EXPECT_TRUE(ParseRequestTarget("/a/b/c?x=1&y=2", limits).ok());
  EXPECT_FALSE(ParseRequestTarget("/a/b/c/d", limits).ok());
  EXPECT_TRUE(ParseRequestTarget("/abcde", limits).ok());
  EXPECT_FALSE(ParseRequestTarget("/abcdef", limits).ok());
  EXPECT_FALSE(ParseRequestTarget("/%41%41%41%41%41%41", limits).ok());  // decoded length counts
  EXPECT_FALSE(ParseRequestTarget("/a?x=1&y=2&z=3", limits).ok());
  EXPECT_FALSE(ParseRequestTarget("/a?x=12345", limits).ok());
  EXPECT_FALSE(ParseRequestTarget("/" + std::string(40, 'a'), limits).ok());
}

TEST(RequestTarget, EncodeIsTheInverse) {
  for (std::string s : {"alice@example.test", "a b/c?d%e", "ünï", "..", "~x-y_z.w"}) {
    auto back = PercentDecode(PercentEncode(s), false);
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(PercentEncode("a@b/c"), "a%40b%2Fc");
}

}  // namespace
}  // namespace roster
