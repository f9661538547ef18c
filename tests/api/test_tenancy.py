"""Tenancy (docs/API.md §2): a key acts only for its own account and an invite is found only in its own
site; queries and cursors never cross sites."""

import unittest
import uuid

from sitest import ROLE_ADMIN, ApiTestCase, Server, Tenant, unique_email


class TenancyTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()
        try:
            cls.a = Tenant(cls.server, "Alpha")
            cls.a2 = cls.a.for_site(cls.a.add_site("Alpha Second"))
            cls.b = Tenant(cls.server, "Beta")
            shared = unique_email("shared")  # the same person invited to all three sites
            cls.inv = {}
            for name, t in (("a", cls.a), ("a2", cls.a2), ("b", cls.b)):
                r = t.bulk([shared] + [unique_email(name) for _ in range(6)])
                assert r.status == 200, r
                cls.inv[name] = {i["id"] for i in r.json["invites"]}
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        # The suite-wide promise, checked over every answer of the class whatever ran (it used
        # to be a test named to run last, which checked nothing when run alone).
        cls.closeServerNo5xx(cls.server)

    def test_key_of_b_on_site_of_a_is_403(self):
        some = next(iter(self.inv["a"]))
        calls = [
            self.b.call("POST", "/invites/site-invite/bulk",
                        {"policyIds": [ROLE_ADMIN], "emails": [unique_email()]},
                        site=self.a.site_id),
            self.b.get(some, site=self.a.site_id),
            self.b.revoke(some, site=self.a.site_id),
            self.b.query({}, site=self.a.site_id),
            self.b.call("GET", "/invites/site-invite/contributor-limit", site=self.a.site_id),
        ]
        for r in calls:
            self.assertAppError(r, 403, "PERMISSION_DENIED")
        self.assertEqual(self.a.get(some).json["invite"]["status"], "Pending")
        self.assertEqual({i["id"] for i in self.a.query_all()}, self.inv["a"])

    def test_invite_of_a_fetched_on_other_site_is_404(self):
        for iid in self.inv["a"]:
            self.assertAppError(self.a2.get(iid), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
            self.assertStatus(self.a.get(iid), 200)
        some = next(iter(self.inv["a"]))
        self.assertAppError(self.a2.revoke(some), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertAppError(self.a2.resend(some), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertAppError(self.a2.call("PATCH", "/invites/site-invite/" + some,
                                         {"staffId": "x"}), 404, "NOT_FOUND",
                            "INVITE_NOT_FOUND")
        self.assertEqual(self.a.get(some).json["invite"]["status"], "Pending")

    def test_query_and_list_stay_in_site(self):
        for name, t in (("a", self.a), ("a2", self.a2), ("b", self.b)):
            got = t.query_all(limit=3)
            self.assertEqual(sorted(i["id"] for i in got), sorted(self.inv[name]))
            self.assertTrue(all(i["siteId"] == t.site_id for i in got))
            listed = t.call("GET", "/invites/site-invites")
            self.assertStatus(listed, 200)
            self.assertTrue({i["id"] for i in listed.json["invites"]} <= self.inv[name])
            pending = t.query({"filter": {"status": "Pending"}, "cursorPaging": {"limit": 100}})
            self.assertEqual({i["id"] for i in pending.json["invites"]}, self.inv[name])

    def test_cursor_of_site_a_refused_on_site_b(self):
        r = self.a.query({"cursorPaging": {"limit": 2}})
        self.assertStatus(r, 200)
        cursor = r.json["pagingMetadata"]["cursors"]["next"]
        self.assertTrue(cursor)
        ok = self.a.query({"cursorPaging": {"limit": 2, "cursor": cursor}})
        self.assertStatus(ok, 200)
        self.assertTrue({i["id"] for i in ok.json["invites"]} <= self.inv["a"])
        self.assertValidation(self.a2.query({"cursorPaging": {"limit": 2, "cursor": cursor}}))
        self.assertValidation(self.b.query({"cursorPaging": {"limit": 2, "cursor": cursor}}))

    def test_account_header_must_match_key(self):
        ok = self.a.query({}, headers={"wix-account-id": self.a.account_id})
        self.assertStatus(ok, 200)
        bad = self.a.query({}, headers={"wix-account-id": self.b.account_id})
        self.assertIn(bad.status, (401, 403), repr(bad))
        self.assertErrorShape(bad)
        bad = self.a.query({}, headers={"wix-account-id": str(uuid.uuid4())})
        self.assertIn(bad.status, (401, 403), repr(bad))


if __name__ == "__main__":
    unittest.main()
