#!/usr/bin/env python3
"""What a text key in the cluster's default collation costs (issue 14; docs/SCALING.md,
"Collation of the text keys"). On a cluster made with en_US.UTF-8, the usual locale of a
distribution's server, two tables shaped like the outbox's `(invite_id, id)` index, one key
`COLLATE "C"` (what PostgreSQL schema version 19 gives every key), one in the default
collation (what outbox.invite_id, contributors.site_id and five more were before it). Each
starts with 20,000 rows; then, alternating between the two so that the machine's drift falls on
both alike, inserts of the same 1,000 random UUIDs (a bulk's outbox rows, the keys made before
the round) and 1,000 lookups of them (the latest outbox row of each invite a page reads), each
timed by the server (EXPLAIN ANALYZE, no per-node timing). Prints the median and the spread.

Usage: python3 bench/pgcollation.py [rounds]   (needs the en_US.UTF-8 locale: see below)"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
os.environ["SI_PG_LOCALE"] = os.environ.get("SI_PG_LOCALE", "en_US.UTF-8")
import pgcluster  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
SEED = 20000


def have_locale(name):
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    return name.lower().replace("utf-8", "utf8") in out.split()


def server_ms(p, sql):
    plan = json.loads(p.psql("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql))
    return plan[0]["Execution Time"]


def main():
    locale = os.environ["SI_PG_LOCALE"]
    if not have_locale(locale):
        sys.exit("pgcollation: no %s locale here; as root: sed -i 's/^# *%s/%s/' "
                 "/etc/locale.gen && locale-gen" % (locale, locale, locale))
    p = pgcluster.Cluster("collation").init().start()
    try:
        run(p, locale)
    finally:
        p.remove()


def run(p, locale):
    tables = {"default": "", "C": ' COLLATE "C"'}
    for name, coll in tables.items():
        t = "k_" + name.lower()
        p.psql("CREATE TABLE %s (invite_id text%s NOT NULL, id bigint GENERATED ALWAYS AS"
               " IDENTITY); CREATE INDEX ON %s (invite_id, id);"
               " INSERT INTO %s (invite_id) SELECT gen_random_uuid()::text"
               " FROM generate_series(1, %d)" % (t, coll, t, t, SEED))
        p.psql("VACUUM ANALYZE " + t)  # a statement of its own: not in a transaction block
    times = {(n, op): [] for n in tables for op in ("insert", "lookup")}
    # The keys of a round are made before it, the same for both tables: only the index differs.
    p.psql('CREATE TABLE keys (round int, k_default text, k_c text COLLATE "C");'
           " INSERT INTO keys SELECT r, g.u, g.u FROM generate_series(1, %d) r,"
           " LATERAL (SELECT gen_random_uuid()::text AS u, r AS of FROM generate_series(1, 1000)) g;"
           " CREATE INDEX ON keys (round)" % ROUNDS)
    p.psql("VACUUM ANALYZE keys")
    for r in range(1, ROUNDS + 1):
        for name in tables:
            t = "k_" + name.lower()
            times[(name, "insert")].append(server_ms(
                p, "INSERT INTO %s (invite_id) SELECT %s FROM keys WHERE round = %d" % (t, t, r)))
            times[(name, "lookup")].append(server_ms(
                p, "SELECT (SELECT x.id FROM %s x WHERE x.invite_id = k.%s"
                   " ORDER BY x.id DESC LIMIT 1) FROM keys k WHERE round = %d" % (t, t, r)))
    print("cluster locale %s, %d rounds, tables of %d to %d rows; ms per 1,000 (server time)"
          % (locale, ROUNDS, SEED, SEED + ROUNDS * 1000))
    print("%-10s %-8s %8s %8s %8s" % ("key", "op", "median", "min", "max"))
    for (name, op), v in times.items():
        print("%-10s %-8s %8.2f %8.2f %8.2f" % (name, op, statistics.median(v), min(v), max(v)))


if __name__ == "__main__":
    main()
