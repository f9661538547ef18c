"""Invite email over real SMTP (docs/API.md §5; issue 3): the service sends to aiosmtpd on a loopback
port, Python's email package parses what arrived. Covers bulk delivery exactly once, the seven
languages, retries (server down, 4xx), bounces (5xx), revoke before send, STARTTLS required,
login from the environment, bad settings at start, and `outbox retry`."""

import os
import re
import subprocess
import unittest

from sitest import (ApiTestCase, Server, Tenant, accept_links, binary, message_text,
                    unique_email, wait_until)
from smtpd import SmtpServer, free_port

MAIL_WAIT_S = 20
RETRY_MS = "100"  # first retry after ~0.1 s, then 0.2, 0.4 ...: retries within a test's time
# The lease must outlive one SMTP try (serve refuses otherwise): 2 s tries, a 5 s lease.
FAST = ["--mail-retry-ms", RETRY_MS, "--mail-lease-seconds", "5", "--smtp-timeout-seconds", "2"]


def smtp_server_args(smtp, *extra):
    return ["--smtp-url", smtp.url] + FAST + list(extra)


def delivery(tenant, invite_id):
    r = tenant.get(invite_id)
    assert r.status == 200, r
    return r.json["invite"]["delivery"]


def wait_delivery(tenant, invite_id, pred, what, timeout=MAIL_WAIT_S):
    """Polls the invite's delivery until pred(delivery) holds; returns that delivery."""
    def probe():
        d = delivery(tenant, invite_id)
        return d if pred(d) else None
    return wait_until(probe, timeout, what=what)


def invite_ids(resp):
    assert resp.status == 200, resp
    return {i["email"].lower(): i["id"] for i in resp.json["invites"]}


class SmtpDeliveryTest(ApiTestCase):
    """One SMTP server and one service for the cases that can share them."""

    @classmethod
    def setUpClass(cls):
        cls.smtp = SmtpServer().start()
        cls.server = Server(extra_args=smtp_server_args(cls.smtp)).__enter__()
        try:
            cls.t = Tenant(cls.server, "Smtp", contributor_limit=5000)
        except BaseException:
            cls.server.close()
            cls.smtp.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.smtp.stop()

    def wait_delivered(self, addrs, timeout=MAIL_WAIT_S):
        want = {a.lower() for a in addrs}
        return wait_until(lambda: want <= {r.lower() for m in self.smtp.handler.all()
                                           for r in m.rcpt_tos},
                          timeout, what="mail to %d addresses" % len(want))

    def test_bulk_200_arrive_once_each(self):
        addrs = [unique_email("bulk%03d" % i) for i in range(200)]
        ids = invite_ids(self.t.bulk(addrs))
        self.assertEqual(len(ids), 200)
        self.wait_delivered(addrs)
        links = set()
        for addr in addrs:
            msgs = self.smtp.handler.to(addr)
            self.assertEqual(len(msgs), 1, "expected exactly one message to " + addr)
            m = msgs[0]
            msg = m.parsed()
            self.assertEqual([type(d).__name__ for d in msg.defects], [])
            self.assertEqual(msg.get_content_type(), "multipart/alternative")
            self.assertEqual([p.get_content_type() for p in msg.iter_parts()],
                             ["text/plain", "text/html"])
            for p in msg.iter_parts():
                self.assertEqual(p.get_content_charset(), "utf-8")
                self.assertIn(p["Content-Transfer-Encoding"], ("quoted-printable", "base64"))
            self.assertEqual(msg["To"].addresses[0].addr_spec.lower(), addr)
            self.assertIn(self.t.site_name, str(msg["Subject"]))
            self.assertEqual(msg["Auto-Submitted"], "auto-generated")
            self.assertTrue(msg["Reply-To"].addresses[0].addr_spec.startswith("owner-"))
            self.assertEqual(m.mail_from, "invites@localhost")
            self.assertTrue(all(len(line) <= 998 for line in m.data.split(b"\r\n")))
            plain, html = message_text(msg)
            self.assertEqual(len(set(accept_links(plain))), 1)
            self.assertEqual(set(accept_links(plain)), set(accept_links(html)))
            links |= set(accept_links(plain))
        self.assertEqual(len(links), 200, "every invite has its own link")
        # Each link is that invite's: its page names the invitee's address.
        for addr in addrs[:3]:
            plain, _ = message_text(self.smtp.handler.to(addr)[0].parsed())
            page = self.server.get_page(accept_links(plain)[0])
            self.assertEqual(page.status, 200, page)
        for addr in addrs[:20]:
            d = delivery(self.t, ids[addr])
            self.assertEqual((d["status"], d["attempts"]), ("Sent", 1), d)
        # One connection carried many messages: far fewer EHLOs than messages.
        self.assertLess(self.smtp.handler.ehlos, 50)

    def test_4xx_twice_then_accepted(self):
        addr = unique_email("busy")
        self.smtp.handler.fail_temporarily(addr, 2, "451 4.7.1 Greylisted, come back later")
        iid = invite_ids(self.t.bulk([addr]))[addr]
        self.wait_delivered([addr])
        self.assertEqual(len(self.smtp.handler.to(addr)), 1)
        d = wait_delivery(self.t, iid, lambda d: d["status"] == "Sent", "Sent", 5)
        self.assertEqual(d["attempts"], 3, d)

    def test_550_bounce_fails_that_invite_only(self):
        bad, good = unique_email("nobody"), unique_email("somebody")
        self.smtp.handler.reject(bad, "550 5.1.1 <%s>: Recipient address rejected" % bad)
        ids = invite_ids(self.t.bulk([bad, good]))
        self.wait_delivered([good])
        d = wait_delivery(self.t, ids[bad], lambda d: d["status"] == "Failed", "Failed")
        self.assertEqual(d["attempts"], 1, "a bounce is not retried: %r" % d)
        self.assertIn("550 5.1.1", d["lastError"])
        self.assertIn("Recipient address rejected", d["lastError"])
        self.assertEqual(self.smtp.handler.to(bad), [])
        self.assertEqual(delivery(self.t, ids[good])["status"], "Sent")

        # outbox retry requeues the failed row; the server now takes it.
        with self.smtp.handler.lock:
            del self.smtp.handler.perm_fail[bad]
        out = self.server.cli("outbox", "retry")
        self.assertGreaterEqual(out["requeued"], 1)
        self.wait_delivered([bad])
        self.assertEqual(len(self.smtp.handler.to(bad)), 1)

    def test_languages(self):
        words = {"en": ("invited you", "Accept the invitation"),
                 "es": ("te ha invitado", "Aceptar la invitación"),
                 "fr": ("vous invite", "Accepter l'invitation"),
                 "de": ("eingeladen", "Einladung annehmen"),
                 "pt-BR": ("convidou você", "Aceitar o convite"),
                 "he": ("הזמנה מאת", "קבלת ההזמנה"),
                 "ja": ("招待", "招待を承諾する")}
        month = {"en": "(January|February|March|April|May|June|July|August|September|October|"
                       "November|December)",
                 "es": " de ", "fr": r"\d{4}", "de": r"\d\. ", "pt-BR": " de ",
                 "he": " ב", "ja": "年"}
        sent = {}
        for lang in words:
            site = self.t.add_site("Site %s" % lang, language=lang)
            addr = unique_email("lang-" + lang.lower())
            r = self.t.for_site(site).bulk([addr])
            self.assertEqual(r.status, 200, r)
            sent[lang] = addr
        self.wait_delivered(sent.values())
        for lang, addr in sent.items():
            msg = self.smtp.handler.to(addr)[0].parsed()
            subject = str(msg["Subject"])
            plain, html = message_text(msg)
            self.assertIn(words[lang][0], subject + plain, lang)
            self.assertIn(words[lang][1], html, lang)
            self.assertRegex(plain, month[lang], lang)
            self.assertEqual('dir="rtl"' in html, lang == "he", lang)


class SmtpOutageTest(ApiTestCase):
    """Cases that start the SMTP server late or not at all; each has its own service."""

    def test_server_down_then_up_and_revoke_before_send(self):
        port = free_port()
        smtp = SmtpServer(port)
        with Server(extra_args=smtp_server_args(smtp)) as server:
            self.assertIn("not answering yet", server.log_text())
            t = Tenant(server, "Down")
            keep, drop = unique_email("keep"), unique_email("drop")
            ids = invite_ids(t.bulk([keep, drop]))
            d = wait_delivery(t, ids[keep], lambda d: d["attempts"] >= 1, "a failed try")
            self.assertEqual(d["status"], "Queued", d)
            self.assertIn("connect", d["lastError"].lower())
            self.assertEqual(t.revoke(ids[drop]).status, 200)
            with smtp:
                wait_until(lambda: smtp.handler.to(keep), MAIL_WAIT_S, what="mail after outage")
                d = wait_delivery(t, ids[keep], lambda d: d["status"] == "Sent", "Sent", 5)
                self.assertGreaterEqual(d["attempts"], 2, d)
                self.assertEqual(len(smtp.handler.to(keep)), 1)
                self.assertEqual(smtp.handler.to(drop), [], "a revoked invite was mailed")
                self.assertNotEqual(delivery(t, ids[drop])["status"], "Sent")

    def test_starttls_required_not_offered(self):
        with SmtpServer() as smtp:
            # At start: a clear message, exit 2, nothing sent.
            p = subprocess.run([binary(), "serve", "--listen", "127.0.0.1:0", "--db",
                                "sqlite::memory:x", "--smtp-url", smtp.url,
                                "--smtp-require-tls", "on"],
                               capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(b"STARTTLS", p.stderr)
            self.assertEqual(smtp.handler.all(), [])
        # At run time (the server lost STARTTLS while we ran): the row waits, nothing is lost.
        smtp = SmtpServer(free_port())
        with Server(extra_args=smtp_server_args(smtp, "--smtp-require-tls", "on")) as server:
            t = Tenant(server, "Tls")
            addr = unique_email("tls")
            iid = invite_ids(t.bulk([addr]))[addr]
            with smtp:
                d = wait_delivery(t, iid, lambda d: "STARTTLS" in (d.get("lastError") or ""),
                                  "STARTTLS error")
                self.assertEqual(d["status"], "Queued", d)
                self.assertEqual(smtp.handler.all(), [])
                # Without the requirement the same row goes out: it was never lost.
                server.stop()
                server.extra_args = smtp_server_args(smtp)
                server.start()
                wait_until(lambda: smtp.handler.to(addr), MAIL_WAIT_S, what="mail after fix")
                self.assertEqual(len(smtp.handler.to(addr)), 1)

    def test_login_from_environment_never_argv(self):
        user, password = "mailer", "s3cret-pw-%s" % os.getpid()
        with SmtpServer(login=(user, password)) as smtp:
            env = {"SITEINVITES_SMTP_USER": user, "SITEINVITES_SMTP_PASSWORD": password}
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                server = Server(extra_args=smtp_server_args(smtp)).__enter__()
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            try:
                t = Tenant(server, "Login")
                addr = unique_email("login")
                invite_ids(t.bulk([addr]))
                wait_until(lambda: smtp.handler.to(addr), MAIL_WAIT_S, what="mail with login")
                self.assertIn(True, smtp.auth.tries)
            finally:
                server.close()
            self.assertNotIn(password, server.log_text() if os.path.exists(server.log_path)
                             else "")
        p = subprocess.run([binary(), "serve", "--smtp-password", password],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"cannot be given on the command line", p.stderr)

    def test_bad_settings_fail_at_start(self):
        cases = [("smtp//nohost", b"expected smtp://"),
                 ("http://127.0.0.1:25", b"expected smtp://"),
                 ("smtp://host.invalid:25", b"resolve"),
                 ("smtp://user:pw@127.0.0.1:25", b"holds a login")]
        for url, needle in cases:
            p = subprocess.run([binary(), "serve", "--listen", "127.0.0.1:0", "--db",
                                "sqlite::memory:x", "--smtp-url", url],
                               capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, (url, p.stderr))
            self.assertIn(needle, p.stderr, url)
            self.assertNotIn(b"pw@", p.stderr, "a password in the URL was echoed")
            self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    unittest.main()
