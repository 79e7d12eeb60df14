-- 004-limit-bounds: limits Dovecot can hold. Dovecot keeps byte and message
-- limits as signed 64-bit numbers and refuses a quota rule above 2^63-1, which
-- then fails every delivery to the mailbox; the columns are unsigned. A value
-- that large can only have meant "no practical limit": it becomes the largest
-- one Dovecot takes, and the server refuses anything larger from now on,
-- whoever writes it (rosterctl refuses it first, with a clearer message).
UPDATE mailbox SET max_bytes = 9223372036854775807 WHERE max_bytes > 9223372036854775807;
UPDATE mailbox SET max_messages = 9223372036854775807 WHERE max_messages > 9223372036854775807;
UPDATE domain SET default_max_bytes = 9223372036854775807 WHERE default_max_bytes > 9223372036854775807;
UPDATE domain SET default_max_messages = 9223372036854775807 WHERE default_max_messages > 9223372036854775807;
-- Idempotent: a constraint is dropped (if there) and added again.
ALTER TABLE mailbox DROP CONSTRAINT IF EXISTS mailbox_limits_fit_dovecot;
ALTER TABLE mailbox ADD CONSTRAINT mailbox_limits_fit_dovecot
  CHECK (max_bytes <= 9223372036854775807 AND max_messages <= 9223372036854775807);
ALTER TABLE domain DROP CONSTRAINT IF EXISTS domain_limits_fit_dovecot;
ALTER TABLE domain ADD CONSTRAINT domain_limits_fit_dovecot
  CHECK (default_max_bytes <= 9223372036854775807 AND default_max_messages <= 9223372036854775807);
