"""Reporting: medians and ratios, the table on stdout, section.md, and the merge of the
metrics into OUT/report.json (keys listed in docs/BENCHMARKS.md)."""
import json
import statistics
import subprocess


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


def overload_summary(res, capacity_cps, capacity_p99_ms):
    """The figures of an overload run (measure.run_calls with overload=True) against the
    system's sustained capacity: goodput = calls completed / the seconds over which they were
    offered (first to last INVITE, at least the planned seconds), its ratio to the capacity;
    the setup p50/p99 of the accepted (answered 200) calls over the whole run and the p99's
    ratio to the p99 at capacity; the shares of the offered calls answered 503 and failed
    otherwise (SIPp's statistics and -trace_counts)."""
    offered = res.get("offered") or res["calls"]
    seconds = max(res["seconds"], res.get("offered_s") or 0)
    completed = res["successful"]
    refused = res["refused_503"]
    goodput = completed / seconds if seconds else None
    return {
        "capacity_cps": capacity_cps,
        "offered_rate": res["rate"],
        "offered_calls": offered,
        "offered_cps": offered / seconds if seconds else None,
        "completed_calls": completed,
        "goodput_cps": goodput,
        "goodput_ratio": ratio(goodput, capacity_cps),
        "setup_p50_ms": res.get("setup_p50_ms"),
        "setup_p99_ms": res.get("setup_p99_ms"),
        "setup_p99_at_capacity_ms": capacity_p99_ms,
        "setup_p99_ratio_to_capacity": ratio(res.get("setup_p99_ms"), capacity_p99_ms),
        "refused_503": refused,
        "share_503": refused / offered if offered else None,
        "failed_share": max(0, offered - completed - refused) / offered if offered else None,
    }


# Goals of issue 17 for the overload run.
OVERLOAD_GOODPUT_GOAL = 0.9
OVERLOAD_P99_GOAL = 5.0


def overload_verdicts(o):
    """'met' / 'missed' for the goodput and setup p99 goals of an overload_summary."""
    def verdict(ok):
        return "-" if ok is None else ("met" if ok else "missed")

    g, p = o.get("goodput_ratio"), o.get("setup_p99_ratio_to_capacity")
    return (verdict(None if g is None else g >= OVERLOAD_GOODPUT_GOAL),
            verdict(None if p is None else p <= OVERLOAD_P99_GOAL))


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
    overload = results.get("overload", {})

    def ov(kind, key):
        return overload.get(kind, {}).get("summary", {}).get(key)

    keys = (("offered_cps", "offered_cps"), ("goodput_ratio", "goodput_ratio"),
            ("setup_p99_ms", "setup_p99_ms"),
            ("setup_p99_at_capacity_ms", "setup_p99_at_capacity_ms"),
            ("503_share", "share_503"), ("failed_share", "failed_share"))
    for kind, prefix in (("mcxd", ""), ("peer", "peer_")):
        if kind in overload:
            m.update({f"{prefix}overload_{name}": ov(kind, key) for name, key in keys})
    # The peer is offered the factor times its own capacity; what mcxd's offered rate would
    # be for it, as a multiple of its capacity (docs/BENCHMARKS.md, "Overload").
    if "mcxd" in overload and "peer" in overload:
        m["peer_overload_factor_at_mcxd_rate"] = ratio(ov("mcxd", "offered_rate"),
                                                       ov("peer", "capacity_cps"))
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
    if overload:
        secs = f"{ctx.overload_factor:g}x sustained, {ctx.overload_seconds:g} s"
        rows += [
            (f"overload: offered calls/s ({secs})", ov("mcxd", "offered_cps"),
             ov("peer", "offered_cps"), ""),
            ("overload: goodput ratio (completed/s / sustained)", ov("mcxd", "goodput_ratio"),
             ov("peer", "goodput_ratio"), f"goal >= {OVERLOAD_GOODPUT_GOAL:g}"),
            ("overload: setup p99 of accepted calls (ms)", ov("mcxd", "setup_p99_ms"),
             ov("peer", "setup_p99_ms"),
             f"goal <= {OVERLOAD_P99_GOAL:g}x the p99 at capacity"),
            ("setup p99 at the sustained rate (ms)", ov("mcxd", "setup_p99_at_capacity_ms"),
             ov("peer", "setup_p99_at_capacity_ms"), ""),
            ("overload: share of calls answered 503", ov("mcxd", "share_503"),
             ov("peer", "share_503"), ""),
            ("overload: share of calls failed otherwise", ov("mcxd", "failed_share"),
             ov("peer", "failed_share"), "lower is better"),
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
    for kind in kinds:
        if kind in overload:
            goodput, p99 = overload_verdicts(overload[kind]["summary"])
            table += (f"{kind} overload goals: goodput ratio {goodput}, setup p99 {p99} "
                      f"(x{fmt(ov(kind, 'setup_p99_ratio_to_capacity'))} the p99 at "
                      f"capacity)\n")
    if m.get("peer_overload_factor_at_mcxd_rate") is not None:
        table += (f"mcxd's overload rate ({ov('mcxd', 'offered_rate')}/s) would be "
                  f"{fmt(m['peer_overload_factor_at_mcxd_rate'])}x the peer's capacity\n")
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
    if overload:
        section += ("\nOverload runs (one per system):\n\n| system | capacity calls/s | "
                    "offered calls/s | calls offered | completed | 503 | failed otherwise | "
                    "goodput ratio | setup p50 ms | setup p99 ms | p99 at capacity ms |\n"
                    "|---|---|---|---|---|---|---|---|---|---|---|\n")
        for kind in kinds:
            if kind not in overload:
                continue
            o = overload[kind]["summary"]
            failed = o["offered_calls"] - o["completed_calls"] - o["refused_503"]
            section += (f"| {kind} | {o['capacity_cps']} | {fmt(o['offered_cps'])} | "
                        f"{o['offered_calls']} | {o['completed_calls']} | {o['refused_503']} | "
                        f"{failed} | {fmt(o['goodput_ratio'])} | {fmt(o['setup_p50_ms'])} | "
                        f"{fmt(o['setup_p99_ms'])} | {fmt(o['setup_p99_at_capacity_ms'])} |\n")
    return m, table, section
