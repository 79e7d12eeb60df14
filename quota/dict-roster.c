/* dict-roster.c: Dovecot glue of the dict driver "roster" (libdict_roster.so
 * in $moduledir/dict, loaded by Dovecot's dict server). It owns every Dovecot
 * struct and call, buffers a transaction's changes in memory (Dovecot's
 * dict-transaction-memory) and hands them to roster's core (roster_dict.h) at
 * commit, as plain C strings.
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
 * database. Either way the driver belongs in the dict server, never in a
 * mail process.
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

static void roster_dict_answers_ready(struct roster_dict_handle *handle)
{
	roster_dict_drain(handle->core);
}

/* Starts the core's thread at the first asynchronous call. */
static bool roster_dict_async_ready(struct roster_dict_handle *handle, const char **error_r)
{
	char error[ROSTER_DICT_ERROR_MAX];
	int fd;

	if (handle->io != NULL)
		return TRUE;
	if (handle->blocking) {
		*error_r = "blocking";
		return FALSE;
	}
	fd = roster_dict_start(handle->core, error, sizeof(error));
	if (fd < 0) {
		*error_r = t_strdup_printf("roster: %s", error);
		return FALSE;
	}
	handle->io = io_add(fd, IO_READ, roster_dict_answers_ready, handle);
	return TRUE;
}

/* 2.3 names the configuration file in the dict's URI (roster:FILE); 2.4 in
   its declared setting. */
#if DOVECOT_PREREQ(2, 4, 0)
static int roster_dict_init(const struct dict *driver, struct event *event,
			    struct dict **dict_r, const char **error_r)
{
	const struct roster_dict_settings *set;
	struct roster_dict *core;
	struct roster_dict_handle *handle;
	char error[ROSTER_DICT_ERROR_MAX];

	if (settings_get(event, &roster_dict_setting_parser_info, 0, &set, error_r) < 0)
		return -1;
	core = roster_dict_create(set->config_file, error, sizeof(error));
	if (core == NULL) {
		*error_r = t_strdup_printf("roster: %s: %s", set->config_file, error);
		settings_free(set);
		return -1;
	}
	settings_free(set);
#else
static int roster_dict_init(struct dict *driver, const char *uri,
			    const struct dict_settings *set ATTR_UNUSED,
			    struct dict **dict_r, const char **error_r)
{
	struct roster_dict_handle *handle;
	char error[ROSTER_DICT_ERROR_MAX];
	struct roster_dict *core = roster_dict_create(uri, error, sizeof(error));

	if (core == NULL) {
		*error_r = t_strdup_printf("roster: %s", error);
		return -1;
	}
#endif
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
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;
	char value[ROSTER_DICT_VALUE_MAX], error[ROSTER_DICT_ERROR_MAX];
	int ret = roster_dict_lookup(handle->core, set->username, key, value, sizeof(value),
				     error, sizeof(error));

	*value_r = NULL;
	if (ret < 0)
		*error_r = t_strdup_printf("roster: %s", error);
	else if (ret > 0)
		*value_r = p_strdup(pool, value);
	return ret;
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

static void roster_dict_lookup_async_key(struct dict *dict, const struct dict_op_settings *set,
					 const char *key, dict_lookup_callback_t *callback,
					 void *context)
{
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;
	struct roster_dict_lookup_wait *wait;
	const char *error;

	if (!roster_dict_async_ready(handle, &error)) {
		/* The blocking service, or the thread could not start. */
		struct dict_lookup_result result;
		const char *values[2] = { NULL, NULL };

		i_zero(&result);
		result.ret = roster_dict_lookup_key(dict, set, pool_datastack_create(), key,
						    &values[0], &result.error);
		result.value = values[0];
		result.values = values;
		callback(&result, context);
		return;
	}
	wait = i_new(struct roster_dict_lookup_wait, 1);
	wait->callback = callback;
	wait->context = context;
	roster_dict_lookup_async(handle->core, set->username, key, roster_dict_lookup_done, wait);
}

static struct dict_transaction_context *roster_dict_transaction_init(struct dict *dict)
{
	struct dict_transaction_memory_context *ctx;
	pool_t pool = pool_alloconly_create("roster dict transaction", 1024);

	ctx = p_new(pool, struct dict_transaction_memory_context, 1);
	dict_transaction_memory_init(ctx, dict, pool);
	return &ctx->ctx;
}

static void roster_dict_commit_answer(const struct roster_dict_answer *answer,
				      dict_transaction_commit_callback_t *callback, void *context)
{
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
	callback(&result, context);
}

static void roster_dict_commit_done(void *context, const struct roster_dict_answer *answer)
{
	struct roster_dict_commit_wait *wait = context;

	roster_dict_commit_answer(answer, wait->callback, wait->context);
	i_free(wait);
}

static void roster_dict_transaction_commit(struct dict_transaction_context *_ctx,
					   bool async,
					   dict_transaction_commit_callback_t *callback,
					   void *context)
{
	struct dict_transaction_memory_context *ctx =
		(struct dict_transaction_memory_context *)_ctx;
	struct roster_dict_handle *handle = (struct roster_dict_handle *)_ctx->dict;
	const struct dict_transaction_memory_change *change;
	ARRAY(struct roster_dict_change) changes;
	struct roster_dict_answer answer;
	char error[ROSTER_DICT_ERROR_MAX];
	const char *async_error;

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

	if (async && roster_dict_async_ready(handle, &async_error)) {
		struct roster_dict_commit_wait *wait = i_new(struct roster_dict_commit_wait, 1);

		wait->callback = callback;
		wait->context = context;
		roster_dict_commit_async(handle->core, _ctx->set.username,
					 array_count(&changes) == 0 ? NULL : array_front(&changes),
					 array_count(&changes), roster_dict_commit_done, wait);
		pool_unref(&ctx->pool);
		return;
	}
	/* Synchronous, the blocking service, or the thread could not start. */
	i_zero(&answer);
	error[0] = '\0';
	answer.result = roster_dict_commit(handle->core, _ctx->set.username,
					   array_count(&changes) == 0 ? NULL : array_front(&changes),
					   array_count(&changes), error, sizeof(error));
	answer.error = error;
	pool_unref(&ctx->pool);
	roster_dict_commit_answer(&answer, callback, context);
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

void dict_roster_init(struct module *module ATTR_UNUSED)
{
	dict_driver_register(&dict_driver_roster);
}

void dict_roster_deinit(void)
{
	dict_driver_unregister(&dict_driver_roster);
}
