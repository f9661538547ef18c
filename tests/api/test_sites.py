"""Query Sites against the real binary (docs/API.md §3.3.10), compared with Wix's Site fields
(site-list.service.json of wix-incubator/wix-rest-docs and the Query Sites page): the key's
account's sites only, filter on id and name, sort, cursor paging, headers and permissions."""

import unittest
import uuid

from sitest import GUID, RFC3339_MS, ApiTestCase, Server, Tenant, unique_email

QUERY = "/site-list/v2/sites/query"
# The expected shapes: member -> Python type. Site (the fields we fill, named as Wix names
# them), and the answer's metadata (Wix does not publish its shape; clients read
# metadata.cursors.next).
SITE = {"id": str, "name": str, "displayName": str, "createdDate": str, "ownerAccountId": str,
        "contributorAccountIds": list}
METADATA = {"count": int, "cursors": dict, "hasNext": bool}


class Sites(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def setUp(self):
        self.t = Tenant(self.server, site_name="Bravo %s" % uuid.uuid4().hex[:6])
        self.names = {self.t.site_id: self.t.site_name}
        for name in ("Alpha", "Charlie"):
            name = "%s %s" % (name, uuid.uuid4().hex[:6])
            self.names[self.t.add_site(name)] = name

    def sites(self, body=None, **kw):
        """POSTs the query without wix-site-id (an account-level call)."""
        r = self.t.call("POST", QUERY, {} if body is None else body, site=False, **kw)
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"sites", "metadata"})
        meta = r.json["metadata"]
        for k, typ in METADATA.items():
            self.assertIsInstance(meta[k], typ, k)
        self.assertEqual(meta["count"], len(r.json["sites"]))
        return r.json

    def test_lists_the_accounts_sites_in_wix_shape(self):
        # A contributor of one site shows in its contributorAccountIds.
        inv = self.t.bulk([unique_email()]).json["invites"][0]
        r = self.server.request("POST", "/site-invite/accept",
                                {"inviteToken": inv["acceptLink"].rsplit("/", 1)[1]})
        self.assertStatus(r, 200)
        joined = r.json["acceptedByAccountId"]
        Tenant(self.server, name="Other")  # another account's site is never listed
        got = self.sites()
        self.assertEqual(got["metadata"], {"count": 3, "cursors": {}, "hasNext": False})
        sites = got["sites"]
        self.assertEqual({s["id"] for s in sites}, set(self.names))
        for s in sites:
            self.assertEqual(set(s), set(SITE))
            for k, typ in SITE.items():
                self.assertIsInstance(s[k], typ, k)
            self.assertRegex(s["id"], GUID)
            self.assertRegex(s["createdDate"], RFC3339_MS)
            self.assertEqual((s["name"], s["displayName"]), (self.names[s["id"]],) * 2)
            self.assertEqual(s["ownerAccountId"], self.t.account_id)
            self.assertEqual(s["contributorAccountIds"],
                             [joined] if s["id"] == self.t.site_id else [])
        # Default order: createdDate ascending (ties by ID).
        self.assertEqual([s["id"] for s in sites],
                         [s["id"] for s in sorted(sites, key=lambda s: (s["createdDate"],
                                                                        s["id"]))])
        # The wix-account-id header is optional; sent, it must be the key's account.
        self.sites(headers={"wix-account-id": self.t.account_id.upper()})
        r = self.t.call("POST", QUERY, {}, site=False,
                        headers={"wix-account-id": str(uuid.uuid4())})
        self.assertAppError(r, 403, "PERMISSION_DENIED")
        # An empty body is an empty query.
        r = self.t.call("POST", QUERY, site=False)
        self.assertEqual(len(r.json["sites"]), 3)

    def test_filter_and_sort(self):
        ids = list(self.names)
        one = lambda flt: [s["id"] for s in self.sites({"query": {"filter": flt}})["sites"]]
        self.assertEqual(one({"id": ids[1]}), [ids[1]])
        self.assertEqual(one({"id": {"$eq": ids[2]}}), [ids[2]])
        self.assertEqual(set(one({"id": {"$in": [ids[0], ids[2], str(uuid.uuid4())]}})),
                         {ids[0], ids[2]})
        self.assertEqual(one({"name": self.names[ids[0]]}), [ids[0]])
        self.assertEqual(one({"name": {"$in": [self.names[ids[1]]]}, "id": {"$eq": ids[2]}}), [])
        by_name = sorted(self.names, key=lambda i: self.names[i])
        for order, want in (("ASC", by_name), ("DESC", by_name[::-1])):
            got = self.sites({"query": {"sort": [{"fieldName": "displayName", "order": order}]}})
            self.assertEqual([s["id"] for s in got["sites"]], want)
        got = self.sites({"query": {"sort": [{"fieldName": "createdDate", "order": "DESC"}]}})
        self.assertEqual([s["createdDate"] for s in got["sites"]],
                         sorted((s["createdDate"] for s in got["sites"]), reverse=True))
        bad = {"query": {"filter": {"editorType": "EDITOR"}}}
        self.assertValidation(self.t.call("POST", QUERY, bad, site=False),
                              "query.filter.editorType")
        bad = {"query": {"sort": [{"fieldName": "updatedDate"}]}}
        self.assertValidation(self.t.call("POST", QUERY, bad, site=False), "query.sort")
        bad = {"query": {"filter": {"id": {"$in": "x"}}}}
        self.assertValidation(self.t.call("POST", QUERY, bad, site=False), "query.filter.id")

    def test_cursor_paging(self):
        sort = [{"fieldName": "displayName", "order": "DESC"}]
        want = sorted(self.names, key=lambda i: self.names[i], reverse=True)
        page = self.sites({"query": {"sort": sort, "cursorPaging": {"limit": 2}}})
        self.assertEqual((page["metadata"]["count"], page["metadata"]["hasNext"]), (2, True))
        seen = [s["id"] for s in page["sites"]]
        # The next page repeats the query from the cursor alone.
        nxt = page["metadata"]["cursors"]["next"]
        page = self.sites({"query": {"cursorPaging": {"limit": 2, "cursor": nxt}}})
        self.assertEqual(page["metadata"], {"count": 1, "cursors": {}, "hasNext": False})
        seen += [s["id"] for s in page["sites"]]
        self.assertEqual(seen, want)
        # Regression (found by fuzz_api): a cursor over 180 bytes of JSON, here a filter of
        # every site's ID and name, came back refused by the server that wrote it.
        flt = {"id": {"$in": want + [str(uuid.uuid4()) for _ in range(8)]},
               "name": {"$in": [self.names[i] for i in want]}}
        page = self.sites({"query": {"filter": flt, "sort": sort, "cursorPaging": {"limit": 1}}})
        walked = [s["id"] for s in page["sites"]]
        while page["metadata"]["hasNext"]:
            nxt = page["metadata"]["cursors"]["next"]
            self.assertGreater(len(nxt), 240)
            page = self.sites({"query": {"cursorPaging": {"limit": 1, "cursor": nxt}}})
            walked += [s["id"] for s in page["sites"]]
        self.assertEqual(walked, want)
        for limit in (0, 101, "2"):
            self.assertValidation(self.t.call("POST", QUERY,
                                              {"query": {"cursorPaging": {"limit": limit}}},
                                              site=False), "query.cursorPaging.limit")
        self.assertValidation(self.t.call("POST", QUERY,
                                          {"query": {"cursorPaging": {"cursor": "nope"}}},
                                          site=False), "query.cursorPaging.cursor")
        # Another account's cursor names no site of this one.
        other = Tenant(self.server, name="Other")
        other.add_site("Second")
        r = other.call("POST", QUERY, {"query": {"cursorPaging": {"limit": 1}}}, site=False)
        cur = r.json["metadata"]["cursors"]["next"]
        self.assertValidation(self.t.call("POST", QUERY,
                                          {"query": {"cursorPaging": {"cursor": cur}}},
                                          site=False), "query.cursorPaging.cursor")

    def test_permissions(self):
        _, sender = self.t.add_key(["site-users.send-invite"])
        self.assertAppError(self.t.call("POST", QUERY, {}, key=sender, site=False), 403,
                            "PERMISSION_DENIED")
        _, reader = self.t.add_key(["site-users.read"])
        self.sites(key=reader)
        self.assertAppError(self.t.call("POST", QUERY, {}, key=False, site=False), 401,
                            "UNAUTHENTICATED")
        self.assertEqual(self.t.call("GET", QUERY, site=False).status, 405)
        self.assertNo5xx(self.server)


if __name__ == "__main__":
    unittest.main()
