-- 016-subscription-recipient: the aliases, forwards and copies that deliver
-- to one mailbox, from an index. A mailbox's page lists them
-- (GET /v1/subscriptions?recipient=, ops sub.list): the recipient is compared
-- without case, as Postfix's lookups compare addresses, so the listing read
-- every subscription in id order and compared LOWER(recipient) until its page
-- was full (all of them, for a mailbox few deliver to). recipient_key is that
-- lower-cased recipient, kept by the server (STORED: an INSERT names the
-- columns it gives, never this one); its index, with the primary key after
-- it, holds each recipient's subscriptions in id order, the listing's order.
-- Rerunning it changes nothing.
ALTER TABLE subscription
  ADD COLUMN IF NOT EXISTS recipient_key VARCHAR(254) AS (LOWER(recipient)) STORED,
  ADD INDEX IF NOT EXISTS subscription_recipient (recipient_key);
