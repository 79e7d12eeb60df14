#!/usr/bin/env python3
"""auth-bench: Dovecot authentication through roster's driver vs Dovecot's own
`driver = sql` set up as in ../shared/notes/anchors.md (seed 003's table and
password_query, auth cache off), in the same run, on the same MariaDB, with the
same 1000 mailboxes and the same client (tests/bench/auth_bench: 8 auth-client
connections, PLAIN SASL, random users). Per scheme it prints auths/s, p50/p99
latency and the peak memory (sum of VmHWM) of each instance's auth processes.
The anchor is written for the Dovecot the stack finds: 2.3's dovecot-sql.conf.ext
here, 2.4's `passdb sql` / `userdb sql` blocks from anchors24.py.
Figures only: nothing is asserted."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dovecot"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchors24  # noqa: E402
import dovecot_stack  # noqa: E402

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
CLIENT = os.path.join(BUILD, "tests", "bench", "auth_bench")
PASSWORD_BENCH = os.path.join(BUILD, "tests", "bench", "password_bench")
MAILBOXES = 1000
CONNECTIONS = int(os.environ.get("BENCH_AUTH_CONNECTIONS", "8"))
THREADS = int(os.environ.get("BENCH_AUTH_THREADS", "8"))
LOOKUP_THREADS = int(os.environ.get("BENCH_AUTH_LOOKUP_THREADS", "1"))
HISTORY = os.environ.get("BENCH_AUTH_HISTORY", "20")  # auth_login_history: one write per login
# "nohist": the threaded driver again with auth_login_history = 0, in the same
# run, so the history's cost is a ratio within one run (on by default when the
# history is).
SIDES = os.environ.get("BENCH_AUTH_SIDES", "anchor roster threads" + (" nohist" if HISTORY != "0" else "")).split()


def doveadm_pw(scheme):
    return subprocess.run(["doveadm", "pw", "-s", scheme, "-p", "secret"], capture_output=True, text=True,
                          check=True).stdout.strip()


# An app password (doc/dovecot.md, "App passwords"): every mailbox gets it
# (selector ABCD) beside APP_DECOYS others, and keeps an argon2id main hash;
# roster checks one SHA-256. The anchor's row stores its SHA256.HEX.
APP = "ABCD-EFGH-JKMN-PQRS-TUVW-XYZ2"
APP_NORMALISED = APP.replace("-", "")
APP_DECOYS = 4
APP_ROW = f"APP PW +{APP_DECOYS} others"
SCHEMES = [  # name, stored hash, requests
    ("PLAIN", "{PLAIN}secret", int(os.environ.get("BENCH_AUTH_PLAIN", "20000"))),
    (APP_ROW, None, int(os.environ.get("BENCH_AUTH_APP", "20000"))),
    ("SHA512-CRYPT", doveadm_pw("SHA512-CRYPT"), int(os.environ.get("BENCH_AUTH_SHA512", "3000"))),
    ("ARGON2ID m=64M t=3", doveadm_pw("ARGON2ID"), int(os.environ.get("BENCH_AUTH_ARGON2", "100"))),
]


def raw_rate(stored):
    """One core's raw crypt_r/libsodium verifications/s of this hash."""
    out = subprocess.run([PASSWORD_BENCH, "--raw"], input=stored + "\n", capture_output=True, text=True, check=True)
    return float(out.stdout)


def auth_memory_kib(instance):
    """Sum of peak RSS (VmHWM) of the instance's auth and auth-worker processes."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            if instance not in cmd or "/auth" not in cmd:
                continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def run_client(stack, domain, requests, password="secret"):
    """Returns auths/s, p50, p99, failures and the CPU microseconds per auth spent by the
    client, the Dovecot instance and MariaDB."""
    hz = os.sysconf("SC_CLK_TCK")
    before = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    proc = subprocess.Popen([CLIENT, os.path.join(stack.dir, "run", "auth-client"), str(CONNECTIONS),
                             str(requests), str(MAILBOXES), domain, password], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    after = (dovecot_stack.cpu_ticks(stack.instance_name()), dovecot_stack.cpu_ticks("mariadbd"))
    per_auth = lambda secs: 1e6 * secs / max(requests, 1)  # noqa: E731
    cpu = (per_auth(usage.ru_utime + usage.ru_stime), per_auth((after[0] - before[0]) / hz),
           per_auth((after[1] - before[1]) / hz))
    rate, p50, p99, failures = out.split()
    return float(rate), float(p50), float(p99), int(failures), cpu


def anchor_auth_blocks(stack):
    """Dovecot's own passdb/userdb sql on seed 003's table (anchors.md), for the
    installed version: 2.3 reads a dovecot-sql.conf.ext (password_query,
    user_query, %u, quota_rule); 2.4 takes the same queries in named blocks
    (%{user}; the limits as quota_storage_size / quota_message_count)."""
    if dovecot_stack.DOVECOT_24:
        return anchors24.sql_auth(stack.socket, "/var/vmail")
    sql_conf = os.path.join(stack.dir, "dovecot-sql.conf.ext")
    with open(sql_conf, "w") as f:
        f.write(f"driver = mysql\nconnect = host={stack.socket} dbname=mail user=anchor password=anchor-pw\n"
                "default_pass_scheme = CRYPT\n"
                "password_query = SELECT email AS user, password FROM user WHERE email='%u' AND active='Y'\n"
                "user_query = SELECT CONCAT('/var/vmail/', SUBSTRING_INDEX(email, '@', -1), '/', "
                "SUBSTRING_INDEX(email, '@', 1)) AS home, 8 AS uid, 8 AS gid, "
                "CONCAT('*:bytes=', max_bytes, ':messages=', max_messages) AS quota_rule "
                "FROM user WHERE email = '%u'\n")
    return (f"passdb {{\n driver = sql\n args = {sql_conf}\n}}\n"
            f"userdb {{\n driver = sql\n args = {sql_conf}\n}}\n")


def main():
    history = HISTORY
    roster = dovecot_stack.Stack(auth_conf="password_allow_plaintext = yes\nauth_rehash = no\n"
                                           "password_argon2_memory = 64M\npassword_argon2_ops = 3\n",
                                 auth_cache_size="0")
    anchor = threaded = nohist = None
    try:
        roster.start_db()
        roster.rosterctl("domain", "add", "bench.test")
        roster.sql(f"INSERT INTO mailbox (domain_id, address, max_bytes, max_messages) "
                   f"SELECT d.id, CONCAT('user', seq, '@bench.test'), 1073741824, 1000 "
                   f"FROM domain d JOIN seq_0_to_{MAILBOXES - 1} WHERE d.name = 'bench.test'")
        # The anchor: seed 003's tables and its dovecot-mysql.conf, as anchors.md describes.
        roster.sql("CREATE DATABASE mail; CREATE TABLE mail.user (id INT UNSIGNED NOT NULL AUTO_INCREMENT, "
                   "active VARCHAR(1) DEFAULT 'Y', email VARCHAR(255) CHARACTER SET latin1 NOT NULL, "
                   "password VARCHAR(255) CHARACTER SET latin1 NOT NULL DEFAULT '', "
                   "max_bytes BIGINT UNSIGNED NOT NULL DEFAULT 1073741824, "
                   "max_messages INT UNSIGNED NOT NULL DEFAULT 1000, PRIMARY KEY (id), UNIQUE KEY email (email)) "
                   "ENGINE=InnoDB DEFAULT CHARSET=utf8; "
                   f"INSERT INTO mail.user (email) SELECT CONCAT('user', seq, '@anchor.test') "
                   f"FROM seq_0_to_{MAILBOXES - 1}; "
                   "CREATE USER anchor@localhost IDENTIFIED BY 'anchor-pw'; GRANT SELECT ON mail.* TO anchor@localhost")
        anchor_auth = anchor_auth_blocks(roster)
        # The same driver in threaded mode (auth_threads): a second Dovecot on the same database.
        threaded_conf = roster.conf_with("roster-threads.conf", f"auth_threads = {THREADS}\n"
                                                                 f"auth_lookup_threads = {LOOKUP_THREADS}\n"
                                                                 f"auth_login_history = {history}\n")
        nohist_conf = roster.conf_with("roster-nohist.conf", f"auth_threads = {THREADS}\n"
                                                              f"auth_lookup_threads = {LOOKUP_THREADS}\n"
                                                              "auth_login_history = 0\n")
        threaded = dovecot_stack.Stack(db_from=roster, auth_cache_size="0",
                                       extra_conf="service auth {\n  vsz_limit = 2G\n}\n")
        threaded.conf = threaded_conf
        nohist = None
        if "nohist" in SIDES:
            nohist = dovecot_stack.Stack(db_from=roster, auth_cache_size="0",
                                         extra_conf="service auth {\n  vsz_limit = 2G\n}\n")
            nohist.conf = nohist_conf
        anchor = dovecot_stack.Stack(db_from=roster, auth_cache_size="0", auth_blocks=anchor_auth)
        roster.conf = roster.conf_with("roster-blocking.conf", f"auth_login_history = {history}\n")
        roster.start_dovecot()
        threaded.start_dovecot()
        if nohist is not None:
            nohist.start_dovecot()
        anchor.start_dovecot()
        print(f"-- 3. Dovecot {'.'.join(map(str, dovecot_stack.VERSION))} auth: driver = sql (anchor) vs roster "
              f"blocking (auth-workers) vs roster threaded (auth_threads = {THREADS}), {CONNECTIONS} auth-client "
              f"connections, {MAILBOXES} mailboxes, auth cache off, auth_login_history = {history}"
              + (" (nohist: threaded with 0)" if "nohist" in SIDES else ""))
        print(f"{'scheme':20} {'side':7} {'auths/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'fail':>5} {'auth RSS peak':>14}"
              f"  {'CPU us/auth: client':>7} {'dovecot':>7} {'mariadb':>7}")
        for name, stored, requests in SCHEMES:
            password = "secret"
            if name == APP_ROW:
                password = APP
                argon2 = doveadm_pw("ARGON2ID").replace("'", "''")
                roster.sql(f"UPDATE mailbox SET password_hash = '{argon2}'")
                roster.sql("UPDATE mail.user SET password = CONCAT('{SHA256.HEX}', "
                           f"SHA2('{APP}', 256))")
                for slot, selector in enumerate(["ABCD"] + [f"WXY{d}" for d in range(2, 2 + APP_DECOYS)]):
                    roster.sql("INSERT IGNORE INTO app_password (mailbox_id, slot, selector, secret_hash, label, "
                               f"protocols) SELECT id, {slot}, '{selector}', "
                               f"UNHEX(SHA2('{selector}{APP_NORMALISED[4:]}', 256)), 'bench', 'imap' "
                               "FROM mailbox")
            else:
                escaped = stored.replace("'", "''")
                roster.sql(f"UPDATE mailbox SET password_hash = '{escaped}'")
                roster.sql(f"UPDATE mail.user SET password = '{escaped}'")
            results = {}
            for side, stack, domain in (("anchor", anchor, "anchor.test"), ("roster", roster, "bench.test"),
                                        ("threads", threaded, "bench.test"), ("nohist", nohist, "bench.test")):
                if side not in SIDES:
                    continue
                run_client(stack, domain, max(8, requests // 10), password)  # warm up: workers, connections
                rate, p50, p99, failures, cpu = run_client(stack, domain, requests, password)
                mem = auth_memory_kib(stack.instance_name())
                results[side] = rate
                print(f"{name:20} {side:7} {rate:9.1f} {p50:8.2f} {p99:8.2f} {failures:5d} {mem / 1024:11.1f} MiB"
                      f"  {cpu[0]:7.0f} {cpu[1]:7.0f} {cpu[2]:7.0f}")
            if name not in ("PLAIN", APP_ROW):
                # The hash-bound goal: auths/s as a share of the raw rate times the cores.
                ceiling = raw_rate(stored) * os.cpu_count()
                print(f"{name:20} raw verify {ceiling / os.cpu_count():.1f}/s per core; share of raw x "
                      f"{os.cpu_count()} cores: " + ", ".join(f"{side} {rate / ceiling:.0%}"
                                                               for side, rate in results.items()))
            if "anchor" in results:
                print(f"{name:20} ratio to anchor: " + ", ".join(
                    f"{'blocking' if side == 'roster' else side} {results[side] / results['anchor']:.2f}"
                    for side in ("roster", "threads", "nohist") if side in results))
            if "threads" in results and "nohist" in results:
                print(f"{name:20} threaded, auth_login_history = {history} to 0: "
                      f"{results['threads'] / results['nohist']:.2f}")
    finally:
        for other in (anchor, threaded, nohist):
            if other is not None:
                other.stop()
        roster.stop()


if __name__ == "__main__":
    main()
