"""API keys' prefix and "last used" against the real binary (docs/CLI.md `key list`,
auth/key_usage.c): the listed prefix is the start of the key; the first API call with a key is
recorded at once; a second call within the minute is not written (seen after the server's
flush at SIGTERM); a call a minute later on the test clock is; the time never goes back; a
revoked key's failed calls record nothing. Runs on SQLite, and on PostgreSQL with the api
suites."""

import datetime
import os
import time
import unittest

from sitest import ApiTestCase, Server, Tenant, wait_until

QUERY = ("POST", "/invites/site-invite/query", {"query": {}})


def to_ms(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return round(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


class KeyUsage(ApiTestCase):
    def setUp(self):
        self.server = Server(test_clock=True)
        self.server.start()
        self.addCleanup(self.server.close)
        self.t = Tenant(self.server)

    def key_row(self, key_id):
        rows = self.server.cli("key", "list", "--account", self.t.account_id)["keys"]
        return next(r for r in rows if r["id"] == key_id)

    def used_ms(self, key_id):
        v = self.key_row(key_id)["lastUsed"]
        return to_ms(v) if v else None

    def call(self, key=None):
        r = self.t.call(*QUERY, key=key)
        self.assertStatus(r, 200)

    def test_prefix_is_the_start_of_the_key(self):
        row = self.key_row(self.t.key_id)
        self.assertEqual(row["prefix"], self.t.key[:10])
        self.assertRegex(row["prefix"], r"^sik_[A-Za-z0-9_-]{6}$")
        self.assertIsNone(row["lastUsed"])
        self.assertIsNone(row["revoked"])
        # A second key: another prefix, shown in the table of people too.
        key_id, key = self.t.add_key(["site-users.read"])
        text = self.server.cli("key", "list", "--account", self.t.account_id, json_out=False)
        self.assertIn(key[:10], text)
        self.assertIn(self.t.key[:10], text)
        self.assertNotIn(key[10:20], text)  # never more of the key than its prefix

    def test_used_twice_within_a_minute_is_written_once(self):
        before = int(time.time() * 1000)
        self.call()
        first = wait_until(lambda: self.used_ms(self.t.key_id), what="the first use written")
        self.assertGreaterEqual(first, before - 1000)
        time.sleep(0.05)  # the second call's time differs from the first's
        self.call()
        # The server's stop writes whatever is still queued: had the second call been handed
        # over, its later time would be there now.
        self.server.stop()
        self.assertEqual(self.used_ms(self.t.key_id), first)
        self.server.start()

    def test_a_minute_later_is_written(self):
        self.call()
        first = wait_until(lambda: self.used_ms(self.t.key_id), what="the first use written")
        self.server.advance_clock(61)  # the same process: its map says "written a minute ago"
        self.call()
        later = wait_until(lambda: (self.used_ms(self.t.key_id) or 0) > first and
                           self.used_ms(self.t.key_id), what="the later use written")
        self.assertGreaterEqual(later, first + 60000)

    def test_restart_does_not_go_back_and_revoked_records_nothing(self):
        self.server.advance_clock(3600)
        self.call()
        ahead = wait_until(lambda: self.used_ms(self.t.key_id), what="the first use written")
        # Back to the real clock in a new process: its use is older and must not win.
        self.server.stop()
        os.unlink(self.server.clock_file)
        self.server.start()
        self.call()
        self.server.stop()
        self.assertEqual(self.used_ms(self.t.key_id), ahead)
        self.server.start()
        key_id, key = self.t.add_key()
        self.t.revoke_key(key_id)
        r = self.t.call(*QUERY, key=key)
        self.assertAppError(r, 401, "UNAUTHENTICATED")
        self.server.stop()
        self.assertIsNone(self.key_row(key_id)["lastUsed"])
        self.server.start()


if __name__ == "__main__":
    unittest.main()
