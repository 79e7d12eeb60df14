/* authdb-roster.c: Dovecot glue of the passdb/userdb driver "roster"
 * (libauthdb_roster.so in $moduledir/auth). It owns every Dovecot struct and
 * call, converts requests to plain C strings for roster's core
 * (roster_auth.h) and its answers back to auth_request fields. Every
 * request takes the same path in both modes: roster_auth_submit with a
 * completion (roster_done) that applies the answer to the request.
 *
 * Dovecot 2.3:
 *   passdb { driver = roster  args = /etc/roster/roster.conf }
 *   userdb { driver = roster  args = /etc/roster/roster.conf }
 * Dovecot 2.4 (keys declared in settings/roster-settings.c):
 *   passdb roster { driver = roster  roster_config_file = /etc/roster/roster.conf }
 *   userdb roster { driver = roster  roster_config_file = /etc/roster/roster.conf }
 *
 * With auth_threads = 0 the driver is blocking: Dovecot runs it in auth-worker
 * processes, one request at a time per process, and the completion runs
 * before roster_auth_submit returns. With auth_threads = N it runs in the
 * auth process: the core's N threads do the work and their results come back
 * through a descriptor watched here, so every Dovecot call stays on the
 * ioloop thread. passdb and userdb naming the same file share one core.
 *
 * The parts that differ between Dovecot versions (preinit/init/deinit and
 * registration, how the configuration path is given, the request's field
 * names, the log helpers, the cache key and the userdb field dialect the core is
 * told to speak) are small functions apart from the request path, each in
 * "#if DOVECOT_PREREQ(2, 4, 0)" where the versions differ.
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
   then the protocol, because a proxied login's port differs between IMAP and
   POP3 and protocols may be allowed or refused per mailbox. Dovecot's
   CACHE-FLUSH matches the user up to the tab.
   The passdb's key adds a SHA-256 of the typed password, so that each
   password has an entry of its own: Dovecot's cache holds one password per
   key, and a wrong password must not leave a failure that a right app
   password would then meet; and, when auth_webmail_networks is set, the
   client's address, because the main password may then work only from there
   (doc/dovecot.md, "The auth cache").
   2.4's variables are new: its %u, %L and %s are no variables at all, so the
   2.3 key would expand to a constant there and every user would share one
   cache entry. */
#if DOVECOT_PREREQ(2, 4, 0)
#  define ROSTER_CACHE_KEY "%{user | lower}\t%{protocol}"
#  define ROSTER_PASSDB_CACHE_KEY ROSTER_CACHE_KEY "\t%{password | sha256 | hexlify}"
#  define ROSTER_PASSDB_CACHE_KEY_IP ROSTER_CACHE_KEY "\t%{remote_ip}\t%{password | sha256 | hexlify}"
#  define ROSTER_FIELD_DIALECT ROSTER_FIELDS_DOVECOT24
#else
#  define ROSTER_CACHE_KEY "%Lu\t%s"
#  define ROSTER_PASSDB_CACHE_KEY ROSTER_CACHE_KEY "\t%{sha256:password}"
#  define ROSTER_PASSDB_CACHE_KEY_IP ROSTER_CACHE_KEY "\t%r\t%{sha256:password}"
#  define ROSTER_FIELD_DIALECT ROSTER_FIELDS_DOVECOT23
#endif
#define ROSTER_PASSDB_KEY(core) \
	(roster_auth_cache_key_needs_address(core) ? ROSTER_PASSDB_CACHE_KEY_IP : ROSTER_PASSDB_CACHE_KEY)
#define ROSTER_DEFAULT_SCHEME "CRYPT"

struct roster_passdb_module {
	struct passdb_module module;
	struct roster_auth *core;
};

struct roster_userdb_module {
	struct userdb_module module;
	struct roster_auth *core;
};

/* A request waiting for its answer (in blocking mode, only during the
   submit call). */
struct roster_job {
	struct auth_request *request;
	enum roster_auth_kind kind;
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

/* ---------------------------------------------------------------- version-specific helpers */

/* A request's lines go to its passdb/userdb event, whose prefix already
   names the driver ("roster"); a line of no request says where it is from. */
static void roster_log(void *context, enum roster_log_level level, const char *message)
{
	struct auth_request *request = context;
	struct event *event = request != NULL ? authdb_event(request) : auth_event;
	const char *prefix = request != NULL ? "" : "roster: ";

	switch (level) {
	case ROSTER_LOG_DEBUG: e_debug(event, "%s%s", prefix, message); break;
	case ROSTER_LOG_INFO: e_info(event, "%s%s", prefix, message); break;
	case ROSTER_LOG_WARNING: e_warning(event, "%s%s", prefix, message); break;
	case ROSTER_LOG_ERROR: e_error(event, "%s%s", prefix, message); break;
	}
}

/* The login's protocol (imap, pop3...), for a proxied login's port and the
   mailbox's protocol rules. */
static const char *roster_request_service(struct auth_request *request)
{
#if DOVECOT_PREREQ(2, 4, 0)
	return request->fields.protocol;
#else
	return request->fields.service;
#endif
}

static void roster_log_unknown_user(struct auth_request *request)
{
#if DOVECOT_PREREQ(2, 4, 0)
	auth_request_db_log_unknown_user(request);
#else
	auth_request_log_unknown_user(request, AUTH_SUBSYS_DB);
#endif
}

static void roster_log_password_mismatch(struct auth_request *request)
{
#if DOVECOT_PREREQ(2, 4, 0)
	auth_request_db_log_password_mismatch(request);
#else
	auth_request_log_password_mismatch(request, AUTH_SUBSYS_DB);
#endif
}

static const char *roster_request_user(struct auth_request *request)
{
	return request->fields.user;
}

/* ---------------------------------------------------------------- the core, shared */

static void *roster_watch(int fd, struct roster_auth *core)
{
	return io_add(fd, IO_READ, roster_auth_drain, core);
}

static void roster_unwatch(void *watch)
{
	struct io *io = watch;

	io_remove(&io);
}

static const struct roster_auth_host roster_host = {
	.dialect = ROSTER_FIELD_DIALECT,
	.log = roster_log,
	.watch = roster_watch,
	.unwatch = roster_unwatch,
};

/* The core of this configuration file (passdb and userdb share it), or NULL
   with the reason in *error_r. */
static struct roster_auth *roster_core_acquire(const char *config_path, const char **error_r)
{
	char error[1024];
	struct roster_auth *core = roster_auth_acquire(config_path, &roster_host, error, sizeof(error));

	if (core == NULL)
		*error_r = t_strdup_printf("%s: %s", config_path, error);
	return core;
}

#if DOVECOT_PREREQ(2, 4, 0)
/* The core named by a passdb's or userdb's declared setting. */
static struct roster_auth *roster_core_from_settings(struct event *event, const struct setting_parser_info *info,
						     const char **error_r)
{
	const struct roster_authdb_settings *set;
	struct roster_auth *core;

	if (settings_get(event, info, 0, &set, error_r) < 0)
		return NULL;
	core = roster_core_acquire(set->config_file, error_r);
	settings_free(set);
	return core;
}
#endif

/* Threads only where requests are answered: not in auth-worker processes. */
static void roster_core_start(const char *what, struct roster_auth *core, bool blocking)
{
	char error[1024];

	if (blocking || worker)
		return;
	if (roster_auth_start(core, error, sizeof(error)) < 0)
		i_fatal("%s roster: %s", what, error);
}

/* ---------------------------------------------------------------- request path */

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

static enum userdb_result roster_userdb_result(enum roster_auth_result r)
{
	switch (r) {
	case ROSTER_AUTH_OK: return USERDB_RESULT_OK;
	case ROSTER_AUTH_UNKNOWN: return USERDB_RESULT_USER_UNKNOWN;
	default: return USERDB_RESULT_INTERNAL_FAILURE;
	}
}

/* Applies an answer's log lines and fields to its request. */
static void roster_apply(struct auth_request *request, const struct roster_job_result *result, bool userdb)
{
	unsigned int i;
	bool explained = FALSE;

	for (i = 0; i < result->log_count; i++) {
		roster_log(request, result->logs[i].level, result->logs[i].message);
		if (result->logs[i].level >= ROSTER_LOG_INFO)
			explained = TRUE;
	}
	for (i = 0; result->fields[i] != NULL && result->fields[i + 1] != NULL; i += 2) {
		if (userdb)
			auth_request_set_userdb_field(request, result->fields[i], result->fields[i + 1]);
		else
			auth_request_set_field(request, result->fields[i], result->fields[i + 1],
					       ROSTER_DEFAULT_SCHEME);
	}
	if (result->result == ROSTER_AUTH_UNKNOWN)
		roster_log_unknown_user(request);
	else if (result->result == ROSTER_AUTH_MISMATCH && !explained) {
		/* A refusal the core explained (a protocol, an expired app
		   password) is not a wrong password: one line says why. */
		roster_log_password_mismatch(request);
	}
}

/* A request's completion: its answer back to Dovecot. */
static void roster_done(void *context, const struct roster_job_result *result)
{
	struct roster_job *job = context;
	struct auth_request *request = job->request;
	const char *password = NULL, *scheme = NULL;

	roster_apply(request, result, job->kind == ROSTER_AUTH_USERDB);
	switch (job->kind) {
	case ROSTER_AUTH_VERIFY:
		job->verify_callback(roster_passdb_result(result->result), request);
		break;
	case ROSTER_AUTH_LOOKUP:
		if (result->result == ROSTER_AUTH_OK) {
			password = t_strdup(request->passdb_password);
			scheme = password_get_scheme(&password);
		}
		passdb_handle_credentials(roster_passdb_result(result->result), password, scheme,
					  job->credentials_callback, request);
		break;
	case ROSTER_AUTH_USERDB:
		job->userdb_callback(roster_userdb_result(result->result), request);
		break;
	}
	auth_request_unref(&request);
	i_free(job);
}

/* Hands a request to the core; the job's callback runs from roster_done. */
static void roster_submit(struct roster_auth *core, struct roster_job *job, struct auth_request *request,
			  const char *password)
{
	struct roster_auth_request r;

	i_zero(&r);
	r.kind = job->kind;
	r.user = roster_request_user(request);
	r.password = password;
	r.service = roster_request_service(request);
	r.remote_ip = request->fields.remote_ip.family == 0 ? NULL : net_ip2addr(&request->fields.remote_ip);
	auth_request_ref(request);
	job->request = request;
	roster_auth_submit(core, &r, roster_done, job);
}

static void roster_verify_plain(struct auth_request *request, const char *password,
				verify_plain_callback_t *callback)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)request->passdb->passdb;
	struct roster_job *job = i_new(struct roster_job, 1);

	job->kind = ROSTER_AUTH_VERIFY;
	job->verify_callback = callback;
	roster_submit(module->core, job, request, password);
}

static void roster_lookup_credentials(struct auth_request *request,
				      lookup_credentials_callback_t *callback)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)request->passdb->passdb;
	struct roster_job *job = i_new(struct roster_job, 1);

	job->kind = ROSTER_AUTH_LOOKUP;
	job->credentials_callback = callback;
	roster_submit(module->core, job, request, NULL);
}

static void roster_userdb_lookup(struct auth_request *request, userdb_callback_t *callback)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)request->userdb->userdb;
	struct roster_job *job = i_new(struct roster_job, 1);

	job->kind = ROSTER_AUTH_USERDB;
	job->userdb_callback = callback;
	roster_submit(module->core, job, request, NULL);
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

/* ---------------------------------------------------------------- passdb module (version-specific) */

#if DOVECOT_PREREQ(2, 4, 0)
static int roster_passdb_preinit(pool_t pool, struct event *event, struct passdb_module **module_r,
				 const char **error_r)
{
	struct roster_passdb_module *module;
	struct roster_auth *core = roster_core_from_settings(event, &roster_passdb_setting_parser_info, error_r);

	if (core == NULL)
		return -1;
	module = p_new(pool, struct roster_passdb_module, 1);
	module->core = core;
	module->module.default_cache_key = ROSTER_PASSDB_KEY(core);
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
	module->core = roster_core_acquire(args, &error);
	if (module->core == NULL)
		i_fatal("passdb roster: %s", error);
	module->module.blocking = roster_auth_threads(module->core) == 0;
	module->module.default_cache_key = ROSTER_PASSDB_KEY(module->core);
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
	roster_core_start("passdb", module->core, module->module.blocking);
}

static void roster_passdb_deinit(struct passdb_module *_module)
{
	struct roster_passdb_module *module = (struct roster_passdb_module *)_module;

	roster_auth_release(module->core);
	module->core = NULL;
}

static struct passdb_module_interface roster_passdb = {
	.name = "roster",
	.preinit = roster_passdb_preinit,
	.init = roster_passdb_init,
	.deinit = roster_passdb_deinit,
	.verify_plain = roster_verify_plain,
	.lookup_credentials = roster_lookup_credentials,
};

/* ---------------------------------------------------------------- userdb module (version-specific) */

#if DOVECOT_PREREQ(2, 4, 0)
static int roster_userdb_preinit(pool_t pool, struct event *event, struct userdb_module **module_r,
				 const char **error_r)
{
	struct roster_userdb_module *module;
	struct roster_auth *core = roster_core_from_settings(event, &roster_userdb_setting_parser_info, error_r);

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
	module->core = roster_core_acquire(args, &error);
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
	roster_core_start("userdb", module->core, module->module.blocking);
}

static void roster_userdb_deinit(struct userdb_module *_module)
{
	struct roster_userdb_module *module = (struct roster_userdb_module *)_module;

	roster_auth_release(module->core);
	module->core = NULL;
}

static struct userdb_module_interface roster_userdb = {
	.name = "roster",
	.preinit = roster_userdb_preinit,
	.init = roster_userdb_init,
	.deinit = roster_userdb_deinit,
	.lookup = roster_userdb_lookup,
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
