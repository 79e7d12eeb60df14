#!/usr/bin/env python3
"""hostile-bench.py: roster-policyd's memory and answer latency while 1000
hostile clients hold connections (issue 11), on a private MariaDB
(tests/policy/policyd_stack.py), with the daemon's default limits.

The hostile clients come over TCP from 127.0.0.2-127.0.0.11 (100 each, under
the per-peer cap) and reconnect whenever the daemon closes them, so there
are always HOSTILE_IDLE + HOSTILE_SLOW + HOSTILE_SILENT of them:
  - idle: connect and send nothing;
  - slow: send one byte of a request a second;
  - not reading: pipeline 2000 socketmap queries for a list whose answer is
    90 KB, and one more query a second, never reading an answer.
Meanwhile a normal client (127.0.0.1) opens a connection, asks one policy
request and one socketmap lookup, and closes, every 50 ms. Prints the
normal client's answers and latency, the daemon's RSS and CPU, and how
many hostile connections the daemon closed, by reason.

Run as root from the build directory (after make):
  top_builddir=$PWD python3 ../tests/policy/hostile-bench.py
Settings: HOSTILE_SECONDS (default 40), HOSTILE_IDLE (400), HOSTILE_SLOW
(300), HOSTILE_SILENT (300). Trusts: the stack helpers. Measures; asserts
nothing."""
import os
import resource
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import policyd_stack  # noqa: E402
from policyd_stack import dovecot_stack, netstring, policy_request, read_netstring, read_reply  # noqa: E402

SECONDS = float(os.environ.get("HOSTILE_SECONDS", "40"))
COUNTS = {"idle": int(os.environ.get("HOSTILE_IDLE", "400")), "slow": int(os.environ.get("HOSTILE_SLOW", "300")),
          "silent": int(os.environ.get("HOSTILE_SILENT", "300"))}
BIG_LIST = "big@pd.test"


def setup(stack):
    stack.start_db()
    stack.rosterctl("domain", "add", "pd.test")
    stack.sql("INSERT INTO mailbox (domain_id, address, password_hash, max_bytes) "
              "SELECT id, 'full@pd.test', '', 1000 FROM domain WHERE name = 'pd.test'; "
              "INSERT INTO mailbox_usage (mailbox_id, bytes, messages) SELECT id, 1000, 1 FROM mailbox; "
              f"INSERT INTO subscription (address, direction, recipient) SELECT '{BIG_LIST}', 'I', "
              "CONCAT('member-', LPAD(seq, 5, '0'), '@elsewhere.test') FROM seq_0_to_2999")


class Hostile:
    def __init__(self, kind, n, policy_port, socketmap_port):
        self.kind, self.n = kind, n
        self.port = socketmap_port if kind == "silent" else policy_port
        self.sock, self.pending, self.reconnects, self.slow = None, b"", -1, b""

    def connect(self):
        if self.sock is not None:
            self.sock.close()
        self.reconnects += 1
        s = socket.socket()
        s.bind((f"127.0.0.{2 + self.n % 10}", 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", self.port))
        s.setblocking(False)
        self.sock = s
        self.pending = netstring(f"aliases {BIG_LIST}") * 2000 if self.kind == "silent" else b""
        self.slow = policy_request("full@pd.test", padding="x" * 1000).encode()

    def tick(self):
        """Once a second: sends its bit; False when the daemon closed it."""
        try:
            if self.kind == "idle":
                return self.sock.recv(1, socket.MSG_PEEK) != b""
            if self.kind == "slow":
                self.sock.send(self.slow[:1])
                self.slow = self.slow[1:] or self.slow
                return True
            self.pending += netstring(f"aliases {BIG_LIST}")
            sent = self.sock.send(self.pending)
            self.pending = self.pending[sent:]
            return True
        except BlockingIOError:
            return True
        except OSError:
            return False


def normal_client(d, stop, results):
    while not stop.is_set():
        start = time.time()
        try:
            with socket.create_connection(("127.0.0.1", d.policy_port), timeout=10) as c:
                c.sendall(policy_request("full@pd.test").encode())
                ok = read_reply(c).startswith("452")
            with socket.create_connection(("127.0.0.1", d.socketmap_port), timeout=10) as c:
                c.sendall(netstring("domains pd.test"))
                ok = ok and read_netstring(c) == "OK pd.test"
        except (OSError, ConnectionError, AssertionError):
            ok = False
        results.append((ok, time.time() - start))
        stop.wait(0.05)


def left_out(line):
    """N of "warning: N more line(s) of this kind (...) were not logged", else 0."""
    if "were not logged" not in line:
        return 0
    return int(line.split(": ")[-1].split()[0])


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def main():
    if os.getuid() != 0:
        print("SKIP: must run as root")
        return 77
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stack = dovecot_stack.Stack()
    d = None
    try:
        setup(stack)
        d = policyd_stack.Policyd(stack).start(nofile=4096)
        assert d.ask("full@pd.test").startswith("452")
        rss_start = d.rss_kib()
        hostile = []
        for kind, count in COUNTS.items():
            for _ in range(count):
                h = Hostile(kind, len(hostile), d.policy_port, d.socketmap_port)
                h.connect()
                hostile.append(h)
        rss_connected = d.rss_kib()
        stop, results = threading.Event(), []
        client = threading.Thread(target=normal_client, args=(d, stop, results))
        hz = os.sysconf("SC_CLK_TCK")
        ticks, start = d.cpu_ticks(), time.time()
        client.start()
        rss_peak = 0
        while time.time() - start < SECONDS:
            for h in hostile:
                if not h.tick():
                    try:
                        h.connect()
                    except OSError:
                        pass
            rss_peak = max(rss_peak, d.rss_kib())
            time.sleep(max(0.0, 1 - (time.time() - start) % 1))
        stop.set()
        client.join()
        elapsed = time.time() - start
        cpu = (d.cpu_ticks() - ticks) / hz
        rss_end = d.rss_kib()
        log = d.log()
        latencies = [t * 1000 for ok, t in results if ok]
        failed = sum(1 for ok, _ in results if not ok)
        print(f"hostile clients: {COUNTS['idle']} idle, {COUNTS['slow']} slow (a byte a second), "
              f"{COUNTS['silent']} not reading (pipelined socketmap queries, 90 KB answers); "
              f"reconnected after being closed: " +
              ", ".join(f"{k} {sum(h.reconnects for h in hostile if h.kind == k)}" for k in COUNTS))
        print(f"normal client over {elapsed:.0f} s: {len(results)} rounds (a policy request and a socketmap "
              f"lookup, each on a new connection), {len(latencies)} answered, {failed} failed; round trip "
              f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
              f"max {max(latencies, default=float('nan')):.1f} ms")
        print(f"roster-policyd: RSS {rss_start / 1024:.1f} MiB before, {rss_connected / 1024:.1f} MiB with the "
              f"hostile clients connected, peak {rss_peak / 1024:.1f} MiB, end {rss_end / 1024:.1f} MiB; "
              f"CPU {100 * cpu / elapsed:.0f}% of one core")
        print("closed by roster-policyd (log lines, rate-limited): "
              f"idle evicted {log.count('closing the idle connection')}, "
              f"request timeout {log.count('(policy_request_timeout)')}, "
              f"write timeout {log.count('(policy_write_timeout)')}, "
              f"per-peer refusals {log.count('refusing a connection')}, "
              f"lines left out {sum(left_out(line) for line in log.splitlines())}")
        for h in hostile:
            h.sock.close()
        return 0
    finally:
        if d is not None:
            d.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
