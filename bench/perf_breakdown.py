#!/usr/bin/env python3
"""Summarises `perf script -F tid,ip,sym` output of the server by the thread's role, since a
request's work is split across threads: the HTTP thread that parses, decides and answers
(stacks through routes_dispatch), SQLite's writer thread that runs the group commit (through
group_main; lane_main on PostgreSQL), the checkpointer and the mail worker (mailer.c's worker). For each role: its samples (at
2 kHz, 0.5 ms of CPU each, kernel time included), the share under each named frame, and the
hottest leaf functions. Usage: perf_breakdown.py SCRIPT.txt FRAME[,FRAME...] [REQUESTS]"""
import collections
import sys

TOP_LEAVES = 8
MS_PER_SAMPLE = 0.5  # perf record -F 2000
ROLES = [  # (name, a frame that marks the thread), checked in order
    ("request path (HTTP threads)", "routes_dispatch"),
    ("answer (HTTP threads, after the store's reply)", "request_finish"),
    ("writer (SQLite group commit)", "group_main"),
    ("PostgreSQL lane (group commit)", "lane_main"),
    ("checkpointer (SQLite)", "checkpoint_main"),
    ("mail worker", "worker"),  # mail/mailer.c; the other threads' entry points are named run
]
OTHER = "other (libmicrohttpd's own work, idle threads)"


def samples(path):
    cur = None
    for line in open(path):
        if not line.strip():
            if cur:
                yield cur
            cur = None
        elif not line.startswith("\t"):
            cur = []
        elif cur is not None:
            parts = line.split(None, 1)
            cur.append(parts[1].strip() if len(parts) > 1 else "?")
    if cur:
        yield cur


def role_of(stack):
    for name, mark in ROLES:
        if any(f == mark or f.startswith(mark + " ") for f in stack):
            return name
    return OTHER


def report(name, group, total, frames, requests):
    per = f", {MS_PER_SAMPLE * len(group) / requests:.2f} ms a request" if requests else ""
    print(f"{name}: {len(group)} of {total} samples ({100 * len(group) / max(total, 1):.1f} %"
          f"{per})")
    if not group:
        return
    for frame in frames:
        n = sum(1 for s in group if any(frame in f for f in s))
        if n:
            print(f"    under {frame:<24} {100 * n / len(group):5.1f} %")
    print(f"    top {TOP_LEAVES} leaf functions:")
    for fn, n in collections.Counter(s[0] for s in group).most_common(TOP_LEAVES):
        print(f"      {100 * n / len(group):5.1f} %  {fn}")


def main():
    every = list(samples(sys.argv[1]))
    frames = sys.argv[2].split(",")
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    by_role = collections.defaultdict(list)
    for s in every:
        by_role[role_of(s)].append(s)
    print(f"{len(every)} CPU samples; by the thread's role (frames nest, so shares overlap):")
    for name in [r[0] for r in ROLES] + [OTHER]:
        report(name, by_role[name], len(every), frames, requests)


if __name__ == "__main__":
    main()
