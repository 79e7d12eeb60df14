-- 015-mailbox-last-login: each mailbox's newest login in a column of its own,
-- and the indexes that read the administrators' sorted pages and dashboard
-- lists of one domain without visiting every mailbox of it (issue 15,
-- doc/PERFORMANCE.md "Pages").
--
-- mailbox.last_login_at: the newest of the mailbox's logins the dict records
-- (last_login, one row per protocol) and the passdb records (login_history),
-- NULL for never. Both writers raise it as they write their own rows
-- (common/usage_store.cc RecordLastLogin, common/login_store.cc
-- RecordLogins), to the minute: a login less than a minute after the stored
-- one writes nothing here (the tables keep every login); it never goes back. Before, the page sorted by last login
-- read both tables once per mailbox of the domain (0.7 s for 100,000); the
-- index (domain_id, last_login_at) holds the order itself.
--
-- mailbox_domain_active: a domain's enabled or disabled mailboxes in address
-- order (the dashboard's "suspended", a filter of the listing), instead of
-- reading every row of the domain to find the few that are off.
-- mailbox_domain_quota: the mailboxes with a byte quota, with it, for the
-- "near or over quota" list: one index range instead of every row.
--
-- Rerunning it changes nothing: the column and indexes exist, and the
-- UPDATE only raises a value to the newest login the two tables hold.
ALTER TABLE mailbox
  ADD COLUMN IF NOT EXISTS last_login_at DATETIME(6) NULL DEFAULT NULL,
  ADD INDEX IF NOT EXISTS mailbox_domain_last_login (domain_id, last_login_at),
  ADD INDEX IF NOT EXISTS mailbox_domain_active (domain_id, active, lookup_key),
  ADD INDEX IF NOT EXISTS mailbox_domain_quota (domain_id, max_bytes);

-- The logins recorded so far; updated_at (the last change an administrator
-- made) is kept as it is.
UPDATE mailbox m
  JOIN (SELECT mailbox_id, MAX(logged_at) AS at FROM
          (SELECT mailbox_id, logged_at FROM last_login
           UNION ALL SELECT mailbox_id, logged_at FROM login_history) AS each_login
        GROUP BY mailbox_id) AS newest ON newest.mailbox_id = m.id
SET m.last_login_at = newest.at, m.updated_at = m.updated_at
WHERE m.last_login_at IS NULL OR m.last_login_at < newest.at;
