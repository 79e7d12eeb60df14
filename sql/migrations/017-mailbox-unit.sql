-- 017-mailbox-unit: the mailboxes of one unit (seed 004), from an index.
-- `rosterctl unit list` counts each unit's mailboxes, and `unit del` refuses
-- a unit that still holds any: without an index each count read every
-- mailbox (a second or more at a million). A mailbox's unit changes only
-- when an administrator moves it, so the index costs deliveries and logins
-- nothing. Rerunning it changes nothing.
ALTER TABLE mailbox ADD INDEX IF NOT EXISTS mailbox_unit (unit);
