"""Reads from a PostgreSQL standby (serve --db-read, docs/SCALING.md): a primary and an
asynchronous hot standby (pg_basebackup -R, tests/support/pgcluster.py), serve with --db on the
primary and --db-read on the standby (target_session_attrs=standby).

- Site reads are served by the standby: /metrics counts them, and the standby's own statistics
  show the transactions.
- Read-your-writes with replication delayed (recovery_min_apply_delay on the standby, so the
  lag is deterministic): a write followed at once by a get, a list and a query from the same
  client sees the write, every round, while the standby provably does not have it yet.
- A standby lagging beyond --db-read-max-lag-ms serves no read.
- The standby stopped: reads still 200 from the primary, writes 200; started again, reads go
  back to it. A write is never sent to the standby (it would answer 503: read-only).
Bounded: 25-60 s on the loaded 2-core machine, about 25 s of it making the two clusters."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import pgcluster  # noqa: E402
from sitest import ROLE_BLOG_WRITER, Server, Tenant, unique_email, wait_until  # noqa: E402

ROUNDS = 30          # write-then-read rounds with replication delayed
APPLY_DELAY_MS = 400  # the standby applies WAL this late in the read-your-writes test
MAX_LAG_MS = 1000     # serve's bound in this suite (the default)


def metric(server, name, label):
    """One counter of /metrics, e.g. metric(s, "siteinvites_db_reads_total", 'pool="standby"')."""
    r = server.request("GET", "/metrics")
    assert r.status == 200, r
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(label)),
                  r.body.decode(), re.M)
    assert m, "no %s{%s} in /metrics" % (name, label)
    return int(m.group(1))


def reads(server, pool):
    return metric(server, "siteinvites_db_reads_total", 'pool="%s"' % pool)


def fallbacks(server, reason):
    return metric(server, "siteinvites_db_read_fallbacks_total", 'reason="%s"' % reason)


class PgReadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = pgcluster.primary()
        cls.p.psql("CREATE DATABASE si")
        cls.s = pgcluster.standby(cls.p, synchronous=False)
        os.environ.pop("SI_TEST_STORE_URL", None)
        cls.server = Server(extra_args=[
            "--db-read", "postgres://postgres@127.0.0.1:%d/si?target_session_attrs=standby"
            % cls.s.port, "--db-read-max-lag-ms", str(MAX_LAG_MS)])
        cls.server.db = "postgres://postgres@127.0.0.1:%d/si" % cls.p.port
        cls.server.start()
        cls.t = Tenant(cls.server, "PgRead", contributor_limit=100000)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.s.remove()
        cls.p.remove()

    def setUp(self):
        self.set_delay(0)

    def set_delay(self, ms):
        self.s.psql("ALTER SYSTEM SET recovery_min_apply_delay = '%dms'" % ms)
        self.s.psql("SELECT pg_reload_conf()")
        if ms == 0:
            self.caught_up()

    def caught_up(self):
        """Waits until the standby replayed everything the primary wrote."""
        want = self.p.psql("SELECT pg_current_wal_insert_lsn()")
        wait_until(lambda: self.s.psql("SELECT pg_last_wal_replay_lsn() >= '%s'" % want) == "t",
                   30, what="standby caught up")

    def create(self, t=None):
        t = t or self.t
        addr = unique_email("read")
        r = t.call("POST", "/invites/site-invite",
                   {"email": addr, "policyIds": [ROLE_BLOG_WRITER]})
        self.assertEqual(r.status, 200, r)
        return addr, r.json["invite"]["id"]

    def on_standby(self, invite_id):
        return self.s.psql("SELECT count(*) FROM invites WHERE id = '%s'" % invite_id, db="si")

    def standby_xacts(self):
        return int(self.s.psql("SELECT xact_commit FROM pg_stat_database WHERE datname = 'si'"))

    def test_reads_served_by_standby(self):
        addr, iid = self.create()
        self.caught_up()
        before, xacts = reads(self.server, "standby"), self.standby_xacts()
        for _ in range(50):
            r = self.t.get(iid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["invite"]["email"], addr)
        r = self.t.query({"filter": {"email": addr}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i["id"] for i in r.json["invites"]], [iid])
        self.assertGreaterEqual(reads(self.server, "standby") - before, 51)
        # The standby's own statistics saw the reads (flushed within about a second).
        wait_until(lambda: self.standby_xacts() - xacts >= 51, 10,
                   what="the reads in the standby's pg_stat_database")

    def test_read_your_writes_with_delayed_replay(self):
        self.set_delay(APPLY_DELAY_MS)
        behind0 = fallbacks(self.server, "behind")
        missing_on_standby = 0
        for _ in range(ROUNDS):
            addr, iid = self.create()
            missing_on_standby += self.on_standby(iid) == "0"
            r = self.t.get(iid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["invite"]["email"], addr)
            r = self.t.call("GET", "/invites/site-invites")  # newest first
            self.assertEqual(r.status, 200, r)
            self.assertIn(iid, [i["id"] for i in r.json["invites"]])
            r = self.t.query({"filter": {"email": addr}})
            self.assertEqual([i["id"] for i in r.json["invites"]], [iid], r)
            r = self.t.revoke(iid)
            self.assertEqual(r.status, 200, r)
            r = self.t.get(iid)
            self.assertEqual(r.json["invite"]["status"], "Deleted", r)
        # The rounds were meaningful: the standby did not have the invite when it was read.
        self.assertGreater(missing_on_standby, ROUNDS // 2, "replication was not delayed")
        self.assertGreaterEqual(fallbacks(self.server, "behind") - behind0, ROUNDS)
        # Once it replayed them, the same reads are the standby's again.
        self.set_delay(0)
        before = reads(self.server, "standby")
        r = self.t.get(iid)
        self.assertEqual(r.json["invite"]["status"], "Deleted", r)
        self.assertEqual(reads(self.server, "standby") - before, 1)

    def test_lagging_standby_serves_no_read(self):
        other = Tenant(self.server, "PgReadOther", contributor_limit=100000)
        addr, iid = self.create(other)
        self.caught_up()
        self.set_delay(5 * MAX_LAG_MS)
        self.create()  # a write of another site: the standby now lags by the delay
        # Reads of `other` (this process wrote nothing there since) would be fresh enough by
        # position, but the standby is too far behind: the primary serves them.
        time.sleep(MAX_LAG_MS * 1.5 / 1000)
        lagging0, primary0 = fallbacks(self.server, "lagging"), reads(self.server, "primary")
        for _ in range(5):
            r = other.get(iid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["invite"]["email"], addr)
        self.assertGreaterEqual(fallbacks(self.server, "lagging") - lagging0, 5)
        self.assertGreaterEqual(reads(self.server, "primary") - primary0, 5)

    def test_standby_stopped(self):
        addr, iid = self.create()
        self.caught_up()
        self.s.stop("fast")
        try:
            unavailable0 = fallbacks(self.server, "unavailable")
            for _ in range(20):
                r = self.t.get(iid)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["invite"]["email"], addr)
                r = self.t.query({"filter": {"email": addr}})
                self.assertEqual(r.status, 200, r)
                addr2, iid2 = self.create()  # writes go to the primary, standby or not
                self.assertEqual(self.t.get(iid2).json["invite"]["email"], addr2)
            self.assertGreaterEqual(fallbacks(self.server, "unavailable") - unavailable0, 20)
        finally:
            self.s.start()
        self.caught_up()
        before = reads(self.server, "standby")
        # Back within the 1 s back-off after the last failure.
        wait_until(lambda: self.t.get(iid).status == 200 and
                   reads(self.server, "standby") > before, 10, what="reads on the standby again")
        log = self.server.log_text()
        self.assertNotIn("cannot execute INSERT in a read-only transaction", log)
        self.assertNotIn("read-only", log)


if __name__ == "__main__":
    unittest.main()
