#!/usr/bin/env python3
"""Several `serve` instances on one PostgreSQL database (issue 14, docs/SCALING.md "Instances"):
per-request CPU of serve and of PostgreSQL, waits on the site row lock, and the outbox claim rate,
with 1, 2 and 3 instances, mail worker on (each instance writes its own Maildir).

For each N, on a fresh database of a fresh cluster (fsync and synchronous_commit on, as a
deployment runs; pg_stat_statements loaded):
  1. creates: Create One Invite into one site (--routed: a site per instance, as a load balancer
     hashing wix-site-id sends), 32 in flight in all (32/N per instance, one loadgen each),
     --seconds long. CPU of every serve and every PostgreSQL process from /proc (user +
     system ticks) over the run, divided by the creates answered; pg_stat_activity sampled every
     100 ms for backends waiting on a lock; pg_stat_statements for the site-lock statement
     (its mean time is mostly the wait) and the outbox claim (calls, rows).
  2. claim rate: a backlog of --backlog emails queued with every mail worker off, then N
     instances started with the worker on: seconds until the last is in a Maildir, emails/s,
     and how many were delivered twice (files beyond the backlog).

    SI_BIN=build/siteinvites python3 bench/instances.py [--seconds 10] [--max 3] [--backlog 20000]

Everything (PostgreSQL, the instances, loadgen) shares this machine's cores: the CPU per request
is the figure that carries to other machines; rates are this machine's."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import benchlib  # noqa: E402  (beside this file)
import pgcluster  # noqa: E402

BIN = os.environ.get("SI_BIN", "build/siteinvites")
LOADGEN = os.environ.get("LOADGEN", os.path.join(os.path.dirname(BIN), "loadgen"))
ROLE_ADMIN = "6732588207941061632"
TICK = os.sysconf("SC_CLK_TCK")
IN_FLIGHT = 32


class StatCluster(pgcluster.Cluster):
    def opts(self):
        return super().opts().replace("fsync=off", "fsync=on") + (
            " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all")


def log(*a):
    print("instances:", *a, file=sys.stderr, flush=True)


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (FileNotFoundError, ProcessLookupError):
        return 0


def pg_pids(cluster):
    root = cluster.postmaster_pid()
    kids = subprocess.run(["pgrep", "-P", str(root)], capture_output=True, text=True).stdout
    return [root] + [int(x) for x in kids.split()]


def Serve(db, tmp, i, worker):
    """Instance i on db, its own Maildir and log (benchlib.Serve)."""
    return benchlib.Serve(BIN, db, tmp, os.path.join(tmp, "mail%d" % i),
                          os.path.join(tmp, "serve%d.log" % i), worker=worker)


def cli(db, *args):
    return benchlib.cli(BIN, db, *args)


def sampler(cluster, stop, out):
    """Backends waiting on a lock (heavyweight: the site row), every 100 ms."""
    while not stop.is_set():
        n = cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'si'"
                         " AND wait_event_type = 'Lock'")
        out.append(int(n))
        time.sleep(0.1)


def statements(cluster):
    rows = cluster.psql("SELECT calls, total_exec_time, rows, query FROM pg_stat_statements"
                        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'si')",
                        db="si")
    out = []
    for line in rows.splitlines():
        calls, ms, nrows, q = line.split("|", 3)
        out.append((int(calls), float(ms), int(nrows), q))
    return out


def stmt(rows, needle):
    calls = sum(r[0] for r in rows if needle in r[3])
    ms = sum(r[1] for r in rows if needle in r[3])
    nrows = sum(r[2] for r in rows if needle in r[3])
    return calls, ms, nrows


def creates(cluster, db, tmp, n, seconds, routed):
    account = cli(db, "account", "create", "--name", "Inst", "--email", "inst@example.com")["id"]
    sites = [cli(db, "site", "create", "--account", account, "--name", "Site %d" % i,
                 "--contributor-limit", "1000000")["id"] for i in range(n if routed else 1)]
    key = cli(db, "key", "create", "--account", account)["key"]
    servers = [Serve(db, tmp, i, True) for i in range(n)]
    try:
        body = json.dumps({"email": "c{{N}}@example.com", "policyIds": [ROLE_ADMIN]})

        def load(s, i, secs, warm):
            return subprocess.Popen(
                [LOADGEN, "-u", "http://127.0.0.1:%d/invites/site-invite" % s.port, "-X", "POST",
                 "-H", "Authorization: " + key, "-H", "wix-site-id: " + sites[i % len(sites)],
                 "-H", "Content-Type: application/json", "-b", body, "-c", str(IN_FLIGHT // n),
                 "-d",
                 str(secs), "-W", str(warm), "-s", str(i * 10_000_000 + (0 if warm else 5_000_000)),
                 "-j", "-l", "inst%d" % i], stdout=subprocess.PIPE)
        for p in [load(s, i, 2, 0) for i, s in enumerate(servers)]:  # warm every pool
            p.communicate()
        cluster.psql("SELECT pg_stat_statements_reset()", db="si")
        pids = [s.proc.pid for s in servers]
        pg = pg_pids(cluster)
        s0, p0 = sum(map(cpu_ticks, pids)), sum(map(cpu_ticks, pg))
        stop, waits = threading.Event(), []
        t = threading.Thread(target=sampler, args=(cluster, stop, waits))
        t.start()
        procs = [load(s, i, seconds, 0) for i, s in enumerate(servers)]
        outs = [json.loads(p.communicate()[0]) for p in procs]
        stop.set()
        t.join()
        pg_after = pg_pids(cluster)
        s1 = sum(map(cpu_ticks, pids))
        # Backends started during the run count whole; one that ended is lost (the pools keep
        # their connections, so few do).
        p1 = sum(map(cpu_ticks, pg_after))
        delivered_at_end = sum(s.delivered() for s in servers)
        rows = statements(cluster)
        done = sum(o["requests"] for o in outs)
        bad = sum(o["non2xx"] + o["errors"] for o in outs)
        t0 = time.monotonic()
        while sum(s.delivered() for s in servers) < done and time.monotonic() - t0 < 120:
            time.sleep(0.1)
        drain = time.monotonic() - t0
    finally:
        for s in servers:
            s.stop()
    lock = stmt(rows, "FOR UPDATE")
    claim = stmt(rows, "SKIP LOCKED")
    all_calls = sum(r[0] for r in rows)
    loadgen_cpu = sum(o["cpu_s"] for o in outs)
    return {
        "n": n, "rps": done / seconds, "bad": bad,
        "p50_ms": statistics.median(o["p50_us"] for o in outs) / 1000,
        "p99_ms": max(o["p99_us"] for o in outs) / 1000,
        "serve_ms": (s1 - s0) / TICK * 1000 / done, "pg_ms": (p1 - p0) / TICK * 1000 / done,
        "loadgen_ms": loadgen_cpu * 1000 / done,
        "lock_waiters": statistics.mean(waits) if waits else 0,
        "lock_stmt_ms": lock[1] / lock[0] if lock[0] else 0, "lock_calls_per_create": lock[0] / done,
        "statements_per_create": all_calls / done,
        "claims_per_s": claim[0] / seconds,
        "delivered_during": delivered_at_end / seconds, "drain_s": drain,
    }


def claim_rate(cluster, db, tmp, n, backlog):
    account = cli(db, "account", "create", "--name", "Backlog", "--email", "b@example.com")["id"]
    site = cli(db, "site", "create", "--account", account, "--name", "Backlog",
               "--contributor-limit", "1000000")["id"]
    key = cli(db, "key", "create", "--account", account)["key"]
    filler = Serve(db, tmp, 9, False)
    emails = ["b{{N}}.%d@example.com" % i for i in range(1000)]
    body = os.path.join(tmp, "bulk.json")
    with open(body, "w") as f:
        json.dump({"policyIds": [ROLE_ADMIN], "emails": emails}, f)
    subprocess.run([LOADGEN, "-u", "http://127.0.0.1:%d/invites/site-invite/bulk" % filler.port,
                    "-H", "Authorization: " + key, "-H", "wix-site-id: " + site, "-H",
                    "Content-Type: application/json", "-B", body, "-c", "1", "-n",
                    str(backlog // 1000), "-t", "120", "-j"], check=True, capture_output=True)
    filler.stop()
    queued = int(cluster.psql("SELECT count(*) FROM outbox WHERE status = 'Queued'", db="si"))
    t0 = time.monotonic()
    servers = [Serve(db, tmp, 10 + i, True) for i in range(n)]
    try:
        while sum(s.delivered() for s in servers) < queued and time.monotonic() - t0 < 300:
            time.sleep(0.05)
        secs = time.monotonic() - t0
        time.sleep(1)  # anything delivered twice arrives by now
        got = [s.delivered() for s in servers]
    finally:
        for s in servers:
            s.stop()
    return {"queued": queued, "secs": secs, "rate": queued / secs, "per_instance": got,
            "twice": sum(got) - queued}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max", type=int, default=3)
    ap.add_argument("--backlog", type=int, default=20000)
    ap.add_argument("--routed", action="store_true",
                    help="a site per instance (a load balancer routing by wix-site-id)")
    args = ap.parse_args()
    os.environ.pop("SI_TEST_STORE_URL", None)
    results = []
    for n in range(1, args.max + 1):
        tmp = tempfile.mkdtemp(prefix="si-inst.")
        cluster = StatCluster("primary").init().start()
        try:
            cluster.psql("CREATE DATABASE si")
            cluster.psql("CREATE EXTENSION pg_stat_statements", db="si")
            db = cluster.url("si")
            r = creates(cluster, db, tmp, n, args.seconds, args.routed)
            r["claim"] = claim_rate(cluster, db, tmp, n, args.backlog)
            log(json.dumps(r))
            results.append(r)
        finally:
            cluster.remove()
            shutil.rmtree(tmp, ignore_errors=True)
    print("\nbench/instances.py, %s, nproc %d, %s, %d creates in flight in all, %g s,"
          " mail worker on" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               os.cpu_count(), "a site per instance" if args.routed else
                               "one site", IN_FLIGHT, args.seconds))
    print("\n| instances | creates/s | p50 / p99 ms | CPU ms per create: serve + PostgreSQL"
          " (+ loadgen) | statements per create | backends waiting on a lock (mean) |"
          " site-lock statement ms | creates per site transaction | outbox claims/s | mailed"
          " during run /s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %d | %.0f%s | %.1f / %.1f | %.3f + %.3f = %.3f (+ %.3f) | %.2f | %.2f | %.2f"
              " | %.1f | %.0f | %.0f |"
              % (r["n"], r["rps"], " (%d failed)" % r["bad"] if r["bad"] else "", r["p50_ms"],
                 r["p99_ms"], r["serve_ms"], r["pg_ms"], r["serve_ms"] + r["pg_ms"],
                 r["loadgen_ms"], r["statements_per_create"], r["lock_waiters"],
                 r["lock_stmt_ms"], 1 / max(r["lock_calls_per_create"], 1e-9),
                 r["claims_per_s"], r["delivered_during"]))
    print("\n| instances | backlog | seconds to deliver it all | emails/s | per instance |"
          " delivered twice |\n|---|---|---|---|---|---|")
    for r in results:
        c = r["claim"]
        print("| %d | %d | %.2f | %.0f | %s | %d |" % (r["n"], c["queued"], c["secs"], c["rate"],
                                                     " / ".join(map(str, c["per_instance"])),
                                                     c["twice"]))
    one = results[0]
    cores = os.cpu_count()
    cpu1 = one["serve_ms"] + one["pg_ms"] + one["loadgen_ms"]
    print("\nmodel, from 1 instance: all on %d cores, creates/s <= %d / %.3f ms = %.0f;"
          " measured at 1: %.0f" % (cores, cores, cpu1, cores * 1000 / cpu1, one["rps"]))
    for r in results[1:]:
        cpu = r["serve_ms"] + r["pg_ms"] + r["loadgen_ms"]
        print("  %d instances: predicted %.0f (CPU bound, same CPU per create), measured %.0f"
              " (CPU per create %.3f ms: bound %.0f)" % (r["n"], cores * 1000 / cpu1, r["rps"], cpu,
                                                        cores * 1000 / cpu))


if __name__ == "__main__":
    main()
