// http_request.cc: see http_request.h.
#include "api/http_request.h"

#include "common/address.h"

namespace roster {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// RFC 3986 pchar, without '%' (checked by the decoder): unreserved, sub-delims, ':' and '@'.
bool IsPathChar(unsigned char c) {
  if (IsUnreserved(c)) return true;
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';':
    case '=': case ':': case '@':
      return true;
    default:
      return false;
  }
}

// The query may also hold '/' and '?'.
bool IsQueryChar(unsigned char c) { return IsPathChar(c) || c == '/' || c == '?'; }

Result<std::string> DecodePart(std::string_view raw, bool query, size_t max, const char* what) {
  for (char c : raw) {
    if (c == '%') continue;
    if (!(query ? IsQueryChar(static_cast<unsigned char>(c)) : IsPathChar(static_cast<unsigned char>(c)))) {
      return Error::Invalid(std::string(what) + " holds a character that must be percent-encoded");
    }
  }
  auto decoded = PercentDecode(raw, query);
  if (!decoded.ok()) return Error::Invalid(std::string(what) + ": " + decoded.error().message);
  if (decoded->size() > max) {
    return Error::Invalid(std::string(what) + " longer than " + std::to_string(max) + " bytes");
  }
  return decoded;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = hi >= 0 ? HexValue(s[i + 2]) : -1;
      if (lo < 0) return Error::Invalid("bad percent-escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  for (char c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Error::Invalid("a control character or NUL");
  }
  if (!IsValidUtf8(out)) return Error::Invalid("not UTF-8");
  return out;
}

std::string PercentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (IsUnreserved(u)) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

Result<RequestTarget> ParseRequestTarget(std::string_view raw, const TargetLimits& limits) {
  if (raw.size() > limits.max_target) {
    return Error::Invalid("request target longer than " + std::to_string(limits.max_target) + " bytes");
  }
  if (raw.empty() || raw[0] != '/') return Error::Invalid("request target is not a path");
  size_t question = raw.find('?');
  std::string_view path = raw.substr(0, question);
  std::string_view query = question == std::string_view::npos ? std::string_view() : raw.substr(question + 1);

  RequestTarget target;
  if (path != "/") {
    std::string_view rest = path.substr(1);
    while (true) {
      size_t slash = rest.find('/');
      std::string_view raw_segment = rest.substr(0, slash);
      if (raw_segment.empty()) return Error::Invalid("empty path segment");
      if (target.segments.size() == limits.max_segments) {
        return Error::Invalid("more than " + std::to_string(limits.max_segments) + " path segments");
      }
      auto segment = DecodePart(raw_segment, false, limits.max_segment, "path segment");
      if (!segment.ok()) return segment.error();
      if (*segment == "." || *segment == "..") return Error::Invalid("path segment \".\" or \"..\"");
      if (segment->find_first_of("/\\") != std::string::npos) {
        return Error::Invalid("path segment holds an encoded \"/\" or \"\\\"");
      }
      target.segments.push_back(std::move(*segment));
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
  }

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
    if (target.query.size() == limits.max_params) {
      return Error::Invalid("more than " + std::to_string(limits.max_params) + " query parameters");
    }
    size_t equals = pair.find('=');
    auto name = DecodePart(pair.substr(0, equals), true, limits.max_param, "query parameter name");
    if (!name.ok()) return name.error();
    if (name->empty()) return Error::Invalid("query parameter without a name");
    std::string_view raw_value = equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    auto value = DecodePart(raw_value, true, limits.max_param, "query parameter value");
    if (!value.ok()) return value.error();
    for (const auto& [n, v] : target.query) {
      if (n == *name) return Error::Invalid("query parameter \"" + *name + "\" given twice");
    }
    target.query.emplace_back(std::move(*name), std::move(*value));
  }
  return target;
}

}  // namespace roster
