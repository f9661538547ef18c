#!/usr/bin/env python3
"""Creates at 32 in flight on PostgreSQL, sustained, with the default serve (mail worker on,
access log off), builds interleaved round by round (issue 14, docs/SCALING.md). Each round gets a
fresh database on one cluster with fsync and synchronous_commit on, as a deployment runs, and
pg_stat_statements; the site is seeded with --seed bulks of 1,000 and the database analyzed (as
autovacuum gives a database in use), then Create One Invite runs for --seconds. Printed per
build and round: creates/s, p50 and p99, CPU per create of serve and of every PostgreSQL process
(from /proc, over the run), and the statements that took the most server time per create.

Usage: python3 bench/pgcreates.py [--rounds N] [--seconds S] [--seed B] [--top K] [--mail off]
         [--no-analyze] [--new-site]
         before=OLD/siteinvites after=build/siteinvites "tried=build/siteinvites::ALTER TABLE ..."
A build's "::SQL" runs on its databases after the server's migration, before the seed, to try a
schema change or a setting against the same binary. PGCREATES_PG_OPTS adds server settings,
e.g. "-c auto_explain.log_min_duration=0 -c auto_explain.sample_rate=0.01 -c
auto_explain.log_analyze=on -c auto_explain.log_buffers=on" to see plans under the load (in the
cluster's server.log, kept with PGCREATES_KEEP=1).
Everything shares the machine's cores: say "loaded machine" next to any figure."""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import pgcluster  # noqa: E402
from benchlib import tenant_load  # noqa: E402
from pgauth import cpu_s, postgres_pids  # noqa: E402
from sitest import ROLE_BLOG_WRITER, Server, Tenant  # noqa: E402

CONNS = 32


class DurableCluster(pgcluster.Cluster):
    def opts(self):
        return super().opts().replace("fsync=off", "fsync=on") + (
            " -c shared_preload_libraries=pg_stat_statements,auto_explain"
            " -c pg_stat_statements.track=all " + os.environ.get("PGCREATES_PG_OPTS", ""))


def top_statements(cluster, db, creates, k):
    rows = cluster.psql(
        "SELECT round((total_exec_time / %d * 1000)::numeric, 1), round(calls::numeric / %d, 3),"
        " round(shared_blks_hit::numeric / greatest(calls, 1)), left(regexp_replace(query,"
        " '\\s+', ' ', 'g'), 90) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT %d"
        % (creates, creates, k), db=db)
    return rows.splitlines()


def fresh_server(cluster, db, binary, mail):
    """A new database db with pg_stat_statements, and serve (access log off) started on it."""
    cluster.psql("CREATE DATABASE %s" % db)
    cluster.psql("CREATE EXTENSION pg_stat_statements", db=db)
    os.environ["SI_BIN"] = binary
    s = Server(extra_args=["--access-log", "off", "--mail-worker", mail])
    s.db = cluster.url(db)
    s.start()
    return s


def seed(cluster, db, s, sql, bulks, prefix):
    """Runs sql (a build's "::SQL") on db, then bulks bulks of 1,000 new addresses through s;
    returns the tenant."""
    if sql:
        cluster.psql(sql, db=db)
    t = Tenant(s, "Bench", contributor_limit=1000000)
    for k in range(bulks):
        r = t.bulk(["%s%d-%d@example.com" % (prefix, k, i) for i in range(1000)])
        assert r.status == 200, r
    return t


def one_round(cluster, name, binary, sql, a, rnd):
    db = "si_%s_%d" % (name, rnd)
    s = fresh_server(cluster, db, binary, a.mail)
    try:
        t = seed(cluster, db, s, sql, a.seed, "seed")
        if a.analyze:
            cluster.psql("ANALYZE", db=db)
        if a.new_site:  # as bench/run.sh's create runs: a site of its own, after the seed
            t = t.for_site(t.add_site("Creates", 1000000, None))
        cluster.psql("SELECT pg_stat_statements_reset()", db=db)
        body = json.dumps({"email": "c{{N}}@example.com", "policyIds": [ROLE_BLOG_WRITER]})
        s0, p0 = cpu_s([s.proc.pid]), cpu_s(postgres_pids(cluster))
        gen = os.path.join(os.path.dirname(binary), "loadgen")
        r = tenant_load(gen, s.port, t, "/invites/site-invite", a.seconds, conns=CONNS,
                        method="POST", body=body)
        s1, p1 = cpu_s([s.proc.pid]), cpu_s(postgres_pids(cluster))
        n = r["requests"] + r.get("warmup", 500)
        print("%-8s %5d %9.0f %7.2f %7.2f %12.1f %12.1f" % (
            name, rnd + 1, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000,
            (s1 - s0) * 1e6 / n, (p1 - p0) * 1e6 / n), flush=True)
        for line in top_statements(cluster, db, n, a.top):
            print("    " + line.replace("|", "  "), flush=True)
    finally:
        s.close()
        cluster.psql("DROP DATABASE %s WITH (FORCE)" % db)


def parse_build(spec):
    """name=path/to/siteinvites[::SQL] -> (name, path, SQL or "")."""
    name, rest = spec.split("=", 1)
    binary, _, sql = rest.partition("::")
    return name, binary, sql


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--new-site", action="store_true",
                    help="the creates go to a new site, not the seeded one")
    ap.add_argument("--no-analyze", dest="analyze", action="store_false",
                    help="no ANALYZE after the seed: a young table, as a new database has")
    ap.add_argument("--mail", choices=("on", "off"), default="on",
                    help="the mail worker (on: the default serve)")

    ap.add_argument("builds", nargs="+", help="name=path/to/siteinvites[::SQL run on each"
                    " database after the server's migration, before the seed]")
    a = ap.parse_args()
    header = ("%-8s %5s %9s %7s %7s %12s %12s" % ("build", "round", "creates/s", "p50 ms",
                                                  "p99 ms", "serve CPU µs", "PG CPU µs"),
              "    (statements: server µs per create, calls per create, buffers per call, text)")
    run_rounds(a, header, one_round)


def run_rounds(a, header, round_fn):
    """On one fresh cluster, prints the header lines, then runs round_fn(cluster, name, binary,
    sql, a, rnd) for each of a.rounds rounds and each of a.builds, builds interleaved; removes the
    cluster after (PGCREATES_KEEP=1 keeps it stopped, with its log)."""
    builds = [parse_build(b) for b in a.builds]
    os.environ.pop("SI_TEST_STORE_URL", None)
    cluster = DurableCluster("primary").init().start()
    try:
        for line in header:
            print(line)
        for rnd in range(a.rounds):
            for name, binary, sql in builds:
                round_fn(cluster, name, os.path.abspath(binary), sql, a, rnd)
    finally:
        if os.environ.get("PGCREATES_KEEP") == "1":
            cluster.stop()
            print("cluster kept in %s" % cluster.root)
        else:
            cluster.remove()


if __name__ == "__main__":
    main()
