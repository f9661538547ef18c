"""Every error row of docs/API.md §4 against the real binary, plus the suite-wide promises: a unique
X-Wix-Request-Id on every answer, the exact error body shape, no 5xx, and no secret in the log."""

import unittest
import uuid

from sitest import (BODY_LIMIT, ROLE_ADMIN, ApiTestCase, Server, Tenant, unique_email,
                    wait_until)

BULK = "/invites/site-invite/bulk"


class ErrorsTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()
        try:
            cls.t = Tenant(cls.server, "Errco")
            cls.other = Tenant(cls.server, "Otherco")
        except BaseException:
            cls.server.close()
            raise
        cls.secrets = [cls.t.key, cls.other.key]  # every key text the server ever saw

    @classmethod
    def tearDownClass(cls):
        # The suite-wide promises hold for every answer the class saw, whatever tests ran and in
        # whatever order; a failure here fails the run (as an error of tearDownClass).
        try:
            cls().check_invariants()
        finally:
            cls.server.close()

    def body(self, email=None):
        return {"policyIds": [ROLE_ADMIN], "emails": [email or unique_email()]}

    def invite(self, t=None):
        r = (t or self.t).bulk([unique_email()])
        self.assertStatus(r, 200)
        return r.json["invites"][0]

    # ---- 400 -------------------------------------------------------------------------------
    def test_invalid_json(self):
        for raw in (b'{"emails": [', b"not json", b'{"emails": ["a@b.c"]} trailing',
                    b'{"policyIds": ["1000000000000000001"], "emails": ["\xff\xfe@x.com"]}',
                    b'{"policyIds": ["1000000000000000001"], "emails": ["\xc3@x.com"]}'):
            r = self.t.call("POST", BULK, raw=raw)
            self.assertAppError(r, 400, "INVALID_ARGUMENT", "INVALID_JSON")

    def test_validation_error_shape(self):
        r = self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN]})
        fv = self.assertValidation(r, "emails", "REQUIRED_FIELD")
        for v in fv:
            # Wix's fieldViolations entry: ruleName and data too (data {} when nothing to add).
            self.assertEqual(set(v), {"field", "description", "violatedRule", "ruleName",
                                      "data"}, v)
            self.assertTrue(v["description"], v)
            self.assertEqual(v["ruleName"], v["violatedRule"], v)
            self.assertEqual(v["data"], {}, v)
        self.assertValidation(self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN],
                                                         "emails": "a@b.com"}), "emails")
        self.assertValidation(self.t.call("POST", BULK, {"policyIds": [1], "emails": ["a@b.c"]}))
        # Valid JSON that is not an object: 400, as INVALID_ARGUMENT (reason INVALID_JSON) or as
        # a validationError.
        for raw in (b"[]", b'"text"', b"null"):
            r = self.t.call("POST", BULK, raw=raw)
            self.assertStatus(r, 400)
            self.assertErrorShape(r)

    def test_violation_data_names_the_bound(self):
        # A broken limit is in the violation's data, so no client parses the description.
        r = self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN],
                                       "emails": ["u%d@example.com" % i for i in range(1001)]})
        v = [v for v in self.assertValidation(r, "emails", "MAX_SIZE") if v["field"] == "emails"]
        self.assertEqual(v[0]["data"], {"max": 1000}, v)
        self.assertEqual(v[0]["ruleName"], "MAX_SIZE", v)
        r = self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN], "emails": [unique_email()],
                                       "invitePurpose": "x" * 1001})
        v = [v for v in self.assertValidation(r, "invitePurpose", "MAX")
             if v["field"] == "invitePurpose"]
        self.assertEqual(v[0]["data"], {"max": 1000}, v)
        # Several violations in one answer, each with its own data.
        r = self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN] * 21,
                                       "emails": ["u%d@example.com" % i for i in range(1001)]})
        fv = self.assertValidation(r, "policyIds", "MAX_SIZE")
        got = {v["field"]: v["data"] for v in fv}
        self.assertEqual(got.get("policyIds"), {"max": 20}, fv)
        self.assertEqual(got.get("emails"), {"max": 1000}, fv)

    def test_standard_codes_keep_the_reason(self):
        # docs/API.md §4: the standard code a Wix client checks, our cause in description and
        # data.reason, the message equal to the description.
        r = self.t.get(str(uuid.uuid4()))
        app = self.assertAppError(r, 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertEqual(app["description"], "No such invite in this site.")
        self.assertEqual(r.json["message"], app["description"])
        self.assertEqual(app["data"], {"reason": "INVITE_NOT_FOUND"})

    def test_email_domain_not_allowed(self):
        # §4's 400 applicationError row (issue 10): Create One outside the site's allow-list, on
        # a site of its own so the other tests' invites are not refused.
        t = self.t.for_site(self.t.add_site("Allow-listed"))
        r = t.call("PATCH", "/invites/site-settings", {"allowedEmailDomains": ["example.org"]})
        self.assertStatus(r, 200)
        r = t.call("POST", "/invites/site-invite",
                   {"email": unique_email(), "policyIds": [ROLE_ADMIN]})
        app = self.assertAppError(r, 400, "INVALID_ARGUMENT", "EMAIL_DOMAIN_NOT_ALLOWED")
        self.assertEqual(r.json["message"], app["description"])

    # ---- 401 -------------------------------------------------------------------------------
    def test_unauthenticated(self):
        self.assertAppError(self.t.call("POST", BULK, self.body(), key=False), 401,
                            "UNAUTHENTICATED")
        fake = "sik_" + uuid.uuid4().hex + uuid.uuid4().hex[:11]
        self.secrets.append(fake)
        self.assertAppError(self.t.call("POST", BULK, self.body(), key=fake), 401,
                            "UNAUTHENTICATED")
        self.assertAppError(self.t.call("POST", BULK, self.body(), key=""), 401,
                            "UNAUTHENTICATED")
        self.assertAppError(self.t.call("POST", BULK, self.body(), key="x" * 5000), 401,
                            "UNAUTHENTICATED")

    def test_bearer_accepted(self):
        self.assertStatus(self.t.call("POST", BULK, self.body(), key="Bearer " + self.t.key), 200)

    def test_revoked_key_stops(self):
        """At once on SQLite. On PostgreSQL serve caches the key it just used, and the command
        line's revoke reaches it as a change notification (docs/SECURITY.md, "The key cache"):
        a request may still pass for a few milliseconds, so it is waited for, within 2 s, far
        under the cache's 10 s age limit."""
        key_id, key = self.t.add_key()
        self.secrets.append(key)
        self.assertStatus(self.t.call("POST", BULK, self.body(), key=key), 200)
        self.t.revoke_key(key_id)
        if self.server.pg_db:
            wait_until(lambda: self.t.query(key=key).status == 401, timeout=2.0,
                       what="the revoked key refused")
        self.assertAppError(self.t.call("POST", BULK, self.body(), key=key), 401,
                            "UNAUTHENTICATED")
        self.assertStatus(self.t.call("POST", BULK, self.body()), 200)  # other keys still work

    # ---- 403 -------------------------------------------------------------------------------
    def test_missing_permission(self):
        _, key = self.t.add_key(["site-users.read"])
        self.secrets.append(key)
        self.assertAppError(self.t.call("POST", BULK, self.body(), key=key), 403,
                            "PERMISSION_DENIED")
        inv = self.invite()
        self.assertStatus(self.t.get(inv["id"], key=key), 200)  # the key itself is valid
        self.assertAppError(self.t.revoke(inv["id"], key=key), 403, "PERMISSION_DENIED")
        self.assertAppError(self.t.resend(inv["id"], key=key), 403, "PERMISSION_DENIED")
        _, sender = self.t.add_key(["site-users.send-invite"])
        self.secrets.append(sender)
        self.assertAppError(self.t.get(inv["id"], key=sender), 403, "PERMISSION_DENIED")
        self.assertAppError(self.t.revoke(inv["id"], key=sender), 403, "PERMISSION_DENIED")
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Pending")

    def test_foreign_and_missing_site_answer_alike(self):
        foreign = self.t.call("POST", BULK, self.body(), site=self.other.site_id)
        missing = self.t.call("POST", BULK, self.body(), site=str(uuid.uuid4()))
        malformed = self.t.call("POST", BULK, self.body(), site="not-a-site")
        absent = self.t.call("POST", BULK, self.body(), site=False)
        for r in (foreign, missing, malformed):
            self.assertAppError(r, 403, "PERMISSION_DENIED")
            self.assertEqual(r.json, foreign.json, "answers differ: %r vs %r" % (r, foreign))
        self.assertIn(absent.status, (400, 403), repr(absent))
        self.assertErrorShape(absent)

    # ---- 404 -------------------------------------------------------------------------------
    def test_invite_not_found(self):
        inv = self.invite()
        second = self.t.for_site(self.t.add_site("Second " + uuid.uuid4().hex[:6]))
        for iid in (inv["id"], str(uuid.uuid4()), "not-a-guid", "0" * 300):
            self.assertAppError(second.get(iid), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        for iid in (str(uuid.uuid4()), "not-a-guid"):
            self.assertAppError(self.t.get(iid), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertAppError(second.resend(inv["id"]), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertAppError(second.revoke(inv["id"]), 404, "NOT_FOUND", "INVITE_NOT_FOUND")
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Pending")

    def test_unknown_path(self):
        for path in ("/nope", "/invites/site-invite/a/b/c", "/invites/unknown"):
            self.assertAppError(self.t.call("GET", path), 404, "NOT_FOUND")

    # ---- 405 -------------------------------------------------------------------------------
    def test_method_not_allowed(self):
        r = self.t.call("GET", BULK)
        self.assertAppError(r, 405, "METHOD_NOT_ALLOWED")
        allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
        self.assertIn("POST", allow, repr(r.headers))
        self.assertNotIn("GET", allow)
        inv = self.invite()
        r = self.t.call("DELETE", "/invites/site-invite/" + inv["id"])
        self.assertAppError(r, 405, "METHOD_NOT_ALLOWED")
        allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
        self.assertTrue({"GET", "PATCH"} <= allow, repr(r.headers))
        self.assertEqual(self.t.get(inv["id"]).json["invite"]["status"], "Pending")

    # ---- 409 -------------------------------------------------------------------------------
    def test_already_exists(self):
        body = {"title": "Reviewer " + uuid.uuid4().hex[:6], "description": "Reviews"}
        first = self.t.call("POST", "/roles-management/roles", body)
        self.assertIn(first.status, (200, 201), repr(first))
        self.assertAppError(self.t.call("POST", "/roles-management/roles", body), 409,
                            "ALREADY_EXISTS")
        # Titles are per account: another account may use the same one.
        self.assertIn(self.other.call("POST", "/roles-management/roles", body).status, (200, 201))

    # ---- 413, 415 ----------------------------------------------------------------------------
    def test_payload_too_large(self):
        filler = "x" * (BODY_LIMIT + 1 - len('{"policyIds":["%s"],"emails":["a@b.co"],"p":""}'
                                             % ROLE_ADMIN))
        raw = ('{"policyIds":["%s"],"emails":["a@b.co"],"p":"%s"}' % (ROLE_ADMIN, filler)).encode()
        self.assertEqual(len(raw), BODY_LIMIT + 1)
        self.assertAppError(self.t.call("POST", BULK, raw=raw), 413, "PAYLOAD_TOO_LARGE")
        self.assertAppError(self.t.call("POST", BULK, raw=b"{" + b" " * (8 * BODY_LIMIT) + b"}"),
                            413, "PAYLOAD_TOO_LARGE")
        self.assertStatus(self.t.call("POST", BULK, self.body()), 200)  # still serving

    def test_unsupported_media_type(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            r = self.t.call("POST", BULK, self.body(), content_type=ctype)
            self.assertAppError(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertStatus(self.t.call("POST", BULK, self.body(), content_type=False), 200)
        self.assertStatus(self.t.call("POST", BULK, self.body(),
                                      content_type="application/json; charset=utf-8"), 200)

    # ---- 428, 429 ----------------------------------------------------------------------------
    def test_precondition_failed(self):
        inv = self.invite()
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        self.assertAppError(self.t.resend(inv["id"]), 428, "FAILED_PRECONDITION",
                            "INVITE_NOT_RESENDABLE")
        self.assertAppError(self.t.call("PATCH", "/invites/site-invite/" + inv["id"],
                                        {"staffId": str(uuid.uuid4())}), 428, "FAILED_PRECONDITION",
                            "INVITE_NOT_PENDING")

    def test_resource_exhausted(self):
        inv = self.invite()
        for _ in range(5):
            self.assertStatus(self.t.resend(inv["id"]), 200)
        r = self.t.resend(inv["id"])
        self.assertAppError(r, 429, "RESOURCE_EXHAUSTED")
        self.assertRegex(r.header("Retry-After") or "", r"^[1-9]\d*$")

    # ---- the invitee page leaks no token into the log ------------------------------------------
    def test_accept_pages(self):
        inv = self.invite()
        self.assertStatus(self.server.get_page(inv["acceptLink"]), 200)
        self.assertEqual(self.server.get_page(inv["acceptLink"][:-2] + "zz").status, 404)
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        self.assertEqual(self.server.get_page(inv["acceptLink"]).status, 410)

    # ---- suite-wide invariants ---------------------------------------------------------------
    def check_invariants(self):
        """Every answer so far: a unique X-Wix-Request-Id that the log has, no 5xx, JSON API
        answers, the error body shape, and no part of a key or accept token in the log."""
        responses = list(self.server.responses)
        ids = [r.header("X-Wix-Request-Id") for r in responses]
        missing = [r for r, i in zip(responses, ids) if not i]
        self.assertEqual(missing, [], "answers without X-Wix-Request-Id")
        self.assertEqual(len(set(ids)), len(ids), "X-Wix-Request-Id repeated")
        self.assertNo5xx(self.server)
        api = [r for r in responses if not r.path.startswith("/invite/")]
        for r in api:
            self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                            "API answer not JSON: %r %r" % (r, r.headers))
        api_errors = [r for r in api if r.status >= 400]
        for r in api_errors:
            self.assertErrorShape(r)
        if not ids:
            return responses, api_errors, set()
        # The request ID of an answer is in the log line for that request (docs/API.md §2); the line
        # may be written just after the answer, hence the wait.
        log = wait_until(lambda: (lambda text: text if ids[-1] in text else None)(
            self.server.log_text()), 5, what="request ID %s in the log" % ids[-1])
        self.assertIn(ids[0], log)
        for secret in self.secrets:
            tail = secret[4:] if secret.startswith("sik_") else secret
            for i in range(0, len(tail) - 11):
                self.assertNotIn(tail[i:i + 12], log, "part of an API key is in the log")
        tokens = {r.json["invites"][0]["acceptLink"].rsplit("/", 1)[1] for r in responses
                  if r.path == BULK and r.status == 200 and r.json["invites"]}
        for tok in tokens:
            for i in range(0, len(tok) - 11):
                self.assertNotIn(tok[i:i + 12], log, "part of an accept token is in the log")
        return responses, api_errors, tokens

    def test_invariants(self):
        """The invariants over enough traffic to mean something: this test makes its own (6
        invites, 36 errors of every kind) so it checks as much alone as after the others."""
        fake = "sik_" + uuid.uuid4().hex + uuid.uuid4().hex[:11]
        self.secrets.append(fake)
        for _ in range(6):
            self.invite()
        for _ in range(6):
            self.t.call("POST", BULK, raw=b"not json")
            self.t.call("POST", BULK, {"policyIds": [ROLE_ADMIN]})
            self.t.call("POST", BULK, self.body(), key=fake)
            self.other.call("GET", "/invites/site-invite/%s" % uuid.uuid4(), site=self.t.site_id)
            self.t.get(str(uuid.uuid4()))
            self.t.call("GET", BULK)
        responses, api_errors, tokens = self.check_invariants()
        self.assertGreater(len(responses), 40)
        self.assertGreater(len(api_errors), 30)
        self.assertGreater(len(tokens), 5)

if __name__ == "__main__":
    unittest.main()
