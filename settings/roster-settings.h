/* roster-settings.h: the Dovecot 2.4 settings of roster's three modules,
 * declared as data. roster-settings.c is compiled twice: into the settings
 * module (lib10_roster_settings.so in $moduledir/settings, which Dovecot's
 * config process loads so that doveconf knows these keys and refuses
 * misspelt ones), and into each module that reads them with settings_get().
 * Both copies come from the same source, so they always agree.
 *
 * Dovecot 2.3 has no declared settings (passdb args, dict URIs and plugin {}
 * strings instead): there this header declares nothing.
 *
 * Trusts: Dovecot's config parser for the types; checks below for the rest. */
#ifndef ROSTER_SETTINGS_H
#define ROSTER_SETTINGS_H

#if DOVECOT_PREREQ(2, 4, 0)
#include "array.h"
#include "settings-parser.h"

/* passdb NAME { driver = roster  roster_config_file = FILE }, and the same for
   userdb: the keys are passdb_roster_config_file / userdb_roster_config_file,
   the way 2.4 names driver settings (passdb_sql_query), so that inside any
   passdb or userdb block "roster_config_file" (and inside one named roster
   also "config_file") finds them. */
struct roster_authdb_settings {
	pool_t pool;
	const char *config_file;
};
extern const struct setting_parser_info roster_passdb_setting_parser_info;
extern const struct setting_parser_info roster_userdb_setting_parser_info;

/* dict_server { dict NAME { driver = roster  roster_config_file = FILE } }:
   the key is dict_roster_config_file. */
struct roster_dict_settings {
	pool_t pool;
	const char *config_file;
};
extern const struct setting_parser_info roster_dict_setting_parser_info;

/* roster_lastlogin { dict proxy { ... }  services = imap pop3 }: the dict is
   a named filter inside (dict_init_auto), the protocols a boolean list. */
struct roster_lastlogin_settings {
	pool_t pool;
	ARRAY_TYPE(const_string) roster_lastlogin_services;
};
extern const struct setting_parser_info roster_lastlogin_setting_parser_info;
#endif

#endif
