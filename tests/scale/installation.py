"""installation: seed 004's installation, built for a test on hosts in network
namespaces (tests/scale/netns.py): a Galera cluster of three MariaDB nodes
(db1..db3, tests/scale/galera.py) holding roster's database; an MX (Postfix
with roster-policyd: the quota check at RCPT and the socketmap tables domains,
mailboxes, aliases, transport); two units, unit1 and unit2, each a Dovecot
with roster's passdb/userdb, quota in roster's dict and LMTP, plus a Postfix
that takes the MX's mail and delivers it over LMTP to that Dovecot; a front
end, a Dovecot that only proxies IMAP and POP3 with roster's passdb; and a
client host for the test's own SMTP, IMAP and POP3 connections.

  host    address      runs
  db1..3  10.16.0.11-13  mariadbd (Galera)
  mx      10.16.0.20   Postfix :25, roster-policyd (unit empty: the MX)
  unit1   10.16.0.21   Dovecot :143 :110 :24, Postfix :25, roster-policyd (unit = unit1)
  unit2   10.16.0.22   the same for unit2
  front   10.16.0.30   Dovecot :143 :110, proxying (unit empty)
  client  10.16.0.40   the test's clients

Each host has its own directory and roster.conf naming the three nodes in
db_hosts, each host's in another order (FIRST_NODE); the MX's roster-policyd
sets db_sync_wait = 1, as doc/scale-out.md says. The administrator's
rosterctl runs in the test's own namespace, as root over db1's unix socket,
with a config of its own: `db init` there creates the schema and the roles
for 'localhost' and '10.16.0.%'. The `unit` table says where each unit is
(`rosterctl unit set`: host = its address, no transport: the MX relays with
smtp:[address], the front proxies to the standard IMAP and POP3 ports).

Dovecot's auth cache is on everywhere (dovecot_stack's 1M, Dovecot's default
TTL of an hour), roster-policyd's cache is off (its default) unless a test
asks for a TTL.

Trusts: the pieces it starts, root, and the stacks it reuses
(tests/dovecot/dovecot_stack.py, tests/postfix/postfix_stack.py)."""
import glob
import imaplib
import os
import poplib
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "dovecot"))
sys.path.insert(0, os.path.join(HERE, "..", "postfix"))
import dovecot_stack  # noqa: E402
import galera  # noqa: E402
import netns  # noqa: E402
import postfix_stack  # noqa: E402

PREFIX = "10.16.0"
NUMBERS = {"db1": 11, "db2": 12, "db3": 13, "mx": 20, "unit1": 21, "unit2": 22, "front": 30, "client": 40}
UNITS = ("unit1", "unit2")
# Each host's first node in db_hosts: the administrator writes through db1;
# the MX reads from db2 (with db_sync_wait, what was just written on db1).
FIRST_NODE = {"mx": 2, "unit1": 1, "unit2": 3, "front": 2}
PW = "correct horse"
# Postfix in a namespace has no resolver: no lookups at all (every address is a literal).
NO_DNS = """smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
"""


def missing():
    """Why this machine cannot build the installation (a reason to skip), or ''."""
    for tool in ("dovecot", "doveadm"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool) \
                and not os.path.exists("/usr/bin/" + tool):
            return tool + " not installed"
    return (netns.missing_programs() or galera.missing_programs() or postfix_stack.missing_programs()
            or ("" if os.path.exists(dovecot_stack.ROSTERCTL) else dovecot_stack.ROSTERCTL + " not built"))


def run(args, input=None, check=True):
    return dovecot_stack.run(args, input=input, check=check)


class Installation:
    def __init__(self, policy_cache_ttl="0", directory=None):
        """directory: where every host's files go (default: a new temporary
        directory); it must not exist yet, or be empty. close() removes it
        unless ROSTER_KEEP_TEST_DIR is set."""
        if directory:
            os.makedirs(directory, exist_ok=True)
            if os.listdir(directory):
                raise RuntimeError(f"{directory} is not empty")
        self.dir = directory or tempfile.mkdtemp(prefix="roster-scale-")
        os.chmod(self.dir, 0o755)
        self.policy_cache_ttl = policy_cache_ttl
        self.net = None
        self.cluster = None
        self.dovecot = {}   # host name -> dovecot_stack.Stack
        self.postfix = {}   # host name -> postfix_stack.Postfix
        self.policyd = {}   # host name -> postfix_stack.Policyd
        self.timings = {}

    def address(self, name):
        return f"{PREFIX}.{NUMBERS[name]}"

    def host(self, name):
        return self.net[name]

    # ------------------------------------------------------------ building
    def start(self):
        t = time.monotonic()
        self.net = netns.Network(PREFIX)
        for name, number in NUMBERS.items():
            self.net.add_host(name, number)
        self.cluster = galera.Cluster([self.host(n) for n in ("db1", "db2", "db3")], os.path.join(self.dir, "db"))
        self.cluster.start()
        self.timings["cluster"] = time.monotonic() - t
        t = time.monotonic()
        self.init_roster()
        for unit in UNITS:
            self.start_unit(unit)
        self.start_mx()
        self.start_front()
        self.timings["mail hosts"] = time.monotonic() - t

    def init_roster(self):
        """The administrator's config (db1's socket, as root for `db init`, then the admin role) and the schema."""
        admin = os.path.join(self.dir, "admin")
        os.makedirs(admin)
        self.admin_conf = os.path.join(admin, "roster.conf")
        with open(self.admin_conf, "w") as f:
            f.write(f"# rosterctl on the administrator's host (tests/scale/installation.py)\n"
                    f"db_hosts = {self.cluster[1].socket}\ndb_role_hosts = localhost, {PREFIX}.%\n"
                    f"db_connect_timeout = 2s\ndb_read_timeout = 5s\ndb_write_timeout = 5s\n"
                    f"password_argon2_memory = 8M\npassword_argon2_ops = 1\n"
                    # No Dovecot on the administrator's host: nothing to flush there.
                    f"dovecot_auth_master = {admin}/no-dovecot\n"
                    f"!include_try secrets.conf\n")
        self.write_secrets(admin, ("auth", "dict", "policy", "admin", "api"))
        self.rosterctl("db", "init")
        for unit in UNITS:
            self.rosterctl("unit", "set", unit, "--host", self.address(unit))

    @staticmethod
    def write_secrets(directory, roles):
        path = os.path.join(directory, "secrets.conf")
        with open(path, "w") as f:
            for role in roles:
                f.write(f"{role}_db_password = {dovecot_stack.Stack.db_password(role)}\n")
        os.chmod(path, 0o600)

    def host_conf(self, name, unit=""):
        """A host's roster.conf (for Dovecot's auth and dict): db_hosts names the three nodes."""
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        mail = os.path.join(d, "mail")
        os.makedirs(mail, exist_ok=True)
        shutil.chown(mail, "mail", "mail")
        conf = os.path.join(d, "roster.conf")
        with open(conf, "w") as f:
            f.write(f"# roster.conf of {name} (tests/scale/installation.py)\n"
                    f"db_hosts = {self.cluster.db_hosts_from(FIRST_NODE[name])}\n"
                    f"db_connect_timeout = 2s\ndb_read_timeout = 3s\ndb_write_timeout = 3s\n"
                    f"auth_uid = mail\nauth_gid = mail\nauth_home = {mail}/%d/%n\n"
                    f"dovecot_auth_master = {d}/dovecot/run/auth-master\n"
                    f"password_argon2_memory = 8M\npassword_argon2_ops = 1\n"
                    f"unit = {unit}\n!include_try secrets.conf\n")
        self.write_secrets(d, ("auth",))
        dict_conf = os.path.join(d, "dict.conf")
        with open(dict_conf, "w") as f:
            f.write(f"!include roster.conf\ndict_db_password = {dovecot_stack.Stack.db_password('dict')}\n")
        os.chmod(dict_conf, 0o600)
        shutil.chown(dict_conf, dovecot_stack.DICT_USER)
        return types.SimpleNamespace(socket=self.cluster[1].socket, conf=conf, dict_conf=dict_conf, dir=d)

    def start_dovecot(self, name, unit, quota):
        conf = self.host_conf(name, unit)
        stack = dovecot_stack.Stack(db_from=conf, quota=quota, directory=os.path.join(conf.dir, "dovecot"),
                                    listen=self.address(name), ports={"imap": 143, "pop3": 110, "lmtp": 24},
                                    host=self.host(name), name=name)
        self.dovecot[name] = stack
        stack.start_dovecot()
        return stack

    def start_policyd(self, name, settings):
        policyd = postfix_stack.Policyd(self.cluster.db_hosts_from(FIRST_NODE[name]),
                                        dovecot_stack.Stack.db_password("policy"),
                                        settings=f"policy_cache_ttl = {self.policy_cache_ttl}\n{settings}",
                                        directory=os.path.join(self.dir, name, "policyd"), host=self.host(name))
        self.policyd[name] = policyd
        policyd.start()
        return policyd

    def start_postfix(self, name, policyd, lmtp_host):
        postfix = postfix_stack.Postfix(24, policyd.policy, policyd.socketmap, extra_main=NO_DNS,
                                        directory=os.path.join(self.dir, name, "postfix"),
                                        address=self.address(name), smtp_port=25, lmtp_host=lmtp_host,
                                        hostname=f"{name}.test", host=self.host(name))
        self.postfix[name] = postfix
        postfix.start()
        return postfix

    def start_unit(self, unit):
        self.start_dovecot(unit, unit, quota=True)
        policyd = self.start_policyd(unit, f"unit = {unit}\nunit_mx_transport = smtp:[{self.address('mx')}]\n")
        self.start_postfix(unit, policyd, self.address(unit))

    def start_mx(self):
        os.makedirs(os.path.join(self.dir, "mx"), exist_ok=True)
        # doc/scale-out.md: the MX's reads must see a mailbox or a usage
        # written through another node a moment before.
        policyd = self.start_policyd("mx", "db_sync_wait = 1\n")
        # No mailbox lives on the MX: its LMTP target is never used.
        self.start_postfix("mx", policyd, "127.0.0.1")

    def start_front(self):
        self.start_dovecot("front", "", quota=False)

    def close(self):
        for group in (self.postfix, self.policyd):
            for piece in group.values():
                try:
                    piece.stop()
                except Exception as e:  # keep tearing down
                    print(f"teardown: {e}", file=sys.stderr)
        for stack in self.dovecot.values():
            try:
                stack.stop()
            except Exception as e:
                print(f"teardown: {e}", file=sys.stderr)
        if self.cluster:
            self.cluster.close()
        if self.net:
            self.net.close()
        if os.environ.get("ROSTER_KEEP_TEST_DIR"):
            print("kept " + self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ administration
    def rosterctl(self, *args, input=None, check=True):
        return run([dovecot_stack.ROSTERCTL, "--config", self.admin_conf, *args], input=input, check=check)

    def sql(self, statement, node=1):
        return self.cluster[node].sql(statement, database="roster")

    def add_mailbox(self, address, unit, *options):
        self.rosterctl("mailbox", "add", address, "--unit", unit, "--password-stdin", *options, input=PW + "\n")

    def move_mailbox(self, address, unit, flush_dovecot=True, reload_postfix=True):
        """Moves a mailbox to another unit as doc/scale-out.md says: `rosterctl
        mailbox unit` (its new mail and new logins go there), then what lies
        outside roster:
        - each Dovecot's auth cache entry for the address (flush_dovecot):
          rosterctl flushes only the Dovecot of its own host (none here); the
          front end's would keep proxying to the old unit for auth_cache_ttl,
          and the old unit's would log the user in there;
        - the MX's Postfix (reload_postfix): its queue manager keeps the last
          address it resolved, with its transport, for 30 s (resolve_clnt's
          one-entry cache), so mail to an address that was the last one
          delivered would still go to the old unit; a reload starts a new
          queue manager.
        roster-policyd keeps nothing to invalidate: the transport table is
        never cached (policy_cache_ttl holds quota states, not routes). The
        stored mail stays where it is (moving it is dsync's job)."""
        self.rosterctl("mailbox", "unit", address, unit)
        if flush_dovecot:
            for stack in self.dovecot.values():
                stack.doveadm("auth", "cache", "flush", address, check=False)
        if reload_postfix:
            self.postfix["mx"].reconfigure()

    # ------------------------------------------------------------ clients
    def smtp(self, source="client", server="mx", address=None, timeout=60):
        """An SMTP client on host `source` (from `address`, one of its addresses), connected to `server`'s port 25."""
        return SMTP(self.host(source), self.address(server), 25, timeout, address)

    def imap(self, server="front", source="client", address=None, timeout=60):
        return IMAP(self.host(source), self.address(server), 143, timeout, address)

    def pop3(self, server="front", source="client", address=None, timeout=60):
        return POP3(self.host(source), self.address(server), 110, timeout, address)

    def stored_files(self, unit, address):
        """The paths of the messages of `address` in `unit`'s mail store (Maildir's new/ and cur/)."""
        local, domain = address.lower().split("@")
        return [path for path in sorted(glob.glob(os.path.join(self.dir, unit, "mail", domain, local, "Maildir",
                                                               "*", "*")))
                if os.path.basename(os.path.dirname(path)) in ("new", "cur")]

    def stored(self, unit, address):
        """The messages of `address` in `unit`'s mail store (file contents, bytes)."""
        out = []
        for path in self.stored_files(unit, address):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def wait_stored(self, unit, address, marker, timeout=30):
        """Until a message holding `marker` is in `unit`'s store for `address`."""
        return postfix_stack.wait_until(lambda: any(marker.encode() in m for m in self.stored(unit, address)),
                                        timeout, 0.1)

    def queues_empty(self):
        return all(not p.queued() for p in self.postfix.values())

    def logs(self):
        """Every piece's log, for a failure's message."""
        out = []
        for name, stack in self.dovecot.items():
            out.append(f"--- dovecot {name}\n{stack.log()[-3000:]}")
        for name, p in self.postfix.items():
            out.append(f"--- postfix {name}\n{p.log()[-3000:]}")
        for name, p in self.policyd.items():
            out.append(f"--- policyd {name}\n{p.log()[-3000:]}")
        return "\n".join(out)


class SMTP(smtplib.SMTP):
    """smtplib from a netns host (from `source`, one of its addresses, if given)."""

    def __init__(self, host, address, port, timeout=60, source=None):
        self._netns_host, self._netns_source = host, source
        super().__init__(address, port, timeout=timeout)

    def _get_socket(self, address, port, timeout):
        return self._netns_host.connect(address, port, timeout, self._netns_source)


class IMAP(imaplib.IMAP4):
    def __init__(self, host, address, port, timeout=60, source=None):
        self._netns_host, self._netns_source = host, source
        super().__init__(address, port, timeout=timeout)

    def _create_socket(self, timeout):
        return self._netns_host.connect(self.host, self.port, timeout, self._netns_source)


class POP3(poplib.POP3):
    def __init__(self, host, address, port, timeout=60, source=None):
        self._netns_host, self._netns_source = host, source
        super().__init__(address, port, timeout=timeout)

    def _create_socket(self, timeout):
        return self._netns_host.connect(self.host, self.port, timeout, self._netns_source)
