"""Reminders (issue 10) with two `serve` processes on one PostgreSQL database and one test clock:
both sweep every 500 ms and claim due invites in one statement, so each pending invite gets
exactly one reminder between them, counted once and recorded by one audit entry. Needs SI_TEST_STORE_URL (tests/pg/pg_server.sh
run); fails without it."""
import unittest

from sitest import Tenant, messages_to, psql, two_instances, unique_email, wait_until

DAY = 86400
INVITES = 40


class SharedRemindersTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = two_instances(self, test_clock=True)

    def mails_to(self, addr):
        return messages_to(self.a, addr) + messages_to(self.b, addr)

    def test_each_invite_reminded_once_across_instances(self):
        t = Tenant(self.a, "Twice")
        r = t.call("PATCH", "/invites/site-settings", {"reminderDaysBeforeExpiry": 2})
        self.assertEqual(r.status, 200, r)
        emails = [unique_email("r%d" % i) for i in range(INVITES)]
        r = t.bulk(emails)
        self.assertEqual(len(r.json["invites"]), INVITES, r)
        wait_until(lambda: all(len(self.mails_to(e)) == 1 for e in emails), timeout=30,
                   what="the invitations")

        self.a.advance_clock(28 * DAY + 3600)
        wait_until(lambda: all(len(self.mails_to(e)) >= 2 for e in emails), timeout=30,
                   what="a reminder to every address")
        # A sentinel due a day later proves both instances swept again after the claims.
        late = unique_email("late")
        t.bulk([late], expiresInDays=30)  # created now (day 28), due at day 56
        wait_until(lambda: len(self.mails_to(late)) == 1, what="the sentinel's invitation")
        self.a.advance_clock(28 * DAY)
        wait_until(lambda: len(self.mails_to(late)) == 2, timeout=30, what="the sentinel reminder")

        for e in emails:
            self.assertEqual(len(self.mails_to(e)), 2, e)
        self.assertEqual(psql(self.a.db, "SELECT count(*) FROM outbox WHERE kind = 2"),
                         str(INVITES + 1))
        self.assertEqual(psql(self.a.db, "SELECT count(*) FROM invites WHERE send_count = 2"),
                         str(INVITES + 1))
        # Exactly one invite.reminded audit entry per invite, written with its claim.
        reminded = "FROM audit_log WHERE action = 'invite.reminded' AND actor_type = 'system'"
        self.assertEqual(psql(self.a.db, "SELECT count(*) " + reminded), str(INVITES + 1))
        self.assertEqual(psql(self.a.db, "SELECT count(DISTINCT target_id) " + reminded),
                         str(INVITES + 1))
        # Both instances took part in the sweeping (each logs what it queued), or one claimed
        # everything first: either way nothing was queued twice, as counted above.
        queued = [s for s in (self.a, self.b) if "reminders: queued" in s.log_text()]
        self.assertTrue(queued)


if __name__ == "__main__":
    unittest.main()
