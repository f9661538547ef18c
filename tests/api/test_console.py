"""The site owner's console (docs/CONSOLE.md) against the real binary: sign-in links (once,
expiry, a GET that burns nothing), the session cookie's attributes, the idle timeout on the test
clock, sign-out everywhere, CSRF and cross-site posts refused, another account's site is 404,
the sites and site pages' numbers, filters and paging, resend and revoke through the API's rules
with the owner in the audit log, and no token in the log."""

import html
import json
import os
import re
import unittest
import urllib.parse
import uuid

import time

from sitest import (ApiTestCase, Server, Tenant, ROLE_ADMIN, ROLE_BLOG_EDITOR,
                    ROLE_BLOG_WRITER, message_text, messages_to, psql, unique_email, wait_until)

FORM = "application/x-www-form-urlencoded"
SAME = {"Sec-Fetch-Site": "same-origin"}


def link_path(server, account_id, *extra):
    out = server.cli("console", "link", "--account", account_id, *extra)
    m = re.match(r"^https?://[^/]+(/console/signin/[A-Za-z0-9_-]{43})$", out["url"])
    assert m, "not a sign-in link: %r" % out
    return m.group(1)


def text(resp):
    return resp.body.decode("utf-8")


def stats(page):
    """The numbers above a site's invites: seats, pending, accepted, expired."""
    return re.findall(r"<b>([^<]*)</b>", re.search(r'<ul class="stats">.*?</ul>', page,
                                                   re.S).group(0))


def csrf_of(resp):
    m = re.search(r'name="csrf" value="([A-Za-z0-9_-]+)"', text(resp))
    assert m, "no CSRF token in %r" % resp
    return m.group(1)


def multipart(fields, boundary="----siteinvitesTestBoundary7MA4YWxk"):
    """A multipart/form-data body as a browser sends it: (name, value) or (name, (filename,
    bytes)) parts. Returns (content type, body)."""
    out = b""
    for name, value in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(value, tuple):
            out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    "Content-Type: text/csv\r\n\r\n" % (name, value[0])).encode()
            out += value[1]
        else:
            out += ('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode()
            out += value.encode()
        out += b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, out


class Owner:
    """A browser of one account's owner: signs in by link and keeps the session cookie."""

    def __init__(self, server, tenant):
        self.server, self.t, self.cookie = server, tenant, None

    def sign_in(self, *extra):
        path = link_path(self.server, self.t.account_id, *extra)
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        assert r.status == 303, r
        self.cookie = r.header("set-cookie").split(";", 1)[0]
        return r

    def get(self, path):
        return self.server.request("GET", path, headers={"Cookie": self.cookie})

    def post(self, path, fields, headers=SAME):
        hdrs = dict(headers, Cookie=self.cookie)
        raw = urllib.parse.urlencode(fields).encode()
        return self.server.request("POST", path, raw=raw, headers=hdrs, content_type=FORM)


class OneServer(ApiTestCase):
    """One server for a class's tests, started with the class's SERVER_ARGS."""
    SERVER_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=list(cls.SERVER_ARGS))
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)


class Console(OneServer):

    def setUp(self):
        self.t = Tenant(self.server)
        self.owner = Owner(self.server, self.t)

    def invite(self, *emails):
        r = self.t.bulk(list(emails), policy_ids=(ROLE_ADMIN,))
        self.assertStatus(r, 200)
        return {i["email"]: i for i in r.json["invites"]}

    def assertStrictPage(self, r):
        self.assertEqual(r.header("cache-control"), "no-store", r)
        csp = r.header("content-security-policy")
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)
        self.assertNotIn("<script", text(r))

    # -- sign-in ------------------------------------------------------------------------------
    def test_link_signs_in_once(self):
        path = link_path(self.server, self.t.account_id)
        # A GET (a mail scanner following the link) shows a button and burns nothing.
        for _ in range(2):
            r = self.server.request("GET", path)
            self.assertStatus(r, 200)
            self.assertStrictPage(r)
            self.assertIn('method="post" action="%s"' % path, text(r))
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), "/console")
        cookie = r.header("set-cookie")
        self.assertRegex(cookie, r"^si_console=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax$")
        # Used: said so, on GET and POST, and no second session.
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 410)
        self.assertIn("already used", text(r))
        self.assertIsNone(r.header("set-cookie"))
        self.assertStatus(self.server.request("GET", path), 410)
        # The session works.
        r = self.server.request("GET", "/console", headers={"Cookie": cookie.split(";")[0]})
        self.assertStatus(r, 200)
        self.assertStrictPage(r)
        self.assertIn(html.escape(self.t.site_name), text(r))

    def test_cross_site_sign_in_refused(self):
        path = link_path(self.server, self.t.account_id)
        r = self.server.request("POST", path, raw=b"", content_type=FORM,
                                headers={"Sec-Fetch-Site": "cross-site"})
        self.assertStatus(r, 403)
        # The refused post did not use the link.
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 303)

    def test_no_session_goes_to_sign_in(self):
        for cookie in (None, "si_console=nonsense", "si_console=" + "A" * 43):
            r = self.server.request("GET", "/console",
                                    headers={"Cookie": cookie} if cookie else {})
            self.assertStatus(r, 303)
            self.assertEqual(r.header("location"), "/console/signin")
        r = self.server.request("GET", "/console/signin")
        self.assertStatus(r, 200)
        self.assertIn("console link --account", text(r))

    # -- pages --------------------------------------------------------------------------------
    def test_sites_and_site_pages(self):
        other = self.t.add_site("Second site")
        inv = self.invite("ada@example.com", "bob@example.com", "cy@example.com")
        self.owner.sign_in()
        r = self.owner.get("/console")
        self.assertStatus(r, 200)
        body = text(r)
        self.assertIn("/console/sites/%s" % other, body)
        row = re.search(r"<tr><td><a href=\"/console/sites/%s\">.*?</tr>" % self.t.site_id, body)
        self.assertIsNotNone(row, body)
        self.assertEqual(re.findall(r'class="num">([^<]*)<', row.group(0)),
                         ["3 / 100", "3", "0", "0"])
        r = self.owner.get("/console/sites/%s" % self.t.site_id)
        self.assertStatus(r, 200)
        self.assertStrictPage(r)
        body = text(r)
        for email in inv:
            self.assertIn(email, body)
        self.assertEqual(body.count(">Pending</td>"), 3)
        self.assertIn('class="chart"', body)
        # Filter, search, sort, each checked against what the page lists.
        self.t.revoke(inv["bob@example.com"]["id"])
        r = self.owner.get("/console/sites/%s?status=Deleted" % self.t.site_id)
        self.assertEqual(re.findall(r'<td class="email">([^<]*)<', text(r)), ["bob@example.com"])
        r = self.owner.get("/console/sites/%s?q=CY%%40example.com" % self.t.site_id)
        self.assertEqual(re.findall(r'<td class="email">([^<]*)<', text(r)), ["cy@example.com"])
        r = self.owner.get("/console/sites/%s?sort=email-asc" % self.t.site_id)
        self.assertEqual(re.findall(r'<td class="email">([^<]*)<', text(r)),
                         ["ada@example.com", "bob@example.com", "cy@example.com"])
        self.assertIn('<option value="email-asc" selected>', text(r))
        # A query string that is not ours starts over.
        r = self.owner.get("/console/sites/%s?status=Nope" % self.t.site_id)
        self.assertStatus(r, 303)

    def test_cursor_paging(self):
        self.t = Tenant(self.server, contributor_limit=500)
        self.owner = Owner(self.server, self.t)
        emails = ["p%02d-%s" % (i, unique_email()) for i in range(120)]
        for i in range(0, 120, 60):
            self.invite(*emails[i:i + 60])
        self.owner.sign_in()
        seen, path = [], "/console/sites/%s?sort=email-asc" % self.t.site_id
        while path:
            r = self.owner.get(path)
            self.assertStatus(r, 200)
            seen += re.findall(r'<td class="email">([^<]*)<', text(r))
            m = re.search(r'<p class="next"><a href="([^"]+)">', text(r))
            path = html.unescape(m.group(1)) if m else None
        self.assertEqual(seen, sorted(emails))

    def test_another_accounts_site_is_404(self):
        stranger = Tenant(self.server, name="Other")
        self.owner.sign_in()
        for site in (stranger.site_id, "00000000-0000-0000-0000-000000000000", "nope"):
            r = self.owner.get("/console/sites/%s" % site)
            self.assertStatus(r, 404)
            self.assertNotIn(stranger.site_name, text(r))
        inv = Owner(self.server, stranger)
        theirs = stranger.bulk([unique_email()], policy_ids=(ROLE_ADMIN,)).json["invites"][0]
        page = self.owner.get("/console")
        r = self.owner.post("/console/sites/%s/revoke" % stranger.site_id,
                            {"csrf": csrf_of(page), "invite": theirs["id"]})
        self.assertStatus(r, 404)
        self.assertEqual(stranger.get(theirs["id"]).json["invite"]["status"], "Pending")
        # Their invite through our own site is not found either.
        r = self.owner.post("/console/sites/%s/revoke" % self.t.site_id,
                            {"csrf": csrf_of(page), "invite": theirs["id"]})
        self.assertStatus(r, 404)
        self.assertEqual(stranger.get(theirs["id"]).json["invite"]["status"], "Pending")
        del inv

    def test_revoke_and_resend_through_the_api_rules(self):
        inv = self.invite("ada@example.com", "bob@example.com")
        self.owner.sign_in()
        site = "/console/sites/%s" % self.t.site_id
        page = self.owner.get(site)
        token = csrf_of(page)
        bob = inv["bob@example.com"]["id"]
        # Without the token, with another token, or cross-site: refused, nothing changes.
        for fields, headers in (({"invite": bob}, SAME),
                                ({"invite": bob, "csrf": "A" * 22}, SAME),
                                ({"invite": bob, "csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
                                ({"invite": bob, "csrf": token}, {"Origin": "https://evil.example"})):
            r = self.owner.post(site + "/revoke", fields, headers)
            self.assertStatus(r, 403)
            self.assertEqual(self.t.get(bob).json["invite"]["status"], "Pending")
        r = self.owner.post(site + "/revoke", {"invite": bob, "csrf": token})
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), site + "?done=revoked")
        self.assertEqual(self.t.get(bob).json["invite"]["status"], "Deleted")
        r = self.owner.get(r.header("location"))
        self.assertIn("was revoked", text(r))
        self.assertEqual(text(r).count(">Revoked</td>"), 1)
        # The rules are the API's: revoking again changes nothing (as the API's 200), a revoked
        # invite cannot be resent.
        r = self.owner.post(site + "/revoke", {"invite": bob, "csrf": token})
        self.assertEqual(r.header("location"), site + "?done=revoked")
        self.assertStatus(self.t.revoke(bob), 200)
        self.assertEqual(self.t.get(bob).json["invite"]["status"], "Deleted")
        r = self.owner.post(site + "/resend", {"invite": bob, "csrf": token})
        self.assertEqual(r.header("location"), site + "?done=refused")
        ada = inv["ada@example.com"]["id"]
        r = self.owner.post(site + "/resend", {"invite": ada, "csrf": token})
        self.assertEqual(r.header("location"), site + "?done=resent")
        self.assertEqual(self.t.get(ada).json["invite"]["sendCount"], 2)
        # The audit log names the owner's account as the actor.
        log = self.t.call("GET", "/invites/audit-log").json
        mine = [e for e in log["entries"] if e["actor"].get("type") == "owner"]
        self.assertEqual(sorted(e["action"] for e in mine), ["invite.resent", "invite.revoked"])
        for e in mine:
            self.assertEqual(e["actor"]["accountId"], self.t.account_id)

    def test_change_a_pending_invites_roles(self):
        inv = self.invite("ada@example.com", "bob@example.com")
        ada, bob = inv["ada@example.com"]["id"], inv["bob@example.com"]["id"]
        self.owner.sign_in()
        site = "/console/sites/%s" % self.t.site_id
        page = self.owner.get(site)
        self.assertIn('href="%s/roles?invite=%s"' % (site, ada), text(page))
        token = csrf_of(page)
        edit = self.owner.get(site + "/roles?invite=%s" % ada)
        self.assertStatus(edit, 200)
        self.assertStrictPage(edit)
        self.assertIn('value="%s" checked>' % ROLE_ADMIN, text(edit))
        # Without the token: 403; no role, or Owner (not grantable): 400 with the page again.
        r = self.owner.post(site + "/roles", [("invite", ada), ("role", ROLE_BLOG_EDITOR)])
        self.assertStatus(r, 403)
        for roles in ([], ["6601492336091027458"]):
            r = self.owner.post(site + "/roles", [("csrf", token), ("invite", ada)] +
                                [("role", x) for x in roles])
            self.assertStatus(r, 400)
            self.assertIn("Choose at least one role", text(r))
        self.assertEqual(self.t.get(ada).json["invite"]["policyIds"], [ROLE_ADMIN])
        r = self.owner.post(site + "/roles", [("csrf", token), ("invite", ada),
                                              ("role", ROLE_BLOG_EDITOR),
                                              ("role", ROLE_BLOG_WRITER)])
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), site + "?done=roles")
        self.assertEqual(sorted(self.t.get(ada).json["invite"]["policyIds"]),
                         sorted([ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER]))
        self.assertIn("The roles were changed.", text(self.owner.get(r.header("location"))))
        # Only a Pending invite: a revoked one is refused (the API's 409 rule), unchanged.
        self.assertStatus(self.t.revoke(bob), 200)
        r = self.owner.post(site + "/roles", [("csrf", token), ("invite", bob),
                                              ("role", ROLE_BLOG_EDITOR)])
        self.assertEqual(r.header("location"), site + "?done=refused")
        self.assertEqual(self.t.get(bob).json["invite"]["policyIds"], [ROLE_ADMIN])
        r = self.owner.get(site + "/roles?invite=%s" % bob)
        self.assertEqual(r.header("location"), site + "?done=refused")
        # An invite of another account's site is 404.
        other = Tenant(self.server)
        foreign = other.bulk(["x@example.com"], policy_ids=(ROLE_ADMIN,)).json["invites"][0]["id"]
        self.assertStatus(self.owner.get(site + "/roles?invite=%s" % foreign), 404)
        r = self.owner.post(site + "/roles", [("csrf", token), ("invite", foreign),
                                              ("role", ROLE_BLOG_EDITOR)])
        self.assertStatus(r, 404)
        # Audited as the API's update, with the owner as the actor.
        log = self.t.call("GET", "/invites/audit-log").json
        mine = [e for e in log["entries"] if e["actor"].get("type") == "owner"]
        self.assertEqual([e["action"] for e in mine], ["invite.updated"])
        self.assertEqual(mine[0]["actor"]["accountId"], self.t.account_id)

    def test_invite_people(self):
        self.invite("ada@example.com")
        self.owner.sign_in()
        form = "/console/sites/%s/invite" % self.t.site_id
        page = self.owner.get(form)
        self.assertStatus(page, 200)
        self.assertStrictPage(page)
        body = text(page)
        self.assertIn('value="%s"' % ROLE_ADMIN, body)
        self.assertNotIn('value="6601492336091027458"', body)  # Owner: never by invite
        token = csrf_of(page)
        fields = [("csrf", token), ("role", ROLE_ADMIN), ("language", "fr"),
                  ("purpose", "Spring posts"),
                  ("emails", "new1@example.com, NEW1@example.com\nada@example.com;not-an-address"
                             "  new2@example.com")]
        raw = urllib.parse.urlencode(fields).encode()
        hdrs = dict(SAME, Cookie=self.owner.cookie)
        r = self.server.request("POST", form, raw=raw, headers=hdrs, content_type=FORM)
        self.assertStatus(r, 200)
        rows = re.findall(r'<td class="email">([^<]*)</td><td>([^<]*)</td>', text(r))
        self.assertEqual(rows, [("new1@example.com", "Invited: an email is on its way"),
                                ("NEW1@example.com", "Listed twice: invited once"),
                                ("ada@example.com", "Already invited: nothing sent"),
                                ("not-an-address", "Not a valid email address"),
                                ("new2@example.com", "Invited: an email is on its way")])
        # The invites are the API's, with the form's roles, language and purpose.
        got = {i["email"]: i for i in self.t.query_all()}
        self.assertEqual(sorted(got), ["ada@example.com", "new1@example.com", "new2@example.com"])
        self.assertEqual(got["new1@example.com"]["policyIds"], [ROLE_ADMIN])
        self.assertEqual(got["new1@example.com"]["emailLanguage"], "fr")
        self.assertEqual(got["new2@example.com"]["invitePurpose"], "Spring posts")
        log = self.t.call("GET", "/invites/audit-log?actorType=owner").json["entries"]
        self.assertEqual(sorted(e["target"]["id"] for e in log),
                         sorted([got["new1@example.com"]["id"], got["new2@example.com"]["id"]]))
        # No role, or no address: the form again with a notice, nothing invited.
        for bad in ([("csrf", token), ("emails", "x@example.com")],
                    [("csrf", token), ("role", ROLE_ADMIN), ("emails", " ,\n")]):
            raw = urllib.parse.urlencode(bad).encode()
            r = self.server.request("POST", form, raw=raw, headers=hdrs, content_type=FORM)
            self.assertStatus(r, 400)
            self.assertIn("Choose at least one role", text(r))
        # Without the CSRF token: refused.
        raw = urllib.parse.urlencode([("role", ROLE_ADMIN), ("emails", "x@example.com")]).encode()
        r = self.server.request("POST", form, raw=raw, headers=hdrs, content_type=FORM)
        self.assertStatus(r, 403)
        self.assertEqual(len(self.t.query_all()), 3)

    def test_invite_people_by_csv_upload(self):
        self.invite("ada@example.com")
        self.owner.sign_in()
        form = "/console/sites/%s/invite" % self.t.site_id
        page = self.owner.get(form)
        self.assertIn('enctype="multipart/form-data"', text(page))
        self.assertIn('name="csv" type="file"', text(page))
        token = csrf_of(page)
        hdrs = dict(SAME, Cookie=self.owner.cookie)
        # The reader of `invite import`: a BOM, the column headed email (not the first), quoted
        # cells, CRLF, a blank row; pasted addresses come first.
        csv = ("\ufeffname,Email\r\n\"Lovelace, Ada\",ada@example.com\r\n"
               "Grace, csv1@example.com \r\n,,\r\nBad,not-an-address\r\n"
               "Cy,\"csv2@example.com\"\r\n").encode("utf-8")
        ctype, body = multipart([("csrf", token), ("emails", "pasted@example.com"),
                                 ("csv", ("people.csv", csv)), ("role", ROLE_ADMIN),
                                 ("language", "en"), ("purpose", "")])
        r = self.server.request("POST", form, raw=body, headers=hdrs, content_type=ctype)
        self.assertStatus(r, 200)
        rows = re.findall(r'<td class="email">([^<]*)</td><td>([^<]*)</td>', text(r))
        self.assertEqual(rows, [("pasted@example.com", "Invited: an email is on its way"),
                                ("ada@example.com", "Already invited: nothing sent"),
                                ("csv1@example.com", "Invited: an email is on its way"),
                                ("not-an-address", "Not a valid email address"),
                                ("csv2@example.com", "Invited: an email is on its way")])
        got = sorted(i["email"] for i in self.t.query_all())
        self.assertEqual(got, ["ada@example.com", "csv1@example.com", "csv2@example.com",
                               "pasted@example.com"])
        # No header row: the first column. A file alone is enough (no pasted address).
        ctype, body = multipart([("csrf", token), ("emails", ""),
                                 ("csv", ("plain.csv", b"csv3@example.com,x\n")),
                                 ("role", ROLE_ADMIN)])
        r = self.server.request("POST", form, raw=body, headers=hdrs, content_type=ctype)
        self.assertStatus(r, 200)
        self.assertIn("csv3@example.com", text(r))
        # Over 512 KB: 413, the form again with a notice, nothing invited.
        big = b"email\n" + b"".join(b"big%06d@example.com\n" % i for i in range(30000))
        ctype, body = multipart([("csrf", token), ("csv", ("big.csv", big)),
                                 ("role", ROLE_ADMIN)])
        r = self.server.request("POST", form, raw=body, headers=hdrs, content_type=ctype)
        self.assertStatus(r, 413)
        self.assertIn("The CSV file is too large", text(r))
        self.assertIn('type="file"', text(r))
        self.assertEqual(len(self.t.query_all()), 5)
        # A broken multipart body: the standard 400 error body; the CSRF token still rules.
        r = self.server.request("POST", form, raw=b"--x\r\nnot a part", headers=hdrs,
                                content_type="multipart/form-data; boundary=x")
        self.assertStatus(r, 400)
        self.assertEqual(r.json["details"]["validationError"]["fieldViolations"][0]
                         ["field"], "body")
        ctype, body = multipart([("csv", ("p.csv", b"csv4@example.com\n")), ("role", ROLE_ADMIN)])
        r = self.server.request("POST", form, raw=body, headers=hdrs, content_type=ctype)
        self.assertStatus(r, 403)
        # Only Invite people takes multipart: other forms still refuse it (415).
        ctype, body = multipart([("csrf", token), ("name", "k")])
        r = self.server.request("POST", "/console/keys", raw=body, headers=hdrs,
                                content_type=ctype)
        self.assertStatus(r, 415)
        self.assertEqual(len(self.t.query_all()), 5)

    def test_api_keys_page(self):
        self.owner.sign_in()
        page = self.owner.get("/console/keys")
        self.assertStatus(page, 200)
        self.assertStrictPage(page)
        self.assertIn(self.t.key_id, text(page))  # the tenant's own key is listed
        token = csrf_of(page)
        r = self.owner.post("/console/keys", [("csrf", token), ("name", "crm sync"),
                                              ("permission", "site-users.read")])
        self.assertStatus(r, 200)
        self.assertStrictPage(r)
        key = re.search(r'<code class="secret">([^<]+)</code>', text(r)).group(1)
        key_id = re.search(r"Key ID: ([0-9a-f-]{36})", text(r)).group(1)
        self.assertNotIn(key, self.server.log_text())
        # The key works, with only the permission chosen.
        self.assertStatus(self.t.call("GET", "/invites/site-invites", key=key), 200)
        r = self.t.call("POST", "/invites/site-invite/bulk", {"policyIds": [ROLE_ADMIN],
                        "emails": [unique_email()]}, key=key)
        self.assertStatus(r, 403)
        # Listed (never the key itself), then revoked: calls with it are refused.
        page = self.owner.get("/console/keys")
        self.assertIn("crm sync", text(page))
        self.assertNotIn(key, text(page))
        r = self.owner.post("/console/keys/revoke", {"csrf": token, "key": key_id})
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), "/console/keys?done=revoked")
        self.assertStatus(self.t.call("GET", "/invites/site-invites", key=key), 401)
        self.assertIn("The key was revoked", text(self.owner.get(r.header("location"))))
        log = self.t.call("GET", "/invites/audit-log?actorType=owner").json["entries"]
        self.assertEqual(sorted((e["action"], e["target"]["id"]) for e in log),
                         [("key.created", key_id), ("key.revoked", key_id)])
        # No name or no permission: the page again with a notice; another account's key and
        # a post without the token change nothing.
        for bad in ([("csrf", token), ("name", "x")],
                    [("csrf", token), ("permission", "site-users.read")],
                    [("csrf", token), ("name", "x"), ("permission", "nope")]):
            r = self.owner.post("/console/keys", bad)
            self.assertStatus(r, 400)
            self.assertIn("Give the key a name", text(r))
        stranger = Tenant(self.server, name="Other")
        r = self.owner.post("/console/keys/revoke", {"csrf": token, "key": stranger.key_id})
        self.assertStatus(r, 404)
        r = self.owner.post("/console/keys/revoke", {"key": self.t.key_id})
        self.assertStatus(r, 403)
        self.assertStatus(stranger.call("GET", "/invites/site-invites"), 200)
        self.assertStatus(self.t.call("GET", "/invites/site-invites"), 200)

    def test_contributors_change_roles_and_remove(self):
        r = self.t.bulk(["ann@example.com"], policy_ids=(ROLE_BLOG_WRITER,))
        token = r.json["invites"][0]["acceptLink"].rsplit("/", 1)[1]
        ok = self.server.request("POST", "/invites/site-invite/accept", {"inviteToken": token})
        self.assertStatus(ok, 200)
        account = ok.json["acceptedByAccountId"]
        self.owner.sign_in()
        base = "/console/sites/%s" % self.t.site_id
        page = self.owner.get(base + "/contributors")
        self.assertStatus(page, 200)
        self.assertStrictPage(page)
        self.assertIn("ann@example.com", text(page))
        self.assertIn("Blog Writer", text(page))
        token = csrf_of(page)
        edit = self.owner.get(base + "/contributor?account=%s" % account)
        self.assertStatus(edit, 200)
        self.assertIn('value="%s" checked>' % ROLE_BLOG_WRITER, text(edit))
        # No role, or Owner: refused with the page again; nothing changes.
        for roles in ([], ["6601492336091027458"]):
            fields = [("csrf", token), ("account", account)] + [("role", x) for x in roles]
            r = self.owner.post(base + "/contributor", fields)
            self.assertStatus(r, 400)
            self.assertIn("Choose at least one role", text(r))
        r = self.owner.post(base + "/contributor", [("csrf", token), ("account", account),
                                                    ("role", ROLE_BLOG_EDITOR),
                                                    ("role", ROLE_BLOG_WRITER)])
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), base + "/contributors?done=changed")
        api = self.t.call("GET", "/roles-management/v2/contributors/query").json
        mine = [c for c in api["contributors"] if c["accountId"] == account]
        self.assertEqual(len(mine), 1)
        self.assertIn(ROLE_BLOG_EDITOR, json.dumps(mine[0]))  # the API sees the new roles
        edit = self.owner.get(base + "/contributor?account=%s" % account)
        self.assertIn('value="%s" checked>' % ROLE_BLOG_EDITOR, text(edit))
        # Another account's site, an unknown account: 404.
        stranger = Tenant(self.server, name="Other")
        self.assertStatus(self.owner.get("/console/sites/%s/contributors" % stranger.site_id), 404)
        self.assertStatus(self.owner.get(base + "/contributor?account=%s" % stranger.account_id),
                          404)
        r = self.owner.post(base + "/contributor/remove", {"csrf": token, "account": account})
        self.assertEqual(r.header("location"), base + "/contributors?done=removed")
        api = self.t.call("GET", "/roles-management/v2/contributors/query").json
        self.assertEqual([c for c in api["contributors"] if c["accountId"] == account], [])
        log = self.t.call("GET", "/invites/audit-log?actorType=owner").json["entries"]
        self.assertEqual(sorted(e["action"] for e in log),
                         ["contributor.removed", "contributor.role_changed"])
        r = self.owner.post(base + "/contributor/remove", {"account": account})
        self.assertStatus(r, 403)

    def test_show_link_on_demand(self):
        inv = self.invite("ada@example.com", "bob@example.com")
        self.owner.sign_in()
        site = "/console/sites/%s" % self.t.site_id
        page = self.owner.get(site)
        body = text(page)
        self.assertNotIn("/invite/", body.replace(site, ""))  # never on the page itself
        token = csrf_of(page)
        r = self.owner.post(site + "/link", {"csrf": token, "invite": inv["ada@example.com"]["id"]})
        self.assertStatus(r, 200)
        self.assertStrictPage(r)
        link = re.search(r'<code class="secret">([^<]+)</code>', text(r)).group(1)
        api_link = self.t.get(inv["ada@example.com"]["id"]).json["invite"]["acceptLink"]
        self.assertEqual(link.rsplit("/", 1)[1], api_link.rsplit("/", 1)[1])
        self.assertNotIn(link.rsplit("/", 1)[1], self.server.log_text())
        self.t.revoke(inv["bob@example.com"]["id"])
        r = self.owner.post(site + "/link", {"csrf": token, "invite": inv["bob@example.com"]["id"]})
        self.assertEqual(r.header("location"), site + "?done=refused")
        r = self.owner.post(site + "/link", {"invite": inv["ada@example.com"]["id"]})
        self.assertStatus(r, 403)
        stranger = Tenant(self.server, name="Other")
        theirs = stranger.bulk([unique_email()], policy_ids=(ROLE_ADMIN,)).json["invites"][0]
        r = self.owner.post(site + "/link", {"csrf": token, "invite": theirs["id"]})
        self.assertStatus(r, 404)

    def test_no_token_in_the_log(self):
        path = link_path(self.server, self.t.account_id)
        self.server.request("GET", path)
        r = self.owner.sign_in()
        cookie = self.owner.cookie.split("=", 1)[1]
        self.owner.get("/console")
        log = self.server.log_text()
        self.assertNotIn(path.rsplit("/", 1)[1], log)
        self.assertNotIn(cookie, log)
        self.assertIn("/console/signin/[redacted]", log)
        del r


class ConsoleClock(ApiTestCase):
    """Times on the test clock, one server each: the CLI makes links with the real clock, which
    a server whose clock another test moved would see as old."""

    def setUp(self):
        self.server = Server(test_clock=True)
        self.server.start()
        self.t = Tenant(self.server)
        self.owner = Owner(self.server, self.t)

    def tearDown(self):
        self.closeServerNo5xx(self.server)

    def test_bad_and_expired_links(self):
        for bad in ("/console/signin/x", "/console/signin/" + "A" * 43,
                    "/console/signin/" + "A" * 44):
            self.assertStatus(self.server.request("GET", bad), 404)
            r = self.server.request("POST", bad, raw=b"", headers=SAME, content_type=FORM)
            self.assertStatus(r, 404)
        path = link_path(self.server, self.t.account_id, "--ttl", "60s")
        self.server.advance_clock(61)
        r = self.server.request("GET", path)
        self.assertStatus(r, 410)
        self.assertIn("expired", text(r))
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 410)
        self.assertIsNone(r.header("set-cookie"))

    def test_counts_see_expiry_and_answers(self):
        self.t = self.t.for_site(self.server.cli("site", "create", "--account", self.t.account_id,
                                                 "--name", "Short", "--lifetime-days", "1")["id"])
        r = self.t.bulk(["a@example.com", "b@example.com", "c@example.com"],
                        policy_ids=(ROLE_ADMIN,))
        self.assertStatus(r, 200)
        token = r.json["invites"][0]["acceptLink"].rsplit("/", 1)[1]
        self.assertStatus(self.server.request("POST", "/invites/site-invite/accept",
                                              {"inviteToken": token}), 200)
        self.owner.sign_in("--ttl", "7d")
        site = "/console/sites/%s" % self.t.site_id
        self.assertEqual(stats(text(self.owner.get(site))), ["3 / 100", "2", "1", "0"])
        # Past their expiry the two pending invites count as expired (as the API reads them),
        # before and after the sweep stores it.
        self.server.advance_clock(2 * 86400)
        self.owner.sign_in("--ttl", "7d")
        page = text(self.owner.get(site))
        self.assertEqual(stats(page), ["1 / 100", "0", "1", "2"])
        self.assertIn('<meter class="seats" min="0" max="100" value="1"', page)
        row = re.search(r'<tr><td><a href="%s">.*?</tr>' % site, text(self.owner.get("/console")))
        self.assertIsNotNone(row)
        self.assertEqual(re.findall(r'class="num">([^<]*)<', row.group(0)),
                         ["1 / 100", "0", "1", "2"])

    def chart_days(self, page):
        """The chart's table: (day, [pending, accepted, declined, revoked, expired, total]),
        newest first."""
        return [(m.group(1), [int(n) for n in re.findall(r">(\d+)<", m.group(2))])
                for m in re.finditer(r'<tr><th scope="row">(\d{4}-\d\d-\d\d)</th>(.*?)</tr>',
                                     page)]

    def clear_of_midnight(self, seconds):
        """Moves the test clock past the next UTC midnight when the next `seconds` would cross
        it: the chart's days are UTC days, and a test that expects "today" to stay today would
        fail when run in the half hour before midnight."""
        now = time.time() + self.server.advance_clock(0) / 1000.0
        left = 86400 - now % 86400
        if left < seconds:
            self.server.advance_clock(left + 60)

    def test_chart_of_the_last_30_days(self):
        self.clear_of_midnight(1500 + 120)  # the 25 minutes below, and a margin
        r = self.t.bulk(["a@example.com", "b@example.com", "c@example.com"],
                        policy_ids=(ROLE_ADMIN,))
        self.assertStatus(r, 200)
        inv = r.json["invites"]
        self.owner.sign_in("--ttl", "7d")
        site = "/console/sites/%s" % self.t.site_id
        page = text(self.owner.get(site))
        days = self.chart_days(page)
        self.assertEqual(len(days), 30)
        self.assertEqual(days[0][1], [3, 0, 0, 0, 0, 3])
        self.assertTrue(all(d[1] == [0] * 6 for d in days[1:]))
        self.assertIn("no invite accepted yet", page)
        svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S).group(0)
        self.assertIn('role="img"', svg)
        self.assertIn('aria-labelledby="chart-svg-title"', svg)
        self.assertIn('<title id="chart-svg-title">Invites created per day', svg)
        self.assertEqual(len(re.findall(r"<rect ", svg)), 1)  # today's: three Pending
        # Accepted 25 minutes later (inside the session's idle time), one revoked from the console: the chart and the counts
        # change together (one snapshot).
        self.server.advance_clock(1500)
        token = inv[0]["acceptLink"].rsplit("/", 1)[1]
        self.assertStatus(self.server.request("POST", "/invites/site-invite/accept",
                                              {"inviteToken": token}), 200)
        page = self.owner.get(site)
        self.assertStatus(self.owner.post(site + "/revoke",
                                          {"csrf": csrf_of(page), "invite": inv[1]["id"]}), 303)
        page = text(self.owner.get(site))
        self.assertEqual(self.chart_days(page)[0][1], [1, 1, 0, 1, 0, 3])
        self.assertEqual(stats(page), ["2 / 100", "1", "1", "0"])
        self.assertRegex(page, r"Median time to accept: <b>25 min</b>")
        svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S).group(0)
        self.assertEqual(len(re.findall(r"<rect ", svg)), 3)
        bar_x = float(re.search(r'<rect x="([\d.]+)"', svg).group(1))
        self.assertGreater(bar_x, 320)  # today's bar at the right end...
        he = text(self.server.request("GET", site, headers={"Cookie": self.owner.cookie,
                                                            "Accept-Language": "he"}))
        he_svg = re.search(r"<svg [^>]*>.*?</svg>", he, re.S).group(0)
        self.assertLess(float(re.search(r'<rect x="([\d.]+)"', he_svg).group(1)), 320)  # ...RTL
        self.assertIn("25 דק׳", he)
        # Two days on, the window has slid: the invites' day is the third row.
        self.server.advance_clock(2 * 86400)
        self.owner.sign_in("--ttl", "7d")
        days = self.chart_days(text(self.owner.get(site)))
        self.assertEqual([d[1][5] for d in days[:3]], [0, 0, 3])
        self.assertEqual(days[2][1], [1, 1, 0, 1, 0, 3])

    def rows(self, table):
        if self.server.pg_db:
            return int(psql(self.server.db, "SELECT count(*) FROM %s" % table))
        import sqlite3
        with sqlite3.connect(self.server.db_path) as db:
            return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]

    def test_sweep_deletes_dead_links_and_sessions(self):
        self.owner.sign_in("--ttl", "1h")
        link_path(self.server, self.t.account_id)  # never used
        self.assertEqual(self.rows("console_signin_tokens"), 2)
        self.assertEqual(self.rows("console_sessions"), 1)
        self.server.advance_clock(3600)  # expired, but kept a day for "already used" answers
        self.assertEqual(self.rows("console_signin_tokens"), 2)
        self.server.advance_clock(2 * 86400)
        wait_until(lambda: self.rows("console_signin_tokens") == 0, what="links swept")
        wait_until(lambda: self.rows("console_sessions") == 0, what="sessions swept")

    def test_languages_by_accept_language(self):
        english = text(self.server.request("GET", "/console/signin"))
        for header, lang in (("es-MX,es;q=0.9", "es"), ("fr", "fr"), ("de-CH", "de"),
                             ("pt-BR", "pt"), ("he", "he"), ("ja,en;q=0.5", "ja"),
                             ("xx, de;q=0.5", "de"), ("xx", "en")):
            r = self.server.request("GET", "/console/signin", headers={"Accept-Language": header})
            self.assertStatus(r, 200)
            self.assertIn('<html lang="%s" dir="%s">' % (lang, "rtl" if lang == "he" else "ltr"),
                          text(r))
            if lang != "en":
                self.assertNotEqual(re.search(r"<h1>(.*)</h1>", text(r)).group(1),
                                    re.search(r"<h1>(.*)</h1>", english).group(1))

    def test_idle_timeout_and_sign_out(self):
        self.owner.sign_in()
        self.assertStatus(self.owner.get("/console"), 200)
        self.server.advance_clock(1700)  # seen again before the 1800 s idle timeout
        self.assertStatus(self.owner.get("/console"), 200)
        self.server.advance_clock(1700)
        self.assertStatus(self.owner.get("/console"), 200)
        self.server.advance_clock(1801)
        r = self.owner.get("/console")
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), "/console/signin")
        # A new sign-in (the link made on the real clock, behind the server's); sign-out ends
        # the session for every holder of the cookie.
        self.owner.sign_in("--ttl", "7d")
        page = self.owner.get("/console")
        r = self.owner.post("/console/signout", {"csrf": csrf_of(page)})
        self.assertStatus(r, 200)
        self.assertIn("Max-Age=0", r.header("set-cookie"))
        self.assertStatus(self.owner.get("/console"), 303)

    def test_absolute_lifetime(self):
        self.owner.sign_in()
        for _ in range(26):  # 26 x 1700 s > 43200 s, never idle for long
            self.server.advance_clock(1700)
            r = self.owner.get("/console")
            if r.status != 200:
                break
        self.assertStatus(r, 303)


SIGNIN_LINK = re.compile(r"https?://[^/\s\"'<>]+(/console/signin/[A-Za-z0-9_-]{43})")


class ConsoleEmailLink(OneServer):
    """"Email me a link" (docs/CONSOLE.md): one server, so the per-client bucket is this class's."""

    def ask(self, address, headers=None):
        raw = urllib.parse.urlencode({"email": address}).encode()
        started = time.monotonic()
        r = self.server.request("POST", "/console/signin", raw=raw, content_type=FORM,
                                headers=dict(SAME, **(headers or {})))
        return r, time.monotonic() - started

    def test_mail_arrives_in_the_language_and_signs_in_once(self):
        t = Tenant(self.server)
        owner = t.email
        # Any case of the address (core's email key): the owner gets the mail, in French here.
        r, _ = self.ask(owner.upper(), {"Accept-Language": "fr-CA, en;q=0.5"})
        self.assertStatus(r, 200)
        self.assertIn("Consultez votre messagerie", text(r))
        local, domain = owner.upper().split("@")
        self.assertIn("%s@%s" % (local, domain.lower()), text(r))  # as core normalises it
        mails = wait_until(lambda: messages_to(self.server, owner), what="the sign-in mail")
        self.assertEqual(len(mails), 1)
        msg = mails[0]
        self.assertIn("Votre lien de connexion", msg["Subject"])
        plain, body_html = message_text(msg)
        paths = SIGNIN_LINK.findall(plain)
        self.assertEqual(len(paths), 1, plain)
        self.assertIn(paths[0], body_html)
        path = paths[0]
        # Not an invite: no invite, no invite email, nothing in the site's queries.
        self.assertEqual(t.query_all(), [])
        # The token is in no log line and not in the database as text.
        token = path.rsplit("/", 1)[1]
        self.assertNotIn(token, self.server.log_text())
        for name in (self.server.db_path, self.server.db_path + "-wal"):
            if os.path.exists(name):  # SQLite; PostgreSQL's rows are checked by the hash test
                with open(name, "rb") as f:
                    self.assertNotIn(token.encode(), f.read())
        # The link signs in once.
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 303)
        cookie = r.header("set-cookie").split(";", 1)[0]
        r = self.server.request("GET", "/console", headers={"Cookie": cookie})
        self.assertStatus(r, 200)
        self.assertIn(html.escape(t.site_name), text(r))
        r = self.server.request("POST", path, raw=b"", headers=SAME, content_type=FORM)
        self.assertStatus(r, 410)

    def test_unknown_address_same_answer_no_mail(self):
        t = Tenant(self.server)
        owner = t.email
        unknown = unique_email("nobody")
        known_r, known_s = self.ask(owner)
        unknown_r, unknown_s = self.ask(unknown)
        self.assertStatus(known_r, 200)
        self.assertStatus(unknown_r, 200)
        # The same page but for the address typed, and both take the floor (250 ms).
        self.assertEqual(text(known_r).replace(html.escape(owner), "X"),
                         text(unknown_r).replace(html.escape(unknown), "X"))
        self.assertGreaterEqual(known_s, 0.25)
        self.assertGreaterEqual(unknown_s, 0.25)
        # The known one's mail arrives; by then the worker has passed: none for the other.
        wait_until(lambda: messages_to(self.server, owner), what="the sign-in mail")
        time.sleep(1.5)
        self.assertEqual(messages_to(self.server, unknown), [])

    def test_rate_limited_per_address(self):
        t = Tenant(self.server)
        owner = t.email
        for _ in range(3):
            self.assertStatus(self.ask(owner)[0], 200)
        r, _ = self.ask(owner.upper())
        self.assertStatus(r, 429)
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        self.assertIn("Too many links", text(r))
        self.assertEqual(r.header("cache-control"), "no-store")
        # An address never asked for is not held back by another's bucket.
        self.assertStatus(self.ask(unique_email("fresh"))[0], 200)
        wait_until(lambda: len(messages_to(self.server, owner)) == 3, what="three mails")

    def test_refused_posts(self):
        r, _ = self.ask("not an address")
        self.assertStatus(r, 400)
        self.assertIn("not a valid email address", text(r))
        raw = urllib.parse.urlencode({"email": unique_email()}).encode()
        r = self.server.request("POST", "/console/signin", raw=raw, content_type=FORM,
                                headers={"Sec-Fetch-Site": "cross-site"})
        self.assertStatus(r, 403)
        r = self.server.request("GET", "/console/signin")
        self.assertIn('action="/console/signin"', text(r))
        self.assertIn('name="email"', text(r))


class ConsoleWebhooksAudit(OneServer):
    """The webhooks and audit-log pages: the API's calls and rules, seen from the API too."""
    SERVER_ARGS = ("--allow-http-webhooks", "--webhook-retry-ms", "200",
                   "--webhook-timeout-seconds", "1")

    def setUp(self):
        self.t = Tenant(self.server)
        self.owner = Owner(self.server, self.t)
        self.owner.sign_in()
        self.page = "/console/sites/%s/webhooks" % self.t.site_id

    def test_webhooks_page(self):
        from webhook_receiver import Receiver, verify
        with Receiver() as rx:
            r = self.owner.get("/console/sites/%s" % self.t.site_id)
            self.assertIn('href="%s"' % self.page, text(r))
            r = self.owner.get(self.page)
            self.assertStatus(r, 200)
            token = csrf_of(r)
            self.assertIn('value="invite.created"', text(r))
            self.assertNotIn('value="webhook.test"', text(r))
            # Add: the secret is shown once, and it is the key that signs the deliveries.
            fields = [("csrf", token), ("url", rx.url()), ("event", "invite.created"),
                      ("event", "invite.revoked"), ("description", "crm")]
            r = self.owner.post(self.page, fields)
            self.assertStatus(r, 200)
            secret = re.search(r'<code class="secret">([^<]+)</code>', text(r)).group(1)
            self.assertTrue(secret.startswith("whsec_"), secret)
            self.assertNotIn(secret, self.server.log_text())
            hooks = self.t.call("GET", "/invites/webhooks").json["webhooks"]
            self.assertEqual(len(hooks), 1)
            hook = hooks[0]
            self.assertEqual(sorted(hook["events"]), ["invite.created", "invite.revoked"])
            self.assertNotIn(secret, text(self.owner.get(self.page)))
            self.t.bulk([unique_email()])
            got = rx.wait_for(lambda g: any(x.type == "invite.created" for x in g))
            first = [x for x in got if x.type == "invite.created"][0]
            self.assertTrue(verify(secret, first.headers, first.body))
            # Send test, disable, enable: through the API's rules, seen by the API.
            r = self.owner.post(self.page + "/test", {"csrf": token, "webhook": hook["id"]})
            self.assertEqual(r.header("location"), self.page + "?done=tested")
            rx.wait_for(lambda g: any(x.type == "webhook.test" for x in g))
            r = self.owner.post(self.page + "/enable", {"csrf": token, "webhook": hook["id"],
                                                        "enabled": "false"})
            self.assertEqual(r.header("location"), self.page + "?done=disabled")
            self.assertFalse(self.t.call("GET", "/invites/webhooks/" + hook["id"])
                             .json["webhook"]["enabled"])
            page = text(self.owner.get(self.page + "?done=disabled"))
            self.assertIn("The endpoint is disabled.", page)
            self.assertIn("Disabled", page)
            r = self.owner.post(self.page + "/enable", {"csrf": token, "webhook": hook["id"],
                                                        "enabled": "true"})
            self.assertTrue(self.t.call("GET", "/invites/webhooks/" + hook["id"])
                            .json["webhook"]["enabled"])
            # Recent deliveries: the API's list.
            r = self.owner.get(self.page + "/deliveries?webhook=" + hook["id"])
            self.assertStatus(r, 200)
            self.assertIn("invite.created", text(r))
            self.assertIn("webhook.test", text(r))
            # Refusals: the API's words; no CSRF token; another site's endpoint; bad URL.
            r = self.owner.post(self.page, [("csrf", token), ("url", "ftp://x.example/"),
                                            ("event", "invite.created")])
            self.assertStatus(r, 400)
            self.assertIn("The endpoint was not added", text(r))
            r = self.owner.post(self.page, [("csrf", token), ("url", rx.url())])
            self.assertStatus(r, 400)
            r = self.owner.post(self.page + "/delete", {"webhook": hook["id"]})
            self.assertStatus(r, 403)
            stranger = Tenant(self.server, name="Other")
            theirs = stranger.call("POST", "/invites/webhooks",
                                   {"url": rx.url("/x"), "events": ["invite.created"]})
            self.assertStatus(theirs, 200)
            r = self.owner.post(self.page + "/delete", {"csrf": token,
                                                        "webhook": theirs.json["webhook"]["id"]})
            self.assertStatus(r, 404)
            r = self.owner.get(self.page + "/deliveries?webhook=" + theirs.json["webhook"]["id"])
            self.assertStatus(r, 404)
            self.assertStatus(self.owner.get("/console/sites/%s/webhooks" % stranger.site_id), 404)
            # Delete.
            r = self.owner.post(self.page + "/delete", {"csrf": token, "webhook": hook["id"]})
            self.assertEqual(r.header("location"), self.page + "?done=deleted")
            self.assertEqual(self.t.call("GET", "/invites/webhooks").json["webhooks"], [])

    def test_webhook_changes_are_the_owners(self):
        """Each webhook change made in the console writes one entry, by the owner."""
        owner = {"type": "owner", "accountId": self.t.account_id, "name": self.owner_name()}
        def log():
            return self.t.call("GET", "/invites/audit-log?limit=100").json["entries"]
        before = log()
        token = csrf_of(self.owner.get(self.page))
        url = "http://127.0.0.1:9/console-hook"  # nothing listens: deliveries fail, not calls
        r = self.owner.post(self.page, [("csrf", token), ("url", url),
                                        ("event", "invite.created")])
        self.assertStatus(r, 200)
        secret = re.search(r'<code class="secret">([^<]+)</code>', text(r)).group(1)
        hook = self.t.call("GET", "/invites/webhooks").json["webhooks"][0]
        # Refused: a bad URL and an unknown endpoint write nothing.
        r = self.owner.post(self.page, [("csrf", token), ("url", "ftp://x.example/"),
                                        ("event", "invite.created")])
        self.assertStatus(r, 400)
        r = self.owner.post(self.page + "/delete", {"csrf": token, "webhook": str(uuid.uuid4())})
        self.assertStatus(r, 404)
        for op, fields in (("/enable", {"enabled": "false"}), ("/test", {}), ("/delete", {})):
            r = self.owner.post(self.page + op, dict(fields, csrf=token, webhook=hook["id"]))
            self.assertStatus(r, 303)
        new = log()[len(before):]
        self.assertEqual([(e["action"], e["target"], e["actor"]) for e in new],
                         [(a, {"type": "webhook", "id": hook["id"]}, owner)
                          for a in ("webhook.created", "webhook.updated", "webhook.tested",
                                    "webhook.deleted")])
        self.assertEqual(new[0]["changes"], {"url": {"to": url}, "events": {"to":
                                             ["invite.created"]}, "enabled": {"to": True}})
        self.assertEqual(new[1]["changes"], {"enabled": {"from": True, "to": False}})
        self.assertNotIn(secret, json.dumps(new))
        self.assertNotIn("whsec_", json.dumps(new))

    def test_audit_page(self):
        audit = "/console/sites/%s/audit" % self.t.site_id
        self.assertIn('href="%s"' % audit, text(self.owner.get("/console/sites/%s" %
                                                                self.t.site_id)))
        inv = self.t.bulk(["a1@example.com", "a2@example.com"]).json["invites"]
        token = csrf_of(self.owner.get("/console/sites/%s" % self.t.site_id))
        r = self.owner.post("/console/sites/%s/revoke" % self.t.site_id,
                            {"csrf": token, "invite": inv[0]["id"]})
        self.assertStatus(r, 303)
        r = self.owner.get(audit)
        self.assertStatus(r, 200)
        rows = re.findall(r"<tr><td class=\"num\">[^<]*</td><td>([^<]*)</td><td class=\"email\">"
                          r"([^<]*)</td>", text(r))
        api = self.t.call("GET", "/invites/audit-log").json["entries"]
        self.assertEqual([a for a, _ in rows], [e["action"] for e in api])
        self.assertIn(("invite.revoked",
                       html.escape("owner: %s (%s)" % (self.owner_name(), self.t.account_id))),
                      rows)
        # Filters: the API's, empty fields ignored.
        r = self.owner.get(audit + "?action=invite.revoked&actorType=&actorId=&since=&until=")
        rows = re.findall(r"<tr><td class=\"num\">[^<]*</td><td>([^<]*)</td>", text(r))
        self.assertEqual(rows, ["invite.revoked"])
        self.assertIn('<option value="invite.revoked" selected>', text(r))
        r = self.owner.get(audit + "?actorType=owner")
        self.assertEqual(re.findall(r"<tr><td class=\"num\">[^<]*</td><td>([^<]*)</td>",
                                    text(r)), ["invite.revoked"])
        r = self.owner.get(audit + "?since=yesterday")
        self.assertStatus(r, 400)
        self.assertIn("That filter cannot be read", text(r))
        # Cursor paging at 50 a page, the filters kept in the next link.
        self.t.bulk(["p%02d@example.com" % i for i in range(60)])
        r = self.owner.get(audit + "?action=invite.created")
        first = re.findall(r"<tr><td class=\"num\">", text(r))
        self.assertEqual(len(first), 50)
        nxt = html.unescape(re.search(r'<p class="next"><a href="([^"]+)"', text(r)).group(1))
        self.assertIn("action=invite.created", nxt)
        r = self.owner.get(nxt)
        self.assertEqual(len(re.findall(r"<tr><td class=\"num\">", text(r))), 12)
        self.assertNotIn('class="next"', text(r))
        stranger = Tenant(self.server, name="Other")
        self.assertStatus(self.owner.get("/console/sites/%s/audit" % stranger.site_id), 404)

    def owner_name(self):
        return re.search(r'<span class="who">([^<]*) · ', text(self.owner.get("/console"))).group(1)


if __name__ == "__main__":
    unittest.main()
