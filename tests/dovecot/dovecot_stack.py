"""dovecot_stack: a private MariaDB + Dovecot 2.3 with roster's freshly built
modules (auth driver, dict driver, last-login plugin), for tests and
benchmarks. Nothing touches the system's Dovecot: Dovecot runs with its own
base_dir and config under a temporary directory, in a private mount namespace
where a copy of Debian's module directory holding our modules is bind-mounted
over /usr/lib/dovecot/modules. IMAP, POP3 and LMTP listen on loopback ports
(POP3 on ::1 too, when the machine has it)."""
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
# Debian's user for Dovecot's internal services, the dict server among them.
DICT_USER = "dovecot"
SYSTEM_MODULES = "/usr/lib/dovecot/modules"


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
    return subprocess.run(args, input=input, capture_output=True, text=True, check=check)


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
    def __init__(self, extra_conf="", auth_conf="", auth_blocks=None, db_from=None, auth_cache_size="1M"):
        self.dir = tempfile.mkdtemp(prefix="roster-dovecot-")
        os.chmod(self.dir, 0o755)
        self.extra_conf = extra_conf
        self.auth_conf = auth_conf
        self.auth_blocks = auth_blocks  # passdb/userdb config instead of roster's
        self.auth_cache_size = auth_cache_size
        self.owns_db = db_from is None  # a second Dovecot may share another stack's MariaDB
        if db_from is not None:
            self.socket, self.conf = db_from.socket, db_from.conf
            self.dict_conf = getattr(db_from, "dict_conf", "")
        self.dovecot = None
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.lmtp_port = free_port()
        self.ipv6 = have_ipv6_loopback(self.pop3_port)

    # --- MariaDB and roster ---
    def start_db(self):
        self.socket = run(["bash", MARIADB_PRIVATE, "start", os.path.join(self.dir, "mariadb")]).stdout.strip()
        self.conf = os.path.join(self.dir, "roster.conf")
        mail = os.path.join(self.dir, "mail")
        os.makedirs(mail)
        shutil.chown(mail, "mail", "mail")
        with open(self.conf, "w") as f:
            f.write(f"db_hosts = {self.socket}\ndb_connect_timeout = 2s\ndb_read_timeout = 3s\n"
                    f"db_write_timeout = 3s\nauth_uid = mail\nauth_gid = mail\n"
                    f"auth_home = {mail}/%d/%n\ndovecot_auth_master = {self.dir}/run/auth-master\n"
                    f"{self.test_defaults()}{self.auth_conf}"
                    f"!include_try secrets.conf\n")
        secrets = os.path.join(self.dir, "secrets.conf")
        with open(secrets, "w") as f:
            for role in ("auth", "dict", "policy", "admin"):
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
        return f"roster-test-{os.getpid()}-{self.imap_port}"

    def start_dovecot(self):
        modules = os.path.join(self.dir, "modules")
        shutil.copytree(SYSTEM_MODULES, modules, symlinks=True)
        shutil.copy(AUTH_MODULE, os.path.join(modules, "auth", "libauthdb_roster.so"))
        os.makedirs(os.path.join(modules, "dict"), exist_ok=True)
        shutil.copy(DICT_MODULE, os.path.join(modules, "dict", "libdict_roster.so"))
        shutil.copy(LASTLOGIN_PLUGIN, os.path.join(modules, "lib90_roster_lastlogin_plugin.so"))
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d))
        self.dovecot_conf = os.path.join(self.dir, "dovecot.conf")
        auth_blocks = self.auth_blocks or (f"passdb {{\n  driver = roster\n  args = {self.conf}\n}}\n"
                                           f"userdb {{\n  driver = roster\n  args = {self.conf}\n}}\n")
        with open(self.dovecot_conf, "w") as f:
            f.write(f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = {self.instance_name()}
log_path = {self.dir}/dovecot.log
listen = 127.0.0.1
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
{auth_blocks}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1{", ::1" if self.ipv6 else ""}
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0666
  }}
}}
# roster's dict, for the quota and last-login tests (used only when configured).
dict {{
  quota = roster:{getattr(self, "dict_conf", "")}
}}
service dict {{
  unix_listener dict {{
    mode = 0666
  }}
}}
service dict-async {{
  unix_listener dict-async {{
    mode = 0666
  }}
}}
{self.extra_conf}
""")
        self.dovecot = subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             f"mount --bind {modules} {SYSTEM_MODULES} && exec dovecot -F -c {self.dovecot_conf}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "dovecot.stderr"), "w"),
            start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1):
                    break
            except OSError:
                if self.dovecot.poll() is not None:
                    raise RuntimeError("dovecot did not start:\n" + self.log())
                time.sleep(0.1)
        # The auth process loads our module only now: fail fast if it cannot.
        try:
            subprocess.run(["doveadm", "-c", self.dovecot_conf, "auth", "test", "probe@invalid.test", "x"],
                           capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            pass
        if "Fatal:" in self.log():
            raise RuntimeError("dovecot failed:\n" + self.log()[-3000:])

    def doveadm(self, *args, check=True):
        """doveadm in Dovecot's mount namespace, so it loads the same modules (mail plugins).
        -r -w keep Dovecot's root and working directory: entering a mount namespace
        otherwise resets both to the namespace's root, which inside a chroot or
        container is the host's (doveadm would then not find its config)."""
        enter = ["nsenter", "-t", str(self.dovecot.pid), "-m", "-r", "-w"] if self.dovecot and self.dovecot.poll() is None else []
        return run([*enter, "doveadm", "-c", self.dovecot_conf, *args], check=check)

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
