"""Contributors of a site against the real binary (docs/API.md §3.3.8), compared with the types of
Wix's Contributors API (@wix/identity_contributor 1.0.4, identity-v1-contributor-contributor
.types.d.ts, and the Contributor object / Change Role / Remove Contributor / Change Contributor
Location pages): Query Site Contributors and its filters, Change Role, Remove (POST and DELETE),
Change Locations, locationIds on invites, staffId as a GUID; permissions and tenancy."""

import re
import sqlite3
import subprocess
import unittest
import urllib.parse
import uuid

from sitest import (GUID, RFC3339_MS, ROLE_ADMIN, ROLE_ADMIN_OLD, ROLE_BLOG_EDITOR,
                    ROLE_BLOG_WRITER, ROLE_DESIGNER, ApiTestCase, Server, Tenant, unique_email)

QUERY = "/roles-management/v2/contributors/query"
CHANGE = "/roles-management/contributor/change/role"
LOCATIONS = "/roles-management/contributor/change/locations"
REMOVE = "/roles-management/contributor/remove"
NUMERAL19 = re.compile(r"^[1-9]\d{18}$")

# The expected shapes: member -> Python type, from the SDK's and docs' types.
CONTRIBUTOR_V2 = {"accountId": str, "accountOwnerId": str}            # ContributorV2
CONTRIBUTOR = {"id": str, "metaData": dict, "isTeam": bool,           # Contributor
               "isClient": bool, "invitedEmail": str, "joinedAt": str}
PERSON_META_DATA = {"id": str, "email": str, "assignments": list}     # PersonMetaData
ASSIGNMENT = {"policy": dict, "assignmentId": str, "subject": dict}   # Assignment
ASSIGNED_POLICY = {"policyId": str, "title": str, "description": str}  # AssignedPolicy
SUBJECT = {"id": str, "subjectType": str, "context": dict}           # Subject
SUBJECT_CONTEXT = {"id": str, "contextType": str}                    # SubjectContext
SITE_ROLE_ASSIGNMENT = {"roleId": str, "assignmentId": str}          # SiteRoleAssignment
OURS = {"contributorId": str, "locationIds": list}                   # "siteinvites" (ours)


def qs(**params):
    """The SDK's GET wire form: dotted keys, arrays as repeated keys."""
    return "?" + urllib.parse.urlencode(
        [(k.replace("_", "."), v) for k, vs in params.items() for v in vs])


class Contributors(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assertShape(self, obj, shape, optional=()):
        """Every member of shape is present with its type; nothing else but optional."""
        for k, typ in shape.items():
            self.assertIn(k, obj, "%s lacks %s" % (sorted(obj), k))
            self.assertIsInstance(obj[k], typ, k)
        self.assertLessEqual(set(obj), set(shape) | set(optional), obj)

    def join(self, t, email=None, policy_ids=(ROLE_BLOG_WRITER,), locations=None):
        """Invites and accepts; returns (invite, accept answer's contributor)."""
        extra = {"locationIds": locations} if locations is not None else {}
        r = t.bulk([email or unique_email()], policy_ids=policy_ids, **extra)
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        r = self.server.request("POST", "/site-invite/accept",
                                {"inviteToken": inv["acceptLink"].rsplit("/", 1)[1]})
        self.assertStatus(r, 200)
        return inv, r.json["contributor"]

    def query(self, t, path=QUERY, **params):
        r = t.call("GET", path + (qs(**params) if params else ""))
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"contributors"})  # QuerySiteContributorsResponse
        return r.json["contributors"]

    def test_query_answers_both_wix_shapes(self):
        t = Tenant(self.server)
        self.assertEqual(self.query(t), [])
        inv, c = self.join(t, policy_ids=[ROLE_BLOG_WRITER, ROLE_DESIGNER])
        roles = {r["id"]: r for r in t.call("GET", "/roles-management/roles").json[
            "predefinedRoles"]}
        for path in (QUERY, "/v2/contributors/query"):  # www.wixapis.com and custom-host forms
            got = self.query(t, path)
            self.assertEqual(len(got), 1)
            x = got[0]
            self.assertShape(x, dict(CONTRIBUTOR_V2, **CONTRIBUTOR), optional={"siteinvites"})
            self.assertEqual(x["accountId"], c["accountId"])
            self.assertEqual(x["id"], c["accountId"], "Contributor.id is the account ID")
            self.assertEqual(x["accountOwnerId"], t.account_id)
            self.assertEqual((x["isTeam"], x["isClient"]), (False, False))
            self.assertEqual(x["invitedEmail"], inv["email"])
            self.assertRegex(x["joinedAt"], RFC3339_MS)
            meta = x["metaData"]
            self.assertShape(meta, PERSON_META_DATA, optional={"fullName", "imageUrl"})
            self.assertEqual((meta["id"], meta["email"]), (c["accountId"], c["email"]))
            self.assertEqual([a["policy"]["policyId"] for a in meta["assignments"]],
                             [ROLE_BLOG_WRITER, ROLE_DESIGNER])
            for a in meta["assignments"]:
                self.assertShape(a, ASSIGNMENT)
                self.assertShape(a["policy"], ASSIGNED_POLICY)
                role = roles[a["policy"]["policyId"]]
                self.assertEqual((a["policy"]["title"], a["policy"]["description"]),
                                 (role["title"], role["description"]))
                self.assertRegex(a["assignmentId"], NUMERAL19)
                self.assertShape(a["subject"], SUBJECT)
                self.assertEqual((a["subject"]["id"], a["subject"]["subjectType"]),
                                 (c["accountId"], "USER"))
                self.assertShape(a["subject"]["context"], SUBJECT_CONTEXT)
                self.assertEqual(a["subject"]["context"],
                                 {"id": t.account_id, "contextType": "ACCOUNT_CTX"})
            self.assertNotEqual(meta["assignments"][0]["assignmentId"],
                                meta["assignments"][1]["assignmentId"])
            ours = x["siteinvites"]
            self.assertShape(ours, OURS, optional={"inviteId"})
            self.assertEqual((ours["contributorId"], ours["inviteId"], ours["locationIds"]),
                             (c["id"], inv["id"], []))

    def test_filters_policy_and_location_ids(self):
        t = Tenant(self.server)
        l1, l2, l3 = (str(uuid.uuid4()) for _ in range(3))
        _, a = self.join(t, policy_ids=[ROLE_ADMIN], locations=[l1])
        _, b = self.join(t, policy_ids=[ROLE_BLOG_WRITER, ROLE_DESIGNER], locations=[l1, l2])
        _, c = self.join(t, policy_ids=[ROLE_BLOG_EDITOR])
        ids = lambda got: [x["accountId"] for x in got]
        self.assertEqual(ids(self.query(t)), [a["accountId"], b["accountId"], c["accountId"]])
        self.assertEqual(ids(self.query(t, filter_policyIds=[ROLE_ADMIN])), [a["accountId"]])
        # The retired Admin ID names the same role.
        self.assertEqual(ids(self.query(t, filter_policyIds=[ROLE_ADMIN_OLD])), [a["accountId"]])
        # "at least one of the specified roles"
        self.assertEqual(ids(self.query(t, filter_policyIds=[ROLE_DESIGNER, ROLE_BLOG_EDITOR])),
                         [b["accountId"], c["accountId"]])
        self.assertEqual(self.query(t, filter_policyIds=["1234"]), [])
        # "assignments to at least one of the specified locations"; GUIDs in any case
        self.assertEqual(ids(self.query(t, filter_locationIds=[l1.upper()])),
                         [a["accountId"], b["accountId"]])
        self.assertEqual(ids(self.query(t, filter_locationIds=[l3, l2])), [b["accountId"]])
        # both filters hold together
        self.assertEqual(ids(self.query(t, filter_policyIds=[ROLE_ADMIN, ROLE_BLOG_EDITOR],
                                        filter_locationIds=[l1])), [a["accountId"]])
        self.assertEqual(ids(self.query(t, "/v2/contributors/query",
                                        filter_policyIds=[ROLE_BLOG_EDITOR])), [c["accountId"]])
        self.assertValidation(t.call("GET", QUERY + qs(filter_locationIds=["nope"])),
                              "filter.locationIds[0]", "FORMAT")

    def test_change_role(self):
        t = Tenant(self.server, contributor_limit=3)
        _, a = self.join(t)
        _, b = self.join(t)
        body = {"accountId": a["accountId"].upper(),
                "newRoles": [{"roleId": ROLE_ADMIN}, {"roleId": ROLE_DESIGNER}]}
        r = t.call("PUT", CHANGE, body)
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"newAssignedRoles"})  # ChangeContributorRoleResponse
        got = r.json["newAssignedRoles"]
        for x in got:
            self.assertShape(x, SITE_ROLE_ASSIGNMENT)
            self.assertRegex(x["assignmentId"], NUMERAL19)
        self.assertEqual([x["roleId"] for x in got], [ROLE_ADMIN, ROLE_DESIGNER])
        # The assignment IDs are stable: the same role of the same contributor keeps its ID,
        # and the query shows the same ones.
        again = t.call("PUT", "/contributor/change/role", body)
        self.assertStatus(again, 200)
        self.assertEqual(again.json["newAssignedRoles"], got)
        shown = self.query(t, filter_policyIds=[ROLE_ADMIN])
        self.assertEqual([x["accountId"] for x in shown], [a["accountId"]])
        self.assertEqual([(s["policy"]["policyId"], s["assignmentId"])
                          for s in shown[0]["metaData"]["assignments"]],
                         [(x["roleId"], x["assignmentId"]) for x in got])
        other = t.call("PUT", CHANGE, {"accountId": b["accountId"],
                                       "newRoles": [{"roleId": ROLE_ADMIN}]})
        self.assertNotEqual(other.json["newAssignedRoles"][0]["assignmentId"],
                            got[0]["assignmentId"], "another contributor, another assignment")
        self.assertAppError(t.call("PUT", CHANGE, {"accountId": str(uuid.uuid4()),
                                                   "newRoles": [{"roleId": ROLE_ADMIN}]}),
                            404, "NOT_FOUND")

    def test_remove_post_and_delete(self):
        t = Tenant(self.server, contributor_limit=3)
        (_, a), (_, b), (_, c) = self.join(t), self.join(t), self.join(t)
        self.assertEqual(t.bulk([unique_email()]).json["failures"][0]["code"],
                         "CONTRIBUTOR_LIMIT_REACHED")
        r = t.call("POST", REMOVE, {"accountId": a["accountId"]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})  # RemoveContributorResponse
        r = t.call("DELETE", "/contributor/remove", {"accountId": b["accountId"]})
        self.assertEqual((r.status, r.json), (200, {}))
        r = t.call("DELETE", REMOVE + "?accountId=" + c["accountId"].upper())
        self.assertEqual((r.status, r.json), (200, {}))
        self.assertEqual(self.query(t), [])
        seats = t.call("GET", "/invites/site-invite/contributor-limit").json
        self.assertEqual(seats["contributorLimitation"]["leftInvites"], 3)
        self.assertEqual(len(t.bulk([a["email"]]).json["invites"]), 1)
        self.assertAppError(t.call("DELETE", REMOVE + "?accountId=" + a["accountId"]), 404,
                            "NOT_FOUND")
        self.assertValidation(t.call("DELETE", REMOVE), "accountId", "REQUIRED_FIELD")
        self.assertValidation(t.call("DELETE", REMOVE + "?accountId=x"), "accountId", "FORMAT")

    def test_locations_on_invites_and_contributors(self):
        t = Tenant(self.server)
        l1, l2, l3 = (str(uuid.uuid4()) for _ in range(3))
        # Bulk Invite: optional, deduplicated, lowercased, shown on the SiteInvite.
        inv, c = self.join(t, locations=[l1.upper(), l2, l1])
        self.assertEqual(inv["locationIds"], [l1, l2])
        self.assertEqual(t.get(inv["id"]).json["invite"]["locationIds"], [l1, l2])
        plain = t.bulk([unique_email()]).json["invites"][0]
        self.assertNotIn("locationIds", plain, "unset optional members are omitted")
        # Create One takes them too.
        r = t.call("POST", "/invites/site-invite", {"email": unique_email(),
                                                    "policyIds": [ROLE_ADMIN],
                                                    "locationIds": [l3]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invite"]["locationIds"], [l3])
        # Accepting copies them to the contributor.
        got = self.query(t)[0]
        self.assertEqual(got["siteinvites"]["locationIds"], [l1, l2])
        # Change Contributor Location replaces them (PUT, both path forms).
        r = t.call("PUT", LOCATIONS, {"accountId": c["accountId"], "newLocations": [l3, l3]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"newAssignedLocations": [{"locationIds": [l3]}]})
        self.assertEqual(self.query(t)[0]["siteinvites"]["locationIds"], [l3])
        self.assertEqual([x["accountId"] for x in self.query(t, filter_locationIds=[l1])], [])
        r = t.call("PUT", "/contributor/change/locations",
                   {"accountId": c["accountId"], "newLocations": []})
        self.assertEqual((r.status, r.json), (200, {"newAssignedLocations": [{"locationIds": []}]}))
        # Validation: at most 20 GUIDs, required members, an unknown account is 404.
        many = [str(uuid.uuid4()) for _ in range(21)]
        self.assertValidation(t.bulk([unique_email()], locationIds=many), "locationIds",
                              "MAX_SIZE")
        self.assertValidation(t.bulk([unique_email()], locationIds=["x"]), "locationIds[0]",
                              "FORMAT")
        self.assertValidation(t.bulk([unique_email()], locationIds="x"), "locationIds")
        self.assertValidation(t.call("PUT", LOCATIONS, {"accountId": c["accountId"],
                                                        "newLocations": many}),
                              "newLocations", "MAX_SIZE")
        self.assertValidation(t.call("PUT", LOCATIONS, {"accountId": c["accountId"],
                                                        "newLocations": [l1, 5]}),
                              "newLocations[1]", "FORMAT")
        self.assertValidation(t.call("PUT", LOCATIONS, {"accountId": c["accountId"]}),
                              "newLocations", "REQUIRED_FIELD")
        self.assertAppError(t.call("PUT", LOCATIONS, {"accountId": str(uuid.uuid4()),
                                                      "newLocations": [l1]}), 404, "NOT_FOUND")

    def test_staff_id_is_a_guid(self):
        t = Tenant(self.server)
        for bad in ("staff-7", "x" * 36, str(uuid.uuid4())[:-1], 7):
            self.assertValidation(t.call("POST", "/invites/site-invite",
                                         {"email": unique_email(), "policyIds": [ROLE_ADMIN],
                                          "staffId": bad}), "staffId")
        staff = str(uuid.uuid4())
        r = t.call("POST", "/invites/site-invite", {"email": unique_email(),
                                                    "policyIds": [ROLE_ADMIN],
                                                    "staffId": staff.upper()})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invite"]["staffId"], staff)
        self.assertRegex(r.json["invite"]["staffId"], GUID)

    def test_validation(self):
        t = Tenant(self.server)
        _, c = self.join(t)
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
        self.assertEqual(t.call("GET", "/contributor/remove").status, 405)

    def test_old_database_migrates(self):
        """A database from before the locations step (SQLite 5, PostgreSQL 4) gains the columns
        on the next start, and its contributors their invited address from their invite."""
        with Server() as server:
            t = Tenant(server)
            inv = t.bulk([unique_email()]).json["invites"][0]
            r = server.request("POST", "/site-invite/accept",
                               {"inviteToken": inv["acceptLink"].rsplit("/", 1)[1]})
            self.assertStatus(r, 200)
            server.stop()
            back = ["ALTER TABLE contributors DROP COLUMN invited_email",
                    "ALTER TABLE contributors DROP COLUMN location_ids",
                    "ALTER TABLE invites DROP COLUMN location_ids"]
            if server.pg_db:
                back.append("DELETE FROM schema_migrations WHERE version = 4")
                subprocess.run(["psql", "-qX", server.db, "-v", "ON_ERROR_STOP=1",
                                "-c", ";".join(back)], check=True)
            else:
                back.append("DELETE FROM schema_migrations WHERE version = 5")
                with sqlite3.connect(server.db_path) as db:
                    for sql in back:
                        db.execute(sql)
            server.start()
            got = self.query(t)
            self.assertEqual([x["invitedEmail"] for x in got], [inv["email"]])
            self.assertEqual(got[0]["siteinvites"]["locationIds"], [])
            self.assertNotIn("locationIds", t.get(inv["id"]).json["invite"])

    def test_permissions_and_tenancy(self):
        t = Tenant(self.server)
        _, c = self.join(t)
        _, reader = t.add_key(["site-users.read"])
        self.assertStatus(t.call("GET", QUERY, key=reader), 200)
        body = {"accountId": c["accountId"]}
        for method, path, b in (("POST", REMOVE, body), ("DELETE", REMOVE, body),
                                ("PUT", CHANGE, dict(body, newRoles=[{"roleId": ROLE_ADMIN}])),
                                ("PUT", LOCATIONS, dict(body, newLocations=[]))):
            self.assertAppError(t.call(method, path, b, key=reader), 403, "PERMISSION_DENIED")
        _, manager = t.add_key(["contributors.manage"])
        self.assertAppError(t.call("GET", QUERY, key=manager), 403, "PERMISSION_DENIED")
        self.assertAppError(t.call("GET", QUERY, key=False), 401, "UNAUTHENTICATED")
        other = Tenant(self.server, name="Other")
        self.assertAppError(other.call("GET", QUERY, site=t.site_id), 403, "PERMISSION_DENIED")
        # Another site of the same account does not see or change this one's contributors.
        sibling = t.for_site(t.add_site("Sibling"))
        self.assertEqual(self.query(sibling), [])
        self.assertAppError(sibling.call("POST", REMOVE, body), 404, "NOT_FOUND")
        self.assertAppError(sibling.call("PUT", LOCATIONS, dict(body, newLocations=[])), 404,
                            "NOT_FOUND")
        self.assertEqual(len(self.query(t)), 1)
        self.assertNo5xx(self.server)


if __name__ == "__main__":
    unittest.main()
