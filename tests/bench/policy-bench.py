#!/usr/bin/env python3
"""policy-bench: roster-policyd's RCPT-time quota check beside what it
replaces (../shared/notes/anchors.md), in the same run, on the same MariaDB,
with the same 1000 mailboxes user0..user999@bench.test, 100 of them over
quota (usage at the byte or message limit), and the same client
(tests/bench/policy_bench: Postfix's policy protocol, persistent connections,
RCPT requests for random recipients):
  7. requests/s, p50 and p99 latency with 32 connections, every one kept
     busy (BENCH_POLICY_CONNECTIONS), then with 4 (a light load: the latency
     of a server that is not saturated; BENCH_POLICY_LIGHT_CONNECTIONS), of
     - Dovecot's quota-status (the anchor) set up as seed 003 would: sql userdb
       on seed 003's `user` table returning the limits, client_limit = 1. On
       2.3 quota = dict over dict-sql (usage from user.bytes/messages); 2.4 has
       no dict backend, so there it is `count` (anchors24.py): the usage is
       the mailbox's, so every mailbox gets one message by LMTP before the
       run and the over-quota ones get limits below it (max_messages = 1, or
       max_bytes = 1), and each request opens the mailbox's index;
     - roster-policyd with its cache off and with policy_cache_ttl = 60s (warm);
     - tests/bench/policy_noop, the floor: a server that answers DUNNO unread;
     and, before timing, each recipient asked once on every side, to show that
     the over-quota set gets 452 and everyone else DUNNO.
  8. resident memory (VmRSS) of roster-policyd and of the floor with 1000 idle
     connections.
  9. (side "outbound") the outbound check at DATA (cache off: it is never
     cached), every mailbox a SASL sender under generous domain defaults, so
     each request is counted in the database: DATA requests with
     policy_context=outbound beside the very same requests with
     policy_context=quota (the check skipped), and a mix of RCPT quota checks
     and DATA requests in turn (messages of one recipient), with and without
     the check; goal >= 5,000 requests/s at 32 connections and >= 0.8x.
It trusts the client's counts and /proc; figures only: nothing is asserted.
Sides left out: BENCH_POLICY_SIDES (default "quota-status roster noop outbound"); a
roster-policyd that is not built yet is skipped with a note."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dovecot"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchors24  # noqa: E402
import dovecot_stack  # noqa: E402

BUILD = dovecot_stack.BUILDDIR
CLIENT = os.path.join(BUILD, "tests", "bench", "policy_bench")
NOOP = os.path.join(BUILD, "tests", "bench", "policy_noop")
POLICYD = os.path.join(BUILD, "policy", "roster-policyd")
DOMAIN = "bench.test"
MAILBOXES = 1000
MAX_BYTES = 1073741824
MAX_MESSAGES = 1000
CONNECTIONS = int(os.environ.get("BENCH_POLICY_CONNECTIONS", "32"))
# A second, light load (as in anchors.md's quota-status figure): latency when
# the server is not saturated; 0 = skip. With every connection busy, latency
# is only connections / throughput (Little's law).
LIGHT_CONNECTIONS = int(os.environ.get("BENCH_POLICY_LIGHT_CONNECTIONS", "4"))
REQUESTS = int(os.environ.get("BENCH_POLICY_REQUESTS", "100000"))
ANCHOR_REQUESTS = int(os.environ.get("BENCH_POLICY_ANCHOR_REQUESTS", "3000"))
IDLE = int(os.environ.get("BENCH_POLICY_IDLE", "1000"))
SIDES = os.environ.get("BENCH_POLICY_SIDES", "quota-status roster noop outbound").split()
OVERQUOTA = "452 4.2.2 Mailbox is over quota"


def over_quota(n):
    """The 100 mailboxes over quota: every tenth, half at the byte limit, half at the message limit."""
    return n % 10 == 0


DICT_SQL = """connect = host={socket} dbname=mail user=anchor password=anchor-pw
map {{
  pattern = priv/quota/storage
  table = user
  username_field = email
  value_field = bytes
}}
map {{
  pattern = priv/quota/messages
  table = user
  username_field = email
  value_field = messages
}}
"""

# Seed 003's `user` table as the seed creates it.
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

# Usage per mailbox number, the same on both sides: (bytes, messages).
USAGE_SQL = (f"IF(seq % 20 = 0, {MAX_BYTES}, seq * 1000), "
             f"IF(seq % 20 = 10, {MAX_MESSAGES}, seq % 100)")


def request(recipient):
    """The same RCPT request tests/bench/policy_bench sends, for the one-by-one check."""
    return ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nhelo_name=sender.example.net\n"
            f"queue_id=\nsender=bench-sender@example.net\nrecipient={recipient}\nrecipient_count=0\n"
            "client_address=127.0.0.2\nclient_name=unknown\nreverse_client_name=unknown\ninstance=1.2.3.0\n"
            "sasl_method=\nsasl_username=\nsasl_sender=\nsize=0\nccert_subject=\nccert_issuer=\n"
            "ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\n"
            "encryption_keysize=0\netrn_domain=\nstress=\nclient_port=40000\npolicy_context=\n"
            "server_address=127.0.0.1\nserver_port=25\ncompatibility_level=3.6\nmail_version=3.7.11\n\n")


def check_answers(port):
    """Asks for every mailbox once over one connection; returns the number answered as
    expected (452 when over quota, DUNNO otherwise) and the first unexpected answer."""
    good, first_bad = 0, None
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            f = s.makefile("rb")
            for n in range(MAILBOXES):
                recipient = f"user{n}@{DOMAIN}"
                s.sendall(request(recipient).encode())
                lines = []
                while True:
                    line = f.readline()
                    if not line or line == b"\n":
                        break
                    lines.append(line.decode(errors="replace").rstrip("\n"))
                action = next((line[7:] for line in lines if line.startswith("action=")), "")
                expected = "452" if over_quota(n) else "DUNNO"
                if action.split(" ")[0] == expected:
                    good += 1
                elif first_bad is None:
                    first_bad = f"{recipient}: {action or lines or 'connection closed'}"
                if not line:
                    break
    except OSError as e:
        first_bad = first_bad or f"after {good} answers: {e}"
    return good, first_bad


def wait_for_port(port, proc, log, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode}:\n{tail(log)}")
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}:\n{tail(log)}")


def tail(path, lines=20):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_client(port, recipients, connections, requests, server_ticks, env=None):
    """tests/bench/policy_bench against 127.0.0.1:port. Returns requests/s, p50, p99 (ms),
    failures, the action counts and the CPU microseconds per request spent by the client,
    the server (server_ticks() before and after) and MariaDB."""
    hz = os.sysconf("SC_CLK_TCK")
    before = (server_ticks(), dovecot_stack.cpu_ticks("mariadbd"))
    proc = subprocess.Popen([CLIENT, f"127.0.0.1:{port}", str(connections), str(requests), recipients],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
    proc.stdout.close()
    after = (server_ticks(), dovecot_stack.cpu_ticks("mariadbd"))
    if len(out.split()) != 5:
        raise RuntimeError(f"policy_bench exited with {proc.returncode} and printed {out!r}")
    rate, p50, p99, failures, actions = out.split()
    per = lambda secs: 1e6 * secs / max(requests, 1)  # noqa: E731
    cpu = (per(usage.ru_utime + usage.ru_stime), per((after[0] - before[0]) / hz), per((after[1] - before[1]) / hz))
    return float(rate), float(p50), float(p99), int(failures), actions, cpu


def idle_rss(port, pid):
    """VmRSS (KiB) of process pid before and while IDLE connections sit idle on port,
    and how many of them it accepted (its open descriptors went up by that much)."""
    time.sleep(0.5)
    rss_before = status_kib(pid, "VmRSS")
    fds_before = len(os.listdir(f"/proc/{pid}/fd"))
    proc = subprocess.Popen([CLIENT, f"127.0.0.1:{port}", str(IDLE), "0", "-", "idle", "60"],
                            stdout=subprocess.PIPE, text=True)
    opened = proc.stdout.readline().split()
    accepted = 0
    deadline = time.time() + 15
    while time.time() < deadline:
        accepted = len(os.listdir(f"/proc/{pid}/fd")) - fds_before
        if accepted >= IDLE:
            break
        time.sleep(0.2)
    time.sleep(1)
    rss = status_kib(pid, "VmRSS")
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    proc.stdout.close()
    return rss_before, rss, int(opened[-1]) if opened else 0, accepted


class Policyd:
    """roster-policyd on a loopback port, with the stack's database settings."""

    def __init__(self, base, name, settings):
        self.port = dovecot_stack.free_port()
        self.log = os.path.join(base.dir, f"{name}.log")
        conf = base.conf_with(f"{name}.conf", f"policy_listen = inet:127.0.0.1:{self.port}\n"
                                               f"socketmap_listen = unix:{base.dir}/{name}.socketmap\n"
                                               f"policy_log = stderr\npolicy_user =\n{settings}")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([POLICYD, "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log, start_new_session=True)
        wait_for_port(self.port, self.proc, self.log)

    def log_lines(self):
        with open(self.log, errors="replace") as f:
            return sum(1 for _ in f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after 20 s"
        return f"exit {self.proc.returncode}"


def main():
    base = dovecot_stack.Stack()
    anchor = None
    servers = []
    try:
        base.start_db()
        base.rosterctl("domain", "add", DOMAIN)
        base.sql(f"INSERT INTO mailbox (domain_id, address, max_bytes, max_messages) "
                 f"SELECT d.id, CONCAT('user', seq, '@{DOMAIN}'), {MAX_BYTES}, {MAX_MESSAGES} "
                 f"FROM domain d JOIN seq_0_to_{MAILBOXES - 1} WHERE d.name = '{DOMAIN}'")
        base.sql(f"INSERT INTO mailbox_usage (mailbox_id, bytes, messages) SELECT m.id, {USAGE_SQL} "
                 f"FROM mailbox m JOIN seq_0_to_{MAILBOXES - 1} ON m.address = CONCAT('user', seq, '@{DOMAIN}')")
        # The anchor: seed 003's table with the same limits and usage.
        base.sql(f"CREATE DATABASE mail; {SEED_USER_TABLE}; "
                 f"INSERT INTO mail.user (email, password, surname, bytes, messages) "
                 f"SELECT CONCAT('user', seq, '@{DOMAIN}'), '{{PLAIN}}secret', CONCAT('user', seq), {USAGE_SQL} "
                 f"FROM seq_0_to_{MAILBOXES - 1}; "
                 "CREATE USER anchor@localhost IDENTIFIED BY 'anchor-pw'; "
                 "GRANT SELECT, UPDATE ON mail.* TO anchor@localhost")
        recipients = os.path.join(base.dir, "recipients")
        with open(recipients, "w") as f:
            f.writelines(f"user{n}@{DOMAIN}\n" for n in range(MAILBOXES))

        print(f"-- 7. Postfix policy (Dovecot {'.'.join(map(str, dovecot_stack.VERSION))}): RCPT quota check, "
              f"{CONNECTIONS} then {LIGHT_CONNECTIONS} persistent connections, "
              f"{MAILBOXES} mailboxes "
              f"({sum(map(over_quota, range(MAILBOXES)))} over quota), random recipients, size=0")
        rows = []  # (side, connections, requests, figures)

        if "quota-status" in SIDES:
            qs_port = dovecot_stack.free_port()
            anchor = start_anchor(base, qs_port)
            rows += measure("quota-status", qs_port, recipients, ANCHOR_REQUESTS,
                            lambda: dovecot_stack.cpu_ticks(anchor.instance_name()))
        roster_rss = None
        if "roster" in SIDES and not os.path.exists(POLICYD):
            print(f"   roster-policyd: {POLICYD} is not built; skipped")
        elif "roster" in SIDES:
            for name, ttl in (("roster cache off", "0"), ("roster cache 60s", "60s")):
                # Every bench connection comes from one peer (127.0.0.1): the
                # per-peer cap (default 500) must not stop section 8's 1000.
                server = Policyd(base, name.replace(" ", "-"),
                                 f"policy_cache_ttl = {ttl}\npolicy_max_connections_per_peer = 2000\n")
                servers.append(server)
                pid = server.proc.pid
                rows += measure(name, server.port, recipients, REQUESTS, lambda: proc_ticks(pid))
                print(f"   {name}: log {server.log_lines()} lines")
                if ttl != "0":
                    roster_rss = idle_rss(server.port, pid) + (status_kib(pid, "VmHWM"),)
                print(f"   {name}: stopped on SIGTERM, {server.stop()}")
        noop_rss = None
        if "noop" in SIDES:
            port = dovecot_stack.free_port()
            noop = subprocess.Popen([NOOP, str(port)], start_new_session=True)
            try:
                wait_for_port(port, noop, None)
                rows += measure("noop (floor)", port, recipients, REQUESTS, lambda: proc_ticks(noop.pid), check=False)
                noop_rss = idle_rss(port, noop.pid) + (status_kib(noop.pid, "VmHWM"),)
            finally:
                noop.terminate()
                noop.wait()
        summary(rows, roster_rss, noop_rss)
        if "outbound" in SIDES and os.path.exists(POLICYD):
            servers.append(measure_outbound(base, recipients))
    finally:
        for server in servers:
            server.stop()
        if anchor is not None:
            anchor.stop()
        base.stop()


def start_anchor(base, port):
    if dovecot_stack.DOVECOT_24:
        return start_anchor24(base, port)
    sql_conf = os.path.join(base.dir, "dovecot-sql.conf.ext")
    with open(sql_conf, "w") as f:
        f.write(f"driver = mysql\nconnect = host={base.socket} dbname=mail user=anchor password=anchor-pw\n"
                "default_pass_scheme = CRYPT\n"
                "password_query = SELECT email AS user, password FROM user WHERE email='%u' AND active='Y'\n"
                f"user_query = SELECT CONCAT('{base.dir}/mail/', SUBSTRING_INDEX(email, '@', -1), '/', "
                "SUBSTRING_INDEX(email, '@', 1)) AS home, 8 AS uid, 8 AS gid, "
                "CONCAT('*:bytes=', max_bytes, ':messages=', max_messages) AS quota_rule "
                "FROM user WHERE email = '%u'\n")
    dict_sql = os.path.join(base.dir, "dict-sql.conf")
    with open(dict_sql, "w") as f:
        f.write(DICT_SQL.format(socket=base.socket))
    anchor = dovecot_stack.Stack(
        db_from=base, auth_cache_size="0",
        auth_blocks=f"passdb {{\n  driver = sql\n  args = {sql_conf}\n}}\n"
                    f"userdb {{\n  driver = sql\n  args = {sql_conf}\n}}\n",
        extra_conf=f"""
mail_plugins = $mail_plugins quota
dict {{
  quotadict = mysql:{dict_sql}
}}
plugin {{
  quota = dict:User quota::proxy::quotadict
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
  quota_status_overquota = "{OVERQUOTA}"
}}
service quota-status {{
  executable = quota-status -p postfix
  inet_listener {{
    address = 127.0.0.1
    port = {port}
  }}
  client_limit = 1
}}
""")
    try:
        anchor.start_dovecot()
        wait_for_port(port, None, None)
    except Exception:
        anchor.stop()
        raise
    return anchor


def start_anchor24(base, port):
    """The anchor on 2.4: sql passdb/userdb and quota-status on the count
    backend (anchors24.py). The usage is what the mailboxes hold, not
    user.bytes/messages: every mailbox gets one message (the same for all),
    then the 100 over quota get a limit below it, half on bytes and half on
    messages, as USAGE_SQL splits them on the roster side (the auth cache is
    off, so the new limits count at once)."""
    anchor = dovecot_stack.Stack(
        db_from=base, auth_cache_size="0", auth_blocks=anchors24.sql_auth(base.socket, f"{base.dir}/mail"),
        extra_conf=anchors24.count_quota() + anchors24.quota_status(port, success="DUNNO", nouser="DUNNO"))
    try:
        anchor.start_dovecot()
        wait_for_port(port, None, None)
        failures = deliver_one_each(anchor)
        if failures:
            raise RuntimeError(f"{failures} of {MAILBOXES} deliveries to the anchor's mailboxes failed")
        n = "CAST(SUBSTRING_INDEX(SUBSTRING(email, 5), '@', 1) AS UNSIGNED)"  # user<n>@
        base.sql(f"UPDATE mail.user SET max_bytes = IF({n} % 20 = 0, 1, max_bytes), "
                 f"max_messages = IF({n} % 20 = 10, 1, max_messages)")
    except Exception:
        anchor.stop()
        raise
    return anchor


def deliver_one_each(stack):
    """One small message to each mailbox over LMTP (4 connections); returns the failures."""
    import concurrent.futures
    import smtplib
    text = ("From: b@example.org\r\nTo: r@example.org\r\nSubject: fill\r\n\r\n" + "y" * 62 + "\r\n")

    def run(numbers):
        with smtplib.LMTP("127.0.0.1", stack.lmtp_port, timeout=60) as conn:
            return sum(len(conn.sendmail("b@example.org", [f"user{n}@{DOMAIN}"], text)) for n in numbers)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return sum(pool.map(run, [range(i, MAILBOXES, 4) for i in range(4)]))


def measure(side, port, recipients, requests, server_ticks, check=True):
    """The timed runs of one side: full load, then light load (a fifth of the requests)."""
    if check:
        # Each recipient once (this also fills a cache, as the warm-up below would).
        good, first_bad = check_answers(port)
        print(f"   {side}: each mailbox asked once: {good} of {MAILBOXES} answered as expected"
              + (f"; first other: {first_bad}" if first_bad else ""))
    run_client(port, recipients, CONNECTIONS, max(CONNECTIONS * 10, requests // 10), server_ticks)  # warm up
    rows = [(side, CONNECTIONS, requests, run_client(port, recipients, CONNECTIONS, requests, server_ticks))]
    if LIGHT_CONNECTIONS:
        light = max(LIGHT_CONNECTIONS * 10, requests // 5)
        rows.append((side, LIGHT_CONNECTIONS, light,
                     run_client(port, recipients, LIGHT_CONNECTIONS, light, server_ticks)))
    return rows


def measure_outbound(base, recipients):
    """Section 9: the outbound check at DATA, on and off, on one daemon (cache off)."""
    base.rosterctl("outbound", "defaults", DOMAIN, "--per-hour", "100000000", "--per-day", "100000000",
                   "--rcpt-per-message", "1000", "--rcpt-per-day", "100000000")
    server = Policyd(base, "roster-outbound", "policy_cache_ttl = 0\npolicy_max_connections_per_peer = 2000\n")
    pid = server.proc.pid
    print(f"-- 9. outbound check at DATA (roster-policyd, cache off), {CONNECTIONS} connections, "
          f"{MAILBOXES} SASL senders, every message counted")
    print(f"   {'requests':28} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}  "
          f"{'CPU us/req: client':>18} {'server':>6} {'mariadb':>7}  actions")
    rates = {}
    for label, mode, context in (("DATA, check on", "data", "outbound"), ("DATA, check off", "data", "quota"),
                                 ("RCPT+DATA, check on", "mix", "outbound"),
                                 ("RCPT+DATA, check off", "mix", "quota")):
        env = {"POLICY_BENCH_MODE": mode, "POLICY_BENCH_DATA_CONTEXT": context}
        run_client(server.port, recipients, CONNECTIONS, max(CONNECTIONS * 10, REQUESTS // 10), lambda: proc_ticks(pid),
                   env)  # warm up (and every sender's counter row made)
        rate, p50, p99, failures, actions, cpu = run_client(server.port, recipients, CONNECTIONS, REQUESTS,
                                                            lambda: proc_ticks(pid), env)
        rates[label] = rate
        print(f"   {label:28} {rate:9.1f} {p50:7.3f} {p99:7.3f} {failures:5d}  "
              f"{cpu[0]:18.0f} {cpu[1]:6.0f} {cpu[2]:7.0f}  {actions}")
    counted = base.sql("SELECT COALESCE(SUM(day_messages), 0) FROM outbound_counter").strip()
    print(f"   messages counted in outbound_counter: {counted}")
    for on, off in (("DATA, check on", "DATA, check off"), ("RCPT+DATA, check on", "RCPT+DATA, check off")):
        print(f"   {on}: {rates[on]:.0f} req/s (goal >= 5,000), {rates[on] / rates[off]:.2f}x of {off!r} "
              f"(goal >= 0.8)")
    print(f"   roster-policyd (outbound): log {server.log_lines()} lines; stopped on SIGTERM, {server.stop()}")
    return server


def summary(rows, roster_rss, noop_rss):
    print(f"   {'side':18} {'conns':>5} {'requests':>8} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}  "
          f"{'CPU us/req: client':>18} {'server':>6} {'mariadb':>7}  actions")
    figures = {}
    for side, connections, requests, (rate, p50, p99, failures, actions, cpu) in rows:
        figures[side, connections] = (rate, p99)
        print(f"   {side:18} {connections:5d} {requests:8d} {rate:9.1f} {p50:7.3f} {p99:7.3f} {failures:5d}  "
              f"{cpu[0]:18.0f} {cpu[1]:6.0f} {cpu[2]:7.0f}  {actions}")
    anchor = figures.get(("quota-status", CONNECTIONS))
    floor = figures.get(("noop (floor)", CONNECTIONS))
    for name, goal_rate in (("roster cache off", 5000), ("roster cache 60s", 25000)):
        if (name, CONNECTIONS) not in figures:
            continue
        rate, p99 = figures[name, CONNECTIONS]
        line = f"   {name}: {rate:.0f} req/s (goal >= {goal_rate:,}), p99 {p99:.2f} ms"
        if (name, LIGHT_CONNECTIONS) in figures:
            line += f" ({LIGHT_CONNECTIONS} conns: {figures[name, LIGHT_CONNECTIONS][1]:.2f} ms)"
        line += " (goal <= 2 ms)"
        if anchor:
            line += f", ratio to quota-status {rate / anchor[0]:.1f}" + (" (goal >= 50)" if "60s" in name else "")
        if floor:
            line += f", share of the floor {rate / floor[0]:.0%}"
        print(line)
    print(f"-- 8. resident memory with {IDLE} idle connections (VmRSS; VmHWM = peak of the whole run)")
    for name, mem, goal in (("roster-policyd", roster_rss, " (goal <= 64 MB)"), ("noop (floor)", noop_rss, "")):
        if mem is None:
            continue
        before, rss, opened, accepted, hwm = mem
        print(f"   {name:15} {rss / 1024:7.1f} MiB{goal}; {before / 1024:.1f} MiB before them, peak {hwm / 1024:.1f} MiB;"
              f" {opened} opened, {accepted} accepted")


if __name__ == "__main__":
    main()
