"""End-to-end tests of the invite API (docs/API.md §3) against the real siteinvites binary."""

import concurrent.futures
import datetime
import unittest
import uuid

from sitest import (GUID, PREDEFINED_ROLES, RFC3339_MS, ROLE_ADMIN, ROLE_BLOG_EDITOR,
                    ROLE_BLOG_WRITER, ROLE_DESIGNER, ROLE_MARKETING, ApiTestCase, Server, Tenant,
                    messages_to, parse_ts, unique_email, wait_until)

MAIL_WAIT_S = 15
RACERS = 8  # concurrent callers in the race tests


class InviteApiTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()
        cls.t = Tenant(cls.server, "Acme", contributor_limit=5000)

    @classmethod
    def tearDownClass(cls):
        # The suite-wide promise, checked over every answer of the class whatever ran (it used
        # to be a test named to run last, which checked nothing when run alone).
        cls.closeServerNo5xx(cls.server)

    def fresh_site(self, limit=None):
        """A new site of the same account, so counting tests start from nothing."""
        return self.t.for_site(self.t.add_site("Site " + uuid.uuid4().hex[:6], limit))

    def bulk_one(self, email=None, t=None, **extra):
        email = email or unique_email()
        r = (t or self.t).bulk([email], **extra)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["invites"]), 1, repr(r))
        return r.json["invites"][0]

    def wait_mail(self, addr, count=1):
        """Waits until count messages to addr are in new/ and returns them."""
        return wait_until(lambda: (lambda m: m if len(m) >= count else None)(
            messages_to(self.server, addr)), MAIL_WAIT_S, what="%d mail(s) to %s" % (count, addr))

    # ---- Bulk Invite --------------------------------------------------------------------------
    def test_bulk_creates_pending_invites(self):
        emails = [unique_email() for _ in range(3)]
        r = self.t.bulk(emails, [ROLE_BLOG_WRITER, ROLE_DESIGNER], invitePurpose="Help us")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["failedEmails"], [])
        self.assertEqual(r.json.get("failures", []), [])
        got = {i["email"]: i for i in r.json["invites"]}
        self.assertEqual(set(got), set(emails))
        for inv in got.values():
            self.assertEqual(inv["status"], "Pending")
            self.assertEqual(inv["siteId"], self.t.site_id)
            self.assertEqual(inv["policyIds"], [ROLE_BLOG_WRITER, ROLE_DESIGNER])
            self.assertEqual(inv["invitePurpose"], "Help us")
            self.assertRegex(inv["id"], GUID)
        self.assertEqual(len({i["id"] for i in got.values()}), 3)

    def test_bulk_existing_pending_returned_unchanged_without_second_email(self):
        addr = unique_email("again")
        first = self.bulk_one(addr)
        self.wait_mail(addr)
        r = self.t.bulk([addr], [ROLE_ADMIN])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["failedEmails"], [])
        self.assertEqual(len(r.json["invites"]), 1)
        again = r.json["invites"][0]
        for field in ("id", "policyIds", "dateCreated", "expirationDate", "acceptLink",
                      "sendCount", "status"):
            self.assertEqual(again[field], first[field], field)
        # Barrier: mail queued after the second call is delivered, so a second mail to addr
        # (which would have been queued before it) would be in new/ too.
        sentinel = unique_email("sentinel")
        self.bulk_one(sentinel)
        self.wait_mail(sentinel)
        self.assertEqual(len(messages_to(self.server, addr)), 1)
        self.assertEqual(self.t.get(first["id"]).json["invite"]["sendCount"], first["sendCount"])

    def test_bulk_folds_duplicates_and_compares_case_insensitively(self):
        local = "Mixed.Case-" + uuid.uuid4().hex[:8]
        r = self.t.bulk([local + "@Example.COM", local + "@example.com",
                         local.lower() + "@EXAMPLE.com"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["failedEmails"], [])
        ids = {i["id"] for i in r.json["invites"]}
        self.assertEqual(len(ids), 1, repr(r))
        inv = r.json["invites"][0]
        self.assertEqual(inv["email"], local + "@example.com")  # local part kept, domain lowered
        # A later call with another case finds the same pending invite.
        r2 = self.t.bulk([local.upper() + "@example.COM"])
        self.assertStatus(r2, 200)
        self.assertEqual([i["id"] for i in r2.json["invites"]], [inv["id"]])
        found = self.t.query({"filter": {"email": local + "@example.com"}})
        self.assertStatus(found, 200)
        self.assertEqual([i["id"] for i in found.json["invites"]], [inv["id"]])
        self.assertEqual(len(self.wait_mail(local + "@example.com")), 1)

    def test_concurrent_bulk_of_one_email_makes_one_invite(self):
        addr = unique_email("race")
        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            answers = list(pool.map(lambda _: self.t.bulk([addr]), range(RACERS)))
        for r in answers:
            self.assertStatus(r, 200)
            self.assertEqual(len(r.json["invites"]), 1, repr(r))
        self.assertEqual(len({r.json["invites"][0]["id"] for r in answers}), 1,
                         "concurrent calls created duplicate invites")
        self.assertEqual(len(self.t.query({"filter": {"email": addr}}).json["invites"]), 1)
        sentinel = unique_email("sentinel")
        self.bulk_one(sentinel)
        self.wait_mail(sentinel)
        self.assertEqual(len(self.wait_mail(addr)), 1)

    def test_concurrent_creates_share_the_seats_and_keep_their_own_audit(self):
        # Concurrent Create One calls of one site are grouped into one transaction by both
        # stores, and merged on PostgreSQL into one call of all their items (docs/SCALING.md).
        # The seats still hold exactly, one address still makes one invite, and each call's
        # audit entry names its own request.
        t = self.fresh_site(limit=10)
        addrs = [unique_email("grp") for _ in range(3 * RACERS)]
        addrs += addrs[:RACERS]  # the same addresses again, racing their first calls

        def create(addr):
            return t.call("POST", "/invites/site-invite",
                          {"email": addr, "policyIds": [ROLE_DESIGNER]})

        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            answers = list(pool.map(create, addrs))
        made = {}
        for addr, r in zip(addrs, answers):
            if r.status == 200:
                self.assertEqual(r.json["invite"]["email"], addr)
                self.assertEqual(made.setdefault(addr, r.json["invite"]["id"]),
                                 r.json["invite"]["id"], "two invites for one address")
            else:
                self.assertAppError(r, 428, "FAILED_PRECONDITION", "CONTRIBUTOR_LIMIT_REACHED")
        self.assertEqual(len(made), 10, "seats: %d invites for 10 seats" % len(made))
        pending = t.query({"filter": {"status": "Pending"}, "paging": {"limit": 100}})
        self.assertEqual(sorted(i["id"] for i in pending.json["invites"]), sorted(made.values()))
        # Each invite's entry names one of the calls that answered with it (the one that made
        # it), and no two invites share a request.
        answered_by = {}
        for r in answers:
            if r.status == 200:
                answered_by.setdefault(r.json["invite"]["id"], set()).add(
                    r.header("X-Wix-Request-Id"))
        log = t.call("GET", "/invites/audit-log?limit=100")
        self.assertStatus(log, 200)
        created = {e["target"]["id"]: e.get("requestId") for e in log.json["entries"]
                   if e["action"] == "invite.created"}
        self.assertEqual(set(created), set(made.values()))
        for inv_id, rid in created.items():
            self.assertIn(rid, answered_by[inv_id])
        self.assertEqual(len(set(created.values())), len(created))

    def test_concurrent_resends_respect_the_daily_limit(self):
        inv = self.bulk_one()
        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            codes = sorted(pool.map(lambda _: self.t.resend(inv["id"]).status, range(RACERS)))
        self.assertEqual(codes, [200] * 5 + [429] * (RACERS - 5))
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["sendCount"], 6)

    def test_bulk_invalid_emails_fail_alone(self):
        good = unique_email("good")
        bad = ["not-an-email", "a@", "@b.com", "two@@x.com", "sp ace@x.com",
               "inj@x.com\r\nBcc: evil@y.z", "lf@x.com\nX-Evil: 1"]
        r = self.t.bulk([bad[0], good] + bad[1:])
        self.assertStatus(r, 200)
        self.assertEqual([i["email"] for i in r.json["invites"]], [good])
        self.assertEqual(sorted(r.json["failedEmails"]), sorted(bad))
        fails = {f["email"]: f for f in r.json["failures"]}
        self.assertEqual(set(fails), set(bad))
        for f in fails.values():
            self.assertEqual(f["code"], "INVALID_EMAIL")
            self.assertIsInstance(f["description"], str)
            self.assertTrue(f["description"])

    def test_bulk_1000_emails_ok_1001_refused(self):
        t = self.fresh_site(limit=5000)
        emails = ["u%04d-%s@bulk.example" % (i, uuid.uuid4().hex[:6]) for i in range(1001)]
        r = t.bulk(emails)
        self.assertValidation(r, "emails")
        self.assertEqual(t.query_all(), [], "a refused bulk call wrote invites")
        r = t.bulk(emails[:1000])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["failedEmails"], [])
        self.assertEqual(len({i["id"] for i in r.json["invites"]}), 1000)
        self.assertEqual(len(t.query_all()), 1000)

    def test_bulk_policy_ids_limits(self):
        addr = unique_email()
        many = (PREDEFINED_ROLES * 3)[:21]
        self.assertValidation(self.t.bulk([addr], many))
        r = self.t.bulk([addr], [ROLE_ADMIN, ROLE_DESIGNER, "9999999999999999999"])
        self.assertValidation(r, "policyIds[2]")
        r = self.t.bulk([addr], [ROLE_ADMIN, "nope", ROLE_DESIGNER, "1"])
        fields = {v["field"] for v in self.assertValidation(r)}
        self.assertTrue({"policyIds[1]", "policyIds[3]"} <= fields, fields)
        self.assertValidation(self.t.bulk([addr], []), "policyIds")
        self.assertValidation(self.t.bulk([], [ROLE_ADMIN]), "emails")
        self.assertValidation(self.t.call("POST", "/invites/site-invite/bulk",
                                          {"emails": [addr]}), "policyIds")
        self.assertValidation(self.t.call("POST", "/invites/site-invite/bulk",
                                          {"policyIds": [ROLE_ADMIN]}), "emails")
        self.assertEqual(self.t.query({"filter": {"email": addr}}).json["invites"], [])

    def test_bulk_purpose_length_counts_characters(self):
        self.assertValidation(self.t.bulk([unique_email()], invitePurpose="x" * 1001),
                              "invitePurpose")
        inv = self.bulk_one(invitePurpose="é" * 1000)  # 1000 characters, 2000 bytes
        self.assertEqual(inv["invitePurpose"], "é" * 1000)

    def test_bulk_dry_run_writes_nothing(self):
        t = self.fresh_site(limit=10)
        addr = unique_email("dry")
        r = t.bulk([addr, "broken"], dryRun=True)
        self.assertStatus(r, 200)
        self.assertEqual([i["email"] for i in r.json["invites"]], [addr])
        self.assertEqual(r.json["failedEmails"], ["broken"])
        self.assertEqual(t.query_all(), [])
        seats = t.call("GET", "/invites/site-invite/contributor-limit")
        self.assertEqual(seats.json["contributorLimitation"]["leftInvites"], 10)
        real = self.bulk_one(addr, t=t)
        self.assertEqual(real["sendCount"], 1)
        self.assertEqual(len(self.wait_mail(addr)), 1)

    # ---- Resend -------------------------------------------------------------------------------
    def test_resend_renews_and_keeps_link(self):
        addr = unique_email("resend")
        inv = self.bulk_one(addr)
        r = self.t.resend(inv["id"], {"inviteId": inv["id"]})
        self.assertStatus(r, 200)
        again = r.json["invite"]
        self.assertEqual(again["id"], inv["id"])
        self.assertEqual(again["acceptLink"], inv["acceptLink"])
        self.assertEqual(again["status"], "Pending")
        self.assertEqual(again["sendCount"], inv["sendCount"] + 1)
        self.assertGreaterEqual(parse_ts(again["expirationDate"]), parse_ts(inv["expirationDate"]))
        self.assertGreater(parse_ts(again["expirationDate"]), parse_ts(again["dateCreated"]))
        msgs = self.wait_mail(addr, 2)
        self.assertEqual(len({m["Message-ID"] for m in msgs}), 2, "resend reused a Message-ID")

    def test_resend_with_other_invite_id_in_body_is_400(self):
        inv = self.bulk_one()
        r = self.t.resend(inv["id"], {"inviteId": str(uuid.uuid4())})
        self.assertValidation(r, "inviteId")
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["sendCount"], inv["sendCount"])

    def test_resend_deleted_is_428(self):
        inv = self.bulk_one()
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        self.assertAppError(self.t.resend(inv["id"]), 428, "FAILED_PRECONDITION",
                            "INVITE_NOT_RESENDABLE")

    def test_sixth_resend_in_a_day_is_429(self):
        inv = self.bulk_one()
        for n in range(5):
            self.assertStatus(self.t.resend(inv["id"]), 200, "resend %d" % (n + 1))
        r = self.t.resend(inv["id"])
        self.assertAppError(r, 429, "RESOURCE_EXHAUSTED")
        retry = r.header("Retry-After")
        self.assertIsNotNone(retry, "429 without Retry-After")
        self.assertTrue(retry.isdigit() and 0 < int(retry) <= 86400, retry)
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["sendCount"], 6)

    # ---- Revoke -------------------------------------------------------------------------------
    def test_revoke_is_idempotent_and_kills_the_link(self):
        inv = self.bulk_one()
        self.assertStatus(self.server.get_page(inv["acceptLink"]), 200)
        r = self.t.revoke(inv["id"], {"inviteId": inv["id"]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Deleted")
        r = self.t.call("POST", "/invites/site-invite/%s/revoke" % inv["id"])  # no body at all
        self.assertStatus(r, 200)
        self.assertEqual(self.server.get_page(inv["acceptLink"]).status, 410)

    # ---- Get ----------------------------------------------------------------------------------
    def test_get_fields_and_formats(self):
        inv = self.bulk_one(invitePurpose="For the blog")
        r = self.t.get(inv["id"])
        self.assertStatus(r, 200)
        got = r.json["invite"]
        self.assertRegex(got["id"], GUID)
        self.assertEqual(got["siteId"], self.t.site_id)
        self.assertEqual(got["inviterAccountId"], self.t.account_id)
        self.assertEqual(got["inviterId"], got["inviterAccountId"])
        self.assertEqual(got["status"], "Pending")
        self.assertEqual(got["policyIds"], [ROLE_BLOG_WRITER])
        self.assertEqual(got["invitePurpose"], "For the blog")
        self.assertNotIn("acceptedByAccountId", got)
        self.assertRegex(got["acceptLink"], r"^https?://[^/]+/invite/[A-Za-z0-9_-]{20,}$")
        for field in ("dateCreated", "expirationDate", "dateUpdated"):
            self.assertRegex(got[field], RFC3339_MS, field)
        if "lastSentDate" in got:
            self.assertRegex(got["lastSentDate"], RFC3339_MS)
        life = parse_ts(got["expirationDate"]) - parse_ts(got["dateCreated"])
        self.assertEqual(life, datetime.timedelta(days=30))
        self.assertEqual(got["sendCount"], 1)
        self.assertIn(got["delivery"]["status"], ("Queued", "Sent"))
        self.assertIsInstance(got["delivery"]["attempts"], int)
        for key in ("id", "siteId", "inviterAccountId"):
            self.assertEqual(got[key], got[key].lower(), key)
        for key in ("id", "acceptLink", "email", "dateCreated", "expirationDate"):
            self.assertEqual(got[key], inv[key], key)

    # ---- Query and list -----------------------------------------------------------------------
    def test_query_filters_sort_and_paging(self):
        t = self.fresh_site(limit=100)
        emails = sorted("q%02d-%s@query.example" % (i, uuid.uuid4().hex[:6]) for i in range(23))
        r = t.bulk(emails[:20])
        self.assertStatus(r, 200)
        mid = max(parse_ts(i["dateCreated"]) for i in r.json["invites"])
        r2 = t.bulk(emails[20:], [ROLE_MARKETING, ROLE_BLOG_EDITOR])
        self.assertStatus(r2, 200)
        by_email = {i["email"]: i for i in r.json["invites"] + r2.json["invites"]}
        revoked = {by_email[e]["id"] for e in emails[:4]}
        for iid in revoked:
            self.assertStatus(t.revoke(iid), 200)

        def ids(flt, **q):
            q["filter"] = flt
            res = t.query(q)
            self.assertStatus(res, 200)
            return {i["id"] for i in res.json["invites"]}

        all_ids = {i["id"] for i in by_email.values()}
        self.assertEqual(ids({"status": "Deleted"}), revoked)
        self.assertEqual(ids({"status": {"$eq": "Pending"}}), all_ids - revoked)
        self.assertEqual(ids({"status": {"$ne": "Pending"}}), revoked)
        self.assertEqual(ids({"status": {"$in": ["Deleted", "Used"]}}), revoked)
        self.assertEqual(ids({"email": emails[7]}), {by_email[emails[7]]["id"]})
        self.assertEqual(ids({"email": {"$in": emails[5:7]}}),
                         {by_email[e]["id"] for e in emails[5:7]})
        late = {by_email[e]["id"] for e in emails[20:]}
        self.assertEqual(ids({"policyIds": {"$hasSome": [ROLE_MARKETING]}}), late)
        stamp = mid.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (mid.microsecond // 1000)
        after = ids({"dateCreated": {"$gt": stamp}})
        upto = ids({"dateCreated": {"$lte": stamp}})
        self.assertEqual(after | upto, all_ids)
        self.assertEqual(after & upto, set())
        self.assertTrue(late <= after, "invites created later must be $gt the first batch")
        self.assertEqual(ids({"status": "Pending", "policyIds": {"$hasSome": [ROLE_BLOG_EDITOR]}}),
                         late)

        for order in ("ASC", "DESC"):
            res = t.query({"sort": [{"fieldName": "email", "order": order}],
                           "cursorPaging": {"limit": 100}})
            got = [i["email"] for i in res.json["invites"]]
            self.assertEqual(got, sorted(emails, reverse=order == "DESC"))

        # Offset paging gives the same order in slices.
        res = t.query({"sort": [{"fieldName": "email", "order": "ASC"}],
                       "paging": {"limit": 4, "offset": 6}})
        self.assertStatus(res, 200)
        self.assertEqual([i["email"] for i in res.json["invites"]], emails[6:10])

        # Cursor paging: every invite exactly once, in sorted order, across pages of 5.
        seen, cursor, pages = [], None, 0
        while True:
            q = {"cursorPaging": {"limit": 5}}
            if cursor:
                q["cursorPaging"]["cursor"] = cursor
            else:
                q["sort"] = [{"fieldName": "email", "order": "ASC"}]
            res = t.query(q)
            self.assertStatus(res, 200)
            meta = res.json["pagingMetadata"]
            self.assertEqual(meta["count"], len(res.json["invites"]))
            self.assertLessEqual(meta["count"], 5)
            seen += [i["email"] for i in res.json["invites"]]
            pages += 1
            cursor = meta.get("cursors", {}).get("next")
            if not meta["hasNext"]:
                break
            self.assertTrue(cursor, "hasNext without a next cursor")
            self.assertLess(pages, 10, "paging does not end")
        self.assertEqual(pages, 5)
        self.assertEqual(seen, emails)

    def test_query_bad_field_is_400(self):
        self.assertValidation(self.t.query({"filter": {"bogus": "x"}}))
        self.assertValidation(self.t.query({"sort": [{"fieldName": "bogus"}]}))
        self.assertValidation(self.t.query({"filter": {"status": {"$regex": "P"}}}))
        self.assertValidation(self.t.query({"cursorPaging": {"limit": "ten"}}))
        self.assertValidation(self.t.query({"cursorPaging": {"cursor": "garbage!!"}}))

    def test_list_returns_site_invites(self):
        t = self.fresh_site()
        made = {self.bulk_one(t=t)["id"] for _ in range(3)}
        r = t.call("GET", "/invites/site-invites")
        self.assertStatus(r, 200)
        self.assertEqual({i["id"] for i in r.json["invites"]}, made)

    # ---- Create one, update -------------------------------------------------------------------
    def test_create_one(self):
        addr = unique_email("single")
        staff = str(uuid.uuid4())
        body = {"email": addr, "policyIds": [ROLE_DESIGNER], "staffId": staff.upper()}
        r = self.t.call("POST", "/invites/site-invite", body)
        self.assertStatus(r, 200)
        inv = r.json["invite"]
        # Wix: staffId is "format GUID"; stored lowercase like every ID.
        self.assertEqual((inv["email"], inv["status"], inv["staffId"]),
                         (addr, "Pending", staff))
        r2 = self.t.call("POST", "/invites/site-invite", body)
        self.assertStatus(r2, 200)
        self.assertEqual(r2.json["invite"]["id"], inv["id"])
        bad = self.t.call("POST", "/invites/site-invite",
                          {"email": "nope", "policyIds": [ROLE_DESIGNER]})
        self.assertStatus(bad, 400)
        self.assertErrorShape(bad)
        self.assertValidation(self.t.call("POST", "/invites/site-invite",
                                          {"email": unique_email(), "policyIds": ["42"]}),
                              "policyIds[0]")

    def test_update_pending_only(self):
        addr = unique_email("upd")
        inv = self.bulk_one(addr)
        path = "/invites/site-invite/%s" % inv["id"]
        staff = str(uuid.uuid4())
        r = self.t.call("PATCH", path, {"policyIds": [ROLE_ADMIN, ROLE_MARKETING],
                                        "staffId": staff})
        self.assertStatus(r, 200)
        got = r.json["invite"]
        self.assertEqual(got["policyIds"], [ROLE_ADMIN, ROLE_MARKETING])
        self.assertEqual(got["staffId"], staff)
        for bad in ("s-1", staff + "0", 7, " " + staff):
            self.assertValidation(self.t.call("PATCH", path, {"staffId": bad}), "staffId")
        r = self.t.call("PATCH", path, {"staffId": ""})
        self.assertStatus(r, 200)
        self.assertNotIn("staffId", r.json["invite"], "an empty staffId clears it")
        self.assertEqual(got["sendCount"], inv["sendCount"])
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["policyIds"],
                         [ROLE_ADMIN, ROLE_MARKETING])
        self.assertValidation(self.t.call("PATCH", path, {"policyIds": ["77"]}), "policyIds[0]")
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        self.assertAppError(self.t.call("PATCH", path, {"staffId": str(uuid.uuid4())}), 428,
                            "FAILED_PRECONDITION", "INVITE_NOT_PENDING")

    # ---- Seats ----------------------------------------------------------------------------------
    def test_contributor_limit(self):
        t = self.fresh_site(limit=3)

        def left():
            r = t.call("GET", "/invites/site-invite/contributor-limit")
            self.assertStatus(r, 200)
            lim = r.json["contributorLimitation"]
            self.assertEqual(lim["contributorLimit"], 3)
            return lim["leftInvites"]

        self.assertEqual(left(), 3)
        a, b, c, d = (unique_email("seat") for _ in range(4))
        self.assertStatus(t.bulk([a, b]), 200)
        self.assertEqual(left(), 1)
        r = t.bulk([c, d])
        self.assertStatus(r, 200)
        self.assertEqual([i["email"] for i in r.json["invites"]], [c])
        self.assertEqual(r.json["failedEmails"], [d])
        self.assertEqual([f["code"] for f in r.json["failures"]], ["CONTRIBUTOR_LIMIT_REACHED"])
        self.assertEqual(left(), 0)
        self.assertStatus(t.revoke(r.json["invites"][0]["id"]), 200)
        self.assertEqual(left(), 1)

    # ---- Roles ---------------------------------------------------------------------------------
    def test_roles_list_create_duplicate(self):
        r = self.t.call("GET", "/roles-management/roles")
        self.assertStatus(r, 200)
        pre = r.json["predefinedRoles"]
        self.assertEqual([x["id"] for x in pre], PREDEFINED_ROLES)
        for role in pre:
            self.assertTrue(role["title"] and role["description"], role)
        title = "Copy Editor " + uuid.uuid4().hex[:6]
        c = self.t.call("POST", "/roles-management/roles",
                        {"title": title, "description": "Edits copy"})
        self.assertIn(c.status, (200, 201), repr(c))
        role = c.json.get("role", c.json)
        self.assertEqual(role["title"], title)
        listed = self.t.call("GET", "/roles-management/roles").json["customRoles"]
        self.assertIn(role["id"], [x["id"] for x in listed])
        self.assertAppError(self.t.call("POST", "/roles-management/roles",
                                        {"title": title, "description": "again"}),
                            409, "ALREADY_EXISTS")
        inv = self.bulk_one(policy_ids=[role["id"], ROLE_ADMIN])
        self.assertEqual(inv["policyIds"], [role["id"], ROLE_ADMIN])
        self.assertValidation(self.t.call("POST", "/roles-management/roles", {"description": "x"}),
                              "title")

    # ---- Path forms ----------------------------------------------------------------------------
    def test_short_path_form(self):
        addr = unique_email("short")
        r = self.t.call("POST", "/site-invite/bulk",
                        {"policyIds": [ROLE_ADMIN], "emails": [addr]})
        self.assertStatus(r, 200)
        iid = r.json["invites"][0]["id"]
        self.assertEqual(self.t.call("GET", "/site-invite/" + iid).json["invite"]["email"], addr)
        self.assertStatus(self.t.call("POST", "/site-invite/%s/resend" % iid, {}), 200)
        q = self.t.call("POST", "/site-invite/query", {"query": {"filter": {"email": addr}}})
        self.assertEqual([i["id"] for i in q.json["invites"]], [iid])
        self.assertStatus(self.t.call("POST", "/site-invite/%s/revoke" % iid, {}), 200)
        self.assertEqual(self.t.get(iid).json["invite"]["status"], "Deleted")


class ExpiryTest(ApiTestCase):
    """With a 2-second lifetime: Pending reads Expired once past expirationDate; resend revives."""

    def test_expire_then_resend(self):
        with Server(lifetime_s=2) as server:
            t = Tenant(server, "Shortlived")
            r = t.bulk([unique_email("exp"), unique_email("exp2")])
            self.assertStatus(r, 200)
            inv, other = r.json["invites"]
            life = parse_ts(inv["expirationDate"]) - parse_ts(inv["dateCreated"])
            self.assertEqual(life, datetime.timedelta(seconds=2))
            self.assertEqual(inv["status"], "Pending")
            got = wait_until(lambda: (lambda g: g if g["status"] == "Expired" else None)(
                t.get(inv["id"]).json["invite"]), 10, what="status Expired")
            self.assertEqual(got["id"], inv["id"])
            self.assertEqual(server.get_page(inv["acceptLink"]).status, 410)
            ex = t.query({"filter": {"status": "Expired"}})
            self.assertIn(inv["id"], {i["id"] for i in ex.json["invites"]})
            r = t.resend(inv["id"])
            self.assertStatus(r, 200)
            again = r.json["invite"]
            self.assertEqual(again["status"], "Pending")
            self.assertEqual(again["acceptLink"], inv["acceptLink"])
            self.assertGreater(parse_ts(again["expirationDate"]),
                               datetime.datetime.now(datetime.timezone.utc))
            self.assertEqual(server.get_page(inv["acceptLink"]).status, 200)
            # Revoking an expired invite deletes it.
            wait_until(lambda: t.get(other["id"]).json["invite"]["status"] == "Expired", 10,
                       what="second invite Expired")
            self.assertStatus(t.revoke(other["id"]), 200)
            self.assertEqual(t.get(other["id"]).json["invite"]["status"], "Deleted")
            self.assertNo5xx(server)


class StatusSortTest(ApiTestCase):
    """Sort by status is the status a reader sees (an overdue Pending sorts as Expired), ties by
    ID, in both orders, with cursors across every status boundary and with a status filter."""

    def test_status_order_across_expiry(self):
        with Server(test_clock=True) as server:
            t = Tenant(server, "Sorted")
            old = t.bulk([unique_email("old%d" % i) for i in range(4)])  # site lifetime: 30 days
            self.assertStatus(old, 200)
            server.advance_clock(20 * 86400)
            new = t.bulk([unique_email("new%d" % i) for i in range(5)])
            self.assertStatus(new, 200)
            for inv in new.json["invites"][:2]:
                self.assertStatus(t.revoke(inv["id"]), 200)
            server.advance_clock(10 * 86400 + 60)  # the first four are now past their expiry
            want = {}
            for inv in old.json["invites"]:
                want[inv["id"]] = "Expired"
            for k, inv in enumerate(new.json["invites"]):
                want[inv["id"]] = "Deleted" if k < 2 else "Pending"

            def walk(order, limit, flt=None):
                seen, q = [], {"sort": [{"fieldName": "status", "order": order}],
                               "cursorPaging": {"limit": limit}}
                if flt:
                    q["filter"] = flt
                for _ in range(20):
                    res = t.query(q)
                    self.assertStatus(res, 200)
                    seen += [(i["status"], i["id"]) for i in res.json["invites"]]
                    meta = res.json["pagingMetadata"]
                    if not meta["hasNext"]:
                        return seen
                    q = {"cursorPaging": {"cursor": meta["cursors"]["next"], "limit": limit}}
                self.fail("paging does not end")

            for order in ("ASC", "DESC"):
                expect = sorted(((st, i) for i, st in want.items()), reverse=order == "DESC")
                for limit in (1, 2, 3, 100):
                    self.assertEqual(walk(order, limit), expect, (order, limit))
                both = [p for p in expect if p[0] in ("Expired", "Pending")]
                self.assertEqual(walk(order, 2, {"status": {"$in": ["Pending", "Expired"]}}), both)
                self.assertEqual(walk(order, 2, {"status": "Used"}), [])
            self.assertNo5xx(server)


if __name__ == "__main__":
    unittest.main()
