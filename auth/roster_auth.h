/* roster_auth.h: the plain C API between Dovecot's auth process (the glue,
 * authdb-roster.c) and roster's C++ core (roster_auth.cc). Only C types and an
 * opaque handle cross it; no exception does.
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
  ROSTER_AUTH_UNKNOWN,        /* no such mailbox (or an unusable user name) */
  ROSTER_AUTH_DISABLED,       /* mailbox or its domain disabled */
  ROSTER_AUTH_TEMPFAIL,       /* database down, timeout, internal error: try again later */
  ROSTER_AUTH_NO_SCHEME       /* stored hash unusable (malformed, unknown or refused scheme) */
};

enum roster_log_level { ROSTER_LOG_DEBUG, ROSTER_LOG_INFO, ROSTER_LOG_WARNING, ROSTER_LOG_ERROR };

/* Receives the fields of an answer, one name/value pair at a time. */
typedef void roster_field_fn(void *context, const char *name, const char *value);
/* Receives log lines (never holding a password). */
typedef void roster_log_fn(void *context, enum roster_log_level level, const char *message);

/* Which userdb field names the Dovecot in front reads. The glue knows its
 * Dovecot's version; the core knows none and answers in the dialect it is told.
 * Dovecot 2.4 ignores fields it does not know without a word, so the wrong
 * dialect would mean no limit and the default mail location. */
enum roster_field_dialect {
  ROSTER_FIELDS_DOVECOT23 = 0, /* home, mail (a mail location), quota_rule */
  ROSTER_FIELDS_DOVECOT24      /* home, mail_driver, mail_path, ..., quota_storage_size, quota_message_count */
};

/* Loads the configuration; connects lazily. NULL on error, with the reason
 * written to error (size bytes). roster_auth_create() speaks Dovecot 2.3's
 * dialect. */
struct roster_auth *roster_auth_create(const char *config_path, char *error, unsigned int size);
struct roster_auth *roster_auth_create_for(const char *config_path, enum roster_field_dialect dialect, char *error,
                                           unsigned int size);
void roster_auth_destroy(struct roster_auth *auth);

/* passdb verify_plain: on OK, fields "user" (the stored spelling), "password"
 * (the stored hash with its {SCHEME}, for the auth cache) and the userdb_*
 * prefetch fields, or proxy fields for another unit ("host", and "port" from
 * the unit's port for `service`, imap or pop3). */
enum roster_auth_result roster_auth_verify(struct roster_auth *auth, const char *user, const char *password,
                                           const char *service, roster_field_fn *field, roster_log_fn *log,
                                           void *context);
/* passdb lookup_credentials: on OK, the same fields; "password" is what
 * Dovecot's mechanisms verify against. */
enum roster_auth_result roster_auth_lookup(struct roster_auth *auth, const char *user, const char *service,
                                           roster_field_fn *field, roster_log_fn *log, void *context);
/* Stores a fresh argon2id hash if the verified one is weaker (rehash on
 * login). Call after the login was answered. */
void roster_auth_rehash(struct roster_auth *auth, const char *user, const char *password, roster_log_fn *log,
                        void *context);
/* How many passwords this handle has checked against its dummy argon2id hash:
 * a verify of an unknown user, a refused user name or a disabled mailbox or
 * domain spends the work of a real one (in both modes), so that answers do not
 * tell which addresses exist. For tests and diagnostics. */
unsigned long long roster_auth_dummy_verifications(const struct roster_auth *auth);
/* userdb lookup: fields uid, gid, home, [mail], quota_rule, extra fields (in
 * Dovecot 2.4's dialect: [mail_driver, mail_path, ...], quota_storage_size,
 * quota_message_count instead of mail and quota_rule). */
enum roster_auth_result roster_userdb_lookup(struct roster_auth *auth, const char *user, roster_field_fn *field,
                                             roster_log_fn *log, void *context);
/* ---- threaded mode (auth_threads > 0): the driver runs in Dovecot's auth
 * process itself; lookups and hashing run on roster's own threads, each with
 * its own database connection, and their results come back through a file
 * descriptor that the glue watches on Dovecot's ioloop. Dovecot is only ever
 * called from the ioloop thread: the threads touch no Dovecot data. */

/* 0 = blocking mode (auth-worker processes); N = threads to start. */
unsigned int roster_auth_threads(const struct roster_auth *auth);
/* Starts the threads; returns the descriptor to watch, or -1 (error filled in).
 * `log` receives, on the ioloop thread, log lines that belong to no request
 * (a rehash done after its login was answered). */
int roster_auth_start(struct roster_auth *auth, roster_log_fn *log, char *error, unsigned int size);

/* What a finished job hands back on the ioloop thread: its result, its
 * fields as name/value pairs, and its log lines. */
struct roster_job_result {
  enum roster_auth_result result;
  const char *const *fields; /* name, value, name, value, ..., NULL */
  const struct roster_log_line *logs;
  unsigned int log_count;
};
struct roster_log_line {
  enum roster_log_level level;
  const char *message;
};
typedef void roster_done_fn(void *context, const struct roster_job_result *result);

/* Queue a job; `done` runs later from roster_auth_drain(). The password is
 * copied and wiped after use. */
void roster_auth_verify_async(struct roster_auth *auth, const char *user, const char *password, const char *service,
                              roster_done_fn *done, void *context);
void roster_auth_lookup_async(struct roster_auth *auth, const char *user, const char *service, roster_done_fn *done,
                              void *context);
void roster_userdb_lookup_async(struct roster_auth *auth, const char *user, roster_done_fn *done, void *context);
/* On the ioloop thread, when the descriptor is readable: runs the finished jobs' callbacks. */
void roster_auth_drain(struct roster_auth *auth);

/* userdb iterate: every active mailbox of an active domain, one per call,
 * fetched from the database a page at a time. */
struct roster_user_iter;
struct roster_user_iter *roster_userdb_iter_init(struct roster_auth *auth);
/* The next user, or NULL at the end; *failed is set to 1 if the listing broke off. */
const char *roster_userdb_iter_next(struct roster_user_iter *iter, int *failed, roster_log_fn *log, void *context);
void roster_userdb_iter_deinit(struct roster_user_iter *iter);

#ifdef __cplusplus
}
#endif

#endif
