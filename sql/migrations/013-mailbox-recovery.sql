-- 013-mailbox-recovery: a mailbox user's own way back in when the password is
-- forgotten (issue 15; ops/recovery_ops.cc, doc/api.md "Password recovery").
--
-- mailbox_recovery: at most one row per mailbox, deleted with it.
-- `question` as the user wrote it; `answer_hash` the argon2id hash
-- (common/password.h) of the answer normalised (ops/recovery.h,
-- NormaliseRecoveryAnswer), never the answer; '' = no question set.
-- `failures` wrong answers in a row; `locked_until` (UTC; NULL or past = not
-- locked): set for recovery_lock after recovery_max_failures wrong answers.
-- `recovery_address`: where a reset link may be mailed ('' = none), used only
-- when the mailbox's domain has `recovery_mail` on. `token_hash`: SHA-256 of
-- the one reset link's token in force (NULL = none), `token_expires_at` its
-- end. Times written by the service come from its clock.
CREATE TABLE IF NOT EXISTS mailbox_recovery (
  mailbox_id INT UNSIGNED NOT NULL,
  question VARCHAR(255) NOT NULL DEFAULT '',
  answer_hash VARCHAR(255) NOT NULL DEFAULT '',
  failures INT UNSIGNED NOT NULL DEFAULT 0,
  locked_until DATETIME NULL DEFAULT NULL,
  recovery_address VARCHAR(254) NOT NULL DEFAULT '',
  token_hash VARBINARY(32) NULL DEFAULT NULL,
  token_expires_at DATETIME NULL DEFAULT NULL,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (mailbox_id),
  UNIQUE KEY mailbox_recovery_token (token_hash),
  CONSTRAINT mailbox_recovery_fk FOREIGN KEY (mailbox_id) REFERENCES mailbox (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Whether a domain's users may have a reset link mailed to their recovery
-- address (off by default: the domain's administrator turns it on).
ALTER TABLE domain ADD COLUMN IF NOT EXISTS recovery_mail TINYINT(1) NOT NULL DEFAULT 0;
