#!/usr/bin/env python3
"""Data at scale (issue 14): 10^7 invites in one SQLite file or one PostgreSQL database.

Fills one account through `siteinvites serve` (mail worker off: mail is queued, so only the
store's work is timed; every invite keeps its queued outbox row and its audit entry, as a real
database does) and prints, at about 10^4 invites and again at the full size:
  - start-up time of `serve` (exec to its `listening` line, median of 3);
  - Query Invites, first page of 100 Pending, one connection: in a site of 10^4 invites (the same
    site both times) and, at full size, in a site of 980,000;
  - Bulk Invite of 1,000 new addresses, one connection: into an empty site, and at full size
    into an empty site and into a site of 980,000;
then at full size bytes per invite, the size of every table and index, and the backup time
(SQLite: `siteinvites backup`; PostgreSQL: `pg_dump -Fc` and `pg_basebackup`). With --pg and
--partitions N (16), it copies invites into a table hash-partitioned by site_id and times the
queries a partition helps or hurts (EXPLAIN ANALYZE, SQL written here to match the store's).

    SI_BIN=build/siteinvites python3 bench/scale_db.py [--pg] [--total 10000000]

Sites hold at most 10^6 seats, so the big sites take 980,000 each (room for the bulk probe).
The seeding runs --parallel (2) loadgen clients on different sites. TMPDIR picks the disk.
Figures depend on the machine: say "loaded machine" next to any taken on a shared one."""

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import benchlib  # noqa: E402  (beside this file)

BIN = os.environ.get("SI_BIN", "build/siteinvites")
LOADGEN = os.environ.get("LOADGEN", os.path.join(os.path.dirname(BIN), "loadgen"))
ROLE_ADMIN = "6732588207941061632"
SMALL = 10_000  # the small site, measured at both sizes
BIG = 980_000  # a big site (--big): the seat cap (10^6) minus room for the bulk probe
PROBE_CALLS, WARMUP = 10, 2
QUERY_CALLS = 50
# What each figure at full size is compared with at ~10^4 invites.
BASELINE = {"query small site": "query small site", "query big site": "query small site",
            "bulk into empty site": "bulk into empty site",
            "bulk into big site": "bulk into empty site"}
PAGE = '{"query":{"filter":{"status":"Pending"},"cursorPaging":{"limit":100}}}'


def log(*a):
    print("scale_db:", *a, file=sys.stderr, flush=True)


def Serve(db, tmp):
    """serve on db, mail worker off (benchlib.Serve)."""
    return benchlib.Serve(BIN, db, tmp, os.path.join(tmp, "mail"), os.path.join(tmp, "serve.log"),
                          worker=False)


def cli(db, *args):
    return benchlib.cli(BIN, db, *args)


def loadgen_cmd(port, path, key, site, n, seq, label, body=None, body_file=None, warmup=0):
    cmd = [LOADGEN, "-u", "http://127.0.0.1:%d%s" % (port, path), "-H", "Authorization: " + key,
           "-H", "wix-site-id: " + site, "-H", "Content-Type: application/json", "-c", "1",
           "-n", str(n), "-W", str(warmup), "-s", str(seq), "-t", "600", "-j", "-l",
           label.replace(" ", "_")]
    return cmd + (["-B", body_file] if body_file else ["-b", body])


def run_loadgen(cmd):
    out = json.loads(subprocess.check_output(cmd))
    if out["non2xx"] or out["errors"]:
        raise SystemExit("loadgen %s: %d non-2xx, %d errors" % (out["label"], out["non2xx"],
                                                               out["errors"]))
    return out


class Filler:
    """The account, its sites and key; bulk bodies with fresh addresses per call."""

    def __init__(self, db, tmp):
        self.db, self.tmp, self.seq = db, tmp, 0
        self.account = cli(db, "account", "create", "--name", "Scale",
                           "--email", "scale@example.com")["id"]
        self.key = cli(db, "key", "create", "--account", self.account)["key"]
        self.body = os.path.join(tmp, "bulk1000.json")
        emails = ["s{{N}}.%d@scale.example.com" % i for i in range(1000)]
        with open(self.body, "w") as f:
            json.dump({"policyIds": [ROLE_ADMIN], "emails": emails}, f)

    def site(self, name, limit=1_000_000):
        return cli(self.db, "site", "create", "--account", self.account, "--name", name,
                   "--contributor-limit", str(limit))["id"]

    def bulk_cmd(self, port, site, calls, label, warmup=0):
        cmd = loadgen_cmd(port, "/invites/site-invite/bulk", self.key, site, calls + warmup,
                          self.seq, label, body_file=self.body, warmup=warmup)
        self.seq += 10_000_000  # every address of the run is new
        return cmd

    def fill(self, port, sites, per_site, parallel):
        """per_site invites into each site, `parallel` sites at a time."""
        pending = list(sites)
        t0 = time.monotonic()
        while pending:
            batch, pending = pending[:parallel], pending[parallel:]
            procs = [subprocess.Popen(self.bulk_cmd(port, s, per_site // 1000, "fill"),
                                      stdout=subprocess.PIPE) for s in batch]
            for p in procs:
                out, _ = p.communicate()
                r = json.loads(out)
                if p.returncode or r["non2xx"] or r["errors"]:
                    raise SystemExit("fill failed: %s" % out[:300])
            log("filled %d sites of %d, %.0f s" % (len(sites) - len(pending), len(sites),
                                                   time.monotonic() - t0))
        return time.monotonic() - t0


def ms(us):
    return us / 1000.0


def measure(db, tmp, filler, sites, label):
    """Start-up (median of 3), then the query pages and bulk probes of `sites`
    (name -> (site, kind)), kind 'query' or 'bulk'."""
    starts = []
    for _ in range(3):
        s = Serve(db, tmp)
        starts.append(s.start_s)
        s.stop()
    s = Serve(db, tmp)
    res = {"startup_ms": statistics.median(starts) * 1000, "rows": {}}
    try:
        for name, (site, kind) in sites.items():
            if kind == "query":
                r = run_loadgen(loadgen_cmd(s.port, "/invites/site-invite/query", filler.key,
                                            site, QUERY_CALLS + WARMUP, 0, name, body=PAGE,
                                            warmup=WARMUP))
            else:
                r = run_loadgen(filler.bulk_cmd(s.port, site, PROBE_CALLS, name, WARMUP))
            res["rows"][name] = (ms(r["p50_us"]), ms(r["p99_us"]))
            log("%s %s: p50 %.2f ms, p99 %.2f ms" % (label, name, ms(r["p50_us"]),
                                                   ms(r["p99_us"])))
    finally:
        s.stop()
    return res


# --- sizes and backups ---------------------------------------------------------------------


def sqlite_sizes(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"
                       " ORDER BY 2 DESC").fetchall()
    owner = dict(con.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
    con.close()
    return [(n, owner.get(n, n), b) for n, b in rows]


def timed(cmd, **kw):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, **kw)
    return time.monotonic() - t0


def sqlite_backup(db, tmp):
    out = os.path.join(tmp, "backup.db")
    secs = timed([BIN, "backup", "--to", out, "--db", db])
    size = os.path.getsize(out)
    os.unlink(out)
    return [("siteinvites backup", secs, size)]


def pg_sizes(cluster):
    q = ("SELECT c.relname, coalesce(t.relname, c.relname), pg_relation_size(c.oid)"
         " FROM pg_class c LEFT JOIN pg_index x ON x.indexrelid = c.oid"
         " LEFT JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
         " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 3 DESC")
    rows = [r.split("|") for r in cluster.psql(q, db="si").splitlines()]
    return [(a, b, int(c)) for a, b, c in rows]


def pg_backup(cluster, tmp):
    dump = os.path.join(tmp, "si.dump")
    t_dump = timed(["pg_dump", "-Fc", "-f", dump, cluster.url("si")])
    dump_size = os.path.getsize(dump)
    os.unlink(dump)
    base = os.path.join(tmp, "base")
    t_base = timed(["/usr/lib/postgresql/15/bin/pg_basebackup", "-h", "127.0.0.1", "-p",
                    str(cluster.port), "-U", "postgres", "-D", base, "-X", "stream", "-c", "fast"])
    base_size = int(subprocess.check_output(["du", "-sb", base]).split()[0])
    shutil.rmtree(base)
    return [("pg_dump -Fc", t_dump, dump_size), ("pg_basebackup", t_base, base_size)]


# --- PostgreSQL hash partitions --------------------------------------------------------------


def explain_ms(cluster, sql, rounds=5):
    """Median execution time (ms) and shared buffers of EXPLAIN (ANALYZE, BUFFERS) sql; a write
    runs inside a transaction that is rolled back."""
    times, bufs = [], []
    for _ in range(rounds):
        out = cluster.psql("BEGIN; EXPLAIN (ANALYZE, BUFFERS) %s; ROLLBACK" % sql, db="si")
        times.append(float(re.search(r"Execution Time: ([\d.]+)", out).group(1)))
        top = re.search(r"Buffers: shared ([^\n]*)", out)
        bufs.append(sum(int(x) for x in re.findall(r"=(\d+)", top.group(1))) if top else 0)
    return statistics.median(times), statistics.median(bufs)


PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def store_sql(cluster, action):
    """The statements serve sends while action() runs, with their parameters put in as literals:
    (log_statement = all for the duration, read back from the server log)."""
    cluster.psql("ALTER SYSTEM SET log_statement = 'all'")  # not in one -c: no transaction
    cluster.psql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    start = os.path.getsize(cluster.log)
    try:
        action()
    finally:
        cluster.psql("ALTER SYSTEM RESET log_statement")
        cluster.psql("SELECT pg_reload_conf()")
    with open(cluster.log, errors="replace") as f:
        f.seek(start)
        text = f.read()
    stmts = []
    for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d )", text):
        m = re.search(r"LOG:  (?:statement|execute [^:]*): (.*?)(?:\n\S+ \S+ \S+ \[\d+\] |$)",
                      entry, re.S)
        if m:
            stmts.append([m.group(1).strip(), {}])
        d = re.search(r"DETAIL:  parameters: (.*)", entry, re.S)
        if d and stmts:
            stmts[-1][1] = {int(n): v for n, v in PARAM.findall(d.group(1))}
    out = []
    for sql, params in stmts:
        out.append(re.sub(r"\$(\d+)\b", lambda m: params.get(int(m.group(1)), m.group(0)), sql))
    return out


def pick(stmts, *needles):
    for sql in stmts:
        if all(n in sql for n in needles):
            return sql
    raise SystemExit("no statement with %s among %d" % (needles, len(stmts)))


def partition(cluster, parts, small_site, big_site, captured):
    """invites copied into invites_hp, PARTITION BY HASH (site_id), with the same indexes (a
    unique one gains site_id: PostgreSQL requires the partition key in it)."""
    idx = cluster.psql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'invites'",
                       db="si").splitlines()
    cols = cluster.psql("SELECT string_agg(format('%I %s COLLATE %I', a.attname,"
                        " format_type(a.atttypid, a.atttypmod), coalesce(co.collname, 'default'))"
                        " || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END, ', '"
                        " ORDER BY a.attnum) FROM pg_attribute a LEFT JOIN pg_collation co"
                        " ON co.oid = a.attcollation AND a.attcollation <> 0"
                        " WHERE a.attrelid = 'invites'::regclass AND a.attnum > 0"
                        " AND NOT a.attisdropped", db="si")
    cols = cols.replace(" COLLATE \"default\"", "").replace(" COLLATE default", "")
    ddl = ["CREATE TABLE invites_hp (%s) PARTITION BY HASH (site_id)" % cols]
    ddl += ["CREATE TABLE invites_hp_%d PARTITION OF invites_hp FOR VALUES WITH"
            " (MODULUS %d, REMAINDER %d)" % (i, parts, i) for i in range(parts)]
    cluster.psql("; ".join(ddl), db="si")
    t_copy = timed(["psql", "-qX", cluster.url("si"), "-c",
                    "INSERT INTO invites_hp SELECT * FROM invites"])
    changed = []
    t0 = time.monotonic()
    for line in idx:
        name, d = line.split("|", 1)
        d = d.replace(" ON public.invites ", " ON public.invites_hp ").replace(
            "INDEX %s " % name, "INDEX %s_hp " % name)
        m = re.search(r"USING btree \(([^)]*)\)", d)
        if d.startswith("CREATE UNIQUE") and "site_id" not in m.group(1).split(", "):
            plain = d.replace("CREATE UNIQUE INDEX %s_hp " % name, "CREATE INDEX %s_hp_plain "
                              % name)
            d = d.replace(m.group(0), "USING btree (site_id, %s)" % m.group(1))
            changed.append(name)
            cluster.psql(plain, db="si")  # lookups by the old key alone: one probe a partition
        cluster.psql(d, db="si")
    t_index = time.monotonic() - t0
    cluster.psql("VACUUM ANALYZE invites_hp", db="si")
    some_id = cluster.psql("SELECT id FROM invites WHERE site_id = '%s' LIMIT 1" % big_site,
                           db="si")
    # invites' first two columns are id and site_id (schema version 1).
    batch = ("(SELECT id || 'x', site_id, %s FROM invites WHERE site_id = '%s' LIMIT 1000)"
             % ("{rest}", small_site))
    rest = cluster.psql("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)"
                        " FROM pg_attribute WHERE attrelid = 'invites'::regclass AND attnum > 0"
                        " AND NOT attisdropped AND attname NOT IN ('id', 'site_id')", db="si")
    # A fresh token_salt per copied row: the unique salt index would refuse the copies.
    rest = rest.replace("token_salt", "decode(md5(random()::text), 'hex')")
    batch = batch.format(rest=rest)
    queries = [
        ("Query Invites page: small site (the store's SQL)", captured["query small"]),
        ("Query Invites page: 980,000 site (the store's SQL)", captured["query big"]),
        ("bulk pending lookup, 1,000 addresses (the store's SQL)", captured["pending"]),
        ("insert 1,000 invites into the small site", "INSERT INTO invites %s" % batch),
        ("accept link: one invite by ID alone (no site)",
         "SELECT * FROM invites WHERE id = '%s'" % some_id),
        ("accept link: by ID with its site",
         "SELECT * FROM invites WHERE id = '%s' AND site_id = '%s'" % (some_id, big_site)),
        ("expiry sweep: 1,000 oldest Pending of all sites",
         "SELECT id FROM invites WHERE status = 'Pending' ORDER BY expires_ms LIMIT 1000"),
    ]
    rows = []
    for what, sql in queries:
        a = explain_ms(cluster, sql)
        b = explain_ms(cluster, re.sub(r"(?<![\w.])invites(?!\w)", "invites_hp", sql))
        rows.append((what, a, b))
        log("partitions: %s: %.2f ms / %d buffers -> %.2f ms / %d buffers"
            % (what, a[0], a[1], b[0], b[1]))
    t_vac_all = timed(["psql", "-qX", cluster.url("si"), "-c", "VACUUM invites"])
    t_vac_one = timed(["psql", "-qX", cluster.url("si"), "-c", "VACUUM invites_hp_0"])
    return {"copy_s": t_copy, "index_s": t_index, "unique_changed": changed, "rows": rows,
            "vacuum_whole_s": t_vac_all, "vacuum_one_s": t_vac_one}


def capture(cluster, db, tmp, filler, small, big):
    """The store's SQL of a Query Invites page (small and big site) and of a bulk's pending
    lookup (1,000 new addresses into the small site)."""
    s = Serve(db, tmp)
    try:
        def query(site):
            return lambda: run_loadgen(loadgen_cmd(s.port, "/invites/site-invite/query",
                                                   filler.key, site, 1, 0, "capture", body=PAGE))
        small_q = pick(store_sql(cluster, query(small)), "FROM invites", "LIMIT")
        big_q = pick(store_sql(cluster, query(big)), "FROM invites", "LIMIT")
        bulk = store_sql(cluster, lambda: run_loadgen(filler.bulk_cmd(s.port, small, 1, "capture")))
        pending = pick(bulk, "email_key = ANY(")
    finally:
        s.stop()
    return {"query small": small_q, "query big": big_q, "pending": pending}


# --- report -----------------------------------------------------------------------------------


def mib(b):
    return b / 1048576.0


def report(args, small, full, total, fill_s, sizes, backups, parts):
    print("\nbench/scale_db.py, %s, %s, %d invites, nproc %d, mail worker off"
          % ("PostgreSQL 15" if args.pg else "SQLite", time.strftime("%Y-%m-%d %H:%M UTC",
                                                                    time.gmtime()),
             total, os.cpu_count()))
    print("fill: %.0f s (%.0f invites/s, %d loadgen clients on different sites)"
          % (fill_s, total / fill_s, args.parallel))
    print("\n| figure | at ~10^4 | at %s | ratio |" % f"{total:,}")
    print("|---|---|---|---|")
    print("| start-up (exec to listening) | %.0f ms | %.0f ms | %.2f |"
          % (small["startup_ms"], full["startup_ms"], full["startup_ms"] / small["startup_ms"]))
    for name in full["rows"]:
        base = small["rows"].get(BASELINE[name])
        fp50, fp99 = full["rows"][name]
        print("| %s p50 (p99) | %.2f (%.2f) ms | %.2f (%.2f) ms | %.2f |"
              % (name, base[0], base[1], fp50, fp99, fp50 / base[0]))
    total_b = sum(b for _, _, b in sizes)
    print("\nsize at %s invites: %.0f MiB, %.0f bytes per invite (all tables and indexes)"
          % (f"{total:,}", mib(total_b), total_b / total))
    by_table = {}
    for _, table, b in sizes:
        by_table[table] = by_table.get(table, 0) + b
    print("\n| table (with its indexes) | MiB | bytes per invite |\n|---|---|---|")
    for table, b in sorted(by_table.items(), key=lambda x: -x[1])[:8]:
        print("| %s | %.0f | %.0f |" % (table, mib(b), b / total))
    print("\n| table or index | MiB | bytes per invite |\n|---|---|---|")
    for name, _, b in sizes[:16]:
        print("| %s | %.0f | %.1f |" % (name, mib(b), b / total))
    print("\n| backup | seconds | MiB |\n|---|---|---|")
    for what, secs, size in backups:
        print("| %s | %.1f | %.0f |" % (what, secs, mib(size)))
    if parts:
        print("\nhash partitions of invites by site_id (%d): copy %.0f s, indexes %.0f s; unique"
              " indexes given site_id: %s" % (args.partitions, parts["copy_s"], parts["index_s"],
                                              ", ".join(parts["unique_changed"]) or "none"))
        print("\n| query (EXPLAIN ANALYZE, median of 5) | one table | %d partitions |\n|---|---|---|"
              % args.partitions)
        for what, a, b in parts["rows"]:
            print("| %s | %.2f ms, %d buffers | %.2f ms, %d buffers |" % (what, a[0], a[1], b[0],
                                                                         b[1]))
        print("| VACUUM (all rows visible) | %.1f s whole table | %.1f s one partition |"
              % (parts["vacuum_whole_s"], parts["vacuum_one_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--total", type=int, default=10_000_000)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--big", type=int, default=BIG, help="invites per big site")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="si-scale-db.")
    cluster = None
    try:
        if args.pg:
            import pgcluster
            cluster = pgcluster.primary()
            cluster.psql("CREATE DATABASE si")
            db = cluster.url("si")
        else:
            db = "sqlite:" + os.path.join(tmp, "si.db")
        filler = Filler(db, tmp)
        small, probe0, probe1 = filler.site("small"), filler.site("probe0"), filler.site("probe1")
        probes = 3 * (PROBE_CALLS + WARMUP) * 1000
        n_big = max(1, -(-(args.total - SMALL - probes) // args.big))  # at least --total
        bigs = [filler.site("big%d" % i) for i in range(n_big)]
        s = Serve(db, tmp)
        filler.fill(s.port, [small], SMALL, 1)
        s.stop()
        if cluster:
            cluster.psql("ANALYZE", db="si")
        at_small = measure(db, tmp, filler, {"query small site": (small, "query"),
                                             "bulk into empty site": (probe0, "bulk")}, "10^4")
        s = Serve(db, tmp)
        fill_s = filler.fill(s.port, bigs, args.big, args.parallel)
        s.stop()
        if cluster:
            t0 = time.monotonic()
            cluster.psql("VACUUM ANALYZE", db="si")
            log("VACUUM ANALYZE after the fill: %.0f s" % (time.monotonic() - t0))
        at_full = measure(db, tmp, filler, {"query small site": (small, "query"),
                                            "query big site": (bigs[0], "query"),
                                            "bulk into empty site": (probe1, "bulk"),
                                            "bulk into big site": (bigs[0], "bulk")}, "full")
        total = SMALL + n_big * args.big + probes
        if cluster:
            sizes, backups = pg_sizes(cluster), pg_backup(cluster, tmp)
        else:
            sizes = sqlite_sizes(db[len("sqlite:"):])
            backups = sqlite_backup(db, tmp)
        parts = None
        if cluster and args.partitions:
            parts = partition(cluster, args.partitions, small, bigs[0],
                              capture(cluster, db, tmp, filler, small, bigs[0]))
        report(args, at_small, at_full, total, fill_s, sizes, backups, parts)
    finally:
        if cluster and not args.keep:
            cluster.remove()
        if args.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
