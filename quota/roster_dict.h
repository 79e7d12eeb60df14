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

/* Applies the changes of one dict transaction in one SQL transaction. */
enum roster_dict_commit_result roster_dict_commit(struct roster_dict *dict, const char *username,
                                                  const struct roster_dict_change *changes, unsigned int count,
                                                  char *error, unsigned int error_size);

#ifdef __cplusplus
}
#endif

#endif
