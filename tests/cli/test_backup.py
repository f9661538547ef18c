"""`siteinvites backup` (issue 11): a backup taken while bulk invites keep coming opens, passes
SQLite's integrity check, holds every invite acknowledged before it began, and restores: a server
started on the copy (with the same secret file) serves those invites. PostgreSQL is refused with
the pointer to pg_dump."""

import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from sitest import Server, Tenant, binary, unique_email

BATCH = 50          # emails per bulk call of the load
MIN_BEFORE = 200    # invites acknowledged before the backup starts
MIN_DURING = 1      # bulk calls acknowledged while the backup ran (proves it was under load)


def run(*args, timeout=60):
    return subprocess.run([binary()] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class Load(threading.Thread):
    """Bulk-invites BATCH addresses per call until stopped; records every acknowledged ID."""

    def __init__(self, tenant):
        super().__init__(daemon=True)
        self.t = tenant
        self.acked = []  # invite IDs, in the order their calls were answered
        self.calls = 0
        self.errors = []
        self.stop_now = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.stop_now.is_set():
            r = self.t.bulk([unique_email("load") for _ in range(BATCH)])
            if r.status != 200 or r.json.get("failedEmails"):
                self.errors.append(r)
                return
            with self.lock:
                self.acked.extend(i["id"] for i in r.json["invites"])
                self.calls += 1

    def snapshot(self):
        with self.lock:
            return list(self.acked), self.calls


class BackupTest(unittest.TestCase):
    def test_backup_under_load_is_whole_and_restores(self):
        out = tempfile.mkdtemp(prefix="sibackup-")
        try:
            with Server(extra_args=["--mail-worker", "off"]) as server:
                t = Tenant(server, "Backup", contributor_limit=1000000)
                load = Load(t)
                load.start()
                try:
                    deadline = time.monotonic() + 30
                    while (len(load.snapshot()[0]) < MIN_BEFORE and load.is_alive()
                           and time.monotonic() < deadline):
                        load.join(0.05)
                    before, calls_before = load.snapshot()
                    copy = os.path.join(out, "copy.db")
                    p = run("backup", "--db", server.db, "--to", copy, "--json")
                    after, calls_after = load.snapshot()
                finally:
                    load.stop_now.set()
                    load.join(30)
                self.assertEqual(load.errors, [])
                self.assertEqual(p.returncode, 0, p)
                self.assertIn(b"keep the server secret", p.stderr)
                self.assertGreaterEqual(len(before), MIN_BEFORE)
                self.assertGreaterEqual(calls_after - calls_before, MIN_DURING,
                                        "no bulk call was answered while the backup ran")
                shutil.copy(server.secret_file, os.path.join(out, "secret.key"))
            self.assertEqual(stat.S_IMODE(os.stat(copy).st_mode), 0o600)
            self.assertFalse(os.path.exists(copy + ".partial"))
            db = sqlite3.connect(copy)
            try:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
                ids = {r[0] for r in db.execute("SELECT id FROM invites")}
                self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "delete")
            finally:
                db.close()
            missing = [i for i in before if i not in ids]
            self.assertEqual(missing, [], "acknowledged before the backup, absent from it")

            # Restore: a server on the copy, with the same secret, serves those invites.
            restored = Server()
            shutil.copy(copy, restored.db_path)
            shutil.copy(os.path.join(out, "secret.key"), restored.secret_file)
            with restored:
                r = restored.request("GET", "/healthz")
                self.assertEqual(r.status, 200, r)
                t2 = Tenant.__new__(Tenant)
                t2.__dict__.update(t.__dict__)
                t2.server = restored
                for inv in (before[0], before[-1]):
                    g = t2.get(inv)
                    self.assertEqual(g.status, 200, g)
                    self.assertEqual(g.json["invite"]["id"], inv)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def test_backup_refuses_a_missing_database_and_itself(self):
        d = tempfile.mkdtemp(prefix="sibackup-")
        try:
            p = run("backup", "--db", "sqlite:" + os.path.join(d, "none.db"), "--to",
                    os.path.join(d, "b.db"))
            self.assertEqual(p.returncode, 2, p)
            self.assertIn(b"no database at", p.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "none.db")))
            db = os.path.join(d, "si.db")
            self.assertEqual(run("migrate", "--db", "sqlite:" + db).returncode, 0)
            p = run("backup", "--db", "sqlite:" + db, "--to", db)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn(b"is the database itself", p.stderr)
            p = run("backup", "--db", "sqlite:" + db)
            self.assertEqual(p.returncode, 1, p)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class PostgresBackupTest(unittest.TestCase):
    def test_postgres_points_to_pg_dump(self):
        p = run("backup", "--db", "postgres://u:pw@127.0.0.1:1/x", "--to", "/tmp/never.db")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(b"pg_dump", p.stderr)
        self.assertNotIn(b"pw", p.stderr.replace(b"pg_dump", b""))
        self.assertFalse(os.path.exists("/tmp/never.db"))


if __name__ == "__main__":
    unittest.main()
