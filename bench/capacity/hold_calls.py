#!/usr/bin/env python3
"""Background load for the floor and migration benches: N MCPTT private calls held through a
running mcxd with RTP at 50 packets/s each way, until stdin reaches EOF or SIGTERM comes.

  hold_calls.py --sip HOST:PORT --http HOST:PORT --domain DOMAIN --calls N --user-prefix P
                --out DIR [--sipp PATH] [--rate CALLS_PER_S]

The users exist in mcxd's configuration: callers sip:{P}caller{i}@{DOMAIN} (password
pw-{P}caller{i}) and callees sip:{P}callee{i}@{DOMAIN}, i in 0..N-1, and the administrator
sip:{P}admin@{DOMAIN} (password pw-{P}admin, admin = true) whose token (scope mcx-admin) reads
mcxd's GET /status. Each caller and callee logs in at mcxd's IdMS
(POST /idms/token), SIPp registers the callers from the port it then calls from and the callees
from the port it answers on (mcxd takes an INVITE only from the registered address), and
places caller{i} -> callee{i} without the floor control m-line, so that mcxd relays RTP both
ways (as run.py's media runs); rtp_load.py --until-stopped sends and counts the RTP. At the
end, RTP stops first, then every call ends with a BYE from its caller.

stdout, one JSON object per line:
  {"event":"ready","calls":K,"streams":S}  K calls up (K < N when some failed; see stderr), RTP flows
  {"event":"result","calls":K,"streams":S,"sent":..,"received":..,"loss_pct":..,"seconds":..}
      once stdin reached EOF or SIGTERM came, after the calls ended (a BYE each) and every
      child stopped; exit 0
  {"event":"error","message":"..."}  before ready, or when the load broke while held; exit 1
Progress goes to stderr; SIPp logs, statistics and CSV files to --out.
"""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mcxbench.mcxd import (ROLES, admin_get, admin_token, login, user_names,
                           write_register_csv)
from mcxbench.measure import MediaCalls
from mcxbench.procs import STOP_SIGNALS, PROCS, BenchError, free_udp_port, log, log_to
from mcxbench.sipp import Sipp, end_held_calls, held_call_ids

# (UAC, UAS): no floor control m-line, so mcxd relays RTP both ways; the UAC holds each call
# until end_held_calls() (24 h at most).
SCENARIOS = ("mcptt_call_uac_hold.xml", "mcptt_call_uas_duplex.xml")
HOLD_MS = 24 * 3600 * 1000  # SIPp's time budget (-timeout) covers the hold


class Stopped(Exception):
    """SIGTERM (or SIGINT, SIGHUP) before the calls were up."""


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# The administrator's token for GET /status, logged in on first use (and after a 401).
ADMIN = {"token": None}


def our_calls(http, prefix, domain):
    """Calls at mcxd whose caller is one of ours, from GET /status as the administrator
    ({prefix}admin); None when it fails."""
    try:
        if not ADMIN["token"]:
            ADMIN["token"] = admin_token(http, prefix, domain)
        calls = admin_get(http, "/status", ADMIN["token"]).get("calls", [])
    except urllib.error.HTTPError as e:
        if e.code == 401:
            ADMIN["token"] = None
        return None
    except (OSError, ValueError, KeyError):
        return None
    return sum(1 for c in calls if c.get("caller", "").startswith(f"sip:{prefix}caller"))


def end_calls(media, caller_port, http, prefix, domain, budget):
    """A BYE for every call set up (from its caller), then waits, at most `budget` seconds, for
    the calling SIPp to exit and mcxd to have none of the calls left."""
    deadline = time.monotonic() + budget
    try:
        os.kill(media.uac.pid, signal.SIGUSR1)  # no new calls (while some are still placed)
    except ProcessLookupError:
        pass
    log_file = media.workdir / "caller-ports.log"
    ids, settled = held_call_ids(log_file), time.monotonic()
    while time.monotonic() < min(settled + 0.5, deadline - 1):  # answers still on their way
        time.sleep(0.1)
        now = held_call_ids(log_file)
        if len(now) != len(ids):
            ids, settled = now, time.monotonic()
    end_held_calls(caller_port, ids)
    try:
        media.uac.wait(timeout=max(0.1, deadline - time.monotonic()))  # all calls ended
    except subprocess.TimeoutExpired:
        log("the calling SIPp still has calls: stopped")
    while time.monotonic() < deadline and (our_calls(http, prefix, domain) or 0) > 0:
        time.sleep(0.1)
    left = our_calls(http, prefix, domain)
    if left:
        log(f"mcxd still has {left} of the calls")


def wait_for_stop(media, stop):
    """Holds until stdin reaches EOF or stop["signal"] is set; returns None, or what broke."""
    while not stop["signal"]:
        if select.select([sys.stdin], [], [], 0.2)[0] and not os.read(sys.stdin.fileno(), 4096):
            return None
        for name, p in (("rtp_load.py", media.rtp), ("the calling SIPp", media.uac),
                        ("the answering SIPp", media.uas)):
            if p.poll() is not None:
                return f"{name} exited with {p.returncode} while the calls were held"
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sip", required=True, help="mcxd's SIP address, host:port (UDP)")
    ap.add_argument("--http", required=True, help="mcxd's HTTP address (IdMS, /status)")
    ap.add_argument("--domain", required=True, help="the users' domain")
    ap.add_argument("--calls", type=int, required=True, help="calls to hold (N)")
    ap.add_argument("--user-prefix", required=True, help="user parts are PREFIXcaller<i>, ...")
    ap.add_argument("--out", required=True, help="directory for SIPp's logs and the CSV files")
    ap.add_argument("--sipp", default="sipp", help="the SIPp binary (default: sipp)")
    ap.add_argument("--rate", type=float, default=200, help="calls set up per second (200)")
    args = ap.parse_args(argv)
    log_to(sys.stderr)
    PROCS.die_with_parent = True
    out = Path(args.out).resolve()
    n, prefix = args.calls, args.user_prefix
    # "raise": during the setup, a stop signal raises Stopped out of whatever step waits;
    # later it is only noted, and the hold loop and the cleanups look at it.
    stop = {"signal": None, "raise": True}

    def on_signal(signum, _frame):
        stop["signal"] = signum
        if stop["raise"]:
            stop["raise"] = False
            raise Stopped()

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    media = None
    try:
        if n < 1:
            raise BenchError("--calls must be at least 1")
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        names = {role: user_names(role, n, prefix) for role in ROLES}
        log(f"logging {2 * n} users in at http://{args.http}/idms/token")
        try:
            tokens = login(args.http, names["caller"] + names["callee"], args.domain)
            ADMIN["token"] = admin_token(args.http, prefix, args.domain)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            raise BenchError(f"IdMS login at {args.http} failed: {e}")
        for role in ROLES:
            write_register_csv(out / f"{role}s.csv", names[role], tokens)
        calls_csv = out / "calls.csv"
        calls_csv.write_text("SEQUENTIAL\n" + "\n".join(
            f"{a};{b}" for a, b in zip(names["caller"], names["callee"])) + "\n")
        sipp = Sipp(args.sipp)
        caller_port, callee_port = free_udp_port(), free_udp_port()
        log(f"registering the callers from port {caller_port}, the callees from {callee_port}")
        for role, port in (("caller", caller_port), ("callee", callee_port)):
            sipp.register(f"register-{role}s", out, "mcptt_register.xml", port, args.sip,
                          args.domain, out / f"{role}s.csv", n)
        log(f"placing {n} calls at {args.rate:g}/s")
        media = MediaCalls(out, sipp)
        rate = max(1, int(args.rate))
        media.start(n, ["--until-stopped", "--wait", n / rate + 30], sip=args.sip,
                    domain=args.domain, scenarios=SCENARIOS, calls_csv=calls_csv,
                    caller_port=caller_port, callee_port=callee_port, rate=rate,
                    hold_ms=HOLD_MS, rtp_stdin=subprocess.PIPE)
        ev = media.next_event()
        if ev.get("event") != "start":
            raise BenchError(f"the calls were not set up: {ev} (see {out}/uac.errors.log)")
        k = ev["calls"]
        if k < n:
            log(f"only {k} of {n} calls set up; holding those (see {out}/uac.errors.log)")
        stop["raise"] = False
        if stop["signal"]:
            raise Stopped()
        emit({"event": "ready", "calls": k, "streams": 2 * k})
        log(f"ready after {time.monotonic() - t0:.1f} s: {k} calls, {2 * k} RTP streams; "
            f"mcxd has {our_calls(args.http, prefix, args.domain)} of them")
    except (Stopped, BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
        stop["raise"] = False
        message = (f"stopped by signal {stop['signal']} before the calls were up"
                   if isinstance(e, Stopped) else str(e))
        log(f"FAILED: {message}")
        emit({"event": "error", "message": message})
        if media and media.uac:
            end_calls(media, caller_port, args.http, prefix, args.domain, budget=2)
        if media:
            media.stop()
        PROCS.stop_all()
        return 1

    try:
        broken = wait_for_stop(media, stop)
        if broken:
            log(f"FAILED: {broken}")
            emit({"event": "error", "message": broken})
            if media.uac.poll() is None:
                end_calls(media, caller_port, args.http, prefix, args.domain, budget=3)
            return 1
        log("stopping: RTP first, then a BYE for every call")
        media.rtp.stdin.close()
        ev = media.next_event()
        if ev.get("event") == "stop":
            ev = media.next_event()
        result = {"event": "result", "calls": k, "streams": ev.get("streams", 2 * k)}
        result.update({key: ev.get(key) for key in ("sent", "received", "loss_pct", "seconds")})
        # After SIGTERM, a parent may SIGKILL 5 s later (the benches' ChildProcess::stop).
        end_calls(media, caller_port, args.http, prefix, args.domain,
                  budget=3 if stop["signal"] else 15)
        media.stop()
        emit(result)
        log(f"done: {result['sent']} RTP packets sent, {result['received']} received, "
            f"loss {result['loss_pct']} %")
        return 0
    except (BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
        log(f"FAILED: {e}")
        emit({"event": "error", "message": str(e)})
        return 1
    finally:
        if media:
            media.stop()
        PROCS.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
