// recovery_store.cc: see recovery_store.h. The admin role's SQL about
// mailbox_recovery (migration 013).
#include "common/recovery_store.h"

#include "common/admin_store.h"
#include "common/change_log.h"
#include "common/shared_sql.h"

namespace roster {
namespace {

// Unix seconds <-> DATETIME, not FROM_UNIXTIME/UNIX_TIMESTAMP (2038 on
// MariaDB 10.11), as common/admin_accounts.cc does.
constexpr char kEpoch[] = "'1970-01-01 00:00:00'";
std::string FromUnix() { return std::string("TIMESTAMPADD(SECOND, ?, ") + kEpoch + ")"; }
std::string ToUnix(const std::string& column) {
  return std::string("COALESCE(TIMESTAMPDIFF(SECOND, ") + kEpoch + ", " + column + "), 0)";
}

const std::string& Columns() {
  static const std::string kColumns =
      "SELECT m.id, m.address, m.active AND d.active, d.recovery_mail, COALESCE(r.question, ''), "
      "COALESCE(r.answer_hash, ''), COALESCE(r.failures, 0), " +
      ToUnix("r.locked_until") +
      ", COALESCE(r.recovery_address, ''), " + ToUnix("r.token_expires_at") +
      " FROM mailbox m JOIN domain d ON d.id = m.domain_id "
      "LEFT JOIN mailbox_recovery r ON r.mailbox_id = m.id ";
  return kColumns;
}

RecoveryRecord FromRow(const DbRow& r) {
  RecoveryRecord rec;
  rec.mailbox_id = r.Uint(0);
  rec.address = r.String(1);
  rec.usable = r.Bool(2);
  rec.recovery_mail = r.Bool(3);
  rec.question = r.String(4);
  rec.answer_hash = r.String(5);
  rec.failures = static_cast<unsigned>(r.Uint(6));
  rec.locked_until = r.Int(7);
  rec.recovery_address = r.String(8);
  rec.link_expires_at = r.Int(9);
  return rec;
}

// The row of `mailbox_id`, made if there is none, then read under its lock.
Result<RecoveryRecord> LockRow(Db& db, uint64_t mailbox_id) {
  auto made = db.Execute("INSERT IGNORE INTO mailbox_recovery (mailbox_id) VALUES (?)", {mailbox_id});
  if (!made) return made.error();
  auto rows = db.Query(Columns() + "WHERE m.id = ? FOR UPDATE", {mailbox_id});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox");
  return FromRow(rows->front());
}

}  // namespace

Result<RecoveryRecord> RecoveryStore::Find(std::string_view address) {
  auto rows = db_.Query(Columns() + "WHERE m.lookup_key = LOWER(?)", {std::string(address)});
  if (!rows) return rows.error();
  if (rows->empty()) return Error::NotFound("no such mailbox: " + std::string(address));
  return FromRow(rows->front());
}

Status RecoveryStore::Set(std::string_view address, const std::optional<std::string>& question,
                          const std::string& answer_hash, const std::optional<std::string>& recovery_address,
                          const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto id = MailboxIdOf(db_, address);
    if (!id) return id.error();
    ROSTER_TRY(LockRow(db_, *id).status());
    std::string detail;
    if (question) {
      // A new question starts the count of wrong answers again.
      auto a = db_.Execute("UPDATE mailbox_recovery SET question = ?, answer_hash = ?, failures = 0 "
                           "WHERE mailbox_id = ?",
                           {*question, answer_hash, *id});
      if (!a) return a.error();
      detail = question->empty() ? "question=removed" : "question=set";
    }
    if (recovery_address) {
      auto a = db_.Execute("UPDATE mailbox_recovery SET recovery_address = ?, token_hash = NULL, "
                           "token_expires_at = NULL WHERE mailbox_id = ?",
                           {*recovery_address, *id});
      if (!a) return a.error();
      detail += std::string(detail.empty() ? "" : " ") + "recovery_address=" +
                (recovery_address->empty() ? std::string("removed") : *recovery_address);
    }
    return WriteChangeLog(db_, actor, "mailbox-recovery-set", address, detail);
  });
}

Result<RecoveryRecord> RecoveryStore::RecordFailure(uint64_t mailbox_id, unsigned max_failures,
                                                    int64_t lock_seconds, int64_t now, const Actor& actor) {
  RecoveryRecord after;
  Status s = db_.Transaction([&]() -> Status {
    auto rec = LockRow(db_, mailbox_id);
    if (!rec) return rec.error();
    after = *rec;
    if (rec->locked_until > now) return Status::Ok();  // locked meanwhile: refused without counting
    const unsigned failures = rec->failures + 1;
    if (max_failures == 0 || failures < max_failures) {
      auto a = db_.Execute("UPDATE mailbox_recovery SET failures = ? WHERE mailbox_id = ?",
                           {uint64_t{failures}, mailbox_id});
      if (!a) return a.error();
      after.failures = failures;
      return WriteChangeLog(db_, actor, "mailbox-recovery-fail", rec->address,
                            "failures=" + std::to_string(failures));
    }
    auto a = db_.Execute("UPDATE mailbox_recovery SET failures = 0, locked_until = " + FromUnix() +
                             " WHERE mailbox_id = ?",
                         {now + lock_seconds, mailbox_id});
    if (!a) return a.error();
    after.failures = 0;
    after.locked_until = now + lock_seconds;
    ROSTER_TRY(WriteChangeLog(db_, actor, "mailbox-recovery-fail", rec->address,
                              "failures=" + std::to_string(failures)));
    return WriteChangeLog(db_, actor, "mailbox-recovery-lock", rec->address,
                          "failures=" + std::to_string(failures) + " seconds=" + std::to_string(lock_seconds));
  });
  if (!s) return s.error();
  return after;
}

Status RecoveryStore::LiftExpiredLock(uint64_t mailbox_id, int64_t now, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto rows = db_.Query(
        "SELECT m.address FROM mailbox_recovery r JOIN mailbox m ON m.id = r.mailbox_id WHERE r.mailbox_id = ? "
        "AND r.locked_until IS NOT NULL AND " + ToUnix("r.locked_until") + " <= ? FOR UPDATE",
        {mailbox_id, now});
    if (!rows) return rows.error();
    if (rows->empty()) return Status::Ok();
    auto a = db_.Execute("UPDATE mailbox_recovery SET locked_until = NULL, failures = 0 WHERE mailbox_id = ?",
                         {mailbox_id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "mailbox-recovery-unlock", rows->front().String(0), "lock expired");
  });
}

Result<bool> RecoveryStore::Unlock(std::string_view address, int64_t now, const Actor& actor) {
  bool lifted = false;
  Status s = db_.Transaction([&]() -> Status {
    auto id = MailboxIdOf(db_, address);
    if (!id) return id.error();
    auto rows = db_.Query("SELECT failures, " + ToUnix("locked_until") +
                              " FROM mailbox_recovery WHERE mailbox_id = ? FOR UPDATE",
                          {*id});
    if (!rows) return rows.error();
    if (rows->empty()) return Status::Ok();
    const uint64_t failures = rows->front().Uint(0);
    const int64_t until = rows->front().Int(1);
    lifted = failures > 0 || until > now;
    auto a = db_.Execute("UPDATE mailbox_recovery SET locked_until = NULL, failures = 0 WHERE mailbox_id = ?", {*id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "mailbox-recovery-unlock", address,
                          until > now ? "locked for " + std::to_string(until - now) + " more seconds"
                                      : "failures=" + std::to_string(failures));
  });
  if (!s) return s.error();
  return lifted;
}

Error ResetLocked(int64_t seconds) {
  Error e = Error::Throttled("the password reset is locked after too many wrong answers: try again later", seconds);
  e.code = "reset_locked";
  return e;
}

Status RecoveryStore::ResetByAnswer(uint64_t mailbox_id, const std::string& address, const std::string& password_hash,
                                    int64_t now, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    auto rec = LockRow(db_, mailbox_id);
    if (!rec) return rec.error();
    if (rec->locked_until > now) return ResetLocked(rec->locked_until - now);
    auto a = db_.Execute("UPDATE mailbox_recovery SET failures = 0, locked_until = NULL, token_hash = NULL, "
                         "token_expires_at = NULL WHERE mailbox_id = ?",
                         {mailbox_id});
    if (!a) return a.error();
    ROSTER_TRY(AdminStore(db_).SetPasswordHash(address, password_hash, actor));
    return WriteChangeLog(db_, actor, "mailbox-recovery-reset", address, "by=answer");
  });
}

Status RecoveryStore::SetToken(uint64_t mailbox_id, const std::string& address, const std::string& digest,
                               int64_t expires_at, const std::string& sent_to, const Actor& actor) {
  return db_.Transaction([&]() -> Status {
    ROSTER_TRY(LockRow(db_, mailbox_id).status());
    auto a = db_.Execute("UPDATE mailbox_recovery SET token_hash = ?, token_expires_at = " + FromUnix() +
                             " WHERE mailbox_id = ?",
                         {digest, expires_at, mailbox_id});
    if (!a) return a.error();
    return WriteChangeLog(db_, actor, "mailbox-recovery-link", address, "to=" + sent_to);
  });
}

Result<bool> RecoveryStore::WithdrawToken(uint64_t mailbox_id, const std::string& address, const std::string& digest,
                                          const Actor& actor) {
  bool withdrawn = false;
  Status s = db_.Transaction([&]() -> Status {
    auto a = db_.Execute("UPDATE mailbox_recovery SET token_hash = NULL, token_expires_at = NULL "
                         "WHERE mailbox_id = ? AND token_hash = ?",
                         {mailbox_id, digest});
    if (!a) return a.error();
    withdrawn = *a == 1;
    if (!withdrawn) return Status::Ok();
    return WriteChangeLog(db_, actor, "mailbox-recovery-link-withdrawn", address, "not sent");
  });
  if (!s) return s.error();
  return withdrawn;
}

Result<std::string> RecoveryStore::ResetByToken(const std::string& digest, const std::string& password_hash,
                                                int64_t now, const Actor& actor) {
  std::string address;
  Status s = db_.Transaction([&]() -> Status {
    auto rows = db_.Query(
        "SELECT m.id, m.address FROM mailbox_recovery r JOIN mailbox m ON m.id = r.mailbox_id "
        "JOIN domain d ON d.id = m.domain_id WHERE r.token_hash = ? AND " + ToUnix("r.token_expires_at") +
            " > ? AND m.active = 1 AND d.active = 1 FOR UPDATE",
        {digest, now});
    if (!rows) return rows.error();
    if (rows->empty()) return Error::NotFound("the reset link is unknown, used or expired");
    const uint64_t id = rows->front().Uint(0);
    address = rows->front().String(1);
    // Used once: the token goes in the same transaction as the new password.
    auto a = db_.Execute("UPDATE mailbox_recovery SET token_hash = NULL, token_expires_at = NULL, failures = 0, "
                         "locked_until = NULL WHERE mailbox_id = ? AND token_hash = ?",
                         {id, digest});
    if (!a) return a.error();
    if (*a != 1) return Error::NotFound("the reset link is unknown, used or expired");
    ROSTER_TRY(AdminStore(db_).SetPasswordHash(address, password_hash, actor));
    return WriteChangeLog(db_, actor, "mailbox-recovery-reset", address, "by=link");
  });
  if (!s) return s.error();
  return address;
}

}  // namespace roster
