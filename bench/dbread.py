#!/usr/bin/env python3
"""--db-read on this machine (docs/SCALING.md): a PostgreSQL primary and an asynchronous hot
standby (tests/support/pgcluster.py), then back to back, on one database:

- get and query throughput (bench/loadgen, 32 connections) with serve on the primary alone and
  with --db-read on the standby, and where the reads went (/metrics);
- creates/s without and with --db-read, A/B/A/B: the cost on writes of reading the commit's
  WAL position in the COMMIT round trip;
- the same cost alone, without serve's noise: pgbench on one connection, a one-row insert
  transaction ending in `COMMIT` versus `COMMIT; SELECT pg_current_wal_insert_lsn()` (one
  simple-query message, as pg_store.c sends it), six rounds each, alternating.

Usage: SI_BIN=build/siteinvites python3 bench/dbread.py [seconds per run, default 8]
Everything runs on the same cores (servers, load generator): say "loaded machine" next to any
figure. serve runs with --mail-worker off and --access-log off, so the figures are the API's."""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import pgcluster  # noqa: E402
from benchlib import tenant_load  # noqa: E402
from sitest import ROLE_BLOG_WRITER, Server, Tenant  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 8
LOADGEN = os.environ.get("LOADGEN", os.path.join(os.path.dirname(os.environ.get(
    "SI_BIN", "build/siteinvites")), "loadgen"))
CONNS = 32


def loadgen(server, t, path, method="GET", body=None, values=None, seq=0):
    return tenant_load(LOADGEN, server.port, t, path, SECONDS, CONNS, method, body, values, seq)


def metric_lines(server, prefix):
    r = server.request("GET", "/metrics")
    return [x for x in r.body.decode().splitlines() if x.startswith(prefix)]


def start(db, read_url=None):
    extra = ["--mail-worker", "off", "--access-log", "off"]
    if read_url:
        extra += ["--db-read", read_url]
    s = Server(extra_args=extra)
    s.db = db
    s.start()
    return s


PLAIN = "BEGIN;\nINSERT INTO bench_commit (v) VALUES (1);\nCOMMIT;\n"
WITH_LSN = ("BEGIN;\nINSERT INTO bench_commit (v) VALUES (1);\n"
            "COMMIT\\; SELECT pg_current_wal_insert_lsn();\n")


def commit_cost(p, rounds=6):
    """pgbench tps and mean latency of the two commit forms, alternating, 3 s each."""
    p.psql("CREATE TABLE bench_commit (id bigserial PRIMARY KEY, v int)", db="si")
    out = []
    for name, text in (("COMMIT", PLAIN), ("COMMIT+LSN", WITH_LSN)) * rounds:
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write(text)
        r = subprocess.run(["pgbench", "-n", "-M", "simple", "-c", "1", "-T", "3", "-f", f.name,
                            "-h", "127.0.0.1", "-p", str(p.port), "-U", "postgres", "si"],
                           check=True, capture_output=True, text=True).stdout
        os.unlink(f.name)
        lat = re.search(r"latency average = ([0-9.]+) ms", r).group(1)
        tps = re.search(r"tps = ([0-9.]+)", r).group(1)
        out.append((name, float(tps), float(lat)))
    return out


def main():
    os.environ.pop("SI_TEST_STORE_URL", None)
    p = pgcluster.primary()
    try:
        p.psql("CREATE DATABASE si")
        sb = pgcluster.standby(p, synchronous=False)
        try:
            run(p, sb)
            print("commit alone (pgbench, 1 connection, one-row insert, 3 s each, alternating):")
            runs = commit_cost(p)
            for name, tps, lat in runs:
                print("  %-11s %8.0f tps %8.3f ms mean" % (name, tps, lat))
            for name in ("COMMIT", "COMMIT+LSN"):
                lats = sorted(lat for n, _, lat in runs if n == name)
                print("  median %-11s %.3f ms" % (name, lats[len(lats) // 2]))
        finally:
            sb.remove()
    finally:
        p.remove()


def run(p, sb):
    db = "postgres://postgres@127.0.0.1:%d/si" % p.port
    read_url = "postgres://postgres@127.0.0.1:%d/si?target_session_attrs=standby" % sb.port
    a = start(db)
    t = Tenant(a, "Bench", contributor_limit=1000000)
    ids = []
    for k in range(10):
        r = t.bulk(["seed%d-%d@example.com" % (k, i) for i in range(100)])
        assert r.status == 200, r
        ids += [i["id"] for i in r.json["invites"]]
    # Fresh tables have no statistics until autovacuum's first ANALYZE (up to a minute): the
    # planner would then pair every invite with every outbox row in a query.
    p.psql("ANALYZE", db="si")
    values = tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False)
    values.write("\n".join(ids) + "\n")
    values.close()
    query = json.dumps({"query": {"filter": {"status": "Pending"}, "cursorPaging": {"limit": 10}}})
    create = json.dumps({"email": "c{{N}}@example.com", "policyIds": [ROLE_BLOG_WRITER]})
    b = start(db, read_url)
    rows = []
    seq = 0
    try:
        for name, srv in (("A", a), ("B", b), ("A", a), ("B", b)):
            g = loadgen(srv, t, "/invites/site-invite/{{V}}", values=values.name)
            q = loadgen(srv, t, "/invites/site-invite/query", "POST", query)
            rows.append(("get", name, g))
            rows.append(("query", name, q))
        for name, srv in (("A", a), ("B", b), ("A", a), ("B", b)):
            seq += 10000000
            rows.append(("create", name, loadgen(srv, t, "/invites/site-invite", "POST",
                                                 create, seq=seq)))
        reads = metric_lines(b, "siteinvites_db_read")
    finally:
        b.close()
        a.close()
        os.unlink(values.name)
    print("loaded machine: 2 cores shared by primary, standby, serve and loadgen; %g s runs, "
          "%d connections; A = --db only, B = --db-read on the standby" % (SECONDS, CONNS))
    print("%-7s %-2s %10s %9s %9s %9s" % ("bench", "", "req/s", "p50 ms", "p99 ms", "non-2xx"))
    for bench, name, r in rows:
        print("%-7s %-2s %10.0f %9.2f %9.2f %9d" % (bench, name, r["rps"], r["p50_us"] / 1000,
                                                    r["p99_us"] / 1000, r["non2xx"]))
    print("B's /metrics at the end:")
    for line in reads:
        print("  " + line)


if __name__ == "__main__":
    main()
