// Tests of rosterctl's JSON writer: structure and escaping of hostile strings.
#include <gtest/gtest.h>

#include "admin/json.h"

namespace roster {
namespace {

TEST(Json, Structure) {
  JsonWriter j;
  j.BeginObject().Field("a", uint64_t{1}).Key("b").BeginArray().String("x").Bool(true).Null().EndArray();
  j.Field("c", int64_t{-2}).EndObject();
  EXPECT_EQ(j.str(), R"({"a":1,"b":["x",true,null],"c":-2})");
}

TEST(Json, Escaping) {
  EXPECT_EQ(JsonWriter::Escape("q\"b\\n\n\t\x01"), R"("q\"b\\n\n\t\u0001")");
  EXPECT_EQ(JsonWriter::Escape("ünï"), "\"ünï\"");
  EXPECT_EQ(JsonWriter::Escape("a\xff" "b"), "\"a\\ufffdb\"");
}

}  // namespace
}  // namespace roster
