"""Clock steps (issue 12, docs/FAULTS.md): the server's wall clock, moved through the test clock
(serve --test-clock-file), is set back a day and forward a week while the service runs. Expired
links stay expired, the resend window (5 per 24 h) neither resets nor stretches, time as the API
shows it never goes back, and the mail, expiry and webhook workers keep working."""

import unittest

from sitest import ApiTestCase, Server, Tenant, messages_to, unique_email, wait_until
from webhook_receiver import Receiver

DAY = 86400
HOOKS = "/invites/webhooks"
FAST = ["--allow-http-webhooks", "--webhook-retry-ms", "200", "--webhook-timeout-seconds", "1",
        "--webhook-connect-seconds", "1"]
RESENDS_PER_DAY = 5  # docs/API.md §3.4
WAIT_S = 20  # every worker acts within a second or two; this only bounds a failure


def token_of(invite):
    return invite["acceptLink"].rsplit("/", 1)[1]


class ClockSteps(ApiTestCase):
    def setUp(self):
        self.rx = Receiver().__enter__()
        self.addCleanup(self.rx.__exit__, None, None, None)
        self.server = Server(test_clock=True, extra_args=FAST)
        self.server.start()
        self.addCleanup(self.closeServerNo5xx, self.server)
        self.t = Tenant(self.server, "Clock")
        r = self.t.call("POST", HOOKS, {"url": self.rx.url("/clock"),
                                        "events": ["invite.created", "invite.expired"]})
        self.assertStatus(r, 200)

    def invite(self, email, **extra):
        r = self.t.bulk([email], **extra)
        self.assertStatus(r, 200)
        return r.json["invites"][0]

    def get(self, inv):
        r = self.t.get(inv["id"])
        self.assertStatus(r, 200)
        return r.json["invite"]

    def mails(self, addr, count):
        """Waits for count emails to addr, then a moment longer to see no extra one came."""
        wait_until(lambda: len(messages_to(self.server, addr)) >= count, timeout=WAIT_S,
                   what="%d emails to %s" % (count, addr))
        return len(messages_to(self.server, addr))

    def hooks(self, kind, inv):
        return self.rx.wait_for(lambda g: any(r.type == kind and r.json["data"]["id"] == inv["id"]
                                              for r in g), timeout=WAIT_S,
                                what="%s for %s" % (kind, inv["id"]))

    def swept(self, inv):
        """Waits until the expiry sweep stored Expired (dateUpdated moves past the expiry)."""
        return wait_until(lambda: (lambda j: j if j["status"] == "Expired" and
                                   j["dateUpdated"] >= j["expirationDate"] else None)(self.get(inv)),
                          timeout=WAIT_S, what="the sweep to store Expired on %s" % inv["id"])

    def assert_refused(self, inv):
        """An expired link: the API accept is 428, the page 410."""
        r = self.server.request("POST", "/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertAppError(r, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING")
        self.assertStatus(self.server.get_page(inv["acceptLink"]), 410)

    def test_back_a_day_then_forward_a_week(self):
        short_addr, long_addr = unique_email("short"), unique_email("long")
        short = self.invite(short_addr, expiresInDays=1)
        long = self.invite(long_addr)
        self.assertEqual(self.mails(short_addr, 1), 1)
        self.assertEqual(self.mails(long_addr, 1), 1)

        # A day and an hour on: short expires and is swept; long sends its 5 resends of the day.
        self.server.advance_clock(DAY + 3600)
        self.assertEqual(self.swept(short)["status"], "Expired")
        self.hooks("invite.expired", short)
        self.assert_refused(short)
        for i in range(RESENDS_PER_DAY):
            self.assertStatus(self.t.resend(long["id"]), 200)
        self.assertAppError(self.t.resend(long["id"]), 429, "RESOURCE_EXHAUSTED")
        self.assertEqual(self.mails(long_addr, 1 + RESENDS_PER_DAY), 1 + RESENDS_PER_DAY)
        before_step = self.get(long)["dateUpdated"]

        # The wall clock steps back a day: short's expiry is ahead of the wall again.
        self.server.advance_clock(-DAY)
        later_addr = unique_email("later")
        later = self.invite(later_addr, expiresInDays=1)
        # Time as the API shows it never goes back (the service holds its time).
        self.assertGreaterEqual(later["dateCreated"], before_step)
        self.assertEqual(self.get(short)["status"], "Expired")
        self.assert_refused(short)
        # The window neither reset (5 resends stay counted) nor stretched past 24 hours.
        r = self.t.resend(long["id"])
        self.assertAppError(r, 429, "RESOURCE_EXHAUSTED")
        self.assertLessEqual(int(r.header("Retry-After")), DAY)
        # The workers go on: the new invite's email and its webhook come.
        self.assertEqual(self.mails(later_addr, 1), 1)
        self.hooks("invite.created", later)
        self.assertIn("stepped back", self.server.log_text())

        # A week forward: later expires and is swept (expiry worker), its webhook comes
        # (webhook worker), the resend window is empty again, and mail still flows.
        self.server.advance_clock(7 * DAY)
        self.assertEqual(self.swept(later)["status"], "Expired")
        self.hooks("invite.expired", later)
        self.assert_refused(later)
        r = self.t.resend(long["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invite"]["status"], "Pending")
        self.assertEqual(self.mails(long_addr, 2 + RESENDS_PER_DAY), 2 + RESENDS_PER_DAY)
        last_addr = unique_email("last")
        last = self.invite(last_addr)
        self.assertGreater(last["dateCreated"], later["dateCreated"])
        self.assertEqual(self.mails(last_addr, 1), 1)
        self.assertEqual(self.get(short)["status"], "Expired")

        # Exactly the emails queued, none twice: 1 each, long 1 + 5 + 1.
        for addr, n in ((short_addr, 1), (later_addr, 1), (last_addr, 1),
                        (long_addr, 2 + RESENDS_PER_DAY)):
            self.assertEqual(len(messages_to(self.server, addr)), n, addr)


if __name__ == "__main__":
    unittest.main()
