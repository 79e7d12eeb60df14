-- 012-change-log-domain: the domain each change-log entry is about, so a
-- domain or group administrator reads the entries of its own domains
-- (operation log.list, ops/routing_ops.cc) in bounded index reads: one range
-- of change_log_domain per domain, newest first.
--
-- `object_domain` is computed by the server from the entry itself: for the
-- actions about a domain's objects (domain-*, mailbox-*, sub-*,
-- app-password-*, send-as-*, outbound-*, send-*) the part of the object
-- after its last '@' (a domain's name has none: the name itself); for every
-- other action (administrator accounts, API keys, and any action added
-- later until this list names it) '', which no domain matches, so only the
-- mail administrator reads them. Mailbox addresses and subscription
-- addresses are stored with their domain lower-cased, as domains are.
-- Rerunning it changes nothing.
ALTER TABLE change_log
  ADD COLUMN IF NOT EXISTS object_domain VARCHAR(255) AS (
    CASE WHEN action LIKE 'domain-%' OR action LIKE 'mailbox-%' OR action LIKE 'sub-%'
           OR action LIKE 'app-password-%' OR action LIKE 'send-as-%' OR action LIKE 'outbound-%'
           OR action LIKE 'send-%'
         THEN SUBSTRING_INDEX(object, '@', -1) ELSE '' END) PERSISTENT,
  ADD INDEX IF NOT EXISTS change_log_domain (object_domain, id);
