"""postfix_stack: a private Postfix (3.7 on Debian 12, 3.10 on Debian 13) and a private roster-policyd, for the
tests of roster-policyd with a real MTA (tests/postfix/policyd.test).

Postfix runs from a configuration directory of its own under a temporary
directory (a copy of the system's master.cf, with the smtpd listener moved to
a free port on 127.0.0.1 and no service chrooted, and a main.cf written here),
with its own queue_directory, data_directory and log file. It listens on
127.0.0.1 only, relays nothing but what the policy server allows, delivers
local mail over LMTP to a port given by the caller (the Dovecot of
tests/dovecot/dovecot_stack.py) and every other mail to the discard: transport,
so no test mail leaves the machine. Of /etc/postfix it only reads master.cf
(and what every Postfix command reads: dynamicmaps.cf, postfix-files); the
system's own Postfix, queue and configuration are never changed.

With a Submission, the same Postfix also runs a submission smtpd on a second
loopback port: SMTP AUTH through the test Dovecot's auth (smtpd_sasl_type =
dovecot over its TCP auth-client listener, so through roster's passdb), only
authenticated clients may send, and the envelope sender must belong to the
login (smtpd_sender_login_maps = roster-policyd's sender_logins table). Tests
of what a logged-in client may do (sender ownership, app passwords, outbound
limits) build on it.

roster-policyd runs in the foreground from the build directory with a config
file written here; it binds its unix sockets as root and then drops to an
unprivileged user (policy_user), which must still be able to read its config
file and its secrets file on a SIGHUP.

Trusts: the Postfix and roster-policyd binaries, the machine's root account,
and the callers (they are tests). Needs root (Postfix's master and the
daemon's user switch)."""
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.path.abspath(os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILDDIR = os.path.abspath(os.environ.get("top_builddir", "."))
# ROSTER_POLICYD: another roster-policyd to test (an installed one, say).
POLICYD = os.environ.get("ROSTER_POLICYD") or os.path.join(BUILDDIR, "policy", "roster-policyd")
SYSTEM_MASTER_CF = "/etc/postfix/master.cf"
# The queue directories where a message can wait (maildrop: submitted by
# sendmail, not used here; hold: never used here, but a held message is not gone).
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
# The parts of the domain name space this Postfix treats as elsewhere: mail to
# them is accepted or refused like real relay mail, then dropped.
FOREIGN = ("remote.test", "other.test")

sys.path.insert(0, os.path.join(SRCDIR, "tests", "dovecot"))
from dovecot_stack import free_port  # noqa: E402


def sbin(program):
    """Postfix's commands live in /usr/sbin, which a test's PATH may lack."""
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin") or program


def missing_programs():
    """What this module needs that the machine lacks (a reason to skip), or ''."""
    for program in ("postfix", "postmap", "postconf"):
        if shutil.which(sbin(program)) is None:
            return program + " not installed (Debian package postfix)"
    if not os.path.exists(SYSTEM_MASTER_CF):
        return SYSTEM_MASTER_CF + " missing"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no user postfix"
    if not os.path.exists(POLICYD):
        return POLICYD + " not built"
    return ""


def wait_until(predicate, timeout=20.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class SMTP(smtplib.SMTP):
    """An SMTP client whose connections come from a chosen loopback address, so
    that the private Postfix (mynetworks = 127.0.0.1/32) treats it as a
    stranger."""
    def __init__(self, port, source, timeout=60):
        super().__init__("127.0.0.1", port, timeout=timeout, source_address=(source, 0))


# ---------------------------------------------------------------- Postfix

class Submission:
    """What the submission service of a private Postfix does (doc/postfix.md,
    "Sender ownership"). sasl_path: Dovecot's auth-client listener in
    Postfix's syntax (dovecot_stack.Stack(sasl_listener=True).sasl_path).
    sender_login_maps: the Postfix table of the logins that may use a sender
    (None: the Postfix's own roster-policyd sender_logins table);
    client_restrictions: smtpd_client_restrictions (by default only an
    authenticated client gets past RCPT);
    sender_restrictions: smtpd_sender_restrictions (the mismatch check);
    recipient_restrictions: more restrictions after permit_sasl_authenticated
    has let the client relay (a policy service, say); data_restrictions:
    smtpd_data_restrictions of this service only (the outbound check, as
    doc/postfix.md gives it), None: main.cf's. Each may be changed and
    applied with Postfix.reconfigure()."""

    def __init__(self, sasl_path, sender_login_maps=None, client_restrictions="permit_sasl_authenticated, reject",
                 sender_restrictions="reject_authenticated_sender_login_mismatch", recipient_restrictions="",
                 data_restrictions=None):
        self.sasl_path = sasl_path
        self.client_restrictions = client_restrictions
        self.sender_login_maps = sender_login_maps
        self.sender_restrictions = sender_restrictions
        self.recipient_restrictions = recipient_restrictions
        self.data_restrictions = data_restrictions
        self.port = free_port()

    def main_cf(self, postfix):
        """main.cf parameters that the submission service's -o options name
        (main.cf holds the lists, master.cf only names them, as Debian's
        master.cf example does with $mua_*)."""
        maps = self.sender_login_maps or postfix.table("sender_logins")
        return f"""# The submission service (tests/postfix/postfix_stack.py, Submission).
roster_submission_sasl_path = {self.sasl_path}
roster_submission_sender_login_maps = {maps}
roster_submission_client_restrictions = {self.client_restrictions}
roster_submission_sender_restrictions = {self.sender_restrictions}
roster_submission_relay_restrictions = permit_sasl_authenticated, reject
roster_submission_recipient_restrictions = {self.recipient_restrictions}
""" + ("" if self.data_restrictions is None else
       f"roster_submission_data_restrictions = {self.data_restrictions}\n")

    def master_cf(self):
        options = {
            "syslog_name": "postfix-roster-test/submission",
            "smtpd_tls_security_level": "none",
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "$roster_submission_sasl_path",
            "smtpd_sender_login_maps": "$roster_submission_sender_login_maps",
            "smtpd_client_restrictions": "$roster_submission_client_restrictions",
            "smtpd_helo_restrictions": "",
            "smtpd_sender_restrictions": "$roster_submission_sender_restrictions",
            "smtpd_relay_restrictions": "$roster_submission_relay_restrictions",
            "smtpd_recipient_restrictions": "$roster_submission_recipient_restrictions",
            "smtpd_end_of_data_restrictions": "",
        }
        if self.data_restrictions is not None:
            options["smtpd_data_restrictions"] = "$roster_submission_data_restrictions"
        return (f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
                + "".join(f"  -o {k}={v}\n" for k, v in options.items()))


class Postfix:
    """A private Postfix. `policy` is the policy service (unix:/path or
    inet:127.0.0.1:port), `socketmap` the socketmap server's endpoint in
    Postfix's syntax (unix:/path or inet:127.0.0.1:port); both are
    roster-policyd's. `lmtp_port`: where local mailboxes are delivered.
    `submission`: a Submission, for a submission service on a port of its own.

    For an installation of several hosts (tests/scale/): `address` is where
    smtpd listens and `smtp_port` its port (default: a free loopback port),
    `lmtp_host` the LMTP server's address, `hostname` myhostname (each
    Postfix of an installation needs its own, or one that relays to another
    sees its own name and refuses the loop), `mynetworks` the trusted
    clients, and `host` a tests/scale/netns.py host the Postfix runs in."""

    def __init__(self, lmtp_port, policy, socketmap, extra_main="", directory=None, submission=None,
                 address="127.0.0.1", smtp_port=None, lmtp_host="127.0.0.1", hostname="mx.test",
                 mynetworks="127.0.0.1/32", host=None):
        self.dir = directory or tempfile.mkdtemp(prefix="roster-postfix-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.lmtp_port = lmtp_port
        self.policy = policy
        self.socketmap = socketmap
        self.extra_main = extra_main
        self.submission = submission
        self.address = address
        self.lmtp_host = lmtp_host
        self.hostname = hostname
        self.mynetworks = mynetworks
        self.host = host
        self.smtp_port = smtp_port or free_port()
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.logdir = os.path.join(self.dir, "log")
        self.maillog = os.path.join(self.logdir, "maillog")
        self.started = False

    def table(self, name):
        """The Postfix table name of one of roster-policyd's socketmap tables."""
        return f"socketmap:{self.socketmap}:{name}"

    def policy_service(self, context):
        return f"check_policy_service {{ {self.policy}, policy_context={context} }}"

    def main_cf(self):
        discard = ", ".join(f"{d}=discard:" for d in FOREIGN + ("bcc-in.roster.invalid", "bcc-out.roster.invalid"))
        return f"""# main.cf of a private test Postfix (tests/postfix/postfix_stack.py)
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
maillog_file = {self.maillog}
maillog_file_prefixes = {self.logdir}
syslog_name = postfix-roster-test
myhostname = {self.hostname}
mydomain = test
myorigin = {self.hostname}
mydestination =
inet_interfaces = {self.address}
inet_protocols = ipv4
mynetworks = {self.mynetworks}
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
biff = no
smtpd_banner = $myhostname ESMTP roster-test
recipient_delimiter = +
# Local mailboxes: Dovecot's LMTP (the test Dovecot).
virtual_transport = lmtp:inet:{self.lmtp_host}:{self.lmtp_port}
# Everything else is dropped: no test mail leaves the machine.
default_transport = discard:foreign mail is dropped in tests
relay_transport = discard:foreign mail is dropped in tests
# roster-policyd's socketmap tables (policy/ answers what
# doc/postfix-mysql-maps/README.md describes).
virtual_mailbox_domains = {self.table("domains")}
virtual_mailbox_maps = {self.table("mailboxes")}
virtual_alias_maps = {self.table("aliases")}
recipient_bcc_maps = {self.table("recipient_bcc")}
sender_bcc_maps = {self.table("sender_bcc")}
transport_maps = {self.table("transport")}, inline:{{ {discard} }}
# The policy service: relaying after a POP/IMAP login, quota at RCPT and
# again at the end of a single-recipient message.
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
    {self.policy_service("relay")},
    reject_unauth_destination
smtpd_recipient_restrictions = {self.policy_service("quota")}
smtpd_end_of_data_restrictions = {self.policy_service("quota")}
# Retries of deferred mail come soon (a test waits for them).
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
{self.submission.main_cf(self) if self.submission else ""}{self.extra_main}"""

    def master_cf(self):
        """The system's master.cf, with the smtpd listener on our port, every
        other network listener (submission, say) left out, and no service
        chrooted (a chrooted service could not reach the sockets under our
        temporary directory)."""
        out = []
        dropped = False  # in a left-out service's continuation lines
        with open(SYSTEM_MASTER_CF) as f:
            for line in f:
                fields = line.split()
                if line[:1].isspace() and fields and not fields[0].startswith("#"):
                    out.append("#" + line if dropped else line)
                    continue
                if line.startswith("#") or len(fields) < 8:
                    out.append(line)
                    continue
                dropped = fields[1] == "inet" and fields[0] != "smtp"
                if dropped:
                    out.append("#" + line)
                    continue
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"{self.address}:{self.smtp_port}"
                fields[4] = "n"
                out.append(" ".join(fields[:8]) + (" " + " ".join(fields[8:]) if fields[8:] else "") + "\n")
        if self.submission:
            out.append(self.submission.master_cf())
        return "".join(out)

    def write_config(self):
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self.master_cf())

    def reconfigure(self):
        """Writes the configuration again (after a change to self.submission, say) and reloads,
        returning once the master has read it. smtpd processes started before
        may still answer a client or two while they finish: a test waits for the
        new behaviour rather than assuming it."""
        reloads = self.log().count("reload -- version")
        self.write_config()
        self.postfix("reload")
        if not wait_until(lambda: self.log().count("reload -- version") > reloads, 30):
            raise RuntimeError("postfix did not reload:\n" + self.log()[-3000:])

    def use_policy(self, policy):
        """Points the policy checks at another policy service (the tables stay)."""
        self.policy = policy
        self.write_config()
        self.postfix("reload")

    def postfix(self, *args, check=True):
        command = [sbin("postfix"), "-c", self.etc, *args]
        return subprocess.run(self.host.cmd(command) if self.host else command, capture_output=True, text=True,
                              check=check)

    def start(self):
        self.write_config()
        os.makedirs(self.queue, mode=0o755, exist_ok=True)
        os.makedirs(self.logdir, mode=0o755, exist_ok=True)
        os.makedirs(self.data, mode=0o700, exist_ok=True)
        shutil.chown(self.data, "postfix", "postfix")
        # `postfix check` (run by start) creates the queue's subdirectories.
        result = self.postfix("start", check=False)
        if result.returncode != 0:
            raise RuntimeError(f"postfix start failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                               f"{self.log()[-3000:]}")
        self.started = True
        ports = [self.smtp_port] + ([self.submission.port] if self.submission else [])
        for port in ports:
            if not wait_until(lambda: self.accepts_connections(port), 30):
                raise RuntimeError("postfix does not listen on port %d:\n%s" % (port, self.log()[-3000:]))

    def accepts_connections(self, port=None):
        try:
            if self.host:
                connection = self.host.connect(self.address, port or self.smtp_port, timeout=2)
            else:
                connection = socket.create_connection((self.address, port or self.smtp_port), timeout=2)
            with connection as s:
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.started:
            pid = self.master_pid()
            self.postfix("stop", check=False)
            if pid is not None and not wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 20):
                os.kill(pid, signal.SIGKILL)
            self.started = False
        if not os.environ.get("ROSTER_KEEP_TEST_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- clients ---
    def smtp(self, source="127.0.0.2"):
        return SMTP(self.smtp_port, source)

    def submit(self, source="127.0.0.2", login=None, password=None):
        """An SMTP client of the submission service, after EHLO and, when a
        login is given, AUTH (smtplib raises SMTPAuthenticationError on a refusal)."""
        client = SMTP(self.submission.port, source)
        client.ehlo("client.test")
        if login is not None:
            client.login(login, password)
        return client

    def postmap(self, key, name):
        """`postmap -q KEY` on one socketmap table, with our main.cf.
        Returns (exit status, stdout without its newline, stderr)."""
        try:
            result = subprocess.run([sbin("postmap"), "-c", self.etc, "-q", key, self.table(name)],
                                    capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            return None, "", "postmap: no answer in 30 s"
        return result.returncode, result.stdout.rstrip("\n"), result.stderr

    # --- the log and the queue ---
    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30):
        """Waits until the mail log has a line matching `pattern` (a regular
        expression); returns the match or None."""
        regex = re.compile(pattern, re.M)
        found = []

        def look():
            m = regex.search(self.log())
            if m:
                found.append(m)
            return bool(m)
        wait_until(look, timeout, 0.2)
        return found[0] if found else None

    def queued(self):
        """Paths of the messages in any of our queues."""
        out = []
        for q in QUEUES:
            for root, _, files in os.walk(os.path.join(self.queue, q)):
                out.extend(os.path.join(root, f) for f in files)
        return out

    def drop_queue(self):
        """Deletes every queued message (after a test let one in by mistake)."""
        subprocess.run([sbin("postsuper"), "-c", self.etc, "-d", "ALL"], capture_output=True)

    def wait_queue_empty(self, timeout=60):
        if not wait_until(lambda: not self.queued(), timeout, 0.2):
            raise AssertionError(f"queue not empty after {timeout}s: {self.queued()}\n{self.log()[-3000:]}")


# ---------------------------------------------------------------- roster-policyd

def policy_user():
    """The unprivileged user the daemon drops to: roster-policyd's own user if
    the machine has one, else nobody."""
    for name in ("roster-policyd", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("no user to run roster-policyd as")


class Policyd:
    """roster-policyd in the foreground, listening on unix sockets in
    `directory`. `db_hosts` and `db_password` reach the database as the
    roster_policy role; `settings` are more config lines; `host`: a
    tests/scale/netns.py host it runs in (its database connections leave from
    there; its unix sockets are reached from anywhere)."""

    def __init__(self, db_hosts, db_password, settings="", directory=None, program=POLICYD, user=None, host=None):
        self.dir = directory or tempfile.mkdtemp(prefix="roster-policyd-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.program = program
        self.host = host
        self.user = user or policy_user()
        self.db_hosts = db_hosts
        self.db_password = db_password
        self.policy_path = os.path.join(self.dir, "policy")
        self.socketmap_path = os.path.join(self.dir, "socketmap")
        self.conf = os.path.join(self.dir, "roster-policyd.conf")
        self.secrets = os.path.join(self.dir, "secrets.conf")
        self.stderr_path = os.path.join(self.dir, "policyd.log")
        self.process = None
        self.write_config(settings)

    # Postfix's names for the two endpoints.
    @property
    def policy(self):
        return "unix:" + self.policy_path

    @property
    def socketmap(self):
        return "unix:" + self.socketmap_path

    def write_config(self, settings=""):
        """(Re)writes the config file; the secrets go to a file of their own,
        private to the daemon's user (it reads it again on SIGHUP)."""
        with open(self.secrets, "w") as f:
            f.write(f"policy_db_password = {self.db_password}\n")
        os.chmod(self.secrets, 0o600)
        shutil.chown(self.secrets, self.user)
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(f"# roster-policyd.conf of a test (tests/postfix/postfix_stack.py)\n"
                    f"db_hosts = {self.db_hosts}\ndb_connect_timeout = 2s\ndb_read_timeout = 3s\n"
                    f"db_write_timeout = 3s\n"
                    f"policy_listen = unix:{self.policy_path}\nsocketmap_listen = unix:{self.socketmap_path}\n"
                    f"policy_log = stderr\npolicy_user = {self.user}\n{settings}\n"
                    f"!include {self.secrets}\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.conf)

    def check_config(self):
        """`roster-policyd -t`: (exit status, output)."""
        result = subprocess.run([self.program, "-c", self.conf, "-t"], capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def start(self):
        for path in (self.policy_path, self.socketmap_path):
            if os.path.exists(path):
                os.unlink(path)
        self.stderr = open(self.stderr_path, "a")
        command = [self.program, "-c", self.conf]
        self.process = subprocess.Popen(self.host.cmd(command) if self.host else command, stdin=subprocess.DEVNULL,
                                        stdout=self.stderr, stderr=self.stderr, start_new_session=True)
        if not wait_until(self.ready, 20) or not self.answers():
            self.stop()
            raise RuntimeError("roster-policyd did not start or does not answer:\n" + self.log()[-3000:])

    def answers(self, timeout=10):
        """Whether both listeners answer a request (a hung daemon fails fast)."""
        try:
            self.ask_socketmap("domains", "probe.invalid", timeout)
            self.ask_policy({"request": "smtpd_access_policy", "protocol_state": "CONNECT"}, timeout)
            return True
        except (OSError, AssertionError):
            return False

    def ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"roster-policyd exited ({self.process.returncode}):\n" + self.log()[-3000:])
        for path in (self.policy_path, self.socketmap_path):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(path)
            except OSError:
                return False
        return True

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def stop(self):
        """SIGTERM, and the exit status (None if it had to be killed)."""
        if self.process is None:
            return None
        status = self.process.poll()
        if status is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                status = None
        self.process = None
        self.stderr.close()
        return status

    def close(self):
        """Stops it and removes its directory."""
        self.stop()
        if not os.environ.get("ROSTER_KEEP_TEST_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- direct clients of the two protocols ---
    def ask_policy(self, attributes, timeout=10):
        """One policy request (a dict of attributes): the reply's action."""
        request = "".join(f"{k}={v}\n" for k, v in attributes.items()) + "\n"
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.policy_path)
            s.sendall(request.encode())
            reply = b""
            while not reply.endswith(b"\n\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        text = reply.decode()
        if not text.startswith("action=") or not text.endswith("\n\n"):
            raise AssertionError(f"bad policy reply {text!r} to {request!r}")
        return text[len("action="):-2]

    def ask_socketmap(self, name, key, timeout=10):
        """One socketmap request: the reply netstring's text."""
        query = f"{name} {key}".encode()
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.socketmap_path)
            s.sendall(b"%d:%s," % (len(query), query))
            reply = b""
            while True:
                head, colon, rest = reply.partition(b":")
                if colon and head.isdigit() and len(rest) >= int(head) + 1:
                    break
                chunk = s.recv(4096)
                if not chunk:
                    raise AssertionError(f"socketmap closed the connection after {reply!r}")
                reply += chunk
        head, _, rest = reply.partition(b":")
        length = int(head)
        if rest[length:length + 1] != b",":
            raise AssertionError(f"bad netstring {reply!r}")
        return rest[:length].decode()
