// sessions.h: roster-apid's sign-in sessions. A session is what POST
// /v1/session gives after a good sign-in: a bearer token ("rs_" and 43
// characters of base64url, 256 random bits from libsodium) that stands for
// the account signed in to until it is signed out, unused for `idle`, or
// older than `lifetime`. It remembers the account (ops::SessionAccount: its
// row and credentials version), not the principal: the caller makes the
// principal anew from the account's row at each use (ops::ResumeSession), and
// ends the session when that says so, so a change made anywhere counts at
// the next request. Sessions live in the daemon's memory only (a restart signs
// everyone out); the table keeps no token, only its SHA-256, so not even a
// core file holds one that works. Bounded: at most `max` sessions; a new
// one beyond takes the place of the one idle the longest.
//
// A browser's session (made with `cookie`) travels in an HttpOnly cookie
// instead of an Authorization header, and has a CSRF token besides: 256 more
// random bits, answered to the page at sign-in (and to GET /v1/session with
// the cookie), which every change must carry in a header (api/service.h).
// That token is kept in clear: it is worth nothing without the session's own
// token, of which only the digest is kept. A cookie session is used only from
// the cookie, a bearer session only from the header (Found::csrf says which).
//
// Thread-safe: every method may be called from any thread.
//
// Trusts: nothing in a presented token (looked up by its digest only).
#ifndef ROSTER_API_SESSIONS_H
#define ROSTER_API_SESSIONS_H

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ops/authn.h"

namespace roster {

struct SessionLimits {
  size_t max = 10000;
  std::chrono::seconds idle{1800};
  std::chrono::seconds lifetime{12 * 3600};
};

class SessionStore {
 public:
  explicit SessionStore(SessionLimits limits) : limits_(limits) {}

  // New limits (a reload): sessions beyond them end at their next use or
  // the next Create.
  void SetLimits(SessionLimits limits);

  struct Created {
    std::string token;   // give it to the client once; never log it
    int64_t expires_at;  // the absolute end (unix seconds)
    std::string csrf;    // a cookie session's CSRF token; "" for a bearer session
  };
  Created Create(const ops::SessionAccount& account, int64_t now, bool cookie = false);

  struct Found {
    ops::SessionAccount account;
    int64_t created_at;
    int64_t expires_at;
    std::string csrf;  // "" for a bearer session
  };
  // The session of `token`, refreshed (its idle clock restarts), or nullopt
  // (unknown, ended, or not a session token at all).
  std::optional<Found> Use(std::string_view token, int64_t now);
  // Ends the session of `token`; whether there was one.
  bool End(std::string_view token);
  size_t size();

  static bool LooksLikeToken(std::string_view token);
  // Whether `presented` is `csrf` (neither empty), in time independent of
  // where they differ.
  static bool CsrfMatches(std::string_view csrf, std::string_view presented);

 private:
  struct Session {
    ops::SessionAccount account;
    int64_t created_at = 0;
    int64_t last_used = 0;
    std::string csrf;
  };
  bool Expired(const Session& s, int64_t now) const;  // mu_ held
  void EvictOne(int64_t now);                          // mu_ held

  std::mutex mu_;
  SessionLimits limits_;                      // GUARDED_BY(mu_)
  std::map<std::string, Session> sessions_;   // GUARDED_BY(mu_): by the token's SHA-256
};

}  // namespace roster

#endif  // ROSTER_API_SESSIONS_H
