#!/usr/bin/env python3
"""Summarises `perf script -F tid,ip,sym` output of the server: of the CPU samples taken in the
request path (stacks through routes_dispatch, kernel time included), the share under each named
frame, plus the hottest leaf functions. Usage: perf_breakdown.py SCRIPT.txt FRAME[,FRAME...]"""
import collections
import sys

TOP_LEAVES = 10


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


def main():
    every = list(samples(sys.argv[1]))
    req = [s for s in every if any("routes_dispatch" in f for f in s)]
    print(f"{len(req)} of {len(every)} CPU samples are in the request path (routes_dispatch);")
    print("the rest are the mail worker and libmicrohttpd's own work")
    print("share of request-path samples under each frame (frames nest, so shares overlap):")
    for frame in sys.argv[2].split(","):
        n = sum(1 for s in req if any(frame in f for f in s))
        print(f"  {frame:<22} {100 * n / max(len(req), 1):5.1f} %")
    print(f"top {TOP_LEAVES} leaf functions in the request path:")
    for fn, n in collections.Counter(s[0] for s in req).most_common(TOP_LEAVES):
        print(f"  {100 * n / len(req):5.1f} %  {fn}")


if __name__ == "__main__":
    main()
