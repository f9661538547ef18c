"""The per-day counts' deltas (docs/STORAGE.md, "Per-day counts") with two `serve` processes on one
PostgreSQL database: each create appends a delta row that every later seat check of the site sums,
so each instance's sweeper folds them every second, not only with the minute's sweep. Creates go
through both instances while both fold; the deltas must be gone within a few seconds (the minute's
sweep ran at start-up and would not run again for 60 s), and the counts must still be exact:
no delta lost or counted twice by two folds at once. Needs SI_TEST_STORE_URL (tests/pg/pg_server.sh
run); fails without it."""
import threading
import unittest

from sitest import ROLE_BLOG_WRITER, ApiTestCase, Tenant, psql, two_instances, unique_email, \
    wait_until

THREADS = 4
EACH = 25  # creates per thread
SEATS = THREADS * EACH + 10


class CountsFoldShared(ApiTestCase):
    def setUp(self):
        self.a, self.b = two_instances(self)
        self.t = Tenant(self.a, contributor_limit=SEATS)
        self.on_b = self.t.for_site(self.t.site_id)
        self.on_b.server = self.b

    def create_many(self, tenant, tag, failures):
        for i in range(EACH):
            r = tenant.call("POST", "/invites/site-invite",
                            {"email": unique_email("%s-%d" % (tag, i)),
                             "policyIds": [ROLE_BLOG_WRITER]})
            if r.status != 200:
                failures.append(r)

    def deltas(self):
        return int(psql(self.a.db, "SELECT count(*) FROM invite_day_counts WHERE NOT compacted"))

    def test_deltas_folded_within_seconds_and_sums_exact(self):
        failures = []
        threads = [threading.Thread(target=self.create_many,
                                    args=(self.t if k % 2 == 0 else self.on_b, "f%d" % k,
                                          failures)) for k in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(failures, [])
        wait_until(lambda: self.deltas() == 0, timeout=5, what="the deltas folded")
        pending = psql(self.a.db, "SELECT count(*) FROM invites WHERE status = 'Pending'")
        self.assertEqual(pending, str(THREADS * EACH))
        summed = psql(self.a.db, "SELECT sum(n) FROM invite_day_counts WHERE status = 'Pending'")
        self.assertEqual(summed, pending)
        # Seat checks read the same sums, through either instance.
        for tenant in (self.t, self.on_b):
            seats = tenant.call("GET", "/invites/site-invite/contributor-limit")
            self.assertEqual(seats.status, 200, seats)
            self.assertEqual(seats.json["contributorLimitation"]["leftInvites"], 10, seats)


if __name__ == "__main__":
    unittest.main()
