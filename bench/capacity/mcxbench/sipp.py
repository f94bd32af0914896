"""SIPp (sip-tester) playing the MCPTT clients of bench/capacity/scenarios."""
import os
import re
import socket
import subprocess
import time
from pathlib import Path

from .procs import HOST, PROCS, BenchError, cpu_ticks, free_udp_port, udp_bound, wait_until

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


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


def counts_path(stat):
    """The -trace_counts file of the run whose -trace_stat file is `stat` (NAME.stat.csv ->
    NAME.counts.csv, a link to the file SIPp names after its scenario and pid)."""
    return stat.with_name(stat.name[:-len(".stat.csv")] + ".counts.csv")


def refused_503(stat):
    """Calls answered 503 so far: the <index>_503_Recv columns of the run's -trace_counts file
    (the calling scenarios ACK a 503 and end the call, which SIPp counts as successful)."""
    counts = sipp_stats(counts_path(stat))
    return sum(stat_int(counts, k) for k in counts if re.fullmatch(r"\d+_503_Recv", k))


def failed_so_far(stat):
    """Calls failed so far, the ones answered 503 included."""
    return stat_int(sipp_stats(stat), "FailedCall(C)") + refused_503(stat)


class Sipp:
    def __init__(self, binary="sipp"):
        self.binary = binary

    def cmd(self, scenario, port, target, keys, inf=None, extra=()):
        c = [self.binary, "-sf", SCENARIOS / scenario, "-i", HOST, "-p", port, "-nostdin"]
        if inf:
            c += ["-inf", inf]
        for k, v in keys.items():
            c += ["-key", k, v]
        c += list(extra)
        if target:
            c.append(target)
        return c

    def run(self, name, workdir, scenario, port, target, keys, inf, calls, rate, hold_ms=0,
            recv_timeout_ms=5000, log_file=None, background=False, max_open=None):
        """Runs a UAC scenario: `calls` calls at `rate` per second; returns the stats. SIPp
        slows its rate down once `max_open` calls are open (-l; its default is 3 x the call
        length x the rate, which an overloaded server's slow calls reach)."""
        stat = workdir / f"{name}.stat.csv"
        extra = ["-m", calls, "-r", rate, "-rp", 1000, "-d", hold_ms,
                 "-recv_timeout", recv_timeout_ms, "-trace_stat", "-stf", stat, "-fd", 1,
                 "-trace_counts", "-trace_err", "-error_file", workdir / f"{name}.errors.log",
                 "-max_log_size", 2_000_000]
        if max_open:
            extra += ["-l", max_open]
        if log_file:
            extra += ["-trace_logs", "-log_file", log_file]
        budget = calls / max(rate, 1) + hold_ms / 1000.0 + recv_timeout_ms / 1000.0 + 20
        extra += ["-timeout", f"{int(budget)}s"]
        cmd = self.cmd(scenario, port, target, keys, inf, extra)
        out = open(workdir / f"{name}.screen.txt", "w")
        p = PROCS.start(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        out.close()
        # SIPp writes the counts to <scenario>_<pid>_counts.csv in its working directory.
        link = counts_path(stat)
        link.unlink(missing_ok=True)
        os.symlink(f"{Path(scenario).stem}_{p.pid}_counts.csv", link)
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
        """successful = calls completed (200, ACK, BYE answered); failed = the others of
        `calls`, refused_503 (answered 503) among them; offered = calls SIPp placed."""
        s = sipp_stats(stat)
        refused = refused_503(stat)
        ok = stat_int(s, "SuccessfulCall(C)") - refused
        return {"calls": calls, "successful": ok, "failed": calls - ok,
                "failed_pct": 100.0 * (calls - ok) / calls if calls else 0.0,
                "offered": stat_int(s, "OutgoingCall(C)"), "refused_503": refused,
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


class RefusingServer:
    """A stand-in for mcxd or the peer in run_calls (the smoke): a SIPp answering every INVITE
    503 with Retry-After (scenarios/refuse_503_uas.xml), as an overloaded mcxd does."""
    kind = "refuser"
    domain = "refuser.bench"

    def __init__(self, workdir):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = None

    def start(self, logdir=None):
        port = free_udp_port()
        self.proc = Sipp().uas("refuser", logdir or self.workdir, "refuse_503_uas.xml", port, {})
        self.sip = f"{HOST}:{port}"

    def pids(self):
        return [self.proc.pid]

    def cpu_parts(self):
        return {"sipp": cpu_ticks(self.pids())}

    def stop(self):
        PROCS.stop(self.proc)
        self.proc = None

    def register_all(self, sipp, workdir, caller_port, callee_port):
        pass  # nobody is called

    def scenarios(self, duplex):
        return "mcptt_call_uac.xml", "mcptt_call_uas.xml"


def held_call_ids(log_file):
    """Call-IDs of the calls mcptt_call_uac_hold.xml set up, from its -log_file ("caller <port>
    m=audio <port> <Call-ID>" per call)."""
    try:
        with open(log_file, errors="replace") as f:
            return [line.split()[-1] for line in f
                    if line.startswith("caller ") and len(line.split()) >= 5]
    except FileNotFoundError:
        return []


def end_held_calls(port, call_ids, per_second=1000):
    """Ends the calls of a calling SIPp on `port` running mcptt_call_uac_hold.xml: an OPTIONS
    with each call's Call-ID to SIPp's own port, after which SIPp sends the call's BYE (a
    second SIGUSR1 would not do it: SIPp 3.6 only waits once its -m calls were placed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        here = s.getsockname()[1]
        for i, call_id in enumerate(call_ids):
            msg = (f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {HOST}:{here};branch=z9hG4bK-hold-{i}\r\n"
                   f"From: <sip:hold_calls@{HOST}>;tag=hold\r\nTo: <sip:{HOST}:{port}>\r\n"
                   f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\n"
                   "Content-Length: 0\r\n\r\n")
            s.sendto(msg.encode(), (HOST, port))
            time.sleep(1.0 / per_second)
