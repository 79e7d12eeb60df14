// Tests of common/json: the writer rosterctl --json uses (structure, key order,
// escaping of hostile strings) and the bounded reader roster-apid uses.
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"

namespace roster {
namespace {

TEST(Json, Structure) {
  JsonWriter j;
  j.BeginObject().Field("a", uint64_t{1}).Key("b").BeginArray().String("x").Bool(true).Null().EndArray();
  j.Field("c", int64_t{-2}).EndObject();
  EXPECT_EQ(j.str(), R"({"a":1,"b":["x",true,null],"c":-2})");
}

TEST(Json, KeysKeepTheirOrder) {
  JsonWriter j;
  j.BeginObject().Field("zeta", uint64_t{1}).Field("alpha", uint64_t{2}).Key("mid").BeginObject().EndObject();
  j.Key("list").BeginArray().BeginObject().Field("y", "1").Field("b", "2").EndObject().EndArray().EndObject();
  EXPECT_EQ(j.str(), R"({"zeta":1,"alpha":2,"mid":{},"list":[{"y":"1","b":"2"}]})");
  JsonWriter top;
  top.BeginArray().EndArray();
  EXPECT_EQ(top.str(), "[]");
  EXPECT_EQ(JsonWriter().String("x").str(), "\"x\"");
  EXPECT_EQ(JsonWriter().Uint(UINT64_MAX).str(), "18446744073709551615");
  EXPECT_EQ(JsonWriter().Int(INT64_MIN).str(), "-9223372036854775808");
}

TEST(Json, Escaping) {
  // What rosterctl wrote before it moved to nlohmann/json, byte for byte.
  EXPECT_EQ(JsonWriter::Escape("q\"b\\n\n\t\x01\x1f/"), R"("q\"b\\n\n\t\u0001\u001f/")");
  EXPECT_EQ(JsonWriter::Escape("ünï 中 😀 \xe2\x80\xa8"), "\"ünï 中 😀 \xe2\x80\xa8\"");
  EXPECT_EQ(JsonWriter::Escape(std::string("a\0b", 3)), R"("a\u0000b")");
  // The library's forms where the old writer used \u00XX (the same string to
  // any JSON reader): \b and \f short, DEL as is.
  EXPECT_EQ(JsonWriter::Escape("\b\f\x7f"), "\"\\b\\f\x7f\"");
}

TEST(Json, InvalidUtf8BecomesReplacementCharacters) {
  // Each bad byte one U+FFFD (the old writer wrote it as \ufffd: the same string).
  EXPECT_EQ(JsonWriter::Escape("a\xff" "b"), "\"a\xef\xbf\xbd" "b\"");
  EXPECT_EQ(ValidUtf8("\xe4\xb8"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(ValidUtf8("ok ü"), "ok ü");
  // In keys too, and a value placed without the writer cannot make dump throw.
  JsonWriter j;
  j.BeginObject().Field("k\xff", "v").EndObject();
  EXPECT_EQ(j.str(), "{\"k\xef\xbf\xbd\":\"v\"}");
  EXPECT_EQ(DumpJson(Json("x\xc3")), "\"x\xef\xbf\xbd\"");
}

TEST(Json, ParseAcceptsDocuments) {
  auto v = ParseJson(R"( {"b":[1,-2,3.5,true,null],"a":"ü\u00fc"} )");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ((*v)["a"], "üü");
  EXPECT_EQ((*v)["b"][1], -2);
  EXPECT_EQ(DumpJson(*v), R"({"b":[1,-2,3.5,true,null],"a":"üü"})");  // order kept
  EXPECT_TRUE(ParseJson("\"x\"").ok());
  EXPECT_TRUE(ParseJson(R"({"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})").ok());  // brackets in a string
}

TEST(Json, ParseRefusesWithoutQuotingTheInput) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "tru", "{\"a\":1} x", "{'a':1}", "\"\xff\"",
                          "\"a\x01\"", "[1]]", "{\"a\":1,}", "NaN", "01"}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().kind, ErrorKind::kInvalid) << bad;
    EXPECT_EQ(v.error().message.find("last read"), std::string::npos) << v.error().message;
  }
  EXPECT_EQ(ParseJson("{\"secret\":tru}").error().message, "malformed JSON at byte 14");
}

TEST(Json, ParseRefusesAKeyTwiceInOneObject) {
  auto twice = ParseJson(R"({"address":"a@example.org","quota":1,"address":"b@example.net"})");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(twice.error().message, "JSON object with the key \"address\" twice");
  EXPECT_FALSE(ParseJson(R"([{"a":{"b":1,"b":2}}])").ok());  // nested
  // The same key in sibling or nested objects is fine.
  EXPECT_TRUE(ParseJson(R"([{"a":1},{"a":2},{"a":{"a":3}}])").ok());
}

TEST(Json, ParseBoundsSizeAndDepth) {
  JsonLimits limits;
  limits.max_bytes = 10;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseJson("[[[1]]]", limits).ok());
  auto deep = ParseJson("[[[[1]]]]", limits);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nested deeper than 3"), std::string::npos);
  auto big = ParseJson("\"0123456789\"", limits);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("longer than 10 bytes"), std::string::npos);
  // A megabyte of brackets is refused by the scan, before the library recurses.
  EXPECT_FALSE(ParseJson(std::string(1 << 20, '['), JsonLimits{}).ok());
}

}  // namespace
}  // namespace roster
