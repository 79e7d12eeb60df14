// dict_core.h: the C++ core of the Dovecot dict driver "roster". It maps the
// few keys Dovecot's quota and roster's last-login plugin use (quota/
// dict_keys.h) onto common/usage_store, one SQL transaction per dict commit
// (one statement for the quota plugin's increments of one mailbox and for
// quota_clone's sets of one mailbox).
// C++ types only: the C API that Dovecot's glue calls is quota/roster_dict.h.
//
// One way to ask: Lookup() and Commit() take a completion callback.
//   - Inline (the blocking `dict` service, doveadm's direct use, and any
//     request asked with `inline_run`): the job runs on the caller's thread,
//     on the core's own connection, and the callback runs before the call
//     returns.
//   - Threaded (after Start(), the dict-async service): the job goes to one
//     of `dict_threads` threads, each with its own connection, which runs
//     whatever queued for it meanwhile as one batch (one query for the
//     counters of up to 32 mailboxes, one UPDATE for their increments, one
//     upsert for their sets); the callback runs later on the host thread,
//     inside Drain() or Wait(), when the descriptor of fd() turns readable
//     (common/handoff.h). A user's requests always go to the same thread, in
//     the order they came.
// The same job code runs in both (DictBatch, on a batch of one inline).
//
// The counters keep Dovecot's contract: an increment of a counter that is not
// there (no usage row, or unknown after an unset) is kNotFound, so Dovecot
// recounts and sets; an unset forgets the value and never deletes a row or an
// account; a commit that fails is an error, never reported as done.
//
// Thread contract: every public call from the host thread only (the one that
// created the core); each callback runs exactly once, on that thread, and
// must not throw. The destructor lets the threads run everything queued (a
// commit is never dropped), stops them, and runs every callback not yet run
// before it returns; none runs after. If Lookup or Commit throws (out of
// memory), its callback has not run and will not.
//
// Trusts: the configuration file (root's, or the dict user's own secrets);
// nothing in keys, values or user names, which are bounded and checked before
// any query.
#ifndef ROSTER_QUOTA_DICT_CORE_H
#define ROSTER_QUOTA_DICT_CORE_H

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/db.h"
#include "common/result.h"
#include "quota/dict_keys.h"

namespace roster::dict {

enum class Committed { kOk, kNotFound /* an increment found no counter: the rest was committed */ };

// A lookup's answer: the value, nothing (not found: for a counter, no usage
// row or an unknown counter, so Dovecot recounts), or an error.
using LookupDone = std::function<void(const Result<std::optional<std::string>>&)>;
using CommitDone = std::function<void(const Result<Committed>&)>;

class DictCore {
 public:
  // Loads the configuration (the dict role's settings); connects lazily.
  static Result<std::unique_ptr<DictCore>> Create(const std::string& config_path);
  ~DictCore();
  DictCore(const DictCore&) = delete;
  DictCore& operator=(const DictCore&) = delete;

  // Starts the threads (threaded mode); once. The descriptor to watch is fd().
  Status Start();
  bool started() const;
  int fd() const;  // -1 until started

  // `username` is the dict user (none for shared keys). Inline when not
  // started or when `inline_run`; otherwise queued.
  void Lookup(std::optional<std::string> username, std::string key, bool inline_run, LookupDone done);
  void Commit(std::optional<std::string> username, std::vector<Change> changes, bool inline_run, CommitDone done);

  // Requests queued and not yet answered.
  unsigned pending() const { return pending_; }
  // Runs the callbacks of what is done.
  void Drain();
  // Runs the callbacks of everything queued, blocking until it is done
  // (also of what the callbacks queue meanwhile).
  void Wait();

  class Job;
  class Workers;

 private:
  DictCore(DbSettings settings, unsigned threads, std::vector<std::string> protocols);
  void Submit(std::unique_ptr<Job> job, bool inline_run);

  DbSettings settings_;
  Db db_;                              // the host thread's connection (inline jobs)
  std::unique_ptr<Workers> workers_;   // after Start()
  unsigned threads_;
  std::vector<std::string> protocols_;  // dict_login_protocols
  unsigned pending_ = 0;                // queued, callback not yet run
};

}  // namespace roster::dict

#endif
