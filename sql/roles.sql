-- roles.sql: what each roster piece may do in the database, applied by
-- `rosterctl db roles` (and `db init`). `{db}` is the database, `{user}` each
-- 'role'@'host' of db_role_hosts. A role's grants are revoked and granted anew
-- every time, so this file is the whole truth about each role.
-- Sections start with "-- role NAME"; statements end with ';' at the end of a line.

-- role auth
-- Dovecot passdb/userdb: reads credentials and limits, may rewrite only the
-- password hash (rehash on login). Cannot see usage, logins or subscriptions.
-- App passwords: reads them and writes only their last use; the login
-- history: appends to it and prunes each mailbox's to its newest entries
-- (migration 008; no UPDATE: an entry, once written, is never changed),
-- raising the mailbox's newest login with it (migration 015: last_login_at;
-- updated_at only to keep it as it is).
GRANT SELECT (id, domain_id, address, lookup_key, password_hash, active, max_bytes, max_messages, unit, login_protocols, main_password_protocols, last_login_at, updated_at) ON {db}.mailbox TO {user};
GRANT UPDATE (password_hash, password_changed_at, last_login_at, updated_at) ON {db}.mailbox TO {user};
GRANT SELECT (id, name, active) ON {db}.domain TO {user};
GRANT SELECT ON {db}.unit TO {user};
GRANT SELECT (id, mailbox_id, selector, secret_hash, protocols, expires_at, last_used_at) ON {db}.app_password TO {user};
GRANT UPDATE (last_used_at, last_used_ip) ON {db}.app_password TO {user};
-- (SELECT: the prune's DELETE reads the rows it removes; nothing but logins is there.)
GRANT SELECT, INSERT, DELETE ON {db}.login_history TO {user};

-- role dict
-- Dovecot dict server: writes usage counters and last logins, nothing else.
-- No DELETE anywhere: a quota recount can clear counters but never remove a row.
-- Raises the mailbox's newest login as it records one (migration 015;
-- updated_at only to keep it as it is).
GRANT SELECT (id, lookup_key, last_login_at, updated_at) ON {db}.mailbox TO {user};
GRANT UPDATE (last_login_at, updated_at) ON {db}.mailbox TO {user};
GRANT SELECT, INSERT, UPDATE ON {db}.mailbox_usage TO {user};
GRANT SELECT, INSERT, UPDATE ON {db}.last_login TO {user};

-- role policy
-- roster-policyd: reads everything Postfix needs; never a password hash.
GRANT SELECT (id, domain_id, address, lookup_key, active, max_bytes, max_messages, unit) ON {db}.mailbox TO {user};
GRANT SELECT ON {db}.domain TO {user};
GRANT SELECT ON {db}.mailbox_usage TO {user};
GRANT SELECT ON {db}.last_login TO {user};
GRANT SELECT ON {db}.subscription TO {user};
GRANT SELECT ON {db}.unit TO {user};
-- send-as grants, for the sender_logins table (migration 006).
GRANT SELECT ON {db}.send_as TO {user};
-- Outbound limits (migration 007): reads the limits and the suspension,
-- counts in outbound_counter (no DELETE), suspends a mailbox's sending (the
-- two suspension columns only) and writes the change log of a suspension
-- (INSERT only: it can neither read nor rewrite the log).
GRANT SELECT (send_per_hour, send_per_day, rcpt_per_message, rcpt_per_day, send_suspended_at, send_suspended_reason) ON {db}.mailbox TO {user};
GRANT UPDATE (send_suspended_at, send_suspended_reason) ON {db}.mailbox TO {user};
GRANT SELECT, INSERT, UPDATE ON {db}.outbound_counter TO {user};
GRANT INSERT ON {db}.change_log TO {user};

-- role admin
-- rosterctl: owns the schema (migrations) and the accounts.
GRANT ALL PRIVILEGES ON {db}.* TO {user};

-- role api
-- roster-apid, the administration service (issue 14): every operation of
-- ops/ (what rosterctl's administration commands do) and the sign-in of
-- administrators, API keys and mailbox users (migration 009). Reads and
-- writes the data, never the schema: no DDL, no users, no GRANT. The change
-- log only grows (no UPDATE, no DELETE); the schema version is read only.
-- (Rows removed by ON DELETE CASCADE need no privilege on their tables.)
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.domain TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.mailbox TO {user};
GRANT SELECT, INSERT, UPDATE ON {db}.mailbox_usage TO {user};
GRANT SELECT ON {db}.last_login TO {user};
GRANT SELECT ON {db}.login_history TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.subscription TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.send_as TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.app_password TO {user};
GRANT SELECT, UPDATE ON {db}.outbound_counter TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.unit TO {user};
GRANT SELECT, INSERT ON {db}.change_log TO {user};
GRANT SELECT ON {db}.schema_version TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.admin_account TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.admin_domain TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.api_key TO {user};
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.api_key_domain TO {user};
-- Self-service recovery (migration 013): a user's question, the wrong answers
-- and the lock, the reset link's token. Applications (migration 014): added,
-- read and moved forward, never deleted (a domain's go with it by cascade).
GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.mailbox_recovery TO {user};
GRANT SELECT, INSERT, UPDATE ON {db}.mailbox_application TO {user};
