// text.h: small ASCII string helpers shared by roster's parsers.
// Trusts: nothing; pure functions on string views.
#ifndef ROSTER_COMMON_TEXT_H
#define ROSTER_COMMON_TEXT_H

#include <string_view>

namespace roster {

// Case-insensitive for ASCII letters only; other bytes compare exactly.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace roster

#endif
