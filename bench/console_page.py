#!/usr/bin/env python3
"""Times the console's pages on a site with 100,000 invites (issue 13: the invites page answers in
at most 50 ms of server time), and Query Invites sorted by status. Fills a site through
`siteinvites serve` with the mail worker off (100 Bulk Invite calls of 1,000, then 1,000 of them
revoked so the status sort crosses two ranges), signs in by a console link, then sends each
variant 10 times and prints the median and maximum of the server time the access log records.

    SI_BIN=build/siteinvites python3 bench/console_page.py [--pg] [--rounds N]
    SI_BIN=old/siteinvites SI_BIN_B=build/siteinvites python3 bench/console_page.py --rounds 3

--pg uses a PostgreSQL cluster of its own (tests/support/pgcluster.py; ANALYZE after the fill)
instead of a SQLite file. With SI_BIN_B, the site is filled once by SI_BIN (the older binary: a
database is never opened by a binary older than its schema), copied, and the two binaries are
timed in turn on their own copy, A then B, for --rounds rounds: an A/B back to back on a loaded
machine. Figures depend on the machine: say "loaded machine" next to any taken on a shared one."""

import argparse, http.client, json, os, re, shutil, sqlite3, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import benchlib  # noqa: E402  (beside this file)

ROLE_ADMIN = "6732588207941061632"
PAGES = ["", "?sort=email-asc", "?status=Pending", "?q=u050000%40example.com",
         "?sort=status-asc", "?sort=status-desc"]
QUERIES = [("query status ASC", {"sort": [{"fieldName": "status", "order": "ASC"}]}),
           ("query status DESC", {"sort": [{"fieldName": "status", "order": "DESC"}]}),
           ("query status ASC, page 2", None)]  # the cursor of the first one's page


class Serve:
    """One `siteinvites serve` of bin on db, its port and access log."""

    def __init__(self, bin_path, db, tmp):
        self.log_path = os.path.join(tmp, "serve-%d.log" % time.monotonic_ns())
        self.proc = subprocess.Popen([bin_path, "serve", "--db", db, "--listen", "127.0.0.1:0",
                                      "--mail-worker", "off", "--mail-dir",
                                      os.path.join(tmp, "mail"),
                                      "--secret-file", os.path.join(tmp, "secret")],
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "w"))
        self.port = int(re.search(rb":(\d+)", self.proc.stdout.readline()).group(1))

    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        c.request(method, path, body, headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def lines(self):
        return open(self.log_path).read().splitlines()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


cli = benchlib.cli  # bin_path, db, *args


def fill(bin_path, db, tmp):
    """The account, site (contributor limit 200,000), API key and 100,000 invites."""
    acc = cli(bin_path, db, "account", "create", "--name", "Big", "--email", "big@example.com")["id"]
    site = cli(bin_path, db, "site", "create", "--account", acc, "--name", "Big site",
               "--contributor-limit", "200000")["id"]
    key = cli(bin_path, db, "key", "create", "--account", acc)["key"]
    s = Serve(bin_path, db, tmp)
    hdr = {"Authorization": key, "wix-site-id": site, "Content-Type": "application/json"}
    try:
        revoke = []
        for i in range(100):
            emails = ["u%06d@example.com" % (i * 1000 + j) for j in range(1000)]
            r, data = s.req("POST", "/invites/site-invite/bulk",
                            json.dumps({"policyIds": [ROLE_ADMIN], "emails": emails}), hdr)
            assert r.status == 200, data[:200]
            if i % 10 == 0:
                revoke += [inv["id"] for inv in json.loads(data)["invites"][:100]]
        for iid in revoke:
            r, data = s.req("POST", "/invites/site-invite/%s/revoke" % iid, b"{}", hdr)
            assert r.status == 200, data[:200]
    finally:
        s.stop()
    return acc, site, key


def server_ms(lines, pattern):
    return sorted(int(m.group(1)) / 1000 for m in (re.search(pattern, l) for l in lines) if m)


def measure(bin_path, db, tmp, acc, site, key):
    """{variant: (median, max)} of server times over 10 requests each."""
    s = Serve(bin_path, db, tmp)
    out = {}
    try:
        url = cli(bin_path, db, "console", "link", "--account", acc)["url"]
        r, _ = s.req("POST", re.sub(r"^https?://[^/]+", "", url), b"",
                     {"Content-Type": "application/x-www-form-urlencoded",
                      "Sec-Fetch-Site": "same-origin"})
        cookie = r.getheader("Set-Cookie").split(";")[0]
        for variant in PAGES:
            before = len(s.lines())
            for _ in range(10):
                r, _ = s.req("GET", "/console/sites/%s%s" % (site, variant), None,
                             {"Cookie": cookie})
                assert r.status == 200, r.status
            time.sleep(0.2)  # the access log line is written after the answer
            ms = server_ms(s.lines()[before:], r"GET /console/sites/\S+ 200 (\d+)us")
            out["site page " + (variant or "(newest first)")] = (ms[len(ms) // 2], ms[-1])
        hdr = {"Authorization": key, "wix-site-id": site, "Content-Type": "application/json"}
        cursor = None
        for name, query in QUERIES:
            if query is None:
                query = {"cursorPaging": {"cursor": cursor}}
            before = len(s.lines())
            for _ in range(10):
                r, data = s.req("POST", "/invites/site-invite/query", json.dumps({"query": query}),
                                hdr)
                assert r.status == 200, data[:200]
                if cursor is None:
                    cursor = json.loads(data)["pagingMetadata"]["cursors"]["next"]
            time.sleep(0.2)
            ms = server_ms(s.lines()[before:], r"POST /invites/site-invite/query 200 (\d+)us")
            out[name] = (ms[len(ms) // 2], ms[-1])
    finally:
        s.stop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    ap.add_argument("--rounds", type=int, default=1, help="times each binary is measured")
    args = ap.parse_args()
    bins = [("A", os.environ.get("SI_BIN", "build/siteinvites"))]
    if os.environ.get("SI_BIN_B"):
        bins.append(("B", os.environ["SI_BIN_B"]))
    tmp = tempfile.mkdtemp(prefix="si-console-bench-")
    cluster = None
    try:
        if args.pg:
            import pgcluster
            os.environ.pop("SI_TEST_STORE_URL", None)
            cluster = pgcluster.primary()
            cluster.psql("CREATE DATABASE si")
            dbs = [cluster.url("si")]
        else:
            dbs = ["sqlite:" + os.path.join(tmp, "db")]
        acc, site, key = fill(bins[0][1], dbs[0], tmp)
        if len(bins) > 1:  # B's own copy, made before B migrates it
            if args.pg:
                cluster.psql("CREATE DATABASE si_b TEMPLATE si")
                dbs.append(cluster.url("si_b"))
            else:
                src = sqlite3.connect(os.path.join(tmp, "db"))
                dst = sqlite3.connect(os.path.join(tmp, "db_b"))
                src.backup(dst)
                dst.close()
                src.close()
                dbs.append("sqlite:" + os.path.join(tmp, "db_b"))
        if args.pg:
            for db in ("si", "si_b")[:len(bins)]:
                cluster.psql("ANALYZE", db=db)
        results = {}
        for rnd in range(args.rounds):
            for (label, bin_path), db in zip(bins, dbs):
                got = measure(bin_path, db, tmp, acc, site, key)
                for name, (med, mx) in got.items():
                    results.setdefault((name, label), []).append(med)
                    print("round %d %s %-36s server median %6.1f ms  max %6.1f ms" %
                          (rnd + 1, label, name, med, mx), flush=True)
        print("median over rounds of the medians (%s, %s):" %
              ("PostgreSQL" if args.pg else "SQLite", " / ".join(l for l, _ in bins)))
        for name in dict.fromkeys(n for n, _ in results):
            meds = [sorted(results[(name, l)])[len(results[(name, l)]) // 2] for l, _ in bins]
            print("  %-36s %s" % (name, " / ".join("%6.1f ms" % m for m in meds)))
    finally:
        if cluster:
            cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
