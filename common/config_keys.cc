// config_keys.cc: the table of every setting in roster.conf, with its type and
// default. One file format and one table serve every piece; doc/roster.conf.example
// shows them with their defaults.
#include "common/config.h"

// Where `make install` puts the web pages (Makefile.am: $(pkgdatadir)/web).
#ifndef ROSTER_WEBDIR
#define ROSTER_WEBDIR "/usr/share/roster/web"
#endif

namespace roster {

const std::vector<ConfigKey>& RosterConfigKeys() {
  using T = ConfigType;
  static const std::vector<ConfigKey> kKeys = {
      // --- database connection (all pieces) ---
      {"db_hosts", T::kList, "/run/mysqld/mysqld.sock", false,
       "servers tried in order: /path/to/socket, host, host:port or [v6addr]:port"},
      {"db_name", T::kString, "roster", false, "database name"},
      {"db_connect_timeout", T::kDuration, "5s", false, "connect timeout per server"},
      {"db_read_timeout", T::kDuration, "10s", false, "read timeout of a query"},
      {"db_write_timeout", T::kDuration, "10s", false, "write timeout of a query"},
      {"db_idle_check", T::kDuration, "1s", false,
       "a connection idle this long is pinged before a write, so a server restart costs no failed or doubtful "
       "write (one round trip at most this often per connection)"},
      {"db_sync_wait", T::kInt, "0", false,
       "Galera: wsrep_sync_wait for roster's sessions, 0 to 15 (0 = the server's setting; 1 = reads see every write "
       "the cluster committed before them: doc/scale-out.md)"},
      // --- one least-privilege role per piece ---
      {"auth_db_user", T::kString, "roster_auth", false, "role of the Dovecot passdb/userdb driver"},
      {"auth_db_password", T::kString, "", true, "its password"},
      {"dict_db_user", T::kString, "roster_dict", false, "role of the Dovecot dict driver"},
      {"dict_db_password", T::kString, "", true, "its password"},
      {"policy_db_user", T::kString, "roster_policy", false, "role of roster-policyd"},
      {"policy_db_password", T::kString, "", true, "its password"},
      {"admin_db_user", T::kString, "roster_admin", false, "role of rosterctl"},
      {"admin_db_password", T::kString, "", true, "its password"},
      {"api_db_user", T::kString, "roster_api", false, "role of roster-apid, the administration service"},
      {"api_db_password", T::kString, "", true, "its password"},
      {"setup_db_user", T::kString, "root", false,
       "account that may create the database and the roles (rosterctl db init|roles); "
       "empty password means unix-socket authentication"},
      {"setup_db_password", T::kString, "", true, "its password"},
      {"db_role_hosts", T::kList, "localhost", false, "client hosts the roles are created for"},
      // --- passwords ---
      {"password_argon2_ops", T::kInt, "3", false, "argon2id iterations for new hashes"},
      {"password_argon2_memory", T::kSize, "64M", false, "argon2id memory for new hashes"},
      {"password_argon2_max_memory", T::kSize, "1G", false,
       "stored hashes asking for more memory than this are refused (a bad row must not exhaust memory)"},
      {"password_allow_plaintext", T::kBool, "no", false, "accept {PLAIN} and {CLEARTEXT} stored passwords"},
      // --- Dovecot passdb/userdb (auth/) ---
      {"auth_uid", T::kString, "vmail", false, "userdb uid: a user name or number"},
      {"auth_gid", T::kString, "vmail", false, "userdb gid: a group name or number"},
      {"auth_home", T::kString, "/var/vmail/%d/%n", false,
       "userdb home template: %u address, %n local part, %d domain, %% a percent sign"},
      {"auth_mail", T::kString, "", false,
       "userdb mail location template (DRIVER:PATH[:KEY=VALUE...]); empty: Dovecot's own. Dovecot 2.4 gets it as "
       "mail_driver, mail_path, mail_index_path ... (INBOX, INDEX, INDEXPVT, CONTROL, VOLATILEDIR, ALT, LAYOUT, "
       "DIRNAME, SUBSCRIPTIONS, UTF8)"},
      {"auth_userdb_fields", T::kString, "", false,
       "extra userdb fields, space-separated name=value (templates allowed)"},
      {"auth_rehash", T::kBool, "yes", false,
       "after a successful login against a weaker hash, store a fresh argon2id hash"},
      {"auth_threads", T::kInt, "0", false,
       "0: the driver is blocking and Dovecot runs it in auth-worker processes; N: it runs in the auth process "
       "with N threads of its own (N database connections, at most N argon2 hashes at once)"},
      {"auth_lookup_threads", T::kInt, "1", false,
       "threaded mode: how many of the auth_threads may query the database at once; requests waiting meanwhile "
       "are looked up together, in one query"},
      {"auth_webmail_networks", T::kList, "", false,
       "networks (CIDR or single addresses) whose logins count as protocol 'webmail' in a mailbox's protocol lists "
       "and an app password's (rosterctl mailbox access): the webmail's own hosts"},
      {"auth_login_history", T::kInt, "20", false,
       "logins the passdb keeps per mailbox (rosterctl mailbox logins), 0 to 1000; 0 = none kept"},
      // --- Dovecot dict (quota/) ---
      {"dict_threads", T::kInt, "1", false,
       "dict-async service: threads (and database connections) of the dict process; each runs the requests "
       "that queued while it was busy as one batch, and a user's requests always go to the same one"},
      {"dict_login_protocols", T::kList, "imap pop3", false,
       "protocols whose logins the dict stores (roster_lastlogin sends its service names: "
       "roster_lastlogin_services); a last login of any other protocol is refused, and every one stored "
       "counts for POP/IMAP-before-SMTP"},
      {"unit", T::kString, "", false,
       "this host's unit; logins to mailboxes of another unit are proxied to that unit's host"},
      // --- roster-policyd (policy/) ---
      {"policy_listen", T::kList, "unix:/run/roster-policyd/policy", false,
       "policy-protocol listeners (Postfix check_policy_service): unix:/path, inet:host:port, inet:[v6addr]:port"},
      {"socketmap_listen", T::kList, "unix:/run/roster-policyd/socketmap", false,
       "socketmap listeners (Postfix socketmap: tables), same forms"},
      {"policy_socket_mode", T::kString, "0660", false,
       "mode of the unix sockets roster-policyd creates (octal); with policy_socket_group, who may connect"},
      {"policy_socket_group", T::kString, "postfix", false,
       "group of the unix sockets roster-policyd creates (Postfix's); empty = the daemon's own group"},
      {"policy_user", T::kString, "roster-policyd", false,
       "user roster-policyd runs as once its sockets are bound (when started as root); empty = stay"},
      {"policy_log", T::kString, "syslog", false, "syslog (facility mail) or stderr"},
      {"policy_threads", T::kInt, "2", false,
       "threads answering requests; each may hold one database connection while it asks"},
      {"policy_max_connections", T::kInt, "1000", false,
       "connections served at once, 1..1000000 (lowered to fit the open-file limit); at the cap the connection "
       "idle the longest is closed for a new one, and if none is idle new ones wait in the listen backlog"},
      {"policy_max_connections_per_peer", T::kInt, "500", false,
       "connections of one client at once, 1..1000000: one uid on a unix socket, one address over TCP; more are "
       "closed at once (all of Postfix is one peer: keep this above its process limits)"},
      {"policy_idle_timeout", T::kDuration, "600s", false,
       "a connection that sends nothing this long between requests is closed"},
      {"policy_request_timeout", T::kDuration, "10s", false,
       "a request must be complete this long after its first byte, 100ms..1h, or its connection is closed"},
      {"policy_write_timeout", T::kDuration, "10s", false,
       "answers must be taken by the client within this long, 100ms..1h, or its connection is closed"},
      {"policy_max_request", T::kSize, "64k", false,
       "largest policy request or socketmap query; a larger one is logged and its connection closed"},
      {"policy_max_attributes", T::kInt, "1000", false, "most attributes in one policy request"},
      {"policy_overquota_reply", T::kString, "452 4.2.2 Mailbox is over quota", false,
       "reply to a recipient over quota: code, enhanced status, text (Postfix adds the recipient: \"452 4.2.2 "
       "<bob@example.org>: Recipient address rejected: Mailbox is over quota\"); \"552 5.2.2 ...\" refuses for good"},
      {"policy_db_failure_action", T::kString, "DEFER_IF_PERMIT 4.3.0 Temporary lookup failure", false,
       "answer of a quota check when the database cannot answer (relay checks then answer DEFER_IF_REJECT 4.3.0 "
       "Temporary lookup failure)"},
      {"policy_relay_window", T::kDuration, "30m", false,
       "POP/IMAP-before-SMTP: how long after an IMAP or POP3 login its address may relay"},
      {"policy_relay_ipv4_prefix", T::kInt, "32", false, "leading bits of an IPv4 client that must match the login's"},
      {"policy_relay_ipv6_prefix", T::kInt, "64", false, "leading bits of an IPv6 client that must match the login's"},
      {"policy_relay_nat64_prefixes", T::kList, "64:ff9b::/96", false,
       "IPv6 prefixes (RFC 6052: /32 /40 /48 /56 /64 /96) under which a NAT64 translator writes IPv4 clients: such "
       "a client is matched as the IPv4 address it carries, under policy_relay_ipv4_prefix; empty = none"},
      {"policy_cache_ttl", T::kDuration, "0", false,
       "how long recipient states, domains and relay refusals are reused without asking the database (a relay OK "
       "is never cached); 0 = never"},
      {"policy_cache_entries", T::kInt, "100000", false, "most cached entries"},
      {"policy_sender_login_alias_members", T::kBool, "no", false,
       "sender_logins table: every mailbox an alias delivers to (directly or through nested aliases, never through "
       "a catch-all) may send as the alias"},
      // --- roster-policyd: outbound limits and the circuit breaker (doc/postfix.md) ---
      {"policy_outbound_db_failure_action", T::kString, "451 4.3.0 Temporary lookup failure", false,
       "answer at DATA to a sender whose outbound limits cannot be checked (database down); DUNNO lets the mail "
       "through uncounted"},
      {"policy_outbound_suspended_reply", T::kString,
       "550 5.7.1 Sending is suspended for this account: contact your administrator", false,
       "answer to a mailbox whose sending is suspended (circuit breaker or rosterctl): a 4xx or 5xx code and a text"},
      {"policy_outbound_breaker_attempts", T::kInt, "0", false,
       "circuit breaker: suspend a mailbox's sending when it tries more than this many messages in one UTC hour "
       "(refused ones count), 0..100000000; 0 = no such threshold"},
      {"policy_outbound_breaker_factor", T::kInt, "3", false,
       "circuit breaker: ... or more than this many times its hourly message limit (when it has one), 0..1000; "
       "0 = no such threshold. The lower threshold that applies counts"},
      {"policy_outbound_relay_clients", T::kBool, "yes", false,
       "count the mail of POP/IMAP-before-SMTP clients (no SASL login) on the mailbox that logged in last from "
       "their network; never a loopback client"},
      {"policy_outbound_notify", T::kString, "", false,
       "address told when the circuit breaker suspends a mailbox's sending; empty = nobody (the log only)"},
      {"policy_outbound_notify_from", T::kString, "", false, "envelope sender of the notice; empty = <>"},
      {"policy_outbound_notify_smtp", T::kString, "127.0.0.1:25", false,
       "the local MTA the notice goes through: a loopback host:port ([::1]:25 for IPv6)"},
      {"policy_outbound_notify_timeout", T::kDuration, "10s", false,
       "most time for sending one notice (connect to QUIT), 100ms..60s"},
      {"unit_mx_transport", T::kString, "", false,
       "on a unit host: the transport for mail to mailboxes that are not this unit's (the MX), e.g. smtp:[mx.example.net]"},
      // --- roster-apid (api/, doc/api.md) ---
      {"api_listen", T::kString, "unix:/run/roster-apid/api", false,
       "where roster-apid listens: unix:/path, 127.0.0.1:port or [::1]:port (any address:port only with "
       "api_tls_cert and api_tls_key)"},
      {"api_socket_mode", T::kString, "0660", false, "mode of roster-apid's unix socket (octal)"},
      {"api_socket_group", T::kString, "", false,
       "group of roster-apid's unix socket (a reverse proxy's, such as www-data); empty = the daemon's own"},
      {"api_user", T::kString, "roster-apid", false,
       "user roster-apid runs as once its socket is bound (when started as root); empty = stay"},
      {"api_log", T::kString, "syslog", false, "syslog (facility mail) or stderr"},
      {"api_log_requests", T::kBool, "yes", false,
       "log one line per answered request: method, path without the query, status, principal, client"},
      {"api_tls_cert", T::kString, "", false,
       "PEM certificate (chain) of the built-in TLS; with api_tls_key, any listen address is allowed"},
      {"api_tls_key", T::kString, "", false, "PEM private key of the built-in TLS"},
      {"api_trusted_proxies", T::kList, "", false,
       "reverse proxies whose X-Forwarded-For names the client: IP addresses (TCP peers) and user:NAME or "
       "uid:N (unix-socket peers)"},
      {"api_threads", T::kInt, "4", false,
       "threads answering requests, 1..256; each holds one database connection"},
      {"api_max_connections", T::kInt, "256", false, "connections at once, 1..100000"},
      {"api_max_connections_per_client", T::kInt, "32", false,
       "connections of one client at once (an address, or a unix peer's uid), 1..100000"},
      {"api_max_body", T::kSize, "1M", false, "largest request body, 1k..64M"},
      {"api_max_header_bytes", T::kSize, "16k", false, "most bytes of a request line and its headers, 4k..1M"},
      {"api_max_headers", T::kInt, "64", false, "most header fields in a request, 8..1000"},
      {"api_request_timeout", T::kDuration, "30s", false,
       "a request must be read whole this long after it starts, 100ms..1h, or its connection is cut"},
      {"api_idle_timeout", T::kDuration, "60s", false, "an idle connection is closed after this long, 1s..1h"},
      {"api_max_sessions", T::kInt, "10000", false,
       "sign-in sessions held at once, 1..1000000; at the cap the one idle the longest ends"},
      {"api_session_idle", T::kDuration, "30m", false, "a session unused this long ends, 1m..24h"},
      {"api_session_lifetime", T::kDuration, "12h", false, "a session ends this long after sign-in, 1m..30d"},
      {"api_web_root", T::kString, ROSTER_WEBDIR, false,
       "directory of the web pages served at / (doc/web.md), an absolute path, read into memory at start and on "
       "SIGHUP (regular files only, at most 1000 files and 32 MiB); empty = no pages"},
      {"api_cookie_secure", T::kBool, "yes", false,
       "the browser's session cookie is Secure (sent over HTTPS only); no only for plain HTTP to a loopback "
       "address, as in tests"},
      // --- rosterctl ---
      {"dovecot_auth_master", T::kString, "/run/dovecot/auth-master", false,
       "Dovecot's auth-master socket: rosterctl and roster-apid flush a changed account from Dovecot's auth cache "
       "there; empty = never"},
      // --- sign-in to the administration service (ops/authn.h; roster-apid) ---
      {"api_lockout_failures", T::kInt, "5", false,
       "failed sign-ins in a row that lock an administrator account, 0..1000; 0 = never locks"},
      {"api_lockout", T::kDuration, "15m", false, "how long a locked administrator account stays locked, 1s..1d"},
      {"api_client_failures", T::kInt, "20", false,
       "failed sign-ins from one client address within api_client_window before it is refused without looking, "
       "0..100000; 0 = no limit"},
      {"api_client_window", T::kDuration, "15m", false, "the window of api_client_failures, 1s..1d"},
      // --- self-service recovery and applications (ops/recovery_ops.cc, ops/application_ops.cc; roster-apid) ---
      {"recovery_max_failures", T::kInt, "3", false,
       "wrong answers to a mailbox's security question in a row that lock its password reset, 1..100"},
      {"recovery_lock", T::kDuration, "30m", false, "how long a locked password reset stays locked, 1m..1d"},
      {"api_public_url", T::kString, "", false,
       "the pages' address as users reach it (https://mail.example.org/), for the reset link mailed to a "
       "recovery address; empty = no reset links are mailed"},
      {"api_smtp", T::kString, "127.0.0.1:25", false,
       "the local MTA reset links are mailed through: a loopback host:port ([::1]:25 for IPv6)"},
      {"api_smtp_timeout", T::kDuration, "10s", false, "most time for mailing one reset link, 100ms..60s"},
      {"api_mail_from", T::kString, "", false, "envelope sender of the reset mail; empty = <>"},
      {"api_public_client_limit", T::kInt, "30", false,
       "calls of the public operations (recovery, applications) from one client address within "
       "api_public_window, 1..100000"},
      {"api_public_window", T::kDuration, "15m", false, "the window of the public operations' limits, 1s..1d"},
      {"api_application_limit", T::kInt, "100", false,
       "mailbox applications from all clients together within api_public_window, 1..1000000"},
      // --- addresses ---
      {"recipient_delimiter", T::kString, "+", false,
       "characters that start an address extension, as Postfix's recipient_delimiter; empty = none"},
  };
  return kKeys;
}

}  // namespace roster
