#!/usr/bin/env python3
"""hold_calls.py against a real mcxd (CTest hold_calls_smoke, label interop): starts mcxd with
the load users (loadcaller<i>, loadcallee<i>), runs hold_calls.py --calls N, and checks that
ready comes with N calls, that mcxd's /status shows them while they are held, that closing
stdin ends them (loss < 1 %, exit 0) and that no child of hold_calls.py is left. Prints the
time to ready and the CPU of hold_calls.py and its children while holding. Exits 0 with a
message when sipp is missing; 1 when a check failed."""
import argparse
import json
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mcxbench.mcxd import Mcxd
from mcxbench.procs import CLK_TCK, PROCS, BenchError, children_of, cpu_ticks, log

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PREFIX = "load"


def descendants(pid):
    out = []
    for child in children_of(pid):
        out += [child] + descendants(child)
    return out


def comm(pid):
    """The process's name; for Python, its script's (rtp_load.py counts its receiver too)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
    if name.startswith("python") and len(argv) > 1:
        return Path(argv[1].decode()).name
    return name


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def read_event(proc, timeout):
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    ready = sel.select(timeout)
    sel.close()
    if not ready:
        raise BenchError(f"hold_calls.py wrote nothing for {timeout:g} s")
    line = proc.stdout.readline()
    if not line:
        raise BenchError(f"hold_calls.py closed stdout (exit {proc.wait()})")
    return json.loads(line)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="CMake build directory (default: build)")
    ap.add_argument("--out", default="test-out/hold-calls-smoke", help="output directory")
    ap.add_argument("--calls", type=int, default=5, help="calls to hold (default: 5)")
    ap.add_argument("--hold-seconds", type=float, default=2.0,
                    help="seconds to hold them after ready (default: 2)")
    args = ap.parse_args(argv)
    if not shutil.which("sipp"):
        print("hold_calls smoke: SKIPPED: sipp (sip-tester) is not installed", flush=True)
        return 0
    build = Path(args.build)
    if not build.is_absolute() and not build.exists():
        build = REPO / build
    binary = build.resolve() / "apps" / "mcxd" / "mcxd"
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # mcxd seeds its store (users, password hashes) from the configuration on the first start
    # only: a store left by a run with fewer calls would lack users.
    shutil.rmtree(out / "mcxd", ignore_errors=True)
    mcxd = Mcxd(binary, out / "mcxd", args.calls, prefix=PREFIX,
                generator="bench/capacity/hold_calls_smoke.py")
    failures = []
    hold = None
    try:
        mcxd.start()
        log(f"mcxd ready (SIP {mcxd.sip}, HTTP {mcxd.http})")
        t0 = time.monotonic()
        hold = subprocess.Popen(
            [sys.executable, HERE / "hold_calls.py", "--sip", mcxd.sip, "--http", mcxd.http,
             "--domain", mcxd.domain, "--calls", str(args.calls), "--user-prefix", PREFIX,
             "--out", out / "hold"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(out / "hold_calls.log", "w"))
        ev = read_event(hold, 180)
        ready_s = time.monotonic() - t0
        log(f"hold_calls.py: {ev} after {ready_s:.1f} s")
        if ev.get("event") != "ready":
            raise BenchError(f"no ready event: {ev} (see {out}/hold_calls.log)")
        if ev["calls"] != args.calls or ev["streams"] != 2 * args.calls:
            failures.append(f"ready with {ev['calls']} calls, {ev['streams']} streams")
        kids = descendants(hold.pid)
        pids = [hold.pid] + kids
        mcxd0, ticks0 = cpu_ticks(mcxd.pids()), {p: cpu_ticks([p]) for p in pids}
        w0 = time.monotonic()
        time.sleep(args.hold_seconds)
        held = [c for c in mcxd.status()["calls"] if c["caller"].startswith(f"sip:{PREFIX}")]
        connected = sum(1 for c in held if c.get("relayed_packets", 0) > 0)
        mcxd1, ticks1 = cpu_ticks(mcxd.pids()), {p: cpu_ticks([p]) for p in pids}
        wall = time.monotonic() - w0
        log(f"mcxd /status during the hold: {len(held)} load calls, {connected} relaying RTP")
        if len(held) != args.calls or connected != args.calls:
            failures.append(f"mcxd holds {len(held)} load calls ({connected} with RTP)")
        per = {}
        for p in pids:
            per.setdefault(comm(p), 0.0)
            per[comm(p)] += (ticks1[p] - ticks0[p]) * 100.0 / CLK_TCK / wall
        total = sum(per.values())
        log(f"CPU while holding {args.calls} calls ({wall:.1f} s): hold_calls.py and children "
            f"{total:.1f} % of one core (" + ", ".join(f"{k} {v:.1f} %" for k, v in per.items())
            + f"); mcxd {(mcxd1 - mcxd0) * 100.0 / CLK_TCK / wall:.1f} %")
        t1 = time.monotonic()
        hold.stdin.close()
        ev = read_event(hold, 60)
        rc = hold.wait(timeout=30)
        log(f"hold_calls.py: {ev}, exit {rc}, {time.monotonic() - t1:.1f} s after stdin closed")
        if ev.get("event") != "result" or rc != 0:
            failures.append(f"stop: {ev}, exit {rc}")
        elif ev["loss_pct"] is None or ev["loss_pct"] >= 1.0:
            failures.append(f"RTP loss {ev['loss_pct']} %")
        left = [f"{p} ({comm(p)})" for p in kids if alive(p)]
        if left:
            failures.append("children left: " + ", ".join(left))
        still = [c for c in mcxd.status()["calls"] if c["caller"].startswith(f"sip:{PREFIX}")]
        if still:
            failures.append(f"mcxd still has {len(still)} load calls")
        (out / "summary.json").write_text(json.dumps(
            {"calls": args.calls, "ready_s": round(ready_s, 2), "cpu_pct": per,
             "result": ev, "failures": failures}, indent=2) + "\n")
    except (BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
        failures.append(str(e))
    finally:
        if hold and hold.poll() is None:
            hold.terminate()
            hold.wait(timeout=30)
        mcxd.stop()
        PROCS.stop_all()
    if failures:
        print("hold_calls smoke FAILED: " + "; ".join(failures), file=sys.stderr, flush=True)
        return 1
    log("hold_calls smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
