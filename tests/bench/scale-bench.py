#!/usr/bin/env python3
"""scale-bench: how roster's cost grows with the number of mailboxes (issue
16: 1,000, 100,000 and 1,000,000; goal: lookups and policy answers flat
within 20 %, the userdb iteration linear, nothing that loads every mailbox
into memory). Each size has a private MariaDB of its own
(tests/db/mariadb-private), with its own Dovecot and roster-policyd, filled
by SQL alone (INSERT ... SELECT from the sequence engine), so that the
rounds can take turns between the sizes (BENCH_SCALE_REPEAT rounds, default
3; the figures are the medians of the rounds): the load of a shared machine
then falls on every size alike. Each database holds:
  - mailboxes user0..user{N-1}@bench.test, all with one shared password hash
    ({PLAIN}secret: the lookup's cost, not the hash's, is what grows), 1 GiB /
    1000 messages, a usage row each with every tenth mailbox over quota (half
    at the byte, half at the message limit), a third of them on unit1 and a
    third on unit2 (seed 004's units, each with a host and unit2 with a
    transport);
  - N/10 aliases alias{k}@bench.test (incoming subscriptions), each to one
    mailbox, every tenth to four;
  - N/100 more domains d{k}.test without mailboxes, half with a transport.
For each size it measures, on the same database, with the same clients:
  auth      a real Dovecot's auth with roster's passdb/userdb (auth cache off,
            auth_threads BENCH_SCALE_AUTH_THREADS, default 0 = Dovecot's
            auth-workers; auth_login_history at its default, 20: a login writes
            its history row), tests/bench/auth_bench over the auth-client socket:
            PLAIN logins of random mailboxes across the whole set; then the same
            on a second Dovecot with auth_login_history = 0 (the lookup alone,
            no write; BENCH_SCALE_AUTH_NOHIST=0 leaves it out). Mind that a
            login raises mailbox.last_login_at only when it is a minute old:
            at 1,000 mailboxes nearly every login of a run finds it fresh and
            skips that UPDATE, at 1,000,000 nearly none does, so the history
            side grows with the size for a reason of the bench's (each login
            of the large set is its mailbox's first in a minute, as on a real
            server); the no-history side is the lookup's own cost;
  policy    roster-policyd, policy_cache_ttl = 0 (every answer from the
            database), tests/bench/policy_bench: RCPT requests for random
            recipients across the set (80 % mailboxes, 15 % aliases, 5 %
            unknown addresses of the domain);
  socketmap roster-policyd's tables mailboxes, aliases, transport (random
            mailbox addresses, aliases, domains d{k}.test for transport), a
            Python client: BENCH_SCALE_SOCKETMAP_CLIENTS processes, one query
            in flight each;
  iterate   `doveadm user '*'` (the userdb iteration, in pages of 1000 in
            roster's driver) over the whole set: time, mailboxes listed, and the
            peak VmRSS of the auth processes sampled while it runs beside their
            VmRSS before;
  list      `rosterctl mailbox list bench.test`: time to its first page (1000
            rows), to BENCH_SCALE_LIST_PAGES pages, and rosterctl's peak RSS; and
            the first page of `--sort -usage` (the database sorts the domain);
  size      the database's size (information_schema data_length +
            index_length) and the rows of the big tables.
Then a summary per size with the ratio largest size / smallest.
BENCH_SCALE_BACKENDS="single galera" adds the same figures on a three-node
Galera cluster on this machine (tests/scale/galera.py and netns.py, or those
in BENCH_SCALE_GALERA_DIR: the nodes talk Galera over a private bridge in
network namespaces, wsrep_sync_wait = 1; roster's db_hosts lists their unix
sockets, node 1 first), grown from size to size, its rounds taking turns
with the single server of the same size, and a ratio galera / single per
size. The InnoDB buffer pool is set to BENCH_SCALE_BUFFER_POOL (default 1G, so that
1,000,000 mailboxes fit as they would on a server sized for them; "" keeps
mariadb-private's 128M).
It trusts the clients' counts and /proc; figures only: nothing is asserted."""
import concurrent.futures
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dovecot"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "policy"))
import dovecot_stack  # noqa: E402
import policyd_stack  # noqa: E402

BUILD = dovecot_stack.BUILDDIR
AUTH_CLIENT = os.path.join(BUILD, "tests", "bench", "auth_bench")
POLICY_CLIENT = os.path.join(BUILD, "tests", "bench", "policy_bench")
POLICYD = os.path.join(BUILD, "policy", "roster-policyd")
DOMAIN = "bench.test"
MAX_BYTES = 1073741824
MAX_MESSAGES = 1000
PASSWORD = "secret"

SIZES = [int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "1000 100000 1000000").split()]
REPEAT = int(os.environ.get("BENCH_SCALE_REPEAT", "3"))
AUTH_REQUESTS = int(os.environ.get("BENCH_SCALE_AUTH_REQUESTS", "20000"))
AUTH_CONNECTIONS = int(os.environ.get("BENCH_SCALE_AUTH_CONNECTIONS", "8"))
AUTH_THREADS = int(os.environ.get("BENCH_SCALE_AUTH_THREADS", "0"))
AUTH_NOHIST = os.environ.get("BENCH_SCALE_AUTH_NOHIST", "1") != "0"
POLICY_REQUESTS = int(os.environ.get("BENCH_SCALE_POLICY_REQUESTS", "50000"))
POLICY_CONNECTIONS = int(os.environ.get("BENCH_SCALE_POLICY_CONNECTIONS", "8"))
SOCKETMAP_REQUESTS = int(os.environ.get("BENCH_SCALE_SOCKETMAP_REQUESTS", "20000"))
SOCKETMAP_CLIENTS = int(os.environ.get("BENCH_SCALE_SOCKETMAP_CLIENTS", "4"))
LIST_PAGES = int(os.environ.get("BENCH_SCALE_LIST_PAGES", "100"))
BUFFER_POOL = os.environ.get("BENCH_SCALE_BUFFER_POOL", "1G")
# "single": one private MariaDB; "galera": a three-node Galera cluster (tests/scale/galera.py) on this machine.
BACKENDS = os.environ.get("BENCH_SCALE_BACKENDS", "single").split()
FILL_CHUNK = 250000  # rows per INSERT ... SELECT: no transaction of a million rows


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1)))] if values else 0.0


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_matching(*parts):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if all(p in cmd for p in parts):
            found.append(int(pid))
    return found


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def size_bytes(text):
    """128M, 1G, or bytes."""
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


# ------------------------------------------------------------------ the data

def seq(lo, hi):
    """MariaDB's sequence table of lo..hi-1 (hi > lo)."""
    return f"seq_{lo}_to_{hi - 1}"


def grow(stack, old, new, chunk=FILL_CHUNK):
    """Mailboxes, usage, aliases and domains from size `old` to size `new`."""
    t0 = time.monotonic()
    hash_ = "{PLAIN}" + PASSWORD
    for lo in range(old, new, chunk):
        hi = min(new, lo + chunk)
        stack.sql("INSERT INTO mailbox (domain_id, address, password_hash, max_bytes, max_messages, unit) "
                  f"SELECT d.id, CONCAT('user', seq, '@{DOMAIN}'), '{hash_}', {MAX_BYTES}, {MAX_MESSAGES}, "
                  f"ELT(1 + seq % 3, '', 'unit1', 'unit2') FROM domain d JOIN {seq(lo, hi)} "
                  f"WHERE d.name = '{DOMAIN}'")
        stack.sql("INSERT INTO mailbox_usage (mailbox_id, bytes, messages) "
                  f"SELECT m.id, IF(s.seq % 20 = 0, {MAX_BYTES}, (s.seq * 1000) % 500000000), "
                  f"IF(s.seq % 20 = 10, {MAX_MESSAGES}, s.seq % 100) "
                  f"FROM {seq(lo, hi)} s JOIN mailbox m ON m.lookup_key = CONCAT('user', s.seq, '@{DOMAIN}')")
    a_lo, a_hi = old // 10, new // 10
    if a_hi > a_lo:
        # Each alias to one mailbox of the set as it is now; every tenth to four.
        stack.sql("INSERT IGNORE INTO subscription (direction, address, recipient) "
                  f"SELECT 'I', CONCAT('alias', seq, '@{DOMAIN}'), CONCAT('user', (seq * 7919) % {new}, '@{DOMAIN}') "
                  f"FROM {seq(a_lo, a_hi)}")
        stack.sql("INSERT IGNORE INTO subscription (direction, address, recipient) "
                  f"SELECT 'I', CONCAT('alias', s.seq, '@{DOMAIN}'), "
                  f"CONCAT('user', (s.seq * 7919 + j.seq * 104729) % {new}, '@{DOMAIN}') "
                  f"FROM {seq(a_lo, a_hi)} s JOIN seq_1_to_3 j WHERE s.seq % 10 = 0")
    d_lo, d_hi = old // 100, new // 100
    if d_hi > d_lo:
        stack.sql("INSERT INTO domain (name, transport) "
                  f"SELECT CONCAT('d', seq, '.test'), IF(seq % 2 = 1, 'smtp:[relay.test]', '') FROM {seq(d_lo, d_hi)}")
    stack.sql("ANALYZE TABLE domain, mailbox, mailbox_usage, subscription")
    return time.monotonic() - t0


def db_size(stack):
    """(total bytes, {table: bytes}) of roster's schema."""
    rows = stack.sql("SELECT table_name, data_length + index_length FROM information_schema.tables "
                     "WHERE table_schema = 'roster'")
    tables = {}
    for line in rows.splitlines():
        name, size = line.split("\t")
        tables[name] = int(size)
    return sum(tables.values()), tables


# ------------------------------------------------------------------ the measurements

def measure_auth(stack, n):
    """auths/s, p50, p99 (ms), failures of random logins across the set."""
    sock = os.path.join(stack.dir, "run", "auth-client")
    args = [AUTH_CLIENT, sock, str(AUTH_CONNECTIONS)]
    subprocess.run(args + [str(max(AUTH_CONNECTIONS, AUTH_REQUESTS // 10)), str(n), DOMAIN, PASSWORD],
                   capture_output=True, text=True)  # warm up: workers, connections
    out = subprocess.run(args + [str(AUTH_REQUESTS), str(n), DOMAIN, PASSWORD], capture_output=True, text=True)
    fields = out.stdout.split()
    if len(fields) != 4:
        raise RuntimeError(f"auth_bench exited {out.returncode}: {out.stdout!r} {out.stderr!r}")
    return float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])


def recipients_file(path, n, count, rng):
    """count random recipients across the set: 80 % mailboxes, 15 % aliases, 5 % unknown."""
    aliases = max(1, n // 10)
    with open(path, "w") as f:
        for _ in range(count):
            r = rng.random()
            if r < 0.80:
                f.write(f"user{rng.randrange(n)}@{DOMAIN}\n")
            elif r < 0.95:
                f.write(f"alias{rng.randrange(aliases)}@{DOMAIN}\n")
            else:
                f.write(f"nobody{rng.randrange(n)}@{DOMAIN}\n")


def measure_policy(policyd, recipients):
    """requests/s, p50, p99 (ms), failures, actions, and roster-policyd's CPU us a request."""
    hz = os.sysconf("SC_CLK_TCK")
    args = [POLICY_CLIENT, f"127.0.0.1:{policyd.policy_port}", str(POLICY_CONNECTIONS)]
    subprocess.run(args + [str(max(POLICY_CONNECTIONS * 10, POLICY_REQUESTS // 10)), recipients],
                   capture_output=True, text=True)  # warm up
    before = proc_ticks(policyd.proc.pid)
    out = subprocess.run(args + [str(POLICY_REQUESTS), recipients], capture_output=True, text=True)
    cpu = 1e6 * (proc_ticks(policyd.proc.pid) - before) / hz / max(POLICY_REQUESTS, 1)
    fields = out.stdout.split()
    if len(fields) != 5:
        raise RuntimeError(f"policy_bench exited {out.returncode}: {out.stdout!r} {out.stderr!r}")
    return float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3]), fields[4], cpu


def socketmap_worker(port, queries):
    """One connection, one query in flight: (latencies in s, failures, answers by kind)."""
    lat, bad, kinds = [], 0, {}
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        for q in queries:
            data = q.encode()
            t0 = time.perf_counter()
            s.sendall(str(len(data)).encode() + b":" + data + b",")
            while True:
                colon = buf.find(b":")
                if colon > 0:
                    need = colon + 1 + int(buf[:colon]) + 1
                    if len(buf) >= need:
                        break
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("socketmap closed")
                buf += chunk
            lat.append(time.perf_counter() - t0)
            answer = buf[colon + 1:need - 1].decode(errors="replace")
            buf = buf[need:]
            kind = answer.split(" ", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            if kind not in ("OK", "NOTFOUND"):
                bad += 1
    return lat, bad, kinds


def socketmap_queries(table, n, count, rng):
    aliases, domains = max(1, n // 10), max(1, n // 100)
    out = []
    for _ in range(count):
        r = rng.random()
        if table == "mailboxes":
            key = f"user{rng.randrange(n)}@{DOMAIN}" if r < 0.9 else f"nobody{rng.randrange(n)}@{DOMAIN}"
        elif table == "aliases":
            key = f"alias{rng.randrange(aliases)}@{DOMAIN}" if r < 0.7 else f"user{rng.randrange(n)}@{DOMAIN}"
        else:  # transport: a recipient address (units), or a domain's name
            key = f"user{rng.randrange(n)}@{DOMAIN}" if r < 0.7 else f"d{rng.randrange(domains)}.test"
        out.append(f"{table} {key}")
    return out


def measure_socketmap(pool, policyd, table, n, rng):
    """lookups/s, p50, p99 (ms), failures, answers."""
    per = max(1, SOCKETMAP_REQUESTS // SOCKETMAP_CLIENTS)
    shares = [socketmap_queries(table, n, per, rng) for _ in range(SOCKETMAP_CLIENTS)]
    list(pool.map(socketmap_worker, [policyd.socketmap_port] * SOCKETMAP_CLIENTS,
                  [s[:max(1, per // 10)] for s in shares]))  # warm up
    t0 = time.perf_counter()
    results = list(pool.map(socketmap_worker, [policyd.socketmap_port] * SOCKETMAP_CLIENTS, shares))
    secs = time.perf_counter() - t0
    lat = [x for r in results for x in r[0]]
    kinds = {}
    for r in results:
        for k, v in r[2].items():
            kinds[k] = kinds.get(k, 0) + v
    return (len(lat) / secs, percentile(lat, 0.5) * 1000, percentile(lat, 0.99) * 1000, sum(r[1] for r in results),
            ",".join(f"{k}:{v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))


class RssSampler:
    """Samples the summed VmRSS of the processes a function names, every 50 ms, in a thread: the peak."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.peak = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_flag.is_set():
            self.peak = max(self.peak, sum(proc_status_kib(p, "VmRSS") for p in self.pids_fn()))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()


def measure_iterate(stack):
    """seconds, users listed, auth processes' VmRSS before and peak during (KiB), doveadm's exit."""
    auth_pids = lambda: pids_matching(stack.instance_name(), "auth")  # noqa: E731
    before = sum(proc_status_kib(p, "VmRSS") for p in auth_pids())
    enter = ["nsenter", "-t", str(stack.dovecot.pid), "-m", "-r", "-w"]
    with RssSampler(auth_pids) as sampler:
        t0 = time.monotonic()
        proc = subprocess.Popen([*enter, "doveadm", "-c", stack.dovecot_conf, "user", "*"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        users = sum(1 for _ in proc.stdout)
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.wait()
        secs = time.monotonic() - t0
    return secs, users, before, sampler.peak, proc.returncode, err[-300:]


def measure_list(stack, pages, sort=None):
    """Seconds to the first page (1000 rows), to `pages` pages (or the end), rows read, rosterctl's peak RSS (KiB)."""
    args = [dovecot_stack.ROSTERCTL, "--config", stack.conf, "mailbox", "list", DOMAIN]
    if sort:
        args += ["--sort", sort]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    rows, first, peak = -1, None, 0  # the header is not a row
    for _ in proc.stdout:
        rows += 1
        if rows == 1000:
            first = time.monotonic() - t0
            peak = max(peak, proc_status_kib(proc.pid, "VmHWM"))
        if rows >= pages * 1000:
            peak = max(peak, proc_status_kib(proc.pid, "VmHWM"))
            break
    walk = time.monotonic() - t0
    if proc.poll() is None:
        proc.kill()
    proc.stdout.close()
    proc.wait()
    return first if first is not None else walk, walk, rows, peak


# ------------------------------------------------------------------ the run

def human(n):
    for unit, div in (("M", 1000000), ("k", 1000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def measure_size(stack, policyd, pool, n, rnd, rng, backend, nohist=None):
    r = {}
    r["auth"] = measure_auth(stack, n)
    if nohist is not None:
        r["auth_nohist"] = measure_auth(nohist, n)
    recipients = os.path.join(stack.dir, "recipients")
    recipients_file(recipients, n, POLICY_REQUESTS, rng)
    r["policy"] = measure_policy(policyd, recipients)
    for table in ("mailboxes", "aliases", "transport"):
        r[table] = measure_socketmap(pool, policyd, table, n, rng)
    r["iterate"] = measure_iterate(stack)
    r["list"] = measure_list(stack, LIST_PAGES)
    r["list_sorted"] = measure_list(stack, 1, sort="-usage")
    r["policyd_rss"] = proc_status_kib(policyd.proc.pid, "VmRSS")
    print_size(backend, n, rnd, r)
    return r


def print_size(backend, n, rnd, r):
    rate, p50, p99, fail = r["auth"]
    print(f"-- {backend}, {human(n)} mailboxes, round {rnd + 1}, load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"   {'what':34} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'fail':>5}  notes")
    print(f"   {'auth: PLAIN logins (auth_bench)':34} {rate:9.1f} {p50:8.2f} {p99:8.2f} {fail:5d}  "
          f"{AUTH_CONNECTIONS} connections, auth cache off")
    if "auth_nohist" in r:
        rate, p50, p99, fail = r["auth_nohist"]
        print(f"   {'auth: the same, no login history':34} {rate:9.1f} {p50:8.2f} {p99:8.2f} {fail:5d}  "
              "auth_login_history = 0: the lookup without its write")
    rate, p50, p99, fail, actions, cpu = r["policy"]
    print(f"   {'policy: RCPT, cache off':34} {rate:9.1f} {p50:8.3f} {p99:8.3f} {fail:5d}  "
          f"{POLICY_CONNECTIONS} connections, {actions}, roster-policyd {cpu:.0f} us CPU/request")
    for table in ("mailboxes", "aliases", "transport"):
        rate, p50, p99, fail, kinds = r[table]
        print(f"   {'socketmap ' + table:34} {rate:9.1f} {p50:8.3f} {p99:8.3f} {fail:5d}  "
              f"{SOCKETMAP_CLIENTS} clients, {kinds}")
    secs, users, before, peak, rc, err = r["iterate"]
    print(f"   doveadm user '*': {secs:.2f} s for {users} users ({1e6 * secs / max(users, 1):.2f} us each), "
          f"exit {rc}; auth processes' VmRSS {before / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB during"
          + (f"; stderr: {err}" if err else ""))
    first, walk, rows, peak = r["list"]
    print(f"   rosterctl mailbox list {DOMAIN}: first page {first * 1000:.0f} ms, {rows} rows "
          f"({(rows + 999) // 1000} pages) in {walk:.2f} s, rosterctl peak RSS {peak / 1024:.1f} MiB")
    first, _, _, peak = r["list_sorted"]
    print(f"   rosterctl mailbox list {DOMAIN} --sort -usage: first page {first * 1000:.0f} ms, "
          f"rosterctl peak RSS {peak / 1024:.1f} MiB")
    print(f"   roster-policyd VmRSS after the size's runs: {r['policyd_rss'] / 1024:.1f} MiB")
    sys.stdout.flush()


FIGURES = [("auth logins/s", lambda r: r["auth"][0]), ("auth p99 ms", lambda r: r["auth"][2]),
           ("auth no history logins/s", lambda r: r.get("auth_nohist", (0, 0, 0))[0]),
           ("auth no history p99 ms", lambda r: r.get("auth_nohist", (0, 0, 0))[2]),
           ("policy req/s", lambda r: r["policy"][0]), ("policy p99 ms", lambda r: r["policy"][2]),
           ("socketmap mailboxes/s", lambda r: r["mailboxes"][0]), ("socketmap aliases/s", lambda r: r["aliases"][0]),
           ("socketmap transport/s", lambda r: r["transport"][0]),
           ("socketmap mailboxes p99 ms", lambda r: r["mailboxes"][2]),
           ("iterate s", lambda r: r["iterate"][0]),
           ("iterate us/user", lambda r: 1e6 * r["iterate"][0] / max(r["iterate"][1], 1)),
           ("iterate auth RSS peak MiB", lambda r: r["iterate"][3] / 1024),
           ("list first page ms", lambda r: r["list"][0] * 1000),
           ("list ms/page (walk)", lambda r: 1000 * r["list"][1] / max(1, (r["list"][2] + 999) // 1000)),
           ("list --sort -usage 1st page ms", lambda r: r["list_sorted"][0] * 1000),
           ("roster-policyd RSS MiB", lambda r: r["policyd_rss"] / 1024)]


def median_figure(by_size, n, get):
    return statistics.median([get(r) for r in by_size[n]["rounds"]])


def summary(backend, by_size):
    sizes = sorted(by_size)
    print(f"== summary, {backend} (per size: the median of its rounds for each figure)")
    print(f"   {'figure':32}" + "".join(f" {human(n):>10}" for n in sizes)
          + (f" {human(sizes[-1]) + '/' + human(sizes[0]):>10}" if len(sizes) > 1 else ""))
    for name, get in FIGURES:
        values = [median_figure(by_size, n, get) for n in sizes]
        if not any(values):
            continue
        line = f"   {name:32}" + "".join(f" {v:10.2f}" for v in values)
        if len(sizes) > 1 and values[0]:
            line += f" {values[-1] / values[0]:10.2f}"
        print(line)
    print(f"   {'database MiB':32}" + "".join(f" {by_size[n]['size'][0] / 2**20:10.1f}" for n in sizes))
    print(f"   {'fill s (from the size before)':32}" + "".join(f" {by_size[n]['fill']:10.1f}" for n in sizes))
    print("   goal: lookups and policy answers within 20 % from the smallest to the largest size (ratio 0.80..1.20 "
          "for rates, p99 ratio <= 1.20); iterate us/user flat (linear); RSS flat")
    sys.stdout.flush()


def compare(single, cluster):
    """Galera beside the single server, size by size: the ratio galera/single of each figure (the single
    server's rounds those that took turns with the cluster's)."""
    sizes = sorted(set(single) & set(cluster))
    print("== galera / single, per size (the medians' ratio; the single server's rounds taken in turn with "
          "the cluster's)")
    print(f"   {'figure':32}" + "".join(f" {human(n):>10}" for n in sizes))
    for name, get in FIGURES:
        line = f"   {name:32}"
        for n in sizes:
            a, b = median_figure(single, n, get), median_figure(cluster, n, get)
            line += f" {b / a:10.2f}" if a else f" {'-':>10}"
        print(line)


def galera_modules():
    """tests/scale/netns.py and galera.py (BENCH_SCALE_GALERA_DIR: where they are, if not in this tree)."""
    where = os.environ.get("BENCH_SCALE_GALERA_DIR") or os.path.join(dovecot_stack.SRCDIR, "tests", "scale")
    if not os.path.exists(os.path.join(where, "galera.py")):
        return None, None, f"no galera.py in {where}"
    sys.path.insert(0, where)
    import galera  # noqa: E402
    import netns  # noqa: E402
    missing = netns.missing_programs() or galera.missing_programs()
    return (None, None, missing) if missing else (galera, netns, "")


class Backend:
    """One database with roster's schema and its own Dovecot and
    roster-policyd on it: a private MariaDB ("single") or a three-node Galera
    cluster on this machine ("galera", from tests/scale/galera.py; its nodes
    talk Galera over a private bridge in network namespaces, roster reaches
    them over their unix sockets)."""

    def __init__(self, kind, auth_conf):
        self.kind = kind
        self.have = 0
        self.stack = self.nohist = self.policyd = self.cluster = self.network = self.workdir = None
        stack_args = dict(auth_conf=auth_conf, auth_cache_size="0", extra_conf="service auth {\n  vsz_limit = 2G\n}\n")
        if kind == "galera":
            galera, netns, missing = galera_modules()
            if missing:
                raise RuntimeError(missing)
            self.network = netns.Network(prefix="10.16.9")
            hosts = [self.network.add_host(f"db{i}", i) for i in (1, 2, 3)]
            self.workdir = tempfile.mkdtemp(prefix="roster-scale-galera-")
            os.chmod(self.workdir, 0o755)
            # The bench's buffer pool on every node (the module's 32M is for functional tests).
            # wsrep_sync_wait = 1 on every node: every read waits for the
            # cluster's last write, as the MX's with db_sync_wait = 1 (the
            # dearest case; doc/scale-out.md).
            self.cluster = galera.Cluster(hosts, self.workdir, sync_wait=1,
                                          extra=f"innodb_buffer_pool_size = {BUFFER_POOL or '128M'}\n")
            t0 = time.monotonic()
            self.cluster.start()
            print(f"== galera: three nodes Synced in {time.monotonic() - t0:.1f} s (wsrep_sync_wait = "
                  f"{self.cluster.sync_wait}; roster's db_hosts: the nodes' sockets, node 1 first)")
            # dovecot_stack's Stack on the cluster's nodes over their unix
            # sockets (db_hosts lists the three in order: roster uses the
            # first and fails over to the next); the schema made by `rosterctl
            # db init` on node 1 and replicated; db_read_timeout above a
            # node's loss (doc/scale-out.md).
            self.stack = dovecot_stack.Stack(**stack_args)
            self.stack.start_db(sockets=[n.socket for n in self.cluster.nodes], timeout="10s")
        else:
            self.stack = dovecot_stack.Stack(**stack_args)
            self.stack.start_db()
        if BUFFER_POOL and kind == "single":
            self.stack.sql(f"SET GLOBAL innodb_buffer_pool_size = {size_bytes(BUFFER_POOL)}")
            time.sleep(1)  # the resize runs in the background
        if AUTH_NOHIST:
            # A second Dovecot on the same database whose logins write no history.
            self.nohist = dovecot_stack.Stack(db_from=self.stack, **stack_args)
            self.nohist.conf = self.stack.conf_with("nohist.conf", "auth_login_history = 0\n")
        self.pool_mib = int(self.stack.sql("SELECT @@innodb_buffer_pool_size").strip()) / 2**20
        self.stack.rosterctl("domain", "add", DOMAIN)
        self.stack.sql("INSERT INTO unit (name, host, transport) VALUES ('unit1', '192.0.2.1', ''), "
                       "('unit2', '192.0.2.2', 'relay:[192.0.2.2]')")

    def grow_to(self, n):
        # Galera replicates a transaction as one write set: smaller ones for the cluster.
        fill = grow(self.stack, self.have, n, 50000 if self.cluster else FILL_CHUNK)
        self.have = n
        self.size = db_size(self.stack)
        counts = self.stack.sql("SELECT (SELECT COUNT(*) FROM mailbox), (SELECT COUNT(*) FROM subscription), "
                                "(SELECT COUNT(DISTINCT address) FROM subscription), (SELECT COUNT(*) FROM domain)"
                                ).split()
        print(f"== {self.kind} {human(n)}: filled in {fill:.1f} s: {counts[0]} mailboxes, {counts[2]} aliases with "
              f"{counts[1]} subscriptions, {counts[3]} domains; database {self.size[0] / 2**20:.1f} MiB ("
              + ", ".join(f"{t} {b / 2**20:.1f}" for t, b in sorted(self.size[1].items(), key=lambda kv: -kv[1])[:5])
              + f"); InnoDB buffer pool {self.pool_mib:.0f} MiB")
        sys.stdout.flush()
        return fill

    def measure(self, pool, rnd, rng):
        if self.stack.dovecot is None:
            self.stack.start_dovecot()
            # roster-policyd as the policy tests run it, every answer from the database.
            self.policyd = policyd_stack.Policyd(self.stack, "policy_cache_ttl = 0\n"
                                                 "policy_max_connections_per_peer = 2000\n").start()
            if self.nohist is not None:
                self.nohist.start_dovecot()
        return measure_size(self.stack, self.policyd, pool, self.have, rnd, rng, self.kind, self.nohist)

    def close(self):
        for step in (lambda: self.policyd and self.policyd.stop(), lambda: self.nohist and self.nohist.stop(),
                     lambda: self.stack and self.stack.stop(),
                     lambda: self.cluster and (self.cluster.stop(), self.cluster.close()),
                     lambda: self.network and self.network.close()):
            try:
                step()
            except Exception as e:  # clean up the rest regardless
                print(f"   cleanup: {e}")
        if self.workdir and not os.environ.get("ROSTER_KEEP_TEST_DIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    for path in (AUTH_CLIENT, POLICY_CLIENT, POLICYD):
        if not os.path.exists(path):
            sys.exit(f"scale-bench: {path} is not built (make bench-scale builds it)")
    print(f"== roster scale bench: {os.cpu_count()} cores, sizes {' '.join(map(human, SIZES))}, {REPEAT} round(s) each, "
          f"backends {' '.join(BACKENDS)}, load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    auth_conf = "password_allow_plaintext = yes\nauth_rehash = no\n"
    if AUTH_THREADS:
        auth_conf += f"auth_threads = {AUTH_THREADS}\n"
    print(f"   Dovecot {'.'.join(map(str, dovecot_stack.VERSION))}, auth_threads = {AUTH_THREADS}, auth_login_history 20 "
          f"(default), auth cache off; every mailbox's hash {{PLAIN}}{PASSWORD} (one shared hash); "
          f"roster-policyd policy_cache_ttl = 0")
    pool = concurrent.futures.ProcessPoolExecutor(SOCKETMAP_CLIENTS, mp_context=multiprocessing.get_context("fork"))
    singles, cluster = {}, None
    rng = random.Random(16)
    try:
        # One private MariaDB per size, each with its own Dovecot and
        # roster-policyd, so that the rounds can take turns between the sizes:
        # the machine's other load then falls on every size alike.
        if "single" in BACKENDS:
            for n in sorted(SIZES):
                singles[n] = Backend("single", auth_conf)
                fills = singles[n].grow_to(n)
                singles[n].fill = fills
            by_size = {n: {"rounds": [], "size": b.size, "fill": b.fill} for n, b in singles.items()}
            for rnd in range(REPEAT):
                for n in sorted(singles):
                    by_size[n]["rounds"].append(singles[n].measure(pool, rnd, rng))
            summary("single", by_size)
        if "galera" in BACKENDS:
            try:
                cluster = Backend("galera", auth_conf)
            except RuntimeError as e:
                print(f"== galera: skipped ({e})")
        if cluster is not None:
            # One cluster grown from size to size; at each size its rounds take
            # turns with the single server of that size (when there is one).
            by_size, beside = {}, {}
            for n in sorted(SIZES):
                fill = cluster.grow_to(n)
                by_size[n] = {"rounds": [], "size": cluster.size, "fill": fill}
                if n in singles:
                    beside[n] = {"rounds": [], "size": singles[n].size, "fill": singles[n].fill}
                for rnd in range(REPEAT):
                    by_size[n]["rounds"].append(cluster.measure(pool, rnd, rng))
                    if n in singles:
                        beside[n]["rounds"].append(singles[n].measure(pool, rnd, rng))
            summary("galera", by_size)
            if beside:
                compare(beside, by_size)
    finally:
        pool.shutdown()
        if cluster is not None:
            cluster.close()
        for b in singles.values():
            b.close()


if __name__ == "__main__":
    main()
