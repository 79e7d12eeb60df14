-- 009-admin-accounts: the administrators of roster's administration service
-- (issue 14): their accounts, the domains they administer and their API keys
-- (common/admin_accounts.h, ops/authn.h, doc/rosterctl.1 "admin", "api-key").
--
-- admin_account: `name` lower-case ASCII, unique; `kind` mail (everything),
-- domain (the domains of admin_domain) or group (one domain of admin_domain
-- and `department`). `password_hash` argon2id (common/password.h).
-- `totp_secret`: the raw RFC 6238 secret (20 random bytes), NULL = no second
-- factor; `totp_last_step` the 30-second step of the last accepted code (a
-- code is accepted only for a later step, so none is accepted twice). The
-- sign-in record and the lockout: `failures` in a row, `locked_until` (UTC;
-- NULL or past = not locked). Times written by the service come from its
-- clock; created_at from the server's.
CREATE TABLE IF NOT EXISTS admin_account (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  kind ENUM('mail','domain','group') NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  totp_secret VARBINARY(64) NULL DEFAULT NULL,
  totp_last_step BIGINT UNSIGNED NOT NULL DEFAULT 0,
  department VARCHAR(255) NOT NULL DEFAULT '',
  active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_sign_in_at DATETIME NULL DEFAULT NULL,
  last_sign_in_client VARCHAR(64) NOT NULL DEFAULT '',
  failures INT UNSIGNED NOT NULL DEFAULT 0,
  locked_until DATETIME NULL DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY admin_account_name (name),
  CONSTRAINT admin_account_name_form CHECK (name REGEXP '^[a-z0-9][a-z0-9._@+-]{0,63}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The domains of a domain administrator, the one domain of a group
-- administrator. Deleting a domain deletes its rows (`domain del` leaves no
-- dangling scope; an administrator left with none administers nothing).
CREATE TABLE IF NOT EXISTS admin_domain (
  admin_id INT UNSIGNED NOT NULL,
  domain_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (admin_id, domain_id),
  KEY admin_domain_domain (domain_id),
  CONSTRAINT admin_domain_admin_fk FOREIGN KEY (admin_id) REFERENCES admin_account (id) ON DELETE CASCADE,
  CONSTRAINT admin_domain_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An API key "rk_<selector>_<secret>" (ops/authn.h): generated, shown once.
-- `selector` in clear, unique, picks the row; `secret_hash` the SHA-256 of
-- the secret (160 random bits: a fast hash is enough, as for app passwords).
-- Owned by an administrator (deleted with it); `read_only`; `domain_limited`
-- with its domains in api_key_domain (a limited key whose domains were all
-- deleted works nowhere: it never falls back to its owner's whole scope).
-- `expires_at` NULL = never; the last use (time, client) is written at most
-- once a minute. Revoking a key deletes its row (the change log keeps it).
CREATE TABLE IF NOT EXISTS api_key (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  selector CHAR(12) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  secret_hash BINARY(32) NOT NULL,
  admin_id INT UNSIGNED NOT NULL,
  label VARCHAR(100) NOT NULL DEFAULT '',
  read_only TINYINT(1) NOT NULL DEFAULT 0,
  domain_limited TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NULL DEFAULT NULL,
  last_used_at DATETIME NULL DEFAULT NULL,
  last_used_client VARCHAR(64) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  UNIQUE KEY api_key_selector (selector),
  KEY api_key_admin (admin_id),
  CONSTRAINT api_key_selector_form CHECK (selector REGEXP '^[a-z2-7]{12}$'),
  CONSTRAINT api_key_admin_fk FOREIGN KEY (admin_id) REFERENCES admin_account (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS api_key_domain (
  key_id INT UNSIGNED NOT NULL,
  domain_id INT UNSIGNED NOT NULL,
  PRIMARY KEY (key_id, domain_id),
  KEY api_key_domain_domain (domain_id),
  CONSTRAINT api_key_domain_key_fk FOREIGN KEY (key_id) REFERENCES api_key (id) ON DELETE CASCADE,
  CONSTRAINT api_key_domain_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
