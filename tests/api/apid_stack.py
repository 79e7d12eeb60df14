"""apid_stack: roster-apid on a private MariaDB (tests/dovecot/dovecot_stack.py,
database only), for tests and benchmarks. The daemon runs as it would in
production: started as root, it binds its unix socket (or a loopback port),
then drops to `nobody`, so its config is readable by nobody and its secret is
a file only nobody can read. Clients speak HTTP with http.client over the unix
socket (or TCP, or TLS); the test process (root) is a trusted proxy, so a test
chooses the client address the daemon sees with X-Forwarded-For."""
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "policy"))
import policyd_stack  # noqa: E402
from policyd_stack import dovecot_stack  # noqa: E402

APID = os.environ.get("ROSTER_APID") or os.path.join(dovecot_stack.BUILDDIR, "api", "roster-apid")
USER = policyd_stack.USER


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def error(self):
        return (self.json or {}).get("error") or {}

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Apid(policyd_stack.Daemon):
    """roster-apid on a stack's database; `settings` are extra config lines."""
    count = 0

    def __init__(self, stack, settings="", tcp=False, tls=None, argon2=("8M", 1)):
        self.argon2 = argon2  # (memory, passes) for new hashes: cheap for tests, the defaults for a bench
        self.stack = stack
        Apid.count += 1
        self.dir = os.path.join(stack.dir, f"apid{Apid.count}")
        self.own_dir(self.dir)
        self.socket_path = os.path.join(self.dir, "api")
        self.port = dovecot_stack.free_port() if tcp or tls else None
        self.tls = tls  # (cert, key) paths
        self.conf = os.path.join(self.dir, "roster-apid.conf")
        self.secret = os.path.join(self.dir, "secret.conf")
        self.stderr_path = os.path.join(self.dir, "stderr")
        self.proc = None
        self.write_conf(settings)

    def write_conf(self, settings):
        self.write_secret("api")
        listen = f"127.0.0.1:{self.port}" if self.port else f"unix:{self.socket_path}"
        tls = f"api_tls_cert = {self.tls[0]}\napi_tls_key = {self.tls[1]}\n" if self.tls else ""
        with open(self.conf, "w") as f:
            f.write(f"db_hosts = {self.stack.socket}\ndb_connect_timeout = 2s\ndb_read_timeout = 3s\n"
                    f"db_write_timeout = 3s\npassword_argon2_memory = {self.argon2[0]}\npassword_argon2_ops = {self.argon2[1]}\n"
                    f"dovecot_auth_master =\napi_listen = {listen}\napi_user = {USER}\napi_log = stderr\n"
                    f"api_trusted_proxies = uid:0 127.0.0.1\n{tls}{settings}\n!include {self.secret}\n")
        os.chmod(self.conf, 0o644)

    def start(self):
        self.stderr = open(self.stderr_path, "a")
        self.proc = subprocess.Popen([APID, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("roster-apid exited:\n" + self.log())
            if "started on" in self.log():
                return self
            time.sleep(0.05)
        raise RuntimeError("roster-apid did not start:\n" + self.log())

    # --- clients ---
    def connection(self, timeout=30):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            ctx.check_hostname = False
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        if self.port:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return UnixHTTPConnection(self.socket_path, timeout)

    def request(self, method, path, body=None, token=None, client="192.0.2.1", headers=None, raw=None,
                content_type="application/json", conn=None):
        """One request; body is JSON-encoded (raw: bytes as they are)."""
        h = {}
        if client:
            h["X-Forwarded-For"] = client
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        h.update(headers or {})
        own = conn is None
        conn = conn or self.connection()
        try:
            try:
                conn.request(method, path, body=data, headers=h)
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered (and closed) before the body was sent: the answer is there to read
            r = conn.getresponse()
            return Answer(r.status, r.getheaders(), r.read().decode(errors="replace"))
        finally:
            if own:
                conn.close()

    def sign_in(self, password, name=None, address=None, totp=None, client="192.0.2.1"):
        body = {"password": password}
        if name is not None:
            body["name"] = name
        if address is not None:
            body["address"] = address
        if totp is not None:
            body["totp"] = totp
        r = self.request("POST", "/v1/session", body, client=client)
        if r.status != 201:
            raise AssertionError(f"sign-in of {name or address} refused: {r}")
        return r.json["token"]


def self_signed(directory):
    """A self-signed certificate for 127.0.0.1 and its key (openssl CLI)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    dovecot_stack.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                       "-keyout", key, "-out", cert])
    for p in (cert, key):
        shutil.chown(p, USER)
        os.chmod(p, 0o600 if p == key else 0o644)
    return cert, key
