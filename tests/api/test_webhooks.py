"""Webhooks against the real binary and a real receiver on 127.0.0.1 that checks every signature
with its own HMAC code (tests/support/webhook_receiver.py): the endpoint calls, permissions and
tenancy, every event type signed, retries after 500s and after a timeout, the order per invite,
auto-disable, secret rotation, a slow receiver not slowing creates, and the server-side request
forgery refusals, at registration and at delivery for a name that moved to loopback
(SITEINVITES_TEST_HOSTS) (docs/WEBHOOKS.md). Runs again on PostgreSQL (tests/pg), with two servers on one
database delivering each event exactly once."""

import os
import re
import socket
import subprocess
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from sitest import (ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER, ApiTestCase, Server, Tenant, binary,
                    unique_email, wait_until)
from webhook_receiver import Receiver, verify

HOOKS = "/invites/webhooks"
ALL_EVENTS = ["invite.created", "invite.resent", "invite.updated", "invite.accepted",
              "invite.declined", "invite.revoked", "invite.expired", "invite.delivery_failed",
              "contributor.removed", "contributor.role_changed"]
# Short retries and timeouts, and http:// to the loopback receiver.
FAST = ["--allow-http-webhooks", "--webhook-retry-ms", "200", "--webhook-timeout-seconds", "1",
        "--webhook-connect-seconds", "1"]
STAFF = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
ON_PG = os.environ.get("SI_TEST_STORE_URL", "").startswith("postgres")


def token_of(invite):
    return invite["acceptLink"].rsplit("/", 1)[1]


class WebhookCase(ApiTestCase):
    def hook(self, t, url, events=None, **extra):
        body = {"url": url, "events": events or ALL_EVENTS}
        body.update(extra)
        r = t.call("POST", HOOKS, body)
        self.assertStatus(r, 200)
        return r.json["webhook"]

    def invite(self, t, email=None):
        r = t.bulk([email or unique_email()])
        self.assertStatus(r, 200)
        return r.json["invites"][0]

    def assertSigned(self, got, secret):
        for r in got:
            self.assertTrue(verify(secret, r.headers, r.body), "bad signature on %s" % r.type)
            self.assertTrue(r.headers["webhook-id"].startswith("msg_"))
            self.assertLess(abs(int(r.headers["webhook-timestamp"]) - time.time()), 60)


class Endpoints(WebhookCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=FAST)
        cls.server.start()
        cls.t = Tenant(cls.server)
        cls.rx = Receiver().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.rx.__exit__(None, None, None)
        cls.closeServerNo5xx(cls.server)

    def test_create_list_get_patch_delete(self):
        w = self.hook(self.t, self.rx.url("/crud"), ["invite.created"], description="CRM")
        self.assertRegex(w["secret"], r"^whsec_[A-Za-z0-9+/]{43}=$")
        self.assertEqual(w["events"], ["invite.created"])
        self.assertTrue(w["enabled"])
        self.assertEqual(w["description"], "CRM")
        listed = self.t.call("GET", HOOKS).json["webhooks"]
        self.assertIn(w["id"], [x["id"] for x in listed])
        self.assertTrue(all("secret" not in x for x in listed), "the secret is shown once")
        got = self.t.call("GET", HOOKS + "/" + w["id"])
        self.assertStatus(got, 200)
        self.assertNotIn("secret", got.json["webhook"])
        r = self.t.call("PATCH", HOOKS + "/" + w["id"],
                        {"events": ["invite.accepted", "invite.revoked"], "enabled": False})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["webhook"]["events"], ["invite.accepted", "invite.revoked"])
        self.assertFalse(r.json["webhook"]["enabled"])
        self.assertNotIn("secret", r.json["webhook"])
        self.assertStatus(self.t.call("DELETE", HOOKS + "/" + w["id"]), 200)
        self.assertAppError(self.t.call("GET", HOOKS + "/" + w["id"]), 404, "NOT_FOUND")
        self.assertAppError(self.t.call("DELETE", HOOKS + "/" + w["id"]), 404, "NOT_FOUND")

    def test_validation(self):
        bad = [{"events": ["invite.created"]}, {"url": self.rx.url()},
               {"url": self.rx.url(), "events": []},
               {"url": self.rx.url(), "events": ["invite.nope"]},
               {"url": self.rx.url(), "events": ["webhook.test"]},
               {"url": "ftp://example.com/x", "events": ["invite.created"]},
               {"url": self.rx.url(), "events": ["invite.created"], "description": 5}]
        for body in bad:
            r = self.t.call("POST", HOOKS, body)
            self.assertEqual(r.status, 400, repr((body, r)))
            self.assertErrorShape(r)

    def test_permissions_and_tenancy(self):
        w = self.hook(self.t, self.rx.url("/perm"), ["invite.created"])
        _, read_key = self.t.add_key(["site-users.read"])
        self.assertStatus(self.t.call("GET", HOOKS, key=read_key), 200)
        self.assertStatus(self.t.call("GET", HOOKS + "/" + w["id"] + "/deliveries",
                                      key=read_key), 200)
        for method, path, body in (("POST", HOOKS, {"url": self.rx.url(), "events": ALL_EVENTS}),
                                   ("PATCH", HOOKS + "/" + w["id"], {"enabled": False}),
                                   ("DELETE", HOOKS + "/" + w["id"], None),
                                   ("POST", HOOKS + "/" + w["id"] + "/test", None)):
            self.assertAppError(self.t.call(method, path, body, key=read_key), 403,
                                "PERMISSION_DENIED")
        other = Tenant(self.server, name="Other")
        for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test"),
                             ("GET", "/deliveries")):
            r = other.call(method, HOOKS + "/" + w["id"] + path, {} if method == "PATCH" else None)
            self.assertAppError(r, 404, "NOT_FOUND")
        self.assertNotIn(w["id"], str(other.call("GET", HOOKS).json))
        self.assertStatus(self.t.call("GET", HOOKS + "/" + w["id"]), 200)

    def test_every_event_signed_and_deliveries_listed(self):
        t = Tenant(self.server, name="Events")
        w = self.hook(t, self.rx.url("/all"))
        a = self.invite(t)
        self.assertStatus(t.resend(a["id"]), 200)
        self.assertStatus(t.call("PATCH", "/invites/site-invite/" + a["id"],
                                 {"policyIds": [ROLE_BLOG_WRITER], "staffId": STAFF}), 200)
        self.assertStatus(t.revoke(a["id"]), 200)
        b, c = self.invite(t), self.invite(t)
        self.assertStatus(self.server.request("POST", "/invites/site-invite/accept",
                                              {"inviteToken": token_of(b)}), 200)
        self.assertStatus(self.server.request("POST", "/invites/site-invite/decline",
                                              {"inviteToken": token_of(c)}), 200)
        self.assertStatus(t.call("POST", HOOKS + "/" + w["id"] + "/test"), 200)
        want = {"invite.created", "invite.resent", "invite.updated", "invite.revoked",
                "invite.accepted", "invite.declined", "webhook.test"}
        got = self.rx.wait_for(lambda g: want <= {r.type for r in g if r.path == "/all"})
        got = [r for r in got if r.path == "/all"]
        self.assertSigned(got, w["secret"])
        by_type = {r.type: r.json for r in got}
        self.assertEqual(by_type["invite.revoked"]["data"]["id"], a["id"])
        self.assertEqual(by_type["invite.revoked"]["data"]["status"], "Deleted")
        self.assertEqual(by_type["invite.accepted"]["data"]["status"], "Used")
        self.assertEqual(by_type["invite.declined"]["data"]["id"], c["id"])
        self.assertEqual(by_type["invite.updated"]["data"]["staffId"], STAFF)
        for r in got:
            self.assertNotIn("acceptLink", r.json["data"], "a stored payload holds no credential")
            self.assertRegex(r.json["timestamp"], r"^\d{4}-\d\d-\d\dT")
        # Every message has its own ID; the deliveries list shows them all, Delivered.
        self.assertEqual(len({r.headers["webhook-id"] for r in got}), len(got))
        wait_until(lambda: all(d["status"] == "Delivered" for d in
                               t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json[
                                   "deliveries"]), what="deliveries marked Delivered")
        page = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries?limit=3")
        self.assertStatus(page, 200)
        self.assertEqual(len(page.json["deliveries"]), 3)
        self.assertTrue(page.json["pagingMetadata"]["hasNext"])
        rest = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries?cursor=" +
                      page.json["pagingMetadata"]["cursors"]["next"])
        ids = [d["id"] for d in page.json["deliveries"] + rest.json["deliveries"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(len(ids), len(got))
        d = rest.json["deliveries"][-1]
        self.assertEqual((d["event"], d["attempts"], d["statusCode"]), ("invite.created", 1, 200))

    def test_only_subscribed_events_and_enabled_endpoints(self):
        t = Tenant(self.server, name="Subs")
        w = self.hook(t, self.rx.url("/subs"), ["invite.revoked"])
        off = self.hook(t, self.rx.url("/off"), ALL_EVENTS)
        self.assertStatus(t.call("PATCH", HOOKS + "/" + off["id"], {"enabled": False}), 200)
        a = self.invite(t)
        self.assertStatus(t.revoke(a["id"]), 200)
        got = self.rx.wait_for(lambda g: any(r.path == "/subs" for r in g))
        self.assertEqual([r.type for r in got if r.path == "/subs"], ["invite.revoked"])
        self.assertSigned([r for r in got if r.path == "/subs"], w["secret"])
        self.assertEqual(self.rx.received("/off"), [])

    def test_rolled_back_changes_send_nothing(self):
        """The event is written in the change's transaction: a dry run (the same transaction,
        rolled back) and a refused create queue nothing; the real create after them is the one
        delivery."""
        t = Tenant(self.server, name="Rollback")
        w = self.hook(t, self.rx.url("/rb"), ["invite.created"])
        dry = t.bulk([unique_email()], dryRun=True)
        self.assertStatus(dry, 200)
        self.assertNotIn("id", dry.json["invites"][0])
        bad = t.call("POST", "/invites/site-invite", {"email": "not-an-address",
                                                      "policyIds": [ROLE_BLOG_WRITER]})
        self.assertStatus(bad, 400)
        real = self.invite(t)
        self.rx.wait_for(lambda g: any(r.path == "/rb" for r in g))
        time.sleep(1.5)  # a stray event would have been delivered by now
        got = self.rx.received("/rb")
        self.assertEqual([r.json["data"]["id"] for r in got], [real["id"]])
        ds = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]
        self.assertEqual(len(ds), 1)

    def test_retries_after_500_with_the_same_message(self):
        t = Tenant(self.server, name="Retry")
        w = self.hook(t, self.rx.url("/flaky"), ["invite.created"])
        self.rx.fail["/flaky"] = 2
        self.invite(t)
        got = self.rx.wait_for(lambda g: len([r for r in g if r.path == "/flaky"]) >= 3)
        got = [r for r in got if r.path == "/flaky"]
        self.assertEqual(len({r.headers["webhook-id"] for r in got}), 1, "one message, retried")
        self.assertSigned(got, w["secret"])
        # Backoff: the waits grow (200 ms, then about 800 ms, +-20 %).
        self.assertGreater(got[2].when - got[1].when, got[1].when - got[0].when)
        wait_until(lambda: t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json[
            "deliveries"][0]["status"] == "Delivered", what="Delivered after retries")
        d = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"][0]
        self.assertEqual((d["attempts"], d["statusCode"]), (3, 200))

    def test_retry_after_a_timeout(self):
        t = Tenant(self.server, name="Timeout")
        w = self.hook(t, self.rx.url("/sleepy"), ["invite.created"])
        self.rx.sleep_once["/sleepy"] = 2.5  # past the 1 s timeout: the first try fails
        self.invite(t)
        got = self.rx.wait_for(lambda g: len([r for r in g if r.path == "/sleepy"]) >= 2)
        got = [r for r in got if r.path == "/sleepy"]
        self.assertEqual(got[0].headers["webhook-id"], got[1].headers["webhook-id"])
        wait_until(lambda: t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json[
            "deliveries"][0]["attempts"] >= 2, what="a second try recorded")
        first = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"][0]
        self.assertEqual(first["status"], "Delivered")

    def test_order_per_invite(self):
        t = Tenant(self.server, name="Order")
        self.hook(t, self.rx.url("/order"), ALL_EVENTS)
        self.rx.fail["/order"] = 3  # the first event is retried while the next ones wait
        invites = [self.invite(t) for _ in range(3)]
        for inv in invites:
            self.assertStatus(t.resend(inv["id"]), 200)
            self.assertStatus(t.revoke(inv["id"]), 200)
        self.rx.wait_for(lambda g: len([r for r in g if r.path == "/order" and
                                        r.type == "invite.revoked"]) == 3, timeout=30)
        ok = [r for r in self.rx.received("/order")]
        # Only answered (200) tries count as delivered: the 500s came first, in order too.
        for inv in invites:
            seq = [r.type for r in ok if r.json["data"]["id"] == inv["id"]]
            dedup = [x for i, x in enumerate(seq) if i == 0 or seq[i - 1] != x]
            self.assertEqual(dedup, ["invite.created", "invite.resent", "invite.revoked"], seq)

    def test_rotation_signs_with_both_secrets(self):
        t = Tenant(self.server, name="Rotate")
        w = self.hook(t, self.rx.url("/rot"), ["invite.created"])
        r = t.call("PATCH", HOOKS + "/" + w["id"], {"rotateSecret": True})
        self.assertStatus(r, 200)
        new = r.json["webhook"]["secret"]
        self.assertNotEqual(new, w["secret"])
        self.invite(t)
        got = self.rx.wait_for(lambda g: any(x.path == "/rot" for x in g))
        msg = [x for x in got if x.path == "/rot"][0]
        self.assertEqual(len(msg.headers["webhook-signature"].split(" ")), 2)
        self.assertTrue(verify(new, msg.headers, msg.body))
        self.assertTrue(verify(w["secret"], msg.headers, msg.body))
        self.assertFalse(verify("whsec_" + "A" * 43 + "=", msg.headers, msg.body))

    def test_first_delivery_is_prompt(self):
        """The delivery threads sleep until the store rings after an event's commit (the slow
        poll is 1 s): an invite's event reaches the receiver well inside that, every time."""
        t = Tenant(self.server, name="Prompt")
        self.hook(t, self.rx.url("/prompt"), ["invite.created"])
        time.sleep(1.5)  # every thread back asleep on its slow poll
        lat = []
        for i in range(5):
            start = time.time()
            inv = self.invite(t)
            got = self.rx.wait_for(lambda g: any(r.path == "/prompt" and
                                                 r.json["data"]["id"] == inv["id"] for r in g))
            lat.append([r.when for r in got if r.path == "/prompt" and
                        r.json["data"]["id"] == inv["id"]][0] - start)
            time.sleep(1.2)
        lat.sort()
        print("\nfirst-delivery latency (create sent to receiver got it): median %.3f s, "
              "max %.3f s" % (lat[2], lat[4]))
        self.assertLess(lat[2], 0.3, lat)

    def test_metrics(self):
        t = Tenant(self.server, name="Metrics")
        self.hook(t, self.rx.url("/metrics"), ["invite.created"])
        self.invite(t)
        self.rx.wait_for(lambda g: any(r.path == "/metrics" for r in g))
        delivered = re.compile(r'^siteinvites_webhook_deliveries\{event="invite.created",'
                               r'outcome="delivered"\} [1-9]', re.M)
        wait_until(lambda: delivered.search(self.server.request("GET", "/metrics").body.decode()),
                   what="a delivered invite.created counted")
        text = self.server.request("GET", "/metrics").body.decode()
        self.assertRegex(text, r"(?m)^siteinvites_webhook_queue_depth \d+$")
        self.assertRegex(text, r"(?m)^siteinvites_webhook_endpoints_disabled \d+$")


class ContributorsAndMail(WebhookCase):
    def test_contributor_role_changed_and_removed(self):
        with Receiver() as rx, Server(extra_args=FAST) as server:
            t = Tenant(server)
            w = self.hook(t, rx.url("/people"), ["contributor.role_changed",
                                                 "contributor.removed", "invite.accepted"])
            inv = self.invite(t)
            r = server.request("POST", "/invites/site-invite/accept", {"inviteToken": token_of(inv)})
            self.assertStatus(r, 200)
            account = rx.wait_for(lambda g: len(g) >= 1)[0].json["data"]["acceptedByAccountId"]
            r = t.call("PUT", "/roles-management/contributor/change/role",
                       {"accountId": account, "newRoles": [{"roleId": ROLE_BLOG_EDITOR}]})
            self.assertStatus(r, 200)
            r = t.call("POST", "/roles-management/contributor/remove", {"accountId": account})
            self.assertStatus(r, 200)
            got = rx.wait_for(lambda g: len(g) >= 3)
            self.assertEqual([x.type for x in got], ["invite.accepted",
                                                     "contributor.role_changed",
                                                     "contributor.removed"])
            self.assertSigned(got, w["secret"])
            changed = got[1].json["data"]
            self.assertEqual(changed["accountId"], account)
            self.assertEqual([a["policy"]["policyId"] for a in changed["metaData"]["assignments"]],
                             [ROLE_BLOG_EDITOR])
            # removed shows the contributor as it was just before (read in the delete's
            # transaction), not only its IDs.
            removed = got[2].json["data"]
            self.assertEqual(removed["accountId"], account)
            self.assertEqual(removed["siteinvites"]["inviteId"], inv["id"])
            self.assertEqual([a["policy"]["policyId"] for a in removed["metaData"]["assignments"]],
                             [ROLE_BLOG_EDITOR])
            self.assertTrue(removed["metaData"]["assignments"][0]["policy"]["title"])
            # A refused change writes no event.
            r = t.call("POST", "/roles-management/contributor/remove", {"accountId": account})
            self.assertEqual(r.status, 404)
            r = t.call("PUT", "/roles-management/contributor/change/role",
                       {"accountId": account, "newRoles": [{"roleId": ROLE_BLOG_EDITOR}]})
            self.assertEqual(r.status, 404)
            # ... and queues no delivery: still the three above.
            ds = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]
            self.assertEqual(len(ds), 3)

    def test_delivery_failed_when_the_outbox_gives_up(self):
        with Receiver() as rx, Server(extra_args=FAST + ["--mail-max-attempts", "1"]) as server:
            t = Tenant(server)
            w = self.hook(t, rx.url("/mail"), ["invite.delivery_failed"])
            # The Maildir's new/ replaced by a file: every delivery fails, and one try is all.
            new = os.path.join(server.mail_dir, "new")
            os.makedirs(server.mail_dir, exist_ok=True)
            if os.path.isdir(new):
                os.rename(new, new + ".away")
            with open(new, "w") as f:
                f.write("not a folder")
            inv = self.invite(t)
            got = rx.wait_for(lambda g: len(g) >= 1, timeout=30)
            self.assertEqual(got[0].type, "invite.delivery_failed")
            self.assertEqual(got[0].json["data"]["id"], inv["id"])
            self.assertEqual(got[0].json["data"]["delivery"]["status"], "Failed")
            self.assertSigned(got, w["secret"])


class Expiry(WebhookCase):
    def test_expired_event_from_the_sweeper(self):
        with Receiver() as rx, Server(lifetime_s=2, extra_args=FAST) as server:
            t = Tenant(server)
            w = self.hook(t, rx.url("/exp"), ["invite.expired"])
            inv = self.invite(t)
            got = rx.wait_for(lambda g: any(r.type == "invite.expired" for r in g), timeout=30)
            self.assertSigned(got, w["secret"])
            self.assertEqual(got[0].json["data"]["id"], inv["id"])
            self.assertEqual(got[0].json["data"]["status"], "Expired")

    def test_expired_event_through_the_injectable_clock(self):
        """A real 30-day lifetime, the server's clock moved past it (--test-clock-file): the
        sweep stores Expired and the event goes out, stamped with the moved clock."""
        with Receiver() as rx, Server(test_clock=True, extra_args=FAST) as server:
            t = Tenant(server)
            w = self.hook(t, rx.url("/exp30"), ["invite.expired"])
            inv = self.invite(t)
            time.sleep(1.5)
            self.assertEqual(rx.received("/exp30"), [])  # nothing before the clock moves
            server.advance_clock(31 * 86400)
            got = rx.wait_for(lambda g: any(r.path == "/exp30" for r in g), timeout=30)
            msg = [r for r in got if r.path == "/exp30"][0]
            self.assertTrue(verify(w["secret"], msg.headers, msg.body))
            self.assertEqual((msg.type, msg.json["data"]["id"], msg.json["data"]["status"]),
                             ("invite.expired", inv["id"], "Expired"))
            # The payload's time is the service clock's: a month ahead of the wall clock.
            self.assertGreater(int(msg.headers["webhook-timestamp"]), time.time() + 30 * 86400)


class AutoDisable(WebhookCase):
    def test_disabled_after_failing_for_the_setting(self):
        with Receiver() as rx, Server(extra_args=FAST + ["--webhook-disable-seconds",
                                                          "1"]) as server:
            t = Tenant(server)
            w = self.hook(t, rx.url("/dead"), ["invite.created"])
            rx.fail["/dead"] = 10 ** 6
            self.invite(t)
            wait_until(lambda: not t.call("GET", HOOKS + "/" + w["id"]).json["webhook"][
                "enabled"], timeout=20, what="the endpoint disabled")
            got = t.call("GET", HOOKS + "/" + w["id"]).json["webhook"]
            self.assertIn("HTTP 500", got["disabledReason"])
            n = len(rx.received("/dead"))
            first = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]
            self.assertEqual(len(first), 1)
            self.assertEqual(first[0]["status"], "Queued")  # kept for a re-enable
            self.invite(t)  # a disabled endpoint is subscribed to nothing: no new delivery
            now = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]
            self.assertEqual([d["id"] for d in now], [first[0]["id"]])
            # Re-enabling clears the reason and sends what waited.
            rx.fail["/dead"] = 0
            r = t.call("PATCH", HOOKS + "/" + w["id"], {"enabled": True})
            self.assertStatus(r, 200)
            self.assertNotIn("disabledReason", r.json["webhook"])
            rx.wait_for(lambda g: len([x for x in g if x.path == "/dead"]) > n)
            text = server.request("GET", "/metrics").body.decode()
            self.assertIn("siteinvites_webhook_endpoints_disabled 0", text)


class SlowReceiver(WebhookCase):
    """A receiver that sleeps 30 s must not slow the API: creates are timed with no webhook, with
    one pointed at a receiver that answers at once, and with one pointed at the sleeper. Rates
    on a shared 2-core machine are noisy, so the bounds are generous; the sharp check is each
    create's latency: one waiting on the sleeper would take the full delivery timeout (10 s)."""

    N = 100

    def rate(self, t):
        for _ in range(5):  # warm-up: connections, statement caches
            t.bulk([unique_email()])

        def timed(_):
            start = time.monotonic()
            r = t.bulk([unique_email()])
            return r, time.monotonic() - start
        start = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(timed, range(self.N)))
        for r, _ in got:
            self.assertStatus(r, 200)
        return self.N / (time.monotonic() - start), max(d for _, d in got)

    def test_sleeping_receiver_does_not_slow_creates(self):
        with Receiver() as rx, Server(extra_args=["--allow-http-webhooks"]) as server:
            rx.sleep["/sleep"] = 30
            plain, fast, slow = (Tenant(server, name=n) for n in ("Plain", "Fast", "Slow"))
            self.hook(fast, rx.url("/fast"), ["invite.created"])
            self.hook(slow, rx.url("/sleep"), ["invite.created"])
            base, _ = self.rate(plain)
            answered, _ = self.rate(fast)
            sleeping, worst = self.rate(slow)
            print("\ncreates/s: %.0f without webhooks, %.0f with a receiver answering at once, "
                  "%.0f with one sleeping 30 s (slowest create %.3f s)"
                  % (base, answered, sleeping, worst))
            self.assertLess(worst, 5.0, "a create waited for the sleeping receiver")
            self.assertGreater(sleeping, answered * 0.25, "creates slowed by a dead receiver")
            self.assertGreater(sleeping, base * 0.2, "creates slowed by a dead receiver")


class Ssrf(WebhookCase):
    """Without --allow-http-webhooks: only https:// to public addresses."""

    REFUSED = ["https://127.0.0.1/h", "https://127.1.2.3/h", "https://localhost/h",
               "https://10.0.0.1/h", "https://172.16.5.4/h", "https://192.168.1.1/h",
               "https://169.254.169.254/latest/meta-data", "https://169.254.10.10/h",
               "https://100.64.0.1/h", "https://0.0.0.0/h", "https://224.0.0.1/h",
               "https://[::1]/h", "https://[fe80::1]/h", "https://[fc00::1]/h",
               "https://[fd00:ec2::254]/h", "https://[::ffff:127.0.0.1]/h",
               "https://[::ffff:10.0.0.1]/h", "https://[::]/h", "https://[ff02::1]/h"]

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.t = Tenant(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.closeServerNo5xx(cls.server)

    def test_every_refused_address_class(self):
        for url in self.REFUSED:
            r = self.t.call("POST", HOOKS, {"url": url, "events": ["invite.created"]})
            self.assertValidation(r, "url")
        self.assertEqual(self.t.call("GET", HOOKS).json["webhooks"], [])

    def test_http_refused_without_the_switch(self):
        r = self.t.call("POST", HOOKS, {"url": "http://93.184.216.34/h",
                                        "events": ["invite.created"]})
        self.assertValidation(r, "url")

    def test_user_info_refused(self):
        r = self.t.call("POST", HOOKS, {"url": "https://example.com@127.0.0.1/",
                                        "events": ["invite.created"]})
        self.assertValidation(r, "url")

    def test_patch_to_a_refused_address(self):
        # A public literal needs no DNS: registration accepts it (no connection is made).
        r = self.t.call("POST", HOOKS, {"url": "https://93.184.216.34/h",
                                        "events": ["invite.created"]})
        self.assertStatus(r, 200)
        w = r.json["webhook"]
        r = self.t.call("PATCH", HOOKS + "/" + w["id"], {"url": "https://localhost/h"})
        self.assertValidation(r, "url")
        self.assertEqual(self.t.call("GET", HOOKS + "/" + w["id"]).json["webhook"]["url"],
                         "https://93.184.216.34/h")


class ExampleReceiver(WebhookCase):
    """examples/webhook_receiver.c, the C receiver users start from, verifies real deliveries
    and refuses them under another secret."""

    def start_example(self, secret, port):
        exe = os.path.join(os.path.dirname(os.environ["SI_BIN"]), "example_webhook_receiver")
        proc = subprocess.Popen([exe, str(port)], env=dict(os.environ, SI_WEBHOOK_SECRET=secret),
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        self.assertEqual(proc.stdout.readline().strip(), "listening %d" % port)
        return proc

    def test_example_verifies_and_refuses(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with Server(extra_args=FAST) as server:
            t = Tenant(server)
            w = self.hook(t, "http://127.0.0.1:%d/" % port, ["invite.created"])
            proc = self.start_example(w["secret"], port)
            self.assertStatus(t.call("POST", HOOKS + "/" + w["id"] + "/test"), 200)
            line = proc.stdout.readline().split()
            self.assertEqual(line[0], "webhook.test")
            self.assertTrue(line[1].startswith("msg_"))
            wait_until(lambda: t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json[
                "deliveries"][0].get("statusCode") == 204, what="204 from the example")
            proc.terminate()
            proc.wait()
            # Another secret: the example answers 401 and the server records a failed try.
            other = self.start_example("whsec_" + "QUFB" * 10 + "QUE=", port)
            self.assertStatus(t.call("POST", HOOKS + "/" + w["id"] + "/test"), 200)
            wait_until(lambda: t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json[
                "deliveries"][0].get("statusCode") == 401, what="401 from the example")
            other.terminate()


@unittest.skipUnless(ON_PG, "two servers share one database on PostgreSQL only")
class TwoServers(WebhookCase):
    def test_each_event_delivered_once(self):
        with Receiver() as rx, Server(extra_args=FAST) as one:
            two = Server(extra_args=FAST)
            two.db, two.secret_file = one.db, one.secret_file
            two.pg_db = None  # the first server owns (and drops) the database
            with two:
                t = Tenant(one)
                w = self.hook(t, rx.url("/two"), ["invite.created"])
                emails = [unique_email() for _ in range(40)]
                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(lambda e: t.bulk([e]), emails))
                t2 = Tenant.__new__(Tenant)
                t2.__dict__.update(t.__dict__)
                t2.server = two
                for e in (unique_email() for _ in range(20)):
                    self.assertStatus(t2.bulk([e]), 200)
                rx.wait_for(lambda g: len(g) >= 60, timeout=30)

                def tries():
                    page = t.call("GET", HOOKS + "/" + w["id"] + "/deliveries?limit=100").json
                    return [d for d in page["deliveries"] if d["status"] == "Delivered"]
                # Each server records its own try: 60 Delivered rows of one try each means no
                # delivery was sent by both (the receiver answered every try with 200).
                wait_until(lambda: len(tries()) == 60, what="60 deliveries recorded")
                self.assertEqual(sum(d["attempts"] for d in tries()), 60)
                got = rx.received("/two")
                self.assertEqual(len(got), 60)
                self.assertEqual(len({r.headers["webhook-id"] for r in got}), 60)
                self.assertSigned(got, w["secret"])


class DeliveryTimeSsrf(WebhookCase):
    """A name checked public at registration that resolves to loopback at delivery is refused by
    the worker, and the worker connects only to the address it checked. Names resolve from the
    tests-only SITEINVITES_TEST_HOSTS map (common/resolve.h)."""
    HOSTS = "SITEINVITES_TEST_HOSTS"

    def deliveries(self, t, w):
        return t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]

    def test_name_moved_to_loopback_is_refused_at_delivery(self):
        args = ["--webhook-retry-ms", "200", "--webhook-give-up-seconds", "1",
                "--webhook-connect-seconds", "1", "--webhook-timeout-seconds", "1"]
        with Receiver() as rx, Server(extra_args=args,
                                      extra_env={self.HOSTS: "hooks.test=93.184.216.34"}) as s:
            url = "https://hooks.test:%d/moved" % rx.httpd.server_address[1]
            t = Tenant(s)
            w = self.hook(t, url, ["invite.created"])  # public at registration: accepted
            s.extra_env[self.HOSTS] = "hooks.test=127.0.0.1"  # the DNS answer changes
            s.restart()
            self.invite(t)
            got = wait_until(lambda: (lambda d: d if d and d[0]["status"] == "Failed" else None)(
                self.deliveries(t, w)), 20, what="the delivery given up")
            self.assertEqual(got[0]["event"], "invite.created")
            self.assertGreaterEqual(got[0]["attempts"], 1)
            self.assertEqual(got[0]["error"],
                             "refused: the host resolves to a loopback address (127.0.0.1)")
            self.assertNotIn("statusCode", got[0])
            self.assertEqual(rx.received(), [], "nothing may reach the loopback receiver")
            self.assertIn("for tests only", s.log_text())

    def test_worker_connects_to_the_checked_address(self):
        # pin.test resolves nowhere but in the map: a delivery that arrives was sent to the
        # address the worker checked (CURLOPT_RESOLVE), not to a lookup of curl's own.
        with Receiver() as rx, Server(extra_args=FAST,
                                      extra_env={self.HOSTS: "pin.test=127.0.0.1"}) as s:
            t = Tenant(s)
            w = self.hook(t, "http://pin.test:%d/pinned" % rx.httpd.server_address[1],
                          ["invite.created"])
            inv = self.invite(t)
            got = rx.wait_for(lambda g: g, what="the pinned delivery")
            self.assertEqual(got[0].json["data"]["id"], inv["id"])
            self.assertEqual(got[0].headers["host"], "pin.test:%d" % rx.httpd.server_address[1])
            self.assertSigned(got, w["secret"])

    def test_the_map_needs_the_test_flag(self):
        env = {k: v for k, v in os.environ.items() if k != "SITEINVITES_TESTS"}
        env[self.HOSTS] = "hooks.test=127.0.0.1"
        with Server() as s:  # only for its folder and database
            r = subprocess.run(s.argv(), env=env, capture_output=True, text=True, timeout=20,
                               stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("SITEINVITES_TEST_HOSTS is for tests only", r.stderr)
        self.assertEqual(r.stdout, "")


def make_tls_files(folder, name):
    """A CA and a server certificate for name and 127.0.0.1 signed by it, with the openssl CLI;
    returns (ca.pem, cert.pem, key.pem)."""
    ca_key, ca, key, csr, cert, ext = (os.path.join(folder, f) for f in (
        "ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "san.ext"))

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=siteinvites test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,IP:127.0.0.1\n" % name)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return ca, cert, key


class HttpsDelivery(WebhookCase):
    """Deliveries over real TLS to a receiver on 127.0.0.1 whose certificate is signed by a CA
    the test makes: refused without --webhook-ca-file, delivered and signed with it."""

    def test_https_receiver_trusted_through_the_ca_file(self):
        with Server(extra_args=FAST) as plain:  # its folder holds the test's certificates
            ca, cert, key = make_tls_files(plain.dir, "tls.test")
            hosts = {"SITEINVITES_TEST_HOSTS": "tls.test=127.0.0.1"}
            with Receiver(tls=(cert, key)) as rx:
                url = rx.url("/tls", host="tls.test")
                # The system store alone does not know the test's CA: the try fails.
                plain.extra_env.update(hosts)
                plain.restart()
                t = Tenant(plain)
                w = self.hook(t, url, ["invite.created"])
                self.invite(t)
                got = wait_until(lambda: (lambda d: d if d and "error" in d[0] else None)(
                    t.call("GET", HOOKS + "/" + w["id"] + "/deliveries").json["deliveries"]),
                    20, what="a failed TLS try")
                self.assertRegex(got[0]["error"], r"(?i)certificate|SSL")
                self.assertEqual(rx.received(), [])
                with Server(extra_args=FAST + ["--webhook-ca-file", ca], extra_env=hosts) as s:
                    t2 = Tenant(s)
                    w2 = self.hook(t2, url, ["invite.created"])
                    inv = self.invite(t2)
                    got = rx.wait_for(lambda g: [r for r in g if r.json["data"]["id"] ==
                                                 inv["id"]], what="the HTTPS delivery")
                    self.assertSigned([r for r in got if r.json["data"]["id"] == inv["id"]],
                                      w2["secret"])
                    wait_until(lambda: t2.call("GET", HOOKS + "/" + w2["id"] + "/deliveries")
                               .json["deliveries"][0]["status"] == "Delivered",
                               what="the delivery marked Delivered")

    def test_a_ca_file_that_is_not_pem_refuses_the_start(self):
        with Server() as s:
            bad = os.path.join(s.dir, "not.pem")
            with open(bad, "w") as f:
                f.write("hello\n")
            r = subprocess.run(s.argv() + ["--webhook-ca-file", bad], capture_output=True,
                               text=True, timeout=20, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a readable PEM bundle", r.stderr)


if __name__ == "__main__":
    unittest.main()
