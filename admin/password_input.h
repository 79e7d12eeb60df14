// password_input.h: how rosterctl gets a new password: typed twice at the
// terminal with echo off, or one line on stdin (--password-stdin). Never from
// argv, where every local user can read it.
//
// Trusts: nothing on stdin; input is bounded to kMaxPasswordBytes.
#ifndef ROSTER_ADMIN_PASSWORD_INPUT_H
#define ROSTER_ADMIN_PASSWORD_INPUT_H

#include <string>

#include "common/result.h"

namespace roster {

// A std::string that is wiped when it goes away.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string s) : value_(std::move(s)) {}
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) {}
  ~SecretString();
  const std::string& value() const { return value_; }

 private:
  std::string value_;
};

Result<SecretString> ReadNewPassword(bool from_stdin);

}  // namespace roster

#endif
