/* roster_dict.h: the plain C API between Dovecot's dict server (the glue,
 * dict-roster.c) and roster's C++ dict core (roster_dict.cc). Only C types
 * and an opaque handle cross it; no exception does.
 *
 * Keys (anything else is refused, naming the key):
 *   priv/quota/storage, priv/quota/messages   the user's usage counters
 *   shared/roster/lastlogin/<address>         "<protocol> <ip> [<unix time>]"
 *
 * Trusts: the glue to pass NUL-terminated strings. Keys, values and user
 * names come from dict clients and are bounded and checked here. */
#ifndef ROSTER_DICT_H
#define ROSTER_DICT_H

#ifdef __cplusplus
extern "C" {
#endif

struct roster_dict;

/* Loads the configuration (the dict role's settings); connects lazily. NULL
 * on error, with the reason written to error (size bytes). */
struct roster_dict *roster_dict_create(const char *config_path, char *error, unsigned int size);
void roster_dict_destroy(struct roster_dict *dict);

/* 1: found, the value written to value (value_size bytes); 0: not found (for
 * a counter: no usage row or an unknown counter, so Dovecot recounts);
 * -1: error, the reason written to error. `username` is the dict user (may be
 * NULL for shared keys). */
int roster_dict_lookup(struct roster_dict *dict, const char *username, const char *key, char *value,
                       unsigned int value_size, char *error, unsigned int error_size);

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

/* Applies the changes of one dict transaction in one SQL transaction
 * (synchronous: doveadm's direct use, and the blocking dict service). */
enum roster_dict_commit_result roster_dict_commit(struct roster_dict *dict, const char *username,
                                                  const struct roster_dict_change *changes, unsigned int count,
                                                  char *error, unsigned int error_size);

/* The asynchronous mode, for the dict-async service (one process, many
 * clients): a thread of the core runs the requests on its own connection,
 * in batches, and answers through done() on the caller's thread, inside
 * roster_dict_drain() or roster_dict_wait().
 *
 * roster_dict_start starts the thread and returns a file descriptor that
 * turns readable when answers are waiting (the caller then calls
 * roster_dict_drain); -1 on error, the reason in error. */
int roster_dict_start(struct roster_dict *dict, char *error, unsigned int error_size);

struct roster_dict_answer {
  int found;                              /* lookups: as roster_dict_lookup returns */
  enum roster_dict_commit_result result;  /* commits */
  const char *value;                      /* found == 1 */
  const char *error;                      /* found == -1 or result == FAILED */
};
typedef void roster_dict_done_fn(void *context, const struct roster_dict_answer *answer);

/* Copy what they need: the arguments may be freed on return. done() runs
 * exactly once, maybe before they return (when the request cannot be queued). */
void roster_dict_lookup_async(struct roster_dict *dict, const char *username, const char *key,
                              roster_dict_done_fn *done, void *context);
void roster_dict_commit_async(struct roster_dict *dict, const char *username,
                              const struct roster_dict_change *changes, unsigned int count,
                              roster_dict_done_fn *done, void *context);
/* Requests submitted and not yet answered. */
unsigned int roster_dict_pending(const struct roster_dict *dict);
/* Answers what is done. */
void roster_dict_drain(struct roster_dict *dict);
/* Answers everything submitted, blocking until it is done. */
void roster_dict_wait(struct roster_dict *dict);

#ifdef __cplusplus
}
#endif

#endif
