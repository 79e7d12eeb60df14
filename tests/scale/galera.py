"""galera: a MariaDB Galera cluster of private servers, one node per host of
tests/scale/netns.py, for the tests of roster on a replicated database.

Each node has its own directory (datadir, socket, pid and error log), listens
on port 3306 of its host's address and talks Galera (4567), IST (4568) and
rsync SST (4444) there; nothing is on the machine's own network. Node 1 alone
is made with mariadb-install-db and bootstraps the cluster
(--wsrep-new-cluster); the others join it empty and get a state transfer.
Root reaches each node over its unix socket (socket authentication), from the
test's own namespace.

The settings are those a Galera node needs (binlog_format=ROW, InnoDB,
innodb_autoinc_lock_mode=2) plus the test's choices: small buffers and short
failure detection (evs.suspect_timeout=PT2S, evs.inactive_timeout=PT3S, and
evs.keepalive_period=PT0.5S, which must stay under a third of the first).
wsrep_sync_wait is the server's default (0: a read may miss a write another
node committed a moment before) unless a sync_wait is given: the pieces that
need fresh reads ask for them per session (roster's db_sync_wait).

Trusts: mariadbd, mariadb-install-db, Debian's galera-4 and rsync, root.
Needs the `mysql` user."""
import os
import re
import shutil
import signal
import subprocess
import time

PROVIDERS = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/libgalera_smm.so",
             "/usr/lib/x86_64-linux-gnu/galera/libgalera_smm.so")
PATH = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"


def provider():
    return next((p for p in PROVIDERS if os.path.exists(p)), None)


def missing_programs():
    """What a cluster needs that the machine lacks (a reason to skip), or ''."""
    if provider() is None:
        return "galera-4 not installed (no libgalera_smm.so)"
    for program in ("mariadbd", "mariadb-install-db", "mariadb", "rsync", "wsrep_sst_rsync"):
        if shutil.which(program, path=PATH) is None:
            return program + " not installed"
    return ""


class QueryError(RuntimeError):
    """A statement the server refused: .code is MariaDB's error number (1047: not primary, ...)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class Node:
    def __init__(self, cluster, index, host, directory):
        self.cluster = cluster
        self.index = index
        self.name = f"db{index}"
        self.host = host
        self.address = host.address
        self.port = 3306
        self.dir = directory
        self.data = os.path.join(directory, "data")
        self.run_dir = os.path.join(directory, "run")
        self.tmp = os.path.join(directory, "tmp")
        self.socket = os.path.join(self.run_dir, "mysqld.sock")
        self.pid_file = os.path.join(self.run_dir, "mysqld.pid")
        self.error_log = os.path.join(self.run_dir, "mysqld.err")
        self.cnf = os.path.join(directory, "my.cnf")
        self.process = None

    @property
    def endpoint(self):
        """The node in db_hosts' syntax."""
        return f"{self.address}:{self.port}"

    def write_config(self):
        for d in (self.dir, self.data, self.run_dir, self.tmp):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o755)
        for d in (self.data, self.run_dir, self.tmp):
            shutil.chown(d, "mysql", "mysql")
        c = self.cluster
        with open(self.cnf, "w") as f:
            f.write(f"""# A Galera node of a test (tests/scale/galera.py)
[mysqld]
user = mysql
datadir = {self.data}
tmpdir = {self.tmp}
socket = {self.socket}
pid-file = {self.pid_file}
log-error = {self.error_log}
bind-address = {self.address}
port = {self.port}
skip-name-resolve
max_connections = 500
character-set-server = utf8mb4
collation-server = utf8mb4_bin
innodb_buffer_pool_size = 32M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 2
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = {provider()}
wsrep_cluster_name = roster-test
wsrep_cluster_address = gcomm://{",".join(n.address for n in c.nodes)}
wsrep_node_address = {self.address}
wsrep_node_name = {self.name}
wsrep_sst_method = rsync
wsrep_provider_options = "gcache.size=16M;evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT3S"
{"" if c.sync_wait is None else f"wsrep_sync_wait = {c.sync_wait}"}
{c.extra}
""")

    # --- life ---
    def start(self, bootstrap=False, wait=True, timeout=90):
        """Starts mariadbd in its host (with --wsrep-new-cluster when bootstrapping) and, with wait,
        returns once it is Synced."""
        if self.running():
            raise RuntimeError(f"{self.name} is running")
        self.write_config()
        if bootstrap and not os.path.isdir(os.path.join(self.data, "mysql")):
            r = subprocess.run(["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={self.data}",
                                f"--tmpdir={self.tmp}", "--auth-root-authentication-method=socket",
                                "--skip-test-db"], capture_output=True, text=True, env={**os.environ, "PATH": PATH})
            if r.returncode != 0:
                raise RuntimeError(f"mariadb-install-db for {self.name}: {r.stdout}{r.stderr}")
        args = [shutil.which("mariadbd", path=PATH), f"--defaults-file={self.cnf}"]
        if bootstrap:
            args.append("--wsrep-new-cluster")
        position = self.recovered_position()
        if position:
            args.append(f"--wsrep-start-position={position}")
        self.log_offset = self.log_size()
        self.process = self.host.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True,
                                       env={**os.environ, "PATH": PATH})
        if wait:
            self.wait_synced(timeout)

    def recovered_position(self):
        """After a crash (grastate.dat's seqno -1 with a datadir): the position
        `mariadbd --wsrep-recover` finds in InnoDB, so the restart asks for an
        incremental transfer instead of a full one. None when not needed."""
        state = self.grastate()
        if not state or state.get("seqno", "-1") != "-1" or not os.path.isdir(os.path.join(self.data, "mysql")):
            return None
        before = self.log_size()
        subprocess.run(self.host.cmd([shutil.which("mariadbd", path=PATH), f"--defaults-file={self.cnf}",
                                      "--wsrep-recover", "--log-error=" + self.error_log]),
                       capture_output=True, env={**os.environ, "PATH": PATH}, timeout=120)
        with open(self.error_log, errors="replace") as f:
            f.seek(before)
            for line in f:
                if "WSREP: Recovered position:" in line:
                    pos = line.rsplit("Recovered position:", 1)[1].strip()
                    if not pos.endswith(":-1"):
                        return pos
        return None

    def grastate(self):
        try:
            with open(os.path.join(self.data, "grastate.dat")) as f:
                pairs = (line.split(":", 1) for line in f if ":" in line and not line.startswith("#"))
                return {k.strip(): v.strip() for k, v in pairs}
        except OSError:
            return None

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except OSError:
            return 0

    def log(self, since_start=False):
        try:
            with open(self.error_log, errors="replace") as f:
                if since_start:
                    f.seek(getattr(self, "log_offset", 0))
                return f.read()
        except OSError:
            return ""

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=60):
        """SIGTERM and wait: a clean shutdown (the node leaves the cluster)."""
        if not self.running():
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self):
        """SIGKILL: a crash."""
        if self.running():
            self.process.kill()
            self.process.wait()
        self.process = None

    def wait_synced(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n"
                                   + self.log(since_start=True)[-4000:])
            try:
                if self.status("wsrep_local_state_comment") == "Synced" and self.status("wsrep_ready") == "ON":
                    return
            except QueryError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not Synced after {timeout}s:\n" + self.log(since_start=True)[-4000:])

    # --- queries ---
    def sql(self, statement, database="", timeout=60):
        """Runs SQL as root over the node's socket; the rows as lists of strings.
        Raises QueryError (with MariaDB's error code) when the server refuses."""
        args = ["mariadb", "--no-defaults", "-uroot", "-S", self.socket, "--batch", "--skip-column-names"]
        if database:
            args.append(database)
        try:
            r = subprocess.run(args + ["-e", statement], capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, "PATH": PATH})
        except subprocess.TimeoutExpired:
            raise QueryError(f"{self.name}: no answer in {timeout}s to {statement[:200]}", None)
        if r.returncode != 0:
            err = r.stderr.strip()
            m = re.search(r"^ERROR (\d+)", err, re.M)
            code = int(m.group(1)) if m else None
            raise QueryError(f"{self.name}: {err[-1000:]}", code)
        return [line.split("\t") for line in r.stdout.splitlines()]

    def status(self, name):
        """A status variable's value (wsrep_cluster_size, wsrep_local_state_comment, wsrep_cluster_status...)."""
        rows = self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'", timeout=10)
        return rows[0][1] if rows else None

    def cluster_size(self):
        return int(self.status("wsrep_cluster_size") or 0)

    def state(self):
        """wsrep_local_state_comment: Synced, Donor/Desynced, Joining, Initialized..."""
        return self.status("wsrep_local_state_comment")

    def cluster_status(self):
        """wsrep_cluster_status: Primary or non-Primary (or Disconnected)."""
        return self.status("wsrep_cluster_status")


class Cluster:
    """Three (or `len(hosts)`) Galera nodes on the given netns hosts, under `directory`."""

    def __init__(self, hosts, directory, sync_wait=None, extra=""):
        self.sync_wait = sync_wait
        self.extra = extra
        self.nodes = []
        for i, host in enumerate(hosts, 1):
            self.nodes.append(Node(self, i, host, os.path.join(directory, f"db{i}")))

    def __getitem__(self, i):
        """Node i, counted from 1 as their names are (db1, db2, db3)."""
        return self.nodes[i - 1]

    @property
    def db_hosts(self):
        """The nodes in db_hosts' syntax, in order."""
        return self.db_hosts_from(1)

    def db_hosts_from(self, first):
        """The nodes in db_hosts' syntax, node `first` first and the others after it in turn
        (doc/scale-out.md: hosts spread their connections over the nodes)."""
        k = first - 1
        return ", ".join(n.endpoint for n in self.nodes[k:] + self.nodes[:k])

    def start(self):
        """Bootstraps node 1 and joins the others, one at a time."""
        self.nodes[0].start(bootstrap=True)
        for node in self.nodes[1:]:
            node.start()
        self.wait_size(len(self.nodes))

    def wait_size(self, size, timeout=60, node=None):
        """Until a running node (or `node`) sees a Primary component of `size` nodes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in [node] if node else [n for n in self.nodes if n.running()]:
                try:
                    if n.cluster_size() == size and n.cluster_status() == "Primary":
                        return n
                except QueryError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"no Primary component of {size} nodes after {timeout}s")

    def bootstrap_node(self):
        """After every node stopped: the node whose grastate.dat says safe_to_bootstrap: 1 (None if none)."""
        for n in self.nodes:
            if (n.grastate() or {}).get("safe_to_bootstrap") == "1":
                return n
        return None

    def stop(self):
        """Stops the nodes, the last one last (it is then safe to bootstrap from)."""
        for n in reversed(self.nodes):
            n.stop()

    def close(self):
        for n in self.nodes:
            if n.running():
                n.kill()
