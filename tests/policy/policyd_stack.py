"""policyd_stack: a private MariaDB (tests/dovecot/dovecot_stack.py) with
roster's schema, and roster-policyd serving it on a unix socket and a
loopback TCP port each for the policy protocol and socketmap, for tests and
benchmarks. The daemon runs as it would in production: started as root, it
binds, then drops to `nobody`, so its config is readable by nobody and its
secret is a file only nobody can read."""
import contextlib
import grp
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import weakref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dovecot"))
import dovecot_stack  # noqa: E402

POLICYD = os.environ.get("ROSTER_POLICYD") or os.path.join(dovecot_stack.BUILDDIR, "policy", "roster-policyd")
USER = "nobody"


def policy_request(recipient, client="127.0.0.2", state="RCPT", size=0, **extra):
    attrs = {"request": "smtpd_access_policy", "protocol_state": state, "protocol_name": "ESMTP",
             "client_address": client, "client_name": "unknown", "helo_name": "client.test",
             "sender": "sender@remote.test", "recipient": recipient, "size": str(size), **extra}
    return "".join(f"{k}={v}\n" for k, v in attrs.items()) + "\n"


def netstring(payload):
    data = payload.encode() if isinstance(payload, str) else payload
    return str(len(data)).encode() + b":" + data + b","


class Daemon:
    """A daemon run by a test: its stderr log (stderr_path), signals, SIGTERM
    to stop (a kill after 20 s). roster-policyd's and roster-apid's stacks."""
    proc = None

    def own_dir(self, path):
        """Its own directory, as systemd's RuntimeDirectory= gives it (so it can
        remove its sockets after dropping root)."""
        os.makedirs(path)
        os.chmod(path, 0o755)
        shutil.chown(path, USER)
        return path

    def write_secret(self, role):
        """The role's database password in self.secret, a file only USER reads."""
        with open(self.secret, "w") as f:
            f.write(f"{role}_db_password = {dovecot_stack.Stack.db_password(role)}\n")
        os.chmod(self.secret, 0o600)
        shutil.chown(self.secret, USER)

    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def signal(self, signo):
        self.proc.send_signal(signo)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "stderr", None):
            self.stderr.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, text, count=1, timeout=10):
        """Whether `text` is in the log `count` times within `timeout` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.log().count(text) >= count:
                return True
            time.sleep(0.05)
        return False


class Policyd(Daemon):
    """roster-policyd on a stack's database; `settings` are extra config lines."""
    count = 0

    def __init__(self, stack, settings=""):
        self.stack = stack
        Policyd.count += 1
        self.dir = self.own_dir(os.path.join(stack.dir, f"policyd{Policyd.count}"))
        self.policy_socket = os.path.join(self.dir, "policy")
        self.socketmap_socket = os.path.join(self.dir, "socketmap")
        self.policy_port = dovecot_stack.free_port()
        self.socketmap_port = dovecot_stack.free_port()
        self.conf = os.path.join(self.dir, "roster-policyd.conf")
        self.secret = os.path.join(self.dir, "secret.conf")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.proc = None
        self.write_conf(settings)

    def write_conf(self, settings):
        self.write_secret("policy")
        with open(self.conf, "w") as f:
            f.write(f"db_hosts = {self.stack.socket}\ndb_connect_timeout = 2s\ndb_read_timeout = 3s\n"
                    f"policy_listen = unix:{self.policy_socket} inet:127.0.0.1:{self.policy_port}\n"
                    f"socketmap_listen = unix:{self.socketmap_socket} inet:127.0.0.1:{self.socketmap_port}\n"
                    f"policy_user = {USER}\npolicy_log = stderr\n{settings}\n!include {self.secret}\n")
        os.chmod(self.conf, 0o644)

    def start(self, nofile=None):
        """nofile: the daemon's open-file limit (RLIMIT_NOFILE), soft and hard."""
        self.stderr = open(self.stderr_path, "a")
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.proc = subprocess.Popen([POLICYD, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=self.stderr,
                                     preexec_fn=limit)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("roster-policyd exited:\n" + self.log())
            if os.path.exists(self.socketmap_socket) and "started" in self.log():
                return self
            time.sleep(0.05)
        raise RuntimeError("roster-policyd did not start:\n" + self.log())

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_ticks(self):
        """utime + stime of the daemon, in clock ticks (os.sysconf("SC_CLK_TCK") a second)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def uid(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[2])  # effective
        return -1

    # --- clients ---
    def connect_policy(self, tcp=False, timeout=10):
        if tcp:
            return socket.create_connection(("127.0.0.1", self.policy_port), timeout=timeout)
        return connect_unix(self.policy_socket, timeout)

    def connect_socketmap(self, tcp=False, timeout=10):
        if tcp:
            return socket.create_connection(("127.0.0.1", self.socketmap_port), timeout=timeout)
        return connect_unix(self.socketmap_socket, timeout)

    def ask(self, recipient, conn=None, **kw):
        """One policy request; returns the action."""
        own = conn is None
        conn = conn or self.connect_policy()
        try:
            conn.sendall(policy_request(recipient, **kw).encode())
            return read_reply(conn)
        finally:
            if own:
                conn.close()

    def lookup(self, table, key, conn=None):
        own = conn is None
        conn = conn or self.connect_socketmap()
        try:
            conn.sendall(netstring(f"{table} {key}"))
            return read_netstring(conn)
        finally:
            if own:
                conn.close()


# Bytes read past the reply a caller asked for, per connection (pipelining).
_pending = weakref.WeakKeyDictionary()


def connect_unix(path, timeout):
    """A unix socket connection with `timeout` on every operation. With a
    timeout, connect() fails at once with EAGAIN while the server's listen
    queue is full (a blocking client would wait): wait for room instead, up to
    `timeout`, as Postfix's clients do."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
        except BaseException:
            s.close()
            raise


def _read_until(conn, complete):
    data = _pending.pop(conn, b"")
    while True:
        n = complete(data)
        if n:
            if len(data) > n:
                _pending[conn] = data[n:]
            return data[:n]
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk


def read_reply(conn):
    def complete(data):
        end = data.find(b"\n\n")
        return end + 2 if end >= 0 else 0
    line = _read_until(conn, complete).decode().split("\n")[0]
    assert line.startswith("action="), line
    return line[len("action="):]


def read_netstring(conn):
    def complete(data):
        if b":" not in data:
            return 0
        length, _ = data.split(b":", 1)
        n = len(length) + 1 + int(length) + 1
        return n if len(data) >= n else 0
    data = _read_until(conn, complete)
    length, rest = data.split(b":", 1)
    assert rest.endswith(b","), data
    return rest[:-1].decode()


@contextlib.contextmanager
def acting_as(user, group):
    """Runs the block with the effective uid and gid of user and group (the
    test runs as root): sockets connected meanwhile carry that uid
    (SO_PEERCRED) and file permissions are checked against it."""
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


def have_user():
    try:
        pwd.getpwnam(USER)
        return True
    except KeyError:
        return False
