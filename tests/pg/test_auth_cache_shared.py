"""The API-key cache of two `serve` processes on one PostgreSQL database (auth/key_cache.h,
docs/SECURITY.md "The key cache"): a key both have used and cached, revoked by the admin command
line (a third process), is refused by both well inside the cache's 10 s age limit; a site's
settings changed through one are applied by that one on its next call and by the other once
the change notification arrives; the notifying trigger covers every column of api_keys but
last_used_ms. Needs SI_TEST_STORE_URL (tests/pg/pg_server.sh run); fails without it."""
import time
import unittest

from sitest import ApiTestCase, Tenant, psql, two_instances, unique_email

# Far below the cache's 10 s age limit: only the change notification can explain a refusal.
SEEN_WITHIN_S = 3.0


def seconds_until(fn):
    """Polls fn until it is true; the seconds it took, or None past SEEN_WITHIN_S."""
    start = time.monotonic()
    while time.monotonic() - start < SEEN_WITHIN_S:
        if fn():
            return time.monotonic() - start
        time.sleep(0.01)
    return None


class AuthCacheShared(ApiTestCase):
    def setUp(self):
        self.a, self.b = two_instances(self)
        self.t = Tenant(self.a)
        self.on_b = self.t.for_site(self.t.site_id)
        self.on_b.server = self.b

    def test_revoked_by_the_command_line_refused_by_both(self):
        for _ in range(3):  # used, so cached, on both
            self.assertStatus(self.t.query(), 200)
            self.assertStatus(self.on_b.query(), 200)
        self.t.revoke_key(self.t.key_id)
        for tenant in (self.t, self.on_b):
            took = seconds_until(lambda: tenant.query().status == 401)
            self.assertIsNotNone(took, "revoked key still accepted by %s" % tenant.server)
            self.assertAppError(tenant.query(), 401, "UNAUTHENTICATED")

    def test_settings_changed_on_one_instance(self):
        blocked = unique_email("x", "blocked.example")
        for _ in range(3):
            self.assertStatus(self.t.query(), 200)
            self.assertStatus(self.on_b.query(), 200)
        r = self.t.call("PATCH", "/invites/site-settings",
                        {"siteSettings": {"allowedEmailDomains": ["example.com"]}})
        self.assertStatus(r, 200)
        # The instance that made the change applies it on its very next call.
        r = self.t.bulk([blocked])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["invites"], [], r.json)
        # The other, once PostgreSQL has told it.
        took = seconds_until(lambda: self.on_b.bulk([unique_email("y", "blocked.example")])
                             .json["invites"] == [])
        self.assertIsNotNone(took, "the other instance kept the old settings")

    def test_trigger_covers_every_key_column_but_last_use(self):
        cols = psql(self.a.db, "SELECT string_agg(attname, ',' ORDER BY attname) FROM"
                    " pg_attribute WHERE attrelid = 'api_keys'::regclass AND attnum > 0"
                    " AND NOT attisdropped AND attname <> 'last_used_ms'")
        listed = psql(self.a.db, "SELECT string_agg(a.attname, ',' ORDER BY a.attname) FROM"
                      " pg_trigger t JOIN pg_attribute a ON a.attrelid = t.tgrelid"
                      " AND a.attnum = ANY(t.tgattr) WHERE t.tgname = 'api_keys_auth_changed'")
        self.assertEqual(listed, cols)
        self.assertNotIn("last_used_ms", listed)


if __name__ == "__main__":
    unittest.main()
