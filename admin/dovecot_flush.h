// dovecot_flush.h: tells a running Dovecot to forget cached credentials, so a
// password change or a disabled account takes effect at the next login even
// with Dovecot's auth cache on. Speaks Dovecot's auth-master protocol
// (VERSION, then CACHE-FLUSH) on its auth-master socket; no shell-out.
//
// DovecotAuthCacheFlusher is the ops layer's AuthCacheFlusher over it, the
// one rosterctl and roster-apid both give ops::Run.
//
// Trusts: the socket at the configured path to be Dovecot's (root-owned, 0600).
#ifndef ROSTER_ADMIN_DOVECOT_FLUSH_H
#define ROSTER_ADMIN_DOVECOT_FLUSH_H

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ops/operations.h"

namespace roster {

// Flushes `users` (all entries when empty) from the auth cache. NotFound when
// no Dovecot listens there (nothing is cached, nothing to do); the number of
// entries flushed otherwise.
Result<unsigned> FlushDovecotAuthCache(const std::string& socket_path, const std::vector<std::string>& users);

// ops::AuthCacheFlusher on the auth-master socket at `socket_path`: folds the
// addresses as the driver's cache key (%Lu: ASCII letters) and flushes them;
// `report` is told each outcome (the caller prints or logs it). Thread-safe
// if `report` is.
class DovecotAuthCacheFlusher : public ops::AuthCacheFlusher {
 public:
  using Report = std::function<void(const Result<unsigned>& flushed)>;
  DovecotAuthCacheFlusher(std::string socket_path, Report report)
      : socket_path_(std::move(socket_path)), report_(std::move(report)) {}
  void Flush(const std::vector<std::string>& users) override;

 private:
  const std::string socket_path_;
  const Report report_;
};

}  // namespace roster

#endif
