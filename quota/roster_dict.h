/* roster_dict.h: the plain C API between Dovecot's dict server (the glue,
 * dict-roster.c) and roster's C++ dict core (dict_core.h). Only C types and
 * an opaque handle cross it; no exception does (roster_dict.cc catches every
 * one and answers it as an error).
 *
 * Keys (anything else is refused, naming the key):
 *   priv/quota/storage, priv/quota/messages   the user's usage counters
 *   shared/roster/lastlogin/<address>         "<protocol> <ip> [<unix time>]"
 *
 * One way to ask: roster_dict_lookup and roster_dict_commit take a
 * completion `done`, which runs exactly once, on the caller's thread:
 *   - before the call returns when the core is not started (the blocking
 *     `dict` service, doveadm's direct use) or when `wait` is set (Dovecot's
 *     synchronous calls): the request runs on the core's own connection;
 *   - otherwise (after roster_dict_start: the dict-async service) later,
 *     inside roster_dict_drain or roster_dict_wait: the core's threads run
 *     the requests in batches, each thread on its own connection.
 * Calls from one thread only (Dovecot's ioloop thread).
 *
 * Trusts: the glue to pass NUL-terminated strings. Keys, values and user
 * names come from dict clients and are bounded and checked by the core. */
#ifndef ROSTER_DICT_H
#define ROSTER_DICT_H

#ifdef __cplusplus
extern "C" {
#endif

struct roster_dict;

/* Loads the configuration (the dict role's settings); connects lazily. NULL
 * on error, with the reason written to error (size bytes). */
struct roster_dict *roster_dict_create(const char *config_path, char *error, unsigned int size);
/* Runs the callbacks of everything still queued (after its threads ran it),
 * then stops the threads and frees the core. */
void roster_dict_destroy(struct roster_dict *dict);

/* Starts the threads (the threaded mode) and returns the file descriptor
 * that turns readable when answers are waiting (the caller then calls
 * roster_dict_drain); -1 on error, the reason in error. */
int roster_dict_start(struct roster_dict *dict, char *error, unsigned int error_size);

enum roster_dict_change_type { ROSTER_DICT_SET, ROSTER_DICT_UNSET, ROSTER_DICT_INC };

struct roster_dict_change {
  enum roster_dict_change_type type;
  const char *key;
  const char *value; /* SET */
  long long diff;    /* INC */
};

enum roster_dict_commit_result {
  ROSTER_DICT_COMMIT_OK,
  ROSTER_DICT_COMMIT_NOTFOUND, /* an increment found no counter: the rest was committed */
  ROSTER_DICT_COMMIT_FAILED    /* nothing was committed; reason in error */
};

struct roster_dict_answer {
  int found;                              /* lookups: 1 found, 0 not found (for a counter: no usage
                                             row or an unknown counter, so Dovecot recounts), -1 error */
  enum roster_dict_commit_result result;  /* commits */
  const char *value;                      /* found == 1 */
  const char *error;                      /* found == -1 or result == FAILED */
};
/* The answer and its strings are valid during the call only. */
typedef void roster_dict_done_fn(void *context, const struct roster_dict_answer *answer);

/* The arguments are copied: they may be freed on return. `username` is the
 * dict user (NULL for shared keys). A commit applies the changes of one dict
 * transaction in one SQL transaction. */
void roster_dict_lookup(struct roster_dict *dict, const char *username, const char *key, int wait,
                        roster_dict_done_fn *done, void *context);
void roster_dict_commit(struct roster_dict *dict, const char *username, const struct roster_dict_change *changes,
                        unsigned int count, int wait, roster_dict_done_fn *done, void *context);

/* Requests queued and not yet answered. */
unsigned int roster_dict_pending(const struct roster_dict *dict);
/* Answers what is done. */
void roster_dict_drain(struct roster_dict *dict);
/* Answers everything queued, blocking until it is done. */
void roster_dict_wait(struct roster_dict *dict);

#ifdef __cplusplus
}
#endif

#endif
