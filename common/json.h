// json.h: roster's one JSON library, on nlohmann/json (Debian's nlohmann-json3-dev).
// rosterctl --json writes with it, roster-apid reads request bodies and writes
// answers with it; no piece has a JSON reader or writer of its own.
//
// Json keeps an object's keys in the order they were inserted, so a document
// comes out in the order the code writes it (rosterctl's --json output is a
// contract). Output is compact UTF-8, escaped per RFC 8259 by the library
// (quote, backslash and control characters; \b \f \n \r \t in their short forms,
// the others as \u00XX); a byte that is not valid UTF-8 becomes U+FFFD, so a
// hostile value in the database can neither break the document nor make the
// writer fail.
//
// Trusts: nothing. ParseJson bounds what it reads (size, nesting depth) before
// the library parses, and the library rejects invalid UTF-8 and any syntax error.
// Nothing here throws: the library's exceptions are caught and become errors.
#ifndef ROSTER_COMMON_JSON_H
#define ROSTER_COMMON_JSON_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace roster {

// A JSON value whose objects keep their keys in insertion order.
using Json = nlohmann::ordered_json;

// s with each byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(std::string_view s);

// Compact text of value (no spaces, no newline). Strings are expected valid
// UTF-8 (JsonWriter and ParseJson make them so); an invalid sequence that got in
// otherwise is written as U+FFFD, never thrown.
std::string DumpJson(const Json& value);

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // the whole text
  int max_depth = 32;          // nested arrays and objects
};

// Parses one JSON document (RFC 8259: any value at the top, surrounding white
// space allowed, nothing after it). kInvalid, with a message fit for a client
// (what and at which byte, never the text itself), when the text is too long,
// nested too deep, not UTF-8, not JSON, or names a key twice in one object.
Result<Json> ParseJson(std::string_view text, const JsonLimits& limits = {});

// A streaming-style builder for code that writes a document in order
// (rosterctl's commands): calls must nest correctly (an EndObject for each
// BeginObject, a Key before each value inside an object); a misuse is a bug,
// caught by assert. str() is the document once every container is closed.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Key + value in one call.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, uint64_t value) { return Key(key).Uint(value); }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }

  // The document written so far, as text (the value itself: json()).
  std::string str() const { return DumpJson(root_); }
  const Json& json() const { return root_; }

  // One string as a JSON string literal, quotes included.
  static std::string Escape(std::string_view s);

 private:
  // Places value where the writer stands and returns it.
  Json& Put(Json value);

  Json root_;
  bool have_root_ = false;
  std::vector<Json*> open_;  // the containers not yet ended, innermost last
  std::string key_;          // the key given for the next value in an object
  bool have_key_ = false;
};

}  // namespace roster

#endif
