"""One run of each kind on a freshly started system (mcxd or the peer): calls at a rate
(setup times, CPU per call), RSS per held call, RTP through the relay (MediaCalls, also used by
hold_calls.py)."""
import json
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .capture import Capture
from .procs import CLK_TCK, HOST, PROCS, BenchError, free_udp_port, log, udp_drops, vm_rss_kib
from .sipp import Sipp, failed_so_far

RTP_LOAD = Path(__file__).resolve().parent.parent / "rtp_load.py"


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


class StatusSampler:
    """mcxd's /status once a second on a thread, during an overload run: its `overload`
    section (refused share, SIP queue delay), the overload counters and the active calls."""

    def __init__(self, system, period=1.0):
        self.system = system
        self.period = period
        self.samples = []
        self.errors = 0
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._sample()  # also logs the administrator in, before the load starts
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self):
        try:
            st = self.system.status()
        except (OSError, ValueError):
            self.errors += 1  # mcxd's loop busy for 2 s answers 503, or a timeout
            return
        c = st.get("counters", {})
        self.samples.append({"t": round(time.monotonic() - self._t0, 2),
                             "active_calls": st.get("active_calls"),
                             "overload_refused": c.get("overload_refused"),
                             "overload_dropped": c.get("overload_dropped"),
                             **st.get("overload", {})})

    def _run(self):
        while not self._stop.wait(self.period):
            self._sample()

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        return {"samples": self.samples, "errors": self.errors}


def timeline(cap, t0):
    """Per second of the run (from the capture of the caller's port): INVITEs sent, 200s and
    503s received, and the p99 of the setup times of the calls whose INVITE left in it."""
    rows = {}
    for times, key in ((cap.invites, "invites"), (cap.oks, "ok"), (cap.refusals, "503")):
        for t in times.values():
            rows.setdefault(int(t - t0), {"invites": 0, "ok": 0, "503": 0})[key] += 1
    setups = {}
    for cid, t in cap.oks.items():
        if cid in cap.invites:
            setups.setdefault(int(cap.invites[cid] - t0), []).append(
                (t - cap.invites[cid]) * 1000.0)
    for sec, vals in setups.items():
        rows[sec]["setup_p99_ms"] = percentile(sorted(vals), 99)
    return [{"s": sec, **rows[sec]} for sec in sorted(rows)]


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


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


class MediaCalls:
    """Calls with RTP at 50 packets/s both ways through the relay (rtp_load.py): rtp_load.py
    binds one socket for all callers and one for all callees, the answering and the calling
    SIPp name them in their SDP and log the relay's port of each call, from which rtp_load.py
    sends and counts. The calls are placed at `rate` and held for `hold_ms`; stop() ends all."""

    def __init__(self, workdir, sipp):
        self.workdir = workdir
        self.sipp = sipp
        self.rtp = self.uas = self.uac = self.stat = None
        self._lines = iter(())

    def start(self, calls, rtp_args, *, sip, domain, scenarios, calls_csv, caller_port,
              callee_port, rate, hold_ms, rtp_stdin=subprocess.DEVNULL):
        """scenarios = (UAC, UAS) file names; rtp_args = rtp_load.py's options after --calls."""
        workdir = self.workdir
        clog, ulog = workdir / "caller-ports.log", workdir / "callee-ports.log"
        for f in (clog, ulog):
            f.unlink(missing_ok=True)
        err = open(workdir / "rtp_load.stderr.log", "w")
        self.rtp = PROCS.start([sys.executable, RTP_LOAD, "--caller-log", clog,
                                "--callee-log", ulog, "--calls", calls] + list(rtp_args),
                               stdout=subprocess.PIPE, stderr=err, stdin=rtp_stdin)
        err.close()
        self._lines = iter(self.rtp.stdout.readline, b"")
        bound = self.next_event()
        uac_scn, uas_scn = scenarios
        self.uas = self.sipp.uas("uas", workdir, uas_scn, callee_port,
                                 {"audio_port": bound["callee_port"], "floor_port": 9},
                                 log_file=ulog)
        self.uac, self.stat = self.sipp.run(
            "uac", workdir, uac_scn, caller_port, sip,
            {"domain": domain, "audio_port": bound["caller_port"], "floor_port": 9},
            calls_csv, calls, rate, hold_ms=hold_ms, log_file=clog, background=True)

    def next_event(self):
        """rtp_load.py's next JSON event (bound, start, stop, result)."""
        line = next(self._lines, b"")
        if not line:
            raise BenchError(f"rtp_load.py ended early (see {self.workdir})")
        return json.loads(line)

    def stop(self):
        PROCS.stop(self.uac)
        PROCS.stop(self.rtp)
        PROCS.stop(self.uas)
        self.uac = self.rtp = self.uas = None


def run_calls(ctx, system, rate, seconds, capture=False, tag="", profile=None, window=None,
              abort_pct=None, overload=False):
    """One run on a freshly started server: `rate` calls/s for `seconds`. With `window`, the
    CPU per call and the setup times are taken over the last `window` seconds of sending only
    (steady state); failed calls always count over the whole run. With `abort_pct`, the run
    stops as soon as that share of its calls has failed (an overload: waiting for the rest
    only spends the time budget of make bench). With `overload` (a rate above capacity, on
    purpose): SIPp keeps placing calls at `rate` however many are open, mcxd's /status is
    sampled each second, and the result has a per-second timeline from the capture. Returns
    a result dict."""
    name = f"{system.kind}-r{rate}{tag}"
    workdir = ctx.out / "runs" / name
    workdir.mkdir(parents=True, exist_ok=True)
    sipp = Sipp()
    calls = int(rate * seconds)
    system.start(workdir)
    sinks = uas = cap = perf = uac = sampler = status = None
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
        if overload and hasattr(system, "status"):
            sampler = StatusSampler(system)
        cpu0, wall0 = system.cpu_parts(), time.time()
        # Datagrams the kernel dropped at the server's SIP port and at the two SIPp's (read
        # while they run: a socket's count goes with it; the caller's is not bound yet).
        ports = {"server": int(system.sip.rsplit(":", 1)[1]), "caller": caller_port,
                 "callee": callee_port}
        if getattr(system, "sip_legs", None):
            ports["server_legs"] = int(system.sip_legs.rsplit(":", 1)[1])
        drops0 = {k: udp_drops(port) for k, port in ports.items()}
        drops = dict.fromkeys(ports)
        next_drops = 0.0

        def sample_drops():
            nonlocal next_drops
            if time.monotonic() < next_drops:
                return
            next_drops = time.monotonic() + 0.5
            for k, port in ports.items():
                now = udp_drops(port)
                if now is not None:
                    drops[k] = now - (drops0[k] or 0)

        t0 = time.monotonic()
        # An overloaded server keeps calls open for seconds (retransmissions, the 5-s receive
        # timeout): SIPp's default limit of open calls would lower the offered rate.
        max_open = int(rate * 40) if overload else None
        uac, stat = sipp.run("uac", workdir, uac_scn, caller_port, system.sip,
                             {"domain": system.domain, "audio_port": sinks.ports[0],
                              "floor_port": sinks.ports[1]},
                             ctx.calls_csv, calls, rate, hold_ms=ctx.hold_ms, background=True,
                             max_open=max_open)
        abort_at = calls * abort_pct / 100.0 if abort_pct else None
        next_check = t0
        aborted = False

        def collapsed():
            nonlocal next_check, aborted
            if abort_at is None or time.monotonic() < next_check:
                return False
            next_check = time.monotonic() + 0.5
            aborted = failed_so_far(stat) >= abort_at
            return aborted

        if window:
            # Sample the CPU at the start and at the end of the window of steady sending.
            for at in (seconds - window, seconds):
                while time.monotonic() < t0 + at and uac.poll() is None and not collapsed():
                    sample_drops()
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
                sample_drops()
                time.sleep(0.05)
        if aborted:
            rc = -2
            log(f"{system.kind:5} {rate}/s: {abort_pct:g} % of the calls failed after "
                f"{time.monotonic() - t0:.1f} s: run stopped")
        next_drops = 0.0
        sample_drops()
        PROCS.stop(uac)
        uac = None
        elapsed = time.monotonic() - t0
        if not window:
            cpu1, wall1 = system.cpu_parts(), time.time()
        if sampler:
            status = sampler.stop()
            sampler = None
            try:
                status["final"] = system.status().get("overload")
            except (OSError, ValueError):
                status["final"] = None
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
        res["udp_drops"] = drops
        res["floor_packets_to_caller"] = sinks.packets[1]
        calls_measured = res["successful"]
        if status:
            res["status"] = status
        if cap:
            pairs = cap.finish()
            if overload:
                res["offered_s"] = (max(cap.invites.values()) - min(cap.invites.values())
                                    if len(cap.invites) > 1 else None)
                res["captured_503"] = len(cap.refusals)
                res["timeline"] = timeline(cap, wall0)
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
        if sampler:
            sampler.stop()
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
    sipp = Sipp()
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
        keys = {"domain": mcxd.domain, "audio_port": sinks.ports[0], "floor_port": sinks.ports[1]}
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
    media = MediaCalls(workdir, Sipp())
    system.start(workdir)
    try:
        caller_port, callee_port = free_udp_port(), free_udp_port()
        system.register_all(media.sipp, workdir, caller_port, callee_port)
        rate = 200
        hold = int((n / rate + ctx.media_seconds + 12) * 1000)
        media.start(n, ["--seconds", ctx.media_seconds, "--wait", 60], sip=system.sip,
                    domain=system.domain, scenarios=system.scenarios(duplex=True),
                    calls_csv=ctx.calls_csv, caller_port=caller_port, callee_port=callee_port,
                    rate=rate, hold_ms=hold)
        ev = media.next_event()
        if ev.get("event") == "result":
            raise BenchError(f"{system.kind} media N={n}: {ev}")
        if ev["calls"] < n:
            log(f"{system.kind}: only {ev['calls']} of {n} calls set up; relaying those "
                f"(see {workdir}/uac.errors.log)")
        cpu0, t0 = system.cpu_parts(), time.monotonic()
        ev = media.next_event()  # stop
        cpu1, t1 = system.cpu_parts(), time.monotonic()
        result = media.next_event()
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
        media.stop()
        system.stop()
