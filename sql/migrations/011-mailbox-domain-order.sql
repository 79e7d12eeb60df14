-- 011-mailbox-domain-order: a domain's mailboxes in address order, from one
-- index. A listing page of one domain (rosterctl mailbox list DOMAIN,
-- GET /v1/domains/D/mailboxes) is a keyset query: WHERE domain AND
-- lookup_key > the cursor ORDER BY lookup_key LIMIT n. With only the index on
-- lookup_key, MariaDB walked every domain's keys in address order and skipped
-- those of other domains (36 ms for the first page of a 200,000-mailbox
-- domain behind 20,000 others' addresses); with (domain_id, lookup_key) it
-- reads the n rows of the page and no other (0.2 ms). A group administrator's
-- page adds the department: (domain_id, department, lookup_key). The new first
-- index also serves the foreign key to domain, so the old one on domain_id
-- alone goes. Rerunning it changes nothing.
ALTER TABLE mailbox
  ADD INDEX IF NOT EXISTS mailbox_domain_lookup (domain_id, lookup_key),
  ADD INDEX IF NOT EXISTS mailbox_department_lookup (domain_id, department, lookup_key),
  DROP INDEX IF EXISTS mailbox_domain;
