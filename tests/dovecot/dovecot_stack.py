"""dovecot_stack: a private MariaDB + Dovecot (2.3 or 2.4, whichever is
installed) with roster's freshly built modules (auth driver, dict driver,
last-login plugin, and on 2.4 the settings module), for tests and benchmarks.
Nothing touches the system's Dovecot: Dovecot runs with its own base_dir and
config under a temporary directory, in a private mount namespace where a copy
of Debian's module directory holding our modules is bind-mounted over
/usr/lib/dovecot/modules. IMAP, POP3 and LMTP listen on loopback ports (POP3 on
::1 too, when the machine has it).

One description, two syntaxes: a test says what it wants (quota, last login,
the dict-async service) and the stack writes the configuration the installed
Dovecot reads. On 2.3 quota is the dict backend in roster's dict; on 2.4, which
has none, Dovecot counts (the count backend, limits from the userdb) and
quota_clone copies the counters into roster's dict."""
import imaplib
import os
import poplib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SRCDIR = os.path.abspath(os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILDDIR = os.path.abspath(os.environ.get("top_builddir", "."))
MARIADB_PRIVATE = os.path.join(SRCDIR, "tests", "db", "mariadb-private")
ROSTERCTL = os.path.join(BUILDDIR, "admin", "rosterctl")
AUTH_MODULE = os.path.join(BUILDDIR, "auth", ".libs", "libauthdb_roster.so")
DICT_MODULE = os.path.join(BUILDDIR, "quota", ".libs", "libdict_roster.so")
LASTLOGIN_PLUGIN = os.path.join(BUILDDIR, "lastlogin", ".libs", "lib90_roster_lastlogin_plugin.so")
SETTINGS_MODULE = os.path.join(BUILDDIR, "settings", ".libs", "lib10_roster_settings.so")
# Debian's user for Dovecot's internal services, the dict server among them.
DICT_USER = "dovecot"
SYSTEM_MODULES = "/usr/lib/dovecot/modules"


def dovecot_version():
    """(major, minor) of the installed Dovecot, e.g. (2, 3) or (2, 4)."""
    out = subprocess.run(["dovecot", "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = out.split()[0].split(".")[:2]
    return int(major), int(minor)


VERSION = dovecot_version() if shutil.which("dovecot") or os.path.exists("/usr/sbin/dovecot") else (0, 0)
DOVECOT_24 = VERSION >= (2, 4)


def userdb_fields(doveadm_user_output):
    """The fields `doveadm user` printed, as a dict."""
    return dict(line.split("\t", 1) for line in doveadm_user_output.splitlines()[1:] if "\t" in line)


def limit_fields(max_bytes, max_messages):
    """The userdb fields roster answers for these limits, in the installed Dovecot's dialect."""
    if DOVECOT_24:
        return {"quota_storage_size": str(max_bytes), "quota_message_count": str(max_messages)}
    return {"quota_rule": f"*:bytes={max_bytes}:messages={max_messages}"}


_next_client_ip = [0]
_client_ip_lock = threading.Lock()


def client_ip():
    """A fresh loopback source address per connection: Dovecot's auth penalty
    delays an address after failed logins (up to 15 s), and tests fail logins
    on purpose."""
    with _client_ip_lock:
        _next_client_ip[0] += 1
        n = _next_client_ip[0]
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{(n & 255) or 1}" if n < 2 ** 24 else "127.0.0.1"


class IMAP4(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(client_ip(), 0))


class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(client_ip(), 0))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_ipv6_loopback(port):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", port))
        return True
    except OSError:
        return False


def run(args, input=None, check=True):
    """Runs a command; with check, a failure raises with what it wrote to stderr."""
    r = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


def cpu_ticks(match):
    """User+system CPU ticks of every process whose command line contains `match`
    (benches use it to say who spent the CPU)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if match not in f.read().decode(errors="replace"):
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total


class Stack:
    def __init__(self, extra_conf="", auth_conf="", auth_blocks=None, db_from=None, auth_cache_size="1M",
                 quota=False, lastlogin=False, dict_service="dict-async", secure_sockets=False, sasl_listener=False,
                 directory=None, listen="127.0.0.1", ports=None, host=None, name=None):
        """quota: Dovecot's quota plugin with roster's dict holding the counters
        and the limits from roster's userdb: True for what each version does
        best (2.3: the dict backend; 2.4: count + quota_clone), "clone" for
        count + quota_clone on both; lastlogin: the roster_lastlogin plugin; dict_service:
        the dict service they use (dict-async or the blocking dict);
        secure_sockets: the socket modes doc/dovecot.md recommends;
        sasl_listener: an auth-client listener on a loopback TCP port
        (sasl_port), where an MTA authenticates its SMTP clients through
        roster's passdb (Postfix: smtpd_sasl_type = dovecot, smtpd_sasl_path =
        the stack's sasl_path). extra_conf is appended as it is (for what both
        versions spell the same).

        For an installation of several hosts (tests/scale/): directory: where
        the stack lives (default: a new temporary directory); listen: the
        address its listeners bind; ports: {"imap": N, "pop3": N, "lmtp": N}
        instead of free loopback ports; host: a tests/scale/netns.py host that
        Dovecot runs in (its cmd() wraps a command, its connect() reaches a
        port there); name: part of the instance name (several Dovecots on
        the same ports)."""
        self.dir = directory or tempfile.mkdtemp(prefix="roster-dovecot-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.listen = listen
        self.host = host
        self.name = name
        self.quota = quota
        self.lastlogin = lastlogin
        self.dict_service = dict_service
        self.secure_sockets = secure_sockets
        self.extra_conf = extra_conf
        self.auth_conf = auth_conf
        self.auth_blocks = auth_blocks  # passdb/userdb config instead of roster's
        self.auth_cache_size = auth_cache_size
        self.owns_db = db_from is None  # a second Dovecot may share another stack's MariaDB
        if db_from is not None:
            self.socket, self.conf = db_from.socket, db_from.conf
            self.dict_conf = getattr(db_from, "dict_conf", "")
        self.dovecot = None
        ports = ports or {}
        self.imap_port = ports.get("imap") or free_port()
        self.pop3_port = ports.get("pop3") or free_port()
        self.lmtp_port = ports.get("lmtp") or free_port()
        self.sasl_port = free_port() if sasl_listener else None
        self.ipv6 = listen == "127.0.0.1" and host is None and have_ipv6_loopback(self.pop3_port)

    @property
    def sasl_path(self):
        """Postfix's smtpd_sasl_path for the auth-client listener (sasl_listener=True)."""
        return f"inet:{self.listen}:{self.sasl_port}"

    # --- MariaDB and roster ---
    def start_db(self, sockets=None, timeout="3s"):
        """A private MariaDB (or, with `sockets`, the servers already running
        there: db_hosts names them all, the first is the one sql() uses, and
        the stack does not own them), roster.conf, the secrets and the dict's
        file, then `rosterctl db init`. timeout: db_read_timeout and
        db_write_timeout."""
        if sockets:
            self.owns_db = False
            self.socket = sockets[0]
        else:
            self.socket = run(["bash", MARIADB_PRIVATE, "start", os.path.join(self.dir, "mariadb")]).stdout.strip()
        self.conf = os.path.join(self.dir, "roster.conf")
        mail = os.path.join(self.dir, "mail")
        os.makedirs(mail)
        shutil.chown(mail, "mail", "mail")
        with open(self.conf, "w") as f:
            f.write(f"db_hosts = {', '.join(sockets or [self.socket])}\ndb_connect_timeout = 2s\n"
                    f"db_read_timeout = {timeout}\ndb_write_timeout = {timeout}\nauth_uid = mail\nauth_gid = mail\n"
                    f"auth_home = {mail}/%d/%n\ndovecot_auth_master = {self.dir}/run/auth-master\n"
                    f"{self.test_defaults()}{self.auth_conf}"
                    f"!include_try secrets.conf\n")
        secrets = os.path.join(self.dir, "secrets.conf")
        with open(secrets, "w") as f:
            for role in ("auth", "dict", "policy", "admin", "api"):
                f.write(f"{role}_db_password = {self.db_password(role)}\n")
        os.chmod(secrets, 0o600)
        # The dict server runs as Dovecot's internal user, which cannot read
        # root's secrets: it gets a file of its own (doc/dovecot.md).
        self.dict_conf = os.path.join(self.dir, "dict.conf")
        with open(self.dict_conf, "w") as f:
            f.write(f"!include roster.conf\ndict_db_password = {self.db_password('dict')}\n")
        os.chmod(self.dict_conf, 0o600)
        shutil.chown(self.dict_conf, DICT_USER)
        self.rosterctl("db", "init")

    def conf_with(self, name, settings):
        """A config file that is this stack's roster.conf plus `settings` (keys it does not set)."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(f"!include {self.conf}\n{settings}")
        return path

    @staticmethod
    def db_password(role):
        return f"test-{role}-{os.getpid()}"

    def test_defaults(self):
        """Cheap argon2 for new hashes in tests, unless the caller sets its own."""
        if "password_argon2" in self.auth_conf:
            return ""
        return "password_argon2_memory = 8M\npassword_argon2_ops = 1\n"

    def rosterctl(self, *args, input=None, check=True):
        return run([ROSTERCTL, "--config", self.conf, *args], input=input, check=check)

    def sql(self, statement):
        return run(["mariadb", "-uroot", "-S", self.socket, "--batch", "--skip-column-names", "roster",
                    "-e", statement]).stdout

    def stop_db(self):
        run(["bash", MARIADB_PRIVATE, "stop", os.path.join(self.dir, "mariadb")])

    def restart_db(self):
        run(["bash", MARIADB_PRIVATE, "start", os.path.join(self.dir, "mariadb")])

    # --- Dovecot ---
    def instance_name(self):
        """Dovecot prefixes its processes' titles with it."""
        return f"roster-test-{os.getpid()}-{self.name or self.imap_port}"

    def start_dovecot(self):
        modules = os.path.join(self.dir, "modules")
        shutil.copytree(SYSTEM_MODULES, modules, symlinks=True)
        shutil.copy(AUTH_MODULE, os.path.join(modules, "auth", "libauthdb_roster.so"))
        os.makedirs(os.path.join(modules, "dict"), exist_ok=True)
        shutil.copy(DICT_MODULE, os.path.join(modules, "dict", "libdict_roster.so"))
        shutil.copy(LASTLOGIN_PLUGIN, os.path.join(modules, "lib90_roster_lastlogin_plugin.so"))
        if DOVECOT_24:
            os.makedirs(os.path.join(modules, "settings"), exist_ok=True)
            shutil.copy(SETTINGS_MODULE, os.path.join(modules, "settings", "lib10_roster_settings.so"))
        self.modules = modules
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self.dovecot_conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.dovecot_conf, "w") as f:
            f.write(self.render_conf())
        command = ["unshare", "-m", "sh", "-c",
                   f"mount --bind {modules} {SYSTEM_MODULES} && exec dovecot -F -c {self.dovecot_conf}"]
        self.dovecot = subprocess.Popen(
            self.host.cmd(command) if self.host else command,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "dovecot.stderr"), "w"),
            start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                self.connect(self.imap_port, timeout=1).close()
                break
            except OSError:
                if self.dovecot.poll() is not None:
                    raise RuntimeError("dovecot did not start:\n" + self.log())
                time.sleep(0.1)
        # The auth process loads our module only now: fail fast if it cannot.
        try:
            self.doveadm("auth", "test", "probe@invalid.test", "x", check=False, timeout=20)
        except subprocess.TimeoutExpired:
            pass
        if "Fatal:" in self.log():
            raise RuntimeError("dovecot failed:\n" + self.log()[-3000:])

    def connect(self, port, timeout=30):
        """A TCP connection to one of this Dovecot's listeners (from its own host)."""
        if self.host:
            return self.host.connect(self.listen, port, timeout)
        return socket.create_connection((self.listen, port), timeout)

    def doveconf(self, conf_text):
        """Runs `doveconf -n` on a configuration, with this stack's modules (the
        settings module among them) in place: (exit code, output)."""
        path = os.path.join(self.dir, f"doveconf-{time.time_ns()}.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        return self.with_modules(f"doveconf -n -c {path}")

    def with_modules(self, command):
        """Runs a shell command with this stack's modules in place: (exit code, output)."""
        r = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount --bind {self.modules} {SYSTEM_MODULES} && exec {command}"],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    # --- the configuration, in the installed version's syntax ---
    def auth_conf_blocks(self):
        if self.auth_blocks:
            return self.auth_blocks
        if DOVECOT_24:
            return (f"passdb roster {{\n  driver = roster\n  roster_config_file = {self.conf}\n}}\n"
                    f"userdb roster {{\n  driver = roster\n  roster_config_file = {self.conf}\n}}\n")
        return (f"passdb {{\n  driver = roster\n  args = {self.conf}\n}}\n"
                f"userdb {{\n  driver = roster\n  args = {self.conf}\n}}\n")

    def dict_proxy(self, indent="  "):
        """A 2.4 client's dict: roster's dict through the proxy."""
        return (f"{indent}dict proxy {{\n{indent}  name = quota\n{indent}  socket_path = {self.dict_service}\n"
                f"{indent}}}\n")

    def feature_conf(self):
        out = ""
        if DOVECOT_24:
            plugins = (["quota", "quota_clone"] if self.quota else []) + (["roster_lastlogin"] if self.lastlogin else [])
            if plugins:
                out += "mail_plugins {\n" + "".join(f"  {p} = yes\n" for p in plugins) + "}\n"
            if self.quota:
                # No dict backend in 2.4: Dovecot counts, the limits come from the
                # userdb (quota_storage_size, quota_message_count), and quota_clone
                # copies the counters into roster's dict. 2.4's default grace is
                # 10 MiB (2.3: 10 %): none here, so a limit means that limit.
                out += ("protocol imap {\n  mail_plugins {\n    imap_quota = yes\n  }\n}\n"
                        "quota_full_tempfail = yes\n"
                        "quota \"User quota\" {\n  driver = count\n}\n"
                        "quota_storage_grace = 0\n"
                        "quota_clone {\n" + self.dict_proxy() + "}\n")
            if self.lastlogin:
                out += "roster_lastlogin {\n" + self.dict_proxy() + "}\n"
        else:
            clone = self.quota == "clone"
            plugins = (["quota"] if self.quota else []) + (["quota_clone"] if clone else []) + \
                (["roster_lastlogin"] if self.lastlogin else [])
            if plugins:
                out += "mail_plugins = $mail_plugins " + " ".join(plugins) + "\n"
            if self.quota:
                out += ("protocol imap {\n  mail_plugins = $mail_plugins imap_quota\n}\n"
                        "# A delivery over quota is a temporary failure (452), never a bounce.\n"
                        "quota_full_tempfail = yes\n")
            proxy = "proxy::quota" if self.dict_service == "dict" else f"proxy:{self.dict_service}:quota"
            if clone:
                lines = ["  quota = count:User quota\n", "  quota_vsizes = yes\n", f"  quota_clone_dict = {proxy}\n"]
            else:
                lines = [f"  quota = dict:User quota::{proxy}\n"] if self.quota else []
            lines += [f"  roster_lastlogin_dict = {proxy}\n"] if self.lastlogin else []
            if lines:
                out += "plugin {\n" + "".join(lines) + "}\n"
        if self.secure_sockets:
            # The socket modes doc/dovecot.md recommends: only the mail processes'
            # user (auth_uid) reaches the dict, only root (and Dovecot's own
            # processes before they drop root) the userdb.
            out += (f"service {self.dict_service} {{\n  unix_listener {self.dict_service} {{\n    mode = 0660\n"
                    "    user = mail\n  }\n}\nservice auth {\n  unix_listener auth-userdb {\n    mode = 0600\n  }\n}\n")
        return out

    def render_conf(self):
        if DOVECOT_24:
            head = f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = {self.instance_name()}
log_path = {self.dir}/dovecot.log
listen = {self.listen}
ssl = no
auth_allow_cleartext = yes
# The legacy hashes of the tests (MD5-CRYPT) come back from the auth cache,
# where Dovecot verifies them itself: 2.4 refuses weak schemes unless told.
auth_allow_weak_schemes = yes
protocols = imap pop3 lmtp
auth_mechanisms = plain login
# roster's address normaliser bounds and checks user names itself, so every
# character of an address (o'brien%x@...) may reach it; no tarpit in tests.
auth_username_chars =
auth_failure_delay = 0
auth_cache_size = {self.auth_cache_size}
first_valid_uid = 8
mail_driver = maildir
mail_path = ~/Maildir
"""
            dict_server = f"""# roster's dict, for the quota and last-login tests (used only when configured).
dict_server {{
  dict quota {{
    driver = roster
    roster_config_file = {getattr(self, "dict_conf", "") or self.conf}
  }}
}}
"""
        else:
            head = f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = {self.instance_name()}
log_path = {self.dir}/dovecot.log
listen = {self.listen}
ssl = no
disable_plaintext_auth = no
protocols = imap pop3 lmtp
auth_mechanisms = plain login
# roster's address normaliser bounds and checks user names itself, so every
# character of an address (o'brien%x@...) may reach it; no tarpit in tests.
auth_username_chars =
auth_failure_delay = 0
auth_cache_size = {self.auth_cache_size}
first_valid_uid = 8
mail_location = maildir:~/Maildir
"""
            dict_server = f"""# roster's dict, for the quota and last-login tests (used only when configured).
dict {{
  quota = roster:{getattr(self, "dict_conf", "")}
}}
"""
        listen = "listen" if DOVECOT_24 else "address"  # a listener's address
        sasl = ""
        if self.sasl_port:
            # Dovecot's SASL server for an MTA. 2.3 tells an inet listener's
            # protocol by its name (one not ending in -login, -master, -userdb,
            # -token or -tokenlogin serves clients), 2.4 by its type.
            sasl = (f"  inet_listener sasl {{\n    {listen} = {self.listen}\n    port = {self.sasl_port}\n"
                    + ("    type = auth\n" if DOVECOT_24 else "") + "  }\n")
        return head + self.auth_conf_blocks() + f"""
service imap-login {{
  inet_listener imap {{
    {listen} = {self.listen}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    {listen} = {self.listen}{", ::1" if self.ipv6 else ""}
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    {listen} = {self.listen}
    port = {self.lmtp_port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
{sasl}}}
{dict_server}service dict {{
  unix_listener dict {{
    mode = 0666
  }}
}}
service dict-async {{
  unix_listener dict-async {{
    mode = 0666
  }}
}}
{self.feature_conf()}{self.extra_conf}
"""

    def doveadm(self, *args, check=True, timeout=None):
        """doveadm in Dovecot's mount namespace, so it loads the same modules (mail plugins).
        -r -w keep Dovecot's root and working directory: entering a mount namespace
        otherwise resets both to the namespace's root, which inside a chroot or
        container is the host's (doveadm would then not find its config)."""
        enter = ["nsenter", "-t", str(self.dovecot.pid), "-m", "-r", "-w", *(["-n"] if self.host else [])] if self.dovecot and self.dovecot.poll() is None else []
        return subprocess.run([*enter, "doveadm", "-c", self.dovecot_conf, *args], capture_output=True, text=True,
                              check=check, timeout=timeout)

    def dict_cmd(self, command, user, dict_service, *args):
        """doveadm dict COMMAND on roster's dict through the proxy of `dict_service`
        (dict or dict-async). 2.3 names the dict by URI; 2.4 by a config filter
        holding a dict: quota_clone's (the stack's own dict service, so on 2.4
        both names reach the same service)."""
        if DOVECOT_24:
            target = "quota_clone"
        else:
            target = "proxy::quota" if dict_service == "dict" else f"proxy:{dict_service}:quota"
        return self.doveadm("dict", command, "-u", user, target, *args, check=False)

    def log(self):
        out = ""
        for name in ("dovecot.stderr", "dovecot.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out += f.read()
        return out

    def stop(self):
        if self.dovecot is not None and self.dovecot.poll() is None:
            try:
                os.killpg(self.dovecot.pid, 15)
                self.dovecot.wait(timeout=20)
            except Exception:
                os.killpg(self.dovecot.pid, 9)
        if self.owns_db:
            self.stop_db()
        if not os.environ.get("ROSTER_KEEP_TEST_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)


class TimedResult(unittest.TextTestResult):
    """Prints each test's duration, to keep the suites fast (not asserted)."""
    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.stream.write(f"    ({time.monotonic() - self._started:.1f}s)\n")


def run_tests(module):
    """Runs a test script's tests and ends with the line "N passed, N failed"
    (tools/count-results sums those); exit 77 (skipped) when all were skipped."""
    import sys
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, resultclass=TimedResult)
    result = runner.run(unittest.defaultTestLoader.loadTestsFromModule(module))
    failed = len(result.failures) + len(result.errors)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    if result.skipped and result.testsRun == len(result.skipped):
        print("SKIP: " + result.skipped[0][1])
        sys.exit(77)
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 else 1)
