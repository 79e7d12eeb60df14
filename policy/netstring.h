// netstring.h: the framing of Postfix's socketmap protocol
// (proto/socketmap_table): "<length>:<bytes>," with a decimal length. The
// reader takes bytes as they arrive and hands out whole netstrings.
//
// Trusts: nothing. The length is bounded before any byte is kept (Postfix
// sends at most 10000 bytes per query); a bad length, a missing ',' or an
// overlong netstring is final: the connection must be closed.
#ifndef ROSTER_POLICY_NETSTRING_H
#define ROSTER_POLICY_NETSTRING_H

#include <cstddef>
#include <string>
#include <string_view>

namespace roster {

std::string EncodeNetstring(std::string_view payload);

class NetstringReader {
 public:
  enum class Status { kNeedMore, kNetstring, kTooLarge, kMalformed };

  explicit NetstringReader(size_t max_payload) : max_payload_(max_payload) {}

  // Appends bytes received. The caller feeds what one read returned and then
  // takes every whole netstring with Next(), so at most one unfinished
  // netstring (bounded by Next()'s checks) and one read are ever held.
  void Feed(std::string_view bytes);
  // The next whole netstring's payload, if one has arrived.
  Status Next(std::string* payload, std::string* problem);
  size_t buffered() const { return buffer_.size() - start_; }

 private:
  size_t max_payload_;
  std::string buffer_;
  size_t start_ = 0;
};

}  // namespace roster

#endif
