"""netns: a small network of hosts in Linux network namespaces, for the tests
of an installation spread over several machines (tests/scale/).

A "switch" namespace holds a bridge; each host is a network namespace joined
to that bridge by a veth pair, with a private address (10.16.0.N/24 by
default) that exists only inside these namespaces, and its loopback up. No
namespace has a default route and the switch has no link to the namespace the
test runs in, so nothing sent inside this network can leave it (the machine's
resolver, say, is unreachable from a host: lookups fail at once).

Each namespace is held by a process (`unshare --net sleep infinity`) that dies
with the thread that made it (PR_SET_PDEATHSIG), never by a name under
/run/netns that a killed test would leave behind. Commands run inside a host
with `nsenter --net=/proc/PID/ns/net`; the test's own clients open sockets
inside a host with setns(2) on the calling thread only (Host.socket). close()
ends every process still in a host's namespace, then the holders; a host's
daemons should be stopped by their owners first.

Works as root in the machine's namespaces, inside `unshare --net` (tools/check)
and in a chroot (the Debian 13 one of tools/debian13), as long as /proc is
mounted. Trusts: ip (iproute2), unshare and nsenter (util-linux), root.
Standard library only (Python 3.11: os.setns arrived in 3.12, so ctypes)."""
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def missing_programs():
    """What this module needs that the machine lacks (a reason to skip), or ''."""
    for program in ("ip", "unshare", "nsenter"):
        if shutil.which(program) is None and shutil.which(program, path="/usr/sbin:/sbin") is None:
            return f"{program} not installed"
    if os.geteuid() != 0:
        return "not root (network namespaces need it)"
    if not os.path.exists("/proc/self/ns/net"):
        return "/proc not mounted"
    return ""


def _ip():
    return shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")


def _die_with_parent():
    """preexec_fn: SIGKILL this child when the thread that started it ends."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before prctl
        os._exit(1)


def _setns(fd):
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)
        return
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def _ns_id(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


class _Namespace:
    """A network namespace held by a process."""

    def __init__(self, name):
        self.name = name
        own = _ns_id("/proc/self/ns/net")
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], stdin=subprocess.DEVNULL,
                                       preexec_fn=_die_with_parent)
        self.pid = self.holder.pid
        self.path = f"/proc/{self.pid}/ns/net"
        deadline = time.monotonic() + 10
        while True:
            ns = _ns_id(self.path)
            if ns and ns != own:
                break
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"namespace {name}: unshare --net failed ({self.holder.poll()})")
            time.sleep(0.01)
        self.id = ns

    def cmd(self, args):
        """argv running `args` inside this namespace."""
        return ["nsenter", f"--net={self.path}", "--", *args]

    def run(self, args, check=True, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        r = subprocess.run(self.cmd(args), **kwargs)
        if check and r.returncode != 0:
            raise RuntimeError(f"[{self.name}] {' '.join(args)} exited {r.returncode}: "
                               f"{(r.stderr or '').strip()[-2000:]}")
        return r

    def ip(self, *args, check=True):
        return self.run([_ip(), *args], check=check)

    def processes(self):
        """Pids of the processes in this namespace, its holder left out."""
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if int(pid) != self.pid and _ns_id(f"/proc/{pid}/ns/net") == self.id:
                out.append(int(pid))
        return out

    def kill_all(self, grace=5.0):
        """SIGTERM to every process in the namespace, SIGKILL to those left after `grace` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.05)

    def close(self):
        self.kill_all()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()


class Host(_Namespace):
    """A host on the network: run(), popen() and cmd() run commands inside it,
    socket() and connect() open the test's own sockets inside it; cut() takes
    its cable out of the switch, heal() puts it back."""

    def __init__(self, network, name, number):
        super().__init__(name)
        self.network = network
        self.address = f"{network.prefix}.{number}"
        self.port_name = f"p{number}"  # its end at the switch
        network.switch.ip("link", "add", "name", self.port_name, "type", "veth", "peer", "name", "eth0",
                          "netns", str(self.pid))
        network.switch.ip("link", "set", self.port_name, "master", "br0", "up")
        self.ip("link", "set", "lo", "up")
        self.ip("addr", "add", f"{self.address}/24", "dev", "eth0")
        self.ip("link", "set", "eth0", "up")

    def popen(self, args, **kwargs):
        return subprocess.Popen(self.cmd(args), **kwargs)

    @contextlib.contextmanager
    def entered(self):
        """The calling thread in this host's namespace for the block (sockets made there stay in it)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield self
            finally:
                _setns(own)
        finally:
            os.close(own)
            os.close(target)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        with self.entered():
            return socket.socket(family, type)

    def add_address(self, address):
        """One more address on the host's interface (a client that needs several, say)."""
        self.ip("addr", "add", f"{address}/24", "dev", "eth0")

    def connect(self, address, port, timeout=30, source=None):
        """A TCP connection from this host (from its own address, or `source`) to address:port."""
        s = self.socket()
        try:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.connect((address, port))
        except BaseException:
            s.close()
            raise
        return s

    def reaches(self, address, port, timeout=2):
        try:
            self.connect(address, port, timeout).close()
            return True
        except OSError:
            return False

    def cut(self):
        """Unplugs the host: its link at the switch goes down (the host keeps its address)."""
        self.network.switch.ip("link", "set", self.port_name, "down")

    def heal(self):
        self.network.switch.ip("link", "set", self.port_name, "up")


class Network:
    """A switch and the hosts on it. Use as a context manager, or call close()."""

    def __init__(self, prefix="10.16.0"):
        self.prefix = prefix
        self.hosts = {}
        self._lock = threading.Lock()
        self.switch = _Namespace("switch")
        try:
            self.switch.ip("link", "set", "lo", "up")
            self.switch.ip("link", "add", "name", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
            self.switch.ip("link", "set", "br0", "up")
        except BaseException:
            self.switch.close()
            raise

    def add_host(self, name, number):
        """A new host `name` at PREFIX.number."""
        with self._lock:
            if name in self.hosts:
                raise ValueError(f"host {name} exists")
            host = Host(self, name, number)
            self.hosts[name] = host
            return host

    def __getitem__(self, name):
        return self.hosts[name]

    def close(self):
        """Ends every process in the hosts' namespaces, then the namespaces."""
        for host in list(self.hosts.values()):
            with contextlib.suppress(Exception):
                host.close()
        self.hosts.clear()
        self.switch.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
