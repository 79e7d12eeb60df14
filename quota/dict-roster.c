/* dict-roster.c: Dovecot glue of the dict driver "roster" (libdict_roster.so
 * in $moduledir/dict, loaded by Dovecot's dict server). It owns every Dovecot
 * struct and call, buffers a transaction's changes in memory (Dovecot's
 * dict-transaction-memory) and hands them to roster's core (roster_dict.h) at
 * commit, as plain C strings. Every request takes the same path: one call
 * to the core with a completion, which converts the answer back.
 *
 * Dovecot 2.3:
 *   dict { quota = roster:/etc/roster/roster.conf }
 *   plugin { quota = dict:User quota::proxy::quota }
 * Dovecot 2.4 (the key is declared in settings/roster-settings.c; 2.4 has no
 * dict quota backend, quota_clone writes the counters instead):
 *   dict_server { dict quota { driver = roster  roster_config_file = /etc/roster/dict.conf } }
 *   quota_clone { dict proxy { name = quota  socket_path = dict-async } }
 *
 * In the dict-async service (one process for every client, client_limit 0)
 *   plugin { quota = dict:User quota::proxy:dict-async:quota }
 * asynchronous lookups and commits go to the core's thread, which batches
 * them, and come back on this ioloop through an eventfd. In the blocking
 * `dict` service (client_limit 1) and in doveadm's direct use, a
 * thread would only add a hand-over: there every call blocks on the
 * database (the completion runs before the core's call returns). Either
 * way the driver belongs in the dict server, never in a mail process.
 *
 * The parts that differ between Dovecot versions are the module's
 * registration, the driver's init (how the configuration path is given) and
 * the vfuncs' signatures; each is a small function apart from the request
 * path (roster_dict_open, roster_dict_get, roster_dict_lookup_send,
 * roster_dict_commit_send).
 *
 * Trusts: Dovecot (same process); the core for keys and values. */
#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "dict-private.h"
#include "dict-transaction-memory.h"
#include "module-dir.h"
#include "master-service.h"
#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "settings/roster-settings.h"
#endif

#include "roster_dict.h"

#define ROSTER_EXPORT __attribute__((visibility("default")))
ROSTER_EXPORT extern const char *dict_roster_version;
ROSTER_EXPORT void dict_roster_init(struct module *module);
ROSTER_EXPORT void dict_roster_deinit(void);
const char *dict_roster_version = DOVECOT_ABI_VERSION;

/* Enough for a counter or a last-login record ("pop3 <IPv6> <time>"). */
#define ROSTER_DICT_VALUE_MAX 256
#define ROSTER_DICT_ERROR_MAX 512

struct roster_dict_handle {
	struct dict dict;
	struct roster_dict *core;
	struct io *io; /* the core's answers; NULL until the first async call */
	bool blocking;  /* one client per process: never hand over to the thread */
};

struct roster_dict_lookup_wait {
	dict_lookup_callback_t *callback;
	void *context;
};

struct roster_dict_commit_wait {
	dict_transaction_commit_callback_t *callback;
	void *context;
};

/* A synchronous lookup's answer, copied into the caller's pool. */
struct roster_dict_get_wait {
	pool_t pool;
	int ret;
	const char *value;
	const char *error;
};

static void roster_dict_answers_ready(struct roster_dict_handle *handle)
{
	roster_dict_drain(handle->core);
}

/* Starts the core's thread at the first asynchronous call. FALSE: the
   request runs inline (the blocking service, or the thread could not start). */
static bool roster_dict_async_ready(struct roster_dict_handle *handle)
{
	char error[ROSTER_DICT_ERROR_MAX];
	int fd;

	if (handle->io != NULL)
		return TRUE;
	if (handle->blocking)
		return FALSE;
	fd = roster_dict_start(handle->core, error, sizeof(error));
	if (fd < 0) {
		i_error("roster: dict threads not started, answering inline: %s", error);
		handle->blocking = TRUE;
		return FALSE;
	}
	handle->io = io_add(fd, IO_READ, roster_dict_answers_ready, handle);
	return TRUE;
}

/* ---------------------------------------------------------------- request path */

static void roster_dict_get_done(void *context, const struct roster_dict_answer *answer)
{
	struct roster_dict_get_wait *wait = context;

	wait->ret = answer->found;
	if (answer->found > 0)
		wait->value = p_strdup(wait->pool, answer->value);
	else if (answer->found < 0)
		wait->error = t_strdup_printf("roster: %s", answer->error);
}

/* A synchronous lookup: 1 found (*value_r in pool), 0 not found, -1 error. */
static int roster_dict_get(struct roster_dict_handle *handle, const char *username, const char *key,
			   pool_t pool, const char **value_r, const char **error_r)
{
	struct roster_dict_get_wait wait;

	i_zero(&wait);
	wait.pool = pool;
	wait.ret = -1;
	wait.error = "roster: no answer";
	roster_dict_lookup(handle->core, username, key, 1, roster_dict_get_done, &wait);
	*value_r = wait.value;
	if (wait.ret < 0)
		*error_r = wait.error;
	return wait.ret;
}

static void roster_dict_lookup_done(void *context, const struct roster_dict_answer *answer)
{
	struct roster_dict_lookup_wait *wait = context;
	struct dict_lookup_result result;
	const char *values[2] = { NULL, NULL };

	i_zero(&result);
	result.ret = answer->found;
	if (answer->found > 0)
		result.value = values[0] = answer->value;
	else if (answer->found < 0)
		result.error = t_strdup_printf("roster: %s", answer->error);
	result.values = values;
	wait->callback(&result, wait->context);
	i_free(wait);
}

/* An asynchronous lookup: the callback runs now (inline) or from the ioloop. */
static void roster_dict_lookup_send(struct roster_dict_handle *handle, const char *username, const char *key,
				    dict_lookup_callback_t *callback, void *context)
{
	struct roster_dict_lookup_wait *wait = i_new(struct roster_dict_lookup_wait, 1);

	wait->callback = callback;
	wait->context = context;
	roster_dict_lookup(handle->core, username, key, roster_dict_async_ready(handle) ? 0 : 1,
			   roster_dict_lookup_done, wait);
}

static void roster_dict_commit_done(void *context, const struct roster_dict_answer *answer)
{
	struct roster_dict_commit_wait *wait = context;
	struct dict_commit_result result;

	i_zero(&result);
	switch (answer->result) {
	case ROSTER_DICT_COMMIT_OK:
		result.ret = DICT_COMMIT_RET_OK;
		break;
	case ROSTER_DICT_COMMIT_NOTFOUND:
		result.ret = DICT_COMMIT_RET_NOTFOUND;
		break;
	case ROSTER_DICT_COMMIT_FAILED:
	default:
		result.ret = DICT_COMMIT_RET_FAILED;
		result.error = t_strdup_printf("roster: %s", answer->error);
		break;
	}
	wait->callback(&result, wait->context);
	i_free(wait);
}

/* A transaction's changes, converted to the core's plain form (data stack). */
static const struct roster_dict_change *
roster_dict_changes(struct dict_transaction_memory_context *ctx, unsigned int *count_r)
{
	const struct dict_transaction_memory_change *change;
	ARRAY(struct roster_dict_change) changes;

	t_array_init(&changes, array_count(&ctx->changes) + 1);
	array_foreach(&ctx->changes, change) {
		struct roster_dict_change *c = array_append_space(&changes);

		c->key = change->key;
		switch (change->type) {
		case DICT_CHANGE_TYPE_SET:
			c->type = ROSTER_DICT_SET;
			c->value = change->value.str;
			break;
		case DICT_CHANGE_TYPE_UNSET:
			c->type = ROSTER_DICT_UNSET;
			break;
		case DICT_CHANGE_TYPE_INC:
			c->type = ROSTER_DICT_INC;
			c->diff = change->value.diff;
			break;
		}
	}
	*count_r = array_count(&changes);
	return *count_r == 0 ? NULL : array_front(&changes);
}

/* A commit: the callback runs now (synchronous, or inline) or from the ioloop.
   The core copies the changes: the transaction's memory may go at once. */
static void roster_dict_commit_send(struct roster_dict_handle *handle, const char *username,
				    struct dict_transaction_memory_context *ctx, bool async,
				    dict_transaction_commit_callback_t *callback, void *context)
{
	struct roster_dict_commit_wait *wait = i_new(struct roster_dict_commit_wait, 1);
	const struct roster_dict_change *changes;
	unsigned int count;

	wait->callback = callback;
	wait->context = context;
	changes = roster_dict_changes(ctx, &count);
	roster_dict_commit(handle->core, username, changes, count,
			   async && roster_dict_async_ready(handle) ? 0 : 1, roster_dict_commit_done, wait);
}

/* ---------------------------------------------------------------- driver (version-specific signatures) */

static int roster_dict_open(const struct dict *driver, const char *config_path, struct dict **dict_r,
			    const char **error_r)
{
	struct roster_dict_handle *handle;
	char error[ROSTER_DICT_ERROR_MAX];
	struct roster_dict *core = roster_dict_create(config_path, error, sizeof(error));

	if (core == NULL) {
		*error_r = t_strdup_printf("roster: %s: %s", config_path, error);
		return -1;
	}
	handle = i_new(struct roster_dict_handle, 1);
	handle->dict = *driver;
	handle->core = core;
	/* One client per process (the `dict` service's client_limit = 1): a
	   thread could not batch anything. */
	handle->blocking = master_service == NULL ||
		master_service_get_client_limit(master_service) <= 1;
	*dict_r = &handle->dict;
	return 0;
}

/* 2.3 names the configuration file in the dict's URI (roster:FILE); 2.4 in
   its declared setting. */
#if DOVECOT_PREREQ(2, 4, 0)
static int roster_dict_init(const struct dict *driver, struct event *event,
			    struct dict **dict_r, const char **error_r)
{
	const struct roster_dict_settings *set;
	int ret;

	if (settings_get(event, &roster_dict_setting_parser_info, 0, &set, error_r) < 0)
		return -1;
	ret = roster_dict_open(driver, set->config_file, dict_r, error_r);
	settings_free(set);
	return ret;
}
#else
static int roster_dict_init(struct dict *driver, const char *uri,
			    const struct dict_settings *set ATTR_UNUSED,
			    struct dict **dict_r, const char **error_r)
{
	return roster_dict_open(driver, uri, dict_r, error_r);
}
#endif

static void roster_dict_deinit(struct dict *dict)
{
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;

	roster_dict_wait(handle->core);
	io_remove(&handle->io);
	roster_dict_destroy(handle->core);
	i_free(handle);
}

static int roster_dict_lookup_key(struct dict *dict, const struct dict_op_settings *set,
				  pool_t pool, const char *key, const char **value_r,
				  const char **error_r)
{
	return roster_dict_get((struct roster_dict_handle *)dict, set->username, key, pool, value_r, error_r);
}

#if DOVECOT_PREREQ(2, 4, 0)
/* 2.4's lookup answers a NULL-terminated list of values; roster has one. */
static int roster_dict_lookup_values(struct dict *dict, const struct dict_op_settings *set,
				     pool_t pool, const char *key, const char *const **values_r,
				     const char **error_r)
{
	const char *value, **values;
	int ret = roster_dict_lookup_key(dict, set, pool, key, &value, error_r);

	*values_r = NULL;
	if (ret > 0) {
		values = p_new(pool, const char *, 2);
		values[0] = value;
		*values_r = values;
	}
	return ret;
}
#  define ROSTER_DICT_LOOKUP roster_dict_lookup_values
#else
#  define ROSTER_DICT_LOOKUP roster_dict_lookup_key
#endif

static void roster_dict_wait_all(struct dict *dict)
{
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;

	roster_dict_wait(handle->core);
}

static bool roster_dict_switch_ioloop(struct dict *dict)
{
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;

	if (handle->io != NULL)
		handle->io = io_loop_move_io(&handle->io);
	return roster_dict_pending(handle->core) > 0;
}

static void roster_dict_lookup_async_key(struct dict *dict, const struct dict_op_settings *set,
					 const char *key, dict_lookup_callback_t *callback,
					 void *context)
{
	roster_dict_lookup_send((struct roster_dict_handle *)dict, set->username, key, callback, context);
}

static struct dict_transaction_context *roster_dict_transaction_init(struct dict *dict)
{
	struct dict_transaction_memory_context *ctx;
	pool_t pool = pool_alloconly_create("roster dict transaction", 1024);

	ctx = p_new(pool, struct dict_transaction_memory_context, 1);
	dict_transaction_memory_init(ctx, dict, pool);
	return &ctx->ctx;
}

static void roster_dict_transaction_commit(struct dict_transaction_context *_ctx,
					   bool async,
					   dict_transaction_commit_callback_t *callback,
					   void *context)
{
	struct dict_transaction_memory_context *ctx =
		(struct dict_transaction_memory_context *)_ctx;

	roster_dict_commit_send((struct roster_dict_handle *)_ctx->dict, _ctx->set.username, ctx, async,
				callback, context);
	pool_unref(&ctx->pool);
}

/* Designated: 2.4's struct dict has a member (flags) before v. */
static struct dict dict_driver_roster = {
	.name = "roster",
	.v = {
		.init = roster_dict_init,
		.deinit = roster_dict_deinit,
		.lookup = ROSTER_DICT_LOOKUP,
		.transaction_init = roster_dict_transaction_init,
		.transaction_commit = roster_dict_transaction_commit,
		.transaction_rollback = dict_transaction_memory_rollback,
		.set = dict_transaction_memory_set,
		.unset = dict_transaction_memory_unset,
		.atomic_inc = dict_transaction_memory_atomic_inc,
		.lookup_async = roster_dict_lookup_async_key,
		.wait = roster_dict_wait_all,
		.switch_ioloop = roster_dict_switch_ioloop,
	}
};

/* ---------------------------------------------------------------- module */

void dict_roster_init(struct module *module ATTR_UNUSED)
{
	dict_driver_register(&dict_driver_roster);
}

void dict_roster_deinit(void)
{
	dict_driver_unregister(&dict_driver_roster);
}
