"""PostgreSQL's disk full (issue 12, docs/FAULTS.md "Disk full"): the database `si` lives in a
tablespace on a small tmpfs this test mounts (root; it fails rather than skips without), on a
cluster of its own (tests/support/pgcluster.py). Filled with a filler file, PostgreSQL cannot
extend a table or index (SQLSTATE 53100 disk_full): Bulk Invite answers 503 with the standard body
(UNAVAILABLE / STORAGE_FULL, "storage is full", Retry-After 30), reads answer 200, and once the
filler is deleted writes answer 200 again without a restart; every acknowledged invite is stored
with its outbox row, none refused is. About 15 s on the loaded machine."""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import pgcluster  # noqa: E402
from sitest import ApiTestCase, Server, Tenant, unique_email, wait_until  # noqa: E402
from test_disk_full import fill, mount_tmpfs, unmount  # noqa: E402

TABLESPACE_FS = "48m"  # holds the copy of template0 (about 8 MB) and the test's rows
BULK_N = 40
CALLS_MAX = 400


class PgDiskFull(ApiTestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="si-pgfull-")
        self.fs = os.path.join(self.root, "fs")
        mount_tmpfs(self.fs, TABLESPACE_FS)
        self.addCleanup(shutil.rmtree, self.root, True)
        self.addCleanup(unmount, self.fs)
        self.pg = pgcluster.primary()
        self.addCleanup(self.pg.remove)
        # The tablespace folder belongs to the server's user (postgres when run as root).
        space = os.path.join(self.fs, "space")
        os.mkdir(space, 0o700)
        for folder in (self.root, self.fs):
            os.chmod(folder, 0o755)  # the server's user walks down to its folder
        if pgcluster.AS_PG:
            pw = pwd.getpwnam("postgres")
            os.chown(space, pw.pw_uid, pw.pw_gid)
        self.pg.psql("CREATE TABLESPACE small LOCATION '%s'" % space)
        self.pg.psql("CREATE DATABASE si TABLESPACE small")
        os.environ.pop("SI_TEST_STORE_URL", None)
        self.server = Server()
        self.server.db = self.pg.url("si")
        self.server.start()
        self.addCleanup(self.server.close)

    def test_disk_full_on_postgresql(self):
        # Seats for every call the fill may take: a call the seat limit cuts short writes
        # nothing and would answer 200 on a full disk.
        t = Tenant(self.server, "PgFull", contributor_limit=100000)
        acked, refused = {}, []

        def bulk(n):
            addrs = [unique_email("pgfull") for _ in range(n)]
            r = t.bulk(addrs)
            if r.status == 200:
                acked.update((i["id"], i["email"].lower()) for i in r.json["invites"])
            else:
                self.assertStatus(r, 503)
                self.assertErrorShape(r)
                app = r.json["details"]["applicationError"]
                self.assertEqual((app["code"], app["data"]), ("UNAVAILABLE",
                                                              {"reason": "STORAGE_FULL"}), r)
                self.assertIn("storage is full", r.json["message"])
                self.assertEqual(r.header("Retry-After"), "30", r)
                refused.extend(a.lower() for a in addrs)
            return r

        self.assertStatus(bulk(5), 200)
        first = next(iter(acked))
        filler = os.path.join(self.fs, "filler")
        fill(filler)
        # Pages PostgreSQL already holds take rows until they are full; then it must extend.
        for _ in range(CALLS_MAX):
            if bulk(BULK_N).status == 503:
                break
        else:
            self.fail("%d Bulk Invites on a full tablespace all answered 200" % CALLS_MAX)
        self.assertGreaterEqual(sum(bulk(BULK_N).status == 503 for _ in range(4)), 3)
        self.assertStatus(t.get(first), 200)
        self.assertStatus(t.query({"cursorPaging": {"limit": 5}}), 200)
        self.assertStatus(self.server.request("GET", "/readyz"), 200)
        self.assertIsNone(self.server.proc.poll(), self.server.log_tail())
        log = self.server.log_text()
        self.assertIn("PostgreSQL's disk is full", log)
        os.unlink(filler)
        wait_until(lambda: bulk(2).status == 200 or None, 10, interval=0.2,
                   what="a write after space returned")
        stored = dict(line.split("|") for line in self.pg.psql(
            "SELECT id, lower(email) FROM invites", db="si").splitlines())
        for iid, addr in acked.items():
            self.assertEqual(stored.get(iid), addr, "acknowledged invite %s lost" % iid)
        self.assertEqual(set(stored.values()) & set(refused), set(), "a refused address stored")
        orphans = self.pg.psql("SELECT count(*) FROM invites i WHERE NOT EXISTS "
                               "(SELECT 1 FROM outbox o WHERE o.invite_id = i.id)", db="si")
        self.assertEqual(orphans, "0")
        print("pg disk full: %d acknowledged, %d refused" % (len(acked), len(refused)))


if __name__ == "__main__":
    unittest.main()
