"""Invites and their emails without foreign keys on PostgreSQL (schema 23, docs/SCALING.md
"Foreign keys on the write path"): the two constraints are gone, and every kind of write still
leaves each invite with its site and each email with its invite. Bulk (new, repeated and
already pending addresses, a dry run, two sites), Create One, resend, revoke, the invitee's
answer and a reminder are each made at least once, then the tables are checked. Needs
SI_TEST_STORE_URL (tests/pg/pg_server.sh run); fails without it."""
import re
import unittest

from sitest import ApiTestCase, Server, Tenant, psql, unique_email, wait_until

DAY = 86400
FOREIGN_KEYS = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'" \
    " AND conrelid = '%s'::regclass"
ORPHAN_EMAILS = "SELECT count(*) FROM outbox o WHERE NOT EXISTS" \
    " (SELECT 1 FROM invites i WHERE i.id = o.invite_id)"
ORPHAN_INVITES = "SELECT count(*) FROM invites i WHERE NOT EXISTS" \
    " (SELECT 1 FROM sites s WHERE s.id = i.site_id)"


class Orphans(ApiTestCase):
    def setUp(self):
        self.server = Server(test_clock=True)  # a fresh database on the test cluster
        self.server.start()
        self.addCleanup(self.server.close)
        self.assertTrue(self.server.db.startswith("postgres"), "run under tests/pg/pg_server.sh")

    def sql(self, q):
        return psql(self.server.db, q)

    def test_every_write_keeps_its_references(self):
        self.assertEqual(self.sql(FOREIGN_KEYS % "invites"), "0")
        self.assertEqual(self.sql(FOREIGN_KEYS % "outbox"), "0")

        t = Tenant(self.server, contributor_limit=1000)
        self.assertStatus(t.call("PATCH", "/invites/site-settings",
                                 {"reminderDaysBeforeExpiry": 2}), 200)
        first = [unique_email("o%d" % i) for i in range(30)]
        r = t.bulk(first + first[:5])  # an address twice in one call
        self.assertStatus(r, 200)
        ids = [v["id"] for v in r.json["invites"]]
        self.assertStatus(t.bulk(first[10:20] + [unique_email("more")]), 200)  # already pending
        self.assertStatus(t.bulk([unique_email("dry")], dryRun=True), 200)
        one = t.call("POST", "/invites/site-invite",
                     {"email": unique_email("one"), "policyIds": r.json["invites"][0]["policyIds"]})
        self.assertStatus(one, 200)
        self.assertStatus(t.resend(ids[1]), 200)
        self.assertStatus(t.revoke(ids[2]), 200)
        other = t.for_site(t.add_site("Second", 1000))
        self.assertStatus(other.bulk([unique_email("s%d" % i) for i in range(20)]), 200)

        # The invitee's answer: the first invite accepted through its page's form.
        link = r.json["invites"][0]["acceptLink"]
        page = self.server.get_page(link)
        self.assertStatus(page, 200)
        form = re.search(r'name="form_token" value="([A-Za-z0-9_-]+)"', page.body.decode())
        answer = self.server.request(
            "POST", "/invite/%s/accept" % link.rsplit("/", 1)[1],
            raw=("form_token=%s" % form.group(1)).encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"Sec-Fetch-Site": "same-origin"})
        self.assertStatus(answer, 200)
        self.assertEqual(t.get(ids[0]).json["invite"]["status"], "Used")

        # A reminder: two days before expiry (30 days by default).
        self.server.advance_clock(28 * DAY + 3600)
        wait_until(lambda: self.sql("SELECT count(*) FROM outbox WHERE kind = 2") != "0",
                   timeout=30, what="a reminder queued")

        kinds = self.sql("SELECT string_agg(DISTINCT kind::text, ',' ORDER BY kind::text)"
                         " FROM outbox")
        self.assertEqual(kinds, "0,1,2")  # invitations, a resend, reminders
        self.assertGreaterEqual(int(self.sql("SELECT count(*) FROM invites")), 52)
        self.assertEqual(self.sql(ORPHAN_EMAILS), "0")
        self.assertEqual(self.sql(ORPHAN_INVITES), "0")
        self.assertNo5xx(self.server)


if __name__ == "__main__":
    unittest.main()
