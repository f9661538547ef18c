"""Idempotency-Key across two `serve` processes on one PostgreSQL database: 20 identical
requests with one key, split over both instances at once, make one set of invites and one set of
emails and one set of invite.created webhook events (a real receiver on 127.0.0.1, both servers
delivering); every other answer is the same body replayed (Idempotent-Replayed) or 409
IDEMPOTENCY_KEY_IN_USE. Needs SI_TEST_STORE_URL (tests/pg/pg_server.sh run); fails without it."""
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor

from sitest import (ROLE_BLOG_WRITER, Tenant, messages_to, psql, two_instances, unique_email,
                    wait_until)
from webhook_receiver import Receiver, verify

TWINS = 20
MAIL_WAIT_S = 20


class SharedIdempotencyTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = two_instances(self, extra_args=["--allow-http-webhooks"])
        self.rx = Receiver().__enter__()
        self.addCleanup(self.rx.__exit__, None, None, None)

    def mails_to(self, addr):
        return messages_to(self.a, addr) + messages_to(self.b, addr)

    def test_one_set_across_instances(self):
        t = Tenant(self.a, "Shared", contributor_limit=500)
        on = {self.a: t, self.b: t.for_site(t.site_id)}
        on[self.b].server = self.b
        hook = t.call("POST", "/invites/webhooks",
                      {"url": self.rx.url("/shared"), "events": ["invite.created"]})
        self.assertEqual(hook.status, 200, hook)
        addrs = [unique_email("pgtwin") for _ in range(5)]
        body = {"policyIds": [ROLE_BLOG_WRITER], "emails": addrs}
        key = "shared-" + uuid.uuid4().hex

        def call(server):
            return on[server].call("POST", "/invites/site-invite/bulk", body,
                                   headers={"Idempotency-Key": key})

        with ThreadPoolExecutor(max_workers=TWINS) as pool:
            answers = list(pool.map(call, [self.a, self.b] * (TWINS // 2)))
        ok = [r for r in answers if r.status == 200]
        self.assertTrue(ok, answers)
        for r in answers:
            if r.status != 200:
                self.assertEqual(r.status, 409, r)
                self.assertEqual(r.json["details"]["applicationError"]["data"]["reason"],
                                 "IDEMPOTENCY_KEY_IN_USE")
        self.assertEqual(len({r.body for r in ok}), 1, "twins answered differently")
        self.assertLessEqual(len([r for r in ok if r.header("Idempotent-Replayed") is None]), 1)
        self.assertEqual(psql(self.a.db, "SELECT count(*) FROM invites"), str(len(addrs)))
        self.assertEqual(psql(self.a.db, "SELECT count(*) FROM outbox"), str(len(addrs)))
        self.assertEqual(psql(self.a.db, "SELECT count(*) FROM idempotency_keys"), "1")
        wait_until(lambda: psql(self.a.db, "SELECT count(*) FROM outbox WHERE status = 'Queued'")
                   == "0", MAIL_WAIT_S, what="the outbox drained")
        for addr in addrs:
            self.assertEqual(len(self.mails_to(addr)), 1, addr)
        got = self.rx.assert_one_set(self, "/shared", t.site_id,
                                     [i["id"] for i in ok[0].json["invites"]],
                                     lambda sql: int(psql(self.a.db, sql)))
        for r in got:
            self.assertTrue(verify(hook.json["webhook"]["secret"], r.headers, r.body))
        # Afterwards, either instance replays the same answer.
        for s in (self.a, self.b):
            r = call(s)
            self.assertEqual((r.status, r.body), (200, ok[0].body))
            self.assertEqual(r.header("Idempotent-Replayed"), "true")


if __name__ == "__main__":
    unittest.main()
