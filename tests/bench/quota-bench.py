#!/usr/bin/env python3
"""quota-bench: roster's dict driver and last-login plugin beside what they
replace (../shared/notes/anchors.md), in the same run, on the same MariaDB:
  4. LMTP deliveries/s with roster's dict (dict-async service) vs dict-sql on
     seed 003's `user` table (4 connections, 50 mailboxes, 100-2000 byte
     messages), and whether the counters are exact afterwards on both sides.
     On 2.3 the dict is the quota backend (`quota = dict:...`); 2.4 has no
     dict backend, so both sides count (`quota { driver = count }`) and the
     dict is quota_clone's target, which it sets to absolute values after
     each delivery (anchors24.py);
  5. dict operations/s through the dict proxy (tests/bench/dict_bench speaks
     Dovecot's dict protocol, 3.2 or 4.0 as the Dovecot here: quota updates =
     begin, two increments, commit; and lookups), with 8 and 32 connections
     (BENCH_DICT_CONNECTIONS): roster in the dict-async service and in the
     blocking dict service vs dict-sql;
  6. IMAP logins/s (connect, LOGIN, SELECT, LOGOUT; 8 client threads) with no
     hook, with roster_lastlogin, and with seed 003's post-login script that
     pipes an UPDATE into the mysql client.
Both sides of each comparison log in through roster's passdb/userdb, so only
the part under test differs. The configuration is written for the Dovecot the
stack finds (2.3 here, 2.4 from anchors24.py). Figures only: nothing is
asserted."""
import concurrent.futures
import os
import random
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dovecot"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchors24  # noqa: E402
import dovecot_stack  # noqa: E402

PW = "bench-pw"
USERS = 50
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "2000"))
DICT_OPS = int(os.environ.get("BENCH_DICT_OPS", "40000"))
DICT_CONNECTIONS = [int(n) for n in os.environ.get("BENCH_DICT_CONNECTIONS", "8 32").split()]
DICT_CLIENT = os.path.join(dovecot_stack.BUILDDIR, "tests", "bench", "dict_bench")
DICT_PROTOCOL = "4" if dovecot_stack.DOVECOT_24 else "3"  # dict_bench -p: 2.4 speaks 4.0, 2.3 3.2
LOGINS = int(os.environ.get("BENCH_LOGINS", "400"))
PARTS = os.environ.get("BENCH_QUOTA_PARTS", "4 5 6").split()
# Parts 4 and 6 alternate the sides this many rounds and keep each side's best:
# on a shared 2-core machine one round's ratio moves by 20% from run to run.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

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

# Seed 003's post-login script (the same on 2.4: anchors24.POSTLOGIN_SCRIPT).
POSTLOGIN_SCRIPT = anchors24.POSTLOGIN_SCRIPT


def quota_conf(dict_name, socket=""):
    """2.3: the quota's dict backend through the proxy of SOCKET ("" = the dict service)."""
    return f"""
mail_plugins = $mail_plugins quota
quota_full_tempfail = yes
plugin {{
  quota = dict:User quota::proxy:{socket}:{dict_name}
}}
"""


def indented(text, indent="  "):
    return "".join(indent + line + "\n" for line in text.splitlines())


def roster_quota_conf():
    """The roster side of part 4: its dict in the dict-async service holds the usage."""
    if dovecot_stack.DOVECOT_24:
        return (anchors24.count_quota() + "mail_plugins {\n  quota_clone = yes\n}\n"
                "quota_clone {\n" + indented(anchors24.dict_proxy("quota", "dict-async")) + "}\n")
    return quota_conf("quota", "dict-async")


def anchor_quota_conf(base):
    """The anchor side of part 4: dict-sql (in the dict service) on seed 003's user.bytes / user.messages."""
    if dovecot_stack.DOVECOT_24:
        return anchors24.count_quota() + anchors24.quota_clone(base.socket, "quotadict", "dict")
    dict_sql = os.path.join(base.dir, "dict-sql.conf")
    with open(dict_sql, "w") as f:
        f.write(DICT_SQL.format(socket=base.socket))
    return quota_conf("quotadict") + f"dict {{\n  quotadict = mysql:{dict_sql}\n}}\n"


def lastlogin_conf():
    """roster_lastlogin sending to roster's dict through the proxy of the dict service."""
    if dovecot_stack.DOVECOT_24:
        return ("mail_plugins {\n  roster_lastlogin = yes\n}\n"
                "roster_lastlogin {\n" + indented(anchors24.dict_proxy("quota", "dict")) + "}\n")
    return "mail_plugins = $mail_plugins roster_lastlogin\nplugin {\n  roster_lastlogin_dict = proxy::quota\n}\n"


def message(size, n):
    body = ("y" * 62 + "\r\n") * (size // 64 + 1)
    return f"From: b@example.org\r\nTo: r@example.org\r\nSubject: {n}\r\n\r\n{body[:size]}\r\n"


def deliveries(stack, domain, count):
    rng = random.Random(11)
    plan = [(f"user{rng.randrange(USERS)}@{domain}", rng.randrange(100, 2000)) for _ in range(count)]
    chunks = [plan[i::4] for i in range(4)]

    def run(chunk):
        with smtplib.LMTP("127.0.0.1", stack.lmtp_port, timeout=60) as conn:
            return sum(1 for n, (rcpt, size) in enumerate(chunk)
                       if conn.sendmail("b@example.org", [rcpt], message(size, n)))

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        failures = sum(pool.map(run, chunks))
    return count / (time.monotonic() - start), failures


def dict_ops(stack, socket, dict_name, domain, count, kind, connections):
    """tests/bench/dict_bench over `socket`: returns ops/s, p50 and p99 in ms, failures
    (with the first one's reply) and the CPU microseconds per op spent by the client,
    the Dovecot instance (dict processes) and MariaDB."""
    hz = os.sysconf("SC_CLK_TCK")
    before = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    proc = subprocess.Popen([DICT_CLIENT, "-p", DICT_PROTOCOL, os.path.join(stack.dir, "run", socket), dict_name,
                             str(connections), str(count), str(USERS), domain, kind],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    after = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    rate, p50, p99, failures, first_failure = out.split(maxsplit=4)
    done = max(int(count) // connections * connections, 1)
    cpu = (1e6 * (usage.ru_utime + usage.ru_stime) / done, 1e6 * (after[0] - before[0]) / hz / done,
           1e6 * (after[1] - before[1]) / hz / done)
    if int(failures):
        print(f"   first failure: {first_failure.strip()}")
    return float(rate), float(p50), float(p99), int(failures), cpu


def with_cpu(stack, count, run):
    """run() -> (rate, failures), plus the CPU microseconds per item spent by the
    Dovecot instance and by MariaDB meanwhile."""
    hz = os.sysconf("SC_CLK_TCK")
    before = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    rate, failures = run()
    after = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    return rate, failures, tuple(1e6 * (a - b) / hz / max(count, 1) for a, b in zip(after, before))


def logins(stack, domain, count):
    def one(n):
        imap = dovecot_stack.IMAP4("127.0.0.1", stack.imap_port, timeout=60)
        try:
            imap.login(f"user{n % USERS}@{domain}", PW)
            imap.select("INBOX")
            imap.logout()
            return 0
        except Exception:  # noqa: BLE001 - counted, not raised: a figure, not a test
            return 1

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        failures = sum(pool.map(one, range(count)))
    return count / (time.monotonic() - start), failures


def main():
    base = dovecot_stack.Stack(auth_conf="password_allow_plaintext = yes\nauth_rehash = no\n")
    stacks = []
    try:
        base.start_db()
        if os.environ.get("BENCH_DICT_THREADS"):
            with open(base.dict_conf, "a") as f:
                f.write(f"dict_threads = {os.environ['BENCH_DICT_THREADS']}\n")
        for domain in ("roster.test", "anchor.test"):
            base.rosterctl("domain", "add", domain, "--quota", "10G", "--messages", "1000000")
            base.sql(f"INSERT INTO mailbox (domain_id, address, password_hash, max_bytes, max_messages) "
                     f"SELECT d.id, CONCAT('user', seq, '@{domain}'), '{{PLAIN}}{PW}', 0, 0 "
                     f"FROM domain d JOIN seq_0_to_{USERS - 1} WHERE d.name = '{domain}'")
        base.sql("INSERT IGNORE INTO mailbox_usage (mailbox_id, bytes, messages) SELECT id, 0, 0 FROM mailbox")
        # The anchor: seed 003's user table with its counters and last-login columns.
        base.sql("CREATE DATABASE mail; CREATE TABLE mail.user (id INT UNSIGNED NOT NULL AUTO_INCREMENT, "
                 "active VARCHAR(1) DEFAULT 'Y', email VARCHAR(255) CHARACTER SET latin1 NOT NULL, "
                 "lastip VARCHAR(32) DEFAULT NULL, lasttime DATETIME DEFAULT NULL, bytes BIGINT DEFAULT 0, "
                 "messages INT DEFAULT 0, PRIMARY KEY (id), UNIQUE KEY email (email)) ENGINE=InnoDB "
                 "DEFAULT CHARSET=utf8; "
                 f"INSERT INTO mail.user (email) SELECT CONCAT('user', seq, '@anchor.test') "
                 f"FROM seq_0_to_{USERS - 1}; INSERT INTO mail.user (email) SELECT CONCAT('user', seq, '@roster.test') "
                 f"FROM seq_0_to_{USERS - 1}; CREATE USER anchor@localhost IDENTIFIED BY 'anchor-pw'; "
                 "GRANT SELECT, INSERT, UPDATE, DELETE ON mail.* TO anchor@localhost")
        defaults = os.path.join(base.dir, "anchor-client.cnf")
        with open(defaults, "w") as f:
            f.write(f"[client]\nuser=anchor\npassword=anchor-pw\nsocket={base.socket}\n")
        script = os.path.join(base.dir, "postlogin.sh")
        with open(script, "w") as f:
            f.write(POSTLOGIN_SCRIPT.format(defaults=defaults))
        os.chmod(script, 0o755)

        def stack(extra):
            s = dovecot_stack.Stack(db_from=base, extra_conf=extra, auth_cache_size="0")
            stacks.append(s)
            s.start_dovecot()
            return s

        # Roster's driver answers asynchronously: one dict-async process serves every client.
        roster_quota = stack(roster_quota_conf())
        anchor_quota = stack(anchor_quota_conf(base))

        if "4" in PARTS:
            part4_deliveries(base, anchor_quota, roster_quota)
        if "5" in PARTS:
            part5_dict_ops(anchor_quota, roster_quota)
        if "6" in PARTS:
            part6_logins(base, stack, script)
    finally:
        for s in stacks:
            s.stop()
        base.stop()


def part4_deliveries(base, anchor_quota, roster_quota):
    how = ("quota count + quota_clone into the dict" if dovecot_stack.DOVECOT_24 else "quota = dict backend")
    print(f"-- 4. LMTP deliveries, Dovecot {'.'.join(map(str, dovecot_stack.VERSION))} ({how}), 4 connections, "
          f"{USERS} mailboxes, 100-2000 byte messages, {DELIVERIES} a round, {ROUNDS} rounds alternating; "
          "CPU us/delivery of Dovecot, MariaDB")
    sides = (("dict-sql", anchor_quota, "anchor.test"), ("roster", roster_quota, "roster.test"))
    results = {side: 0.0 for side, _, _ in sides}
    for side, s, domain in sides:
        deliveries(s, domain, 40)  # warm up
    for round_ in range(1, ROUNDS + 1):
        for side, s, domain in sides:
            rate, failures, cpu = with_cpu(s, DELIVERIES, lambda: deliveries(s, domain, DELIVERIES))
            results[side] = max(results[side], rate)
            print(f"   round {round_} {side:9} {rate:8.1f} deliveries/s  failures {failures}  "
                  f"CPU {cpu[0]:5.0f} {cpu[1]:4.0f}")
    expected = 40 + ROUNDS * DELIVERIES
    for side, s, domain in sides:
        if side == "roster":
            query = ("SELECT COALESCE(SUM(u.messages), 0) FROM mailbox_usage u JOIN mailbox m "
                     "ON m.id = u.mailbox_id WHERE m.address LIKE '%@roster.test'")
        else:
            query = "SELECT COALESCE(SUM(messages), 0) FROM mail.user WHERE email LIKE '%@anchor.test'"
        # The last asynchronous commits (2.4's quota_clone: at the end of each
        # delivery's session, or about 10 s after a change): polled, bounded.
        deadline = time.monotonic() + 30
        while True:
            time.sleep(1)
            counted = int(base.sql(query))
            if counted == expected or time.monotonic() > deadline:
                break
        exact = "exact" if counted == expected else f"counted {counted} of {expected}"
        print(f"   {side:9} best {results[side]:8.1f} deliveries/s  counters {exact}")
    print(f"   ratio roster / dict-sql: {results['roster'] / results['dict-sql']:.2f} (goal >= 1.0)")


def part5_dict_ops(anchor_quota, roster_quota):
    print(f"-- 5. dict operations through the dict proxy (tests/bench/dict_bench), {DICT_OPS} in all; "
          f"latency p50/p99 ms; CPU us/op of client, Dovecot, MariaDB")
    print("   roster: the dict-async service (one process, batches); roster on dict: the blocking dict service")
    for connections in DICT_CONNECTIONS:
        for kind in ("update", "lookup"):
            results = {}
            for side, s, socket, name, domain in (
                    ("dict-sql", anchor_quota, "dict", "quotadict", "anchor.test"),
                    ("roster", roster_quota, "dict-async", "quota", "roster.test"),
                    ("roster on dict", roster_quota, "dict", "quota", "roster.test")):
                dict_ops(s, socket, name, domain, 800, kind, connections)  # warm up: processes started, connected
                rate, p50, p99, failures, cpu = dict_ops(s, socket, name, domain, DICT_OPS, kind, connections)
                results[side] = rate
                print(f"   {connections:2} conns {kind:6} {side:14} {rate:9.1f} ops/s  {p50:5.2f} {p99:5.2f} ms  "
                      f"failures {failures}  CPU {cpu[0]:4.0f} {cpu[1]:4.0f} {cpu[2]:4.0f}")
            print(f"   {connections:2} conns {kind:6} ratio roster / dict-sql: "
                  f"{results['roster'] / results['dict-sql']:.2f} (goal >= 1.5); "
                  f"roster on the blocking dict service: {results['roster on dict'] / results['dict-sql']:.2f}")


def part6_logins(base, stack, script):
    no_hook = stack("")
    with_roster = stack(lastlogin_conf())
    with_script = stack(anchors24.postlogin(script))  # the same text in 2.3 and 2.4
    print(f"-- 6. IMAP logins on Dovecot {'.'.join(map(str, dovecot_stack.VERSION))} (connect, LOGIN, SELECT, "
          f"LOGOUT), 8 client threads, {LOGINS} a round, {ROUNDS} rounds alternating; CPU us/login of Dovecot, "
          "MariaDB")
    sides = (("no hook", no_hook), ("roster_lastlogin", with_roster), ("post-login script", with_script))
    results = {side: 0.0 for side, _ in sides}
    for side, s in sides:
        logins(s, "roster.test", 40)  # warm up
    for round_ in range(1, ROUNDS + 1):
        for side, s in sides:
            rate, failures, cpu = with_cpu(s, LOGINS, lambda: logins(s, "roster.test", LOGINS))
            results[side] = max(results[side], rate)
            print(f"   round {round_} {side:18} {rate:7.1f} logins/s  failures {failures}  "
                  f"CPU {cpu[0]:5.0f} {cpu[1]:4.0f}")
    print("   best: " + ", ".join(f"{side} {rate:.1f}/s" for side, rate in results.items()))
    recorded = base.sql("SELECT COUNT(*) FROM last_login").strip()
    scripted = base.sql("SELECT COUNT(*) FROM mail.user WHERE lasttime IS NOT NULL").strip()
    print(f"   recorded: roster {recorded} mailboxes, script {scripted} rows")
    print(f"   ratio to no hook: roster_lastlogin {results['roster_lastlogin'] / results['no hook']:.2f} "
          f"(goal >= 0.97), post-login script {results['post-login script'] / results['no hook']:.2f}")


if __name__ == "__main__":
    main()
