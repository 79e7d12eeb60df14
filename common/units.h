// units.h: the one parser for human-written quantities: sizes ("500M", "2G",
// "0" = unlimited), counts, durations ("30s", "5m", "3h") and booleans.
// Used by the config file and by rosterctl's arguments alike.
//
// Trusts: nothing; every input is bounded and overflow-checked.
#ifndef ROSTER_COMMON_UNITS_H
#define ROSTER_COMMON_UNITS_H

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace roster {

// Bytes; suffixes k, M, G, T (powers of 1024, as Dovecot's quota rules), an
// optional trailing "B" or "iB". Case-insensitive suffix.
Result<uint64_t> ParseSize(std::string_view text);
// A plain non-negative decimal integer, at most UINT64_MAX.
Result<uint64_t> ParseCount(std::string_view text);
// A signed decimal integer.
Result<int64_t> ParseInt(std::string_view text);
// Seconds by default; suffixes ms, s, m, h, d.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// yes/no, true/false, on/off, 1/0.
Result<bool> ParseBool(std::string_view text);

// "1.5G"-style rendering for people; exact bytes are shown by callers that need them.
std::string FormatSize(uint64_t bytes);

}  // namespace roster

#endif
