"""Failover under load: a primary and a synchronous hot standby (pg_basebackup -R,
synchronous_commit=remote_apply), serve on libpq's multi-host URL
(postgres://primary,standby/db?target_session_attrs=read-write). Under load the primary is
stopped and the standby promoted: the service answers 503 (standard body, Retry-After) for a few
seconds, then 200 again against the new primary; every acknowledged invite ID is on the new
primary. The password= of the URL never reaches the log. Bounded: about 30 s."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import pgcluster  # noqa: E402
from sitest import Server, Tenant, wait_until  # noqa: E402
from test_pg_restart import Load  # noqa: E402

OUTAGE_MAX_S = 10  # from the old primary's stop to the first 200 on the new one
PASSWORD = "not-a-real-secret-4711"  # trust authentication ignores it; it must not be logged


class PgFailoverTest(unittest.TestCase):
    def setUp(self):
        self.p = pgcluster.primary()
        self.addCleanup(self.p.remove)
        self.p.psql("CREATE DATABASE si")
        self.s = pgcluster.standby(self.p, synchronous=True)
        self.addCleanup(self.s.remove)
        os.environ.pop("SI_TEST_STORE_URL", None)
        self.server = Server()
        self.server.db = ("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/si"
                          "?target_session_attrs=read-write&password=%s"
                          % (self.p.port, self.s.port, PASSWORD))
        self.server.start()
        self.addCleanup(self.server.close)
        self.t = Tenant(self.server, "PgFailover", contributor_limit=100000)

    def test_promote_standby_under_load(self):
        t0 = time.time()
        with Load(self.t) as load:
            wait_until(lambda: load.count(200) >= 30, 20, what="load under way")
            before = load.count(200)
            down = time.time()
            self.p.stop("fast")
            self.s.promote()
            wait_until(lambda: load.count(200) > before, OUTAGE_MAX_S,
                       what="a 200 from the new primary")
            outage = time.time() - down
            time.sleep(1)
        answers = list(load.answers)
        ok = [(a, r) for a, r in answers if getattr(r, "status", None) == 200]
        busy = [r for _, r in answers if getattr(r, "status", None) == 503]
        other = [(a, r) for a, r in answers if getattr(r, "status", None) not in (200, 503)]
        self.assertEqual(other, [], "answers other than 200 and 503")
        for r in busy:
            self.assertEqual(r.json, {"message": "", "details": {}}, r)
            self.assertIsNotNone(r.header("Retry-After"), r)
        # Every acknowledged invite, by ID, is on the new primary (the old one is stopped).
        self.assertEqual(self.s.psql("SELECT pg_is_in_recovery()"), "f")
        on_new = {}
        for line in self.s.psql("SELECT id, email FROM invites", db="si").splitlines():
            iid, email = line.split("|")
            on_new[iid] = email
        for addr, r in ok:
            iid = r.json["invites"][0]["id"]
            self.assertEqual(on_new.get(iid), addr, "acknowledged invite %s lost" % iid)
        log = self.server.log_text()
        self.assertNotIn(PASSWORD, log)
        self.assertIn("password=***", log)
        print("failover: %d x 200 (%d acknowledged IDs checked on the new primary), %d x 503,"
              " first 200 %.1f s after the stop, test %.1f s (loaded machine)"
              % (len(ok), len(ok), len(busy), outage, time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
