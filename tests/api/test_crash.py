"""Crash safety (docs/API.md §3.2, §5): kill -9 the server in the middle of bulk traffic, restart it on
the same files, and check that every acknowledged invite exists and that every stored invite
gets exactly one email (a duplicate only with the same Message-ID)."""

import collections
import http.client
import os
import threading
import unittest
import uuid

from sitest import ApiTestCase, Server, Tenant, accept_links, message_text, wait_until

THREADS = 4
CALLS_BEFORE_KILL = 24  # acknowledged bulk calls (all threads) before the kill
# Rows the killed process had claimed come back only when their lease ends (60 s by default);
# a 3 s lease keeps the test short, and the deadline still leaves room past it.
MAIL_LEASE_S = 3
MAIL_DEADLINE_S = 30


class CrashTest(ApiTestCase):
    def test_kill9_during_bulk_traffic(self):
        with Server(extra_args=["--mail-lease-seconds", str(MAIL_LEASE_S)]) as server:
            t = Tenant(server, "Crashco", contributor_limit=100000)
            acked = []           # invite IDs answered 200 before the kill
            acked_calls = [0]
            lock = threading.Lock()
            stop = threading.Event()
            errors = []

            def fire(worker):
                n = 0
                while not stop.is_set():
                    size = 20 + (n * 7 + worker * 13) % 31  # 20..50 emails
                    emails = ["c%d-%d-%d-%s@crash.example" % (worker, n, i, uuid.uuid4().hex[:6])
                              for i in range(size)]
                    n += 1
                    try:
                        r = t.bulk(emails)
                    except (OSError, http.client.HTTPException):
                        return  # the server died under us: expected
                    if r.status != 200:
                        errors.append(r)
                        return
                    with lock:
                        acked.extend(i["id"] for i in r.json["invites"])
                        acked_calls[0] += 1

            threads = [threading.Thread(target=fire, args=(w,)) for w in range(THREADS)]
            for th in threads:
                th.start()
            try:
                wait_until(lambda: acked_calls[0] >= CALLS_BEFORE_KILL or errors, 30,
                           interval=0.01, what="bulk calls before the kill")
                self.assertEqual(errors, [])
                alive = sum(th.is_alive() for th in threads)
                server.kill9()  # threads are still firing: requests are in flight
            finally:
                stop.set()
                for th in threads:
                    th.join(30)
            self.assertEqual(alive, THREADS, "traffic had stopped before the kill")
            with lock:
                acked_ids = list(acked)
            self.assertGreaterEqual(len(acked_ids), CALLS_BEFORE_KILL * 20)

            server.start()
            for iid in acked_ids:
                r = t.get(iid)
                self.assertStatus(r, 200, "acknowledged invite %s lost in the crash: %r"
                                  % (iid, r))
            stored = t.query_all(limit=100)
            # Match mail to invites by token: the link's host part carries the port, which the
            # restart changed (the base URL defaults to the listen address).
            tokens = {i["acceptLink"].rsplit("/", 1)[1]: i["id"] for i in stored}
            self.assertEqual(len(tokens), len(stored), "accept tokens are not unique")
            self.assertTrue(set(acked_ids) <= set(tokens.values()))

            def mail_by_invite():
                by = collections.defaultdict(list)
                for name, msg in server.maildir_messages():
                    plain, html = message_text(msg)
                    found = {link.rsplit("/", 1)[1] for link in accept_links(plain)}
                    for tok in found & set(tokens):
                        by[tokens[tok]].append((name, msg["Message-ID"]))
                return by if len(by) == len(tokens) else None

            by = wait_until(mail_by_invite, MAIL_DEADLINE_S, interval=0.2,
                            what="one email per stored invite")
            for iid, msgs in by.items():
                ids = {mid for _, mid in msgs}
                self.assertEqual(len(ids), 1, "invite %s got %d different emails: %r"
                                 % (iid, len(ids), msgs))
            # Every delivered file is whole, and nothing half-written is left behind.
            for name, msg in server.maildir_messages():
                self.assertEqual(msg.get_content_type(), "multipart/alternative", name)
                self.assertEqual(len(msg.get_payload()), 2, "truncated message " + name)
            tmp = os.path.join(server.mail_dir, "tmp")
            self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
                             "half-written files left in tmp/")
            sent = wait_until(lambda: (lambda inv: inv if all(
                i["delivery"]["status"] == "Sent" for i in inv) else None)(t.query_all()),
                10, interval=0.2, what="delivery status Sent on every invite")
            self.assertEqual(len(sent), len(stored))
            self.assertNo5xx(server)


if __name__ == "__main__":
    unittest.main()
