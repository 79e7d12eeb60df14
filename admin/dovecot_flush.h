// dovecot_flush.h: tells a running Dovecot to forget cached credentials, so a
// password change or a disabled account takes effect at the next login even
// with Dovecot's auth cache on. Speaks Dovecot's auth-master protocol
// (VERSION, then CACHE-FLUSH) on its auth-master socket; no shell-out.
//
// Trusts: the socket at the configured path to be Dovecot's (root-owned, 0600).
#ifndef ROSTER_ADMIN_DOVECOT_FLUSH_H
#define ROSTER_ADMIN_DOVECOT_FLUSH_H

#include <string>
#include <vector>

#include "common/result.h"

namespace roster {

// Flushes `users` (all entries when empty) from the auth cache. NotFound when
// no Dovecot listens there (nothing is cached, nothing to do); the number of
// entries flushed otherwise.
Result<unsigned> FlushDovecotAuthCache(const std::string& socket_path, const std::vector<std::string>& users);

}  // namespace roster

#endif
