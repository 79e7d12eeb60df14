// policy_request.h: reads Postfix's policy delegation protocol
// (SMTPD_POLICY_README): "name=value" lines, one request per empty line.
// The reader takes bytes as they arrive and hands out whole requests; it
// keeps the attributes roster-policyd decides on and ignores the others,
// whatever their order, so newer Postfix versions can add attributes.
//
// Trusts: nothing. A request is bounded in bytes and in attributes; a line
// that is not name=value is a protocol error. Either ends the connection,
// as Postfix's own servers do.
#ifndef ROSTER_POLICY_POLICY_REQUEST_H
#define ROSTER_POLICY_POLICY_REQUEST_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace roster {

struct PolicyRequest {
  std::string request;         // "smtpd_access_policy"
  std::string protocol_state;  // RCPT, END-OF-MESSAGE, ...
  std::string sender;
  std::string recipient;       // set at RCPT; later only for one-recipient mail
  std::string client_address;
  std::string sasl_username;
  std::string policy_context;  // check_policy_service { ..., policy_context=... }
  std::string instance;
  uint64_t size = 0;           // MAIL FROM SIZE=, or the real size at END-OF-MESSAGE
  uint64_t recipient_count = 0;  // accepted recipients, at DATA and END-OF-MESSAGE
  size_t attributes = 0;
};

struct PolicyLimits {
  size_t max_bytes = 64 * 1024;
  size_t max_attributes = 1000;
};

class PolicyRequestReader {
 public:
  enum class Status { kNeedMore, kRequest, kTooLarge, kMalformed };

  explicit PolicyRequestReader(PolicyLimits limits) : limits_(limits) {}

  // Appends bytes received. The caller feeds what one read returned and then
  // takes every whole request with Next(), so at most one unfinished request
  // (bounded by Next()'s checks) and one read are ever held.
  void Feed(std::string_view bytes);
  // The next whole request, if one has arrived. kTooLarge and kMalformed are
  // final: the connection must be closed. `problem` says why, for the log.
  Status Next(PolicyRequest* request, std::string* problem);
  // Bytes held for an unfinished request.
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  PolicyLimits limits_;
  std::string buffer_;
  size_t start_ = 0;    // where the unfinished request begins
  size_t scanned_ = 0;  // bytes after start_ already searched for the end
};

}  // namespace roster

#endif
