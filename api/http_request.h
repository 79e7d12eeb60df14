// http_request.h: the request target of an HTTP request ("/domains/a%40b?limit=5")
// read into decoded path segments and query parameters, for roster-apid's HTTP
// layer (api/http_server.h). Pure functions, no I/O; a fuzz target drives them.
//
// Trusts: nothing. The target comes from the client byte for byte (the server
// hands over the raw target, before any decoding of its own). Refused, as
// kInvalid with a message fit for the client: anything but an origin-form target
// ("/..."), a target, segment or parameter past its bound, a character RFC 3986
// does not allow there, a bad percent-escape, an empty segment ("//", a trailing
// "/"), a segment that decodes to "." or "..", or holds "/" or "\", and any
// decoded NUL, other control character or byte sequence that is not UTF-8, a
// duplicate query parameter. What is accepted is therefore safe to compare, to
// log and to use as a name: a segment can never climb out of a path.
#ifndef ROSTER_API_HTTP_REQUEST_H
#define ROSTER_API_HTTP_REQUEST_H

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace roster {

struct TargetLimits {
  size_t max_target = 4096;   // the raw target, path and query
  size_t max_segments = 16;   // path segments
  size_t max_segment = 512;   // one decoded segment, bytes
  size_t max_params = 32;     // query parameters
  size_t max_param = 1024;    // one decoded name or value, bytes
};

struct RequestTarget {
  std::vector<std::string> segments;  // decoded; "/" gives none
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order, names unique
};

// Reads a raw request target (the path with its query, as sent).
Result<RequestTarget> ParseRequestTarget(std::string_view raw, const TargetLimits& limits = {});

// Percent-decodes s; with plus_is_space (query parameters, as HTML forms send
// them) '+' is a space. Refused: a '%' not followed by two hex digits, a decoded
// NUL or other control character (0x00-0x1f, 0x7f), invalid UTF-8.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// s percent-encoded for a path segment or a query value: everything but
// RFC 3986's unreserved characters escaped (the inverse of PercentDecode).
std::string PercentEncode(std::string_view s);

}  // namespace roster

#endif
