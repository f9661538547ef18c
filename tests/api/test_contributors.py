"""Contributors of a site against the real binary (docs/API.md §3.3): query, change role, remove (which
frees the seat), with their permissions and tenancy."""

import unittest

from sitest import (ApiTestCase, Server, Tenant, ROLE_ADMIN, ROLE_BLOG_WRITER, unique_email)

QUERY = "/roles-management/v2/contributors/query"
CHANGE = "/roles-management/contributor/change/role"
REMOVE = "/roles-management/contributor/remove"


class Contributors(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def join(self, t, email=None):
        """Invites and accepts; returns the contributor."""
        inv = t.bulk([email or unique_email()]).json["invites"][0]
        r = self.server.request("POST", "/site-invite/accept",
                                {"inviteToken": inv["acceptLink"].rsplit("/", 1)[1]})
        self.assertStatus(r, 200)
        return r.json["contributor"]

    def test_query_change_remove(self):
        t = Tenant(self.server, contributor_limit=2)
        self.assertEqual(t.call("GET", QUERY).json, {"contributors": []})
        a, b = self.join(t), self.join(t)
        got = t.call("GET", QUERY).json["contributors"]
        self.assertEqual([c["accountId"] for c in got], [a["accountId"], b["accountId"]])
        self.assertEqual(set(got[0]), {"id", "accountId", "email", "policyIds", "joinedAt",
                                       "inviteId"})
        # The site is full: pending and accepted both hold seats.
        r = t.bulk([unique_email()])
        self.assertEqual(r.json["failures"][0]["code"], "CONTRIBUTOR_LIMIT_REACHED")
        # Change role replaces the roles.
        r = t.call("PUT", CHANGE, {"accountId": a["accountId"].upper(),
                                   "newRoles": [{"roleId": ROLE_ADMIN}]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["contributor"]["policyIds"], [ROLE_ADMIN])
        got = t.call("GET", QUERY).json["contributors"]
        self.assertEqual(got[0]["policyIds"], [ROLE_ADMIN])
        self.assertEqual(got[1]["policyIds"], [ROLE_BLOG_WRITER])
        # Remove frees the seat; the address may then be invited again.
        self.assertStatus(t.call("POST", REMOVE, {"accountId": a["accountId"]}), 200)
        self.assertEqual([c["accountId"] for c in t.call("GET", QUERY).json["contributors"]],
                         [b["accountId"]])
        seats = t.call("GET", "/invites/site-invite/contributor-limit").json
        self.assertEqual(seats["contributorLimitation"]["leftInvites"], 1)
        r = t.bulk([a["email"]])
        self.assertEqual(len(r.json["invites"]), 1, repr(r))
        self.assertAppError(t.call("POST", REMOVE, {"accountId": a["accountId"]}), 404,
                            "NOT_FOUND")

    def test_validation(self):
        t = Tenant(self.server)
        c = self.join(t)
        self.assertValidation(t.call("POST", REMOVE, {}), "accountId", "REQUIRED_FIELD")
        self.assertValidation(t.call("POST", REMOVE, {"accountId": "nope"}), "accountId",
                              "FORMAT")
        self.assertValidation(t.call("PUT", CHANGE, {"accountId": c["accountId"]}), "newRoles",
                              "REQUIRED_FIELD")
        self.assertValidation(t.call("PUT", CHANGE, {"accountId": c["accountId"],
                                                     "newRoles": [{"roleId": "999"}]}),
                              "newRoles[0]", "INVALID_ENUM_VALUE")
        self.assertValidation(t.call("PUT", CHANGE, {"accountId": c["accountId"],
                                                     "newRoles": ["x"]}),
                              "newRoles[0].roleId", "REQUIRED_FIELD")
        self.assertAppError(t.call("PUT", CHANGE, {"accountId": c["accountId"][:-1] + "0"
                                                   if c["accountId"][-1] != "0" else
                                                   c["accountId"][:-1] + "1",
                                                   "newRoles": [{"roleId": ROLE_ADMIN}]}),
                            404, "NOT_FOUND")

    def test_permissions_and_tenancy(self):
        t = Tenant(self.server)
        c = self.join(t)
        _, reader = t.add_key(["site-users.read"])
        self.assertStatus(t.call("GET", QUERY, key=reader), 200)
        body = {"accountId": c["accountId"]}
        self.assertAppError(t.call("POST", REMOVE, body, key=reader), 403, "PERMISSION_DENIED")
        self.assertAppError(t.call("PUT", CHANGE, dict(body, newRoles=[{"roleId": ROLE_ADMIN}]),
                                   key=reader), 403, "PERMISSION_DENIED")
        _, manager = t.add_key(["contributors.manage"])
        self.assertAppError(t.call("GET", QUERY, key=manager), 403, "PERMISSION_DENIED")
        self.assertAppError(t.call("GET", QUERY, key=False), 401, "UNAUTHENTICATED")
        other = Tenant(self.server, name="Other")
        self.assertAppError(other.call("GET", QUERY, site=t.site_id), 403, "PERMISSION_DENIED")
        # Another site of the same account does not see or remove this one's contributors.
        sibling = t.for_site(t.add_site("Sibling"))
        self.assertEqual(sibling.call("GET", QUERY).json["contributors"], [])
        self.assertAppError(sibling.call("POST", REMOVE, body), 404, "NOT_FOUND")
        self.assertEqual(len(t.call("GET", QUERY).json["contributors"]), 1)
        self.assertNo5xx(self.server)


if __name__ == "__main__":
    unittest.main()
