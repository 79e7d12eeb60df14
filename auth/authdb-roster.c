/* authdb-roster.c: Dovecot glue of the passdb/userdb driver "roster"
 * (libauthdb_roster.so in $moduledir/auth). It owns every Dovecot struct and
 * call, converts requests to plain C strings for roster's core
 * (roster_auth.h) and its answers back to auth_request fields.
 *
 * Dovecot 2.3:
 *   passdb { driver = roster  args = /etc/roster/roster.conf }
 *   userdb { driver = roster  args = /etc/roster/roster.conf }
 * Dovecot 2.4 (keys declared in settings/roster-settings.c):
 *   passdb roster { driver = roster  roster_config_file = /etc/roster/roster.conf }
 *   userdb roster { driver = roster  roster_config_file = /etc/roster/roster.conf }
 * Everything that differs between the two is in the version-specific part
 * below (the "#if DOVECOT_PREREQ(2, 4, 0)" blocks): how the configuration file
 * is found, module set-up, the cache key, the protocol field, the log helpers
 * and the userdb field dialect the core is told to speak.
 *
 * With auth_threads = 0 the driver is blocking: Dovecot runs it in auth-worker
 * processes, one request at a time per process. With auth_threads = N it runs
 * in the auth process: the core's N threads do the work and their results come
 * back through a descriptor watched here, so every Dovecot call stays on the
 * ioloop thread.
 *
 * Trusts: Dovecot (same process); the core for everything about accounts. */
#include "auth-common.h"
#include "auth-request.h"
#include "ioloop.h"
#include "passdb.h"
#include "password-scheme.h"
#include "userdb.h"
#include "module-dir.h"
#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "settings/roster-settings.h"
#endif

#include "roster_auth.h"

/* Lower-cased, so one flush by address clears every spelling a client used;
   then the service, because a proxied login's port differs between IMAP and
   POP3. Dovecot's CACHE-FLUSH matches the user up to the tab.
   2.4's variables are new: its %u, %L and %s are no variables at all, so the
   2.3 key would expand to a constant there and every user would share one
   cache entry. */
#if DOVECOT_PREREQ(2, 4, 0)
#  define ROSTER_CACHE_KEY "%{user | lower}\t%{protocol}"
#  define ROSTER_FIELD_DIALECT ROSTER_FIELDS_DOVECOT24
/* The protocol (imap, pop3) of a request. */
#  define roster_request_protocol(request) ((request)->fields.protocol)
#  define roster_log_unknown_user(request) auth_request_db_log_unknown_user(request)
#  define roster_log_password_mismatch(request) auth_request_db_log_password_mismatch(request)
#else
#  define ROSTER_CACHE_KEY "%Lu\t%s"
#  define ROSTER_FIELD_DIALECT ROSTER_FIELDS_DOVECOT23
#  define roster_request_protocol(request) ((request)->fields.service)
#  define roster_log_unknown_user(request) auth_request_log_unknown_user(request, AUTH_SUBSYS_DB)
#  define roster_log_password_mismatch(request) auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB)
#endif
#define ROSTER_DEFAULT_SCHEME "CRYPT"

struct roster_passdb_module {
	struct passdb_module module;
	struct roster_auth *core;
	struct io *io; /* threaded mode: results ready */
};

struct roster_userdb_module {
	struct userdb_module module;
	struct roster_auth *core;
	struct io *io;
};

/* A request waiting for the core's threads (threaded mode). */
struct roster_job {
	struct auth_request *request;
	verify_plain_callback_t *verify_callback;
	lookup_credentials_callback_t *credentials_callback;
	userdb_callback_t *userdb_callback;
};

struct roster_userdb_iterate_context {
	struct userdb_iterate_context ctx;
	struct roster_user_iter *iter;
};

/* Exported symbols: only these three (the build hides everything else). */
#define ROSTER_EXPORT __attribute__((visibility("default")))
ROSTER_EXPORT extern const char *authdb_roster_version;
ROSTER_EXPORT void authdb_roster_init(struct module *module);
ROSTER_EXPORT void authdb_roster_deinit(void);
const char *authdb_roster_version = DOVECOT_ABI_VERSION;

static void roster_log(void *context, enum roster_log_level level, const char *message)
{
	struct auth_request *request = context;
	struct event *event = request != NULL ? authdb_event(request) : auth_event;

	switch (level) {
	case ROSTER_LOG_DEBUG: e_debug(event, "roster: %s", message); break;
	case ROSTER_LOG_INFO: e_info(event, "roster: %s", message); break;
	case ROSTER_LOG_WARNING: e_warning(event, "roster: %s", message); break;
	case ROSTER_LOG_ERROR: e_error(event, "roster: %s", message); break;
	}
}

static void roster_set_passdb_field(void *context, const char *name, const char *value)
{
	auth_request_set_field(context, name, value, ROSTER_DEFAULT_SCHEME);
}

static void roster_set_userdb_field(void *context, const char *name, const char *value)
{
	auth_request_set_userdb_field(context, name, value);
}

static enum passdb_result roster_passdb_result(enum roster_auth_result r)
{
	switch (r) {
	case ROSTER_AUTH_OK: return PASSDB_RESULT_OK;
	case ROSTER_AUTH_MISMATCH: return PASSDB_RESULT_PASSWORD_MISMATCH;
	case ROSTER_AUTH_UNKNOWN: return PASSDB_RESULT_USER_UNKNOWN;
	case ROSTER_AUTH_DISABLED: return PASSDB_RESULT_USER_DISABLED;
	case ROSTER_AUTH_NO_SCHEME: return PASSDB_RESULT_SCHEME_NOT_AVAILABLE;
	case ROSTER_AUTH_TEMPFAIL: break;
	}
	return PASSDB_RESULT_INTERNAL_FAILURE;
}

/* The core for a configuration file, or NULL with the reason in *error_r. */
static struct roster_auth *roster_core_create(const char *path, const char **error_r)
{
	char error[1024];
	struct roster_auth *core = roster_auth_create_for(path, ROSTER_FIELD_DIALECT, error, sizeof(error));

	if (core == NULL)
		*error_r = t_strdup_printf("%s: %s", path, error);
	return core;
}

static void roster_drain(struct roster_auth *core)
{
	roster_auth_drain(core);
}

static struct io *roster_core_start(const char *what, struct roster_auth *core)
{
	char error[1024];
	int fd = roster_auth_start(core, roster_log, error, sizeof(error));

	if (fd < 0)
		i_fatal("%s roster: %s", what, error);
	return io_add(fd, IO_READ, roster_drain, core);
}

/* Applies a finished job's fields and log lines to its request. */
static void roster_job_apply(struct auth_request *request, const struct roster_job_result *result, bool userdb)
{
	unsigned int i;

	for (i = 0; i < result->log_count; i++)
		roster_log(request, result->logs[i].level, result->logs[i].message);
	for (i = 0; result->fields[i] != NULL && result->fields[i + 1] != NULL; i += 2) {
		if (userdb)
			roster_set_userdb_field(request, result->fields[i], result->fields[i + 1]);
		else
			roster_set_passdb_field(request, result->fields[i], result->fields[i + 1]);
	}
	if (result->result == ROSTER_AUTH_UNKNOWN)
		roster_log_unknown_user(request);
	else if (result->result == ROSTER_AUTH_MISMATCH)
		roster_log_password_mismatch(request);
}

static void roster_verify_done(void *context, const struct roster_job_result *result)
{
	struct roster_job *job = context;
	struct auth_request *request = job->request;

	roster_job_apply(request, result, FALSE);
	job->verify_callback(roster_passdb_result(result->result), request);
	auth_request_unref(&request);
	i_free(job);
}

static void roster_credentials_done(void *context, const struct roster_job_result *result)
{
	struct roster_job *job = context;
	struct auth_request *request = job->request;
	const char *password = NULL, *scheme = NULL;

	roster_job_apply(request, result, FALSE);
	if (result->result == ROSTER_AUTH_OK) {
		password = t_strdup(request->passdb_password);
		scheme = password_get_scheme(&password);
	}
	passdb_handle_credentials(roster_passdb_result(result->result), password, scheme,
				  job->credentials_callback, request);
	auth_request_unref(&request);
	i_free(job);
}

static enum userdb_result roster_userdb_result(enum roster_auth_result r)
{
	switch (r) {
	case ROSTER_AUTH_OK: return USERDB_RESULT_OK;
	case ROSTER_AUTH_UNKNOWN: return USERDB_RESULT_USER_UNKNOWN;
	default: return USERDB_RESULT_INTERNAL_FAILURE;
	}
}

static void roster_userdb_done(void *context, const struct roster_job_result *result)
{
	struct roster_job *job = context;
	struct auth_request *request = job->request;

	roster_job_apply(request, result, TRUE);
	job->userdb_callback(roster_userdb_result(result->result), request);
	auth_request_unref(&request);
	i_free(job);
}

static struct roster_job *roster_job_new(struct auth_request *request)
{
	struct roster_job *job = i_new(struct roster_job, 1);

	auth_request_ref(request);
	job->request = request;
	return job;
}

/* ---------------------------------------------------------------- passdb */

#if DOVECOT_PREREQ(2, 4, 0)
static int roster_passdb_preinit(pool_t pool, struct event *event, struct passdb_module **module_r,
				 const char **error_r)
{
	struct roster_passdb_module *module;
	const struct roster_authdb_settings *set;
	struct roster_auth *core;

	if (settings_get(event, &roster_passdb_setting_parser_info, 0, &set, error_r) < 0)
		return -1;
	core = roster_core_create(set->config_file, error_r);
	settings_free(set);
	if (core == NULL)
		return -1;
	module = p_new(pool, struct roster_passdb_module, 1);
	module->core = core;
	module->module.default_cache_key = ROSTER_CACHE_KEY;
	*module_r = &module->module;
	return 0;
}
#else
static struct passdb_module *roster_passdb_preinit(pool_t pool, const char *args)
{
	struct roster_passdb_module *module = p_new(pool, struct roster_passdb_module, 1);
	const char *error;

	if (*args == '\0')
		i_fatal("passdb roster: args must name the configuration file (args = /etc/roster/roster.conf)");
	module->core = roster_core_create(args, &error);
	if (module->core == NULL)
		i_fatal("passdb roster: %s", error);
	module->module.blocking = roster_auth_threads(module->core) == 0;
	module->module.default_cache_key = ROSTER_CACHE_KEY;
	module->module.default_pass_scheme = ROSTER_DEFAULT_SCHEME;
	return &module->module;
}
#endif

static void roster_passdb_init(struct passdb_module *_module)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)_module;

#if DOVECOT_PREREQ(2, 4, 0)
	/* 2.4 overwrites both after preinit (passdb_use_worker, default no;
	   passdb_default_password_scheme, default PLAIN): roster blocks unless it
	   has threads, and a stored hash without {SCHEME} is crypt(3), also when
	   it comes back from the auth cache. */
	if (!module->module.blocking)
		module->module.blocking = roster_auth_threads(module->core) == 0;
	module->module.default_pass_scheme = ROSTER_DEFAULT_SCHEME;
#endif
	/* Threads only where requests are answered: not in auth-worker processes. */
	if (!module->module.blocking && !worker)
		module->io = roster_core_start("passdb", module->core);
}

static void roster_passdb_deinit(struct passdb_module *_module)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)_module;

	io_remove(&module->io);
	roster_auth_destroy(module->core);
	module->core = NULL;
}

static void roster_verify_plain(struct auth_request *request, const char *password,
				verify_plain_callback_t *callback)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)request->passdb->passdb;
	const char *user = t_strdup(request->fields.user);
	enum roster_auth_result r;

	if (module->io != NULL) {
		struct roster_job *job = roster_job_new(request);

		job->verify_callback = callback;
		roster_auth_verify_async(module->core, user, password, roster_request_protocol(request),
					 roster_verify_done, job);
		return;
	}

	r = roster_auth_verify(module->core, user, password, roster_request_protocol(request),
			       roster_set_passdb_field, roster_log, request);
	if (r == ROSTER_AUTH_UNKNOWN)
		roster_log_unknown_user(request);
	else if (r == ROSTER_AUTH_MISMATCH)
		roster_log_password_mismatch(request);
	callback(roster_passdb_result(r), request);
	/* The answer is on its way; only now spend time on a rehash. The request
	   may be gone, so log without it. */
	if (r == ROSTER_AUTH_OK)
		roster_auth_rehash(module->core, user, password, roster_log, NULL);
}

static void roster_lookup_credentials(struct auth_request *request,
				      lookup_credentials_callback_t *callback)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)request->passdb->passdb;
	enum roster_auth_result r;
	const char *password = NULL, *scheme = NULL;

	if (module->io != NULL) {
		struct roster_job *job = roster_job_new(request);

		job->credentials_callback = callback;
		roster_auth_lookup_async(module->core, request->fields.user, roster_request_protocol(request),
					 roster_credentials_done, job);
		return;
	}

	r = roster_auth_lookup(module->core, request->fields.user, roster_request_protocol(request),
			       roster_set_passdb_field, roster_log, request);
	if (r == ROSTER_AUTH_UNKNOWN)
		roster_log_unknown_user(request);
	if (r == ROSTER_AUTH_OK) {
		password = t_strdup(request->passdb_password);
		scheme = password_get_scheme(&password);
	}
	passdb_handle_credentials(roster_passdb_result(r), password, scheme, callback, request);
}

static struct passdb_module_interface roster_passdb = {
	.name = "roster",
	.preinit = roster_passdb_preinit,
	.init = roster_passdb_init,
	.deinit = roster_passdb_deinit,
	.verify_plain = roster_verify_plain,
	.lookup_credentials = roster_lookup_credentials,
};

/* ---------------------------------------------------------------- userdb */

#if DOVECOT_PREREQ(2, 4, 0)
static int roster_userdb_preinit(pool_t pool, struct event *event, struct userdb_module **module_r,
				 const char **error_r)
{
	struct roster_userdb_module *module;
	const struct roster_authdb_settings *set;
	struct roster_auth *core;

	if (settings_get(event, &roster_userdb_setting_parser_info, 0, &set, error_r) < 0)
		return -1;
	core = roster_core_create(set->config_file, error_r);
	settings_free(set);
	if (core == NULL)
		return -1;
	module = p_new(pool, struct roster_userdb_module, 1);
	module->core = core;
	module->module.default_cache_key = ROSTER_CACHE_KEY;
	*module_r = &module->module;
	return 0;
}
#else
static struct userdb_module *roster_userdb_preinit(pool_t pool, const char *args)
{
	struct roster_userdb_module *module = p_new(pool, struct roster_userdb_module, 1);
	const char *error;

	if (*args == '\0')
		i_fatal("userdb roster: args must name the configuration file (args = /etc/roster/roster.conf)");
	module->core = roster_core_create(args, &error);
	if (module->core == NULL)
		i_fatal("userdb roster: %s", error);
	module->module.blocking = roster_auth_threads(module->core) == 0;
	module->module.default_cache_key = ROSTER_CACHE_KEY;
	return &module->module;
}
#endif

static void roster_userdb_init(struct userdb_module *_module)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)_module;

#if DOVECOT_PREREQ(2, 4, 0)
	/* 2.4 overwrites it after preinit (userdb_use_worker, default no). */
	if (!module->module.blocking)
		module->module.blocking = roster_auth_threads(module->core) == 0;
#endif
	if (!module->module.blocking && !worker)
		module->io = roster_core_start("userdb", module->core);
}

static void roster_userdb_deinit(struct userdb_module *_module)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)_module;

	io_remove(&module->io);
	roster_auth_destroy(module->core);
	module->core = NULL;
}

static void roster_userdb_lookup_glue(struct auth_request *request, userdb_callback_t *callback)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)request->userdb->userdb;
	enum roster_auth_result r;

	if (module->io != NULL) {
		struct roster_job *job = roster_job_new(request);

		job->userdb_callback = callback;
		roster_userdb_lookup_async(module->core, request->fields.user, roster_userdb_done, job);
		return;
	}
	r = roster_userdb_lookup(module->core, request->fields.user, roster_set_userdb_field, roster_log, request);
	switch (r) {
	case ROSTER_AUTH_OK:
		callback(USERDB_RESULT_OK, request);
		break;
	case ROSTER_AUTH_UNKNOWN:
		roster_log_unknown_user(request);
		callback(USERDB_RESULT_USER_UNKNOWN, request);
		break;
	default:
		callback(USERDB_RESULT_INTERNAL_FAILURE, request);
		break;
	}
}

static struct userdb_iterate_context *
roster_iterate_init(struct auth_request *request, userdb_iter_callback_t *callback, void *context)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)request->userdb->userdb;
	struct roster_userdb_iterate_context *ctx = i_new(struct roster_userdb_iterate_context, 1);

	ctx->ctx.auth_request = request;
	ctx->ctx.callback = callback;
	ctx->ctx.context = context;
	ctx->iter = roster_userdb_iter_init(module->core);
	if (ctx->iter == NULL)
		ctx->ctx.failed = TRUE;
	return &ctx->ctx;
}

static void roster_iterate_next(struct userdb_iterate_context *_ctx)
{
	struct roster_userdb_iterate_context *ctx = (struct roster_userdb_iterate_context *)_ctx;
	const char *user = NULL;
	int failed = 0;

	if (!_ctx->failed) {
		user = roster_userdb_iter_next(ctx->iter, &failed, roster_log, _ctx->auth_request);
		if (failed != 0)
			_ctx->failed = TRUE;
	}
	_ctx->callback(user, _ctx->context);
}

static int roster_iterate_deinit(struct userdb_iterate_context *_ctx)
{
	struct roster_userdb_iterate_context *ctx = (struct roster_userdb_iterate_context *)_ctx;
	int ret = _ctx->failed ? -1 : 0;

	roster_userdb_iter_deinit(ctx->iter);
	i_free(ctx);
	return ret;
}

static struct userdb_module_interface roster_userdb = {
	.name = "roster",
	.preinit = roster_userdb_preinit,
	.init = roster_userdb_init,
	.deinit = roster_userdb_deinit,
	.lookup = roster_userdb_lookup_glue,
	.iterate_init = roster_iterate_init,
	.iterate_next = roster_iterate_next,
	.iterate_deinit = roster_iterate_deinit,
};

/* ---------------------------------------------------------------- module */

void authdb_roster_init(struct module *module ATTR_UNUSED)
{
	passdb_register_module(&roster_passdb);
	userdb_register_module(&roster_userdb);
}

void authdb_roster_deinit(void)
{
	passdb_unregister_module(&roster_passdb);
	userdb_unregister_module(&roster_userdb);
}
