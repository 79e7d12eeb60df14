#!/usr/bin/env python3
"""anchors24-check: re-verifies on a real Dovecot 2.4 the anchors that
anchors24.py writes (not part of make check: a tool). It starts a private
MariaDB (tests/db/mariadb-private) with seed 003's `user` table and one private
Dovecot 2.4 (own base_dir, loopback ports, Debian's module directory minus
roster's modules bind-mounted over the system one, as dovecot_stack.py does)
running every anchor at once, then proves:
  1. passdb sql + userdb sql: logins with {PLAIN}, {SHA512-CRYPT} and
     {ARGON2ID} stored passwords over the auth-client protocol (as auth_bench
     speaks it) and over IMAP; a wrong password fails; the auth cache is off (a
     changed password counts at once); the userdb's limits are the quota's;
  2. quota_clone through the dict proxy into dict-sql: after LMTP deliveries
     the user row's bytes/messages equal Dovecot's count (polled, bounded);
  3. quota-status (count backend, limits from the sql userdb): success, nouser
     and overquota answers, at the byte and at the message limit;
  4. the post-login script runs on an IMAP login (lasttime/lastip set);
  5. the dict protocol: 2.4 refuses dict_bench's 2.3 hello (H3) and serves the
     same requests after a 4.0 hello (H4).
Runs where `dovecot` is 2.4; elsewhere give --chroot DIR (a Debian 13 tree, or
ANCHORS24_CHROOT): it re-runs itself there in a private mount namespace with
this source tree bind-mounted on DIR/mnt. Must run as root. Prints one line per
check and exits 1 if any failed. ANCHORS24_KEEP=1 keeps the directory."""
import base64
import imaplib
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import anchors24  # noqa: E402

MARIADB_PRIVATE = os.path.join(SRC, "tests", "db", "mariadb-private")
SYSTEM_MODULES = "/usr/lib/dovecot/modules"
DOMAIN = "anchor.test"
POLL_SECONDS = 30
NOUSER = "REJECT Unknown user"

# Seed 003's `user` table as the seed creates it (policy-bench.py's copy).
SEED_USER_TABLE = """CREATE TABLE mail.user ( `id` int(10) unsigned NOT NULL auto_increment,
  `active` varchar(1) default 'Y', `email` varchar(255) character set latin1 NOT NULL,
  `password` varchar(255) character set latin1 NOT NULL default '', `surname` varchar(255) NOT NULL default '',
  `name` varchar(255) NOT NULL default '', `patronym` varchar(255) NOT NULL default '',
  `lastip` varchar(32) default NULL, `lasttime` datetime default NULL, `bytes` bigint(20) default NULL,
  `messages` int(11) default NULL, `max_bytes` bigint(20) unsigned NOT NULL default '1073741824',
  `max_messages` int(10) unsigned NOT NULL default '1000', `ad_login` varchar(255) character set latin1 NOT NULL
  default '', `phones` varchar(255) NOT NULL default '', `position` varchar(255) NOT NULL default '',
  `department` varchar(255) NOT NULL default '', PRIMARY KEY (`id`), UNIQUE KEY `email` (`email`),
  UNIQUE KEY `fullname` (`surname`,`name`,`patronym`) ) ENGINE=InnoDB DEFAULT CHARSET=utf8"""

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def run(args, input=None, check_rc=True):
    done = subprocess.run(args, input=input, capture_output=True, text=True)
    if check_rc and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dovecot_is_24():
    try:
        return run(["dovecot", "--version"]).stdout.startswith("2.4")
    except (OSError, RuntimeError):
        return False


def reexec_in_chroot(root):
    """This script again, inside ROOT (a Debian 13 tree), as the 2.4 notes describe."""
    root = os.path.abspath(root)
    inner = (f"mount --bind {root} {root} && mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && "
             f"mount -t tmpfs tmpfs {root}/run && mount --bind {SRC} {root}/mnt && "
             f"exec chroot {root} python3 /mnt/tests/bench/anchors24-check.py")
    env = {k: v for k, v in os.environ.items() if k.startswith("ANCHORS24_")}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", inner], env)


class Anchors:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="anchors24-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.dovecot = None
        self.imap_port, self.lmtp_port, self.qs_port = free_port(), free_port(), free_port()

    def sql(self, statement, db="mail"):
        return run(["mariadb", "-uroot", "-S", self.socket, "--batch", "--skip-column-names", db,
                    "-e", statement]).stdout.strip()

    def start_db(self, users):
        self.socket = run(["bash", MARIADB_PRIVATE, "start", os.path.join(self.dir, "mariadb")]).stdout.strip()
        run(["mariadb", "-uroot", "-S", self.socket, "-e",
             f"CREATE DATABASE mail; {SEED_USER_TABLE}; CREATE USER anchor@localhost IDENTIFIED BY 'anchor-pw'; "
             "GRANT SELECT, INSERT, UPDATE ON mail.* TO anchor@localhost"])
        for email, stored in users:
            escaped = stored.replace("'", "''")
            self.sql(f"INSERT INTO user (email, password, surname) VALUES ('{email}', '{escaped}', '{email}')")

    def start_dovecot(self):
        mail = os.path.join(self.dir, "mail")
        os.makedirs(mail)
        shutil.chown(mail, "mail", "mail")
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d))
        # Seed 003's post-login script, reading the anchor's credentials from a
        # file only the mail user (whom script-login runs it as) can read.
        defaults = os.path.join(self.dir, "anchor-client.cnf")
        with open(defaults, "w") as f:
            f.write(f"[client]\nuser=anchor\npassword=anchor-pw\nsocket={self.socket}\n")
        os.chmod(defaults, 0o600)
        shutil.chown(defaults, "mail", "mail")
        script = os.path.join(self.dir, "postlogin.sh")
        with open(script, "w") as f:
            f.write(anchors24.POSTLOGIN_SCRIPT.format(defaults=defaults))
        os.chmod(script, 0o755)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(anchors24.base_conf(self.dir, f"anchors24-{os.getpid()}", self.imap_port, self.lmtp_port)
                    + anchors24.sql_auth(self.socket, mail)
                    + anchors24.count_quota()
                    + anchors24.quota_clone(self.socket)
                    # nouser told apart from success here (the benches answer DUNNO to both)
                    + anchors24.quota_status(self.qs_port, nouser=NOUSER)
                    + anchors24.postlogin(script))
        # Debian's modules without roster's: a module built for another ABI
        # must not be what decides whether the anchor starts.
        modules = os.path.join(self.dir, "modules")
        shutil.copytree(SYSTEM_MODULES, modules, symlinks=True,
                        ignore=lambda _d, names: [n for n in names if "roster" in n])
        self.dovecot = subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             f"mount --bind {modules} {SYSTEM_MODULES} && exec dovecot -F -c {self.conf}"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "dovecot.stderr"), "w"),
            start_new_session=True)
        deadline = time.time() + 30
        for port in (self.imap_port, self.lmtp_port, self.qs_port):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if self.dovecot.poll() is not None or time.time() > deadline:
                        raise RuntimeError("dovecot did not start:\n" + self.log())
                    time.sleep(0.1)

    def doveadm(self, *args, check_rc=True):
        """doveadm in Dovecot's mount namespace (the same modules); -r -w keep the chroot."""
        return run(["nsenter", "-t", str(self.dovecot.pid), "-m", "-r", "-w", "doveadm", "-c", self.conf, *args],
                   check_rc=check_rc)

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
            os.killpg(self.dovecot.pid, 15)
            try:
                self.dovecot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.dovecot.pid, 9)
        run(["bash", MARIADB_PRIVATE, "stop", os.path.join(self.dir, "mariadb")], check_rc=False)
        if os.environ.get("ANCHORS24_KEEP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def auth_client(path, user, password):
    """One PLAIN authentication over $base_dir/auth-client, in the words
    tests/bench/auth_bench uses (VERSION 1 2, service=imap, nologin).
    Returns the reply line (OK/FAIL ...)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(path)
        f = s.makefile("rb")
        s.sendall(f"VERSION\t1\t2\nCPID\t{os.getpid()}\n".encode())
        while f.readline().rstrip(b"\n") != b"DONE":
            pass
        resp = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        s.sendall(f"AUTH\t1\tPLAIN\tservice=imap\tnologin\tresp={resp}\n".encode())
        while True:
            line = f.readline().decode(errors="replace").rstrip("\n")
            if not line or line.startswith(("OK\t1", "FAIL\t1")):
                return line or "connection closed"


def imap_login(port, user, password):
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        imap.login(user, password)
        imap.select("INBOX")
        return "OK"
    except imaplib.IMAP4.error as e:
        return f"NO {e}"
    finally:
        try:
            imap.logout()
        except Exception:  # noqa: BLE001 - the answer is what counts
            pass


def message(size, n):
    body = ("y" * 62 + "\r\n") * (size // 64 + 1)
    return f"From: b@example.org\r\nTo: r@example.org\r\nSubject: {n}\r\n\r\n{body[:size]}\r\n"


def deliver(port, rcpt, count):
    failures = 0
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as conn:
        for n in range(count):
            failures += len(conn.sendmail("b@example.org", [rcpt], message(100 + 97 * n, n)))
    return failures


def policy(port, recipient):
    """One Postfix RCPT policy request (size=0, as policy_bench sends); returns the action."""
    request = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
               f"sender=bench-sender@example.net\nrecipient={recipient}\nclient_address=127.0.0.2\n"
               "client_name=unknown\nsize=0\n\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request.encode())
        f = s.makefile("rb")
        lines = []
        while True:
            line = f.readline()
            if not line or line == b"\n":
                break
            lines.append(line.decode(errors="replace").rstrip("\n"))
    return next((line[7:] for line in lines if line.startswith("action=")), f"no action in {lines}")


def quota_get(a, user):
    """doveadm quota get: {(type): (value, limit)} with STORAGE in KiB."""
    out = a.doveadm("-f", "tab", "quota", "get", "-u", user).stdout.splitlines()
    got = {}
    for line in out[1:]:
        fields = line.split("\t")
        if len(fields) >= 4:
            got[fields[1]] = (fields[2], fields[3])
    return got


def vsize_sum(a, user):
    out = a.doveadm("-f", "flow", "fetch", "-u", user, "size.virtual", "mailbox", "INBOX", "ALL").stdout
    return sum(int(line.split("=", 1)[1]) for line in out.split() if line.startswith("size.virtual="))


def dict_session(path, hello, requests):
    """Sends HELLO then each request to the dict server and reads each answer
    the way tests/bench/dict_bench does (an answer at once, or "*ID" then
    "+ID\\tANSWER"). Returns the answers, or the ones read before the server
    hung up followed by "closed"."""
    answers = []
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rb")
        s.sendall(hello.encode())
        for request in requests:
            try:
                s.sendall(request.encode())
                line = f.readline().decode(errors="replace").rstrip("\n")
                if line.startswith("*"):
                    tag = "+" + line[1:] + "\t"
                    while line and not line.startswith(tag):
                        line = f.readline().decode(errors="replace").rstrip("\n")
                    line = line[len(tag):] if line else ""
            except OSError:
                line = ""
            if not line:
                answers.append("closed")
                break
            answers.append(line)
    return answers


def poll(what, timeout=POLL_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def main():
    if os.geteuid() != 0:
        print("anchors24-check: must run as root (private MariaDB and Dovecot)")
        return 77
    if not dovecot_is_24():
        root = next((sys.argv[i + 1] for i, arg in enumerate(sys.argv[:-1]) if arg == "--chroot"),
                    os.environ.get("ANCHORS24_CHROOT"))
        if root:
            reexec_in_chroot(root)
        print("anchors24-check: this Dovecot is not 2.4; give --chroot DIR (a Debian 13 tree)")
        return 77
    print(f"anchors24-check: Dovecot {run(['dovecot', '--version']).stdout.strip()}, "
          f"{run(['mariadbd', '--version']).stdout.strip()}")

    # doveadm pw with a config of its own: the system's may be another version's.
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as minimal:
        minimal.write(f"dovecot_config_version = {anchors24.CONFIG_VERSION}\n"
                      f"dovecot_storage_version = {anchors24.CONFIG_VERSION}\n")
        minimal.flush()
        schemes = [("plain", "{PLAIN}secret")] + [
            (name, run(["doveadm", "-c", minimal.name, "pw", "-s", scheme, "-p", "secret"]).stdout.strip())
            for name, scheme in (("sha512", "SHA512-CRYPT"), ("argon", "ARGON2ID"))]

    quota_users = ["clone", "under", "overbytes", "overmsg", "fresh"]
    a = Anchors()
    try:
        a.start_db([(f"{n}@{DOMAIN}", stored) for n, stored in schemes]
                   + [(f"{n}@{DOMAIN}", "{PLAIN}secret") for n in quota_users]
                   + [(f"user{n}@{DOMAIN}", "{PLAIN}secret") for n in range(5)])  # dict_bench's users
        # dict_bench's users start at 0, as quota-bench.py's table does: an
        # increment of seed 003's NULL default stays NULL and dict-sql answers
        # "not found" (N) for it.
        a.sql("UPDATE user SET bytes = 0, messages = 0 WHERE email LIKE 'user%'")
        a.start_dovecot()
        auth_path = os.path.join(a.dir, "run", "auth-client")

        # 1. passdb sql + userdb sql
        for name, stored in schemes:
            user = f"{name}@{DOMAIN}"
            reply = auth_client(auth_path, user, "secret")
            check(f"1 auth-client PLAIN login, stored {stored.split('}')[0]}}}", reply.startswith("OK\t1"), reply)
            reply = auth_client(auth_path, user, "wrong")
            check(f"1 auth-client wrong password, stored {stored.split('}')[0]}}}", reply.startswith("FAIL\t1"),
                  reply)
            reply = imap_login(a.imap_port, user, "secret")
            check(f"1 IMAP LOGIN+SELECT, stored {stored.split('}')[0]}}}", reply == "OK", reply)
        # %{user} is still escaped by the SQL driver: a quote is data, not SQL.
        reply = auth_client(auth_path, f"o'brien@{DOMAIN}", "secret")
        check("1 a user name with a quote is escaped (FAIL, no query error)",
              reply.startswith("FAIL\t1") and "query failed" not in a.log(), reply)
        a.sql(f"UPDATE user SET password = '{{PLAIN}}changed' WHERE email = 'plain@{DOMAIN}'")
        old = auth_client(auth_path, f"plain@{DOMAIN}", "secret")
        new = auth_client(auth_path, f"plain@{DOMAIN}", "changed")
        check("1 auth cache off: a changed password counts at once", old.startswith("FAIL") and new.startswith("OK"),
              f"old: {old}; new: {new}")
        a.sql(f"UPDATE user SET max_bytes = 5242880, max_messages = 77 WHERE email = 'under@{DOMAIN}'")
        fields = a.doveadm("user", f"under@{DOMAIN}").stdout
        q = quota_get(a, f"under@{DOMAIN}")
        check("1 userdb: home, uid, gid and the limits as quota_storage_size / quota_message_count",
              "uid\t8" in fields and "quota_storage_size\t5242880" in fields
              and q.get("STORAGE", ("", ""))[1] == "5120" and q.get("MESSAGE", ("", ""))[1] == "77",
              f"doveadm quota get: {q}; doveadm user: {' '.join(fields.split())}")

        # 2. quota_clone -> dict proxy -> dict-sql
        clone = f"clone@{DOMAIN}"
        failures = deliver(a.lmtp_port, clone, 5) + deliver(a.lmtp_port, clone, 3)
        expected = (str(vsize_sum(a, clone)), "8")
        started = time.monotonic()
        row = poll(lambda: (lambda r: r if r == expected else None)(
            tuple(a.sql(f"SELECT bytes, messages FROM user WHERE email = '{clone}'").split("\t"))))
        last = a.sql(f"SELECT bytes, messages FROM user WHERE email = '{clone}'")
        check("2 quota_clone: user.bytes/messages equal Dovecot's count after 8 LMTP deliveries",
              failures == 0 and row is not None,
              f"row {last.split()}, count {expected}, delivery failures {failures}, "
              f"row matched {time.monotonic() - started:.1f} s after the last delivery")

        # 3. quota-status at the byte limit, at the message limit, under, unknown
        for name in ("under", "overbytes", "overmsg"):
            deliver(a.lmtp_port, f"{name}@{DOMAIN}", 1)
        used = vsize_sum(a, f"overbytes@{DOMAIN}")
        a.sql(f"UPDATE user SET max_bytes = {used} WHERE email = 'overbytes@{DOMAIN}'; "
              f"UPDATE user SET max_messages = 1 WHERE email = 'overmsg@{DOMAIN}'")
        for name, expected in (("under", "DUNNO"), ("overbytes", anchors24.OVERQUOTA),
                               ("overmsg", anchors24.OVERQUOTA), ("fresh", "DUNNO"),
                               ("nobody", NOUSER)):
            action = policy(a.qs_port, f"{name}@{DOMAIN}")
            check(f"3 quota-status {name}@: {expected}", action == expected, action)

        # 4. the post-login script
        a.sql(f"UPDATE user SET lasttime = NULL, lastip = NULL WHERE email = 'sha512@{DOMAIN}'")
        reply = imap_login(a.imap_port, f"sha512@{DOMAIN}", "secret")
        row = poll(lambda: a.sql(f"SELECT lastip, lasttime FROM user WHERE email = 'sha512@{DOMAIN}' "
                                 "AND lasttime IS NOT NULL"))
        check("4 post-login script ran on IMAP login (lastip, lasttime)",
              reply == "OK" and row.startswith("127.0.0.1\t"), f"login {reply}, row {row.split()}")

        # 5. the dict protocol, as dict_bench speaks it
        dict_path = os.path.join(a.dir, "run", "dict")
        user = f"under@{DOMAIN}"
        update = (f"B1\t{user}\nA1\tpriv/quota/storage\t10\nA1\tpriv/quota/messages\t1\nC1\n")
        lookup = f"Lpriv/quota/storage\t{user}\n"
        old = dict_session(dict_path, "H3\t2\t0\t\tquotadict\n", [lookup])
        check("5 dict server refuses the 2.3 hello (H3 2)", old == ["closed"], f"answers {old}")
        before = a.sql(f"SELECT COALESCE(bytes, 0), COALESCE(messages, 0) FROM user WHERE email = '{user}'").split()
        new = dict_session(dict_path, "H4\t0\t0\t\tquotadict\n", [update, lookup])
        after = a.sql(f"SELECT bytes, messages FROM user WHERE email = '{user}'").split()
        check("5 dict server serves dict_bench's update and lookup after a 4.0 hello (H4 0)",
              len(new) == 2 and new[0].startswith("O") and new[1].startswith("O")
              and after == [str(int(before[0]) + 10), str(int(before[1]) + 1)],
              f"answers {new}, row {before} -> {after}")
        # Optionally the real client: a dict_bench built with the 4.0 hello.
        bench = os.environ.get("ANCHORS24_DICT_BENCH")
        if bench:
            for kind in ("update", "lookup"):
                out = run([bench, dict_path, "quotadict", "8", "800", "5", DOMAIN, kind]).stdout.split(maxsplit=4)
                check(f"5 {os.path.basename(bench)} {kind}: 800 ops, no failure", len(out) == 5 and out[3] == "0",
                      f"ops/s {out[0]}, p50 {out[1]} ms, failures {out[3]}, first {out[4].strip()}")
        errors = [line for line in a.log().splitlines() if "Fatal" in line or "Panic" in line]
        check("dovecot log has no Fatal/Panic", not errors, "; ".join(errors[:3]))
    except Exception as e:  # noqa: BLE001 - reported as a failed check, with the log
        check("run", False, f"{type(e).__name__}: {e}\n--- dovecot log (tail):\n{a.log()[-3000:]}")
    finally:
        a.stop()
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
