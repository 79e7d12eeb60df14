-- 010-credentials-version: what a signed-in session of roster-apid was
-- signed in to (api/sessions.h, ops/authn.h ResumeSession). Each session
-- remembers its account's `credentials_version`; every request reads the
-- account's row by its primary key and ends the session when the row is
-- gone, disabled, or its version moved, whoever made the change (rosterctl
-- or another roster-apid: the stores of common/ move it).
--
-- The administration stores add 1 to it with every change that must end an
-- account's sessions: a new password (an administrator's or the user's own),
-- a disabled account, an administrator's new or removed second factor.
-- Dovecot's rehash of a legacy password hash at login (common/login_store)
-- does not: the password is the same. A mailbox's domain being disabled is
-- read at each request (d.active) without a version. Rerunning it changes
-- nothing.
ALTER TABLE mailbox ADD COLUMN IF NOT EXISTS credentials_version BIGINT UNSIGNED NOT NULL DEFAULT 0;
ALTER TABLE admin_account ADD COLUMN IF NOT EXISTS credentials_version BIGINT UNSIGNED NOT NULL DEFAULT 0;
