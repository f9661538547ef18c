"""Upgrades: a database made by the first released commit (af90ec8, fixtures/make_fixtures.sh)
opens under this binary, which applies its later migrations once and keeps every invite,
contributor, key, custom role and queued email; the queued emails are then delivered once each,
with accept links that work. Runs on SQLite, and on PostgreSQL when SI_TEST_STORE_URL is a
postgres URL (tests/pg). The refusal of a database newer than the binary is
cli/test_ops.py's SchemaNewerTest, on both stores too.

The fixture was made on a past day, and its Pending invites would have expired by the time this
runs (and its queued emails passed --mail-max-age-seconds): before the first start, every
time column of the old schema is moved forward by the same delta, so the fixture is as if made
just now. Every time the test expects is the manifest's plus that delta."""

import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
import unittest

from sitest import (ApiTestCase, Server, Tenant, binary, message_text, accept_links, messages_to,
                    wait_until, unique_email, ROLE_BLOG_WRITER)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
MAIL_WAIT_S = 20
APPLIED = re.compile(r"store: applied schema migration (\d+)")

# Every time column of the fixture's schema (SQLite 1-3, PostgreSQL 1-2 have the same ones);
# 0 means "never" in the optional ones and stays 0.
TIME_COLUMNS = {
    "accounts": ("created_ms",), "sites": ("created_ms",),
    "api_keys": ("created_ms", "?revoked_ms"),
    "invites": ("created_ms", "updated_ms", "expires_ms", "?last_sent_ms"),
    "contributors": ("joined_ms",),
    "outbox": ("due_ms", "created_ms", "?lease_until_ms", "?sent_ms"),
}


def shift_sql(delta):
    out = []
    for table, cols in TIME_COLUMNS.items():
        sets = []
        for c in cols:
            if c.startswith("?"):
                c = c[1:]
                sets.append("%s = CASE WHEN %s <> 0 THEN %s + %d ELSE 0 END" % (c, c, c, delta))
            else:
                sets.append("%s = %s + %d" % (c, c, delta))
        out.append("UPDATE %s SET %s;" % (table, ", ".join(sets)))
    return "\n".join(out)


def to_ms(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return round(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def token_of(link):
    return link.rsplit("/", 1)[1]


class Fixture:
    """The manifest of one store's fixture, and its database installed under a Server."""

    def __init__(self, server):
        self.server = server
        self.store = "postgres" if server.pg_db else "sqlite"
        with open(os.path.join(FIXTURES, "manifest-%s.json" % self.store)) as f:
            self.m = json.load(f)
        self.delta = 0

    def sql(self, text, script=False):
        """Runs SQL on the server's database: a query's rows as lists of text, or a script."""
        if self.server.pg_db:
            out = subprocess.run(["psql", "-qXtA", "-v", "ON_ERROR_STOP=1", self.server.db,
                                  "-c", text], check=True, capture_output=True).stdout.decode()
            return [line.split("|") for line in out.splitlines() if line]
        db = sqlite3.connect(self.server.db_path, isolation_level=None)
        try:
            if script:
                db.executescript(text)
                return []
            return [[str(v) for v in row] for row in db.execute(text)]
        finally:
            db.close()

    def install(self):
        """Copies the database and the secret, then moves the fixture's clock to now."""
        s = self.server
        shutil.copyfile(os.path.join(FIXTURES, "secret.key"), s.secret_file)
        os.chmod(s.secret_file, 0o600)
        if s.pg_db:
            subprocess.run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", s.db, "-f",
                            os.path.join(FIXTURES, self.m["database"])],
                           check=True, capture_output=True)
        else:
            shutil.copyfile(os.path.join(FIXTURES, self.m["database"]), s.db_path)
            os.chmod(s.db_path, 0o600)
        self.delta = int(time.time() * 1000) - self.m["made_ms"]
        self.sql("BEGIN;\n%s\nCOMMIT;" % shift_sql(self.delta), script=True)

    def versions(self):
        return sorted(int(r[0]) for r in self.sql("SELECT version FROM schema_migrations"))

    def shifted(self, text):
        return to_ms(text) + self.delta

    def canonical(self, policy_ids):
        aliases = self.m["role_aliases"]
        return [aliases.get(p, p) for p in policy_ids]

    def key(self, name):
        return next(k for k in self.m["keys"] if k["name"] == name)


def doctor(server):
    p = subprocess.run([binary(), "doctor", "--db", server.db, "--secret-file",
                        server.secret_file, "--mail-dir", server.dir],
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode()


class UpgradeFromFirstRelease(ApiTestCase):
    """One fixture, one server: the tests run in name order (a_, b_, ...) on the same data."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.fx = Fixture(cls.server)
        try:
            cls.fx.install()
            cls.before = cls.fx.versions()
            cls.doctor_before = doctor(cls.server)
            cls.server.start()
        except BaseException:
            cls.server.close()
            raise
        m = cls.fx.m
        cls.t = Tenant.__new__(Tenant)
        cls.t.server = cls.server
        cls.t.account_id, cls.t.site_id = m["account_id"], m["sites"][0]
        cls.t.key = cls.fx.key("full")["key"]

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def start_log(self, n):
        """The serve log of start number n (1-based)."""
        text = self.server.log_text()
        return text.split("---- start %d " % n, 1)[1].split("---- start ", 1)[0]

    def known_version(self):
        """The newest schema step this binary knows, as its doctor tells of the old fixture."""
        code, out = self.doctor_before
        m = re.search(r"version (\d+), this binary knows (\d+): run siteinvites migrate", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(code, 4, out)
        self.assertEqual(int(m.group(1)), max(self.before))
        return int(m.group(2))

    def test_a_first_start_migrates_and_logs_each_step(self):
        self.assertEqual(self.before, sorted(self.fx.m["schema_versions"]))
        known = self.known_version()
        after = self.fx.versions()
        applied = [int(v) for v in APPLIED.findall(self.start_log(1))]
        # The log names exactly the steps that were missing; 4 (Wix's role IDs) and 5 (business
        # locations) are among them whatever later steps other branches add.
        self.assertEqual(sorted(applied), sorted(set(after) - set(self.before)), applied)
        self.assertEqual(len(applied), len(set(applied)), "a step was applied twice")
        self.assertTrue({4, 5} <= set(applied), applied)
        self.assertGreater(min(applied), max(self.before))
        self.assertEqual(max(after), known)
        self.assertGreaterEqual(known, 5)
        code, out = doctor(self.server)
        self.assertRegex(out, r"(?m)^database +ok .*schema version %d$" % known)
        # Version 14 (key prefix, last used): keys made before it have neither, and no call has
        # used one yet; `key list` shows both as unknown.
        rows = self.fx.sql("SELECT key_prefix, last_used_ms FROM api_keys")
        self.assertEqual(len(rows), len(self.fx.m["keys"]), rows)
        self.assertEqual({tuple(r) for r in rows}, {("", "0")}, rows)
        listed = self.server.cli("key", "list", "--account", self.fx.m["account_id"])["keys"]
        self.assertTrue(listed)
        self.assertEqual({(k["prefix"], k["lastUsed"]) for k in listed}, {(None, None)})

    def invite_now(self, old):
        r = self.t.call("GET", "/invites/site-invite/" + old["id"], site=old["siteId"])
        self.assertStatus(r, 200)
        return r.json["invite"]

    def assert_same_invite(self, old, new):
        """The old binary's answer, with role IDs through the alias and times moved by delta."""
        what = old["email"]
        for field in ("id", "siteId", "email", "status", "inviterId", "inviterAccountId",
                      "acceptedByAccountId", "emailLanguage", "invitePurpose", "staffId"):
            self.assertEqual(new.get(field), old.get(field), "%s: %s" % (what, field))
        self.assertEqual(new["policyIds"], self.fx.canonical(old["policyIds"]), what)
        for field in ("dateCreated", "expirationDate"):
            self.assertEqual(to_ms(new[field]), self.fx.shifted(old[field]), (what, field))
        self.assertEqual(token_of(new["acceptLink"]), token_of(old["acceptLink"]), what)
        if old["id"] in self.fx.m["queued"]:
            return
        # Nothing was to be sent for these: their delivery facts stand as they were.
        self.assertEqual(new.get("delivery"), old.get("delivery"), what)
        self.assertEqual(new["sendCount"], old["sendCount"], what)
        self.assertEqual(to_ms(new["lastSentDate"]), self.fx.shifted(old["lastSentDate"]), what)
        self.assertEqual(to_ms(new["dateUpdated"]), self.fx.shifted(old["dateUpdated"]), what)

    def test_b_every_invite_is_kept(self):
        olds = self.fx.m["invites"]
        self.assertEqual({o["status"] for o in olds},
                         {"Pending", "Used", "Declined", "Deleted", "Expired"})
        for old in olds:
            self.assert_same_invite(old, self.invite_now(old))
        # Nothing lost and nothing made up, site by site, through the query paging too.
        for site in self.fx.m["sites"]:
            got = {i["id"] for i in self.t.for_site(site).query_all()}
            self.assertEqual(got, {o["id"] for o in olds if o["siteId"] == site})

    def test_c_contributors_and_custom_role_are_kept(self):
        olds = self.fx.m["contributors"]
        self.assertTrue(olds)
        found = []
        for site in self.fx.m["sites"]:
            r = self.t.call("GET", "/roles-management/v2/contributors/query", site=site)
            self.assertStatus(r, 200)
            found += r.json["contributors"]
        self.assertEqual(len(found), len(olds), found)
        # The answer has Wix's contributor shape since; our own IDs moved under "siteinvites".
        for old in olds:
            new = [c for c in found if c["siteinvites"]["contributorId"] == old["id"]]
            self.assertEqual(len(new), 1, found)
            new = new[0]
            self.assertEqual(new["accountId"], old["accountId"])
            self.assertEqual(new["siteinvites"]["inviteId"], old["inviteId"])
            self.assertEqual(new["metaData"]["email"], old["email"])
            # Version 5 filled invitedEmail from the invite the contributor accepted.
            self.assertEqual(new["invitedEmail"], old["email"])
            self.assertEqual([a["policy"]["policyId"] for a in new["metaData"]["assignments"]],
                             self.fx.canonical(old["policyIds"]))
            self.assertEqual(to_ms(new["joinedAt"]), self.fx.shifted(old["joinedAt"]))
        role = self.fx.m["custom_role"]
        r = self.t.call("GET", "/roles-management/roles")
        self.assertStatus(r, 200)
        self.assertIn((role["id"], role["title"]),
                      [(x.get("id"), x.get("title")) for x in r.json.get("customRoles", [])],
                      r.json)

    def test_d_each_key_keeps_its_permissions(self):
        site_b = self.fx.m["sites"][1]
        read = lambda name: self.t.call("POST", "/invites/site-invite/query", {"query": {}},
                                        key=self.fx.key(name)["key"])
        send = lambda name: self.t.call(
            "POST", "/invites/site-invite/bulk",
            {"policyIds": [ROLE_BLOG_WRITER], "emails": [unique_email("after-upgrade")]},
            key=self.fx.key(name)["key"], site=site_b)
        self.assertStatus(read("full"), 200)
        self.assertStatus(read("read-only"), 200)
        self.assertAppError(send("read-only"), 403, "PERMISSION_DENIED")
        self.assertStatus(send("sender"), 200)
        self.assertAppError(read("sender"), 403, "PERMISSION_DENIED")
        self.assertAppError(read("revoked"), 401, "UNAUTHENTICATED")

    def delivered(self, email):
        return messages_to(self.server, email)

    def test_e_queued_emails_are_delivered_once_with_working_links(self):
        m = self.fx.m
        queued = [o for o in m["invites"] if o["id"] in m["queued"]]
        self.assertEqual(len(queued), 3)
        for old in queued:
            wait_until(lambda: self.invite_now(old).get("delivery", {}).get("status") == "Sent",
                       MAIL_WAIT_S, what="%s delivered" % old["email"])
        for old in m["invites"]:
            msgs = self.delivered(old["email"])
            if old not in queued:
                self.assertEqual(msgs, [], "mailed again: %s" % old["email"])
                continue
            self.assertEqual(len(msgs), 1, old["email"])
            plain, html = message_text(msgs[0])
            links = set(accept_links(plain)) | set(accept_links(html))
            self.assertEqual(len(links), 1, links)
            link = links.pop()
            self.assertEqual(token_of(link), token_of(old["acceptLink"]))
            self.assertStatus(self.server.get_page(link), 200)
        # Accept one through the API: the invite made for the retired Admin ID joins as Wix's.
        admin = next(o for o in queued if o["email"].startswith("queued-admin@"))
        link = accept_links(message_text(self.delivered(admin["email"])[0])[0])[0]
        r = self.server.request("POST", "/site-invite/accept", {"inviteToken": token_of(link)})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "Used")
        self.assertEqual(r.json["contributor"]["policyIds"], self.fx.canonical(admin["policyIds"]))
        self.assertEqual(self.invite_now(admin)["status"], "Used")

    def test_f_second_start_applies_nothing_and_sends_nothing_again(self):
        queued = self.fx.m["queued"]
        wait_until(lambda: all(self.invite_now(o).get("delivery", {}).get("status") == "Sent"
                               for o in self.fx.m["invites"] if o["id"] in queued),
                   MAIL_WAIT_S, what="the queued emails delivered")
        versions = self.fx.versions()
        self.server.restart()
        log = self.start_log(self.server.starts)
        self.assertEqual(APPLIED.findall(log), [], log)
        self.assertEqual(self.fx.versions(), versions)
        code, out = doctor(self.server)
        self.assertRegex(out, r"(?m)^database +ok .*schema version %d$" % max(versions))
        # Each fixture email has exactly one outbox row and it is Sent: nothing is left that a
        # worker could deliver a second time.
        ids = ",".join("'%s'" % o["id"] for o in self.fx.m["invites"])
        rows = self.fx.sql("SELECT invite_id, status FROM outbox WHERE invite_id IN (%s)" % ids)
        by_invite = {}
        for invite_id, status in rows:
            by_invite.setdefault(invite_id, []).append(status)
        for invite_id in queued:
            self.assertEqual(by_invite.get(invite_id), ["Sent"], invite_id)
        self.assertNotIn("Queued", [st for sts in by_invite.values() for st in sts])
        for o in self.fx.m["invites"]:
            self.assertLessEqual(len(self.delivered(o["email"])), 1, o["email"])

    def test_g_new_invites_store_no_salt_and_old_links_keep_theirs(self):
        """Migration 16 (issue 14): a new invite's link names its ID (44 characters) and it has
        no salt; the old invites keep theirs, so their links (test_b, test_e) still work."""
        site = self.fx.m["sites"][1]
        r = self.t.call("POST", "/invites/site-invite/bulk",
                        {"policyIds": [ROLE_BLOG_WRITER], "emails": [unique_email("v2-link")]},
                        key=self.fx.key("sender")["key"], site=site)
        self.assertStatus(r, 200)
        new = r.json["invites"][0]
        token = token_of(new["acceptLink"])
        self.assertEqual(len(token), 44, token)
        for old in self.fx.m["invites"]:
            self.assertEqual(len(token_of(old["acceptLink"])), 43)
        unsalted = {x[0] for x in self.fx.sql("SELECT id FROM invites WHERE token_salt IS NULL")}
        self.assertIn(new["id"], unsalted)
        self.assertFalse(unsalted & {o["id"] for o in self.fx.m["invites"]}, unsalted)
        self.assertStatus(self.server.get_page(new["acceptLink"]), 200)
        r = self.server.request("POST", "/site-invite/decline", {"inviteToken": token})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "Declined")
        # The old Pending invites still open their pages after the new one was written.
        for old in self.fx.m["invites"]:
            if old["status"] == "Pending" and old["id"] not in self.fx.m["queued"]:
                self.assertStatus(self.server.get_page(old["acceptLink"]), 200)


if __name__ == "__main__":
    unittest.main()
