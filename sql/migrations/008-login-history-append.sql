-- 008-login-history-append: the login history becomes append-only, keyed by
-- (mailbox_id, seq), without the secondary index on the time (doc/dovecot.md,
-- "Login history"; doc/PERFORMANCE.md). The passdb appends each login as
-- seq = the mailbox's newest + 1 (the login query reads the newest from the
-- end of the primary key's range: one index dive) and, once every
-- auth_login_history logins of a mailbox (when seq is a multiple of it),
-- deletes the entries older than the newest auth_login_history, so a mailbox
-- holds at most twice auth_login_history - 1 rows. Nothing read the time
-- index (`mailbox list --inactive` groups by mailbox, along the primary key);
-- the ring's slot goes. IGNORE: of two old rows with one seq (two auth
-- processes with different ring sizes), the first is kept. Rerunning it
-- rebuilds the same table.
ALTER IGNORE TABLE login_history
  DROP INDEX IF EXISTS login_history_time,
  DROP CONSTRAINT IF EXISTS login_history_slot_bound,
  DROP COLUMN IF EXISTS slot,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (mailbox_id, seq);
