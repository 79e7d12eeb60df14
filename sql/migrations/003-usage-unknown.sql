-- 003-usage-unknown: a usage counter may be unknown (NULL). Dovecot's quota
-- dict "unsets" the counters before it stores a recount; roster keeps the row
-- and the account and only forgets the value, and an unknown counter reads as
-- "no value", so Dovecot recounts instead of trusting a stale number.
ALTER TABLE mailbox_usage
  MODIFY bytes BIGINT NULL DEFAULT 0,
  MODIFY messages BIGINT NULL DEFAULT 0;
