"""PostgreSQL restarted (fast stop, start) and killed (-9) under load, on a cluster of this test's
own (tests/support/pgcluster.py). While the server is gone every request answers 200 or 503 with
the standard body and Retry-After, never 500; the pool reconnects by itself; afterwards every
acknowledged (200) invite is in the database, every acknowledged email was delivered exactly
once, and nothing is in the outbox twice. Bounded: about 40 s."""
import collections
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import pgcluster  # noqa: E402
from sitest import Server, Tenant, recipient, unique_email, wait_until  # noqa: E402

CLIENTS = 4
RECOVER_S = 15  # after the server is back, a 200 within this many seconds
MAIL_WAIT_S = 60


class Load:
    """CLIENTS threads each creating one invite per call until stopped; every answer kept."""

    def __init__(self, tenant):
        self.t = tenant
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers = []  # (email, Response or exception text)
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def run(self):
        while not self.stop.is_set():
            addr = unique_email("pgfault")
            try:
                r = self.t.bulk([addr])
            except Exception as e:  # a refused or reset connection to serve itself is a failure
                r = "exception: %r" % e
            with self.lock:
                self.answers.append((addr, r))
            if getattr(r, "status", None) == 503:
                time.sleep(0.05)  # a client backing off, briefly (Retry-After says 1 s)

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(30)
        return False

    def count(self, status):
        with self.lock:
            return sum(1 for _, r in self.answers if getattr(r, "status", None) == status)


class PgRestartTest(unittest.TestCase):
    def setUp(self):
        self.pg = pgcluster.primary()
        self.addCleanup(self.pg.remove)
        self.pg.psql("CREATE DATABASE si")
        os.environ.pop("SI_TEST_STORE_URL", None)
        self.server = Server()
        self.server.db = self.pg.url("si")
        self.server.start()
        self.addCleanup(self.server.close)
        self.t = Tenant(self.server, "PgFault", contributor_limit=100000)

    def wait_for_200(self, load, before):
        wait_until(lambda: load.count(200) > before, RECOVER_S, what="a 200 after the restart")

    def test_restart_and_kill_under_load(self):
        t0 = time.time()

        def mark(what):
            print("faults: %5.1f s %s" % (time.time() - t0, what), file=sys.stderr)
        with Load(self.t) as load:
            wait_until(lambda: load.count(200) >= 20, 20, what="load under way")
            mark("load under way")
            self.pg.restart_fast()
            mark("restarted")
            self.wait_for_200(load, load.count(200))
            mark("200 again")
            time.sleep(0.5)
            self.pg.kill9()
            time.sleep(0.5)  # requests meet a server that is not there at all
            self.pg.start()
            mark("started after kill -9")
            self.wait_for_200(load, load.count(200))
            mark("200 again")
            time.sleep(1)
        answers = list(load.answers)
        ok = [(a, r) for a, r in answers if getattr(r, "status", None) == 200]
        busy = [r for _, r in answers if getattr(r, "status", None) == 503]
        other = [(a, r) for a, r in answers if getattr(r, "status", None) not in (200, 503)]
        self.assertEqual(other, [], "answers other than 200 and 503")
        self.assertTrue(busy, "no request met the server down: the test proved nothing")
        for r in busy:
            self.assertEqual(r.json, {"message": "", "details": {}}, r)
            self.assertIsNotNone(r.header("Retry-After"), r)
        # Every acknowledged invite is in the database, with its one outbox row.
        ids = {r.json["invites"][0]["id"]: a for a, r in ok}
        self.assertEqual(len(ids), len(ok))
        rows = self.pg.psql("SELECT i.id, i.email, (SELECT count(*) FROM outbox o"
                            " WHERE o.invite_id = i.id) FROM invites i", db="si")
        found = {}
        for line in rows.splitlines():
            iid, email, n = line.split("|")
            found[iid] = (email, int(n))
        for iid, addr in ids.items():
            self.assertIn(iid, found, "acknowledged invite %s (%s) lost" % (iid, addr))
            self.assertEqual(found[iid], (addr, 1))
        mark("checked the database")
        # Every queued email is delivered once: none twice, none lost.
        wait_until(lambda: self.pg.psql("SELECT count(*) FROM outbox WHERE status <> 'Sent'",
                                        db="si") == "0", MAIL_WAIT_S, what="the outbox drained")
        delivered = collections.Counter(recipient(m) for _, m in self.server.maildir_messages())
        for iid, (addr, _) in found.items():
            self.assertEqual(delivered[addr.lower()], 1, addr)
        self.assertEqual(sum(delivered.values()), len(found), "emails nobody was invited for")
        mark("mail checked")
        log = self.server.log_text()
        self.assertIn("reconnected to PostgreSQL", log)
        print("faults: %d answers, %d x 200, %d x 503 (loaded machine)"
              % (len(answers), len(ok), len(busy)), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
