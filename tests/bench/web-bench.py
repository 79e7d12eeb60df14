#!/usr/bin/python3
"""web-bench: the administration pages' mailbox list at 100,000 mailboxes in
a real browser (issue 15: "time to first byte and full page load", goal
<= 200 ms server time per page), beside its anchors in the same run.

The stack is the browser tests' (tests/web/web_stack.py: a private MariaDB,
roster-apid serving the source tree's web/ on a loopback port with
`api_cookie_secure = no`, Debian's headless Chromium through chromedriver and
python3-selenium); the 100,000 mailboxes are api-bench's (its populate():
one domain, usage over 0..1 GiB of a 1 GiB quota, a tenth unlimited, 60% a
last login in 2024, none suspended, every one created in the run, so none is
dormant). The mail administrator signs in through the page, then each case
runs BENCH_WEB_RUNS times (default 30), the sorted pages, the dashboard and
the first page reached from it BENCH_WEB_SLOW_RUNS times (default 10; their
SQL takes most of the run); p99 of so few is the slowest:
  first page, reload   the page opened afresh at #/admin/mailboxes/D (the
                       shell revalidated, the modules, the catalogue, the
                       session, the listing);
  first page, route    the same list reached from the dashboard (a hash
                       change: the listing request only);
  next page            the page's "next" button (the cursor), pages 2, 3, ...;
  sorted by usage      the sort menu set to usage, descending (first page);
  sorted by last login the sort menu set to last login, newest first;
  search               a prefix (100 matches) typed and submitted;
  dashboard            #/admin from the list: the domains, then the near or
                       over quota (sorted by usage), suspended and dormant
                       lists at once.
Server time is the page's API request's responseStart - requestStart in the
browser's Resource Timing (the dashboard's: the time during which at least one
of its four requests waited for its answer, waiting(); the reload's shell:
index.html's Navigation Timing). Full load runs from the
navigation or the user's action (performance.now()) until the new table's rows
are in the document and laid out (a MutationObserver, then a forced layout;
painting is not counted). A reload's full load counts from the navigation's
start (performance.now() is relative to it; an observer installed before the
page's own scripts through the DevTools protocol).
Anchors, same run: each case's statement, as roster prepares it, in the mariadb
client over one connection (timed between readings of the server's clock
before and after it, its rows read by the client), and a static file from the
same daemon fetched by the same page (the HTTP floor). About 2 minutes on 2
cores.
Figures only: nothing is asserted (tests/web/admin.test asserts behaviour).
Needs root; says why and exits 0 when the browser is not installed."""
import importlib.util
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "web"))
import web_stack  # noqa: E402

_spec = importlib.util.spec_from_file_location("api_bench", os.path.join(HERE, "api-bench.py"))
api_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_bench)  # its definitions only: its bench runs as __main__ alone

RUNS = int(os.environ.get("BENCH_WEB_RUNS", "30"))
SLOW_RUNS = int(os.environ.get("BENCH_WEB_SLOW_RUNS", "10"))  # the sorted pages and the dashboard
MAILBOXES = int(os.environ.get("BENCH_WEB_MAILBOXES", "100000"))
DOMAIN = api_bench.DOMAIN
PAGE = 50  # web/app/admin-mailboxes.js: PAGE
SHOWN = 10  # web/app/admin.js: SHOWN
LIST = f"/admin/mailboxes/{DOMAIN}"
percentile = api_bench.percentile

# ------------------------------------------------------------ the anchors' SQL
# Each case's statement as common/admin_store.cc prepares it (MailboxPageSql,
# DomainPage, AppPasswordAdmin::ListInactive), as text; api-bench's pieces.
COLUMNS, JOINS, WHERE, LAST_LOGIN, NEAR = (api_bench.COLUMNS, api_bench.JOINS, api_bench.WHERE,
                                           api_bench.LAST_LOGIN, api_bench.NEAR)
USAGE_KEY = "COALESCE(u.bytes, 0)"
LOGIN_KEY = f"COALESCE(TIMESTAMPDIFF(MICROSECOND, TIMESTAMP'1970-01-01 00:00:00', {LAST_LOGIN}), -1)"


def sorted_sql(key, limit, where=WHERE, index="mailbox_domain_lookup"):
    """A first page in descending order of key (sort=-usage, sort=-last_login)."""
    return (f"SELECT {COLUMNS}, CAST({LAST_LOGIN} AS CHAR), p.k FROM (SELECT m.id, {key} AS k "
            f"FROM mailbox m FORCE INDEX ({index}) {JOINS}{where}ORDER BY k DESC, m.id DESC "
            f"LIMIT {limit}) p JOIN mailbox m ON m.id = p.id {JOINS}ORDER BY p.k DESC, p.id DESC;")


def search_sql(prefix, limit):
    return api_bench.page_sql("", limit).replace(WHERE, WHERE + f"AND m.lookup_key LIKE LOWER('{prefix}%') ESCAPE '!' ")


def dashboard_sql():
    """The dashboard's statements (web/app/admin.js: domains, near, suspended, dormant: a count, then a page)."""
    return [
        "SELECT d.id, d.name, d.transport, d.active, d.default_max_bytes, d.default_max_messages, d.created_at, "
        "(SELECT COUNT(*) FROM mailbox m WHERE m.domain_id = d.id) FROM domain d WHERE d.name > '' "
        "ORDER BY d.name LIMIT 21;",
        sorted_sql(USAGE_KEY, SHOWN + 1, WHERE + NEAR, "mailbox_domain_quota"),
        api_bench.page_sql("", SHOWN + 1).replace(WHERE, WHERE + "AND m.active = 0 ")
        .replace("mailbox_domain_lookup", "mailbox_domain_active"),
        # AppPasswordAdmin::ListInactive: the count that chooses the index, then the page.
        "SELECT COUNT(*) FROM mailbox m FORCE INDEX (mailbox_domain_last_login) "
        f"WHERE m.domain_id = (SELECT id FROM domain WHERE name = '{DOMAIN}') "
        "AND (m.last_login_at IS NULL OR m.last_login_at < UTC_TIMESTAMP() - INTERVAL 90 DAY);",
        "SELECT m.lookup_key, m.address, CAST(m.last_login_at AS CHAR) FROM mailbox m "
        "FORCE INDEX (mailbox_domain_lookup) "
        f"WHERE m.domain_id = (SELECT id FROM domain WHERE name = '{DOMAIN}') AND m.lookup_key > '' "
        "AND m.created_at < UTC_TIMESTAMP() - INTERVAL 90 DAY "
        "AND (m.last_login_at IS NULL OR m.last_login_at < UTC_TIMESTAMP() - INTERVAL 90 DAY) "
        "ORDER BY m.lookup_key LIMIT 500;"]


def waiting(spans):
    """The time during which at least one of the requests (requestStart, responseStart) waited for its answer:
    their server times summed when they run one after the other, the span they cover when they overlap."""
    total, end = 0.0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def timed(socket, groups):
    """Runs each group of statements (one after the other, one mariadb
    connection, each group between two readings of the server's clock,
    SYSDATE(6)) and answers each group's time in ms: its statements run and
    their rows read by the client."""
    script = []
    for g in groups:
        script += ["SELECT '@t', UNIX_TIMESTAMP(SYSDATE(6));"] + list(g)
    script.append("SELECT '@t', UNIX_TIMESTAMP(SYSDATE(6));")
    text = subprocess.run(["mariadb", "-uroot", "-S", socket, "roster", "--batch", "--skip-column-names"],
                          input="\n".join(script).encode(), stdout=subprocess.PIPE, check=True).stdout.decode()
    marks = [float(line.split("\t")[1]) for line in text.splitlines() if line.startswith("@t\t")]
    return [(b - a) * 1000 for a, b in zip(marks, marks[1:])]


# ------------------------------------------------------------ in the browser
# Installed before the page's own scripts on every document (the DevTools
# protocol, which the page's Content-Security-Policy does not govern): the
# moment the mailbox table first has rows, from the navigation's start.
FIRST_ROWS = """
window.__rowsAt = null;
new MutationObserver((list, obs) => {
  const t = document.getElementById('mb-table');
  if (t && t.tBodies[0] && t.tBodies[0].rows.length > 0) {
    t.getBoundingClientRect();
    window.__rowsAt = performance.now();
    obs.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""

# One action in the loaded page, timed: arguments are the action, its
# argument and the id of the table whose new copy with rows ends it.
# Answers {full: ms, api: [[url, server ms], ...]}.
ACTION = """
const [action, arg, target, done] = arguments;
const old = document.getElementById(target);
const ready = () => {
  const t = document.getElementById(target);
  return t && t !== old && t.tBodies[0] && t.tBodies[0].rows.length > 0 ? t : null;
};
const report = (full, tries) => {
  const entries = performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/'));
  const api = entries.map((e) => [e.name, e.responseStart - e.requestStart]);
  const spans = entries.map((e) => [e.requestStart, e.responseStart]);
  if (api.length === 0 && tries < 100) return setTimeout(() => report(full, tries + 1), 5);
  done({full, api, spans});
};
performance.clearResourceTimings();
const t0 = performance.now();
const obs = new MutationObserver(() => {
  const t = ready();
  if (!t) return;
  obs.disconnect();
  t.getBoundingClientRect();
  report(performance.now() - t0, 0);
});
obs.observe(document.getElementById('main'), {childList: true, subtree: true});
if (action === 'route') {
  location.hash = arg;
} else if (action === 'next') {
  document.getElementById('mb-next').click();
} else if (action === 'sort') {
  const s = document.getElementById('mb-sort');
  s.value = arg;
  s.dispatchEvent(new Event('change'));
} else if (action === 'search') {
  document.getElementById('mb-sort').value = 'address';
  document.getElementById('mb-search').value = arg;
  document.getElementById('mb-controls').requestSubmit();
}
"""

# The HTTP floor: a static file from the same daemon, fetched by the page.
STATIC = """
const done = arguments[arguments.length - 1];
performance.clearResourceTimings();
const t0 = performance.now();
fetch('/index.html', {cache: 'no-store'}).then((r) => r.text()).then(() => {
  const full = performance.now() - t0;
  const report = (tries) => {
    const e = performance.getEntriesByType('resource').filter((x) => x.name.endsWith('/index.html'));
    if (e.length === 0 && tries < 100) return setTimeout(() => report(tries + 1), 5);
    done({full, api: e.map((x) => [x.name, x.responseStart - x.requestStart])});
  };
  report(0);
});
"""


def main():
    why = web_stack.missing()
    if why:
        print(f"-- web-bench skipped: {why}")
        return
    chromium = subprocess.run([web_stack.CHROMIUM, "--version"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().strip()
    print(f"== roster web bench: {os.cpu_count()} cores, {MAILBOXES} mailboxes, {RUNS} runs a case ({SLOW_RUNS} sorted "
          f"and dashboard), {chromium}, "
          f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
    started = time.perf_counter()
    web = web_stack.WebStack()
    try:
        api_bench.populate(web.stack, MAILBOXES)
        b = web.browser("en-US")
        d = b.driver
        d.set_script_timeout(120)
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_ROWS})
        # Sign in through the page, as the mail administrator.
        d.get(web.origin + "/#/signin/admin")
        b.wait(lambda _: d.find_elements("id", "signin-form"), 30)
        d.find_element("id", "name").send_keys("boss")
        d.find_element("id", "password").send_keys(api_bench.BOSS_PASSWORD)
        d.find_element("id", "signin-submit").click()
        b.wait(lambda _: d.find_elements("id", "dashboard"), 30)
        b.wait(lambda _: d.find_elements("id", "dash-domains-table"), 120)
        print(f"   (stack, {MAILBOXES} mailboxes and sign-in: {time.perf_counter() - started:.0f} s)")

        results = {}

        def act(action, arg="", target="mb-table"):
            return d.execute_async_script(ACTION, action, arg, target)

        def listing(answer):
            return sum(s for url, s in answer["api"] if "/mailboxes?" in url)

        # The first page, the page opened afresh (twice to warm up).
        shell, server, full = [], [], []
        for i in range(RUNS + 2):
            d.get("about:blank")
            d.get(web.origin + "/#" + LIST)
            rows_at = None
            deadline = time.time() + 60
            while rows_at is None and time.time() < deadline:
                rows_at = b.js("return window.__rowsAt;")
            if rows_at is None:
                raise RuntimeError("the mailbox list showed no rows in 60 s")
            nav = b.js("const n = performance.getEntriesByType('navigation')[0]; "
                       "return n.responseStart - n.requestStart;")
            api = b.js("return performance.getEntriesByType('resource').filter((e) => e.name.includes('/mailboxes?'))"
                       ".map((e) => e.responseStart - e.requestStart);")
            if i >= 2:
                shell.append(nav)
                server.append(sum(api))
                full.append(rows_at)
        results["first page, reload"] = (server, full)
        results["  its shell, index.html"] = (shell, None)

        # The dashboard, and the list reached from it by a route change.
        dash, dash_parts, route = ([], []), [], ([], [])
        for i in range(SLOW_RUNS + 1):
            a = act("route", "#/admin", "dash-domains-table")
            r = act("route", "#" + LIST)
            if i >= 1:
                dash[0].append(waiting(a["spans"]))
                dash[1].append(a["full"])
                dash_parts.append(a["api"])
                route[0].append(listing(r))
                route[1].append(r["full"])
        results["first page, route"] = route

        # Later pages by the cursor: pages 2, 3, ...
        nxt = ([], [])
        for i in range(RUNS):
            a = act("next")
            nxt[0].append(listing(a))
            nxt[1].append(a["full"])
        results["next page (cursor)"] = nxt

        for name, sort in (("sorted by usage", "-usage"), ("sorted by last login", "-last_login")):
            got = ([], [])
            for i in range(SLOW_RUNS + 1):
                a = act("sort", sort)
                if i >= 1:
                    got[0].append(listing(a))
                    got[1].append(a["full"])
            results[name] = got

        rng = random.Random(15)
        prefixes = [f"u{rng.randrange(MAILBOXES // 100):04d}" for _ in range(RUNS + 1)]
        got = ([], [])
        for i, prefix in enumerate(prefixes):
            a = act("search", prefix)
            if i >= 1:
                got[0].append(listing(a))
                got[1].append(a["full"])
        results["search (prefix, 100 match)"] = got
        results["dashboard (4 requests)"] = dash

        floor = ([], [])
        for i in range(RUNS + 2):
            a = d.execute_async_script(STATIC)
            if i >= 2:
                floor[0].append(sum(s for _, s in a["api"]))
                floor[1].append(a["full"])
        results["static file (HTTP floor)"] = floor

        # The anchors: each case's statement(s) in the mariadb client.
        sock = web.stack.socket
        first = timed(sock, [[api_bench.page_sql("", PAGE + 1)]] * (RUNS + 2))[2:]
        later = timed(sock, [[api_bench.page_sql(api_bench.address(PAGE * k - 1), PAGE + 1)]
                                for k in range(1, RUNS + 1)])
        by_usage = timed(sock, [[sorted_sql(USAGE_KEY, PAGE + 1)]] * (SLOW_RUNS + 1))[1:]
        by_login = timed(sock, [[sorted_sql(LOGIN_KEY, PAGE + 1, index="mailbox_domain_last_login")]] * (SLOW_RUNS + 1))[1:]
        search = timed(sock, [[search_sql(p, PAGE + 1)] for p in prefixes])[1:]
        dashboard = timed(sock, [dashboard_sql()] * (SLOW_RUNS + 1))[1:]
        anchors = {"first page, reload": first, "first page, route": first, "next page (cursor)": later,
                   "sorted by usage": by_usage, "sorted by last login": by_login,
                   "search (prefix, 100 match)": search, "dashboard (4 requests)": dashboard}

        ms = lambda v: f"{v:8.1f}"  # noqa: E731
        print(f"-- 15. the mailbox list in headless Chromium, {MAILBOXES} mailboxes, pages of {PAGE}: ms, p50 / p99 "
              "(goal: server time <= 200 ms a page)")
        print(f"   {'':28}{'server time':>19}{'full load':>21}{'anchor: its SQL':>21}{'server/SQL':>12}")
        for name, (server, full) in results.items():
            sql = anchors.get(name)
            line = f"   {name:28}{ms(percentile(server, .5))} /{ms(percentile(server, .99))}"
            line += f"  {ms(percentile(full, .5))} /{ms(percentile(full, .99))}" if full else " " * 21
            if sql:
                line += f"  {ms(percentile(sql, .5))} /{ms(percentile(sql, .99))}"
                line += f"{percentile(server, .5) / max(percentile(sql, .5), 0.001):10.1f}x"
            print(line)
        # The dashboard's requests one by one (p50), to say which one costs.
        parts = zip(("domains", "near quota", "suspended", "dormant"), zip(*dash_parts))
        print("   the dashboard's requests, server time p50 / p99: " + ", ".join(
            f"{name} {percentile([s for _, s in got], .5):.1f} / {percentile([s for _, s in got], .99):.1f}"
            for name, got in parts))
        print(f"   (whole run {time.perf_counter() - started:.0f} s; load average now "
              f"{' '.join(open('/proc/loadavg').read().split()[:3])})")
    finally:
        web.stop()


if __name__ == "__main__":
    main()
