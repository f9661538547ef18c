"""Issue 10's site settings against the real binary (SQLite, and PostgreSQL under the pg label):
reading and updating them (GET/PATCH /invites/site-settings, permissions, every validation
error), the allow-list on Bulk Invite and Create One, acceptRedirectUrl in the accept answer and
on the accepted page, `siteinvites site update`, and the reminder before expiry moved into view
with the test clock: once, in the invite's language, counted as a send, never after revoke,
accept or expiry."""
import re
import unittest
import urllib.parse

from sitest import (ApiTestCase, Server, Tenant, ROLE_BLOG_WRITER, accept_links, message_text,
                    messages_to, unique_email, wait_until)

PATH = "/invites/site-settings"
DAY = 86400


def token_of(invite):
    return invite["acceptLink"].rsplit("/", 1)[1]


class SiteSettingsApiTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)

    def setUp(self):
        self.t = Tenant(self.server, "Settings")

    def patch(self, body, **kw):
        return self.t.call("PATCH", PATH, body, **kw)

    def test_defaults_then_update_and_clear(self):
        r = self.t.call("GET", PATH)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"siteSettings": {"allowedEmailDomains": []}})
        r = self.patch({"acceptRedirectUrl": "https://app.example.com/welcome?from=invite",
                        "reminderDaysBeforeExpiry": 3,
                        "allowedEmailDomains": ["Example.COM", "*.corp.example.org",
                                                "example.com"]})
        self.assertStatus(r, 200)
        want = {"acceptRedirectUrl": "https://app.example.com/welcome?from=invite",
                "reminderDaysBeforeExpiry": 3,
                "allowedEmailDomains": ["example.com", "*.corp.example.org"]}
        self.assertEqual(r.json, {"siteSettings": want})
        # The short path form and the Wix-style wrapper; a PATCH keeps what it does not name.
        r = self.t.call("PATCH", "/site-settings", {"siteSettings": {"reminderDaysBeforeExpiry": 5}})
        self.assertStatus(r, 200)
        want["reminderDaysBeforeExpiry"] = 5
        self.assertEqual(r.json["siteSettings"], want)
        self.assertEqual(self.t.call("GET", "/site-settings").json["siteSettings"], want)
        # null, "", 0 and [] clear.
        r = self.patch({"acceptRedirectUrl": None, "reminderDaysBeforeExpiry": 0,
                        "allowedEmailDomains": []})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"siteSettings": {"allowedEmailDomains": []}})
        r = self.patch({"acceptRedirectUrl": "https://a.example/", "allowedEmailDomains": None})
        r = self.patch({"acceptRedirectUrl": ""})
        self.assertEqual(r.json, {"siteSettings": {"allowedEmailDomains": []}})

    def test_settings_are_per_site(self):
        other = self.t.for_site(self.t.add_site("Second"))
        self.assertStatus(self.patch({"reminderDaysBeforeExpiry": 2}), 200)
        self.assertEqual(other.call("GET", PATH).json, {"siteSettings": {"allowedEmailDomains": []}})
        # Another account's key cannot read or change this site's settings.
        stranger = Tenant(self.server, "Stranger")
        for method, body in (("GET", None), ("PATCH", {"reminderDaysBeforeExpiry": 9})):
            r = stranger.call(method, PATH, body, site=self.t.site_id)
            self.assertAppError(r, 403, "PERMISSION_DENIED")
        self.assertEqual(self.t.call("GET", PATH).json["siteSettings"]["reminderDaysBeforeExpiry"], 2)

    def test_permissions(self):
        _, reader = self.t.add_key(["site-users.read"])
        _, sender = self.t.add_key(["site-users.send-invite"])
        self.assertStatus(self.t.call("GET", PATH, key=reader), 200)
        self.assertAppError(self.patch({"reminderDaysBeforeExpiry": 1}, key=reader), 403,
                            "PERMISSION_DENIED")
        self.assertAppError(self.t.call("GET", PATH, key=sender), 403, "PERMISSION_DENIED")
        self.assertStatus(self.patch({"reminderDaysBeforeExpiry": 1}, key=sender), 200)
        self.assertAppError(self.t.call("GET", PATH, key=False), 401, "UNAUTHENTICATED")
        r = self.t.call("DELETE", PATH)
        self.assertEqual(r.status, 405)

    def test_validation_errors(self):
        cases = [
            ({}, "acceptRedirectUrl", "REQUIRED_FIELD"),
            ({"acceptRedirectUrl": "http://app.example.com/"}, "acceptRedirectUrl", "FORMAT"),
            ({"acceptRedirectUrl": "javascript:alert(1)"}, "acceptRedirectUrl", "FORMAT"),
            ({"acceptRedirectUrl": "https://"}, "acceptRedirectUrl", "FORMAT"),
            ({"acceptRedirectUrl": "https://a.example/x y"}, "acceptRedirectUrl", "FORMAT"),
            ({"acceptRedirectUrl": "https://a.example/" + "x" * 2000}, "acceptRedirectUrl",
             "MAX_SIZE"),
            ({"acceptRedirectUrl": 5}, "acceptRedirectUrl", "FORMAT"),
            ({"reminderDaysBeforeExpiry": -1}, "reminderDaysBeforeExpiry", "MIN"),
            ({"reminderDaysBeforeExpiry": 90}, "reminderDaysBeforeExpiry", "MAX"),
            ({"reminderDaysBeforeExpiry": "3"}, "reminderDaysBeforeExpiry", "FORMAT"),
            ({"reminderDaysBeforeExpiry": 1.5}, "reminderDaysBeforeExpiry", "FORMAT"),
            ({"allowedEmailDomains": "a.com"}, "allowedEmailDomains", "FORMAT"),
            ({"allowedEmailDomains": ["a.com", "com"]}, "allowedEmailDomains[1]", "FORMAT"),
            ({"allowedEmailDomains": ["*"]}, "allowedEmailDomains[0]", "FORMAT"),
            ({"allowedEmailDomains": ["user@a.com"]}, "allowedEmailDomains[0]", "FORMAT"),
            ({"allowedEmailDomains": ["a.*.com"]}, "allowedEmailDomains[0]", "FORMAT"),
            ({"allowedEmailDomains": [7]}, "allowedEmailDomains[0]", "FORMAT"),
            ({"allowedEmailDomains": ["d%d.com" % i for i in range(33)]}, "allowedEmailDomains",
             "MAX_SIZE"),
        ]
        for body, field, rule in cases:
            with self.subTest(body=str(body)[:80]):
                self.assertValidation(self.patch(body), field, rule)
        # Nothing of a refused body was written, not even its valid members.
        r = self.patch({"reminderDaysBeforeExpiry": 4, "acceptRedirectUrl": "http://x.example"})
        self.assertValidation(r, "acceptRedirectUrl", "FORMAT")
        self.assertEqual(self.t.call("GET", PATH).json, {"siteSettings": {"allowedEmailDomains": []}})

    def test_allow_list_on_bulk_and_create_one(self):
        self.assertStatus(self.patch({"allowedEmailDomains": ["example.com", "*.corp.example"]}),
                          200)
        ok1, ok2 = unique_email("in"), unique_email("sub", "eu.corp.example")
        out1, out2 = unique_email("out", "other.org"), unique_email("apex", "corp.example")
        sub_of_exact = unique_email("deep", "mail.example.com")
        emails = [ok1, out1, "not an email", ok2, out2, sub_of_exact, out1.upper()]
        r = self.t.bulk(emails)
        self.assertStatus(r, 200)
        self.assertEqual([i["email"] for i in r.json["invites"]], [ok1, ok2])
        refused = [out1, out2, sub_of_exact, out1.upper()]
        self.assertEqual(r.json["failedEmails"], [out1, "not an email"] + refused[1:])
        codes = {f["email"]: f["code"] for f in r.json["failures"]}
        self.assertEqual(codes["not an email"], "INVALID_EMAIL")
        for e in refused:
            self.assertEqual(codes[e], "EMAIL_DOMAIN_NOT_ALLOWED", e)
        # Nothing was written for the refused ones.
        listed = {i["email"] for i in self.t.query_all()}
        self.assertEqual(listed, {ok1, ok2})
        # Create One: 400 with the standard body, nothing written.
        r = self.t.call("POST", "/invites/site-invite",
                        {"email": out1, "policyIds": [ROLE_BLOG_WRITER]})
        self.assertAppError(r, 400, "INVALID_ARGUMENT", "EMAIL_DOMAIN_NOT_ALLOWED")
        r = self.t.call("POST", "/invites/site-invite",
                        {"email": unique_email("one"), "policyIds": [ROLE_BLOG_WRITER]})
        self.assertStatus(r, 200)
        # An empty list allows everything again.
        self.assertStatus(self.patch({"allowedEmailDomains": []}), 200)
        r = self.t.bulk([out1])
        self.assertEqual(len(r.json["invites"]), 1)
        self.assertEqual(r.json["failures"], [])

    def test_redirect_in_accept_answer_and_page(self):
        url = "https://app.example.com/welcome?from=invite#top"
        self.assertStatus(self.patch({"acceptRedirectUrl": url}), 200)
        inv = self.t.bulk([unique_email("acc")]).json["invites"][0]
        r = self.server.request("POST", "/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertStatus(r, 200)
        want = ("https://app.example.com/welcome?from=invite&inviteId=%s&siteId=%s#top"
                % (inv["id"], self.t.site_id))
        self.assertEqual(r.json["acceptRedirectUrl"], want)
        # Decline answers never carry it.
        inv2 = self.t.bulk([unique_email("dec")]).json["invites"][0]
        r = self.server.request("POST", "/site-invite/decline", {"inviteToken": token_of(inv2)})
        self.assertNotIn("acceptRedirectUrl", r.json)
        # The page: accept through the form, then the "continue" link (HTML-escaped &).
        inv3 = self.t.bulk([unique_email("page")]).json["invites"][0]
        page = self.server.get_page(inv3["acceptLink"])
        form = re.search(r'name="form_token" value="([^"]+)"', page.body.decode()).group(1)
        path = urllib.parse.urlsplit(inv3["acceptLink"]).path
        r = self.server.request("POST", path + "/accept", raw=("form_token=" + form).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Origin": "http://127.0.0.1:%d" % self.server.port})
        self.assertStatus(r, 200)
        html = r.body.decode()
        link = ("https://app.example.com/welcome?from=invite&amp;inviteId=%s&amp;siteId=%s#top"
                % (inv3["id"], self.t.site_id))
        self.assertIn('<a class="continue" href="%s">' % link, html)
        self.assertIn("Continue to", html)

    def test_without_redirect_the_accept_answer_is_unchanged(self):
        inv = self.t.bulk([unique_email("plain")]).json["invites"][0]
        r = self.server.request("POST", "/site-invite/accept", {"inviteToken": token_of(inv)})
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"inviteId", "siteId", "status", "acceptedByAccountId",
                                       "contributor"})

    def test_cli_site_update(self):
        out = self.server.cli("site", "update", "--site", self.t.site_id, "--accept-redirect-url",
                              "https://cli.example/done", "--reminder-days", "7",
                              "--allowed-email-domains", "a.example,*.B.example")
        self.assertEqual(out, {"id": self.t.site_id, "acceptRedirectUrl": "https://cli.example/done",
                               "reminderDaysBeforeExpiry": 7,
                               "allowedEmailDomains": "a.example,*.b.example"})
        self.assertEqual(self.t.call("GET", PATH).json["siteSettings"],
                         {"acceptRedirectUrl": "https://cli.example/done",
                          "reminderDaysBeforeExpiry": 7,
                          "allowedEmailDomains": ["a.example", "*.b.example"]})
        out = self.server.cli("site", "update", "--site", self.t.site_id, "--reminder-days", "off",
                              "--allowed-email-domains", "none")
        self.assertEqual(out["reminderDaysBeforeExpiry"], 0)
        self.assertEqual(out["allowedEmailDomains"], "")
        self.assertEqual(out["acceptRedirectUrl"], "https://cli.example/done")
        # Refused values change nothing and exit 1 with a reason.
        for args in (["--accept-redirect-url", "http://x.example"], ["--reminder-days", "90"],
                     ["--allowed-email-domains", "a.example,*"], []):
            with self.subTest(args=args):
                with self.assertRaisesRegex(AssertionError, "exited 1"):
                    self.server.cli("site", "update", "--site", self.t.site_id, *args)
        with self.assertRaisesRegex(AssertionError, "no site with ID"):
            self.server.cli("site", "update", "--site", "00000000-0000-4000-8000-000000000000",
                            "--reminder-days", "1")
        self.assertEqual(self.t.call("GET", PATH).json["siteSettings"],
                         {"acceptRedirectUrl": "https://cli.example/done",
                          "allowedEmailDomains": []})


class ReminderTest(ApiTestCase):
    """The reminder N days before expiry, seen by moving the server's clock (--test-clock-file)."""

    def setUp(self):
        self.server = Server(test_clock=True)
        self.server.start()
        self.addCleanup(self.closeServerNo5xx, self.server)
        self.t = Tenant(self.server, "Remind")

    def invite(self, email, **extra):
        r = self.t.bulk([email], **extra)
        self.assertStatus(r, 200)
        return r.json["invites"][0]

    def wait_mail(self, addr, count):
        return wait_until(lambda: len(messages_to(self.server, addr)) >= count and
                          messages_to(self.server, addr), what="%d emails to %s" % (count, addr))

    def test_reminder_once_in_language_counted_never_after_revoke_accept_or_expiry(self):
        self.assertStatus(self.t.call("PATCH", PATH, {"reminderDaysBeforeExpiry": 3}), 200)
        en, fr = unique_email("en"), unique_email("fr")
        revoked, accepted, late = unique_email("rev"), unique_email("acc"), unique_email("late")
        a = self.invite(en)  # site lifetime: 30 days
        b = self.invite(fr, defaultEmailLanguage="fr")
        r_inv = self.invite(revoked)
        c = self.invite(accepted)
        d = self.invite(late, expiresInDays=35)  # due 3 days later than the others
        for addr in (en, fr, revoked, accepted, late):
            self.wait_mail(addr, 1)
        self.assertStatus(self.t.revoke(r_inv["id"]), 200)
        self.assertStatus(self.server.request("POST", "/site-invite/accept",
                                              {"inviteToken": token_of(c)}), 200)

        # 27 days and an hour on: a and b are inside their 3-day window, d is not.
        self.server.advance_clock(27 * DAY + 3600)
        got_en = self.wait_mail(en, 2)
        got_fr = self.wait_mail(fr, 2)
        reminder_en = [m for m in got_en if m["Subject"].startswith("Reminder:")]
        reminder_fr = [m for m in got_fr if m["Subject"].startswith("Rappel")]
        self.assertEqual(len(reminder_en), 1, [m["Subject"] for m in got_en])
        self.assertEqual(len(reminder_fr), 1, [m["Subject"] for m in got_fr])
        text, _ = message_text(reminder_en[0])
        self.assertIn("This is a reminder", text)
        self.assertEqual(accept_links(text), [a["acceptLink"]])
        self.assertIn("Ceci est un rappel", message_text(reminder_fr[0])[0])
        # Counted as a send on the invite, as a resend would be.
        after = self.t.get(a["id"]).json["invite"]
        self.assertEqual(after["sendCount"], 2)
        self.assertGreater(after["lastSentDate"], a["lastSentDate"])
        self.assertEqual(after["expirationDate"], a["expirationDate"])

        # 32 days and an hour: d's reminder comes, which proves a sweep ran since; by then a and
        # b have expired. Nobody got a second reminder; the revoked and accepted invites none.
        self.server.advance_clock(5 * DAY)
        self.wait_mail(late, 2)
        self.assertEqual(self.t.get(d["id"]).json["invite"]["sendCount"], 2)
        for addr in (en, fr):
            self.assertEqual(len(messages_to(self.server, addr)), 2, addr)
        for addr in (revoked, accepted):
            self.assertEqual(len(messages_to(self.server, addr)), 1, addr)
        self.assertEqual(self.t.get(r_inv["id"]).json["invite"]["sendCount"], 1)

    def test_no_reminder_when_off_or_sent_inside_the_window(self):
        # Site 1 leaves reminders off; site 2 (same account) turns them on and holds sentinels
        # whose reminders prove a sweep ran (the sweep walks every site at once).
        on_site = self.t.for_site(self.t.add_site("Reminding"))
        self.assertStatus(on_site.call("PATCH", PATH, {"reminderDaysBeforeExpiry": 3}), 200)
        off, first = unique_email("off"), unique_email("first")
        self.invite(off)
        sentinel = on_site.bulk([first]).json["invites"][0]
        for addr in (off, first):
            self.wait_mail(addr, 1)
        self.server.advance_clock(27 * DAY + 3600)
        self.wait_mail(first, 2)
        self.assertEqual(on_site.get(sentinel["id"]).json["invite"]["sendCount"], 2)
        self.assertEqual(len(messages_to(self.server, off)), 1)

        # Created 3 days before its expiry, inside the window: its invitation is the reminder.
        inside, second = unique_email("inside"), unique_email("second")
        in_inv = on_site.bulk([inside], expiresInDays=3).json["invites"][0]
        on_site.bulk([second], expiresInDays=4)  # due a day from now
        for addr in (inside, second):
            self.wait_mail(addr, 1)
        self.server.advance_clock(DAY + 3600)
        self.wait_mail(second, 2)
        self.assertEqual(len(messages_to(self.server, inside)), 1)
        self.assertEqual(on_site.get(in_inv["id"]).json["invite"]["sendCount"], 1)


if __name__ == "__main__":
    unittest.main()
