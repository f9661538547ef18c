"""Idempotency-Key and dry runs end to end (docs/IDEMPOTENCY.md): a replay is the first answer
byte for byte with Idempotent-Replayed, another body is 409 IDEMPOTENCY_KEY_REUSED, 20
concurrent twins make one set of invites, one set of emails and one set of invite.created
webhook events (a real receiver on 127.0.0.1, tests/support/webhook_receiver.py), keys are per account, bad keys
are 400, records expire and are swept, and a dry run writes, queues and mails nothing. Runs on
SQLite, and on PostgreSQL again from tests/pg."""

import json
import socket
import sqlite3
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from sitest import (ROLE_BLOG_WRITER, ApiTestCase, Server, Tenant, messages_to, psql,
                    unique_email, wait_until)
from webhook_receiver import Receiver, verify

TWINS = 20
MAIL_WAIT_S = 15
BULK = "/invites/site-invite/bulk"
CREATE = "/invites/site-invite"


def new_key():
    return "key-" + uuid.uuid4().hex


def db_scalar(server, sql):
    """One value from the server's database, SQLite or PostgreSQL."""
    if server.pg_db:
        return int(psql(server.db, sql))
    with sqlite3.connect(server.db_path) as db:
        return db.execute(sql).fetchone()[0]


def outbox_rows(server):
    s = server.cli("outbox", "status")
    return s["queued"] + s["sent"] + s["failed"] + s["cancelled"]


class IdempotencyTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        # http:// to the loopback webhook receiver of the twins test.
        cls.server = Server(extra_args=["--allow-http-webhooks"]).__enter__()
        cls.t = Tenant(cls.server, "Idem", contributor_limit=5000)
        cls.rx = Receiver().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.rx.__exit__(None, None, None)
        cls.closeServerNo5xx(cls.server)

    def keyed(self, method, path, body, key, t=None):
        return (t or self.t).call(method, path, body, headers={"Idempotency-Key": key})

    def wait_mail(self, addr, count=1):
        return wait_until(lambda: (lambda m: m if len(m) >= count else None)(
            messages_to(self.server, addr)), MAIL_WAIT_S, what="%d mail(s) to %s" % (count, addr))

    def settle_outbox(self):
        """Waits until the mail worker has handled every queued email."""
        wait_until(lambda: self.server.cli("outbox", "status")["queued"] == 0, MAIL_WAIT_S,
                   what="an empty outbox queue")

    # ---- replay ------------------------------------------------------------------------------
    def test_replay_is_the_first_answer(self):
        addrs = [unique_email("replay") for _ in range(3)]
        body = {"policyIds": [ROLE_BLOG_WRITER], "emails": addrs + ["broken"]}
        key = new_key()
        first = self.keyed("POST", BULK, body, key)
        self.assertStatus(first, 200)
        self.assertIsNone(first.header("Idempotent-Replayed"))
        again = self.keyed("POST", BULK, body, key)
        self.assertStatus(again, 200)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(again.body, first.body)  # same IDs, same links, byte for byte
        self.assertEqual(len(first.json["invites"]), 3)
        self.assertTrue(all(i["acceptLink"] for i in again.json["invites"]))
        self.settle_outbox()
        for a in addrs:
            self.assertEqual(len(messages_to(self.server, a)), 1, a)
            self.assertEqual(len(self.t.query_all({"email": a})), 1)

    def test_replay_of_create_one_and_of_an_error(self):
        addr = unique_email("one")
        key = new_key()
        body = {"email": addr, "policyIds": [ROLE_BLOG_WRITER]}
        first = self.keyed("POST", CREATE, body, key)
        self.assertStatus(first, 200)
        again = self.keyed("POST", CREATE, body, key)
        self.assertEqual((again.status, again.body), (first.status, first.body))
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        # A 4xx is recorded too: the retry gets the same error, the handler does not run again.
        inv = first.json["invite"]
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        bad_key = new_key()
        refused = self.keyed("POST", "/invites/site-invite/%s/resend" % inv["id"], {}, bad_key)
        self.assertAppError(refused, 428, "FAILED_PRECONDITION", "INVITE_NOT_RESENDABLE")
        replayed = self.keyed("POST", "/invites/site-invite/%s/resend" % inv["id"], {}, bad_key)
        self.assertEqual((replayed.status, replayed.body), (refused.status, refused.body))
        self.assertEqual(replayed.header("Idempotent-Replayed"), "true")

    def test_other_body_is_reused(self):
        key = new_key()
        self.assertStatus(self.keyed("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER],
                                                    "emails": [unique_email()]}, key), 200)
        other = unique_email("other")
        r = self.keyed("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER], "emails": [other]}, key)
        self.assertAppError(r, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_REUSED")
        self.assertIsNone(r.header("Idempotent-Replayed"))
        self.assertEqual(self.t.query_all({"email": other}), [])
        # Another path with the key is another request as well.
        r = self.keyed("POST", CREATE, {"email": other, "policyIds": [ROLE_BLOG_WRITER]}, key)
        self.assertAppError(r, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_REUSED")

    def test_keys_are_per_account(self):
        other = Tenant(self.server, "Other", contributor_limit=50)
        key = new_key()
        body = {"policyIds": [ROLE_BLOG_WRITER], "emails": [unique_email("mine")]}
        mine = self.keyed("POST", BULK, body, key)
        self.assertStatus(mine, 200)
        theirs = self.keyed("POST", BULK, body, key, t=other)
        self.assertStatus(theirs, 200)
        self.assertIsNone(theirs.header("Idempotent-Replayed"))
        self.assertEqual(theirs.json["invites"][0]["siteId"], other.site_id)
        self.assertNotEqual(theirs.json["invites"][0]["id"], mine.json["invites"][0]["id"])
        # The same key on another site of the same account is another request: refused.
        site2 = self.t.for_site(self.t.add_site("Second " + uuid.uuid4().hex[:6]))
        r = self.keyed("POST", BULK, body, key, t=site2)
        self.assertAppError(r, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_REUSED")

    def test_bad_keys_are_400(self):
        body = {"policyIds": [ROLE_BLOG_WRITER], "emails": [unique_email("bad")]}
        for key in ("", "x" * 256, "caf\u00e9", "tab\there", "del\x7f"):
            r = self.t.call("POST", BULK, body, headers={"Idempotency-Key": key})
            self.assertValidation(r, "Idempotency-Key", "FORMAT")
        ok = self.keyed("POST", BULK, body, "~" * 255)  # 255 printable characters is fine
        self.assertStatus(ok, 200)

    def test_reads_ignore_the_key(self):
        key = new_key()
        q = self.keyed("POST", "/invites/site-invite/query", {"query": {}}, key)
        self.assertStatus(q, 200)
        r = self.keyed("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER],
                                      "emails": [unique_email()]}, key)
        self.assertStatus(r, 200)  # the query did not take the key

    def test_client_gone_before_the_answer(self):
        """A client that sends a keyed call and hangs up before the answer: the call's answer is
        still recorded, so the retry replays it (or runs it, if the call never started) instead
        of finding the key claimed until its lease ends."""
        addrs = [unique_email("gone") for _ in range(50)]
        data = json.dumps({"policyIds": [ROLE_BLOG_WRITER], "emails": addrs}).encode()
        key = new_key()
        head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                "wix-site-id: %s\r\nIdempotency-Key: %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % (BULK, self.t.key, self.t.site_id, key,
                                                   len(data)))
        with socket.create_connection(("127.0.0.1", self.server.port)) as sock:
            sock.sendall(head.encode() + data)
            sock.shutdown(socket.SHUT_WR)
        retry = self.keyed("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER], "emails": addrs}, key)
        self.assertStatus(retry, 200)
        self.assertEqual(len(retry.json["invites"]), len(addrs))
        self.assertEqual(len(self.t.query_all({"email": addrs[0]})), 1)

    # ---- concurrency -------------------------------------------------------------------------
    def test_twenty_twins_make_one_set(self):
        # A site of its own with a subscribed endpoint: its events are the twins' only.
        t = self.t.for_site(self.t.add_site("Twins " + uuid.uuid4().hex[:6], 5000))
        hook = t.call("POST", "/invites/webhooks",
                      {"url": self.rx.url("/twins"), "events": ["invite.created"]})
        self.assertStatus(hook, 200)
        addrs = [unique_email("twin") for _ in range(5)]
        body = {"policyIds": [ROLE_BLOG_WRITER], "emails": addrs}
        key = new_key()
        before = outbox_rows(self.server)
        with ThreadPoolExecutor(max_workers=TWINS) as pool:
            answers = list(pool.map(lambda _: self.keyed("POST", BULK, body, key, t),
                                    range(TWINS)))
        ok = [r for r in answers if r.status == 200]
        for r in answers:
            if r.status != 200:
                self.assertAppError(r, 409, "ALREADY_EXISTS", "IDEMPOTENCY_KEY_IN_USE")
        self.assertTrue(ok, answers)
        self.assertEqual(len({r.body for r in ok}), 1, "twins answered differently")
        fresh = [r for r in ok if r.header("Idempotent-Replayed") is None]
        self.assertLessEqual(len(fresh), 1)
        for a in addrs:
            self.assertEqual(len(t.query_all({"email": a})), 1, a)
        self.assertEqual(outbox_rows(self.server) - before, len(addrs))
        got = self.rx.assert_one_set(self, "/twins", t.site_id,
                                     [i["id"] for i in ok[0].json["invites"]],
                                     lambda sql: db_scalar(self.server, sql))
        for r in got:
            self.assertTrue(verify(hook.json["webhook"]["secret"], r.headers, r.body))
        self.settle_outbox()
        for a in addrs:
            self.assertEqual(len(messages_to(self.server, a)), 1, a)

    # ---- dry run -----------------------------------------------------------------------------
    def test_dry_run_writes_and_sends_nothing(self):
        t = self.t.for_site(self.t.add_site("Dry " + uuid.uuid4().hex[:6], 10))
        self.settle_outbox()
        mails, rows = len(self.server.maildir_messages()), outbox_rows(self.server)
        addr, addr2 = unique_email("dry"), unique_email("dry1")
        r = t.bulk([addr, "broken"], dryRun=True)
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        self.assertEqual(inv["email"], addr)
        self.assertNotIn("id", inv)
        self.assertNotIn("acceptLink", inv)
        self.assertEqual(inv["status"], "Pending")
        self.assertEqual(r.json["failedEmails"], ["broken"])
        self.assertEqual(r.json["failures"][0]["code"], "INVALID_EMAIL")
        one = t.call("POST", CREATE, {"email": addr2, "policyIds": [ROLE_BLOG_WRITER],
                                      "dryRun": True})
        self.assertStatus(one, 200)
        self.assertNotIn("id", one.json["invite"])
        self.assertNotIn("acceptLink", one.json["invite"])
        self.assertEqual(one.json["invite"]["email"], addr2)
        self.assertEqual(t.query_all(), [])
        seats = t.call("GET", "/invites/site-invite/contributor-limit")
        self.assertEqual(seats.json["contributorLimitation"]["leftInvites"], 10)
        self.assertEqual(outbox_rows(self.server), rows)
        # A real invite after the dry runs is mailed; by then a dry run's mail would be too.
        marker = unique_email("marker")
        self.assertStatus(t.bulk([marker]), 200)
        self.wait_mail(marker)
        self.settle_outbox()
        self.assertEqual(len(self.server.maildir_messages()), mails + 1)
        self.assertEqual(messages_to(self.server, addr) + messages_to(self.server, addr2), [])

    def test_dry_run_reports_what_would_fail(self):
        t = self.t.for_site(self.t.add_site("Full " + uuid.uuid4().hex[:6], 1))
        self.assertStatus(t.bulk([unique_email("seat")]), 200)
        r = t.bulk([unique_email("nope")], dryRun=True)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invites"], [])
        self.assertEqual(r.json["failures"][0]["code"], "CONTRIBUTOR_LIMIT_REACHED")
        one = t.call("POST", CREATE, {"email": unique_email("nope1"),
                                      "policyIds": [ROLE_BLOG_WRITER], "dryRun": True})
        self.assertAppError(one, 428, "FAILED_PRECONDITION", "CONTRIBUTOR_LIMIT_REACHED")


class IdempotencyExpiryTest(ApiTestCase):
    """With the test-only --idempotency-ttl-seconds 1: a record is void after a second and the
    expiry sweep deletes it."""

    def test_records_expire_and_are_swept(self):
        with Server(extra_args=["--idempotency-ttl-seconds", "1"]) as server:
            t = Tenant(server, "Ttl", contributor_limit=50)
            key = new_key()
            first = t.call("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER],
                                          "emails": [unique_email("ttl")]},
                           headers={"Idempotency-Key": key})
            self.assertStatus(first, 200)
            sql = "SELECT count(*) FROM idempotency_keys WHERE key = '%s'" % key
            self.assertEqual(db_scalar(server, sql), 1)
            wait_until(lambda: db_scalar(server, sql) == 0, 15, what="the record swept")
            # Void now: the key runs another request instead of answering REUSED.
            other = t.call("POST", BULK, {"policyIds": [ROLE_BLOG_WRITER],
                                          "emails": [unique_email("ttl2")]},
                           headers={"Idempotency-Key": key})
            self.assertStatus(other, 200)
            self.assertIsNone(other.header("Idempotent-Replayed"))
            self.assertNo5xx(server)


if __name__ == "__main__":
    unittest.main()
