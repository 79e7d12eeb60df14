// recovery_store.h: the admin role's data access for a mailbox user's
// self-service password recovery (migration 013, table mailbox_recovery;
// ops/recovery_ops.cc decides, this file only reads and writes): the
// security question and its answer's hash, the wrong answers in a row and
// the lock they set, the recovery address, the one reset link's token hash.
// A companion of common/admin_store.h in the same library (roster_admin for
// rosterctl, roster_api for roster-apid). Every change writes the change log
// in the same transaction, with the caller's actor (name and client address):
//   mailbox-recovery-set     the question and/or the recovery address set
//   mailbox-recovery-fail    a wrong answer (failures=N)
//   mailbox-recovery-lock    the wrong answer that locked the reset
//   mailbox-recovery-unlock  a lock lifted (by an administrator, or expired)
//   mailbox-recovery-link    a reset link made (and mailed by the caller)
//   mailbox-recovery-link-withdrawn  that link withdrawn: its mail could not be sent
//   mailbox-recovery-reset   the password reset (by=answer or by=link), with
//                            AdminStore's mailbox-passwd entry
// Times are Unix seconds from the caller's clock, never the server's NOW().
//
// Trusts: the Db it is given; the caller for normalised addresses, for the
// hashes (argon2id from common/password.h, SHA-256 digests) and for having
// decided that the change may be made. One RecoveryStore on one Db, on its
// thread.
#ifndef ROSTER_COMMON_RECOVERY_STORE_H
#define ROSTER_COMMON_RECOVERY_STORE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/db.h"
#include "common/result.h"
#include "common/store_types.h"

namespace roster {

// A mailbox as the recovery sees it.
struct RecoveryRecord {
  uint64_t mailbox_id = 0;
  std::string address;        // as stored
  bool usable = false;        // the mailbox and its domain are enabled
  bool recovery_mail = false; // its domain lets reset links be mailed (domain.recovery_mail)
  std::string question;       // "" = none set
  std::string answer_hash;
  unsigned failures = 0;
  int64_t locked_until = 0;   // Unix seconds; 0 = not locked (or never was)
  std::string recovery_address;  // "" = none
  int64_t link_expires_at = 0;   // Unix seconds the reset link in force ends; 0 = none
};

// The refusal of a reset while the mailbox's reset is locked (429, code
// "reset_locked", told apart from the per-client throttle's
// too_many_attempts), with the seconds left.
Error ResetLocked(int64_t seconds);

class RecoveryStore {
 public:
  explicit RecoveryStore(Db& db) : db_(db) {}

  // kNotFound: no such mailbox. A mailbox with nothing set has empty fields.
  Result<RecoveryRecord> Find(std::string_view address);

  // Sets the question and its answer's hash (when `question` is given) and/or
  // the recovery address ("" removes it). kNotFound: no such mailbox.
  Status Set(std::string_view address, const std::optional<std::string>& question, const std::string& answer_hash,
             const std::optional<std::string>& recovery_address, const Actor& actor);

  // A wrong answer for `mailbox_id`, counted atomically (the row read FOR
  // UPDATE). At `max_failures` in a row the reset locks until now +
  // `lock_seconds` and the count starts again. If the reset was locked
  // meanwhile (another client's third wrong answer), nothing is counted.
  // Returns the state after.
  Result<RecoveryRecord> RecordFailure(uint64_t mailbox_id, unsigned max_failures, int64_t lock_seconds,
                                       int64_t now, const Actor& actor);
  // A lock whose time has passed: lifted, failures back to 0 (logged "lock
  // expired"); nothing when it was lifted or set again meanwhile.
  Status LiftExpiredLock(uint64_t mailbox_id, int64_t now, const Actor& actor);
  // An administrator lifts the lock (and the count of wrong answers),
  // logged. Whether there was a lock or a count to lift. kNotFound: no
  // such mailbox.
  Result<bool> Unlock(std::string_view address, int64_t now, const Actor& actor);

  // The right answer: under the row's lock, refuses with kThrottled (code
  // "reset_locked", and the seconds left) if the reset was locked meanwhile; else sets the password
  // hash (AdminStore::SetPasswordHash), clears the failures, the lock and any
  // reset link, and logs the reset, all in one transaction.
  Status ResetByAnswer(uint64_t mailbox_id, const std::string& address, const std::string& password_hash, int64_t now,
                       const Actor& actor);

  // A new reset link: the SHA-256 `digest` of its token, working until
  // `expires_at`; replaces any earlier one. Logged with the recovery address.
  Status SetToken(uint64_t mailbox_id, const std::string& address, const std::string& digest, int64_t expires_at,
                  const std::string& sent_to, const Actor& actor);
  // The link of `digest` withdrawn (its mail could not be sent): the token
  // and its expiry cleared if it is still the one in force (a newer link
  // is left alone), logged. Whether it was withdrawn.
  Result<bool> WithdrawToken(uint64_t mailbox_id, const std::string& address, const std::string& digest,
                             const Actor& actor);
  // The link used: the row whose token has `digest` and has not expired,
  // found and its token cleared under the row's lock, the password hash set,
  // failures and lock cleared, logged; all in one transaction, so a token
  // works once. Returns the mailbox's address; kNotFound for an unknown,
  // used or expired token (or a disabled mailbox).
  Result<std::string> ResetByToken(const std::string& digest, const std::string& password_hash, int64_t now,
                                   const Actor& actor);

 private:
  Db& db_;
};

}  // namespace roster

#endif  // ROSTER_COMMON_RECOVERY_STORE_H
