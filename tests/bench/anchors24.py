"""anchors24: the benchmark anchors (../shared/notes/anchors.md) written for
Dovecot 2.4 (Debian 13 ships 2.4.1): the Dovecot built-ins roster replaces,
as config text for a private instance, parameterised like the 2.3 strings in
auth-bench.py, quota-bench.py and policy-bench.py (sockets, ports, paths).
Each function returns blocks to append to a 2.4 base config (base_conf()
here is the minimal one anchors24-check.py runs them in; dovecot_stack.py
renders its own). Verified on Dovecot 2.4.1 by tests/bench/anchors24-check.py.

What 2.4 changes for the anchors (each checked there):
  - a config starts with dovecot_config_version and dovecot_storage_version;
    a listener's `address` is gone (`listen` inside the inet_listener block);
  - the SQL connection is settings, not a `connect =` string: `sql_driver =
    mysql` and a named filter `mysql HOST { user password dbname }` whose name
    is the host (a path starting with / is the unix socket);
  - passdb/userdb are named blocks with `query =` (no args file, no
    password_query/user_query); variables are %{user} (2.3's %u is no
    variable any more); the SQL driver still escapes what it substitutes, and
    the MySQL driver still makes passdb/userdb sql run in auth-workers;
  - userdb fields are setting overrides: the limits are quota_storage_size and
    quota_message_count (a returned quota_rule is ignored without a word);
    0 is still "no limit";
  - there is no dict quota backend: usage is `count` (the mailbox indexes), so
    seed 003's user.bytes / user.messages are only a copy, SET (not
    incremented) by quota_clone through the dict proxy; quota-status reads the
    mailbox, not those columns;
  - the dict server's dicts live in `dict_server { dict NAME { ... } }` with
    `dict_map PATTERN { sql_table username_field value_field NAME { type } }`
    instead of dict-sql.conf; the dict protocol is 4.0 (2.3: 3.2);
  - plugin {} is gone: quota_status_* and the quota settings are top-level.
It trusts its arguments (test paths, ports, generated passwords): nothing is
quoted beyond what these values need."""

CONFIG_VERSION = "2.4.1"

# Seed 003's post-login script, as quota-bench.py runs it on 2.3: unchanged on
# 2.4 (script-login still exports USER and IP and drops to the mail user before
# running it; MariaDB 11.8's `mysql` is a symlink to `mariadb` and runs silently).
POSTLOGIN_SCRIPT = """#!/bin/sh
echo "UPDATE user SET lasttime=NOW(), lastip='$IP' WHERE email='$USER';" | mysql --defaults-extra-file={defaults} mail
exec "$@"
"""

OVERQUOTA = "452 4.2.2 Mailbox is over quota"


def base_conf(directory, instance_name, imap_port, lmtp_port, auth_cache_size="0"):
    """A minimal 2.4 instance: private base_dir/state_dir/log under `directory`,
    IMAP and LMTP on 127.0.0.1 (the 2.3 benches' dovecot_stack.py base, in 2.4
    names). dovecot_config_version must come first."""
    return f"""dovecot_config_version = {CONFIG_VERSION}
dovecot_storage_version = {CONFIG_VERSION}
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = {instance_name}
log_path = {directory}/dovecot.log
listen = 127.0.0.1
ssl = no
auth_allow_cleartext = yes
protocols = imap lmtp
auth_mechanisms = plain login
auth_username_chars =
auth_failure_delay = 0
auth_cache_size = {auth_cache_size}
first_valid_uid = 8
mail_driver = maildir
mail_path = %{{home}}/Maildir
service imap-login {{
  inet_listener imap {{
    listen = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    listen = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
"""


def mysql_conf(socket, user="anchor", password="anchor-pw", dbname="mail", indent="  "):
    """Dovecot's MySQL driver on MariaDB's unix socket (2.3: `driver = mysql`,
    `connect = host=SOCKET dbname=... user=... password=...`)."""
    i = indent
    return (f"{i}sql_driver = mysql\n{i}mysql {socket} {{\n{i}  user = {user}\n{i}  password = {password}\n"
            f"{i}  dbname = {dbname}\n{i}}}\n")


def sql_auth(socket, home_root, uid=8, gid=8, user="anchor", password="anchor-pw"):
    """Anchor of auth-bench.py and policy-bench.py: passdb sql + userdb sql on
    seed 003's `user` table. 2.3's password_query/user_query, default_pass_scheme
    CRYPT; the userdb's limits under their 2.4 names. Homes are
    HOME_ROOT/<domain>/<local part>."""
    mysql = mysql_conf(socket, user, password)
    return f"""passdb sql {{
{mysql}  default_password_scheme = CRYPT
  query = SELECT email AS user, password FROM user WHERE email = '%{{user}}' AND active = 'Y'
}}
userdb sql {{
{mysql}  query = SELECT CONCAT('{home_root}/', SUBSTRING_INDEX(email, '@', -1), '/', \\
    SUBSTRING_INDEX(email, '@', 1)) AS home, {uid} AS uid, {gid} AS gid, \\
    max_bytes AS quota_storage_size, max_messages AS quota_message_count \\
    FROM user WHERE email = '%{{user}}'
}}
"""


def count_quota(tempfail=True):
    """The quota root every 2.4 anchor uses: the `count` backend (2.3: dict)."""
    return f"""mail_plugins {{
  quota = yes
}}
quota "User quota" {{
  driver = count
}}
quota_full_tempfail = {"yes" if tempfail else "no"}
"""


def dict_server_sql(socket, dict_name="quotadict", user="anchor", password="anchor-pw"):
    """dict-sql in the dict server, on seed 003's user.bytes / user.messages
    (2.3: `dict { quotadict = mysql:dict-sql.conf }` and its two `map {}`)."""
    mysql = mysql_conf(socket, user, password, indent="    ")
    maps = "".join(f"""    dict_map priv/quota/{key} {{
      sql_table = user
      username_field = email
      value_field {column} {{
        type = uint
      }}
    }}
""" for key, column in (("storage", "bytes"), ("messages", "messages")))
    return f"""dict_server {{
  dict {dict_name} {{
    driver = sql
{mysql}{maps}  }}
}}
"""


def dict_proxy(dict_name="quotadict", socket_path="dict"):
    """A client's dict through the dict server (2.3: proxy:SOCKET:NAME); the
    socket path is relative to base_dir."""
    return f"""dict proxy {{
  name = {dict_name}
  socket_path = {socket_path}
}}
"""


def dict_service(socket_name="dict", mode="0666"):
    """The dict server's socket open to the mail processes (they run as the
    mail user, the dict server as Dovecot's internal user), as dovecot_stack.py
    opens it on 2.3."""
    return f"""service {socket_name} {{
  unix_listener {socket_name} {{
    mode = {mode}
  }}
}}
"""


def quota_clone(socket, dict_name="quotadict", dict_socket="dict", user="anchor", password="anchor-pw"):
    """Anchor of quota-bench.py part 4 on 2.4 (with count_quota()): quota_clone
    copying the count backend's usage into seed 003's row through the dict
    proxy and dict-sql."""
    proxy = "".join("  " + line + "\n" for line in dict_proxy(dict_name, dict_socket).splitlines())
    return ("mail_plugins {\n  quota_clone = yes\n}\n" f"quota_clone {{\n{proxy}}}\n"
            + dict_server_sql(socket, dict_name, user, password) + dict_service(dict_socket))


def quota_status(port, success="DUNNO", nouser="DUNNO", overquota=OVERQUOTA):
    """Anchor of policy-bench.py on 2.4 (with sql_auth() and count_quota()):
    quota-status answering Postfix policy requests on 127.0.0.1:PORT, limits
    from the sql userdb, usage counted from the mailbox itself (2.4 has no
    dict backend, so seed 003's user.bytes / user.messages are not read)."""
    return f"""quota_status_success = {success}
quota_status_nouser = {nouser}
quota_status_overquota = "{overquota}"
service quota-status {{
  executable = quota-status -p postfix
  inet_listener quota-status {{
    listen = 127.0.0.1
    port = {port}
  }}
  client_limit = 1
}}
"""


def postlogin(script):
    """roster_lastlogin's anchor: seed 003's post-login script after every IMAP login."""
    return f"""service imap-postlogin {{
  executable = script-login {script}
  unix_listener imap-postlogin {{
  }}
}}
service imap {{
  executable = imap imap-postlogin
}}
"""
