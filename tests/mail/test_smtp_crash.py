"""kill -9 of the service in the middle of a 500-message SMTP batch (issue 3): after a restart
every invite's email has arrived, and any message that arrived twice carries the same
Message-ID both times (the outbox delivers at least once, never zero times)."""

import collections
import unittest

from sitest import ApiTestCase, Server, Tenant, unique_email, wait_until
from smtpd import SmtpServer

TOTAL = 500
LEASE_S = 2        # a killed worker's claimed rows come back after this
MAIL_WAIT_S = 40
SLOW_S = 0.004     # per message at the server, so the kill lands mid-batch


class KillMidBatchTest(ApiTestCase):
    def test_kill9_mid_batch_then_restart(self):
        with SmtpServer() as smtp:
            smtp.handler.delay_s = SLOW_S
            # The lease must outlive one SMTP try (serve refuses otherwise).
            args = ["--smtp-url", smtp.url, "--mail-lease-seconds", str(LEASE_S),
                    "--smtp-timeout-seconds", "1", "--mail-retry-ms", "100"]
            with Server(extra_args=args) as server:
                t = Tenant(server, "Crash", contributor_limit=TOTAL + 10)
                addrs = [unique_email("crash%03d" % i) for i in range(TOTAL)]
                # One call: every row is queued before the worker can finish any batch.
                r = t.bulk(addrs)
                self.assertEqual(r.status, 200, r)
                ids = {i["email"].lower(): i["id"] for i in r.json["invites"]}
                self.assertEqual(len(ids), TOTAL)
                got = wait_until(lambda: smtp.handler.count >= 50 and smtp.handler.count,
                                 MAIL_WAIT_S, interval=0.005, what="the batch under way")
                server.kill9()
                before = smtp.handler.count
                self.assertLess(before, TOTAL, "the kill came after the whole batch")
                self.assertGreaterEqual(before, got)
                server.start()
                want = {a.lower() for a in addrs}
                wait_until(lambda: want <= {r.lower() for m in smtp.handler.all()
                                            for r in m.rcpt_tos},
                           MAIL_WAIT_S, what="every invite's email after the restart")
                by_rcpt = collections.defaultdict(list)
                for m in smtp.handler.all():
                    for rcpt in m.rcpt_tos:
                        by_rcpt[rcpt.lower()].append(m.parsed()["Message-ID"])
                self.assertEqual(set(by_rcpt), want)
                dups = {a: v for a, v in by_rcpt.items() if len(v) > 1}
                for addr, mids in dups.items():
                    self.assertEqual(len(set(mids)), 1, "a duplicate with another Message-ID")
                self.assertLessEqual(len(dups), 100, "more duplicates than one batch in flight")
                # Every invite ends Sent.
                def all_sent():
                    rows = t.query_all()
                    return all(i["delivery"]["status"] == "Sent" for i in rows) and rows
                rows = wait_until(all_sent, MAIL_WAIT_S, what="every delivery Sent")
                self.assertEqual(len(rows), TOTAL)


if __name__ == "__main__":
    unittest.main()
