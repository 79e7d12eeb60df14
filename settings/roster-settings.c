/* roster-settings.c: the Dovecot 2.4 settings of roster's passdb/userdb, dict
 * and last-login modules (see roster-settings.h), and the settings module
 * lib10_roster_settings.so that makes the config process know them.
 *
 * Trusts: Dovecot's config parser. Built only against Dovecot 2.4. */
#include "lib.h"
#include "array.h"
#include "settings-parser.h"

#include "roster-settings.h"

#ifndef ROSTER_CONFIG
#  define ROSTER_CONFIG "/etc/roster/roster.conf"
#endif

/* An empty or relative path is refused by doveconf already, not at the first
   login. */
static bool roster_config_file_check(const char *path, const char *key, const char **error_r)
{
	if (path[0] != '/') {
		*error_r = t_strdup_printf("%s must be an absolute path (roster's configuration file), got '%s'",
					   key, path);
		return FALSE;
	}
	return TRUE;
}

/* ------------------------------------------------------------ passdb/userdb */

#undef DEF
#define DEF(key) SETTING_DEFINE_STRUCT_STR(key, config_file, struct roster_authdb_settings)
static const struct setting_define roster_passdb_setting_defines[] = {
	DEF("passdb_roster_config_file"),
	SETTING_DEFINE_LIST_END
};
static const struct setting_define roster_userdb_setting_defines[] = {
	DEF("userdb_roster_config_file"),
	SETTING_DEFINE_LIST_END
};
#undef DEF

static const struct roster_authdb_settings roster_authdb_default_settings = {
	.config_file = ROSTER_CONFIG,
};

static bool roster_passdb_settings_check(void *_set, pool_t pool ATTR_UNUSED, const char **error_r)
{
	struct roster_authdb_settings *set = _set;

	return roster_config_file_check(set->config_file, "passdb_roster_config_file", error_r);
}

static bool roster_userdb_settings_check(void *_set, pool_t pool ATTR_UNUSED, const char **error_r)
{
	struct roster_authdb_settings *set = _set;

	return roster_config_file_check(set->config_file, "userdb_roster_config_file", error_r);
}

const struct setting_parser_info roster_passdb_setting_parser_info = {
	.name = "passdb_roster",
	.defines = roster_passdb_setting_defines,
	.defaults = &roster_authdb_default_settings,
	.struct_size = sizeof(struct roster_authdb_settings),
	.pool_offset1 = 1 + offsetof(struct roster_authdb_settings, pool),
	.check_func = roster_passdb_settings_check,
};

const struct setting_parser_info roster_userdb_setting_parser_info = {
	.name = "userdb_roster",
	.defines = roster_userdb_setting_defines,
	.defaults = &roster_authdb_default_settings,
	.struct_size = sizeof(struct roster_authdb_settings),
	.pool_offset1 = 1 + offsetof(struct roster_authdb_settings, pool),
	.check_func = roster_userdb_settings_check,
};

/* ------------------------------------------------------------------- dict */

static const struct setting_define roster_dict_setting_defines[] = {
	SETTING_DEFINE_STRUCT_STR("dict_roster_config_file", config_file, struct roster_dict_settings),
	SETTING_DEFINE_LIST_END
};

static const struct roster_dict_settings roster_dict_default_settings = {
	.config_file = ROSTER_CONFIG,
};

static bool roster_dict_settings_check(void *_set, pool_t pool ATTR_UNUSED, const char **error_r)
{
	struct roster_dict_settings *set = _set;

	return roster_config_file_check(set->config_file, "dict_roster_config_file", error_r);
}

const struct setting_parser_info roster_dict_setting_parser_info = {
	.name = "dict_roster",
	.defines = roster_dict_setting_defines,
	.defaults = &roster_dict_default_settings,
	.struct_size = sizeof(struct roster_dict_settings),
	.pool_offset1 = 1 + offsetof(struct roster_dict_settings, pool),
	.check_func = roster_dict_settings_check,
};

/* -------------------------------------------------------------- lastlogin */

static const struct setting_define roster_lastlogin_setting_defines[] = {
	{ .type = SET_FILTER_NAME, .key = "roster_lastlogin" },
	SETTING_DEFINE_STRUCT_BOOLLIST("roster_lastlogin_services", roster_lastlogin_services,
				       struct roster_lastlogin_settings),
	SETTING_DEFINE_LIST_END
};

static const struct roster_lastlogin_settings roster_lastlogin_default_settings = {
	.roster_lastlogin_services = ARRAY_INIT,
};

static const struct setting_keyvalue roster_lastlogin_default_settings_keyvalue[] = {
	{ "roster_lastlogin_services", "imap pop3" },
	{ NULL, NULL }
};

const struct setting_parser_info roster_lastlogin_setting_parser_info = {
	.name = "roster_lastlogin",
	.defines = roster_lastlogin_setting_defines,
	.defaults = &roster_lastlogin_default_settings,
	.default_settings = roster_lastlogin_default_settings_keyvalue,
	.struct_size = sizeof(struct roster_lastlogin_settings),
	.pool_offset1 = 1 + offsetof(struct roster_lastlogin_settings, pool),
};

/* ------------------------------------------------ the settings module itself */

#ifdef ROSTER_SETTINGS_MODULE
#define ROSTER_EXPORT __attribute__((visibility("default")))
ROSTER_EXPORT extern const char *roster_settings_version;
ROSTER_EXPORT extern const struct setting_parser_info *roster_settings_set_infos[];
const char *roster_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *roster_settings_set_infos[] = {
	&roster_passdb_setting_parser_info,
	&roster_userdb_setting_parser_info,
	&roster_dict_setting_parser_info,
	&roster_lastlogin_setting_parser_info,
	NULL
};
#endif
