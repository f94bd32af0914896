#!/usr/bin/env python3
"""Private-call capacity, setup latency, CPU, memory and media relay of mcxd, measured side by
side with Kamailio + rtpengine (issue 10; docs/BENCHMARKS.md).

Everything runs on 127.0.0.1 with ports picked free at run time: a real mcxd process (SIP
registrar + MCPTT server + IdMS) and, as the peer, Kamailio (stateful proxy: tm, rr, textops,
usrloc/registrar in memory, rtpengine_manage on INVITE/200/BYE) with rtpengine in userspace.
SIPp (sip-tester) plays the MCPTT clients (bench/capacity/scenarios). Servers are started fresh
for every run and stopped afterwards, also on failure and Ctrl-C.

Steps (full run, about 12-15 minutes on 2 cores; mcxd and the peer alternate run by run):
  1. steady state at --latency-rate (250/s): --reps runs of --sustain-seconds (36 s: libre's
     SIP transaction timers live 32 s, so a server only reaches its steady state after that).
     Over the last --window-seconds: INVITE->200 per Call-ID from a dumpcap capture of the
     caller's port (p50, p99), and CPU ms per call from /proc/<pid>/stat (utime+stime);
  2. burst steps: --seconds runs at each of --rates above it, --reps runs each; a system is
     not stepped further once the median run has >= 0.1 % failed calls;
  3. sustained capacity: from the highest passing burst rate down (halving below the lowest
     step), --sustain-seconds runs until a rate passes (the majority of up to --reps runs;
     one run losing >= 10 % of its calls fails the rate, and is stopped right then),
     then one probe halfway to the lowest failing rate; at most --max-probes rates per
     system -> *_cps in the report;
  4. RSS per concurrent call of mcxd (VmRSS delta while holding --rss-calls calls);
  5. media: N concurrent calls with RTP at 50 packets/s each way (rtp_load.py) through mcxd
     (calls offered WITHOUT the floor control m-line, so mcxd relays full duplex) and through
     rtpengine: CPU % per 100 relayed streams and loss, median of --media-reps runs.
Results: a table on stdout, metrics merged into OUT/report.json ({"metrics": {...}}), raw
results in OUT/capacity/results.json and a Markdown table in OUT/capacity/section.md.

--smoke runs a few calls of the same scenarios against mcxd (and the peer when kamailio and
rtpengine are installed) without timing assertions; it exits 0 with a message when sipp is
missing. Exit status: 0 on success, 1 when a run failed, 2 on bad usage.
"""
import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import random
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
REPO = HERE.parent.parent
HOST = "127.0.0.1"
MCX_DOMAIN = "bench.mcx"
PEER_DOMAIN = "peer.bench"
FAIL_LIMIT_PCT = 0.1
# A sustained run losing this share of its calls is an overload, not noise: the rate fails.
COLLAPSE_PCT = 10.0
KAMAILIO_CHILDREN = 4
# rtpengine's media ports: a block of 2000 below the kernel's ephemeral range (32768-60999),
# from which every other port here is picked. Kamailio's UDP socket has SO_REUSEADDR, and so do
# rtpengine's: with rtpengine's default range (30000-40000) it could bind Kamailio's SIP port
# and swallow its traffic (seen: runs where almost every call timed out). The block is drawn
# at random so that two benches on one machine (e.g. the CTest smoke) rarely share ports.
RTPENGINE_BLOCK = 2000
T_START = time.monotonic()


class BenchError(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T_START:7.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Processes: every child gets its own process group; stop() signals that group, so Kamailio's
# children and SIPp go too. All children are stopped on exit, failure, SIGINT and SIGTERM.


class Procs:
    def __init__(self):
        self.live = []

    def start(self, cmd, *, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=None):
        p = subprocess.Popen([str(c) for c in cmd], stdout=stdout, stderr=stderr, cwd=cwd,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.live.append(p)
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


CLK_TCK = os.sysconf("SC_CLK_TCK")


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


class Sinks:
    """UDP sockets standing for the clients' media and floor ports; drained by a thread."""

    def __init__(self, n):
        self.socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((HOST, 0))
            s.setblocking(False)
            self.socks.append(s)
        self.ports = [s.getsockname()[1] for s in self.socks]
        self.packets = [0] * n
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            sel.register(s, selectors.EVENT_READ, i)
        while not self._stop:
            for key, _ in sel.select(0.2):
                while True:
                    try:
                        key.fileobj.recv(4096)
                        self.packets[key.data] += 1
                    except (BlockingIOError, OSError):
                        break

    def close(self):
        self._stop = True
        self._thread.join(2)
        for s in self.socks:
            s.close()


# ---------------------------------------------------------------------------------------------
# SIPp


def sipp_stats(path):
    """Last line of a SIPp -trace_stat file as {column: value}."""
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    head = lines[0].split(";")
    vals = lines[-1].split(";")
    return dict(zip(head, vals))


def stat_int(stats, key):
    try:
        return int(stats.get(key, "0"))
    except ValueError:
        return 0


class Sipp:
    def __init__(self, ctx):
        self.ctx = ctx

    def cmd(self, scenario, port, target, keys, inf=None, extra=()):
        c = ["sipp", "-sf", SCENARIOS / scenario, "-i", HOST, "-p", port, "-nostdin"]
        if inf:
            c += ["-inf", inf]
        for k, v in keys.items():
            c += ["-key", k, v]
        c += list(extra)
        if target:
            c.append(target)
        return c

    def run(self, name, workdir, scenario, port, target, keys, inf, calls, rate, hold_ms=0,
            recv_timeout_ms=5000, log_file=None, background=False):
        """Runs a UAC scenario: `calls` calls at `rate` per second; returns the stats."""
        stat = workdir / f"{name}.stat.csv"
        extra = ["-m", calls, "-r", rate, "-rp", 1000, "-d", hold_ms,
                 "-recv_timeout", recv_timeout_ms, "-trace_stat", "-stf", stat, "-fd", 1,
                 "-trace_err", "-error_file", workdir / f"{name}.errors.log",
                 "-max_log_size", 2_000_000]
        if log_file:
            extra += ["-trace_logs", "-log_file", log_file]
        budget = calls / max(rate, 1) + hold_ms / 1000.0 + recv_timeout_ms / 1000.0 + 20
        extra += ["-timeout", f"{int(budget)}s"]
        cmd = self.cmd(scenario, port, target, keys, inf, extra)
        out = open(workdir / f"{name}.screen.txt", "w")
        p = PROCS.start(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        out.close()
        if background:
            return p, stat
        try:
            rc = p.wait(timeout=budget + 15)
        except subprocess.TimeoutExpired:
            PROCS.stop(p)
            rc = -1
        PROCS.live.remove(p) if p in PROCS.live else None
        return rc, self.summary(stat, calls)

    @staticmethod
    def summary(stat, calls):
        s = sipp_stats(stat)
        ok = stat_int(s, "SuccessfulCall(C)")
        return {"calls": calls, "successful": ok, "failed": calls - ok,
                "failed_pct": 100.0 * (calls - ok) / calls if calls else 0.0,
                "retransmissions": stat_int(s, "Retransmissions(C)"),
                "unexpected": stat_int(s, "FailedUnexpectedMessage(C)"),
                "max_retrans": stat_int(s, "FailedMaxUDPRetrans(C)"),
                "recv_timeouts": stat_int(s, "FailedTimeoutOnRecv(C)"),
                "rejected": stat_int(s, "FailedCallRejected(C)")}

    def register(self, name, workdir, scenario, port, target, domain, inf, users):
        rc, res = self.run(name, workdir, scenario, port, target, {"domain": domain}, inf,
                           users, rate=1000, recv_timeout_ms=3000)
        if res["successful"] != users:
            raise BenchError(f"{name}: {res['successful']}/{users} registrations succeeded "
                             f"(see {workdir}/{name}.errors.log)")

    def uas(self, name, workdir, scenario, port, keys, log_file=None):
        extra = ["-trace_err", "-error_file", workdir / f"{name}.errors.log",
                 "-max_log_size", 2_000_000]
        if log_file:
            extra += ["-trace_logs", "-log_file", log_file]
        p = PROCS.start(self.cmd(scenario, port, None, keys, None, extra), cwd=workdir)
        wait_until(lambda: udp_bound(port) or p.poll() is not None, 10, f"SIPp UAS on {port}")
        if p.poll() is not None:
            raise BenchError(f"SIPp UAS {name} exited with {p.returncode}")
        return p


# ---------------------------------------------------------------------------------------------
# mcxd


class Mcxd:
    kind = "mcxd"
    domain = MCX_DOMAIN
    register_scenario = "mcptt_register.xml"

    def __init__(self, ctx):
        self.ctx = ctx
        self.workdir = ctx.out / "mcxd"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "mcxd.toml"
        self.proc = None
        self.log = None
        lines = ["# Generated by bench/capacity/run.py: one MC system for the capacity bench.",
                 "[system]", 'id = "B"', f'domain = "{MCX_DOMAIN}"', f'host = "{HOST}"',
                 "[sip]", "port = 0", "registration_max_expires = 3600",
                 "invite_timeout_seconds = 32", "[http]", "port = 0", "[idms]",
                 'key_file = "idms-key.pem"', "token_lifetime_seconds = 7200",
                 "[private_call]",
                 "# far above the calls any user holds under load: N10 never trips",
                 "max_calls_per_user = 1000000", ""]
        for role in ("caller", "callee"):
            for i in range(ctx.users):
                lines += ["[[users]]", f'id = "sip:{role}{i}@{MCX_DOMAIN}"',
                          f'password = "pw-{role}{i}"', ""]
        self.config.write_text("\n".join(lines))

    def start(self, logdir=None):
        self.log = (logdir or self.workdir) / "mcxd.stderr.log"
        err = open(self.log, "w")
        self.proc = PROCS.start([self.ctx.mcxd, "--config", self.config, "--log-level", "warn"],
                                stdout=subprocess.PIPE, stderr=err)
        err.close()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(30):
            raise BenchError("mcxd printed no ready line within 30 s")
        line = self.proc.stdout.readline().decode()
        sel.close()
        try:
            ready = json.loads(line)
        except json.JSONDecodeError:
            raise BenchError(f"mcxd: unexpected first line {line!r} (see {self.workdir})")
        self.sip = ready["sip"]
        self.http = ready["http"]
        threading.Thread(target=lambda s: [None for _ in s], args=(self.proc.stdout,),
                         daemon=True).start()

    def pids(self):
        return [self.proc.pid]

    def cpu_parts(self):
        return {"mcxd": cpu_ticks(self.pids())}

    def stop(self):
        PROCS.stop(self.proc)
        self.proc = None
        trim_log(self.log)

    def status(self):
        with urllib.request.urlopen(f"http://{self.http}/status", timeout=5) as r:
            return json.load(r)

    def token(self, user):
        data = urllib.parse.urlencode({"grant_type": "password",
                                       "username": f"sip:{user}@{MCX_DOMAIN}",
                                       "password": f"pw-{user}"}).encode()
        req = urllib.request.Request(f"http://{self.http}/idms/token", data=data)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["access_token"]

    def fetch_tokens(self):
        """Log every user in once (PBKDF2 ~10 ms each, 4 in parallel); the signing key lives
        in idms-key.pem, so the tokens stay valid across the restarts of mcxd."""
        users = [f"{r}{i}" for r in ("caller", "callee") for i in range(self.ctx.users)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            tokens = dict(zip(users, pool.map(self.token, users)))
        for role in ("caller", "callee"):
            rows = [f"{role}{i};{tokens[f'{role}{i}']}" for i in range(self.ctx.users)]
            (self.workdir / f"{role}s.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")

    def register_all(self, sipp, workdir, caller_port, callee_port):
        sipp.register("register-callers", workdir, self.register_scenario, caller_port,
                      self.sip, MCX_DOMAIN, self.workdir / "callers.csv", self.ctx.users)
        sipp.register("register-callees", workdir, self.register_scenario, callee_port,
                      self.sip, MCX_DOMAIN, self.workdir / "callees.csv", self.ctx.users)

    def scenarios(self, duplex):
        if duplex:
            return "mcptt_call_uac_duplex.xml", "mcptt_call_uas_duplex.xml"
        return "mcptt_call_uac.xml", "mcptt_call_uas.xml"


# ---------------------------------------------------------------------------------------------
# The peer: Kamailio + rtpengine

KAMAILIO_CFG = """#!KAMAILIO
# Generated by bench/capacity/run.py: the benchmark peer. A stateful proxy (tm) with
# record-route, callee location from REGISTER (usrloc in memory) and media anchored in
# rtpengine (rtpengine_manage on INVITE, on replies with SDP, on BYE and on failure).
debug=0
log_stderror=yes
children={children}
disable_tcp=yes
auto_aliases=no
listen=udp:{host}:{port}
alias="{domain}"
mpath="{mpath}"

loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "rtpengine.so"

modparam("usrloc", "db_mode", 0)
modparam("rtpengine", "rtpengine_sock", "udp:{host}:{ng_port}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (!is_method("ACK")) {{
        if (t_precheck_trans()) {{ t_check_trans(); exit; }}
        t_check_trans();
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            if (is_method("BYE")) {{ rtpengine_manage(); }}
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("REGISTER")) {{ save("location"); exit; }}
    if (is_method("INVITE")) {{
        if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
        record_route();
        rtpengine_manage("replace-origin replace-session-connection");
        t_on_reply("MANAGE_REPLY");
        t_on_failure("MANAGE_FAILURE");
        t_relay();
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}

onreply_route[MANAGE_REPLY] {{
    if (has_body("application/sdp")) {{
        rtpengine_manage("replace-origin replace-session-connection");
    }}
}}

failure_route[MANAGE_FAILURE] {{
    rtpengine_manage();
}}
"""


def kamailio_mpath():
    for d in glob.glob("/usr/lib/*/kamailio/modules") + ["/usr/lib/kamailio/modules"]:
        if os.path.exists(os.path.join(d, "rtpengine.so")):
            return d
    raise BenchError("kamailio modules (rtpengine.so) not found")


def peer_available():
    return bool(shutil.which("kamailio") and shutil.which("rtpengine"))


def ng_ping(port, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(b"bench1 d7:command4:pinge", (HOST, port))
            return b"pong" in s.recv(1024)
        except OSError:
            return False


def sip_options_ping(port, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(timeout)
        lp = s.getsockname()[1]
        msg = (f"OPTIONS sip:{PEER_DOMAIN} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{lp};branch=z9hG4bK-bench-{time.monotonic_ns()}\r\n"
               f"From: <sip:ping@{PEER_DOMAIN}>;tag=1\r\nTo: <sip:{PEER_DOMAIN}>\r\n"
               f"Call-ID: ping-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
               "Content-Length: 0\r\n\r\n")
        try:
            s.sendto(msg.encode(), (HOST, port))
            return s.recv(4096).startswith(b"SIP/2.0")
        except OSError:
            return False


class Peer:
    kind = "peer"
    domain = PEER_DOMAIN
    register_scenario = "peer_register.xml"

    def __init__(self, ctx):
        self.ctx = ctx
        self.workdir = ctx.out / "peer"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rtpengine = None
        self.kamailio = None
        self.kam_pids = []
        self.logs = []
        self.mpath = kamailio_mpath()
        self.port_min = random.randrange(10000, 32768 - RTPENGINE_BLOCK, RTPENGINE_BLOCK)
        rows = [f"callee{i}" for i in range(ctx.users)]
        (self.workdir / "callees.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")

    def start(self, logdir=None):
        ng = free_udp_port()
        port = free_udp_port()
        self.logs = [(logdir or self.workdir) / n for n in ("rtpengine.log", "kamailio.log")]
        err = open(self.logs[0], "w")
        self.rtpengine = PROCS.start(
            ["rtpengine", "--config-file=none", "--table=-1", f"--interface={HOST}",
             f"--listen-ng={HOST}:{ng}", "--delete-delay=0", "--foreground", "--log-stderr",
             "--log-level=4", f"--pidfile={self.workdir / 'rtpengine.pid'}",
             f"--port-min={self.port_min}", f"--port-max={self.port_min + RTPENGINE_BLOCK - 1}"],
            stdout=err, stderr=subprocess.STDOUT)
        err.close()
        try:
            wait_until(lambda: ng_ping(ng) or self.rtpengine.poll() is not None, 15,
                       "rtpengine control (ng) port")
        except BenchError:
            raise BenchError(f"rtpengine did not answer ping (see {self.logs[0]})")
        if self.rtpengine.poll() is not None:
            raise BenchError(f"rtpengine exited (see {self.logs[0]})")
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(KAMAILIO_CFG.format(children=KAMAILIO_CHILDREN, host=HOST, port=port,
                                           domain=PEER_DOMAIN, mpath=self.mpath, ng_port=ng))
        run_dir = self.workdir / "run"
        run_dir.mkdir(exist_ok=True)
        err = open(self.logs[1], "w")
        self.kamailio = PROCS.start(["kamailio", "-f", cfg, "-DD", "-E", "-m", "256", "-M", "16",
                                     "-Y", run_dir, "-w", run_dir],
                                    stdout=err, stderr=subprocess.STDOUT)
        err.close()
        wait_until(lambda: sip_options_ping(port) or self.kamailio.poll() is not None, 20,
                   "Kamailio to answer OPTIONS")
        if self.kamailio.poll() is not None:
            raise BenchError(f"kamailio exited (see {self.logs[1]})")
        self.sip = f"{HOST}:{port}"
        self.kam_pids = [self.kamailio.pid] + children_of(self.kamailio.pid)

    def pids(self):
        return self.kam_pids + [self.rtpengine.pid]

    def cpu_parts(self):
        return {"kamailio": cpu_ticks(self.kam_pids), "rtpengine": cpu_ticks([self.rtpengine.pid])}

    def stop(self):
        PROCS.stop(self.kamailio)
        PROCS.stop(self.rtpengine)
        self.kamailio = self.rtpengine = None
        for log_file in self.logs:
            trim_log(log_file)

    def register_all(self, sipp, workdir, caller_port, callee_port):
        # Callers need no registration at the proxy; callees register their Contact.
        sipp.register("register-callees", workdir, self.register_scenario, callee_port,
                      self.sip, PEER_DOMAIN, self.workdir / "callees.csv", self.ctx.users)

    def scenarios(self, duplex):
        return "peer_call_uac.xml", "peer_call_uas.xml"


# ---------------------------------------------------------------------------------------------
# INVITE -> 200 from a capture of the caller's port


def read_pcap(path):
    """Yields (time, src_port, dst_port, udp payload) for IPv4/UDP packets of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack_from("<I", data)[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise BenchError(f"{path}: not a pcap file (write it with dumpcap -P)")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack_from(e + "I", data, 20)[0]
    link_len = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0, 12: 0}.get(linktype)
    if link_len is None:
        raise BenchError(f"{path}: unsupported link type {linktype}")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ip = pkt[link_len:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", ip, ihl)
        yield sec + frac / (1e9 if nano else 1e6), sport, dport, ip[ihl + 8:]


def setup_times_ms(pcap, caller_port):
    """INVITE->200 per Call-ID: first INVITE sent from the caller's port -> first 200 (CSeq
    INVITE) received on it. Returns [(time of the INVITE, setup ms)] in INVITE order."""
    invites, oks = {}, {}
    for t, sport, dport, payload in read_pcap(pcap):
        head = payload.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        if not lines:
            continue
        call_id = cseq = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name in (b"call-id", b"i"):
                call_id = value.strip()
            elif name == b"cseq":
                cseq = value.strip()
        if call_id is None:
            continue
        if sport == caller_port and lines[0].startswith(b"INVITE "):
            invites.setdefault(call_id, t)
        elif (dport == caller_port and lines[0].startswith(b"SIP/2.0 200")
              and cseq and cseq.endswith(b"INVITE")):
            oks.setdefault(call_id, t)
    return sorted((invites[c], (oks[c] - invites[c]) * 1000.0) for c in oks if c in invites)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class Capture:
    def __init__(self, path, port):
        self.path = path
        self.port = port
        self.proc = PROCS.start(["dumpcap", "-q", "-P", "-i", "lo", "-f", f"udp port {port}",
                                 "-w", path], stderr=subprocess.DEVNULL)
        # dumpcap writes the pcap header once capturing has started.
        wait_until(lambda: path.exists() and path.stat().st_size >= 24
                   or self.proc.poll() is not None, 10, "dumpcap to start")
        if self.proc.poll() is not None:
            raise BenchError("dumpcap failed to start (needs capture rights on lo)")
        time.sleep(0.2)

    def finish(self):
        time.sleep(0.2)
        PROCS.stop(self.proc, sig=signal.SIGINT)
        return setup_times_ms(self.path, self.port)


# ---------------------------------------------------------------------------------------------
# Runs


class Ctx:
    pass


def perf_report(data, out):
    """Flat profile (self time by library and symbol) and inclusive time of mcx functions."""
    flat = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                           "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5"],
                          capture_output=True, text=True).stdout
    incl = subprocess.run(["perf", "report", "-i", data, "--stdio", "--children",
                           "--sort", "sym", "-g", "none", "--percent-limit", "1"],
                          capture_output=True, text=True).stdout
    tree = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                           "--sort", "sym", "-G", "--percent-limit", "3"],
                          capture_output=True, text=True).stdout
    out.write_text("# perf record -e cpu-clock --call-graph dwarf on mcxd\n\n## self time\n" + flat +
                   "\n## inclusive time\n" + incl + "\n## call graphs of the top symbols\n" +
                   tree)


def run_calls(ctx, system, rate, seconds, capture=False, tag="", profile=None, window=None,
              abort_pct=None):
    """One run on a freshly started server: `rate` calls/s for `seconds`. With `window`, the
    CPU per call and the setup times are taken over the last `window` seconds of sending only
    (steady state); failed calls always count over the whole run. With `abort_pct`, the run
    stops as soon as that share of its calls has failed (an overload: waiting for the rest
    only spends the time budget of make bench). Returns a result dict."""
    name = f"{system.kind}-r{rate}{tag}"
    workdir = ctx.out / "runs" / name
    workdir.mkdir(parents=True, exist_ok=True)
    sipp = Sipp(ctx)
    calls = int(rate * seconds)
    system.start(workdir)
    sinks = uas = cap = perf = uac = None
    try:
        caller_port, callee_port = free_udp_port(), free_udp_port()
        system.register_all(sipp, workdir, caller_port, callee_port)
        sinks = Sinks(4)  # caller audio, caller floor, callee audio, callee floor
        uac_scn, uas_scn = system.scenarios(duplex=False)
        uas = sipp.uas("uas", workdir, uas_scn, callee_port,
                       {"audio_port": sinks.ports[2], "floor_port": sinks.ports[3]})
        if capture:
            cap = Capture(workdir / "caller.pcap", caller_port)
        def start_perf():
            return PROCS.start(["perf", "record", "-e", "cpu-clock", "-F", "499",
                                "--call-graph", "dwarf,16384", "-o", workdir / "perf.data",
                                "-p", system.pids()[0]], stderr=subprocess.DEVNULL)

        if profile and not window:
            perf = start_perf()
            time.sleep(1.0)
        cpu0, wall0 = system.cpu_parts(), time.time()
        t0 = time.monotonic()
        uac, stat = sipp.run("uac", workdir, uac_scn, caller_port, system.sip,
                             {"domain": system.domain, "audio_port": sinks.ports[0],
                              "floor_port": sinks.ports[1]},
                             ctx.calls_csv, calls, rate, hold_ms=ctx.hold_ms, background=True)
        abort_at = calls * abort_pct / 100.0 if abort_pct else None
        next_check = t0
        aborted = False

        def collapsed():
            nonlocal next_check, aborted
            if abort_at is None or time.monotonic() < next_check:
                return False
            next_check = time.monotonic() + 0.5
            aborted = stat_int(sipp_stats(stat), "FailedCall(C)") >= abort_at
            return aborted

        if window:
            # Sample the CPU at the start and at the end of the window of steady sending.
            for at in (seconds - window, seconds):
                while time.monotonic() < t0 + at and uac.poll() is None and not collapsed():
                    time.sleep(0.02)
                if aborted:
                    break
                if at == seconds - window:
                    cpu0, wall0 = system.cpu_parts(), time.time()
                    if profile:
                        perf = start_perf()  # profile the steady state only
            cpu1, wall1 = system.cpu_parts(), time.time()
        budget = seconds + ctx.hold_ms / 1000.0 + 40
        rc = None
        while rc is None and not aborted:
            rc = uac.poll()
            if rc is None and time.monotonic() - t0 > budget:
                rc = -1
            elif rc is None and not collapsed():
                time.sleep(0.05)
        if aborted:
            rc = -2
            log(f"{system.kind:5} {rate}/s: {abort_pct:g} % of the calls failed after "
                f"{time.monotonic() - t0:.1f} s: run stopped")
        PROCS.stop(uac)
        uac = None
        elapsed = time.monotonic() - t0
        if not window:
            cpu1, wall1 = system.cpu_parts(), time.time()
        if perf:
            PROCS.stop(perf, sig=signal.SIGINT, timeout=120)
            perf_report(workdir / "perf.data", profile)
            (workdir / "perf.data").unlink(missing_ok=True)
            perf = None
        res = Sipp.summary(stat, calls)
        res.update({"rate": rate, "seconds": seconds, "sipp_rc": rc,
                    "elapsed_s": round(elapsed, 2), "window_s": window, "aborted": aborted})
        parts = {k: (cpu1[k] - cpu0[k]) * 1000.0 / CLK_TCK for k in cpu0}
        res["cpu_ms"] = parts
        res["floor_packets_to_caller"] = sinks.packets[1]
        calls_measured = res["successful"]
        if cap:
            pairs = cap.finish()
            cap = None
            if window:
                pairs = [p for p in pairs if wall0 <= p[0] < wall1]
                calls_measured = len(pairs)
            times = sorted(ms for _, ms in pairs)
            res["setup_samples"] = len(times)
            res["setup_p50_ms"] = percentile(times, 50)
            res["setup_p99_ms"] = percentile(times, 99)
            if not ctx.keep_pcaps:
                (workdir / "caller.pcap").unlink(missing_ok=True)
        elif window:
            calls_measured = int(rate * window * (1 - res["failed_pct"] / 100.0))
        # Overloaded (most calls of the window failed): CPU per call would be meaningless.
        expected = rate * (window or seconds)
        res["cpu_ms_per_call"] = (sum(parts.values()) / calls_measured
                                  if calls_measured >= 0.5 * expected and not aborted else None)
        return res
    finally:
        for p in (uac, perf):
            if p:
                PROCS.stop(p, sig=signal.SIGINT)
        if cap:
            PROCS.stop(cap.proc, sig=signal.SIGINT)
        PROCS.stop(uas)
        if sinks:
            sinks.close()
        system.stop()


def run_rss(ctx, mcxd):
    """RSS per concurrent call of mcxd: calls are set up at 200/s and held; VmRSS and the
    number of active calls are sampled every 50 ms, and the KiB per call is the slope of a
    least-squares line through the samples taken before mcxd refused any call (refused
    INVITEs leave transactions behind and would blur the figure). A warm-up of 200 calls
    first brings allocator pools and hash tables to their working size."""
    workdir = ctx.out / "runs" / "mcxd-rss"
    workdir.mkdir(parents=True, exist_ok=True)
    sipp = Sipp(ctx)
    n = ctx.rss_calls
    mcxd.start(workdir)
    sinks = uas = uac = None
    try:
        caller_port, callee_port = free_udp_port(), free_udp_port()
        mcxd.register_all(sipp, workdir, caller_port, callee_port)
        sinks = Sinks(4)
        uac_scn, uas_scn = mcxd.scenarios(duplex=False)
        uas = sipp.uas("uas", workdir, uas_scn, callee_port,
                       {"audio_port": sinks.ports[2], "floor_port": sinks.ports[3]})
        keys = {"domain": MCX_DOMAIN, "audio_port": sinks.ports[0], "floor_port": sinks.ports[1]}
        sipp.run("warmup", workdir, uac_scn, caller_port, mcxd.sip, keys, ctx.calls_csv,
                 200, 200, hold_ms=100)
        time.sleep(0.5)
        base = mcxd.status()["counters"]
        rss0 = vm_rss_kib(mcxd.proc.pid)
        rate = 200
        hold = int(n / rate * 1000) + 10000
        uac, _ = sipp.run("hold", workdir, uac_scn, caller_port, mcxd.sip, keys, ctx.calls_csv,
                          n, rate, hold_ms=hold, background=True)
        samples = []  # (active calls, VmRSS KiB) while no call was refused
        refused_at = None
        deadline = time.monotonic() + n / rate + 15
        while time.monotonic() < deadline:
            st = mcxd.status()
            c = st["counters"]
            rss = vm_rss_kib(mcxd.proc.pid)
            if c["invite_rejected"] > base["invite_rejected"]:
                refused_at = refused_at or st["active_calls"]
            else:
                samples.append((st["active_calls"], rss))
            if c["invite_received"] - base["invite_received"] >= n and \
                    c["calls_connected"] + c["invite_rejected"] >= c["invite_received"]:
                break
            time.sleep(0.05)
        st = mcxd.status()
        pts = [(a, r) for a, r in samples if a > 0]
        slope = None
        if len(pts) >= 5 and max(a for a, _ in pts) > min(a for a, _ in pts):
            ma = sum(a for a, _ in pts) / len(pts)
            mr = sum(r for _, r in pts) / len(pts)
            slope = sum((a - ma) * (r - mr) for a, r in pts) / sum((a - ma) ** 2 for a, _ in pts)
        held = max((a for a, _ in samples), default=0)
        return {"calls_offered": n, "calls_held": held,
                "calls_refused": st["counters"]["invite_rejected"] - base["invite_rejected"],
                "refused_from_active_calls": refused_at,
                "rss_before_kib": rss0, "rss_at_max_held_kib":
                    max((r for a, r in samples if a == held), default=None),
                "samples": len(pts), "rss_kib_per_call": slope}
    finally:
        PROCS.stop(uac)
        PROCS.stop(uas)
        if sinks:
            sinks.close()
        mcxd.stop()


def run_media(ctx, system, n, tag=""):
    """N calls with RTP at 50 packets/s each way; CPU % of the relay and loss."""
    workdir = ctx.out / "runs" / f"{system.kind}-media-{n}{tag}"
    workdir.mkdir(parents=True, exist_ok=True)
    sipp = Sipp(ctx)
    system.start(workdir)
    rtp = uas = uac = None
    try:
        caller_port, callee_port = free_udp_port(), free_udp_port()
        system.register_all(sipp, workdir, caller_port, callee_port)
        clog, ulog = workdir / "caller-ports.log", workdir / "callee-ports.log"
        for f in (clog, ulog):
            f.unlink(missing_ok=True)
        rtp = PROCS.start([sys.executable, HERE / "rtp_load.py", "--caller-log", clog,
                           "--callee-log", ulog, "--calls", n, "--seconds", ctx.media_seconds,
                           "--wait", 60], stdout=subprocess.PIPE,
                          stderr=open(workdir / "rtp_load.stderr.log", "w"))
        lines = iter(rtp.stdout.readline, b"")

        def next_event():
            line = next(lines, b"")
            if not line:
                raise BenchError(f"rtp_load.py ended early (see {workdir})")
            return json.loads(line)

        bound = next_event()
        uac_scn, uas_scn = system.scenarios(duplex=True)
        uas = sipp.uas("uas", workdir, uas_scn, callee_port,
                       {"audio_port": bound["callee_port"], "floor_port": 9}, log_file=ulog)
        rate = 200
        hold = int((n / rate + ctx.media_seconds + 12) * 1000)
        uac, stat = sipp.run("uac", workdir, uac_scn, caller_port, system.sip,
                             {"domain": system.domain, "audio_port": bound["caller_port"],
                              "floor_port": 9}, ctx.calls_csv, n, rate, hold_ms=hold,
                             log_file=clog, background=True)
        ev = next_event()
        if ev.get("event") == "result":
            raise BenchError(f"{system.kind} media N={n}: {ev}")
        if ev["calls"] < n:
            log(f"{system.kind}: only {ev['calls']} of {n} calls set up; relaying those "
                f"(see {workdir}/uac.errors.log)")
        cpu0, t0 = system.cpu_parts(), time.monotonic()
        ev = next_event()  # stop
        cpu1, t1 = system.cpu_parts(), time.monotonic()
        result = next_event()
        parts = {k: (cpu1[k] - cpu0[k]) * 100.0 / CLK_TCK / (t1 - t0) for k in cpu0}
        relay = "mcxd" if system.kind == "mcxd" else "rtpengine"
        streams = result["streams"]
        return {"calls_offered": n, "calls": result["calls"], "streams": streams,
                "cpu_pct": parts,
                "relay_cpu_pct": parts[relay],
                "relay_cpu_pct_per_100_streams": parts[relay] * 100.0 / streams,
                "loss_pct": result["loss_pct"], "sent": result["sent"],
                "received": result["received"], "silent_streams": result["silent_streams"],
                "seconds": result["seconds"]}
    finally:
        PROCS.stop(uac)
        PROCS.stop(rtp)
        PROCS.stop(uas)
        system.stop()


# ---------------------------------------------------------------------------------------------
# Report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


def merge_report(out, metrics):
    path = out / "report.json"
    report = {}
    if path.exists():
        try:
            report = json.loads(path.read_text())
        except json.JSONDecodeError:
            report = {}
    report.setdefault("metrics", {})
    report["metrics"].update({k: v for k, v in metrics.items() if v is not None})
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    info = {k.strip(): v.strip() for k, v in info.items()}
    return (f"{info.get('CPU(s)', '?')} vCPU {info.get('Model name', '?')}"
            f" ({info.get('Hypervisor vendor', 'bare metal')})")


# ---------------------------------------------------------------------------------------------


def prepare(ctx):
    built = ctx.build / "apps" / "mcxd" / "mcxd"
    if not built.exists():
        raise BenchError(f"{built} not found: build first (make -C {ctx.build} mcxd)")
    # Run a copy, so that a rebuild during the bench changes nothing (and perf keeps symbols).
    ctx.out.mkdir(parents=True, exist_ok=True)
    ctx.mcxd = ctx.out / "mcxd-under-test"
    shutil.copy2(built, ctx.mcxd)
    for tool in ("sipp",) + (("dumpcap",) if not ctx.smoke else ()):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found (scripts/install-deps)")
    rows = [f"caller{i};callee{i}" for i in range(ctx.users)]
    ctx.calls_csv = ctx.out / "calls.csv"
    ctx.calls_csv.write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")


def smoke(ctx):
    """A few calls of every scenario against mcxd and (when installed) the peer."""
    results = {}
    systems = [Mcxd(ctx)]
    m = systems[0]
    m.start()
    try:
        m.fetch_tokens()
    finally:
        m.stop()
    if peer_available():
        systems.append(Peer(ctx))
    else:
        log("kamailio/rtpengine not installed: peer skipped")
    failures = []
    for system in systems:
        res = run_calls(ctx, system, rate=5, seconds=1, tag="-smoke")
        log(f"{system.kind}: {res['successful']}/{res['calls']} calls completed")
        results[system.kind] = res
        if res["successful"] != res["calls"]:
            failures.append(f"{system.kind}: {res['failed']} of {res['calls']} calls failed "
                            f"(see {ctx.out}/runs/{system.kind}-r5-smoke)")
        media = run_media(ctx, system, 2)
        log(f"{system.kind}: media 2 calls, {media['received']}/{media['sent']} RTP packets "
            f"relayed")
        results[system.kind + "_media"] = media
        if media["received"] < media["sent"] * 0.5:
            failures.append(f"{system.kind}: media relayed {media['received']} of "
                            f"{media['sent']} packets")
    (ctx.out / "smoke.json").write_text(json.dumps(results, indent=2) + "\n")
    if failures:
        raise BenchError("; ".join(failures))
    log("smoke OK")


def full(ctx):
    mcxd = Mcxd(ctx)
    mcxd.start()
    try:
        log(f"mcxd ready (SIP {mcxd.sip}); logging {2 * ctx.users} users in at its IdMS")
        mcxd.fetch_tokens()
    finally:
        mcxd.stop()
    systems = [mcxd]
    if ctx.no_peer:
        log("--no-peer: the peer is not measured")
    elif peer_available():
        systems.append(Peer(ctx))
    else:
        raise BenchError("kamailio or rtpengine not installed (scripts/install-deps), "
                         "or use --no-peer")

    results = {"steady": {}, "burst": {}, "sustained": {}, "media": {}, "machine": machine(),
               "date": datetime.date.today().isoformat(), "settings": ctx.settings}
    kinds = [s.kind for s in systems]

    def show(kind, what, res):
        extra = ""
        if res.get("setup_p99_ms") is not None:
            extra = (f", setup p50 {fmt(res['setup_p50_ms'])} ms p99 "
                     f"{fmt(res['setup_p99_ms'])} ms")
        log(f"{kind:5} {what}: {res['failed']}/{res['calls']} failed "
            f"({res['failed_pct']:.3f} %), {fmt(res['cpu_ms_per_call'])} CPU ms/call{extra}")

    def passed(runs):
        return median([r["failed_pct"] for r in runs]) < FAIL_LIMIT_PCT

    # 1: steady state at the latency rate: long runs (libre's transaction timers live 32 s,
    #    so the server's state only settles after that); setup times and CPU per call over the
    #    last --window-seconds; each run also decides "sustained" at this rate.
    for rep in range(ctx.reps):
        for s in systems:
            res = run_calls(ctx, s, ctx.latency_rate, ctx.sustain_seconds, capture=True,
                            tag=f"-steady-{rep + 1}", window=ctx.window_seconds)
            results["steady"].setdefault(s.kind, []).append(res)
            show(s.kind, f"{ctx.latency_rate}/s for {ctx.sustain_seconds:g} s, rep {rep + 1}", res)
    known = {k: {ctx.latency_rate: passed(results["steady"][k])} for k in kinds}
    for k in kinds:
        results["sustained"][k] = {str(ctx.latency_rate): results["steady"][k]}

    # 2: burst steps above the latency rate (from it when it failed), --seconds per run,
    #    alternating the systems; a system stops at the first rate whose median fails.
    burst_cps = {k: (ctx.latency_rate if known[k][ctx.latency_rate] else None) for k in kinds}
    stopped = set()
    for rate in ctx.rates:
        active = [s for s in systems if s.kind not in stopped and
                  (rate > ctx.latency_rate or
                   (rate == ctx.latency_rate and not known[s.kind][rate]))]
        if rate < ctx.latency_rate or not active:
            continue
        for rep in range(ctx.reps):
            for s in active:
                res = run_calls(ctx, s, rate, ctx.seconds, tag=f"-burst-{rep + 1}")
                results["burst"].setdefault(s.kind, {}).setdefault(str(rate), []).append(res)
                show(s.kind, f"{rate}/s for {ctx.seconds:g} s, rep {rep + 1}", res)
        for s in active:
            if passed(results["burst"][s.kind][str(rate)]):
                burst_cps[s.kind] = rate
            else:
                log(f"{s.kind}: median failed >= {FAIL_LIMIT_PCT} % at {rate}/s: "
                    "not stepped further")
                stopped.add(s.kind)

    # 3: sustained capacity: from the highest passing burst rate down, runs as long as the
    #    steady-state ones, until a rate passes (majority of up to --reps runs; at most
    #    --max-probes rates per system); the systems alternate run by run.
    def search(kind):
        top = burst_cps[kind]
        ladder = sorted({r for r in ctx.rates if top and r <= top} | {ctx.latency_rate},
                        reverse=True)
        while ladder[-1] > 50 and len(ladder) < 16:
            ladder.append(ladder[-1] // 2)
        probes = 0

        def probe(rate):
            runs, need = [], ctx.reps // 2 + 1
            while len(runs) < ctx.reps:
                res = yield rate, len(runs) + 1
                runs.append(res)
                good = sum(r["failed_pct"] < FAIL_LIMIT_PCT for r in runs)
                if good >= need or len(runs) - good >= need:
                    break
                if res["failed_pct"] >= COLLAPSE_PCT:
                    break  # an overloaded server, not noise: no second run at this rate
            results["sustained"][kind][str(rate)] = runs
            known[kind][rate] = passed(runs)
            return known[kind][rate]

        best = None
        for rate in ladder:
            if any(r <= rate and not ok for r, ok in known[kind].items()):
                continue  # a lower rate already failed
            if rate in known[kind]:
                if known[kind][rate]:
                    best = rate
                    break
                continue
            if probes == ctx.max_probes:
                break
            probes += 1
            if (yield from probe(rate)):
                best = rate
                break
        if best is None:
            return max((r for r, ok in known[kind].items() if ok), default=None)
        # One refinement halfway to the lowest failing rate above, when probes are left.
        failed = [r for r, ok in known[kind].items() if not ok and r > best]
        if failed and probes < ctx.max_probes:
            mid = int(round((best + min(failed)) / 2 / 25.0) * 25)
            if best < mid < min(failed) and (yield from probe(mid)):
                best = mid
        return best

    sustained_cps = {}
    gens = {s.kind: (s, search(s.kind)) for s in systems}
    pending = {k: None for k in gens}
    while gens:
        for kind in list(gens):
            s, gen = gens[kind]
            try:
                rate, rep = gen.send(pending[kind]) if pending[kind] else next(gen)
            except StopIteration as done:
                sustained_cps[kind] = done.value
                del gens[kind]
                log(f"{kind}: sustained capacity {done.value} calls/s")
                continue
            res = run_calls(ctx, s, rate, ctx.sustain_seconds, capture=True,
                            tag=f"-sustained-{rep}", window=ctx.window_seconds,
                            abort_pct=COLLAPSE_PCT)
            show(kind, f"{rate}/s for {ctx.sustain_seconds:g} s (sustained), rep {rep}", res)
            pending[kind] = res
    results["burst_cps"] = burst_cps
    results["sustained_cps"] = sustained_cps

    # 3: memory per call of mcxd.
    log(f"mcxd: RSS while holding {ctx.rss_calls} calls")
    results["rss"] = run_rss(ctx, mcxd)
    log(f"mcxd: {fmt(results['rss']['rss_kib_per_call'])} KiB per call "
        f"({results['rss']['calls_held']} calls held)")
    # 4: media relay, alternating the systems run by run; the median of the runs is kept.
    for n in ctx.media_calls:
        runs = {}
        for rep in range(ctx.media_reps):
            for s in systems:
                res = run_media(ctx, s, n, tag=f"-{rep + 1}")
                runs.setdefault(s.kind, []).append(res)
                log(f"{s.kind:5} media {n} calls rep {rep + 1} ({res['streams']} streams): relay "
                    f"{res['relay_cpu_pct']:.1f} % CPU = "
                    f"{res['relay_cpu_pct_per_100_streams']:.2f} % per 100 streams, "
                    f"loss {res['loss_pct']:.3f} %")
        for kind, rs in runs.items():
            results["media"].setdefault(kind, {})[str(n)] = {
                "calls_offered": n, "calls": min(r["calls"] for r in rs),
                "streams": min(r["streams"] for r in rs),
                "relay_cpu_pct": median([r["relay_cpu_pct"] for r in rs]),
                "relay_cpu_pct_per_100_streams":
                    median([r["relay_cpu_pct_per_100_streams"] for r in rs]),
                "loss_pct": median([r["loss_pct"] for r in rs]),
                "runs": rs}
    if ctx.profile:
        log(f"mcxd: perf profile at {ctx.latency_rate} calls/s")
        res = run_calls(ctx, mcxd, ctx.latency_rate, ctx.sustain_seconds, tag="-profile",
                        profile=ctx.out / "mcxd-profile.txt", window=ctx.window_seconds)
        results["profile"] = {"file": str(ctx.out / "mcxd-profile.txt"),
                              "cpu_ms_per_call": res["cpu_ms_per_call"]}
    (ctx.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    metrics, table, section = summarise(ctx, results, [s.kind for s in systems])
    merge_report(ctx.report_dir, metrics)
    print(table, flush=True)
    (ctx.out / "section.md").write_text(section)
    log(f"metrics merged into {ctx.report_dir / 'report.json'}; raw results and Markdown in "
        f"{ctx.out}")


def summarise(ctx, results, kinds):
    def steady(kind, key):
        return median([r.get(key) for r in results["steady"].get(kind, [])])

    def media(kind, n, key):
        return results["media"].get(kind, {}).get(str(n), {}).get(key)

    def cpu_split(kind):
        runs = results["steady"].get(kind, [])
        parts = {}
        for r in runs:
            for k, v in r["cpu_ms"].items():
                parts.setdefault(k, []).append(v)
        total = sum(median(v) for v in parts.values()) or 1
        return ", ".join(f"{k} {100 * median(v) / total:.0f} %" for k, v in parts.items())

    # The media metrics are taken at the largest N at which mcxd set up every call (the
    # peer's at the same N), so both relay the same number of streams.
    full_n = [n for n in ctx.media_calls if media("mcxd", n, "calls") == n]
    top_n = max(full_n or ctx.media_calls) if ctx.media_calls else None
    rate = ctx.latency_rate
    m = {
        "private_call_cps": results["sustained_cps"].get("mcxd"),
        "private_call_burst_cps": results["burst_cps"].get("mcxd"),
        "private_call_setup_p50_ms": steady("mcxd", "setup_p50_ms"),
        "private_call_setup_p99_ms": steady("mcxd", "setup_p99_ms"),
        "cpu_ms_per_call": steady("mcxd", "cpu_ms_per_call"),
        "rss_kib_per_call": results["rss"]["rss_kib_per_call"],
        "relay_cpu_pct_per_100_streams": media("mcxd", top_n, "relay_cpu_pct_per_100_streams"),
        "relay_loss_pct": media("mcxd", top_n, "loss_pct"),
        "relay_calls_measured": top_n,
    }
    peer_p50 = None
    if "peer" in kinds:
        peer_p50 = steady("peer", "setup_p50_ms")
        m.update({
            "peer_cps": results["sustained_cps"].get("peer"),
            "peer_burst_cps": results["burst_cps"].get("peer"),
            "peer_setup_p99_ms": steady("peer", "setup_p99_ms"),
            "peer_cpu_ms_per_call": steady("peer", "cpu_ms_per_call"),
            "peer_relay_cpu_pct_per_100_streams":
                media("peer", top_n, "relay_cpu_pct_per_100_streams"),
            "peer_relay_loss_pct": media("peer", top_n, "loss_pct"),
        })
        m["private_call_cps_ratio_to_peer"] = ratio(m["private_call_cps"], m["peer_cps"])
        # Per run pair (mcxd and peer run back to back at the same rate), then the median.
        pairs = [ratio(a.get("setup_p99_ms"), b.get("setup_p99_ms"))
                 for a, b in zip(results["steady"]["mcxd"], results["steady"]["peer"])]
        m["private_call_setup_p99_ratio_to_peer"] = median(pairs)
    rows = [
        ("sustained rate, < 0.1 % failed (calls/s)", m["private_call_cps"], m.get("peer_cps"),
         "higher is better"),
        ("burst rate, < 0.1 % failed (calls/s)", m["private_call_burst_cps"],
         m.get("peer_burst_cps"), "higher is better"),
        (f"setup INVITE->200 p50 at {rate}/s (ms)", m["private_call_setup_p50_ms"], peer_p50,
         "lower is better"),
        (f"setup INVITE->200 p99 at {rate}/s (ms)", m["private_call_setup_p99_ms"],
         m.get("peer_setup_p99_ms"), "lower is better"),
        (f"CPU per call at {rate}/s (ms)", m["cpu_ms_per_call"], m.get("peer_cpu_ms_per_call"),
         "lower is better"),
    ]
    for n in ctx.media_calls:
        held = media("mcxd", n, "calls")
        note = f" (mcxd set up {held})" if held is not None and held != n else ""
        rows.append((f"relay CPU % per 100 streams, {n} calls{note}",
                     media("mcxd", n, "relay_cpu_pct_per_100_streams"),
                     media("peer", n, "relay_cpu_pct_per_100_streams"), "lower is better"))
        rows.append((f"RTP loss %, {n} calls{note}", media("mcxd", n, "loss_pct"),
                     media("peer", n, "loss_pct"), "lower is better"))
    rss = results["rss"]
    rows.append((f"RSS per concurrent call (KiB, {rss['calls_held']} of {rss['calls_offered']} "
                 "calls held)", m["rss_kib_per_call"], None, ""))
    w = max(len(r[0]) for r in rows)
    lines = [f"{'metric':{w}}  {'mcxd':>9}  {'peer':>9}  {'mcxd/peer':>9}", "-" * (w + 33)]
    md = ["| metric | mcxd | Kamailio + rtpengine | mcxd / peer |", "|---|---|---|---|"]
    for label, a, b, note in rows:
        r = ratio(a, b)
        if label.startswith("setup INVITE->200 p99"):
            r = m.get("private_call_setup_p99_ratio_to_peer", r)
        lines.append(f"{label:{w}}  {fmt(a):>9}  {fmt(b):>9}  {fmt(r):>9}  {note}")
        md.append(f"| {label} | {fmt(a)} | {fmt(b)} | {fmt(r)} |")
    table = "\n".join(["", "Private-call capacity: mcxd vs Kamailio + rtpengine "
                       f"({results['machine']}, {results['date']})"] + lines) + "\n"
    if "peer" in kinds:
        table += f"peer CPU per call split: {cpu_split('peer')}\n"
    # Every run, for the document.
    detail = ["| phase | calls/s | s | mcxd failed % | mcxd CPU ms/call | mcxd setup p99 ms | "
              "peer failed % | peer CPU ms/call | peer setup p99 ms |",
              "|---|---|---|---|---|---|---|---|---|"]

    def cells(runs):
        if not runs:
            return ["-", "-", "-"]
        out = []
        for key in ("failed_pct", "cpu_ms_per_call", "setup_p99_ms"):
            vals = [r.get(key) for r in runs]
            if all(v is None for v in vals):
                out.append("-")
            else:
                out.append(f"{fmt(median(vals))} (" + ", ".join(fmt(v) for v in vals) + ")")
        return out

    for phase in ("steady", "sustained", "burst"):
        if phase == "steady":
            rates = [ctx.latency_rate]
        else:
            rates = sorted({int(r) for k in kinds for r in results[phase].get(k, {})})
        for r in rates:
            secs = ctx.seconds if phase == "burst" else ctx.sustain_seconds
            row = []
            for k in ("mcxd", "peer"):
                runs = (results["steady"].get(k) if phase == "steady"
                        else results[phase].get(k, {}).get(str(r)))
                if phase == "sustained" and r == ctx.latency_rate:
                    continue
                row += cells(runs)
            if row:
                detail.append(f"| {phase} | {r} | {secs:g} | " + " | ".join(row) + " |")
    section = "\n".join(md) + "\n\nEvery run (median, then each run in brackets):\n\n" + \
        "\n".join(detail) + "\n"
    return m, table, section


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build",
                    help="CMake build directory with apps/mcxd/mcxd (default: build, relative to "
                    "the current directory, else to the repository root)")
    ap.add_argument("--out", default="bench-out",
                    help="output directory; report.json is merged there (default: bench-out)")
    ap.add_argument("--smoke", action="store_true",
                    help="a few calls against mcxd and the peer, no timing (CTest, label interop)")
    ap.add_argument("--rates", default="250,500,750,1000,1500,2000,2500,3000",
                    help="burst call rates to step through, calls/s (default: %(default)s)")
    ap.add_argument("--reps", type=int, default=3,
                    help="runs per rate and system; the median decides (default: 3)")
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="seconds of calls per burst run (default: %(default)s)")
    ap.add_argument("--sustain-seconds", type=float, default=36.0,
                    help="seconds of calls per steady-state and sustained run; longer than "
                    "the 32 s SIP transaction timers (default: %(default)s)")
    ap.add_argument("--window-seconds", type=float, default=6.0,
                    help="the last seconds of a steady-state run over which setup times and "
                    "CPU per call are taken (default: %(default)s)")
    ap.add_argument("--latency-rate", type=int, default=250,
                    help="rate of the steady-state runs with the capture (default: 250)")
    ap.add_argument("--max-probes", type=int, default=3,
                    help="sustained rates tried per system, top down (default: 3)")
    ap.add_argument("--hold-ms", type=int, default=200, help="call hold time (default: 200)")
    ap.add_argument("--users", type=int, default=20,
                    help="caller users and callee users each (default: %(default)s)")
    ap.add_argument("--rss-calls", type=int, default=1000,
                    help="calls held for the RSS per call of mcxd (default: %(default)s)")
    ap.add_argument("--media-calls", default="100,200,400",
                    help="concurrent calls with RTP both ways (default: %(default)s)")
    ap.add_argument("--media-seconds", type=float, default=4.0,
                    help="seconds of RTP per media run (default: %(default)s)")
    ap.add_argument("--media-reps", type=int, default=3,
                    help="runs per N and system (median; default: %(default)s)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile mcxd with perf at --latency-rate (OUT/capacity/"
                    "mcxd-profile.txt)")
    ap.add_argument("--no-peer", action="store_true", help="measure mcxd only")
    ap.add_argument("--keep-pcaps", action="store_true", help="keep the latency captures")
    args = ap.parse_args(argv)
    ctx = Ctx()
    ctx.build = Path(args.build)
    if not ctx.build.is_absolute() and not ctx.build.exists():
        ctx.build = REPO / ctx.build  # relative to the repository root
    ctx.build = ctx.build.resolve()
    ctx.smoke = args.smoke
    ctx.out = Path(args.out).resolve()
    try:
        ctx.rates = sorted({int(r) for r in args.rates.split(",") if r.strip()})
        ctx.media_calls = sorted({int(n) for n in args.media_calls.split(",") if n.strip()})
    except ValueError:
        ap.error("--rates and --media-calls take comma-separated integers")
    ctx.reps = max(1, args.reps)
    ctx.seconds = args.seconds
    ctx.latency_rate = args.latency_rate
    ctx.sustain_seconds = args.sustain_seconds
    ctx.window_seconds = min(args.window_seconds, args.sustain_seconds)
    ctx.max_probes = max(1, args.max_probes)
    ctx.hold_ms = args.hold_ms
    ctx.users = max(2, args.users)
    ctx.rss_calls = args.rss_calls
    ctx.media_seconds = args.media_seconds
    ctx.media_reps = max(1, args.media_reps)
    ctx.profile = args.profile
    if ctx.profile and not shutil.which("perf"):
        ap.error("--profile needs perf (linux-perf)")
    ctx.no_peer = args.no_peer
    ctx.keep_pcaps = args.keep_pcaps
    if args.smoke:
        ctx.users = 2
        ctx.media_seconds = 1.0
    ctx.settings = {k: v for k, v in vars(args).items() if k not in ("build", "out")}
    return ctx


def main(argv):
    ctx = parse_args(argv)
    if ctx.smoke and not shutil.which("sipp"):
        print("capacity smoke: SKIPPED: sipp (sip-tester) is not installed", flush=True)
        return 0

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    ctx.out.mkdir(parents=True, exist_ok=True)
    if not ctx.smoke:
        # The bench's own files live under OUT/capacity; report.json stays in OUT.
        ctx.report_dir = ctx.out
        ctx.out = ctx.out / "capacity"
        ctx.out.mkdir(exist_ok=True)
    try:
        prepare(ctx)
        if ctx.smoke:
            smoke(ctx)
        else:
            full(ctx)
        return 0
    except (BenchError, OSError, subprocess.SubprocessError) as e:
        print(f"capacity bench FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("capacity bench interrupted", file=sys.stderr, flush=True)
        return 130
    finally:
        PROCS.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
