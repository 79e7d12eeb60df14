/* dict-roster.c: Dovecot glue of the dict driver "roster" (libdict_roster.so
 * in $moduledir/dict, loaded by Dovecot's dict server). It owns every Dovecot
 * struct and call, buffers a transaction's changes in memory (Dovecot's
 * dict-transaction-memory) and hands them to roster's core (roster_dict.h) at
 * commit, as plain C strings.
 *
 *   dict { quota = roster:/etc/roster/roster.conf }
 *   plugin { quota = dict:User quota::proxy::quota }
 *
 * The driver blocks on the database, as Dovecot's own SQL dict does with
 * MySQL: it belongs in the `dict` service, never in a mail process, and mail
 * processes reach it through the dict proxy with asynchronous commits.
 *
 * Trusts: Dovecot (same process); the core for keys and values. */
#include "lib.h"
#include "array.h"
#include "dict-private.h"
#include "dict-transaction-memory.h"
#include "module-dir.h"

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
};

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
	handle = i_new(struct roster_dict_handle, 1);
	handle->dict = *driver;
	handle->core = core;
	*dict_r = &handle->dict;
	return 0;
}

static void roster_dict_deinit(struct dict *dict)
{
	struct roster_dict_handle *handle = (struct roster_dict_handle *)dict;

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

static struct dict_transaction_context *roster_dict_transaction_init(struct dict *dict)
{
	struct dict_transaction_memory_context *ctx;
	pool_t pool = pool_alloconly_create("roster dict transaction", 1024);

	ctx = p_new(pool, struct dict_transaction_memory_context, 1);
	dict_transaction_memory_init(ctx, dict, pool);
	return &ctx->ctx;
}

static void roster_dict_transaction_commit(struct dict_transaction_context *_ctx,
					   bool async ATTR_UNUSED,
					   dict_transaction_commit_callback_t *callback,
					   void *context)
{
	struct dict_transaction_memory_context *ctx =
		(struct dict_transaction_memory_context *)_ctx;
	struct roster_dict_handle *handle = (struct roster_dict_handle *)_ctx->dict;
	const struct dict_transaction_memory_change *change;
	ARRAY(struct roster_dict_change) changes;
	struct dict_commit_result result;
	char error[ROSTER_DICT_ERROR_MAX];

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

	i_zero(&result);
	error[0] = '\0';
	switch (roster_dict_commit(handle->core, _ctx->set.username,
				   array_count(&changes) == 0 ? NULL : array_front(&changes),
				   array_count(&changes), error, sizeof(error))) {
	case ROSTER_DICT_COMMIT_OK:
		result.ret = DICT_COMMIT_RET_OK;
		break;
	case ROSTER_DICT_COMMIT_NOTFOUND:
		result.ret = DICT_COMMIT_RET_NOTFOUND;
		break;
	case ROSTER_DICT_COMMIT_FAILED:
	default:
		result.ret = DICT_COMMIT_RET_FAILED;
		result.error = t_strdup_printf("roster: %s", error);
		break;
	}
	pool_unref(&ctx->pool);
	callback(&result, context);
}

static struct dict dict_driver_roster = {
	.name = "roster",
	{
		.init = roster_dict_init,
		.deinit = roster_dict_deinit,
		.lookup = roster_dict_lookup_key,
		.transaction_init = roster_dict_transaction_init,
		.transaction_commit = roster_dict_transaction_commit,
		.transaction_rollback = dict_transaction_memory_rollback,
		.set = dict_transaction_memory_set,
		.unset = dict_transaction_memory_unset,
		.atomic_inc = dict_transaction_memory_atomic_inc,
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
