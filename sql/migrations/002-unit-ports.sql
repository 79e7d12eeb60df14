-- 002-unit-ports: where a unit's IMAP and POP3 listen, for the login proxy
-- (0 = the protocol's standard port).
ALTER TABLE unit
  ADD COLUMN IF NOT EXISTS imap_port SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS pop3_port SMALLINT UNSIGNED NOT NULL DEFAULT 0;
