"""Get Roles Info and Wix's role IDs against the real binary (docs/API.md §1, §3.3.7): the RoleInfo
shape of @wix/identity_user, every locale, the level filters, the Owner and account-level roles
refused by every granting call, the retired ID 1000000000000000001 accepted and answered as Wix's,
and a database written before Wix's IDs migrating. Runs on SQLite and (tests/pg) PostgreSQL."""

import json
import os
import sqlite3
import subprocess
import unittest
import urllib.parse

from sitest import (ApiTestCase, Server, Tenant, PREDEFINED_ROLES, ROLE_ACCOUNT_ADMIN, ROLE_ADMIN,
                    ROLE_ADMIN_OLD, ROLE_DESIGNER, ROLE_OWNER, message_text, messages_to,
                    unique_email, wait_until)

ROLES = "/roles-management/roles"
LOCALES = ["en", "es", "fr", "de", "pt", "he", "ja"]
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SI_SOURCE_DIR", os.path.join(HERE, "..", ".."))

# Wix's Get Roles Info example, verbatim (docs/API.md §1).
WIX_ROLES = {
    ROLE_OWNER: ("Owner", "Can manage and access all aspects of sites, including billing and "
                 "domains, plus invite other people and set their permissions.", "NoRestriction"),
    ROLE_ACCOUNT_ADMIN: ("Account Admin (Co-Owner)", "Can manage and edit all sites and apps in "
                         "the account, including billing, domains and inviting people, but cannot "
                         "close account.", "Site"),
    ROLE_ADMIN: ("Admin (Co-Owner)", "Has access to edit, publish and manage site, including "
                 "billing, payment & financial info, domains and inviting people, but can't "
                 "delete or transfer the site.", "Account"),
}


def translations(lang):
    with open(os.path.join(SOURCE, "templates", "roles", lang, "roles.json"),
              encoding="utf-8") as f:
        return json.load(f)


class RolesTestCase(ApiTestCase):
    def roles(self, t, **params):
        """GET roles with params (lists repeat the key, as the SDK sends arrays)."""
        q = urllib.parse.urlencode(params, doseq=True)
        return t.call("GET", ROLES + ("?" + q if q else ""))

    def assertRoleInfo(self, role):
        """@wix/identity_user's RoleInfo: exactly these four, all strings, a known level."""
        self.assertEqual(set(role), {"id", "title", "description", "restrictFromLevel"}, role)
        for k in role:
            self.assertIsInstance(role[k], str, role)
        self.assertIn(role["restrictFromLevel"], {"NoRestriction", "Site", "Account"}, role)


class GetRolesInfo(RolesTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.t = Tenant(cls.server, "Roles")
        r = cls.t.call("POST", ROLES, {"title": "Translator", "description": "Translates"})
        assert r.status == 200, r
        cls.custom = r.json["role"]["id"]

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)

    def test_shape_and_wix_roles(self):
        for path in (ROLES, "/roles"):  # "/roles": the SDK's path on a custom host
            r = self.t.call("GET", path)
            self.assertStatus(r, 200)
            self.assertEqual(set(r.json), {"predefinedRoles", "customRoles"})
            for role in r.json["predefinedRoles"] + r.json["customRoles"]:
                self.assertRoleInfo(role)
            pre = {x["id"]: x for x in r.json["predefinedRoles"]}
            self.assertEqual([x["id"] for x in r.json["predefinedRoles"]], PREDEFINED_ROLES)
            for rid, (title, desc, level) in WIX_ROLES.items():
                self.assertEqual((pre[rid]["title"], pre[rid]["description"],
                                  pre[rid]["restrictFromLevel"]), (title, desc, level))
            self.assertNotIn(ROLE_ADMIN_OLD, pre)
            self.assertEqual([(x["id"], x["title"], x["restrictFromLevel"])
                              for x in r.json["customRoles"]],
                             [(self.custom, "Translator", "NoRestriction")])

    def test_every_locale(self):
        en = {x["id"]: x for x in self.roles(self.t, locale="en").json["predefinedRoles"]}
        for lang in LOCALES:
            want = translations(lang)
            got = self.roles(self.t, locale=lang).json
            self.assertEqual({x["id"]: (x["title"], x["description"])
                              for x in got["predefinedRoles"]},
                             {k: (v["title"], v["description"]) for k, v in want.items()}, lang)
            if lang != "en":
                self.assertNotEqual(got["predefinedRoles"][0]["title"], en[ROLE_OWNER]["title"])
            # A custom role keeps its own words in every language.
            self.assertEqual(got["customRoles"][0]["title"], "Translator")
        pt = self.roles(self.t, locale="pt").json
        self.assertEqual(self.roles(self.t, locale="pt-BR").json, pt)
        default = self.roles(self.t).json
        for unknown in ("xx", "zz-QQ", "not a tag!"):
            self.assertEqual(self.roles(self.t, locale=unknown).json, default, unknown)
        self.assertEqual(default["predefinedRoles"][0]["title"], "Owner")

    def test_level_filters(self):
        def ids(**params):
            r = self.roles(self.t, **params)
            self.assertStatus(r, 200)
            return [x["id"] for x in r.json["predefinedRoles"]], \
                [x["id"] for x in r.json["customRoles"]]

        everything = ids()
        self.assertEqual(ids(**{"filter.roleLevel": "ALL"}), everything)
        site, site_custom = ids(**{"filter.roleLevel": "SITE_LEVEL"})
        self.assertEqual(site, [x for x in PREDEFINED_ROLES if x != ROLE_ACCOUNT_ADMIN])
        account, account_custom = ids(**{"filter.roleLevel": "ACCOUNT_LEVEL"})
        self.assertEqual(account, [ROLE_OWNER, ROLE_ACCOUNT_ADMIN])
        self.assertEqual(site_custom, [self.custom])
        self.assertEqual(account_custom, [self.custom])
        self.assertEqual(ids(**{"filter.role_level": "ACCOUNT_LEVEL"})[0], account)
        # Every role serves every editor type: the filter is accepted and changes nothing.
        self.assertEqual(ids(**{"filter.editorTypes": ["STUDIO", "EDITORX"]}), everything)
        self.assertValidation(self.roles(self.t, **{"filter.roleLevel": "SITE"}),
                              "filter.roleLevel", "INVALID_ENUM_VALUE")
        self.assertValidation(self.roles(self.t, **{"filter.editorTypes": ["STUDIO", "WORD"]}),
                              "filter.editorTypes", "INVALID_ENUM_VALUE")


class GrantingRoles(RolesTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.t = Tenant(cls.server, "Grants")

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)

    def test_old_alias_accepted_answered_as_wix(self):
        r = self.t.bulk([unique_email()], [ROLE_ADMIN_OLD, ROLE_DESIGNER, ROLE_ADMIN])
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        self.assertEqual(inv["policyIds"], [ROLE_ADMIN, ROLE_DESIGNER])
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["policyIds"], [ROLE_ADMIN, ROLE_DESIGNER])
        for flt in ({"policyIds": ROLE_ADMIN_OLD}, {"policyIds": {"$hasSome": [ROLE_ADMIN_OLD]}}):
            q = self.t.query({"filter": dict(flt, email=inv["email"])})
            self.assertEqual([i["id"] for i in q.json["invites"]], [inv["id"]], flt)
        c = self.t.call("POST", "/invites/site-invite",
                        {"email": unique_email(), "policyIds": [ROLE_ADMIN_OLD]})
        self.assertStatus(c, 200)
        self.assertEqual(c.json["invite"]["policyIds"], [ROLE_ADMIN])
        u = self.t.call("PATCH", "/invites/site-invite/" + c.json["invite"]["id"],
                        {"policyIds": [ROLE_DESIGNER, ROLE_ADMIN_OLD]})
        self.assertStatus(u, 200)
        self.assertEqual(u.json["invite"]["policyIds"], [ROLE_DESIGNER, ROLE_ADMIN])

    def test_owner_and_account_roles_refused(self):
        addr = unique_email()
        r = self.t.bulk([addr], [ROLE_DESIGNER, ROLE_OWNER, ROLE_ACCOUNT_ADMIN])
        fv = self.assertValidation(r, "policyIds[1]", "OTHER")
        self.assertValidation(r, "policyIds[2]", "OTHER")
        self.assertIn("Owner", [v for v in fv if v["field"] == "policyIds[1]"][0]["description"])
        self.assertValidation(self.t.call("POST", "/invites/site-invite",
                                          {"email": addr, "policyIds": [ROLE_OWNER]}),
                              "policyIds[0]", "OTHER")
        self.assertEqual(self.t.query({"filter": {"email": addr}}).json["invites"], [])
        inv = self.t.bulk([addr], [ROLE_DESIGNER]).json["invites"][0]
        self.assertValidation(self.t.call("PATCH", "/invites/site-invite/" + inv["id"],
                                          {"policyIds": [ROLE_ACCOUNT_ADMIN]}),
                              "policyIds[0]", "OTHER")
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["policyIds"], [ROLE_DESIGNER])
        # Change Role: accept first, then try to make the contributor the Owner.
        token = inv["acceptLink"].rsplit("/", 1)[1]
        a = self.server.request("POST", "/site-invite/accept", {"inviteToken": token})
        self.assertStatus(a, 200)
        account = a.json["contributor"]["accountId"]
        change = "/roles-management/contributor/change/role"
        self.assertValidation(self.t.call("PUT", change, {"accountId": account,
                                                          "newRoles": [{"roleId": ROLE_OWNER}]}),
                              "newRoles[0]", "OTHER")
        ok = self.t.call("PUT", change, {"accountId": account,
                                         "newRoles": [{"roleId": ROLE_ADMIN_OLD}]})
        self.assertStatus(ok, 200)
        text = json.dumps(ok.json)
        self.assertIn(ROLE_ADMIN, text)
        self.assertNotIn(ROLE_ADMIN_OLD, text)


class TitlesInTheInvitesLanguage(RolesTestCase):
    """The email and the invitee page title predefined roles from the same table as the API."""

    def test_email_and_page(self):
        with Server() as server:
            t = Tenant(server, "Langs")
            for lang, table in (("ja", "ja"), ("pt-BR", "pt"), ("xx", "en")):
                want = translations(table)
                inv = t.bulk([unique_email(lang)], [ROLE_ADMIN_OLD, ROLE_DESIGNER],
                             defaultEmailLanguage=lang).json["invites"][0]
                titles = [want[ROLE_ADMIN]["title"], want[ROLE_DESIGNER]["title"]]
                msgs = wait_until(lambda: messages_to(server, inv["email"]), what="the email")
                plain, html = message_text(msgs[0])
                page = server.get_page(inv["acceptLink"])
                self.assertStatus(page, 200)
                body = page.body.decode("utf-8")
                for title in titles:
                    self.assertIn(title, plain, lang)
                    self.assertIn(title, body, lang)
                if table != "en":
                    self.assertNotIn("Admin (Co-Owner)", plain + body, lang)
            self.assertNo5xx(server)


class RoleMigration(RolesTestCase):
    """A database the server wrote before Wix's IDs (tests/api/fixtures/make_old_role_ids.py)."""

    def load_fixture(self, server):
        pg = server.pg_db is not None
        path = os.path.join(HERE, "fixtures", "old_role_ids.%s.sql" % ("pg" if pg else "sqlite"))
        with open(path, encoding="utf-8") as f:
            first, sql = f.readline(), f.read()
        if pg:
            subprocess.run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", server.db, "-f", "-"],
                           input=sql, text=True, check=True, capture_output=True)
        else:
            db = sqlite3.connect(server.db_path)
            db.executescript(sql)
            db.close()
        return json.loads(first[len("-- fixture: "):])

    def test_old_database_migrates(self):
        server = Server()  # not started: the fixture is the database it opens
        try:
            self.check_migration(server)
        finally:
            server.close()

    def check_migration(self, server):
        meta = self.load_fixture(server)
        server.start()
        t = Tenant.__new__(Tenant)
        t.server, t.key, t.site_id = server, meta["key"], meta["site"]
        invites = t.query().json["invites"]
        self.assertEqual(len(invites), 2)
        for inv in invites:
            self.assertEqual(inv["policyIds"], [ROLE_ADMIN, ROLE_DESIGNER], inv)
        pre = self.roles(t).json["predefinedRoles"]
        self.assertEqual([x["id"] for x in pre], PREDEFINED_ROLES)
        self.assertEqual(pre[0]["title"], "Owner")
        # The old ID still works as input, and finds the migrated rows.
        q = t.query({"filter": {"policyIds": ROLE_ADMIN_OLD}}).json["invites"]
        self.assertEqual(len(q), 2)
        r = t.bulk([unique_email()], [ROLE_ADMIN_OLD])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invites"][0]["policyIds"], [ROLE_ADMIN])
        # The contributor's roles moved too: a filter by Wix's ID finds them.
        contributors = t.call("GET", "/roles-management/v2/contributors/query")
        self.assertStatus(contributors, 200)
        text = json.dumps(contributors.json)
        self.assertIn(meta["contributor"], text)
        self.assertIn(ROLE_ADMIN, text)
        self.assertNotIn(ROLE_ADMIN_OLD, text)
        # A second start finds nothing left to migrate and changes nothing.
        server.restart()
        self.assertEqual([i["policyIds"] for i in t.query().json["invites"]
                          if i["id"] in {x["id"] for x in invites}],
                         [[ROLE_ADMIN, ROLE_DESIGNER]] * 2)
        self.assertNo5xx(server)


if __name__ == "__main__":
    unittest.main()
