"""The invitee's side against the real binary: parse-token, accept and decline over the API (both
path forms, no API key), single use under 50 concurrent accepts, verified emails, tokens that
were tampered with, and the accept page's forms with their cross-site protection."""

import concurrent.futures
import html
import re
import unittest
import urllib.parse

from sitest import (ApiTestCase, Server, Tenant, ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER,
                    unique_email, wait_until, messages_to, message_text, accept_links)

FORM = "application/x-www-form-urlencoded"
RACERS = 50


def token_of(invite):
    return invite["acceptLink"].rsplit("/", 1)[1]


def form_token(page):
    m = re.search(r'name="form_token" value="([A-Za-z0-9_-]+)"', page.body.decode("utf-8"))
    assert m, "no form token in %r" % page
    return m.group(1)


class AcceptApi(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.t = Tenant(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def invite(self, email=None, **extra):
        r = self.t.bulk([email or unique_email()], policy_ids=(ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER),
                        **extra)
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["invites"]), 1, repr(r))
        return r.json["invites"][0]

    def post(self, path, body, **kw):
        return self.server.request("POST", path, body, **kw)

    def status_of(self, invite):
        r = self.t.get(invite["id"])
        self.assertStatus(r, 200)
        return r.json["invite"]

    def contributors(self):
        """The site's contributors in the accept answer's shape, read from Query Site
        Contributors' Wix shape (docs/API.md §3.3.8)."""
        r = self.t.call("GET", "/roles-management/v2/contributors/query")
        self.assertStatus(r, 200)
        out = []
        for x in r.json["contributors"]:
            c = {"id": x["siteinvites"]["contributorId"], "accountId": x["accountId"],
                 "email": x["metaData"]["email"], "joinedAt": x["joinedAt"],
                 "policyIds": [a["policy"]["policyId"] for a in x["metaData"]["assignments"]]}
            if "inviteId" in x["siteinvites"]:
                c["inviteId"] = x["siteinvites"]["inviteId"]
            out.append(c)
        return out

    def test_parse_token_both_prefixes(self):
        inv = self.invite()
        for path in ("/invites/site-invite/parse-token", "/site-invite/parse-token"):
            r = self.post(path, {"inviteToken": token_of(inv)})
            self.assertStatus(r, 200)
            self.assertEqual(r.json, {"inviteId": inv["id"], "siteId": self.t.site_id,
                                      "status": "Pending"})

    def test_accept_makes_contributor_with_roles_and_keeps_seat(self):
        seats = self.t.call("GET", "/invites/site-invite/contributor-limit").json
        inv = self.invite()
        after_invite = self.t.call("GET", "/invites/site-invite/contributor-limit").json
        r = self.post("/invites/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "Used")
        c = r.json["contributor"]
        self.assertEqual(c["email"], inv["email"])
        self.assertEqual(c["policyIds"], [ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER])
        self.assertEqual(c["inviteId"], inv["id"])
        self.assertEqual(r.json["acceptedByAccountId"], c["accountId"])
        got = self.status_of(inv)
        self.assertEqual(got["status"], "Used")
        self.assertEqual(got["acceptedByAccountId"], c["accountId"])
        self.assertIn(c, self.contributors())
        left = lambda j: j["contributorLimitation"]["leftInvites"]
        after = self.t.call("GET", "/invites/site-invite/contributor-limit").json
        self.assertEqual(left(after_invite), left(seats) - 1)
        self.assertEqual(left(after), left(after_invite), "the seat stays used after accepting")
        # Single use: a second accept and a decline are refused, nothing changes.
        for path in ("/site-invite/accept", "/site-invite/decline"):
            r = self.post(path, {"inviteToken": token_of(inv)})
            self.assertAppError(r, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING")
        self.assertEqual(self.status_of(inv)["status"], "Used")

    def test_accept_uses_existing_account_with_the_email(self):
        email = unique_email("owner")
        acct = self.server.cli("account", "create", "--name", "Has Account", "--email",
                               email.upper().replace("@", "@"))["id"]
        inv = self.invite(email)
        r = self.post("/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["acceptedByAccountId"], acct,
                         "the account with the invited address (any case) joins")

    def test_decline_frees_the_seat(self):
        before = self.t.call("GET", "/invites/site-invite/contributor-limit").json
        inv = self.invite()
        r = self.post("/invites/site-invite/decline", {"inviteToken": token_of(inv)})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "Declined")
        self.assertNotIn("contributor", r.json)
        self.assertEqual(self.status_of(inv)["status"], "Declined")
        after = self.t.call("GET", "/invites/site-invite/contributor-limit").json
        self.assertEqual(after, before)
        r = self.post("/invites/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertAppError(r, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING")

    def test_revoked_invite_cannot_be_accepted(self):
        inv = self.invite()
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        r = self.post("/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertAppError(r, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING")
        self.assertEqual(self.status_of(inv)["status"], "Deleted")

    def test_fifty_concurrent_accepts_one_wins(self):
        inv = self.invite()
        body = {"inviteToken": token_of(inv)}
        with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
            results = list(pool.map(lambda _: self.post("/site-invite/accept", body),
                                    range(RACERS)))
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertEqual(statuses.count(428), RACERS - 1, statuses)
        mine = [c for c in self.contributors() if c.get("inviteId") == inv["id"]]
        self.assertEqual(len(mine), 1)

    def test_bad_tokens_are_404_and_change_nothing(self):
        inv = self.invite()
        tok = token_of(inv)
        flipped = tok[:10] + ("A" if tok[10] != "A" else "B") + tok[11:]
        bad = [flipped, tok[:-1], tok[:20], tok + "A", tok * 3, tok[:-1] + "é", "é" * 43,
               "", "x", tok.upper() if tok.upper() != tok else tok.lower(), "../" + tok]
        for t in bad:
            for path in ("/site-invite/accept", "/site-invite/decline",
                         "/site-invite/parse-token"):
                r = self.post(path, {"inviteToken": t})
                self.assertAppError(r, 404, "NOT_FOUND", "INVITE_NOT_FOUND")
            if t and "/" not in t:
                page = self.server.request("GET", "/invite/" + urllib.parse.quote(t))
                self.assertStatus(page, 404)
                self.assertIn("no-store", page.header("cache-control"))
        self.assertEqual(self.status_of(inv)["status"], "Pending")

    def test_body_validation(self):
        self.assertValidation(self.post("/site-invite/accept", {}), "inviteToken",
                              "REQUIRED_FIELD")
        self.assertValidation(self.post("/site-invite/decline", {"inviteToken": 5}),
                              "inviteToken", "FORMAT")
        r = self.server.request("POST", "/site-invite/accept", raw=b"{not json")
        self.assertAppError(r, 400, "INVALID_ARGUMENT", "INVALID_JSON")
        r = self.server.request("POST", "/site-invite/accept", raw=b"inviteToken=x",
                                content_type=FORM)
        self.assertAppError(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        inv = self.invite()
        r = self.post("/site-invite/accept", {"inviteToken": token_of(inv), "email": "not mail"})
        self.assertValidation(r, "email", "FORMAT")
        self.assertEqual(self.status_of(inv)["status"], "Pending")

    def test_other_email_needs_the_platform_key(self):
        inv = self.invite()
        other = unique_email("work")
        body = {"inviteToken": token_of(inv), "email": other}
        r = self.post("/site-invite/accept", body)
        self.assertAppError(r, 403, "PERMISSION_DENIED")
        _, weak = self.t.add_key(["site-users.read"])
        r = self.post("/site-invite/accept", body, headers={"Authorization": weak})
        self.assertAppError(r, 403, "PERMISSION_DENIED")
        stranger = Tenant(self.server, name="Other")
        r = self.post("/site-invite/accept", body, headers={"Authorization": stranger.key})
        self.assertAppError(r, 403, "PERMISSION_DENIED")
        self.assertEqual(self.status_of(inv)["status"], "Pending")
        # The same address as invited (any case) needs no key.
        same = self.invite()
        r = self.post("/site-invite/accept", {"inviteToken": token_of(same),
                                              "email": same["email"].upper()})
        self.assertStatus(r, 200)
        # The platform's key vouches for another address: that account joins.
        r = self.post("/site-invite/accept", body, headers={"Authorization": self.t.key})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["contributor"]["email"], other)

    def test_wrong_methods(self):
        r = self.server.request("GET", "/invites/site-invite/accept")
        self.assertAppError(r, 405, "METHOD_NOT_ALLOWED")
        self.assertEqual(r.header("allow"), "POST")

    def test_no_5xx(self):
        self.assertNo5xx(self.server)


class AcceptPages(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.t = Tenant(cls.server, site_name="Café <b>&</b> \"Co\"")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def invite(self, lang=None, purpose=None):
        extra = {}
        if lang:
            extra["defaultEmailLanguage"] = lang
        if purpose:
            extra["invitePurpose"] = purpose
        r = self.t.bulk([unique_email()], **extra)
        self.assertStatus(r, 200)
        return r.json["invites"][0]

    def form_post(self, inv, action, token=None, headers=None):
        page = self.server.get_page(inv["acceptLink"])
        ft = form_token(page) if token is None else token
        h = {"Sec-Fetch-Site": "same-origin"}
        h.update(headers or {})
        return self.server.request("POST", "/invite/%s/%s" % (token_of(inv), action),
                                   raw=("form_token=%s" % ft).encode(), content_type=FORM,
                                   headers={k: v for k, v in h.items() if v is not None})

    def assertPageHeaders(self, r):
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        csp = r.header("content-security-policy")
        self.assertIn("default-src 'none'", csp)
        self.assertIn("form-action 'self'", csp)
        self.assertTrue(r.header("content-type").startswith("text/html"))

    def test_pending_page_escapes_and_has_forms(self):
        inv = self.invite(purpose="<script>alert(1)</script>")
        r = self.server.get_page(inv["acceptLink"])
        self.assertStatus(r, 200)
        self.assertPageHeaders(r)
        text = r.body.decode("utf-8")
        self.assertIn('<html lang="en" dir="ltr">', text)
        self.assertNotIn("<script>", text)
        self.assertNotIn("<b>&</b>", text)
        self.assertIn(html.escape(self.t.site_name, quote=True).replace("&#x27;", "&#39;"), text)
        self.assertIn("&lt;script&gt;", text)
        self.assertIn('action="/invite/%s/accept"' % token_of(inv), text)
        self.assertIn('action="/invite/%s/decline"' % token_of(inv), text)
        self.assertIn("Blog Writer", text)
        self.assertIn("<main>", text)

    def test_languages_and_direction(self):
        for lang, marker, direction in (("he", "הוזמנת", "rtl"), ("ja", "招待", "ltr"),
                                        ("fr", "Vous êtes invité", "ltr"),
                                        ("pt-BR", "Você foi convidado", "ltr"),
                                        ("de", "eingeladen", "ltr"), ("es", "invitado", "ltr"),
                                        ("xx", "You&#39;re invited", "ltr")):
            inv = self.invite(lang=lang)
            text = self.server.get_page(inv["acceptLink"]).body.decode("utf-8")
            self.assertIn('dir="%s"' % direction, text, lang)
            self.assertIn(marker, text, lang)

    def test_accept_from_page(self):
        inv = self.invite()
        r = self.form_post(inv, "accept")
        self.assertStatus(r, 200)
        self.assertPageHeaders(r)
        self.assertIn("You joined", r.body.decode("utf-8"))
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Used")
        again = self.server.get_page(inv["acceptLink"])
        self.assertStatus(again, 410)
        self.assertIn("already used", again.body.decode("utf-8"))

    def test_decline_from_page(self):
        inv = self.invite(lang="de")
        r = self.form_post(inv, "decline")
        self.assertStatus(r, 200)
        self.assertIn("Einladung abgelehnt", r.body.decode("utf-8"))
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Declined")
        self.assertStatus(self.server.get_page(inv["acceptLink"]), 410)

    def test_cross_site_posts_change_nothing(self):
        inv = self.invite()
        refused = [
            self.form_post(inv, "accept", headers={"Sec-Fetch-Site": "cross-site"}),
            self.form_post(inv, "accept", headers={"Sec-Fetch-Site": "same-site"}),
            self.form_post(inv, "accept", headers={"Sec-Fetch-Site": None,
                                                    "Origin": "https://evil.example"}),
            self.form_post(inv, "accept", headers={"Sec-Fetch-Site": None, "Origin": "null"}),
            self.form_post(inv, "accept", token="A" * 22),
            self.form_post(inv, "decline", token=""),
        ]
        for r in refused:
            self.assertStatus(r, 403)
            self.assertPageHeaders(r)
        r = self.server.request("POST", "/invite/%s/accept" % token_of(inv),
                                raw=b'{"form_token":"x"}', content_type="application/json")
        self.assertStatus(r, 415)
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Pending")
        # The same form from our own origin goes through.
        origin = "http://127.0.0.1:%d" % self.server.port
        r = self.form_post(inv, "accept", headers={"Sec-Fetch-Site": None, "Origin": origin})
        self.assertStatus(r, 200)

    def test_gone_pages(self):
        revoked = self.invite(lang="fr")
        ft = form_token(self.server.get_page(revoked["acceptLink"]))
        self.assertStatus(self.t.revoke(revoked["id"]), 200)
        r = self.server.get_page(revoked["acceptLink"])
        self.assertStatus(r, 410)
        self.assertPageHeaders(r)
        self.assertIn("retirée", r.body.decode("utf-8"))
        self.assertNotIn("<form", r.body.decode("utf-8"))
        # A form kept open from before the revoke: refused with the same page, nothing changes.
        r = self.form_post(revoked, "accept", token=ft)
        self.assertStatus(r, 410)
        self.assertIn("retirée", r.body.decode("utf-8"))
        self.assertEqual(self.t.get(revoked["id"]).json["invite"]["status"], "Deleted")
        r = self.server.request("GET", "/invite/not-a-token")
        self.assertStatus(r, 404)
        self.assertPageHeaders(r)
        self.assertIn("not valid", r.body.decode("utf-8"))

    def test_stale_form_after_accept_shows_used(self):
        inv = self.invite()
        page = self.server.get_page(inv["acceptLink"])
        ft = form_token(page)
        self.assertStatus(self.form_post(inv, "accept"), 200)
        r = self.server.request("POST", "/invite/%s/decline" % token_of(inv),
                                raw=("form_token=%s" % ft).encode(), content_type=FORM,
                                headers={"Sec-Fetch-Site": "same-origin"})
        self.assertStatus(r, 410)
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Used")

    def test_link_from_the_real_email(self):
        inv = self.invite()
        msgs = wait_until(lambda: messages_to(self.server, inv["email"]), what="the email")
        plain, htm = message_text(msgs[0])
        links = accept_links(plain)
        self.assertEqual(links[0], inv["acceptLink"])
        self.assertStatus(self.server.get_page(links[0]), 200)

    def test_no_5xx(self):
        self.assertNo5xx(self.server)


class Expiry(ApiTestCase):
    LIFETIME_S = 2

    def test_pending_expired_resend_pending_accept(self):
        with Server(lifetime_s=self.LIFETIME_S) as server:
            t = Tenant(server)
            inv = t.bulk([unique_email()]).json["invites"][0]
            self.assertEqual(inv["status"], "Pending")
            got = wait_until(lambda: (lambda j: j if j["status"] == "Expired" else None)(
                t.get(inv["id"]).json["invite"]), timeout=15, what="lazy expiry")
            self.assertEqual(got["status"], "Expired")
            r = server.get_page(inv["acceptLink"])
            self.assertStatus(r, 410)
            self.assertIn("expired", r.body.decode("utf-8"))
            r = server.request("POST", "/site-invite/accept", {"inviteToken": token_of(inv)})
            self.assertAppError(r, 428, "FAILED_PRECONDITION", "INVITE_NOT_PENDING")
            # The sweep stores Expired: dateUpdated moves from the creation (2 s before the
            # expiry) to the sweep's time, at or past the expiry (lazy reads never write, so only
            # the sweep can change it). At, not only past: a sweep that runs in the very
            # millisecond of the expiry takes the row (expires_ms <= now) and writes that time.
            seen = []  # the last answer and the server's log go into a failure's message

            def stored_expired():
                seen[:] = [t.get(inv["id"]).json["invite"]]
                return seen[0] if seen[0]["dateUpdated"] >= seen[0]["expirationDate"] else None
            try:
                swept = wait_until(stored_expired, timeout=15, what="the sweep to store Expired")
            except AssertionError as e:
                raise AssertionError("%s\nlast invite: %r\n%s"
                                     % (e, seen, server.log_tail(80))) from None
            self.assertEqual(swept["status"], "Expired")
            r = t.resend(inv["id"])
            self.assertStatus(r, 200)
            self.assertEqual(r.json["invite"]["status"], "Pending")
            self.assertEqual(r.json["invite"]["acceptLink"], inv["acceptLink"])
            r = server.request("POST", "/site-invite/accept", {"inviteToken": token_of(inv)})
            self.assertStatus(r, 200)
            self.assertEqual(t.get(inv["id"]).json["invite"]["status"], "Used")
            self.assertNo5xx(server)


if __name__ == "__main__":
    unittest.main()
