"""The invite email end to end (docs/API.md §5, §6): bulk over HTTP, the real mail worker writes the
Maildir, Python's email package reads it back; then the accept page the link points to."""

import os
import sqlite3
import unittest
import uuid

from sitest import (ROLE_BLOG_EDITOR, ROLE_DESIGNER, ApiTestCase, Server, Tenant, accept_links,
                    message_text, messages_to, psql, unique_email, wait_until)

MAIL_WAIT_S = 15
EVIL_PURPOSE = ("Join us <script>alert(1)</script> & more\r\nBcc: x@y.z\r\n\r\n"
                "Part two — héllo 日本")


class MaildirTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()
        try:
            cls.site_name = "Maple Bakery " + uuid.uuid4().hex[:6]
            cls.t = Tenant(cls.server, "Maple", site_name=cls.site_name)
            cls.plain_addr = unique_email("plain")
            cls.evil_addr = unique_email("evil")
            cls.other_addr = unique_email("other", "Example.ORG")
            r = cls.t.bulk([cls.plain_addr, cls.other_addr], [ROLE_DESIGNER])
            assert r.status == 200, r
            e = cls.t.bulk([cls.evil_addr], [ROLE_DESIGNER, ROLE_BLOG_EDITOR],
                           invitePurpose=EVIL_PURPOSE)
            assert e.status == 200, e
            cls.invites = {i["email"].lower(): i for i in r.json["invites"] + e.json["invites"]}
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        # The suite-wide promise, checked over every answer of the class whatever ran (it used
        # to be a test named to run last, which checked nothing when run alone).
        cls.closeServerNo5xx(cls.server)

    def one_message(self, addr):
        msgs = wait_until(lambda: messages_to(self.server, addr), MAIL_WAIT_S,
                          what="mail to " + addr)
        self.assertEqual(len(msgs), 1, "expected exactly one message to " + addr)
        return msgs[0]

    def test_message_structure(self):
        for addr, inv in self.invites.items():
            msg = self.one_message(addr)
            self.assertEqual(msg.get_content_type(), "multipart/alternative")
            parts = list(msg.iter_parts())
            self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "text/html"])
            for p in parts:
                self.assertEqual(p.get_content_charset(), "utf-8")
            for h in ("Date", "Message-ID", "From", "To", "Subject", "MIME-Version"):
                self.assertIsNotNone(msg[h], "missing header " + h)
            self.assertRegex(msg["Message-ID"], r"^<[^<>@\s]+@[^<>@\s]+>$")
            self.assertIsNotNone(msg["Date"].datetime, "Date does not parse")
            self.assertTrue(msg["From"].addresses, "From has no address")
            self.assertEqual(msg["To"].addresses[0].addr_spec.lower(), addr)
            subject = str(msg["Subject"])
            self.assertTrue(subject.strip())
            self.assertNotIn("=?", subject, "Subject did not decode")
            plain, html = message_text(msg)
            self.assertEqual(set(accept_links(plain)), {inv["acceptLink"]})
            self.assertEqual(set(accept_links(html)), {inv["acceptLink"]})
            self.assertIn(self.site_name, plain)
            self.assertIn(self.site_name, html)

    def test_message_ids_unique(self):
        ids = [self.one_message(a)["Message-ID"] for a in self.invites]
        self.assertEqual(len(set(ids)), len(ids))

    def test_purpose_cannot_inject_and_is_escaped(self):
        msg = self.one_message(self.evil_addr)
        names = [k.lower() for k in msg.keys()]
        self.assertNotIn("bcc", names, "purpose injected a Bcc header")
        for part in msg.iter_parts():
            self.assertNotIn("bcc", [k.lower() for k in part.keys()])
        self.assertEqual(len(list(msg.iter_parts())), 2, "purpose added a MIME part")
        with open(self.message_file(self.evil_addr), "rb") as f:
            raw = f.read()
        head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
        self.assertNotIn(b"\nBcc:", head)
        self.assertNotIn(b"x@y.z", head)
        plain, html = message_text(msg)
        self.assertIn("<script>alert(1)</script>", plain)
        self.assertIn("Part two — héllo 日本", plain)
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertIn("&amp; more", html)
        self.assertIn("héllo 日本", html)

    def message_file(self, addr):
        for name, msg in self.server.maildir_messages():
            if msg["To"].addresses[0].addr_spec.lower() == addr:
                return os.path.join(self.server.mail_dir, "new", name)
        self.fail("no file for " + addr)

    def test_delivery_status_becomes_sent(self):
        for addr, inv in self.invites.items():
            self.one_message(addr)
            got = wait_until(lambda: (lambda i: i if i["delivery"]["status"] == "Sent" else None)(
                self.t.get(inv["id"]).json["invite"]), 10, what="delivery Sent")
            self.assertGreaterEqual(got["delivery"]["attempts"], 1)

    def test_maildir_layout(self):
        for addr in self.invites:
            self.one_message(addr)
        for sub in ("new", "cur", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(self.server.mail_dir, sub)), sub)
        # Another test's email may be on its way through tmp/ right now (the worker writes it
        # there, syncs, then renames it into new/): tmp/ must empty, not be empty at this instant.
        tmp = os.path.join(self.server.mail_dir, "tmp")
        left = wait_until(lambda: (lambda names: ["empty"] if not names else None)(os.listdir(tmp)),
                          MAIL_WAIT_S, what="Maildir tmp/ to empty")
        self.assertEqual(left, ["empty"])
        names = os.listdir(os.path.join(self.server.mail_dir, "new"))
        self.assertGreaterEqual(len(names), len(self.invites))
        self.assertTrue(all(n.endswith(".eml") for n in names), names)

    def test_accept_page(self):
        addr = unique_email("page")
        r = self.t.bulk([addr], [ROLE_DESIGNER])
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        page = self.server.get_page(inv["acceptLink"])
        self.assertStatus(page, 200)
        self.assertTrue((page.header("Content-Type") or "").startswith("text/html"), page.headers)
        text = page.body.decode("utf-8")
        self.assertIn(self.site_name, text)
        token = inv["acceptLink"].rsplit("/", 1)[1]
        flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
        base = inv["acceptLink"][:-len(token)]
        for bad in (flipped, token[:-1], token + "x", "x"):
            res = self.server.get_page(base + bad)
            self.assertEqual(res.status, 404, "tampered token %r: %r" % (bad, res))
            self.assertTrue((res.header("Content-Type") or "").startswith("text/html"))
        self.assertStatus(self.t.revoke(inv["id"]), 200)
        gone = self.server.get_page(inv["acceptLink"])
        self.assertEqual(gone.status, 410)
        self.assertNotIn("<form", gone.body.decode("utf-8"), "a revoked link still offers a form")


class LargeOutboxIdsTest(ApiTestCase):
    """Emails whose outbox rows have 13-digit IDs (a queue that has seen 10^12 emails, or rows
    numbered by another tool) are claimed, written and recorded Sent like any other: the claim
    names its rows in one JSON array, and that array must not be limited in size."""

    def test_large_ids_delivered(self):
        with Server(extra_args=["--mail-worker", "off"]) as s:
            t = Tenant(s, "Big")
            on_sqlite = s.db.startswith("sqlite:")
            if not on_sqlite:  # an identity column: numbered from here on
                psql(s.db, "ALTER TABLE outbox ALTER COLUMN id RESTART WITH 1000000000000")
            addrs = [unique_email("big%d" % i) for i in range(3)]
            r = t.bulk(addrs, [ROLE_DESIGNER])
            self.assertEqual(r.status, 200, r)
            s.stop()
            least = "SELECT min(id) FROM outbox WHERE status = 'Queued'"
            if on_sqlite:
                with sqlite3.connect(s.db_path) as db:
                    db.execute("UPDATE outbox SET id = id + 1000000000000")
                    low = db.execute(least).fetchone()[0]
            else:
                low = int(psql(s.db, least))
            self.assertGreaterEqual(low, 10 ** 12)
            s.extra_args = []
            s.start()
            for addr in addrs:
                msgs = wait_until(lambda a=addr: messages_to(s, a), MAIL_WAIT_S,
                                  what="mail to " + addr)
                self.assertEqual(len(msgs), 1)
            for inv in r.json["invites"]:
                got = wait_until(lambda i=inv: (lambda v: v if v["delivery"]["status"] == "Sent"
                                                else None)(t.get(i["id"]).json["invite"]),
                                 MAIL_WAIT_S, what="delivery Sent")
                self.assertEqual(got["delivery"]["attempts"], 1)
            self.assertNo5xx(s)


if __name__ == "__main__":
    unittest.main()
