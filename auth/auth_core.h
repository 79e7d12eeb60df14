// auth_core.h: the C++ core of the Dovecot passdb/userdb driver. It turns a
// login or user lookup into one query through common/login_store and the answer
// into Dovecot's fields. C++ types only: the C API that Dovecot's glue calls
// is auth/roster_auth.h.
//
// One way to ask: Submit() a request with a completion callback.
//   - Blocking mode (auth_threads = 0: Dovecot's auth-worker processes, one
//     request at a time each; or the core not started): the job runs on the
//     caller's thread, on the core's own connection, and the callback runs
//     before Submit returns. A rehash due after a verify runs after the
//     callback, still inside Submit.
//   - Threaded mode (after Start(); auth_threads = N, inside Dovecot's auth
//     process): the job runs on the core's N threads (one connection each);
//     the callback runs later on the host thread, inside Drain(), called when
//     fd() turns readable (common/handoff.h). At most auth_lookup_threads
//     threads query at once, each taking every request that queued meanwhile
//     and looking them all up in one IN (...) query; costly hashes go on to
//     the other threads.
// The same job code runs in both; blocking = a batch of one, run inline.
//
// A verify is checked against one app password (common/app_passwords.h),
// picked by the selector the typed password starts with, or else against the
// main password: one verification either way. Then the mailbox's protocol
// rules (login_protocols, main_password_protocols, the app password's own)
// for `service` and `remote_ip` (webmail = auth_webmail_networks); a refusal
// is logged with its reason and answered kMismatch. A successful verify is
// recorded in the login history (auth_login_history) after its answer, like
// a rehash.
//
// An unknown or disabled user's password is checked too, against a dummy
// argon2id hash made with the configured parameters, so that the time and
// memory of an answer do not tell which addresses exist.
//
// Thread contract: every public call from the host thread only (the one that
// created the core; Dovecot's ioloop thread). Each callback runs exactly
// once, on the host thread: inside Submit (blocking), inside Drain
// (threaded), or at the latest inside Stop() (or the destructor): there the
// requests waiting in a queue (for their lookup or their hashing) are
// answered kTempFail without running further, the batches running finish,
// and every answer not yet delivered is delivered; none after Stop returns.
// After Stop(), Submit answers kTempFail at once. Callbacks must not throw.
// If Submit throws (out of memory), its callback has not run and will not.
//
// Trusts: the configuration file (root's); nothing in user names or
// passwords, which are normalised and bounded before any query; the
// database's answers.
#ifndef ROSTER_AUTH_AUTH_CORE_H
#define ROSTER_AUTH_AUTH_CORE_H

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace roster::auth {

enum class Outcome {
  kOk,
  kMismatch,  // wrong password
  kUnknown,   // no such mailbox (or an unusable user name); for the userdb also a disabled one
  kDisabled,  // mailbox or its domain disabled (passdb)
  kTempFail,  // database down, timeout, internal error: try again later
  kNoScheme,  // stored hash unusable (malformed, unknown or refused scheme)
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Which userdb field names the Dovecot in front reads. The glue knows its
// Dovecot's version; the core knows none and answers in the dialect it is
// told. Dovecot 2.4 ignores fields it does not know without a word, so the
// wrong dialect would mean no limit and the default mail location.
enum class FieldDialect {
  kDovecot23,  // home, mail (a mail location), quota_rule
  kDovecot24,  // home, mail_driver, mail_path, ..., quota_storage_size, quota_message_count
};

struct LogLine {
  LogLevel level;
  std::string message;  // never holds a password
};

struct Request {
  enum Kind {
    kVerify,  // passdb verify_plain: on kOk, fields "user" (the stored spelling), "password"
              // (the stored hash with its {SCHEME}, for the auth cache) and the userdb_*
              // prefetch fields, or proxy fields for another unit ("proxy", "host", and
              // "port" from the unit's port for `service`, imap or pop3)
    kLookup,  // passdb lookup_credentials: on kOk, the same fields
    kUserdb,  // userdb lookup: uid, gid, home, [mail], quota_rule, extra fields (in the
              // 2.4 dialect [mail_driver, mail_path, ...], quota_storage_size, quota_message_count)
  } kind = kVerify;
  std::string user;
  std::string password;  // kVerify; wiped when the job ends
  std::string service;   // passdb: the login's protocol
  std::string remote_ip;  // passdb: the client's address (text), "" if unknown
};

struct Answer {
  Outcome outcome = Outcome::kTempFail;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<LogLine> logs;  // this request's log lines
};

using DoneFn = std::function<void(const Answer&)>;
// Log lines that belong to no request (a rehash done after its login was
// answered); called on the host thread.
using LogFn = std::function<void(LogLevel, const std::string&)>;

class AuthCore {
 public:
  static Result<std::unique_ptr<AuthCore>> Create(const std::string& config_path, FieldDialect dialect, LogFn log);
  ~AuthCore();  // Stop()
  AuthCore(const AuthCore&) = delete;
  AuthCore& operator=(const AuthCore&) = delete;

  // auth_threads: 0 = blocking mode.
  unsigned threads() const;
  // Starts the threads (threaded mode); later calls do nothing. Needs
  // threads() > 0. The descriptor to watch is fd().
  Status Start();
  bool started() const;
  int fd() const;  // -1 until started

  void Submit(Request request, DoneFn done);
  // Threaded mode, when fd() is readable: runs the finished jobs' callbacks.
  void Drain();
  // Ends the threaded mode for good (see the thread contract above).
  void Stop();

  // How many passwords the core has checked against its dummy hash (a
  // verify of an unknown user, a refused name or a disabled mailbox or
  // domain), in both modes. For tests and diagnostics.
  uint64_t dummy_verifications() const;
  // How many password verifications (main, app password or dummy) the core
  // has run, in both modes: one per verify, whatever the number of app
  // passwords. For tests and diagnostics.
  uint64_t verifications() const;
  // Whether an answer may depend on the client's address (auth_webmail_networks
  // set): the glue then puts the address in Dovecot's cache key.
  bool answers_depend_on_address() const;

  // userdb iteration: a page of (address, lookup key) of active mailboxes of
  // active domains after `after_key`, at most kUserPage; on the core's own
  // connection, on the host thread.
  static constexpr size_t kUserPage = 1000;
  Result<std::vector<std::pair<std::string, std::string>>> UserPage(const std::string& after_key);

  class Rules;
  class Job;
  class Pool;

 private:
  explicit AuthCore(std::unique_ptr<Rules> rules, LogFn log);
  void RunInline(std::unique_ptr<Job> job);

  std::unique_ptr<Rules> rules_;
  LogFn log_;
  struct Inline;
  std::unique_ptr<Inline> inline_;  // the host thread's connection
  std::unique_ptr<Pool> pool_;      // after Start()
  bool stopped_ = false;
};

}  // namespace roster::auth

#endif
