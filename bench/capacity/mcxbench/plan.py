"""The run plan: prepare (the copy of mcxd, the calls CSV), smoke (a few calls of every
scenario, no timing) and full (steady state, burst steps, the sustained-capacity search, RSS,
media; the systems alternate run by run). The steps are described in run.py's docstring."""
import datetime
import json
import shutil

from .mcxd import Mcxd
from .measure import run_calls, run_media, run_rss
from .peer import Peer, peer_available
from .procs import BenchError, log
from .report import (fmt, machine, median, merge_report, overload_summary, overload_verdicts,
                     summarise)
from .sipp import RefusingServer

FAIL_LIMIT_PCT = 0.1
# A sustained run losing this share of its calls is an overload, not noise: the rate fails.
COLLAPSE_PCT = 10.0


class Ctx:
    """The run's settings (run.py's parse_args) and paths (prepare)."""


def overload(ctx, system, capacity_cps, capacity_p99_ms, seconds, capture=True):
    """The overload run: --overload-factor x `capacity_cps` offered for `seconds` to a fresh
    `system`; the run's result with its figures under "summary" (report.overload_summary)."""
    rate = max(1, int(round(ctx.overload_factor * capacity_cps)))
    res = run_calls(ctx, system, rate, seconds, capture=capture, tag="-overload", overload=True)
    res["summary"] = overload_summary(res, capacity_cps, capacity_p99_ms)
    o = res["summary"]
    log(f"{system.kind:5} overload {rate}/s for {seconds:g} s: {o['offered_calls']} calls offered "
        f"({fmt(o['offered_cps'])}/s), {o['completed_calls']} completed = "
        f"{fmt(o['goodput_cps'])}/s = {fmt(o['goodput_ratio'])} of {capacity_cps}/s, "
        f"503 {100 * (o['share_503'] or 0):.1f} %, failed otherwise "
        f"{100 * (o['failed_share'] or 0):.1f} %, setup p50 {fmt(o['setup_p50_ms'])} ms "
        f"p99 {fmt(o['setup_p99_ms'])} ms (at capacity {fmt(capacity_p99_ms)} ms)")
    return res


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
    """A few calls of every scenario against mcxd and (when installed) the peer; the overload
    run's code, briefly, against both and against a SIPp answering 503."""
    results = {}
    # The overload runs capture the caller's port when dumpcap is installed (the smoke's
    # other runs need no capture).
    ctx.smoke_capture = bool(shutil.which("dumpcap"))
    systems = [Mcxd(ctx.mcxd, ctx.out / "mcxd", ctx.users)]
    m = systems[0]
    m.start()
    try:
        m.fetch_tokens()
    finally:
        m.stop()
    if peer_available():
        systems.append(Peer(ctx.out / "peer", ctx.users))
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
        if ctx.overload_seconds > 0:
            # The overload run's code path, briefly, at a rate that overloads nothing.
            res = overload(ctx, system, 5, None, min(ctx.overload_seconds, 2.0),
                           capture=ctx.smoke_capture)
            results[system.kind + "_overload"] = res
            o = res["summary"]
            if o["completed_calls"] != o["offered_calls"] or o["offered_calls"] != res["calls"]:
                failures.append(f"{system.kind}: overload run completed {o['completed_calls']} "
                                f"of {o['offered_calls']} calls offered ({res['calls']} planned)")
        media = run_media(ctx, system, 2)
        log(f"{system.kind}: media 2 calls, {media['received']}/{media['sent']} RTP packets "
            f"relayed")
        results[system.kind + "_media"] = media
        if media["received"] < media["sent"] * 0.5:
            failures.append(f"{system.kind}: media relayed {media['received']} of "
                            f"{media['sent']} packets")
    if ctx.overload_seconds > 0:
        # The 503 branch of the calling scenario: a SIPp answering every INVITE 503.
        res = overload(ctx, RefusingServer(ctx.out / "refuser"), 5, None, 1.0,
                       capture=ctx.smoke_capture)
        results["refuser_overload"] = res
        o = res["summary"]
        log(f"refuser: {o['refused_503']} of {o['offered_calls']} calls answered 503")
        if o["refused_503"] != o["offered_calls"] or o["offered_calls"] != res["calls"] or \
                o["share_503"] != 1.0 or o["failed_share"] != 0 or \
                res.get("captured_503", o["refused_503"]) != o["refused_503"]:
            failures.append(f"refuser: {o['refused_503']} of {o['offered_calls']} calls counted "
                            f"as answered 503 ({res.get('captured_503')} on the wire), "
                            f"{res['calls']} planned")
    (ctx.out / "smoke.json").write_text(json.dumps(results, indent=2) + "\n")
    if failures:
        raise BenchError("; ".join(failures))
    log("smoke OK")


def full(ctx):
    mcxd = Mcxd(ctx.mcxd, ctx.out / "mcxd", ctx.users)
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
        systems.append(Peer(ctx.out / "peer", ctx.users))
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

    # 4: overload: --overload-factor x each system's own sustained rate for --overload-seconds,
    #    once per system, on a fresh server (a step from idle, like an incident's first calls).
    results["overload"] = {}
    for s in systems if ctx.overload_seconds > 0 else []:
        cps = sustained_cps.get(s.kind)
        if not cps:
            log(f"{s.kind}: no sustained rate passed: no overload run")
            continue
        passing = [r for r in results["sustained"][s.kind][str(cps)]
                   if r["failed_pct"] < FAIL_LIMIT_PCT]
        p99 = median([r.get("setup_p99_ms") for r in passing])
        results["overload"][s.kind] = overload(ctx, s, cps, p99, ctx.overload_seconds)
    for kind, res in results["overload"].items():
        goodput, p99 = overload_verdicts(res["summary"])
        log(f"{kind}: overload goals: goodput ratio {goodput}, setup p99 {p99}")

    # 5: memory per call of mcxd.
    log(f"mcxd: RSS while holding {ctx.rss_calls} calls")
    results["rss"] = run_rss(ctx, mcxd)
    log(f"mcxd: {fmt(results['rss']['rss_kib_per_call'])} KiB per call "
        f"({results['rss']['calls_held']} calls held)")
    # 6: media relay, alternating the systems run by run; the median of the runs is kept.
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
