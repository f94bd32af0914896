"""Processes, ports and /proc readings. Every child gets its own process group; stop() signals
that group, so Kamailio's children and SIPp go too. All children are stopped on exit, failure,
SIGINT and SIGTERM (the entry scripts call PROCS.stop_all())."""
import ctypes
import glob
import os
import signal
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
T_START = time.monotonic()
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


_log_stream = None  # None: stdout


def log_to(stream):
    """Sends log() lines to `stream` (hold_calls.py keeps stdout for its JSON protocol)."""
    global _log_stream
    _log_stream = stream


def log(msg):
    print(f"[{time.monotonic() - T_START:7.1f}s] {msg}", file=_log_stream or sys.stdout,
          flush=True)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def _dying_with(parent, mask):
    """preexec_fn: the child gets SIGTERM when `parent` dies, even by SIGKILL (prctl
    PR_SET_PDEATHSIG), and gets the signal mask `mask` back."""
    def arm():
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        if os.getppid() != parent:
            os._exit(1)  # the parent died before prctl
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return arm


class Procs:
    def __init__(self):
        self.live = []
        # hold_calls.py sets it: its children must not outlive it, however it ends (no
        # threads may run then: preexec_fn). Its signal handlers raise, so the stop signals
        # are also held back while a child starts, else a child could start untracked.
        self.die_with_parent = False

    def start(self, cmd, *, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=None,
              stdin=subprocess.DEVNULL):
        cmd = [str(c) for c in cmd]
        if not self.die_with_parent:
            p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=cwd, stdin=stdin,
                                 start_new_session=True)
            self.live.append(p)
            return p
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=cwd, stdin=stdin,
                                 start_new_session=True,
                                 preexec_fn=_dying_with(os.getpid(), mask))
            self.live.append(p)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return p

    @staticmethod
    def _group_alive(pgid):
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
            except (OSError, IndexError, ValueError):
                continue
        return False

    def stop(self, p, timeout=5.0, sig=signal.SIGTERM):
        if p is None:
            return
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p.poll()
            if not self._group_alive(p.pid):
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in reversed(list(self.live)):
            self.stop(p, timeout=3.0)


PROCS = Procs()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def udp_bound(port):
    """True when some process has a UDP socket bound to 127.0.0.1:port (from /proc/net/udp)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            return any(line.split()[1] == want for line in f.readlines()[1:])
    except OSError:
        return False


def udp_drops(port):
    """Datagrams the kernel dropped at the UDP socket bound to 127.0.0.1:port because its
    receive buffer was full (the last column of /proc/net/udp); None when none is bound."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == want:
                    return int(fields[-1])
    except (OSError, IndexError, ValueError):
        pass
    return None


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise BenchError(f"timed out waiting for {what}")


def cpu_ticks(pids):
    """utime+stime (clock ticks) summed over pids, from /proc/<pid>/stat (all threads)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children_of(pid):
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            continue
    return out


def trim_log(path, keep=1_000_000):
    """Keeps the first `keep` bytes of a server log (an overloaded mcxd logs every refused
    socket, hundreds of MB)."""
    try:
        if path and path.stat().st_size > 2 * keep:
            with open(path, "r+b") as f:
                f.truncate(keep)
                f.seek(keep)
                f.write(b"\n[... trimmed by run.py ...]\n")
    except OSError:
        pass
