"""The audit log against the real binary (docs/AUDIT.md): one entry per state change with the
right actor, action, target, request ID and changed fields; nothing for refused requests;
filters and cursor paging of GET /invites/audit-log; tenancy; expiry by the system; and
`siteinvites audit export` as JSON lines. Runs again on PostgreSQL (label pg)."""

import json
import os
import subprocess
import tempfile
import unittest
import uuid

from sitest import (ROLE_ADMIN, ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER, ROLE_DESIGNER, ApiTestCase,
                    Server, Tenant, binary, unique_email, wait_until)

LOG = "/invites/audit-log"
CHANGE = "/roles-management/contributor/change/role"
LOCATIONS = "/roles-management/contributor/change/locations"
REMOVE = "/roles-management/contributor/remove"
SETTINGS = "/invites/site-settings"
HOOKS = "/invites/webhooks"
HOOK_URL = "http://127.0.0.1:9/hook"  # nothing listens: the deliveries fail, the calls do not
DAY = 86400
ENTRY_KEYS = {"id", "siteId", "action", "actor", "target", "requestId", "time", "changes"}
# What an entry must never hold: accept links, tokens, key material.
SECRET_MARKERS = ("acceptLink", "/invite/", "token", "sik_")


def named_key(t, name, permissions=None):
    """A key of t's account with a name, as (id, key)."""
    args = ["key", "create", "--account", t.account_id, "--name", name]
    if permissions:
        args += ["--permissions", ",".join(permissions)]
    out = t.server.cli(*args)
    return out["id"], out["key"]


class AuditLog(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=["--allow-http-webhooks"])  # a loopback webhook URL
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)

    def log(self, t, key=None, **args):
        """One page of t's log with the query arguments given."""
        qs = "&".join("%s=%s" % (k, v) for k, v in args.items())
        r = t.call("GET", LOG + ("?" + qs if qs else ""), key=key)
        self.assertStatus(r, 200)
        self.assertEqual(set(r.json), {"entries", "pagingMetadata"})
        return r.json

    def all_entries(self, t, key=None, limit=100, **args):
        """Every entry of t's site (filters in args), walking the cursor pages."""
        out, cursor = [], None
        for _ in range(1000):
            page_args = dict(args, limit=limit)
            if cursor:
                page_args["cursor"] = cursor
            page = self.log(t, key=key, **page_args)
            out.extend(page["entries"])
            meta = page["pagingMetadata"]
            self.assertEqual(meta["count"], len(page["entries"]))
            cursor = meta["cursors"].get("next")
            if not meta["hasNext"]:
                self.assertIsNone(cursor)
                return out
        raise AssertionError("audit paging did not end")

    def new_entries(self, t, before):
        """The entries written since the log held `before` entries (oldest first)."""
        got = self.all_entries(t)
        self.assertGreaterEqual(len(got), before)
        return got[before:]

    def assertEntry(self, e, action, target, request_id, actor):
        """e is a well-formed entry of action on target within request_id by actor."""
        self.assertLessEqual(set(e), ENTRY_KEYS, e)
        self.assertEqual(e["action"], action, e)
        self.assertEqual(e["target"], target, e)
        self.assertEqual(e["requestId"], request_id, e)
        self.assertEqual(e["actor"], actor, e)
        self.assertIsInstance(e["changes"], dict)
        self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        text = json.dumps(e)
        for marker in SECRET_MARKERS:
            self.assertNotIn(marker, text)

    def one_new(self, t, before, action, target, resp, actor):
        """Exactly one entry since `before`: action on target, in resp's request."""
        new = self.new_entries(t, before)
        self.assertEqual(len(new), 1, new)
        self.assertEntry(new[0], action, target, resp.header("X-Wix-Request-Id"), actor)
        return new[0]

    def accept(self, inv):
        token = inv["acceptLink"].rsplit("/", 1)[1]
        return self.server.request("POST", "/site-invite/accept", {"inviteToken": token})

    def test_every_change_writes_one_entry(self):
        t = Tenant(self.server, "Audited", contributor_limit=50)
        kid, key = named_key(t, "Audit Bot")
        t.key = key
        bot = {"type": "apiKey", "id": kid, "name": "Audit Bot"}
        # The admin command line made the site and two keys (account-level: no siteId).
        admin = {"type": "admin"}
        base = self.all_entries(t)
        self.assertEqual([(e["action"], e["target"], e["actor"]) for e in base],
                         [("site.created", {"type": "site", "id": t.site_id}, admin),
                          ("key.created", {"type": "key", "id": t.key_id}, admin),
                          ("key.created", {"type": "key", "id": kid}, admin)])
        self.assertEqual(base[0]["siteId"], t.site_id)
        self.assertNotIn("siteId", base[1])
        n = len(base)

        # Bulk: one invite.created per created invite, with what it was created with.
        emails = [unique_email("a1"), unique_email("a2")]
        r = t.bulk(emails, policy_ids=[ROLE_BLOG_WRITER])
        self.assertStatus(r, 200)
        invs = r.json["invites"]
        new = self.new_entries(t, n)
        self.assertEqual(len(new), 2, new)
        for e, inv in zip(new, invs):
            self.assertEntry(e, "invite.created", {"type": "invite", "id": inv["id"]},
                             r.header("X-Wix-Request-Id"), bot)
            self.assertEqual(e["siteId"], t.site_id)
            self.assertEqual(e["changes"]["email"], {"to": inv["email"]})
            self.assertEqual(e["changes"]["status"], {"to": "Pending"})
            self.assertEqual(e["changes"]["policyIds"], {"to": [ROLE_BLOG_WRITER]})
            self.assertEqual(e["changes"]["expirationDate"], {"to": inv["expirationDate"]})
        n += 2

        # An address invited again is no change: no entry.
        r = t.bulk(emails[:1])
        self.assertStatus(r, 200)
        self.assertEqual(self.new_entries(t, n), [])

        # Create One.
        r = t.call("POST", "/invites/site-invite",
                   {"email": unique_email("one"), "policyIds": [ROLE_DESIGNER]})
        self.assertStatus(r, 200)
        one = r.json["invite"]
        self.one_new(t, n, "invite.created", {"type": "invite", "id": one["id"]}, r, bot)
        n += 1

        # Resend renews the expiry.
        r = t.resend(invs[0]["id"])
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "invite.resent", {"type": "invite", "id": invs[0]["id"]}, r, bot)
        self.assertEqual(e["changes"]["expirationDate"],
                         {"from": invs[0]["expirationDate"],
                          "to": r.json["invite"]["expirationDate"]})
        n += 1

        # Update: roles before and after.
        r = t.call("PATCH", "/invites/site-invite/%s" % one["id"],
                   {"policyIds": [ROLE_ADMIN, ROLE_BLOG_EDITOR]})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "invite.updated", {"type": "invite", "id": one["id"]}, r, bot)
        self.assertEqual(e["changes"], {"policyIds": {"from": [ROLE_DESIGNER],
                                                      "to": [ROLE_ADMIN, ROLE_BLOG_EDITOR]}})
        n += 1

        # Revoke, then revoking again changes nothing and records nothing.
        r = t.revoke(one["id"])
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "invite.revoked", {"type": "invite", "id": one["id"]}, r, bot)
        self.assertEqual(e["changes"], {"status": {"from": "Pending", "to": "Deleted"}})
        n += 1
        self.assertStatus(t.revoke(one["id"]), 200)
        self.assertEqual(self.new_entries(t, n), [])

        # Accept: the invitee's account, by the public API (no key).
        r = self.accept(invs[0])
        self.assertStatus(r, 200)
        account = r.json["contributor"]["accountId"]
        e = self.one_new(t, n, "invite.accepted", {"type": "invite", "id": invs[0]["id"]}, r,
                         {"type": "invitee", "accountId": account, "email": invs[0]["email"]})
        self.assertEqual(e["changes"]["status"], {"from": "Pending", "to": "Used"})
        n += 1

        # Decline: the invitee, known by the invite's address only.
        token = invs[1]["acceptLink"].rsplit("/", 1)[1]
        r = self.server.request("POST", "/site-invite/decline", {"inviteToken": token})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "invite.declined", {"type": "invite", "id": invs[1]["id"]}, r,
                         {"type": "invitee", "email": invs[1]["email"]})
        self.assertEqual(e["changes"], {"status": {"from": "Pending", "to": "Declined"}})
        n += 1

        # The contributor's role, locations, removal.
        target = {"type": "contributor", "id": account}
        r = t.call("PUT", CHANGE, {"accountId": account, "newRoles": [{"roleId": ROLE_DESIGNER}]})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "contributor.role_changed", target, r, bot)
        self.assertEqual(e["changes"], {"policyIds": {"from": [ROLE_BLOG_WRITER],
                                                      "to": [ROLE_DESIGNER]}})
        n += 1
        loc = str(uuid.uuid4())
        r = t.call("PUT", LOCATIONS, {"accountId": account, "newLocations": [loc]})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "contributor.locations_changed", target, r, bot)
        self.assertEqual(e["changes"], {"locationIds": {"from": [], "to": [loc]}})
        n += 1
        r = t.call("POST", REMOVE, {"accountId": account})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "contributor.removed", target, r, bot)
        self.assertEqual(e["changes"]["policyIds"], {"from": [ROLE_DESIGNER]})
        n += 1

        # A custom role made with the key, then the key revoked by the admin.
        r = t.call("POST", "/roles-management/roles", {"title": "Auditor %s" % kid[:8]})
        self.assertStatus(r, 200)
        role_id = r.json["role"]["id"]
        e = self.one_new(t, n, "role.created", {"type": "role", "id": role_id}, r, bot)
        self.assertEqual(e["changes"], {"title": {"to": "Auditor %s" % kid[:8]}})
        n += 1
        t.revoke_key(kid)
        t.key = t.server.cli("key", "create", "--account", t.account_id)["key"]
        new = self.new_entries(t, n)
        self.assertEqual([(e["action"], e["target"]["id"], e["actor"]) for e in new[:1]],
                         [("key.revoked", kid, admin)])
        self.assertEqual([e["action"] for e in new], ["key.revoked", "key.created"])
        self.assertEqual(len(self.all_entries(t)), n + 2)

    def test_webhook_changes(self):
        t = Tenant(self.server, "Hooked")
        kid, t.key = named_key(t, "Hook Bot")
        bot = {"type": "apiKey", "id": kid, "name": "Hook Bot"}
        _, reader = named_key(t, "hook reader", ["site-users.read"])
        n = len(self.all_entries(t))
        events = ["invite.created", "invite.revoked"]
        r = t.call("POST", HOOKS, {"url": HOOK_URL, "events": events, "description": "crm"})
        self.assertStatus(r, 200)
        hook, secrets = r.json["webhook"], [r.json["webhook"]["secret"]]
        target = {"type": "webhook", "id": hook["id"]}
        path = "%s/%s" % (HOOKS, hook["id"])
        e = self.one_new(t, n, "webhook.created", target, r, bot)
        self.assertEqual(e["siteId"], t.site_id)
        self.assertEqual(e["changes"], {"url": {"to": HOOK_URL}, "events": {"to": events},
                                        "description": {"to": "crm"}, "enabled": {"to": True}})
        n += 1
        # PATCH: the fields that changed, before and after.
        url2 = HOOK_URL + "2"
        r = t.call("PATCH", path, {"url": url2, "events": ["invite.accepted"], "enabled": False})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "webhook.updated", target, r, bot)
        self.assertEqual(e["changes"], {"url": {"from": HOOK_URL, "to": url2},
                                        "events": {"from": events, "to": ["invite.accepted"]},
                                        "enabled": {"from": True, "to": False}})
        n += 1
        # Rotation says so, never with the secret (old or new).
        r = t.call("PATCH", path, {"rotateSecret": True})
        self.assertStatus(r, 200)
        secrets.append(r.json["webhook"]["secret"])
        e = self.one_new(t, n, "webhook.updated", target, r, bot)
        self.assertEqual(e["changes"], {"secret": {"to": "rotated"}})
        n += 1
        # A PATCH that changes nothing writes nothing.
        self.assertStatus(t.call("PATCH", path, {"enabled": False, "description": "crm"}), 200)
        self.assertEqual(self.new_entries(t, n), [])
        # The test call queues an event: one entry.
        r = t.call("POST", path + "/test")
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "webhook.tested", target, r, bot)
        self.assertEqual(e["changes"], {})
        n += 1
        # Refused calls write nothing.
        unknown = "%s/%s" % (HOOKS, uuid.uuid4())
        refused = [
            (t.call("POST", HOOKS, {"url": "ftp://x.example/", "events": events}), 400),
            (t.call("POST", HOOKS, {"events": events}), 400),  # no url
            (t.call("PATCH", path, {"url": "ftp://x.example/"}), 400),
            (t.call("PATCH", path, {"events": ["no.such"]}), 400),
            (t.call("POST", HOOKS, {"url": HOOK_URL, "events": events}, key=reader), 403),
            (t.call("PATCH", path, {"enabled": True}, key=reader), 403),
            (t.call("PATCH", unknown, {"enabled": True}), 404),
            (t.call("DELETE", unknown), 404),
            (t.call("POST", unknown + "/test"), 404),
        ]
        self.assertEqual([r.status for r, _ in refused], [status for _, status in refused])
        self.assertEqual(self.new_entries(t, n), [])
        # Delete: what the endpoint was.
        r = t.call("DELETE", path)
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "webhook.deleted", target, r, bot)
        self.assertEqual(e["changes"], {"url": {"from": url2},
                                        "events": {"from": ["invite.accepted"]},
                                        "description": {"from": "crm"}})
        log = json.dumps(self.all_entries(t))
        self.assertNotIn("whsec_", log)
        for secret in secrets:
            self.assertNotIn(secret, log)
            self.assertNotIn(secret[len("whsec_"):], log)

    def test_refused_requests_write_nothing(self):
        t = Tenant(self.server, "Refused", contributor_limit=1)
        r = t.bulk([unique_email("seat")])
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        self.assertStatus(self.accept(inv), 200)
        _, reader = named_key(t, "reader", ["site-users.read"])
        before = self.all_entries(t)
        self.assertEqual([e["action"] for e in before],
                         ["site.created", "key.created", "invite.created", "invite.accepted",
                          "key.created"])
        refused = [
            t.bulk([unique_email("full")]),  # the seat limit: every address fails
            t.bulk(["not an address"]),  # every address invalid
            t.bulk([unique_email()], policy_ids=["42"]),  # 400 validation
            t.call("POST", "/invites/site-invite/bulk",
                   {"emails": [unique_email()], "policyIds": [ROLE_DESIGNER]}, key=reader),  # 403
            t.revoke(str(uuid.uuid4())),  # 404
            t.resend(str(uuid.uuid4())),  # 404
            t.revoke(inv["id"]),  # 409: Used
            t.call("PATCH", "/invites/site-invite/%s" % inv["id"], {"staffId": "bad"}),  # 400
            t.call("PUT", CHANGE, {"accountId": str(uuid.uuid4()),
                                   "newRoles": [{"roleId": ROLE_DESIGNER}]}),  # 404
            t.call("POST", REMOVE, {"accountId": str(uuid.uuid4())}),  # 404
            self.accept(inv),  # 409/410: already used
        ]
        for r in refused:
            if r.status == 200:  # the bulk calls answer 200 with every address failed
                self.assertEqual(r.json["invites"], [], r)
            else:
                self.assertGreaterEqual(r.status, 400, r)
        self.assertEqual(self.all_entries(t), before)

    def test_site_settings_changes(self):
        t = Tenant(self.server, "Configured")
        kid, t.key = named_key(t, "Settings Bot")
        bot = {"type": "apiKey", "id": kid, "name": "Settings Bot"}
        site = {"type": "site", "id": t.site_id}
        _, reader = named_key(t, "reader", ["site-users.read"])
        n = len(self.all_entries(t))

        url = "https://crm.example/welcome?from=invite"
        r = t.call("PATCH", SETTINGS, {"acceptRedirectUrl": url, "reminderDaysBeforeExpiry": 3,
                                       "allowedEmailDomains": ["A.example", "*.b.example"]})
        self.assertStatus(r, 200)
        e = self.one_new(t, n, "site.settings_changed", site, r, bot)
        self.assertEqual(e["siteId"], t.site_id)
        self.assertEqual(e["changes"], {
            "acceptRedirectUrl": {"to": url}, "reminderDaysBeforeExpiry": {"to": 3},
            "allowedEmailDomains": {"from": [], "to": ["a.example", "*.b.example"]}})
        n += 1

        # Refused PATCHes (400, 403) and one that changes nothing write no entry.
        refused = [t.call("PATCH", SETTINGS, {"reminderDaysBeforeExpiry": 90}),
                   t.call("PATCH", SETTINGS, {"acceptRedirectUrl": "http://plain.example"}),
                   t.call("PATCH", SETTINGS, {}),
                   t.call("PATCH", SETTINGS, {"reminderDaysBeforeExpiry": 5}, key=reader)]
        self.assertEqual([r.status for r in refused], [400, 400, 400, 403])
        same = t.call("PATCH", SETTINGS, {"siteSettings": {"reminderDaysBeforeExpiry": 3,
                                                           "acceptRedirectUrl": url}})
        self.assertStatus(same, 200)
        self.assertEqual(self.new_entries(t, n), [])

        # Only what changed, from the stored value.
        r = t.call("PATCH", SETTINGS, {"reminderDaysBeforeExpiry": 5, "acceptRedirectUrl": url})
        e = self.one_new(t, n, "site.settings_changed", site, r, bot)
        self.assertEqual(e["changes"], {"reminderDaysBeforeExpiry": {"from": 3, "to": 5}})
        n += 1
        r = t.call("PATCH", SETTINGS, {"acceptRedirectUrl": None, "allowedEmailDomains": []})
        e = self.one_new(t, n, "site.settings_changed", site, r, bot)
        self.assertEqual(e["changes"], {
            "acceptRedirectUrl": {"from": url},
            "allowedEmailDomains": {"from": ["a.example", "*.b.example"], "to": []}})
        n += 1

        # The command line is the admin, outside a request; a repeat of it changes nothing.
        for _ in range(2):
            self.server.cli("site", "update", "--site", t.site_id, "--reminder-days", "off")
        new = self.new_entries(t, n)
        self.assertEqual(len(new), 1, new)
        self.assertEqual(new[0]["action"], "site.settings_changed")
        self.assertEqual(new[0]["actor"], {"type": "admin"})
        self.assertEqual(new[0]["target"], site)
        self.assertNotIn("requestId", new[0])
        self.assertEqual(new[0]["changes"], {"reminderDaysBeforeExpiry": {"from": 5}})
        self.assertEqual(len(self.all_entries(t, action="site.settings_changed")), 4)

    def test_filters_and_cursor_paging(self):
        t = Tenant(self.server, "Paged", contributor_limit=50)
        r = t.bulk([unique_email("p%d" % i) for i in range(7)])
        self.assertStatus(r, 200)
        invs = r.json["invites"]
        self.assertStatus(self.accept(invs[0]), 200)
        self.assertStatus(t.revoke(invs[1]["id"]), 200)
        every = self.all_entries(t)
        self.assertEqual(len(every), 11)  # site.created, key.created, 7 created, 1 each
        # Pages of 4: 4, 4, 3, in (time, id) order, the same entries as one big page.
        page = self.log(t, limit=4)
        self.assertEqual(page["pagingMetadata"]["count"], 4)
        self.assertTrue(page["pagingMetadata"]["hasNext"])
        self.assertEqual(self.all_entries(t, limit=4), every)
        self.assertEqual(self.all_entries(t, limit=1), every)
        ids = [int(e["id"]) for e in every]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual([e["time"] for e in every], sorted(e["time"] for e in every))
        # Filters.
        created = self.all_entries(t, action="invite.created")
        self.assertEqual([e["target"]["id"] for e in created], [i["id"] for i in invs])
        self.assertEqual([e["action"] for e in self.all_entries(t, actorType="invitee")],
                         ["invite.accepted"])
        self.assertEqual(len(self.all_entries(t, actorId=t.key_id, limit=2)), 8)
        self.assertEqual(len(self.all_entries(t, actorType="admin")), 2)
        self.assertEqual(len(self.all_entries(t, actorType="apiKey", action="invite.revoked")), 1)
        first, last = every[0]["time"], every[-1]["time"]
        self.assertEqual(self.all_entries(t, since=first), every)
        self.assertEqual(self.all_entries(t, since="2000-01-01T00:00:00Z",
                                          until="2000-01-02T00:00:00Z"), [])
        self.assertEqual(len(self.all_entries(t, until=last)),
                         len([e for e in every if e["time"] < last]))
        # Bad arguments are 400 with the field named.
        self.assertValidation(t.call("GET", LOG + "?limit=0"), "limit", "MIN")
        self.assertValidation(t.call("GET", LOG + "?limit=101"), "limit", "MAX")
        for args, field in ((("limit", "x"), "limit"),
                            (("action", "invite.nope"), "action"),
                            (("actorType", "robot"), "actorType"),
                            (("since", "yesterday"), "since"), (("cursor", "abc"), "cursor")):
            r = t.call("GET", "%s?%s=%s" % (LOG, args[0], args[1]))
            self.assertValidation(r, field)

    def test_tenancy_and_permission(self):
        a = Tenant(self.server, "TenantA")
        b = Tenant(self.server, "TenantB")
        self.assertStatus(a.bulk([unique_email("ta")]), 200)
        mine = self.all_entries(a)
        self.assertEqual([e["action"] for e in mine],
                         ["site.created", "key.created", "invite.created"])
        # B's key sees its own log only and cannot name A's site.
        self.assertEqual([e["action"] for e in self.all_entries(b)],
                         ["site.created", "key.created"])
        r = b.call("GET", LOG, site=a.site_id)
        self.assertIn(r.status, (403, 404))
        self.assertErrorShape(r)
        # A second site of A's account has its own log; the account's keys show in both.
        other = a.for_site(a.add_site("A two"))
        self.assertEqual([(e["action"], e["target"]["id"]) for e in self.all_entries(other)],
                         [("key.created", a.key_id), ("site.created", other.site_id)])
        # A key without site-users.read is refused.
        _, sender = named_key(a, "sender", ["site-users.send-invite"])
        self.assertStatus(a.call("GET", LOG, key=sender), 403)
        self.assertStatus(a.call("GET", LOG, key=False), 401)

    def test_export_json_lines(self):
        t = Tenant(self.server, "Exported")
        r = t.bulk([unique_email("x1"), unique_email("x2")])
        self.assertStatus(r, 200)
        self.assertStatus(t.revoke(r.json["invites"][0]["id"]), 200)
        api = self.all_entries(t)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "audit.jsonl")
            text = self.server.cli("audit", "export", "--site", t.site_id, "--since",
                                   api[0]["time"], "--out", out, json_out=False)
            self.assertEqual(text, "")
            with open(out, encoding="utf-8") as f:
                lines = f.read().splitlines()
        self.assertEqual([json.loads(line) for line in lines], api)
        # To stdout, with until: only what came before it.
        text = self.server.cli("audit", "export", "--site", t.site_id, "--since",
                               "2000-01-01T00:00:00Z", "--until", api[-1]["time"], json_out=False)
        got = [json.loads(line) for line in text.splitlines()]
        self.assertEqual(got, [e for e in api if e["time"] < api[-1]["time"]])
        # A bad time or an unknown site: exit 2 / 1 with a message.
        p = subprocess.run([binary(), "audit", "export", "--site", t.site_id, "--since", "soon",
                            "--db", self.server.db], capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"since", p.stderr)


class AuditExpiry(ApiTestCase):
    def test_expiry_is_the_system(self):
        with Server(lifetime_s=2) as server:
            t = Tenant(server, "Expiring")
            r = t.bulk([unique_email("exp")])
            self.assertStatus(r, 200)
            inv = r.json["invites"][0]

            def expired():
                got = t.call("GET", LOG + "?action=invite.expired")
                return got.json["entries"] if got.status == 200 and got.json["entries"] else None

            entries = wait_until(expired, 15, what="an invite.expired entry")
            self.assertEqual(len(entries), 1)
            e = entries[0]
            self.assertEqual(e["actor"], {"type": "system"})
            self.assertEqual(e["target"], {"type": "invite", "id": inv["id"]})
            self.assertNotIn("requestId", e)
            self.assertEqual(e["changes"], {"status": {"from": "Pending", "to": "Expired"}})


class AuditReminders(ApiTestCase):
    def test_each_reminder_is_the_system_once(self):
        with Server(test_clock=True) as server:
            t = Tenant(server, "Reminded")
            self.assertStatus(t.call("PATCH", SETTINGS, {"reminderDaysBeforeExpiry": 2}), 200)
            r = t.bulk([unique_email("r1"), unique_email("r2")])  # site lifetime: 30 days
            self.assertStatus(r, 200)
            ids = sorted(inv["id"] for inv in r.json["invites"])

            def reminded(count):
                got = t.call("GET", LOG + "?action=invite.reminded")
                ok = got.status == 200 and len(got.json["entries"]) >= count
                return got.json["entries"] if ok else None

            server.advance_clock(28 * DAY + 3600)
            entries = wait_until(lambda: reminded(2), 15, what="two invite.reminded entries")
            self.assertEqual(sorted(e["target"]["id"] for e in entries), ids)
            for e in entries:
                self.assertEqual(e["actor"], {"type": "system"})
                self.assertEqual(e["target"]["type"], "invite")
                self.assertEqual(e["siteId"], t.site_id)
                self.assertNotIn("requestId", e)
                self.assertEqual(e["changes"], {})
            # A sentinel due 28 days later proves the sweeps after the first wrote no repeat.
            late = t.bulk([unique_email("late")], expiresInDays=30)
            self.assertStatus(late, 200)
            server.advance_clock(28 * DAY)
            entries = wait_until(lambda: reminded(3), 15, what="the sentinel's reminder entry")
            self.assertEqual(sorted(e["target"]["id"] for e in entries),
                             sorted(ids + [late.json["invites"][0]["id"]]))


if __name__ == "__main__":
    unittest.main()
