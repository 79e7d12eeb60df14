// result.cc: names of error kinds, for messages and JSON output.
#include "common/result.h"

namespace roster {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound: return "not-found";
    case ErrorKind::kTemporary: return "temporary";
    case ErrorKind::kPermanent: return "permanent";
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kUnauthenticated: return "unauthenticated";
    case ErrorKind::kThrottled: return "throttled";
  }
  return "unknown";
}

}  // namespace roster
