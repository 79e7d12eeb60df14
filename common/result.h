// result.h: errors as values across roster's layers.
//
// Every fallible call in common/ returns Result<T> (or Status for no value).
// The error kind is what callers act on: NotFound means "answer no",
// Temporary means "answer try-again-later", Forbidden means "you may not"
// (ops/: an authorization decision), everything else is a hard failure that
// is never turned into a success or a "no".
//
// Trusts: nothing; plain data.
#ifndef ROSTER_COMMON_RESULT_H
#define ROSTER_COMMON_RESULT_H

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace roster {

enum class ErrorKind {
  kNotFound,   // the thing asked for does not exist
  kTemporary,  // database down, timeout, deadlock, read-only replica: retry later
  kPermanent,  // a fault that retrying will not fix (bad SQL, access denied)
  kInvalid,    // the input was refused (bad address, bad value, bad config)
  kConflict,   // the thing to create exists already, or a compare-and-set lost
  kForbidden,  // the principal may not do this (ops/operations.h, Authorize); the message
               // never says whether the object exists outside the principal's scope
  kUnauthenticated,  // the credentials were refused (wrong, expired, revoked): the message never
                     // says which part was wrong nor whether the account exists
  kThrottled,        // too many attempts: refused without looking; Error::retry_after says when to retry
};

const char* ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;
  int db_code = 0;  // the server's error number, when the database said no
  // A write failed after it was sent and nothing tells whether the server
  // applied it (common/db.h): the caller must neither repeat it blindly nor
  // report it as not done.
  bool outcome_unknown = false;
  // The input field the error is about, when there is one (ops/ validation):
  // for a client to point at; "" otherwise.
  std::string field = {};
  // kThrottled: seconds until the caller may try again (0 = not said).
  int64_t retry_after = 0;
  // A stable word telling this refusal from others of its kind, for a client
  // to act on (roster-apid's error.code; doc/api.md "Errors"), such as
  // "mailbox_exists" for a kConflict; "" = the kind's own word.
  std::string code = {};

  static Error NotFound(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }
  static Error Temporary(std::string m) { return {ErrorKind::kTemporary, std::move(m)}; }
  static Error Permanent(std::string m) { return {ErrorKind::kPermanent, std::move(m)}; }
  static Error Invalid(std::string m) { return {ErrorKind::kInvalid, std::move(m)}; }
  static Error Conflict(std::string m) { return {ErrorKind::kConflict, std::move(m)}; }
  static Error Forbidden(std::string m) { return {ErrorKind::kForbidden, std::move(m)}; }
  static Error Unauthenticated(std::string m) { return {ErrorKind::kUnauthenticated, std::move(m)}; }
  static Error Throttled(std::string m, int64_t retry_after) {
    Error e{ErrorKind::kThrottled, std::move(m)};
    e.retry_after = retry_after;
    return e;
  }

  bool is_not_found() const { return kind == ErrorKind::kNotFound; }
  bool is_temporary() const { return kind == ErrorKind::kTemporary; }
};

class Status;

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }
  // Drops the value: the outcome alone.
  Status status() const;

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT
  static Status Ok() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *error_; }

 private:
  std::optional<Error> error_;
};

template <typename T>
Status Result<T>::status() const {
  return ok() ? Status::Ok() : Status(error());
}

}  // namespace roster

// Propagate an error from an expression returning Result or Status.
#define ROSTER_TRY(expr)                                   \
  do {                                                     \
    auto roster_try_result_ = (expr);                      \
    if (!roster_try_result_.ok()) return roster_try_result_.error(); \
  } while (0)

#endif
