// policy_request.cc: see policy_request.h.
#include "policy/policy_request.h"

#include "common/text.h"
#include "common/units.h"

namespace roster {

void PolicyRequestReader::Feed(std::string_view bytes) {
  // Drop the requests already answered before growing.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

PolicyRequestReader::Status PolicyRequestReader::Next(PolicyRequest* request, std::string* problem) {
  // The request ends at the first empty line: "\n\n", or "\n" at its start.
  std::string_view pending(buffer_);
  pending.remove_prefix(start_);
  size_t end = std::string_view::npos;
  size_t from = scanned_ > 0 ? scanned_ - 1 : 0;
  for (size_t i = from; i < pending.size(); ++i) {
    if (pending[i] != '\n') continue;
    if (i == 0 || pending[i - 1] == '\n' || (pending[i - 1] == '\r' && (i == 1 || pending[i - 2] == '\n'))) {
      end = i;
      break;
    }
  }
  if (end == std::string_view::npos) end = pending.size();
  if (end >= limits_.max_bytes) {
    *problem = "request larger than " + std::to_string(limits_.max_bytes) + " bytes";
    return Status::kTooLarge;
  }
  if (end == pending.size()) {
    scanned_ = pending.size();
    return Status::kNeedMore;
  }
  std::string_view text = pending.substr(0, end);
  // `text` points into buffer_: Feed() drops the consumed bytes, not this.
  start_ += end + 1;
  scanned_ = 0;

  *request = PolicyRequest();
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *problem = "not a name=value line: " + Shown(line);
      return Status::kMalformed;
    }
    if (++request->attributes > limits_.max_attributes) {
      *problem = "more than " + std::to_string(limits_.max_attributes) + " attributes";
      return Status::kTooLarge;
    }
    std::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    std::string* field = nullptr;
    if (name == "request") field = &request->request;
    else if (name == "protocol_state") field = &request->protocol_state;
    else if (name == "sender") field = &request->sender;
    else if (name == "recipient") field = &request->recipient;
    else if (name == "client_address") field = &request->client_address;
    else if (name == "sasl_username") field = &request->sasl_username;
    else if (name == "policy_context") field = &request->policy_context;
    else if (name == "instance") field = &request->instance;
    else if (name == "size") {
      auto n = ParseCount(value);
      request->size = n ? *n : 0;
    } else if (name == "recipient_count") {
      auto n = ParseCount(value);
      request->recipient_count = n ? *n : 0;
    }
    if (field != nullptr) field->assign(value);
  }
  return Status::kRequest;
}

}  // namespace roster
