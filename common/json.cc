// json.cc: see json.h.
#include "common/json.h"

#include <cassert>
#include <exception>
#include <set>
#include <string>
#include <vector>
#include <utility>

#include "common/address.h"

namespace roster {

std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // Copy a whole valid UTF-8 sequence, or replace one bad byte.
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (len > 1 && i + len <= s.size() && IsValidUtf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string DumpJson(const Json& value) {
  try {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception&) {
    // Only allocation can fail with the replace handler.
    return "null";
  }
}

namespace {

struct DuplicateKey {};

// The deepest nesting of arrays and objects in text, counted outside strings;
// stops counting once it passes limit. Not a parser: the library parses after.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[': case '{':
        if (++depth > deepest && (deepest = depth) > limit) return deepest;
        break;
      case ']': case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return deepest;
}

}  // namespace

Result<Json> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error::Invalid("JSON text longer than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (NestingDepth(text, limits.max_depth) > limits.max_depth) {
    return Error::Invalid("JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
  }
  // An object naming a key twice is refused: which of the two values counts
  // would be the reader's guess (the library keeps the last; a proxy or a log
  // in front may show the first).
  std::vector<std::set<std::string>> keys;  // of each object being read
  std::string duplicate;
  auto refuse_duplicates = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty() && parsed.is_string() &&
               !keys.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
      throw DuplicateKey();
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), refuse_duplicates);
  } catch (const DuplicateKey&) {
    return Error::Invalid("JSON object with the key \"" + ValidUtf8(duplicate.substr(0, 64)) + "\" twice");
  } catch (const Json::parse_error& e) {
    // e.byte: 1-based position of the byte where parsing failed. The library's
    // own message quotes the input: not passed on.
    return Error::Invalid("malformed JSON at byte " + std::to_string(e.byte));
  } catch (const std::exception&) {
    return Error::Invalid("malformed JSON");
  }
}

Json& JsonWriter::Put(Json value) {
  if (open_.empty()) {
    assert(!have_root_);
    root_ = std::move(value);
    have_root_ = true;
    return root_;
  }
  Json& container = *open_.back();
  if (container.is_array()) {
    container.push_back(std::move(value));
    return container.back();
  }
  assert(have_key_);
  assert(!container.contains(key_));
  have_key_ = false;
  Json& slot = container[key_];
  slot = std::move(value);
  return slot;
}

JsonWriter& JsonWriter::BeginObject() {
  open_.push_back(&Put(Json::object()));
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  assert(!open_.empty() && open_.back()->is_object() && !have_key_);
  open_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  open_.push_back(&Put(Json::array()));
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  assert(!open_.empty() && open_.back()->is_array());
  open_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(!open_.empty() && open_.back()->is_object() && !have_key_);
  key_ = ValidUtf8(key);
  have_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view value) {
  Put(ValidUtf8(value));
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  Put(value);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  Put(value);
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  Put(value);
  return *this;
}
JsonWriter& JsonWriter::Null() {
  Put(nullptr);
  return *this;
}

std::string JsonWriter::Escape(std::string_view s) { return DumpJson(Json(ValidUtf8(s))); }

}  // namespace roster
