"""The crash loop on PostgreSQL (issue 12): the loop of test_crash_loop.py (the same mixed load,
kill -9 of `serve` at a random moment, restart, the same invariants) with `serve` on a cluster
of this test's own (tests/support/pgcluster.py: synchronous_commit on, so a commit is in the WAL
before it is acknowledged). What the files must show is read with psql instead of sqlite3:

- no acknowledged write is lost (invites, accepts, revokes, resends' sendCount);
- no invite is both Used and Deleted, a contributor exists exactly for the Used ones;
- every Pending invite's newest email is Queued or Sent, its outbox rows equal its sendCount;
- the small site never holds more than its seats, and leftInvites agrees after the restart
  (PostgreSQL counts seats over the rows; there are no stored counters to compare);
- every email marked Sent is a whole file in new/, every file there belongs to an outbox row.
`PRAGMA integrity_check` has no PostgreSQL twin that applies: a killed client cannot corrupt the
server's files, so the check there is that the database answers after every kill.

PG_ROUNDS (default 15) rounds, about 45-50 s on the loaded machine; CRASH_SEED replays."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
import pgcluster  # noqa: E402
import test_crash_loop as loop  # noqa: E402
from sitest import Server  # noqa: E402

PG_ROUNDS = int(os.environ.get("PG_ROUNDS", "15"))
END = "--end-of-result--"  # printed after each statement's rows


class PgCrashLoopTest(loop.CrashLoopTest):
    rounds = PG_ROUNDS

    def setUp(self):
        self.pg = pgcluster.primary()
        self.addCleanup(self.pg.remove)
        self.pg.psql("CREATE DATABASE si")
        os.environ.pop("SI_TEST_STORE_URL", None)

    def make_server(self):
        server = Server(extra_args=["--mail-lease-seconds", str(loop.MAIL_LEASE_S)])
        server.db = self.pg.url("si")
        return server

    def query_all(self, server, sqls):
        """One psql for every statement (a psql start costs more than the queries): the rows of
        each, values as ints when they read as one (IDs and statuses stay text)."""
        args = ["psql", "-qXAt", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.pg.url("si")]
        for sql in sqls:
            args += ["-c", sql, "-c", "SELECT '%s'" % END]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        results, rows = [], []
        for line in out.splitlines():
            if line == END:
                results.append(rows)
                rows = []
                continue
            rows.append(tuple(int(v) if v.lstrip("-").isdigit() else v
                              for v in line.split("\t")))
        self.assertEqual(len(results), len(sqls), out[-500:])
        return results

    def check_whole(self, server, round_no):
        self.assertEqual(self.query(server, "SELECT 1"), [(1,)], "round %d" % round_no)

    def seat_counters(self, server):
        return {}  # counted over the rows; nothing stored to compare


if __name__ == "__main__":
    unittest.main()
