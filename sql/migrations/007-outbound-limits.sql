-- 007-outbound-limits: limits on the mail a mailbox sends, and the circuit
-- breaker that suspends its sending (roster-policyd, doc/postfix.md).
-- A mailbox's limit NULL means its domain's default; a domain's default 0
-- means unlimited. Counts are per fixed UTC clock window (the hour, the day),
-- kept in the database so that every roster-policyd sharing it counts the
-- same messages, across restarts. The bound (100,000,000) refuses absurd
-- values from anyone who writes them (rosterctl refuses them first).
ALTER TABLE domain
  ADD COLUMN IF NOT EXISTS default_send_per_hour INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS default_send_per_day INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS default_rcpt_per_message INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS default_rcpt_per_day INT UNSIGNED NOT NULL DEFAULT 0;
ALTER TABLE mailbox
  ADD COLUMN IF NOT EXISTS send_per_hour INT UNSIGNED NULL DEFAULT NULL,
  ADD COLUMN IF NOT EXISTS send_per_day INT UNSIGNED NULL DEFAULT NULL,
  ADD COLUMN IF NOT EXISTS rcpt_per_message INT UNSIGNED NULL DEFAULT NULL,
  ADD COLUMN IF NOT EXISTS rcpt_per_day INT UNSIGNED NULL DEFAULT NULL,
  ADD COLUMN IF NOT EXISTS send_suspended_at DATETIME(6) NULL DEFAULT NULL,
  ADD COLUMN IF NOT EXISTS send_suspended_reason VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE domain DROP CONSTRAINT IF EXISTS domain_outbound_limits_bounded;
ALTER TABLE domain ADD CONSTRAINT domain_outbound_limits_bounded
  CHECK (default_send_per_hour <= 100000000 AND default_send_per_day <= 100000000 AND
         default_rcpt_per_message <= 100000000 AND default_rcpt_per_day <= 100000000);
ALTER TABLE mailbox DROP CONSTRAINT IF EXISTS mailbox_outbound_limits_bounded;
ALTER TABLE mailbox ADD CONSTRAINT mailbox_outbound_limits_bounded
  CHECK (COALESCE(send_per_hour, 0) <= 100000000 AND COALESCE(send_per_day, 0) <= 100000000 AND
         COALESCE(rcpt_per_message, 0) <= 100000000 AND COALESCE(rcpt_per_day, 0) <= 100000000);
-- One row per mailbox that has sent: the counts of the current UTC hour
-- (hour_start) and day (day_start); a request in a later window starts the
-- counts afresh in the same statement. hour_attempts counts refused messages
-- too: the circuit breaker's measure.
CREATE TABLE IF NOT EXISTS outbound_counter (
  mailbox_id INT UNSIGNED NOT NULL,
  hour_start DATETIME NOT NULL,
  hour_messages INT UNSIGNED NOT NULL DEFAULT 0,
  hour_attempts INT UNSIGNED NOT NULL DEFAULT 0,
  day_start DATE NOT NULL,
  day_messages INT UNSIGNED NOT NULL DEFAULT 0,
  day_recipients INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (mailbox_id),
  CONSTRAINT outbound_counter_fk FOREIGN KEY (mailbox_id) REFERENCES mailbox (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
