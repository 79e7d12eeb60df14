/* roster-lastlogin-plugin.c: the mail plugin "roster_lastlogin"
 * (lib90_roster_lastlogin_plugin.so in $moduledir). At every real IMAP or
 * POP3 login it records the client's address, the time and the protocol
 * through a dict (roster's dict driver behind the dict proxy), for
 * POP/IMAP-before-SMTP:
 *
 * Dovecot 2.3:
 *   mail_plugins = $mail_plugins roster_lastlogin
 *   plugin {
 *     roster_lastlogin_dict = proxy::quota
 *     roster_lastlogin_services = imap pop3     (the default)
 *   }
 * Dovecot 2.4 (settings declared in settings/roster-settings.c):
 *   mail_plugins { roster_lastlogin = yes }
 *   roster_lastlogin {
 *     dict proxy {
 *       name = quota
 *       socket_path = dict-async
 *     }
 *     services = imap pop3                      (the default)
 *   }
 *
 * It writes shared/roster/lastlogin/<user> = "<protocol> <ip> <unix time>"
 * with an asynchronous commit: the login never waits for the database, and a
 * failure is only logged. The mail process holds no database credentials.
 * Skipped: services not listed (lmtp, doveadm, indexer-worker, quota-status
 * ...), autocreated users (shared namespaces, LDA's raw user), restored
 * sessions (IMAP unhibernation) and sessions without a client address.
 *
 * Trusts: Dovecot (same process) for the user, service and client address. */
#include "lib.h"
#include "ioloop.h"
#include "net.h"
#include "dict.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "module-dir.h"
#if DOVECOT_PREREQ(2, 4, 0)
#  include "settings.h"
#  include "settings/roster-settings.h"
#endif

#define ROSTER_EXPORT __attribute__((visibility("default")))
ROSTER_EXPORT extern const char *roster_lastlogin_plugin_version;
ROSTER_EXPORT void roster_lastlogin_plugin_init(struct module *module);
ROSTER_EXPORT void roster_lastlogin_plugin_deinit(void);
const char *roster_lastlogin_plugin_version = DOVECOT_ABI_VERSION;

#define ROSTER_LASTLOGIN_KEY_PREFIX DICT_PATH_SHARED "roster/lastlogin/"
#define ROSTER_LASTLOGIN_DEFAULT_SERVICES "imap pop3"

#define ROSTER_LASTLOGIN_USER_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, roster_lastlogin_user_module)

struct roster_lastlogin_user {
	union mail_user_module_context module_ctx;
	struct dict *dict;
	struct timeout *to;
};

static MODULE_CONTEXT_DEFINE_INIT(roster_lastlogin_user_module, &mail_user_module_register);

static void roster_lastlogin_dict_deinit(struct mail_user *user)
{
	struct roster_lastlogin_user *luser = ROSTER_LASTLOGIN_USER_CONTEXT(user);

	if (luser->dict != NULL) {
		/* The commit may still be under way: let it finish first. */
		dict_wait(luser->dict);
		dict_deinit(&luser->dict);
	}
	timeout_remove(&luser->to);
}

static void roster_lastlogin_user_deinit(struct mail_user *user)
{
	struct roster_lastlogin_user *luser = ROSTER_LASTLOGIN_USER_CONTEXT(user);

	roster_lastlogin_dict_deinit(user);
	luser->module_ctx.super.deinit(user);
}

static void roster_lastlogin_committed(const struct dict_commit_result *result, struct mail_user *user)
{
	struct roster_lastlogin_user *luser = ROSTER_LASTLOGIN_USER_CONTEXT(user);

	switch (result->ret) {
	case DICT_COMMIT_RET_OK:
	case DICT_COMMIT_RET_NOTFOUND:
		break;
	case DICT_COMMIT_RET_FAILED:
	case DICT_COMMIT_RET_WRITE_UNCERTAIN:
		e_error(user->event, "roster_lastlogin: login not recorded: %s", result->error);
		break;
	}
	/* The dict may not be freed inside its own callback. */
	luser->to = timeout_add(0, roster_lastlogin_dict_deinit, user);
}

/* The protocol of a session (imap, pop3, lmtp, doveadm ...). */
#if DOVECOT_PREREQ(2, 4, 0)
#  define roster_lastlogin_protocol(user) ((user)->protocol)
#else
#  define roster_lastlogin_protocol(user) ((user)->service)
#endif

static bool roster_lastlogin_session(struct mail_user *user)
{
	if (user->autocreated || user->session_restored)
		return FALSE;
	if (user->conn.remote_ip == NULL || user->conn.remote_ip->family == 0)
		return FALSE;
	return roster_lastlogin_protocol(user) != NULL;
}

static bool roster_lastlogin_listed(const char *const *services, const char *protocol)
{
	for (; *services != NULL; services++) {
		if (strcmp(*services, protocol) == 0)
			return TRUE;
	}
	return FALSE;
}

#if DOVECOT_PREREQ(2, 4, 0)
/* The dict from the roster_lastlogin { dict NAME { ... } } filter, if this
   protocol is listed; 0 when nothing is to be recorded, -1 on error. */
static int roster_lastlogin_dict_open(struct mail_user *user, struct dict **dict_r)
{
	const struct roster_lastlogin_settings *set;
	const char *error;
	struct event *event;
	bool wanted;
	int ret;

	event = event_create(user->event);
	settings_event_add_filter_name(event, "roster_lastlogin");
	event_set_append_log_prefix(event, "roster_lastlogin: ");
	if (settings_get(event, &roster_lastlogin_setting_parser_info, 0, &set, &error) < 0) {
		e_error(event, "%s", error);
		event_unref(&event);
		return -1;
	}
	wanted = roster_lastlogin_listed(settings_boollist_get(&set->roster_lastlogin_services),
					 roster_lastlogin_protocol(user));
	settings_free(set);
	if (!wanted) {
		event_unref(&event);
		return 0;
	}
	/* 0: no dict configured, nothing to record. */
	ret = dict_init_auto(event, dict_r, &error);
	if (ret < 0)
		e_error(event, "dict: %s", error);
	event_unref(&event);
	return ret;
}
#else
static int roster_lastlogin_dict_open(struct mail_user *user, struct dict **dict_r)
{
	struct dict_settings set;
	const char *services, *dict_uri, *error;

	services = mail_user_plugin_getenv(user, "roster_lastlogin_services");
	if (services == NULL)
		services = ROSTER_LASTLOGIN_DEFAULT_SERVICES;
	if (!roster_lastlogin_listed(t_strsplit_spaces(services, " ,"), roster_lastlogin_protocol(user)))
		return 0;
	dict_uri = mail_user_plugin_getenv(user, "roster_lastlogin_dict");
	if (dict_uri == NULL || dict_uri[0] == '\0')
		return 0;

	i_zero(&set);
	set.base_dir = user->set->base_dir;
	set.event_parent = user->event;
	if (dict_init(dict_uri, &set, dict_r, &error) < 0) {
		e_error(user->event, "roster_lastlogin: dict_init(%s) failed: %s", dict_uri, error);
		return -1;
	}
	return 1;
}
#endif

static void roster_lastlogin_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct roster_lastlogin_user *luser;
	struct dict_transaction_context *trans;
	struct dict *dict;
	time_t when;

	if (!roster_lastlogin_session(user))
		return;
	if (roster_lastlogin_dict_open(user, &dict) <= 0)
		return;

	luser = p_new(user->pool, struct roster_lastlogin_user, 1);
	luser->module_ctx.super = *v;
	user->vlast = &luser->module_ctx.super;
	v->deinit = roster_lastlogin_user_deinit;
	luser->dict = dict;
	MODULE_CONTEXT_SET(user, roster_lastlogin_user_module, luser);

	when = user->session_create_time != 0 ? user->session_create_time : ioloop_time;
#if DOVECOT_PREREQ(2, 4, 0)
	struct dict_op_settings dset = *mail_user_get_dict_op_settings(user);

	dset.no_slowness_warning = TRUE;
	trans = dict_transaction_begin(dict, &dset);
#else
	trans = dict_transaction_begin(dict, mail_user_get_dict_op_settings(user));
	dict_transaction_no_slowness_warning(trans);
#endif
	dict_set(trans, t_strconcat(ROSTER_LASTLOGIN_KEY_PREFIX, user->username, NULL),
		 t_strdup_printf("%s %s %ld", roster_lastlogin_protocol(user), net_ip2addr(user->conn.remote_ip),
				 (long)when));
	dict_transaction_commit_async(&trans, roster_lastlogin_committed, user);
}

static struct mail_storage_hooks roster_lastlogin_mail_storage_hooks = {
	.mail_user_created = roster_lastlogin_mail_user_created
};

void roster_lastlogin_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &roster_lastlogin_mail_storage_hooks);
}

void roster_lastlogin_plugin_deinit(void)
{
	mail_storage_hooks_remove(&roster_lastlogin_mail_storage_hooks);
}
