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
  4. overload: --overload-factor (2) x each system's own sustained rate, offered for
     --overload-seconds (30 s) to a fresh server, once per system: goodput (calls completed
     per second / the sustained rate), setup p99 of the accepted calls against the p99 at
     the sustained rate, the shares of calls answered 503 and failed otherwise;
  5. RSS per concurrent call of mcxd (VmRSS delta while holding --rss-calls calls);
  6. media: N concurrent calls with RTP at 50 packets/s each way (rtp_load.py) through mcxd
     (calls offered WITHOUT the floor control m-line, so mcxd relays full duplex) and through
     rtpengine: CPU % per 100 relayed streams and loss, median of --media-reps runs.
Results: a table on stdout, metrics merged into OUT/report.json ({"metrics": {...}}), raw
results in OUT/capacity/results.json and a Markdown table in OUT/capacity/section.md.

--smoke runs a few calls of the same scenarios against mcxd (and the peer when kamailio and
rtpengine are installed) without timing assertions, and the overload run's code for 2 s at a
rate that overloads nothing, and for 1 s against a SIPp answering every call 503 (which must
be counted as such); it exits 0 with a message when sipp is missing. Exit status: 0 on
success, 1 when a run failed, 2 on bad usage.
"""
import argparse
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from mcxbench.plan import Ctx, full, prepare, smoke
from mcxbench.procs import PROCS, BenchError

REPO = Path(__file__).resolve().parent.parent.parent


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
    ap.add_argument("--overload-seconds", type=float, default=30.0,
                    help="seconds of the overload run of each system, after its sustained "
                    "capacity is known; 0: none (default: %(default)s)")
    ap.add_argument("--overload-factor", type=float, default=2.0,
                    help="the overload run offers this many times the system's own sustained "
                    "rate (default: %(default)s)")
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
    if args.overload_seconds < 0 or args.overload_factor <= 0:
        ap.error("--overload-seconds takes 0 or more, --overload-factor more than 0")
    ctx.overload_seconds = args.overload_seconds
    ctx.overload_factor = args.overload_factor
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
