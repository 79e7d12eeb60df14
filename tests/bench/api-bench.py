#!/usr/bin/env python3
"""api-bench: roster-apid at 100,000 mailboxes (issue 14's goals), beside its
anchor in the same run on the same private MariaDB: the database's own cost
of the same work, asked by the mariadb client over one connection.
  10. a mailbox listing page (GET /v1/domains/D/mailboxes?limit=100 at a
      random point of the listing, through its cursor), BENCH_API_CLIENTS
      clients (default 4) with kept-alive connections over the unix socket:
      pages/s, p50 and p99 (goal: p99 <= 50 ms); the anchor runs the page's
      keyset query (the statement roster prepares, as text) for the same
      starting points;
  11. the whole listing, 100,000 mailboxes page by page (limit=1000), one
      client (goal: under 10 s), beside the same pages as keyset queries;
  12. a password change (PUT /v1/mailboxes/A/password: an argon2id hash at
      roster's default settings, the change log, Dovecot's auth-cache flush),
      BENCH_API_CLIENTS clients: changes/s, p50 and p99.
  13. a page of 100 sorted by usage, descending (sort=-usage), from the first
      BENCH_API_SORTED_START pages' cursors, BENCH_API_CLIENTS clients,
      BENCH_API_SORTED_PAGES pages (default 100): pages/s, p50, p99; the
      anchor runs the page's statement (the server sorts the domain's keys);
  14. a page of 100 near or over quota (min_usage_percent=90, address order;
      about 2% of the mailboxes match) at a random point of that listing,
      likewise, beside its statement in mariadb.
Every mailbox has a usage row (as rosterctl and roster-apid create them),
bytes spread over 0..1 GiB of a 1 GiB quota (a tenth unlimited), and 60% a
last login.
Figures only: nothing is asserted (tests/api/apid.test asserts behaviour).
Needs root (the daemon drops to nobody, as it runs in production)."""
import base64
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apid_stack  # noqa: E402
from apid_stack import dovecot_stack  # noqa: E402

MAILBOXES = int(os.environ.get("BENCH_API_MAILBOXES", "100000"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "4"))
PAGES = int(os.environ.get("BENCH_API_PAGES", "4000"))
CHANGES = int(os.environ.get("BENCH_API_CHANGES", "400"))
SORTED_PAGES = int(os.environ.get("BENCH_API_SORTED_PAGES", "100"))
SORTED_START = int(os.environ.get("BENCH_API_SORTED_START", "20"))
DOMAIN = "bench.test"
BOSS_PASSWORD = "bench-boss-password"


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0.0


def address(i):
    return f"u{i:06d}@{DOMAIN}"


def run_clients(work, count, clients):
    """work(conn, i) for i in range(count), spread over `clients` threads each
    with its own kept-alive connection; returns (seconds, latencies, failures)."""
    latencies, failures = [], []
    lock = threading.Lock()

    def one(k):
        conn = apid.connection()
        mine, bad = [], 0
        for i in range(k, count, clients):
            t0 = time.perf_counter()
            ok = work(conn, i)
            mine.append(time.perf_counter() - t0)
            bad += 0 if ok else 1
        conn.close()
        with lock:
            latencies.extend(mine)
            failures.append(bad)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, sum(failures)


def mariadb(statements):
    """Runs statements through one mariadb client connection as root; seconds."""
    t0 = time.perf_counter()
    subprocess.run(["mariadb", "-uroot", "-S", stack.socket, "roster", "--batch", "--skip-column-names"],
                   input="\n".join(statements).encode(), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


COLUMNS = ("m.id, m.address, d.name, m.active, d.active, m.display_name, m.department, m.max_bytes, "
           "m.max_messages, m.unit, m.password_hash, m.created_at, m.updated_at, m.password_changed_at, "
           "u.bytes, u.messages, m.lookup_key")
JOINS = "JOIN domain d ON d.id = m.domain_id LEFT JOIN mailbox_usage u ON u.mailbox_id = m.id "
LAST_LOGIN = "m.last_login_at"  # migration 015
WHERE = f"WHERE TRUE AND d.name = '{DOMAIN}' "
NEAR = ("AND m.max_bytes > 0 AND CAST(COALESCE(u.bytes, 0) AS DECIMAL(25,0)) * 100 >= "
        "CAST(m.max_bytes AS DECIMAL(25,0)) * 90 ")


def page_sql(after, limit):
    # The listing's keyset query as roster prepares it (common/admin_store.cc, MailboxPage: the same columns, joins
    # and index), as text.
    return (f"SELECT {COLUMNS}, CAST({LAST_LOGIN} AS CHAR), 0 FROM mailbox m FORCE INDEX (mailbox_domain_lookup) "
            f"{JOINS}{WHERE}" + (f"AND m.lookup_key > '{after}' " if after else "") +
            f"ORDER BY m.lookup_key LIMIT {limit};")


def cursor_key(cursor):
    """(value, key) of a mailbox.list cursor: the key is the lookup key in address order, the mailbox's id in the
    others (the bench knows the format: ops/mailbox_ops.cc)."""
    plain = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    _, value, key = plain.split("|", 2)
    return value, key


def usage_page_sql(cursor, limit):
    # mailbox.list?sort=-usage as roster prepares it (common/admin_store.cc, MailboxPageSql), as text.
    having = ""
    if cursor:
        value, key = cursor_key(cursor)
        having = f"HAVING k < {value} OR (k = {value} AND m.id < {key}) "
    return (f"SELECT {COLUMNS}, CAST({LAST_LOGIN} AS CHAR), p.k FROM (SELECT m.id, COALESCE(u.bytes, 0) AS k "
            f"FROM mailbox m FORCE INDEX (mailbox_domain_lookup) {JOINS}{WHERE}{having}"
            f"ORDER BY k DESC, m.id DESC LIMIT {limit}) p JOIN mailbox m ON m.id = p.id {JOINS}"
            "ORDER BY p.k DESC, p.id DESC;")


def near_page_sql(cursor, limit):
    # mailbox.list?min_usage_percent=90 as roster prepares it, as text.
    after = f"AND m.lookup_key > '{cursor_key(cursor)[1]}' " if cursor else ""
    return (f"SELECT {COLUMNS}, CAST({LAST_LOGIN} AS CHAR), 0 FROM mailbox m FORCE INDEX (mailbox_domain_lookup) "
            f"{JOINS}{WHERE}{NEAR}{after}ORDER BY m.lookup_key LIMIT {limit};")


def populate(stack, mailboxes=MAILBOXES):
    """The mail administrator boss and the domain's mailboxes u000000.. on
    stack's database (tests/bench/web-bench.py builds its own the same way)."""
    stack.rosterctl("admin", "add", "boss", "--kind", "mail", "--password-stdin", input=BOSS_PASSWORD + "\n")
    stack.rosterctl("domain", "add", DOMAIN)
    stack.sql("INSERT INTO mailbox (domain_id, address, password_hash) "
              f"SELECT d.id, CONCAT('u', LPAD(seq, 6, '0'), '@{DOMAIN}'), '' "
              f"FROM domain d, seq_0_to_{mailboxes - 1} WHERE d.name = '{DOMAIN}'")
    # Usage as Dovecot leaves it: 0..1 GiB of a 1 GiB quota, about 2% at 90% or more; a tenth unlimited.
    stack.sql("UPDATE mailbox SET max_bytes = IF(id % 10 = 0, 0, 1073741824)")
    stack.sql("INSERT INTO mailbox_usage (mailbox_id, bytes, messages) "
              "SELECT id, IF(id % 50 = 7, 1000000000 + id, (id * 7919) % 900000000), id % 5000 FROM mailbox")
    stack.sql("INSERT INTO last_login (mailbox_id, protocol, ip, logged_at) SELECT id, 'imap', INET6_ATON('192.0.2.1'), "
              "'2024-01-01' + INTERVAL (id * 7907) % 30000000 SECOND FROM mailbox WHERE id % 5 > 1")
    # What the dict raises as it writes those (common/usage_store.cc), and mailboxes made before the logins.
    stack.sql("UPDATE mailbox m JOIN last_login l ON l.mailbox_id = m.id SET m.last_login_at = l.logged_at, "
              "m.created_at = '2023-06-01'")
    stack.sql("UPDATE mailbox SET created_at = '2023-06-01' WHERE last_login_at IS NULL")
    stack.sql("ANALYZE TABLE mailbox, mailbox_usage, last_login")


if __name__ == "__main__":
    print(f"== roster api bench: {os.cpu_count()} cores, {MAILBOXES} mailboxes, {CLIENTS} clients, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    stack = dovecot_stack.Stack()
    stack.start_db()
    apid = None
    try:
        populate(stack)
        # New hashes at roster's defaults (argon2id, 64 MiB, 3 passes), as an installation makes them.
        apid = apid_stack.Apid(stack, settings=f"api_threads = {max(2, CLIENTS)}\napi_client_failures = 0\n",
                               argon2=("64M", 3)).start()
        token = apid.sign_in(BOSS_PASSWORD, name="boss")

        # 10. Pages at random points: the cursors of the whole listing by pages of
        # 1000 (a cursor is opaque: it is what a page answers), then pages of 100
        # from a random one of them.
        cursors, cursor = [None], None
        while True:
            r = apid.request("GET", f"/v1/domains/{DOMAIN}/mailboxes?limit=1000" +
                             (f"&cursor={cursor}" if cursor else ""), token=token)
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
            cursors.append(cursor)
        rng = random.Random(14)
        starts = [rng.randrange(len(cursors)) for _ in range(PAGES)]
        base = f"/v1/domains/{DOMAIN}/mailboxes?limit=100"

        def page(conn, i):
            c = cursors[starts[i]]
            path = base + (f"&cursor={c}" if c else "")
            r = apid.request("GET", path, token=token, conn=conn)
            return r.status == 200 and len(r.json["items"]) == 100

        run_clients(page, min(PAGES, 200), CLIENTS)  # warm-up
        secs, lat, bad = run_clients(page, PAGES, CLIENTS)
        anchor = mariadb([page_sql(address(k * 1000 - 1) if k else "", 100) for k in starts])
        print(f"-- 10. listing page (100 mailboxes at a random point), {CLIENTS} clients, {PAGES} pages")
        print(f"   roster-apid: {PAGES / secs:8.0f} pages/s   p50 {percentile(lat, .5) * 1000:6.2f} ms   "
              f"p99 {percentile(lat, .99) * 1000:6.2f} ms   failures {bad}   (goal p99 <= 50 ms)")
        print(f"   anchor, the keyset query in mariadb, 1 connection: {PAGES / anchor:8.0f} pages/s")

        # 11. The whole listing page by page.
        conn = apid.connection()
        t0 = time.perf_counter()
        seen, cursor, pages = 0, None, 0
        while True:
            r = apid.request("GET", f"/v1/domains/{DOMAIN}/mailboxes?limit=1000" +
                             (f"&cursor={cursor}" if cursor else ""), token=token, conn=conn)
            seen += len(r.json["items"])
            pages += 1
            cursor = r.json["next_cursor"]
            if cursor is None:
                break
        whole = time.perf_counter() - t0
        conn.close()
        anchor = mariadb([page_sql(address(k * 1000 - 1) if k else "", 1000) for k in range(pages)])
        print(f"-- 11. the whole listing, {seen} mailboxes in {pages} pages of 1000, 1 client")
        print(f"   roster-apid: {whole:6.2f} s (goal < 10 s)   "
              f"anchor, the same keyset queries in mariadb: {anchor:6.2f} s")

        # 12. Password changes.
        targets = rng.sample(range(MAILBOXES), CHANGES)

        def change(conn, i):
            r = apid.request("PUT", f"/v1/mailboxes/{address(targets[i])}/password", {"password": f"new-pw-{i}-xyz"},
                             token=token, conn=conn)
            return r.status in (200, 204)

        secs, lat, bad = run_clients(change, CHANGES, CLIENTS)
        print(f"-- 12. password change (argon2id 64 MiB 3 passes, change log, cache flush), {CLIENTS} clients, "
              f"{CHANGES} changes")
        print(f"   roster-apid: {CHANGES / secs:8.0f} changes/s   p50 {percentile(lat, .5) * 1000:6.2f} ms   "
              f"p99 {percentile(lat, .99) * 1000:6.2f} ms   failures {bad}")

        # 13. and 14. A sorted page, a filtered page: each from cursors of that listing.
        def listing_cursors(query, pages):
            found, cursor = [None], None
            for _ in range(pages):
                r = apid.request("GET", f"/v1/domains/{DOMAIN}/mailboxes?limit=100&{query}" +
                                 (f"&cursor={cursor}" if cursor else ""), token=token)
                cursor = r.json["next_cursor"]
                if cursor is None:
                    break
                found.append(cursor)
            return found

        for case, query, sql, pages in (
                ("13. page sorted by usage, descending (sort=-usage)", "sort=-usage", usage_page_sql, SORTED_START),
                ("14. page near or over quota (min_usage_percent=90)", "min_usage_percent=90", near_page_sql, 1000)):
            starts = listing_cursors(query, pages)[:-1] or [None]  # each start has a full page after it
            picks = [rng.randrange(len(starts)) for _ in range(SORTED_PAGES)]

            def sorted_page(conn, i):
                c = starts[picks[i]]
                r = apid.request("GET", f"/v1/domains/{DOMAIN}/mailboxes?limit=100&{query}" +
                                 (f"&cursor={c}" if c else ""), token=token, conn=conn)
                return r.status == 200 and len(r.json["items"]) == 100

            run_clients(sorted_page, min(SORTED_PAGES, 8), CLIENTS)  # warm-up
            secs, lat, bad = run_clients(sorted_page, SORTED_PAGES, CLIENTS)
            anchor = mariadb([sql(starts[k], 101) for k in picks])
            print(f"-- {case}, {CLIENTS} clients, {SORTED_PAGES} pages of 100 from {len(starts)} starting points")
            print(f"   roster-apid: {SORTED_PAGES / secs:8.1f} pages/s   p50 {percentile(lat, .5) * 1000:7.2f} ms   "
                  f"p99 {percentile(lat, .99) * 1000:7.2f} ms   failures {bad}   (goal p99 <= 50 ms)")
            print(f"   anchor, the page's statement in mariadb, 1 connection: {SORTED_PAGES / anchor:8.1f} pages/s "
                  f"({anchor / SORTED_PAGES * 1000:.2f} ms each)")
    finally:
        if apid is not None:
            apid.stop()
        stack.stop()
