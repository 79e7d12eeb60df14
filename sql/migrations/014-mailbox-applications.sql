-- 014-mailbox-applications: people asking for a mailbox (issue 15;
-- ops/application_ops.cc, doc/api.md "Applications").
--
-- domain.applications: closed (nobody may apply), approval (an application
-- waits for a domain or mail administrator), open (the mailbox is created
-- at once).
--
-- mailbox_application: what the applicant entered and the step it has
-- reached. `state` only moves forward, each step an UPDATE ... WHERE state =
-- the step before: submitted -> approved -> created (approval; both in one
-- transaction), submitted -> created (an open domain), submitted ->
-- rejected. `address` as given (domain lower-cased, common/address.h);
-- `pending_key` its lookup key while the application is submitted and NULL
-- after, so one address has at most one pending application (a UNIQUE key
-- ignores NULLs). `password_hash`: argon2id of the password the applicant
-- chose, emptied once the application is decided. `client_address`: where
-- the application came from; `decided_by` the administrator who decided.
-- Deleted with its domain.
ALTER TABLE domain ADD COLUMN IF NOT EXISTS applications ENUM('closed','approval','open') NOT NULL DEFAULT 'closed';

CREATE TABLE IF NOT EXISTS mailbox_application (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  domain_id INT UNSIGNED NOT NULL,
  address VARCHAR(254) NOT NULL,
  display_name VARCHAR(255) NOT NULL DEFAULT '',
  department VARCHAR(255) NOT NULL DEFAULT '',
  phone VARCHAR(64) NOT NULL DEFAULT '',
  password_hash VARCHAR(255) NOT NULL DEFAULT '',
  state ENUM('submitted','approved','rejected','created') NOT NULL DEFAULT 'submitted',
  pending_key VARCHAR(254) AS (IF(state = 'submitted', LOWER(address), NULL)) STORED,
  client_address VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  decided_at DATETIME NULL DEFAULT NULL,
  decided_by VARCHAR(64) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY mailbox_application_pending (pending_key),
  KEY mailbox_application_domain (domain_id, state, id),
  CONSTRAINT mailbox_application_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
