#!/usr/bin/env python3
"""The key cache on PostgreSQL (docs/SECURITY.md "The key cache", docs/SCALING.md): builds A and
B, rounds interleaved, each on a fresh database of one PostgreSQL 15 cluster
(tests/support/pgcluster.py: fsync off, as the test clusters): Get Invite and Create One at 32 in
flight (bench/loadgen) against the default serve (mail worker on, access log off), and per
request the CPU of serve and of every PostgreSQL process, from /proc, over the measured run.

Usage: python3 bench/pgauth.py [--rounds N] [--seconds S] before=OLD/siteinvites after=build/siteinvites
Everything runs on the same cores: say "loaded machine" next to any figure."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import pgcluster  # noqa: E402
from benchlib import tenant_load  # noqa: E402
from sitest import Server, Tenant  # noqa: E402

CONNS = 32
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_pid(pids):
    """pid -> user + system seconds of the given processes (those that ended are skipped)."""
    out = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def cpu_s(pids):
    """User + system seconds of the given processes (those that ended are skipped)."""
    return sum(cpu_by_pid(pids).values())


def postgres_pids(cluster):
    root = cluster.postmaster_pid()
    out = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout
    return [root] + [int(x) for x in out.split()]


def measure(cluster, server, binary, t, what, seconds, **kw):
    pg_before = postgres_pids(cluster)
    s0, p0 = cpu_s([server.proc.pid]), cpu_s(pg_before)
    gen = os.path.join(os.path.dirname(binary), "loadgen")
    r = tenant_load(gen, server.port, t, seconds=seconds, conns=CONNS, **kw)
    s1, p1 = cpu_s([server.proc.pid]), cpu_s(postgres_pids(cluster))
    n = r["requests"] + r.get("warmup", 500)
    return {"what": what, "rps": r["rps"], "p99_ms": r["p99_us"] / 1000.0,
            "serve_us": (s1 - s0) * 1e6 / n, "pg_us": (p1 - p0) * 1e6 / n}


def one_round(cluster, name, binary, seconds, rnd):
    db = "si_%s_%d" % (name, rnd)
    cluster.psql("CREATE DATABASE %s" % db)
    os.environ["SI_BIN"] = binary
    s = Server(extra_args=["--access-log", "off"])
    s.db = cluster.url(db)
    s.start()
    try:
        t = Tenant(s, "Bench", contributor_limit=1000000)
        ids = []
        for k in range(5):
            r = t.bulk(["seed%d-%d@example.com" % (k, i) for i in range(200)])
            assert r.status == 200, r
            ids += [i["id"] for i in r.json["invites"]]
        values = os.path.join(s.dir, "ids.txt")
        with open(values, "w") as f:
            f.write("\n".join(ids) + "\n")
        cluster.psql("ANALYZE", db=db)
        get = measure(cluster, s, binary, t, "get", seconds,
                      path="/invites/site-invite/{{V}}", values=values)
        body = json.dumps({"email": "c{{N}}-%d@example.com" % rnd, "policyIds":
                           ["1000000000000000001"]})
        create = measure(cluster, s, binary, t, "create", seconds, path="/invites/site-invite",
                         method="POST", body=body)
        return [get, create]
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("builds", nargs="+", help="name=path/to/siteinvites")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds]
    os.environ.pop("SI_TEST_STORE_URL", None)
    cluster = pgcluster.primary()
    try:
        print("%-8s %-6s %5s %10s %9s %14s %14s" % ("build", "call", "round", "req/s", "p99 ms",
                                                     "serve CPU µs", "PG CPU µs"))
        for rnd in range(a.rounds):
            for name, binary in builds:
                for m in one_round(cluster, name, os.path.abspath(binary), a.seconds, rnd):
                    print("%-8s %-6s %5d %10.0f %9.2f %14.1f %14.1f" % (
                        name, m["what"], rnd + 1, m["rps"], m["p99_ms"], m["serve_us"],
                        m["pg_us"]), flush=True)
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
