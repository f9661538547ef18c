#!/usr/bin/env python3
"""What each part of the invites insert costs on PostgreSQL (issue 14, docs/SCALING.md "Foreign
keys on the write path"): a fresh cluster (fsync on), `serve` migrates a database and writes
--seed bulks of 1,000 invites into one site, then `ANALYZE`; each round runs, per variant, one
1,000-row insert shaped like the bulk's (`EXPLAIN (ANALYZE, TIMING OFF)`, its Execution Time)
inside a transaction that first drops one index or disables the per-day counts trigger, and
rolls back; a VACUUM then removes the rolled-back rows. Variants run interleaved, so the
machine's drift falls on all of them alike; the medians are printed. The rows are made by generate_series, not sent as arrays: bind-time
parsing and the client are not in these figures.

Usage: python3 bench/pginsert.py [--rounds N] [--seed B] build/siteinvites
Everything shares the machine's cores: say "loaded machine" next to any figure."""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
from pgcreates import DurableCluster, fresh_server, seed  # noqa: E402

INDEXES = ("invites_site_email", "invites_site_created", "invites_site_pending",
           "invites_site_status_id", "invites_pending_expires")
# Round r's rows get IDs and addresses of their own; the invite ID is a v7 GUID after the seed's.
INSERT = (
    "INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id, status,"
    " accepted_by, created_ms, updated_ms, expires_ms, last_sent_ms, staff_id, purpose, language,"
    " send_count, location_ids) SELECT 'fff0%04x-0000-7000-8000-' || lpad(to_hex(g), 12, '0'),"
    " '{site}', 'z{r}-' || md5(g::text) || '@example.com', 'z{r}-' || md5(g::text) ||"
    " '@example.com', 'p', 'acct', 'Pending', '', 1796000000000 + g, 1796000000000 + g,"
    " 1799000000000 + g, 0, '', NULL, '', 0, '' FROM generate_series(1, 1000) g")


def variants():
    out = {"the insert as it runs": "",
           "without the per-day counts trigger":
               "ALTER TABLE invites DISABLE TRIGGER invites_day_counts_insert;"}
    for ix in INDEXES:
        out["without " + ix] = "DROP INDEX %s;" % ix
    out["without all five indexes and the trigger"] = (
        out["without the per-day counts trigger"] + "".join("DROP INDEX %s;" % i for i in INDEXES))
    return out


def execution_ms(url, pre, sql):
    out = subprocess.run(["psql", "-qAtX", url, "-c", "BEGIN; %s EXPLAIN (ANALYZE, TIMING OFF)"
                          " %s; ROLLBACK;" % (pre, sql)], capture_output=True, text=True,
                         check=True).stdout
    return next(float(l.split(":")[1].split()[0]) for l in out.splitlines()
                if l.startswith("Execution Time"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("binary")
    a = ap.parse_args()
    os.environ.pop("SI_TEST_STORE_URL", None)
    cluster = DurableCluster("primary").init().start()
    try:
        s = fresh_server(cluster, "si", os.path.abspath(a.binary), "off")
        try:
            seed(cluster, "si", s, "", a.seed, "w")
        finally:
            s.close()
        cluster.psql("ANALYZE", db="si")
        site = cluster.psql("SELECT site_id FROM invites LIMIT 1", db="si").strip()
        got = {k: [] for k in variants()}
        for r in range(a.rounds):
            sql = INSERT.format(site=site, r=r) % r
            for name, pre in variants().items():
                got[name].append(execution_ms(cluster.url("si"), pre, sql))
                # The rolled-back rows stay in the heap and the indexes until a vacuum; left
                # there, every later insert would work around them.
                cluster.psql("VACUUM invites", db="si")
        base = statistics.median(got["the insert as it runs"])
        print("1,000-row invites insert at %d invites, %d rounds (ms, median; difference)"
              % (a.seed * 1000, a.rounds))
        for name, ms in got.items():
            m = statistics.median(ms)
            print("  %-44s %6.2f  %+6.2f" % (name, m, m - base))
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()
