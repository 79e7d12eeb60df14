#!/usr/bin/env python3
"""demo.py: the narrated demo of issue 16's proof installation, run by
tools/demo-scale (which builds roster first). It brings up the installation of
tests/scale/installation.py (three Galera nodes, an MX, two units, a front
end and a client host, in network namespaces) under DIR (default
var/demo-scale in the checkout) and shows roster at work there, each step
printed as the command or action it is and followed by its real result: the
units, mailboxes on both, mail through the MX landing in the right unit's
store, an unknown address (550) and a full mailbox (452) refused, an alias
reaching both units, IMAP and POP3 logins through the front end landing on the
right unit, a mailbox moved to the other unit (doc/scale-out.md, section 7);
then a database node stopped (everything still works), a second one cut off
(the MX answers 4xx, never 5xx; logins fail temporarily) and both back, with
no roster piece restarted.

The namespaces end with this process, so nothing can be left running: at the
end, with a terminal on stdin, it says how to look around and waits for
Enter; then (or at once, without a terminal) it tears everything down and
removes DIR, unless ROSTER_KEEP_TEST_DIR is set. Run as root, with srcdir
and top_builddir in the environment as for the tests:
  srcdir=. top_builddir=build/demo python3 tests/scale/demo.py [DIR]
Exit status 0 when every step showed what it should, 1 otherwise (each
unexpected result is marked "UNEXPECTED").

Trusts: installation.py and what it trusts (the pieces it starts, root)."""
import glob
import os
import re
import shlex
import signal
import smtplib
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import installation  # noqa: E402
from installation import PW  # noqa: E402

DOMAIN = "example.test"
TOP = installation.dovecot_stack.SRCDIR
TTY = sys.stdout.isatty()
site = None
unexpected = []


# ------------------------------------------------------------------ printing
def say(text):
    """A step: the command (or the action) in bold, as tools/demo's say."""
    print(f"\n\033[1m$ {text}\033[0m" if TTY else f"\n$ {text}", flush=True)


def out(text=""):
    for line in str(text).rstrip("\n").split("\n"):
        print("  " + line, flush=True)


def check(ok, what):
    """Marks a result the demo did not expect (and makes the exit status 1)."""
    if not ok:
        unexpected.append(what)
        out(f"UNEXPECTED: {what}")


def rel(path):
    """A path under the checkout, as the user sees it from there."""
    p = os.path.relpath(path, TOP)
    return path if p.startswith("..") else p


def d(*parts):
    return rel(os.path.join(site.dir, *parts))


def rosterctl(*args, show=None, input=None):
    """rosterctl on the administrator's host (this script's namespace), shown and run."""
    say(show or "rosterctl " + " ".join(shlex.quote(a) for a in args))
    r = site.rosterctl(*args, input=input, check=False)
    out((r.stdout + r.stderr).strip() or "(done)")
    check(r.returncode == 0, f"rosterctl {' '.join(args)} exited {r.returncode}")
    return r


# ------------------------------------------------------------------ clients
def marker(what):
    return f"roster-demo-{what}-{uuid.uuid4().hex[:8]}"


def smtp(recipients, subject=None, expect=None):
    """One SMTP transaction from the client host through the MX, each reply
    shown; DATA only if a recipient was accepted. expect: {recipient: the
    RCPT code the demo expects}. (queue id or None, {recipient: RCPT code})."""
    if isinstance(recipients, str):
        recipients = [recipients]
    s = site.smtp(timeout=120)
    try:
        code, text = s.ehlo("client.remote.test")
        out(f"client -> mx {site.address('mx')}:25   EHLO client.remote.test  -> {code}")
        code, text = s.mail("someone@remote.test")
        out(f"  MAIL FROM:<someone@remote.test>  -> {code} {text.decode()}")
        accepted = []
        codes = {}
        for r in recipients:
            code, text = s.rcpt(r)
            codes[r] = code
            out(f"  RCPT TO:<{r}>  -> {code} {text.decode()}")
            if code == 250:
                accepted.append(r)
            if expect is not None and r in expect:
                check(code == expect[r], f"RCPT TO:<{r}> answered {code}, not {expect[r]}")
        if not accepted:
            s.rset()
            return None, codes
        body = (f"From: someone@remote.test\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\n"
                f"{subject}\r\n")
        code, text = s.data(body)
        out(f"  DATA ... .  -> {code} {text.decode()}")
        m = re.search(r"queued as (\w+)", text.decode())
        return (m.group(1) if m else None), codes
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()


def landed(user, mark, unit_expected):
    """Waits until the message is in a unit's store; shows where it is (and is not), and the MX's log line."""
    found = installation.postfix_stack.wait_until(
        lambda: any(mark.encode() in m for u in installation.UNITS for m in site.stored(u, user)), 60, 0.1)
    for unit in installation.UNITS:
        files = [f for f in site.stored_files(unit, user) if mark.encode() in read(f)]
        if files:
            out(f"{user}: in {unit}'s store  {rel(files[0])}")
        elif unit != unit_expected:
            out(f"{user}: not in {unit}'s store")
    check(found and any(mark.encode() in m for m in site.stored(unit_expected, user)),
          f"{user}: the message did not land on {unit_expected}")


def mx_route(queue_id, user):
    """The MX's maillog line that relayed the message to `user`."""
    pattern = rf"{queue_id}: to=<{re.escape(user)}>.*relay=.*"
    m = site.postfix["mx"].wait_log(pattern, 30)
    if m:
        line = m.group(0)
        relay = re.search(r"relay=[^,\s]+", line).group(0)
        status = re.search(r"status=.*", line).group(0)
        out(f"mx's maillog: {queue_id}: to=<{user}>, {relay}, {status}")


def send_and_show(user, unit_expected, what):
    mark = marker(what)
    say(f"SMTP from the client host through the MX to {user} (its mailbox is on {unit_expected})")
    qid, _ = smtp(user, mark, expect={user: 250})
    check(qid is not None, f"the MX did not accept a message to {user}")
    if qid:
        mx_route(qid, user)
        landed(user, mark, unit_expected)
    return mark


def read(path):
    """A stored message's bytes (b"" if Dovecot just moved it from new/ to cur/)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def unit_log_sizes():
    return {u: len(site.dovecot[u].log()) for u in installation.UNITS}


def show_login_lines(before, user, unit_expected, service):
    """The login lines the units' Dovecots logged since `before` (where the login landed)."""
    def logged():
        return {unit: [x for x in site.dovecot[unit].log()[before[unit]:].splitlines()
                       if f"{service}-login:" in x and f"user=<{user}>" in x and ("Login:" in x or "Logged in" in x)]
                for unit in installation.UNITS}
    # The unit writes its line as the proxied session begins: wait for it (and a moment for a wrong one).
    installation.postfix_stack.wait_until(lambda: any(logged().values()), 10, 0.1)
    time.sleep(0.3)
    seen = logged()
    for unit in installation.UNITS:
        lines = seen[unit]
        for line in lines:
            line = re.sub(r"^.*?(\w+-login: )", r"\1", line)
            out(f"{unit}'s Dovecot log: {line[:150]}")
    if not any(seen.values()):
        out("(no unit logged this login)")
    check(bool(seen[unit_expected]) and not any(seen[u] for u in installation.UNITS if u != unit_expected),
          f"the {service} login of {user} did not land on {unit_expected} alone")


def imap_login(user, unit_expected, expect_ok=True):
    say(f"IMAP from the client host to the front end {site.address('front')}:143: LOGIN {user}, SELECT INBOX")
    before = unit_log_sizes()
    imap = site.imap(timeout=120)
    try:
        out("-> " + re.sub(r"\[CAPABILITY [^]]*\] ", "[CAPABILITY ...] ", imap.welcome.decode()))
        try:
            typ, data = imap.login(user, PW)
            out(f"LOGIN {user} ****  -> {typ} {data[0].decode()[:60]}")
            typ, data = imap.select("INBOX", readonly=True)
            out(f"SELECT INBOX  -> {typ}, {data[0].decode()} messages")
            imap.logout()
            check(expect_ok, f"the IMAP login of {user} succeeded")
        except installation.imaplib.IMAP4.error as e:
            text = re.sub(r"^b'(.*)'$", r"\1", str(e))
            out(f"LOGIN {user} ****  -> NO {text}")
            check(not expect_ok, f"the IMAP login of {user} failed: {e}")
            if not expect_ok:
                check("UNAVAILABLE" in str(e) or "emporar" in str(e), "not a temporary failure")
            return
    finally:
        try:
            imap.shutdown()
        except OSError:
            pass
    show_login_lines(before, user, unit_expected, "imap")


def pop3_login(user, unit_expected):
    say(f"POP3 from the client host to the front end {site.address('front')}:110: USER {user}, PASS, STAT")
    before = unit_log_sizes()
    pop = site.pop3(timeout=120)
    try:
        out(f"-> {pop.getwelcome().decode()}")
        out(f"USER {user}  -> {pop.user(user).decode()}")
        out(f"PASS ****  -> {pop.pass_(PW).decode()}")
        count, size = pop.stat()
        out(f"STAT  -> +OK {count} {size}")
        pop.quit()
    except installation.poplib.error_proto as e:
        out(f"-> {e}")
        check(False, f"the POP3 login of {user} failed")
        return
    show_login_lines(before, user, unit_expected, "pop3")


def galera_status(node):
    say(f"[db{node}] mariadb -e \"SHOW STATUS WHERE Variable_name IN "
        "('wsrep_cluster_size', 'wsrep_cluster_status')\"")
    try:
        rows = site.cluster[node].sql("SHOW GLOBAL STATUS WHERE Variable_name IN "
                                      "('wsrep_cluster_size', 'wsrep_cluster_status')")
        out("\n".join("\t".join(r) for r in rows))
        return dict(rows)
    except installation.galera.QueryError as e:
        out(str(e))
        return {}


def pids():
    """The roster pieces' processes: each roster-policyd, each Dovecot's master (roster's modules live in it)."""
    p = {f"roster-policyd on {h}": pd.process.pid for h, pd in site.policyd.items()}
    p.update({f"Dovecot on {h}": st.dovecot.pid for h, st in site.dovecot.items()})
    return p


# ------------------------------------------------------------------ leftovers
SERVERS = ("mariadbd", "dovecot", "roster-policyd", "lt-roster-policyd")


def leftovers(directory):
    """The servers an earlier run that was killed (SIGKILL) left running from
    `directory`: MariaDB, Dovecot and roster-policyd by the configuration
    their command line names, Postfix's masters by their pid files. (Their
    helpers end with them.)"""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) in SERVERS and any(directory + "/" in a for a in argv[1:]):
            found.append(int(pid))
    for path in glob.glob(os.path.join(directory, "*", "postfix", "queue", "pid", "master.pid")):
        try:
            pid = int(open(path).read().split()[0])
            if os.path.exists(f"/proc/{pid}") and "master" in open(f"/proc/{pid}/comm").read():
                found.append(pid)
        except (OSError, ValueError, IndexError):
            pass
    return sorted(set(found))


def clear(directory):
    """An earlier run's directory: its processes ended, then removed."""
    if not os.path.exists(directory):
        return
    pids_left = leftovers(directory)
    if pids_left:
        print(f"an earlier run left processes running from {rel(directory)}: stopping {pids_left}", flush=True)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids_left:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            installation.postfix_stack.wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids_left),
                                                  15, 0.1)
    print(f"removing the earlier run's {rel(directory)}", flush=True)
    subprocess.run(["rm", "-rf", "--one-file-system", directory], check=True)


# ------------------------------------------------------------------ the demo
def demo():
    c = site.cluster
    a = site.address
    say("the installation: hosts in network namespaces on a private bridge (tests/scale/installation.py)")
    out(f"db1 db2 db3  {a('db1')} {a('db2')} {a('db3')}  MariaDB with Galera (one cluster)\n"
        f"mx           {a('mx')}   Postfix :25, roster-policyd (unit empty: the MX)\n"
        f"unit1        {a('unit1')}   Dovecot :143 :110 :24 (roster passdb/userdb, quota in roster's dict), "
        f"Postfix :25, roster-policyd\n"
        f"unit2        {a('unit2')}   the same for unit2\n"
        f"front        {a('front')}   Dovecot :143 :110, proxying only (roster passdb)\n"
        f"client       {a('client')}   the demo's SMTP, IMAP and POP3 clients\n"
        f"administrator: rosterctl, here, over db1's socket; each host's files under {rel(site.dir)}/HOST")
    out("The installation ran `rosterctl db init` and then:\n"
        f"  rosterctl unit set unit1 --host {a('unit1')}\n  rosterctl unit set unit2 --host {a('unit2')}")
    say("grep -E '^(db_hosts|db_sync_wait|unit|unit_mx_transport) ' HOST/roster.conf HOST/policyd/roster-policyd.conf")
    files = [os.path.join(site.dir, h, "roster.conf") for h in ("unit1", "front")] + \
            [os.path.join(site.dir, h, "policyd", "roster-policyd.conf") for h in ("mx", "unit1")]
    r = subprocess.run(["grep", "-H", "-E", r"^(db_hosts|db_sync_wait|unit|unit_mx_transport) "] + files,
                       capture_output=True, text=True)
    out(r.stdout.replace(site.dir + "/", ""))

    started = pids()
    rosterctl("domain", "add", DOMAIN, "--quota", "1G", "--messages", "1000")
    for user, unit, extra in (("ann", "unit1", ()), ("bob", "unit2", ()), ("carol", "unit1", ()),
                              ("full", "unit2", ("--messages", "1"))):
        args = ("mailbox", "add", f"{user}@{DOMAIN}", "--unit", unit, "--password-stdin", *extra)
        rosterctl(*args, input=PW + "\n",
                  show="echo '<password>' | rosterctl " + " ".join(args))
    rosterctl("sub", "add", f"team@{DOMAIN}", f"ann@{DOMAIN}")
    rosterctl("sub", "add", f"team@{DOMAIN}", f"bob@{DOMAIN}")
    rosterctl("unit", "list")

    # --- mail through the MX
    send_and_show(f"ann@{DOMAIN}", "unit1", "ann")
    send_and_show(f"bob@{DOMAIN}", "unit2", "bob")
    say(f"SMTP through the MX to nobody@{DOMAIN} (no such address)")
    smtp(f"nobody@{DOMAIN}", expect={f"nobody@{DOMAIN}": 550})
    # full@ may hold one message: it gets one, then the MX refuses the next at RCPT.
    send_and_show(f"full@{DOMAIN}", "unit2", "full")
    counted = "SELECT u.messages FROM mailbox_usage u JOIN mailbox m ON m.id = u.mailbox_id " \
              f"WHERE m.lookup_key = 'full@{DOMAIN}'"
    installation.postfix_stack.wait_until(lambda: site.sql(counted) == [["1"]], 30)
    say(f"rosterctl mailbox show full@{DOMAIN} | grep -E '^(messages|usage|unit):'   (unit2's Dovecot counted it)")
    r = site.rosterctl("mailbox", "show", f"full@{DOMAIN}", check=False)
    out("\n".join(x for x in r.stdout.splitlines() if re.match(r"(messages|usage|unit):", x)))
    say(f"SMTP through the MX to full@{DOMAIN} again (1 message of 1: the mailbox is full)")
    smtp(f"full@{DOMAIN}", expect={f"full@{DOMAIN}": 452})
    mark = marker("team")
    say(f"SMTP through the MX to team@{DOMAIN} (an alias: ann on unit1, bob on unit2)")
    qid, _ = smtp(f"team@{DOMAIN}", mark, expect={f"team@{DOMAIN}": 250})
    if qid:
        for user, unit in ((f"ann@{DOMAIN}", "unit1"), (f"bob@{DOMAIN}", "unit2")):
            mx_route(qid, user)
        for user, unit in ((f"ann@{DOMAIN}", "unit1"), (f"bob@{DOMAIN}", "unit2")):
            landed(user, mark, unit)

    # --- logins through the front end
    imap_login(f"ann@{DOMAIN}", "unit1")
    pop3_login(f"bob@{DOMAIN}", "unit2")

    # --- a mailbox moved (doc/scale-out.md, section 7)
    carol = f"carol@{DOMAIN}"
    send_and_show(carol, "unit1", "carol-before")
    imap_login(carol, "unit1")
    rosterctl("mailbox", "unit", carol, "unit2")
    for host in ("front", "unit1"):
        say(f"[{host}] doveadm auth cache flush {carol}")
        r = site.dovecot[host].doveadm("auth", "cache", "flush", carol, check=False)
        out((r.stdout + r.stderr).strip() or "(done)")
        check(r.returncode == 0, f"doveadm auth cache flush on {host} exited {r.returncode}")
    mx_reload()
    rosterctl("unit", "list")
    send_and_show(carol, "unit2", "carol-after")
    imap_login(carol, "unit2")
    out("(the first message stays in unit1's store: copying it is dsync's job, doc/scale-out.md section 7)")

    # --- database faults
    say("[db3] systemctl stop mariadb   (here: SIGTERM to db3's mariadbd: a clean stop)")
    c[3].stop()
    out("db3 stopped")
    galera_status(1)
    send_and_show(f"ann@{DOMAIN}", "unit1", "db3-down")
    pop3_login(f"bob@{DOMAIN}", "unit2")

    say(f"[switch] ip link set p{installation.NUMBERS['db2']} down   (db2's cable pulled: db1 is left alone)")
    c[2].host.cut()
    alone = installation.postfix_stack.wait_until(lambda: safe_status(c[1]) == "non-Primary", 30, 0.2)
    check(alone, "db1 did not become non-Primary")
    galera_status(1)
    say("[db1] mariadb roster -e 'SELECT COUNT(*) FROM mailbox'")
    try:
        out(c[1].sql("SELECT COUNT(*) FROM mailbox", database="roster"))
        check(False, "db1 answered while non-Primary")
    except installation.galera.QueryError as e:
        out(next((x for x in str(e).splitlines() if x.startswith("ERROR")), str(e)))
    say(f"SMTP through the MX while no node is Primary: ann@{DOMAIN}, nobody@{DOMAIN} (unknown), "
        f"full@{DOMAIN} (full)")
    t = time.monotonic()
    users = [f"ann@{DOMAIN}", f"nobody@{DOMAIN}", f"full@{DOMAIN}"]
    _, codes = smtp(users, marker("outage"))
    for user in users:
        check(400 <= codes.get(user, 0) < 500, f"RCPT TO:<{user}> answered {codes.get(user)} while the "
              "database is down (4xx expected: a temporary failure, the sender retries)")
    out(f"(answered in {time.monotonic() - t:.0f} s; temporary failures only: the sender's server retries later)")
    imap_login(f"full@{DOMAIN}", "unit2", expect_ok=False)
    imap_login(f"ann@{DOMAIN}", "unit1")
    out("(ann logged in a minute ago: the front end's and unit1's Dovecot answer from their auth cache, "
        "auth_cache_ttl)")

    say(f"[switch] ip link set p{installation.NUMBERS['db2']} up   (db2's cable back)")
    c[2].host.heal()
    c.wait_size(2, timeout=60, node=c[1])
    galera_status(1)
    say("[db3] systemctl start mariadb")
    c[3].start()
    c.wait_size(3, timeout=60, node=c[1])
    out("db3 rejoined (Synced)")
    galera_status(3)

    say("the same requests again, nothing restarted")
    send_and_show(f"ann@{DOMAIN}", "unit1", "after")
    send_and_show(f"bob@{DOMAIN}", "unit2", "after")
    say(f"SMTP through the MX to nobody@{DOMAIN} and full@{DOMAIN}")
    _, codes = smtp([f"nobody@{DOMAIN}", f"full@{DOMAIN}"])
    if any(400 <= c < 500 for c in codes.values()):
        out("(4xx: this smtpd process looked these addresses up during the outage, and Postfix's smtpd keeps\n"
            " each address's lookup, a failed one too, for as long as the process lives: until it has been\n"
            " idle for max_idle (100 s) or served max_use (100) sessions. A reload ends those processes now.)")
        mx_reload()
        say(f"SMTP through the MX to nobody@{DOMAIN} and full@{DOMAIN}")
        _, codes = smtp([f"nobody@{DOMAIN}", f"full@{DOMAIN}"])
    check(codes == {f"nobody@{DOMAIN}": 550, f"full@{DOMAIN}": 452}, f"after the outage: {codes}")
    imap_login(f"full@{DOMAIN}", "unit2")
    pop3_login(carol, "unit2")
    now = pids()
    say("roster's pieces (and the Dovecots that load roster's modules): their processes at the start and now")
    for name, pid in started.items():
        out(f"{name:28} {pid:>8} {now.get(name, '-'):>8}")
    check(now == started, "a roster piece was restarted")


def mx_reload():
    say("[mx] postfix reload")
    site.postfix["mx"].reconfigure()
    out(re.findall(r"^.*reload -- version.*$", site.postfix["mx"].log(), re.M)[-1].split(": ", 1)[-1])


def safe_status(node):
    try:
        return node.cluster_status()
    except installation.galera.QueryError:
        return None


def look_around():
    a = site.address
    top = TOP
    print(f"""
The installation is still up. In another terminal, from {top}:
  a shell on a host:   nsenter --net=/proc/{site.host('mx').pid}/ns/net -- bash     (the MX; the holders' pids:
                       {', '.join(f"{n} {site.host(n).pid}" for n in installation.NUMBERS)})
  rosterctl:           {rel(installation.dovecot_stack.ROSTERCTL)} --config {d('admin', 'roster.conf')} mailbox list
  a database node:     mariadb -uroot -S {d('db', 'db1', 'run', 'mysqld.sock')} roster
  doveadm on unit1:    nsenter -t {site.dovecot['unit1'].dovecot.pid} -m -n -r -w doveadm -c {site.dovecot['unit1'].dovecot_conf} user ann@{DOMAIN}
  from the client:     nsenter --net=/proc/{site.host('client').pid}/ns/net -- curl imap://{a('front')}/ --user 'ann@{DOMAIN}:{PW}'
Each host's files are under {rel(site.dir)}/HOST: roster.conf, dovecot/dovecot.conf and dovecot/dovecot.log,
postfix/etc/main.cf and postfix/log/maillog, policyd/roster-policyd.conf and policyd/policyd.log,
mail/ (the unit's store); the database nodes' under {d('db')}/dbN (my.cnf, run/mysqld.err).
Mailbox passwords: {PW!r}.""")
    keep = os.environ.get("ROSTER_KEEP_TEST_DIR")
    try:
        input(f"Press Enter to stop everything{'' if keep else ' and remove ' + rel(site.dir)} "
              f"(every process in the hosts' namespaces ends, shells too) ")
    except EOFError:
        pass


def main():
    global site
    directory = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "var", "demo-scale"))
    reason = installation.missing()
    if reason:
        print(f"demo-scale: cannot run here: {reason}", file=sys.stderr)
        return 2
    clear(directory)
    # A terminal closed or a kill ends the demo through its teardown.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    begun = time.monotonic()
    site = installation.Installation(directory=directory)
    try:
        say("starting the installation: db1 bootstraps a Galera cluster, db2 and db3 join it; then unit1, unit2, "
            "the MX and the front end")
        site.start()
        out(", ".join(f"{k}: {v:.0f} s" for k, v in site.timings.items()))
        demo()
        print(f"\nThe demo took {time.monotonic() - begun:.0f} s"
              + (f"; {len(unexpected)} UNEXPECTED result(s): " + "; ".join(unexpected) if unexpected
                 else "; every step showed what it should."), flush=True)
        if sys.stdin.isatty():
            look_around()
    except Exception as e:
        print(f"\ndemo-scale stopped: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        unexpected.append(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr, flush=True)
        unexpected.append("interrupted")
    finally:
        print("tearing down ...", flush=True)
        site.close()
        if not os.environ.get("ROSTER_KEEP_TEST_DIR"):
            print(f"removed {rel(site.dir)}", flush=True)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
