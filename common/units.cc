// units.cc: see units.h.
#include "common/units.h"

#include "common/text.h"

#include <cctype>
#include <cstdio>
#include <limits>

namespace roster {
namespace {

constexpr size_t kMaxNumberText = 32;

std::string Quote(std::string_view text) { return "'" + Shown(text, kMaxNumberText) + "'"; }

// Splits leading decimal digits off; false on no digits or overflow.
bool ParseDigits(std::string_view text, uint64_t* value, size_t* used) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    unsigned digit = static_cast<unsigned>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (i == 0) return false;
  *value = v;
  *used = i;
  return true;
}


}  // namespace

Result<uint64_t> ParseCount(std::string_view text) {
  uint64_t v;
  size_t used;
  if (text.size() > kMaxNumberText || !ParseDigits(text, &v, &used) || used != text.size())
    return Error::Invalid("invalid number " + Quote(text));
  return v;
}

Result<int64_t> ParseInt(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  uint64_t v;
  size_t used;
  if (text.size() > kMaxNumberText || !ParseDigits(digits, &v, &used) || used != digits.size())
    return Error::Invalid("invalid integer " + Quote(text));
  uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > limit) return Error::Invalid("integer out of range " + Quote(text));
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t v;
  size_t used;
  if (text.size() > kMaxNumberText || !ParseDigits(text, &v, &used))
    return Error::Invalid("invalid size " + Quote(text) + " (examples: 0, 1024, 500M, 2G)");
  std::string_view suffix = text.substr(used);
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (std::tolower(static_cast<unsigned char>(suffix[0]))) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      case 'b': shift = 0; break;
      default: return Error::Invalid("invalid size " + Quote(text) + " (examples: 0, 1024, 500M, 2G)");
    }
    std::string_view rest = suffix.substr(1);
    bool unit_ok = (std::tolower(static_cast<unsigned char>(suffix[0])) == 'b')
                       ? rest.empty()
                       : (rest.empty() || EqualsIgnoreCase(rest, "b") || EqualsIgnoreCase(rest, "ib"));
    if (!unit_ok) return Error::Invalid("invalid size " + Quote(text) + " (examples: 0, 1024, 500M, 2G)");
  }
  if (shift > 0 && v > (std::numeric_limits<uint64_t>::max() >> shift))
    return Error::Invalid("size out of range " + Quote(text));
  return v << shift;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  uint64_t v;
  size_t used;
  if (text.size() > kMaxNumberText || !ParseDigits(text, &v, &used))
    return Error::Invalid("invalid duration " + Quote(text) + " (examples: 30, 30s, 500ms, 5m, 3h)");
  std::string_view suffix = text.substr(used);
  uint64_t factor;
  if (suffix.empty() || suffix == "s") factor = 1000;
  else if (suffix == "ms") factor = 1;
  else if (suffix == "m") factor = 60 * 1000;
  else if (suffix == "h") factor = 3600 * 1000;
  else if (suffix == "d") factor = 86400 * 1000;
  else return Error::Invalid("invalid duration " + Quote(text) + " (examples: 30, 30s, 500ms, 5m, 3h)");
  // Bounded to ~292 million years by int64 milliseconds; refuse more than 100 years.
  constexpr uint64_t kMaxMs = uint64_t{100} * 365 * 86400 * 1000;
  if (v > kMaxMs / factor) return Error::Invalid("duration out of range " + Quote(text));
  return std::chrono::milliseconds(static_cast<int64_t>(v * factor));
}

Result<bool> ParseBool(std::string_view text) {
  for (const char* yes : {"yes", "true", "on", "1"})
    if (EqualsIgnoreCase(text, yes)) return true;
  for (const char* no : {"no", "false", "off", "0"})
    if (EqualsIgnoreCase(text, no)) return false;
  return Error::Invalid("invalid boolean " + Quote(text) + " (use yes or no)");
}

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "K", "M", "G", "T", "P", "E"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 6) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (v == static_cast<double>(static_cast<uint64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%llu%s", static_cast<unsigned long long>(v), kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[unit]);
  }
  return buf;
}

}  // namespace roster
