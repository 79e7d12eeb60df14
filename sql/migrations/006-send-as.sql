-- 006-send-as: who may send as an address besides its own mailbox
-- (roster-policyd's sender_logins table for Postfix's smtpd_sender_login_maps,
-- doc/postfix.md). A row lets the mailbox `mailbox_id` log in and use
-- `address` as its envelope sender: an alias, another mailbox's address, an
-- address elsewhere, or "@domain" for every address of a domain. `address` is
-- lower-cased (as subscription.address); a grant goes with its mailbox.
CREATE TABLE IF NOT EXISTS send_as (
  address VARCHAR(254) NOT NULL,
  mailbox_id INT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (address, mailbox_id),
  KEY send_as_mailbox (mailbox_id),
  CONSTRAINT send_as_mailbox_fk FOREIGN KEY (mailbox_id) REFERENCES mailbox (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
