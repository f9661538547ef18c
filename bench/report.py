#!/usr/bin/env python3
"""Turns bench/run.sh's results (JSON lines) into the table of figures and targets (issue #2).

Every figure is the median over the runs, with the spread (min..max) beside it; a target is
judged on the median. Usage: bench/report.py RESULTS.jsonl
"""
import json
import statistics
import sys

MIB = 1024.0

# (benchmark, title, metric key, unit, comparison, target); ms metrics come from *_us fields.
# Targets of issue 14 (the mail worker on, as users run it); issue 2's were 15/40 ms for bulk
# and 5,000 creates/s.
TARGETS_SQLITE = [
    ("bulk", "bulk 1,000, mail worker on", "p50", "ms", "<=", 8),
    ("bulk", "", "p99", "ms", "<=", 15),
    ("bulk_quiet", "bulk 1,000, outbox drained", "p50", "ms", "<=", 8),
    ("bulk_quiet", "", "p99", "ms", "<=", 15),
    ("create", "create one, 32 conns", "rps", "req/s", ">=", 15000),
    ("create", "", "p99", "ms", "<=", 10),
    ("create_mail", "create one, 32 conns, mailed", "rps", "req/s", ">=", 15000),
    ("create_mail", "", "p99", "ms", "<=", 10),
    ("create_mail", "", "delivered", "msg/s", ">=", 10000),
    ("create_mail", "", "left", "queued", None, None),
    ("get", "get one, 32 conns", "rps", "req/s", ">=", 25000),
    ("get", "", "p99", "ms", "<=", 5),
]
# Issue 14's targets for one PostgreSQL instance (bulk p50, creates at 32 in flight); the other
# rows are context there.
TARGETS_POSTGRESQL = [
    ("bulk", "bulk 1,000, mail worker on", "p50", "ms", "<=", 20),
    ("bulk", "", "p99", "ms", None, None),
    ("bulk_quiet", "bulk 1,000, outbox drained", "p50", "ms", "<=", 20),
    ("bulk_quiet", "", "p99", "ms", None, None),
    ("create", "create one, 32 conns", "rps", "req/s", ">=", 8000),
    ("create", "", "p99", "ms", None, None),
    ("create_mail", "create one, 32 conns, mailed", "rps", "req/s", ">=", 8000),
    ("create_mail", "", "p99", "ms", None, None),
    ("create_mail", "", "delivered", "msg/s", None, None),
    ("create_mail", "", "left", "queued", None, None),
    ("get", "get one, 32 conns", "rps", "req/s", None, None),
    ("get", "", "p99", "ms", None, None),
]


def load(path):
    runs, rss, drains, extra = {}, {}, [], {}
    for line in open(path):
        r = json.loads(line)
        if "mail_left" in r:  # what a run left queued: joins that run's figures
            run = runs[r["mail_left"]][r["run"]][0]
            run["queued_left"] = int(r["queued"])
        elif "bench" in r:
            runs.setdefault(r["bench"], {}).setdefault(r["run"], []).append(r)
        elif "rss" in r:
            rss[r["rss"]] = r
        elif "drain" in r:
            drains.append(r)
        else:
            extra.update(r)
    return runs, rss, drains, extra


def percentile(values, p):
    """Nearest-rank percentile of a small sample (p99 of 20 calls is their maximum)."""
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def per_run(bench, calls):
    """One figure set per run. bulk_quiet runs are single calls: pool their latencies."""
    if bench != "bulk_quiet":
        (r,) = calls
        f = {
            "p50": r["p50_us"] / 1000, "p90": r["p90_us"] / 1000, "p99": r["p99_us"] / 1000,
            "max": r["max_us"] / 1000, "rps": r["rps"], "n": r["requests"],
            "lg_cpu": r["cpu_pct"], "srv_cpu": 100 * r["server_cpu_s"] / max(r["wall_s"], 1e-9),
        }
        if "queued_left" in r:
            # Emails written to the Maildir during the run, at least: the measured creates less
            # what was still queued at the end, over the measured time (the warm-up's few
            # hundred emails are left out). A worker that kept up leaves about a round queued.
            f["left"] = r["queued_left"]
            f["delivered"] = (r["requests"] - r["queued_left"]) / r["wall_s"]
        return f
    lat = [c["max_us"] / 1000 for c in calls]
    wall = sum(c["wall_s"] for c in calls)
    return {
        "p50": percentile(lat, 50), "p90": percentile(lat, 90), "p99": percentile(lat, 99),
        "max": max(lat), "rps": len(lat) / sum(lat) * 1000, "n": len(lat),
        "lg_cpu": 100 * sum(c["cpu_s"] for c in calls) / wall,
        "srv_cpu": 100 * sum(c["server_cpu_s"] for c in calls) / wall,
    }


def fmt(v):
    return f"{v:,.0f}" if v >= 1000 else f"{v:.2f}" if v < 100 else f"{v:.1f}"


def verdict(value, op, target):
    if op is None:
        return ""
    ok = value <= target if op == "<=" else value >= target
    return "met" if ok else "MISSED"


def row(title, metric, vals, op, target):
    med = statistics.median(vals)
    spread = f"{fmt(min(vals))}..{fmt(max(vals))}"
    goal = f"{op} {target:,}" if op else "-"
    print(f"{title:<29} {metric:<15} {fmt(med):>9} {spread:>19} {len(vals):>4}  {goal:<9} "
          f"{verdict(med, op, target)}")


def main():
    runs, rss, drains, extra = load(sys.argv[1])
    figures = {b: [per_run(b, runs[b][k]) for k in sorted(runs[b])] for b in runs if b != "seed"}
    print(f"{'benchmark':<29} {'metric':<15} {'median':>9} {'min..max':>19} {'runs':>4}  "
          f"{'target':<9} verdict")
    targets = TARGETS_POSTGRESQL if extra.get("store") == "postgresql" else TARGETS_SQLITE
    for bench, title, key, unit, op, target in targets:
        if bench in figures:
            row(title, f"{key} {unit}", [f[key] for f in figures[bench]], op, target)
    if "idle" in rss:
        row("server memory, idle", "VmRSS MiB", [rss["idle"]["vmrss_kib"] / MIB], "<=", 12)
    if "end" in rss:
        row("server memory, end of runs", "VmRSS MiB", [rss["end"]["vmrss_kib"] / MIB], "<=", 64)
        row("", "VmHWM MiB", [rss["end"]["vmhwm_kib"] / MIB], "<=", 64)
    print()
    print("context (medians over runs): requests measured per run, other latency figures, and")
    print("CPU use as % of one core (2 cores = 200 %) of the load generator and of the server")
    for bench, f in figures.items():
        med = {k: statistics.median(x[k] for x in f) for k in f[0]}
        print(f"  {bench:<11} n={med['n']:,.0f}  p50 {med['p50']:.2f} ms  p90 {med['p90']:.2f} ms"
              f"  p99 {med['p99']:.2f} ms  max {med['max']:.2f} ms  {fmt(med['rps'])} req/s"
              f"  loadgen CPU {med['lg_cpu']:.0f} %  server CPU {med['srv_cpu']:.0f} %")
    if "rssanon_kib" in rss.get("idle", {}):
        print(f"  memory idle: VmRSS {rss['idle']['vmrss_kib'] / MIB:.1f} MiB, of it the process's"
              f" own (RssAnon) {rss['idle']['rssanon_kib'] / MIB:.1f} MiB; the rest is pages of"
              " shared libraries")
    for name, r in rss.items():
        if name not in ("idle", "end"):
            print(f"  memory {name}: VmRSS {r['vmrss_kib'] / MIB:.1f} MiB, "
                  f"VmHWM {r['vmhwm_kib'] / MIB:.1f} MiB")
    for d in drains:
        if not d["drain"].startswith("bulk_quiet"):
            print(f"  outbox drained after {d['drain']} in {d['seconds']:.1f} s "
                  f"(left queued: {d['queued_left']})")
    if "server_exit" in extra:
        print(f"  server exit status after SIGTERM: {extra['server_exit']}")


if __name__ == "__main__":
    main()
