/* roster_auth.h: the plain C API between Dovecot's auth process (the glue,
 * authdb-roster.c) and roster's C++ core (auth_core.h). Only C types and an
 * opaque handle cross it; no exception does (roster_auth.cc catches every
 * one: a request then fails temporarily).
 *
 * One core per configuration file and process: passdb and userdb that name
 * the same file share it (one set of threads, one set of connections), by
 * reference counting, as Dovecot shares its SQL connection.
 *
 * One way to ask: roster_auth_submit with a completion `done`, which runs
 * exactly once, on the caller's thread (Dovecot's ioloop thread; all calls
 * come from it):
 *   - blocking mode (auth_threads = 0, Dovecot's auth-worker processes; or
 *     the threads not started): before roster_auth_submit returns;
 *   - threaded mode (after roster_auth_start): later, inside
 *     roster_auth_drain, which the host's watch calls when the descriptor is
 *     readable;
 *   - at the latest inside the last roster_auth_release: requests waiting in
 *     a queue (for their lookup or their hashing) are answered
 *     ROSTER_AUTH_TEMPFAIL, the batches running finish, and every answer not
 *     yet delivered is delivered there. Never after it.
 *
 * Trusts: the glue to pass NUL-terminated strings; everything else (user
 * names, passwords) is treated as hostile and bounded by the core. */
#ifndef ROSTER_AUTH_H
#define ROSTER_AUTH_H

#ifdef __cplusplus
extern "C" {
#endif

struct roster_auth;

enum roster_auth_result {
  ROSTER_AUTH_OK = 0,
  ROSTER_AUTH_MISMATCH,       /* wrong password */
  ROSTER_AUTH_UNKNOWN,        /* no such mailbox (or an unusable user name); userdb: also a disabled one */
  ROSTER_AUTH_DISABLED,       /* mailbox or its domain disabled (passdb) */
  ROSTER_AUTH_TEMPFAIL,       /* database down, timeout, internal error, shutting down: try again later */
  ROSTER_AUTH_NO_SCHEME       /* stored hash unusable (malformed, unknown or refused scheme) */
};

enum roster_log_level { ROSTER_LOG_DEBUG, ROSTER_LOG_INFO, ROSTER_LOG_WARNING, ROSTER_LOG_ERROR };

/* Receives log lines (never holding a password). */
typedef void roster_log_fn(void *context, enum roster_log_level level, const char *message);

/* Which userdb field names the Dovecot in front reads (the glue knows its
 * version, the core none). Dovecot 2.4 ignores fields it does not know
 * without a word: the wrong dialect would mean no limit at all. */
enum roster_field_dialect {
  ROSTER_FIELDS_DOVECOT23 = 0, /* home, mail (a mail location), quota_rule */
  ROSTER_FIELDS_DOVECOT24      /* home, mail_driver, mail_path, ..., quota_storage_size, quota_message_count */
};

/* What the process hosting the core provides. */
struct roster_auth_host {
  /* The field names its Dovecot reads. */
  enum roster_field_dialect dialect;
  /* Log lines that belong to no request (a rehash done after its login was
     answered); context NULL. */
  roster_log_fn *log;
  /* Threaded mode: watch `fd` for reading and call roster_auth_drain(auth)
     whenever it is readable; returns what unwatch needs. Called once, by
     the first roster_auth_start. */
  void *(*watch)(int fd, struct roster_auth *auth);
  /* Stops that watch; called by the last roster_auth_release. */
  void (*unwatch)(void *watch);
};

/* The core of `config_path` in this process: made (configuration loaded,
 * connecting lazily) by the first call, shared with one more reference by
 * each later call with the same path (its `host` is then the first one's).
 * NULL on error, with the reason written to error (size bytes). `host` must
 * stay valid until the last release. */
struct roster_auth *roster_auth_acquire(const char *config_path, const struct roster_auth_host *host,
                                        char *error, unsigned int size);
/* Drops a reference; the last one stops the threads (answering what is
 * pending, see above) and frees the core. */
void roster_auth_release(struct roster_auth *auth);

/* 0 = blocking mode (auth-worker processes); N = threads the core runs. */
unsigned int roster_auth_threads(const struct roster_auth *auth);
/* Threaded mode: starts the threads and the host's watch at the first call;
 * later calls do nothing. 0, or -1 with the reason in error. */
int roster_auth_start(struct roster_auth *auth, char *error, unsigned int size);

enum roster_auth_kind {
  ROSTER_AUTH_VERIFY, /* passdb verify_plain: on OK, fields "user" (the stored spelling), "password"
                         (the stored hash with its {SCHEME}, for the auth cache) and the userdb_*
                         prefetch fields, or proxy fields for another unit ("proxy", "host", and "port"
                         from the unit's port for `service`, imap or pop3) */
  ROSTER_AUTH_LOOKUP, /* passdb lookup_credentials: on OK, the same fields; "password" is what
                         Dovecot's mechanisms verify against */
  ROSTER_AUTH_USERDB  /* userdb lookup: uid, gid, home, [mail], quota_rule, extra fields (or, in the
                         2.4 dialect, [mail_driver, mail_path, ...], quota_storage_size,
                         quota_message_count) */
};

struct roster_auth_request {
  enum roster_auth_kind kind;
  const char *user;
  const char *password; /* VERIFY; copied, and the copy wiped after use */
  const char *service;  /* passdb: the login's protocol; may be NULL */
  const char *remote_ip; /* passdb: the client's address as text; may be NULL */
};

struct roster_log_line {
  enum roster_log_level level;
  const char *message;
};

/* A request's answer: its result, its fields as name/value pairs, and its
 * log lines. Valid during the `done` call only. */
struct roster_job_result {
  enum roster_auth_result result;
  const char *const *fields; /* name, value, name, value, ..., NULL */
  const struct roster_log_line *logs;
  unsigned int log_count;
};
typedef void roster_done_fn(void *context, const struct roster_job_result *result);

/* The request's strings are copied: they may be freed on return. A verify
 * that matched a weaker hash has a fresh argon2id hash stored after its
 * answer, unless the stored hash changed meanwhile (auth_rehash). */
void roster_auth_submit(struct roster_auth *auth, const struct roster_auth_request *request, roster_done_fn *done,
                        void *context);
/* Threaded mode, when the descriptor is readable: runs the finished
 * requests' callbacks. */
void roster_auth_drain(struct roster_auth *auth);

/* How many passwords this core has checked against its dummy argon2id hash:
 * a verify of an unknown user, a refused user name or a disabled mailbox or
 * domain spends the work of a real one (in both modes), so that answers do
 * not tell which addresses exist. For tests and diagnostics. */
unsigned long long roster_auth_dummy_verifications(const struct roster_auth *auth);
/* Whether the passdb's cache key must hold the client's address: when
 * auth_webmail_networks is set, an answer may depend on it. */
int roster_auth_cache_key_needs_address(const struct roster_auth *auth);

/* How many password verifications (main password, app password or dummy)
 * this core has run: one per verify whatever the number of app passwords. */
unsigned long long roster_auth_verifications(const struct roster_auth *auth);

/* userdb iterate: every active mailbox of an active domain, one per call,
 * fetched from the database a page at a time (blocking, on the core's own
 * connection, in either mode). */
struct roster_user_iter;
struct roster_user_iter *roster_userdb_iter_init(struct roster_auth *auth);
/* The next user, or NULL at the end; *failed is set to 1 if the listing broke off. */
const char *roster_userdb_iter_next(struct roster_user_iter *iter, int *failed, roster_log_fn *log, void *context);
void roster_userdb_iter_deinit(struct roster_user_iter *iter);

#ifdef __cplusplus
}
#endif

#endif
