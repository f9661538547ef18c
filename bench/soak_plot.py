#!/usr/bin/env python3
"""Draws the soak's samples (bench/soak.sh's CSV) as one PNG of four panels (RSS; open files and
threads; outbox depth; database and WAL size) with each series' least-squares line, and prints a
Markdown table of the figures and the growth trends.

A trend is the slope of the least-squares line over the load phase, and again over its second
half (after the SQLite page cache and the allocator have warmed up), both per 10 minutes. A
series is called flat when the second half's slope times 10 minutes is under 5 % of its mean
there, or under 2 units for the counts (files, threads, queued emails).
Usage: soak_plot.py CSV PNG [--rate R] [--capacity C] [--load JSON]"""

import argparse
import csv
import json

import matplotlib

matplotlib.use("Agg")  # no display: a file only
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

TEN_MIN = 600.0
FLAT_REL = 0.05
FLAT_ABS = 2.0


def fit(xs, ys):
    """Least-squares line: (slope per second, intercept)."""
    n = len(xs)
    if n < 2:
        return 0.0, (ys[0] if ys else 0.0)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return slope, my - slope * mx


def trend(xs, ys, small):
    """(slope per 10 min overall, slope per 10 min second half, second-half sd, flat?)."""
    whole = fit(xs, ys)[0] * TEN_MIN
    half = len(xs) // 2
    hx, hy = xs[half:], ys[half:]
    late = fit(hx, hy)[0] * TEN_MIN
    mean = sum(hy) / len(hy) if hy else 0.0
    sd = (sum((y - mean) ** 2 for y in hy) / (len(hy) - 1)) ** 0.5 if len(hy) > 1 else 0.0
    flat = abs(late) < max(FLAT_REL * mean, FLAT_ABS if small else 0.0, sd)
    return whole, late, sd, flat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--capacity", type=float, default=0)
    ap.add_argument("--load", default="{}")
    args = ap.parse_args()
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    load = [r for r in rows if r["phase"] == "load"]
    drained = [r for r in rows if r["phase"] == "drained"]
    t = [float(r["t_s"]) for r in load]

    def col(name, scale=1.0, source=load):
        return [float(r[name]) / scale for r in source]

    series = [("RSS (MiB)", col("rss_kib", 1024), False), ("open files", col("fds"), True),
              ("threads", col("threads"), True), ("outbox queued", col("outbox_queued"), True),
              ("database (MiB)", col("db_kib", 1024), False), ("WAL (MiB)", col("wal_kib", 1024), False)]

    fig, axes = plt.subplots(4, 1, figsize=(9, 11), sharex=True)
    panels = [(axes[0], [0]), (axes[1], [1, 2]), (axes[2], [3]), (axes[3], [4, 5])]
    for ax, idx in panels:
        for i in idx:
            label, ys, _ = series[i]
            slope, icpt = fit(t, ys)
            line = ax.plot(t, ys, marker=".", label=label)[0]
            ax.plot(t, [icpt + slope * x for x in t], linestyle="--", color=line.get_color(),
                    label="%s fit: %+.3g per 10 min" % (label, slope * TEN_MIN))
        ax.legend(fontsize=8, loc="best")
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds of load")
    load_info = json.loads(args.load or "{}")
    fig.suptitle("siteinvites soak: %.0f s at %.0f req/s (capacity %.0f), mail worker on\n"
                 "shared 2-core machine (other engineers' builds and tests ran alongside)"
                 % (t[-1] if t else 0, args.rate, args.capacity), fontsize=10)
    fig.tight_layout()
    fig.savefig(args.png, dpi=90)

    print("| series | first | last | min | max | trend per 10 min (whole) | trend per 10 min (2nd half) "
          "| sd (2nd half) | flat? |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, ys, small in series:
        whole, late, sd, flat = trend(t, ys, small)
        print("| %s | %.1f | %.1f | %.1f | %.1f | %+.2f | %+.2f | %.2f | %s |"
              % (label, ys[0], ys[-1], min(ys), max(ys), whole, late, sd, "yes" if flat else "NO"))
    if drained:
        d = drained[-1]
        print("\nAfter the load, outbox drained: RSS %.1f MiB, %s open files, %s queued, %s sent."
              % (float(d["rss_kib"]) / 1024, d["fds"], d["outbox_queued"], d["outbox_sent"]))
    if load_info:
        print("\nLoad: %s requests in %s s (%s req/s), answers %s, errors %s, p50 %s ms, p99 %s ms."
              % (load_info.get("requests"), load_info.get("seconds"), load_info.get("rps"),
                 load_info.get("status"), load_info.get("errors"), load_info.get("p50_ms"),
                 load_info.get("p99_ms")))


if __name__ == "__main__":
    main()
