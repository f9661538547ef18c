"""A young invites table's statistics on PostgreSQL (store_stats_refresh, docs/SCALING.md "A young
table's statistics"): serve analyzes invites once its file has doubled since the last analysis
(from 64 pages on), within seconds, where autovacuum would take a minute or more; growth short of
that leaves it alone. Needs SI_TEST_STORE_URL (tests/pg/pg_server.sh
run); fails without it."""
import time
import unittest

from sitest import ApiTestCase, Server, Tenant, psql, unique_email, wait_until

LAST_ANALYZE = "SELECT coalesce(last_analyze::text, '') FROM pg_stat_user_tables" \
    " WHERE relname = 'invites'"


class YoungStats(ApiTestCase):
    def setUp(self):
        self.server = Server()  # a fresh database on the test cluster
        self.server.start()
        self.addCleanup(self.server.close)
        self.assertTrue(self.server.db.startswith("postgres"), "run under tests/pg/pg_server.sh")
        self.t = Tenant(self.server, contributor_limit=1000000)

    def sql(self, q):
        return psql(self.server.db, q)

    def pages(self):
        """(pages in the file now, relpages at the last analysis)"""
        now, then = self.sql("SELECT pg_relation_size(oid) / 8192, relpages FROM pg_class"
                             " WHERE relname = 'invites'").split("|")
        return int(now), int(then)

    def test_analyzed_once_it_doubles_not_before(self):
        self.assertEqual(self.sql(LAST_ANALYZE), "")
        self.assertStatus(self.t.bulk([unique_email("few%d" % i) for i in range(500)]), 200)
        time.sleep(2.5)  # two ticks: 500 invites are fewer than 64 pages
        self.assertLess(self.pages()[0], 64)
        self.assertEqual(self.sql(LAST_ANALYZE), "")
        for k in range(3):
            self.assertStatus(self.t.bulk([unique_email("b%d-%d" % (k, i))
                                           for i in range(1000)]), 200)
        wait_until(lambda: self.sql(LAST_ANALYZE), timeout=6, what="invites analyzed by serve")
        self.assertIn("invites doubled in size", self.server.log_text())
        # Once the ticks find nothing more to do, the last analysis saw at least 64 pages and
        # the file is short of twice that.
        last = None
        for _ in range(10):
            time.sleep(1.2)
            seen = self.sql(LAST_ANALYZE)
            if seen == last:
                break
            last = seen
        self.assertEqual(self.sql(LAST_ANALYZE), last, "still analyzing after 12 s")
        _, then = self.pages()
        self.assertGreaterEqual(then, 64)
        # Growth short of doubling: no further analysis.
        self.assertStatus(self.t.bulk([unique_email("more%d" % i) for i in range(100)]), 200)
        now, then = self.pages()
        self.assertLess(now, 2 * then)
        time.sleep(2.5)
        self.assertEqual(self.sql(LAST_ANALYZE), last)


if __name__ == "__main__":
    unittest.main()
