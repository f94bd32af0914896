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
