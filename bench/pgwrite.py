#!/usr/bin/env python3
"""Where a write goes on PostgreSQL (docs/SCALING.md "PostgreSQL write path today"), in
load-insensitive units: statements per request (pg_stat_statements calls), commits and WAL
flushes per request (pg_stat_database xact_commit, pg_stat_wal wal_sync), server time per
statement, for Create One Invite and for Bulk Invite of 1,000 new addresses; then the buffers
(EXPLAIN ANALYZE, BUFFERS) of a Query Invites page at 10,000 invites. Then, as context only, a
creates/s run at 32 in flight (bench/loadgen).

Usage: SI_BIN=build/siteinvites python3 bench/pgwrite.py [creates] [loadgen seconds, 0 = none]
Before the bulk calls the site gets PGWRITE_BULK_SEED (10) bulks of 1,000 and the database an
ANALYZE, as autovacuum gives a database in use; PGWRITE_BULK_SEED=0 measures a fresh table.
PGWRITE_PG_OPTS adds server settings ("-c wal_buffers=64MB") to try a tuning; PGWRITE_SQL runs
SQL on the migrated database before anything is measured ("DROP INDEX ...") to try a schema.
The cluster is pgcluster.py's (fsync off, synchronous_commit on) plus pg_stat_statements.
Everything shares the machine's cores: say "loaded machine" next to any wall-clock figure."""
import http.client
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import pgcluster  # noqa: E402
from sitest import ROLE_BLOG_WRITER, Server, Tenant  # noqa: E402

CREATES = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 0
BULK_SEED = int(os.environ.get("PGWRITE_BULK_SEED", "10"))  # bulks of 1,000 before ANALYZE
LOADGEN = os.environ.get("LOADGEN", os.path.join(os.path.dirname(os.environ.get(
    "SI_BIN", "build/siteinvites")), "loadgen"))


class StatCluster(pgcluster.Cluster):
    def opts(self):
        # fsync on (unlike the test clusters) so that pg_stat_wal counts WAL flushes.
        return super().opts().replace("fsync=off", "fsync=on") + (
            " -c shared_preload_libraries=pg_stat_statements,auto_explain"
            " -c pg_stat_statements.track=all -c auto_explain.log_analyze=on"
            " -c auto_explain.log_buffers=on -c auto_explain.log_timing=off"
            " " + os.environ.get("PGWRITE_PG_OPTS", ""))


def reset(p):
    # Backends flush their commit and WAL counters when idle, up to 10 s late (PostgreSQL 15):
    # wait that out so the previous phase's counts do not land in this one.
    time.sleep(11)
    p.psql("SELECT pg_stat_statements_reset(), pg_stat_reset(), pg_stat_reset_shared('wal')",
           db="si")


def counters(p, settle=False):
    if settle:
        time.sleep(11)
    row = p.psql("SELECT d.xact_commit, w.wal_sync, w.wal_write, w.wal_records"
                 " FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = 'si'", db="si")
    return [int(x) for x in row.split("|")]


def report(p, what, n, before):
    after = counters(p, settle=True)
    # The psql sessions reading the counters commit too: about one per read, noise next to n.
    d = [a - b for a, b in zip(after, before)]
    rows = p.psql("SELECT calls, round(total_exec_time::numeric, 2), rows,"
                  " shared_blks_hit + shared_blks_read, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)"
                  " FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'"
                  " AND dbid = (SELECT oid FROM pg_database WHERE datname = 'si')"
                  " ORDER BY calls DESC, total_exec_time DESC", db="si")
    total_calls = 0
    total_ms = 0.0
    lines = []
    for line in rows.splitlines():
        calls, ms, nrows, blks, q = line.split("|", 4)
        total_calls += int(calls)
        total_ms += float(ms)
        lines.append("  %7.2f %9.3f %9.1f %8.1f  %s" % (int(calls) / n, float(ms) / n,
                                                    int(nrows) / n, int(blks) / n, q))
    print("== %s: %d requests; per request: %.2f statements, %.3f ms server time,"
          " %.2f commits, %.2f WAL syncs, %.2f WAL writes, %.1f WAL records"
          % (what, n, total_calls / n, total_ms / n, d[0] / n, d[1] / n, d[2] / n, d[3] / n))
    print("  %7s %9s %9s %8s  %s" % ("calls", "ms", "rows", "buffers", "statement"))
    for line in lines:
        print(line)


def query_plan(p, s, t, q):
    """Runs one Query Invites call with auto_explain on and returns the plan PostgreSQL logged
    for the page's statement (EXPLAIN ANALYZE, BUFFERS form)."""
    with open(p.log) as f:
        f.seek(0, 2)
        start = f.tell()
    p.psql("ALTER SYSTEM SET auto_explain.log_min_duration = 0")
    p.psql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=600)
    conn.request("POST", "/invites/site-invite/query", json.dumps(q),
                 dict(t.headers(), **{"Content-Type": "application/json"}))
    assert conn.getresponse().status == 200
    conn.close()
    p.psql("ALTER SYSTEM SET auto_explain.log_min_duration = -1")
    p.psql("SELECT pg_reload_conf()")
    with open(p.log) as f:
        f.seek(start)
        text = f.read()
    plan = text[text.find("Query Text: SELECT i.id"):]
    return plan[plan.find("\n") + 1:].split(" LOG: ")[0].rsplit("\n", 1)[0]


def main():
    os.environ.pop("SI_TEST_STORE_URL", None)
    p = StatCluster("primary").init().start()
    try:
        p.psql("CREATE DATABASE si")
        p.psql("CREATE EXTENSION pg_stat_statements", db="si")
        run(p)
    finally:
        p.remove()


def run(p):
    db = "postgres://postgres@127.0.0.1:%d/si" % p.port
    # PGWRITE_MAIL=on: the mail worker runs (the default serve), so its claims and marks count.
    s = Server(extra_args=["--mail-worker", os.environ.get("PGWRITE_MAIL", "off"),
                           "--access-log", "off"])
    s.db = db
    s.start()
    try:
        if os.environ.get("PGWRITE_SQL"):  # after the server's migration: try a schema change
            p.psql(os.environ["PGWRITE_SQL"], db="si")
        print("synchronous_commit=%s fsync=%s max_connections=%s; serve pool: see PG_POOL_MAX"
              % (p.psql("SHOW synchronous_commit"), p.psql("SHOW fsync"),
                 p.psql("SHOW max_connections")))
        t = Tenant(s, "Bench", contributor_limit=1000000)
        for i in range(20):  # warm: every pooled statement prepared
            assert t.call("POST", "/invites/site-invite", {"email": "w%d@example.com" % i,
                          "policyIds": [ROLE_BLOG_WRITER]}).status == 200
        reset(p)
        before = counters(p)
        for i in range(CREATES):
            r = t.call("POST", "/invites/site-invite", {"email": "c%d@example.com" % i,
                       "policyIds": [ROLE_BLOG_WRITER]})
            assert r.status == 200, r
        report(p, "Create One Invite", CREATES, before)
        bulks = 5
        # A database in use has statistics (autovacuum analyzes a table within a minute of a 10 %
        # change); a fresh one has none, and the plan of the bulk's pending lookup depends on
        # them (docs/SCALING.md, "PostgreSQL write path today"). Seed the site, then ANALYZE.
        for k in range(BULK_SEED):
            assert t.bulk(["s%d-%d@example.com" % (k, i) for i in range(1000)]).status == 200
        if BULK_SEED:
            p.psql("ANALYZE", db="si")
        reset(p)
        before = counters(p)
        for k in range(bulks):
            r = t.bulk(["b%d-%d@example.com" % (k, i) for i in range(1000)])
            assert r.status == 200, r
        report(p, "Bulk Invite of 1,000", bulks, before)
        for k in range(5):
            assert t.bulk(["q%d-%d@example.com" % (k, i) for i in range(1000)]).status == 200
        n = int(p.psql("SELECT count(*) FROM invites", db="si"))
        q = {"query": {"filter": {"status": "Pending"}, "cursorPaging": {"limit": 10}}}
        # PGWRITE_ANALYZED=1 skips the page before ANALYZE (the form before the LATERAL fix paired
        # every invite with every outbox row there: it does not finish in minutes at 10,000).
        phases = (("after ANALYZE", True),) if os.environ.get("PGWRITE_ANALYZED") else (
            ("before ANALYZE", False), ("after ANALYZE", True))
        for label, analyze in phases:
            if analyze:
                p.psql("ANALYZE", db="si")
            print("== Query Invites (status Pending, 10 a page) at %d invites, %s:" % (n, label))
            print(query_plan(p, s, t, q))
        if SECONDS > 0:
            body = json.dumps({"email": "l{{N}}@example.com", "policyIds": [ROLE_BLOG_WRITER]})
            args = [LOADGEN, "-u", "http://127.0.0.1:%d/invites/site-invite" % s.port, "-X",
                    "POST", "-H", "Authorization: " + t.key, "-H", "wix-site-id: " + t.site_id,
                    "-H", "Content-Type: application/json", "-b", body, "-c", "32", "-d",
                    str(SECONDS), "-W", "50", "-s", "5000000", "-j"]
            reset(p)
            before = counters(p)
            out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print("== creates at 32 in flight, %g s (loaded machine): %.0f req/s, p50 %.2f ms,"
                  " p99 %.2f ms, non-2xx %d" % (SECONDS, r["rps"], r["p50_us"] / 1000,
                                                r["p99_us"] / 1000, r["non2xx"]))
            report(p, "the loadgen run", max(1, int(r["rps"] * SECONDS)), before)
            waits = p.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'si'", db="si")
            print("  connections from serve at the end: %s" % waits)
    finally:
        s.close()


if __name__ == "__main__":
    main()
