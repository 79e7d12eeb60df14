-- 001-initial: roster's data model (see doc/ARCHITECTURE.md and sql/README.md).
-- Statements end with ';' at the end of a line; every one is idempotent, so a
-- migration cut off half-way is simply run again.

CREATE TABLE IF NOT EXISTS domain (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  transport VARCHAR(255) NOT NULL DEFAULT '',
  active TINYINT(1) NOT NULL DEFAULT 1,
  default_max_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  default_max_messages BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY domain_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS unit (
  name VARCHAR(64) NOT NULL,
  host VARCHAR(255) NOT NULL DEFAULT '',
  transport VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS mailbox (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  domain_id INT UNSIGNED NOT NULL,
  address VARCHAR(254) NOT NULL,
  lookup_key VARCHAR(254) AS (LOWER(address)) STORED,
  password_hash VARCHAR(255) NOT NULL DEFAULT '',
  active TINYINT(1) NOT NULL DEFAULT 1,
  display_name VARCHAR(255) NOT NULL DEFAULT '',
  department VARCHAR(255) NOT NULL DEFAULT '',
  max_bytes BIGINT UNSIGNED NOT NULL DEFAULT 0,
  max_messages BIGINT UNSIGNED NOT NULL DEFAULT 0,
  unit VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  password_changed_at DATETIME NULL DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY mailbox_lookup (lookup_key),
  KEY mailbox_domain (domain_id),
  CONSTRAINT mailbox_domain_fk FOREIGN KEY (domain_id) REFERENCES domain (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS mailbox_usage (
  mailbox_id INT UNSIGNED NOT NULL,
  bytes BIGINT NOT NULL DEFAULT 0,
  messages BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (mailbox_id),
  CONSTRAINT mailbox_usage_fk FOREIGN KEY (mailbox_id) REFERENCES mailbox (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS last_login (
  mailbox_id INT UNSIGNED NOT NULL,
  protocol VARCHAR(16) NOT NULL,
  ip VARBINARY(16) NOT NULL,
  logged_at DATETIME(6) NOT NULL,
  PRIMARY KEY (mailbox_id, protocol),
  KEY last_login_ip (ip, logged_at),
  CONSTRAINT last_login_fk FOREIGN KEY (mailbox_id) REFERENCES mailbox (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS subscription (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  direction CHAR(1) NOT NULL,
  address VARCHAR(254) NOT NULL,
  recipient VARCHAR(254) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY subscription_unique (address, direction, recipient),
  CONSTRAINT subscription_direction CHECK (direction IN ('I', 'O'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS change_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  actor VARCHAR(64) NOT NULL,
  origin VARCHAR(64) NOT NULL DEFAULT '',
  action VARCHAR(32) NOT NULL,
  object VARCHAR(255) NOT NULL DEFAULT '',
  detail VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY change_log_object (object, at),
  KEY change_log_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
