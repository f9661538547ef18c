#!/usr/bin/env python3
"""The mail worker alone on PostgreSQL: what it costs to send one queued email (issue 14,
docs/SCALING.md "The mail worker's claim on PostgreSQL"). Each round gets a fresh database on a
cluster with fsync and synchronous_commit on and pg_stat_statements; `serve --mail-worker off`
queues --bulks bulks of 1,000 invites, then `serve` restarts with the worker on (the default) and
drains the outbox into its Maildir with nothing else running. Printed per build and round: emails/s
of the drain, CPU per email of serve and of every PostgreSQL process (from /proc, over the drain),
the outbox table's size per row after it, and the statements that took the most server time per
email. Unlike creates under load (bench/pgcreates.py), no request competes, so PostgreSQL's CPU
per email tells builds apart by a few percent; the drain's rate and serve's CPU swing between
rounds with the file system's state after the previous round's files were deleted.

Usage: python3 bench/pgmail.py [--rounds N] [--bulks B] [--top K]
         before=OLD/siteinvites after=build/siteinvites "tried=build/siteinvites::SQL"
A build's "::SQL" runs on its databases after the server's migration, before the queueing.
Everything shares the machine's cores: say "loaded machine" next to any figure."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
from pgauth import cpu_by_pid, cpu_s, postgres_pids  # noqa: E402
from pgcreates import fresh_server, run_rounds, seed, top_statements  # noqa: E402


def queued(cluster, db):
    return int(cluster.psql("SELECT count(*) FROM outbox WHERE status = 'Queued'", db=db))


def drain(cluster, db, s, limit_s=300):
    """Restarts s with the worker on; returns (seconds, serve CPU s, PostgreSQL CPU s). The
    PostgreSQL figure is per process (a backend of the stopped server ends, a new one starts):
    what each process running at the end used since the start, or since it began."""
    s.extra_args[s.extra_args.index("--mail-worker") + 1] = "on"
    s.stop()
    p0 = cpu_by_pid(postgres_pids(cluster))
    t0 = time.monotonic()
    s.start()
    while queued(cluster, db) > 0:
        if time.monotonic() - t0 > limit_s:
            raise SystemExit("the outbox did not drain within %d s" % limit_s)
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    p1 = cpu_by_pid(postgres_pids(cluster))
    return seconds, cpu_s([s.proc.pid]), sum(v - p0.get(pid, 0) for pid, v in p1.items())


def one_round(cluster, name, binary, sql, a, rnd):
    db = "si_mail_%s_%d" % (name, rnd)
    s = fresh_server(cluster, db, binary, "off")
    try:
        seed(cluster, db, s, sql, a.bulks, "m")
        cluster.psql("ANALYZE", db=db)
        n = queued(cluster, db)
        assert n == a.bulks * 1000, n
        cluster.psql("SELECT pg_stat_statements_reset()", db=db)
        seconds, serve_s, pg_s = drain(cluster, db, s)
        size = int(cluster.psql("SELECT pg_relation_size('outbox')", db=db))
        files = len(os.listdir(os.path.join(s.mail_dir, "new")))
        assert files >= n, (files, n)
        print("%-8s %5d %8d %9.0f %14.1f %12.1f %14.0f" % (
            name, rnd + 1, n, n / seconds, serve_s * 1e6 / n, pg_s * 1e6 / n, size / n),
            flush=True)
        for line in top_statements(cluster, db, n, a.top):
            print("    " + line.replace("|", "  "), flush=True)
    finally:
        s.close()
        cluster.psql("DROP DATABASE %s WITH (FORCE)" % db)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--bulks", type=int, default=30)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("builds", nargs="+", help="name=path/to/siteinvites[::SQL]")
    a = ap.parse_args()
    header = ("%-8s %5s %8s %9s %14s %12s %14s" % ("build", "round", "emails", "emails/s",
                                                   "serve CPU µs", "PG CPU µs", "outbox B/row"),
              "    (statements: server µs per email, calls per email, buffers per call, text)")
    run_rounds(a, header, one_round)

if __name__ == "__main__":
    main()
