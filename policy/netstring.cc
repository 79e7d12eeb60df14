// netstring.cc: see netstring.h.
#include "policy/netstring.h"

#include "common/text.h"

namespace roster {

std::string EncodeNetstring(std::string_view payload) {
  std::string out = std::to_string(payload.size());
  out += ':';
  out.append(payload);
  out += ',';
  return out;
}

namespace {
// Digits enough for any length a reader accepts; more is an error at once.
constexpr size_t kMaxLengthDigits = 9;
}  // namespace

void NetstringReader::Feed(std::string_view bytes) {
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

NetstringReader::Status NetstringReader::Next(std::string* payload, std::string* problem) {
  std::string_view pending(buffer_);
  pending.remove_prefix(start_);
  size_t length = 0, i = 0;
  for (; i < pending.size() && pending[i] != ':'; ++i) {
    char c = pending[i];
    if (c < '0' || c > '9' || i >= kMaxLengthDigits || (i == 1 && pending[0] == '0')) {
      *problem = "bad netstring length: " + Shown(pending.substr(0, i + 1));
      return Status::kMalformed;
    }
    length = length * 10 + static_cast<size_t>(c - '0');
  }
  if (i > 0 && length > max_payload_) {
    *problem = "netstring of " + std::to_string(length) + " bytes (at most " + std::to_string(max_payload_) + ")";
    return Status::kTooLarge;
  }
  if (i == pending.size()) return Status::kNeedMore;
  if (i == 0) {
    *problem = "netstring without a length";
    return Status::kMalformed;
  }
  if (pending.size() < i + 1 + length + 1) return Status::kNeedMore;
  if (pending[i + 1 + length] != ',') {
    *problem = "netstring not ended by ','";
    return Status::kMalformed;
  }
  payload->assign(pending.substr(i + 1, length));
  start_ += i + 1 + length + 1;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return Status::kNetstring;
}

}  // namespace roster
