"""Operating the service (issue 11, the operator's bugs): the mail counters in /metrics after real
sends, a bounded stop with a hung SMTP server, a newer database schema refused, the SQLite file
created 0600, a config file holding a password refused when others can read it, no silent send
without a login, and the client's address in the log."""

import http.client
import json
import os
import signal
import re
import socket
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from sitest import Server, Tenant, binary, unique_email, wait_until
from smtpd import SmtpServer, free_port

MAIL_WAIT_S = 20
PG_URL = os.environ.get("SI_TEST_STORE_URL", "")


def metric(server, name):
    r = server.request("GET", "/metrics")
    assert r.status == 200, r
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.body.decode(), re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def run(*args, env=None, timeout=30):
    return subprocess.run([binary()] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


class HungSmtp:
    """A TCP server that closes its first connection at once (serve's start-up check then only
    warns) and accepts every later one without ever answering: a hung mail server."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted == 1:
                c.close()
            else:
                self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class ConfigFile:
    """A config file in a temp dir with the given mode."""

    def __init__(self, text, mode):
        self.dir = tempfile.mkdtemp(prefix="siops-")
        self.path = os.path.join(self.dir, "siteinvites.conf")
        with open(self.path, "w") as f:
            f.write(text)
        os.chmod(self.path, mode)


class MailCountersTest(unittest.TestCase):
    def test_emails_sent_total_counts_real_maildir_sends(self):
        with Server() as server:
            self.assertEqual(metric(server, "siteinvites_emails_sent_total"), 0)
            t = Tenant(server, "Counters")
            addrs = [unique_email("m%d" % i) for i in range(3)]
            r = t.bulk(addrs)
            self.assertEqual(r.status, 200, r)
            wait_until(lambda: len(server.maildir_messages()) >= 3, MAIL_WAIT_S,
                       what="three emails in the Maildir")
            # The row is marked sent (and counted) right after the Maildir sync.
            sent = wait_until(lambda: metric(server, "siteinvites_emails_sent_total") == 3 or None,
                              5, what="emails_sent_total == 3")
            self.assertTrue(sent)
            self.assertEqual(metric(server, "siteinvites_emails_failed_total"), 0)

    def test_emails_failed_total_counts_bounces(self):
        # A permanent refusal (5xx) is given up on at once, and counted as failed.
        with SmtpServer() as smtp:
            addr = unique_email("bounce")
            smtp.handler.reject(addr)
            with Server(extra_args=["--smtp-url", smtp.url]) as server:
                self.assertEqual(Tenant(server, "Failed").bulk([addr]).status, 200)
                wait_until(lambda: metric(server, "siteinvites_emails_failed_total") == 1 or None,
                           MAIL_WAIT_S, what="emails_failed_total == 1")
                self.assertEqual(metric(server, "siteinvites_emails_sent_total"), 0)


class StopWithHungSmtpTest(unittest.TestCase):
    def test_sigterm_is_bounded_and_starts_no_new_attempt(self):
        hung = HungSmtp()
        server = Server(extra_args=["--smtp-url", "smtp://127.0.0.1:%d" % hung.port,
                                    "--mail-retry-ms", "100"])
        try:
            server.start()
            t = Tenant(server, "Hung")
            self.assertEqual(t.bulk([unique_email("h1"), unique_email("h2")]).status, 200)
            # The first send is now waiting on a server that never greets.
            wait_until(lambda: hung.accepted >= 2, MAIL_WAIT_S, what="a send in progress")
            time.sleep(0.3)
            before = hung.accepted
            started = time.monotonic()
            server.stop()  # asserts exit 0
            took = time.monotonic() - started
            self.assertLess(took, 4.0, "stop took %.1fs with a hung SMTP server" % took)
            time.sleep(0.2)
            self.assertEqual(hung.accepted, before, "a new SMTP attempt started after SIGTERM")
            self.assertIn("stopped while sending", server.log_text())
        finally:
            if server.proc is not None:
                server.kill9()
            server.close()
            hung.close()


class SchemaNewerTest(unittest.TestCase):
    def test_newer_schema_is_refused_by_migrate_and_serve(self):
        server = Server()  # not started: its temp dir and (on PostgreSQL) its database
        try:
            self.assertEqual(run("migrate", "--db", server.db).returncode, 0)
            if server.pg_db:
                subprocess.run(["psql", "-qX", server.db, "-c",
                                "INSERT INTO schema_migrations VALUES (999, 0)"], check=True)
            else:
                with sqlite3.connect(server.db_path) as db:
                    db.execute("INSERT INTO schema_migrations VALUES (999, 0)")
            p = run("migrate", "--db", server.db)
            self.assertEqual(p.returncode, 2, p)
            err = p.stderr.decode()
            self.assertIn("schema is version 999, newer than this siteinvites knows", err)
            self.assertNotIn("up to date", p.stdout.decode())
            p = run("serve", "--listen", "127.0.0.1:0", "--db", server.db, "--mail-dir",
                    server.mail_dir, "--secret-file", server.secret_file)
            self.assertEqual(p.returncode, 2, p)
            self.assertIn("newer than this siteinvites knows", p.stderr.decode())
            self.assertEqual(p.stdout, b"")
        finally:
            server.close()


class FileModesTest(unittest.TestCase):
    def test_sqlite_database_is_created_0600(self):
        d = tempfile.mkdtemp(prefix="siops-")
        path = os.path.join(d, "new.db")
        old = os.umask(0o022)
        try:
            self.assertEqual(run("migrate", "--db", "sqlite:" + path).returncode, 0)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        for extra in ("-wal", "-shm"):
            if os.path.exists(path + extra):
                self.assertEqual(stat.S_IMODE(os.stat(path + extra).st_mode), 0o600, extra)

    def test_config_with_password_readable_by_others_is_refused(self):
        cfg = ConfigFile("smtp-user = u\nsmtp-password = pw-%d\n" % os.getpid(), 0o644)
        p = run("serve", "--config", cfg.path, "--listen", "127.0.0.1:0",
                "--db", "sqlite:" + os.path.join(cfg.dir, "x.db"))
        self.assertEqual(p.returncode, 2, p)
        err = p.stderr.decode()
        self.assertIn("holds smtp-password but is readable by others or by a group this process "
                      "is not in (mode 0644)", err)
        self.assertIn("chmod 600", err)
        self.assertNotIn("pw-%d" % os.getpid(), err)
        # 0640 with a group this process is not in is refused too; with its own group (the
        # packaged root:siteinvites layout, read by the service through its group) it is fine.
        os.chmod(cfg.path, 0o640)
        os.chown(cfg.path, -1, 65534)  # nogroup: not a group of the test process
        p = run("serve", "--config", cfg.path, "--listen", "127.0.0.1:0",
                "--db", "sqlite:" + os.path.join(cfg.dir, "x.db"))
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("(mode 0640)", p.stderr.decode())
        os.chown(cfg.path, -1, os.getegid())
        # serve reads smtp-password (migrate ignores it), then stops at the database we name: the
        # file passed the check, and the refusal is about the database, not the mode.
        down = "postgres://127.0.0.1:1/nodb"  # nothing listens on port 1: refused at once
        p = run("serve", "--config", cfg.path, "--listen", "127.0.0.1:0", "--db", down,
                "--secret-file", os.path.join(cfg.dir, "secret.key"))
        self.assertEqual(p.returncode, 2, p)
        self.assertNotIn("readable by others", p.stderr.decode())
        self.assertIn("cannot open database " + down, p.stderr.decode())
        # Without the password the same mode is fine (the file holds no secret).
        os.chmod(cfg.path, 0o640)
        with open(cfg.path, "w") as f:
            f.write("log-level = info\n")
        p = run("migrate", "--config", cfg.path, "--db", "sqlite:" + os.path.join(cfg.dir, "x.db"))
        self.assertEqual(p.returncode, 0, p)


class SmtpLoginTest(unittest.TestCase):
    def server_with_login(self, smtp_url, *extra):
        cfg = ConfigFile("smtp-user = mailer\nsmtp-password = pw\n", 0o600)
        return Server(extra_args=["--config", cfg.path, "--smtp-url", smtp_url,
                                  "--mail-retry-ms", "100"] + list(extra))

    def test_credentials_with_a_server_without_auth_are_refused_at_start(self):
        with SmtpServer() as smtp:  # offers no AUTH
            s = self.server_with_login(smtp.url)
            try:
                p = subprocess.run(s.argv(), capture_output=True, timeout=30,
                                   stdin=subprocess.DEVNULL)
            finally:
                s.close()
            self.assertEqual(p.returncode, 2, p)
            self.assertIn("offers no AUTH", p.stderr.decode())
            self.assertIn("--smtp-allow-no-auth", p.stderr.decode())
            self.assertEqual(smtp.handler.all(), [])

    def test_allow_no_auth_sends(self):
        with SmtpServer() as smtp:
            with self.server_with_login(smtp.url, "--smtp-allow-no-auth") as server:
                addr = unique_email("noauth")
                self.assertEqual(Tenant(server, "NoAuth").bulk([addr]).status, 200)
                wait_until(lambda: smtp.handler.to(addr), MAIL_WAIT_S, what="mail without AUTH")

    def test_a_server_that_loses_auth_later_gets_no_mail(self):
        # Down at start (only a warning), then up without AUTH: the send stops before DATA.
        port = free_port()
        with self.server_with_login("smtp://127.0.0.1:%d" % port) as server:
            t = Tenant(server, "Later")
            addr = unique_email("later")
            r = t.bulk([addr])
            self.assertEqual(r.status, 200, r)
            with SmtpServer(port=port) as smtp:
                def refused():
                    d = t.get(r.json["invites"][0]["id"]).json["invite"]["delivery"]
                    return "offers no AUTH" in (d.get("lastError") or "")
                wait_until(refused, MAIL_WAIT_S, what="the no-AUTH refusal on the invite")
                self.assertEqual(smtp.handler.to(addr), [])


class HupTest(unittest.TestCase):
    def test_hup_reloads_the_log_level_from_the_config_file_and_keeps_serving(self):
        cfg = ConfigFile("log-level = info\n", 0o600)
        with Server(extra_args=["--config", cfg.path]) as server:
            self.assertEqual(server.request("GET", "/healthz").status, 200)
            wait_until(lambda: "GET /healthz 200" in server.log_text(), 5, what="access line")
            with open(cfg.path, "w") as f:
                f.write("log-level = warn\n")
            server.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "received SIGHUP" in server.log_text(), 5, what="the reload")
            time.sleep(0.2)
            self.assertIsNone(server.proc.poll(), "serve ended on SIGHUP")
            for _ in range(3):
                self.assertEqual(server.request("GET", "/healthz").status, 200)
            time.sleep(0.3)
            self.assertEqual(server.log_text().count("GET /healthz 200"), 1,
                             "info lines still written after the level went to warn")
            # A broken file keeps the level in use and says why.
            with open(cfg.path, "w") as f:
                f.write("log-level = loud\n")
            server.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "log level not reloaded" in server.log_text(), 5,
                       what="the refused reload")
        # Server.__exit__ asserted exit 0 on SIGTERM: SIGHUP did not end it (it was 129).


class JsonLogTest(unittest.TestCase):
    def test_every_line_is_one_json_object_without_secrets(self):
        with Server(extra_args=["--log-format", "json"]) as server:
            t = Tenant(server, "Json")
            self.assertEqual(t.bulk([unique_email("j")]).status, 200)
            self.assertEqual(t.query().status, 200)
            self.assertEqual(server.request("GET", "/healthz").status, 200)
            wait_until(lambda: "/healthz" in server.log_text(), 5, what="the access line")
            wait_until(lambda: server.maildir_messages(), MAIL_WAIT_S, what="the email")
            text = server.log_text()
            secret = open(server.secret_file, "rb").read()
        lines = [ln for ln in text.splitlines() if not ln.startswith("---- start")]
        self.assertGreater(len(lines), 5)
        objs = []
        for ln in lines:
            o = json.loads(ln)  # every line parses on its own
            self.assertIsInstance(o, dict, ln)
            self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(o["level"], ("debug", "info", "warn", "error"))
            self.assertIsInstance(o["msg"], str)
            objs.append(o)
        query = [o for o in objs if "/invites/site-invite/query" in o["msg"]]
        self.assertEqual(len(query), 1, objs)
        self.assertEqual(query[0]["keyId"], t.key_id)
        self.assertEqual(query[0]["client"], "127.0.0.1")
        self.assertRegex(query[0]["requestId"], r"^[0-9a-f-]{36}$")
        health = [o for o in objs if "/healthz" in o["msg"]]
        self.assertNotIn("keyId", health[0])
        self.assertNotIn(t.key, text)  # the API key itself never
        self.assertNotIn(secret.hex(), text)

    def test_unknown_format_is_refused(self):
        p = run("migrate", "--log-format", "xml", "--db", "sqlite:/nonexistent/x.db")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(b"log-format must be text or json", p.stderr)


class DoctorTest(unittest.TestCase):
    """`siteinvites doctor`: one line per check, exit 0 when all pass, else the first failure's
    code (3 database, 4 schema, 5 secret, 6 mail, 7 TLS, 8 disk)."""

    def setUp(self):
        self.server = Server()
        self.server.start()
        self.server.stop()  # leaves a migrated database, the secret and the Maildir

    def tearDown(self):
        self.server.close()

    def doctor(self, *extra, db=None, mail_dir=None):
        s = self.server
        return run("doctor", "--db", db or s.db, "--secret-file", s.secret_file, "--mail-dir",
                   mail_dir or s.mail_dir, *extra)

    def assertFails(self, p, code, check, text, regex=False):
        out = p.stdout.decode()
        self.assertEqual(p.returncode, code, out + p.stderr.decode())
        self.assertRegex(out, r"(?m)^%s +FAIL .*%s" % (check, text if regex else re.escape(text)))

    def test_healthy_installation_passes(self):
        p = self.doctor()
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out + p.stderr.decode())
        for check in ("config", "database", "secret", "mail", "disk"):
            self.assertRegex(out, r"(?m)^%s +ok " % check)
        self.assertIn("schema version", out)

    def test_database_missing_and_schema(self):
        d = self.server.dir
        self.assertFails(self.doctor(db="sqlite:" + os.path.join(d, "none.db")), 3, "database",
                         "no database file")
        self.assertFalse(os.path.exists(os.path.join(d, "none.db")))
        sqlite3.connect(os.path.join(d, "empty.db")).close()
        self.assertFails(self.doctor(db="sqlite:" + os.path.join(d, "empty.db")), 4, "schema",
                         "run siteinvites migrate")
        if not self.server.pg_db:
            with sqlite3.connect(self.server.db_path) as db:
                db.execute("INSERT INTO schema_migrations VALUES (999, 0)")
            self.assertFails(self.doctor(), 4, "schema", "newer than this binary")

    def test_secret_readable_by_others(self):
        os.chmod(self.server.secret_file, 0o644)
        self.assertFails(self.doctor(), 5, "secret", "chmod 600")

    def test_mail_server_not_answering(self):
        port = free_port()
        self.assertFails(self.doctor("--smtp-url", "smtp://127.0.0.1:%d" % port), 6, "mail",
                         "not answering")

    def test_mail_server_answers(self):
        with SmtpServer() as smtp:
            p = self.doctor("--smtp-url", smtp.url)
        self.assertEqual(p.returncode, 0, p)
        self.assertRegex(p.stdout.decode(), r"(?m)^mail +ok .*answers EHLO")

    def mount_ext4(self, name, *mkfs_options):
        """A small ext4 image of its own, loop-mounted; skips the test where this machine cannot
        (no loop device or no mkfs.ext4)."""
        image = os.path.join(self.server.dir, name + ".img")
        folder = os.path.join(self.server.dir, name)
        os.mkdir(folder)
        with open(image, "wb") as f:  # sparse; above the disk check's 256 MiB of free space
            f.truncate(320 << 20)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", *mkfs_options, image], capture_output=True)
        mounted = made.returncode == 0 and subprocess.run(
            ["mount", "-o", "loop", image, folder], capture_output=True).returncode == 0
        if not mounted:
            self.skipTest("cannot loop-mount an ext4 image here: %s" % made.stderr.decode())
        self.addCleanup(subprocess.run, ["umount", folder], check=True)
        return folder

    def test_maildir_on_ext4_without_a_journal_is_noted(self):
        """ok either way; the note names the cost a journal-less ext4 puts on each new file."""
        note = "its ext4 has no journal: deleted messages make new ones dearer"
        for folder, noted in ((self.mount_ext4("nojournal", "-O", "^has_journal"), True),
                              (self.mount_ext4("journal"), False), ("/dev/shm", False)):
            p = self.doctor(mail_dir=folder)
            out = p.stdout.decode()
            self.assertEqual(p.returncode, 0, out + p.stderr.decode())
            self.assertRegex(out, r"(?m)^mail +ok +Maildir %s is writable" % re.escape(folder))
            self.assertEqual(note in out, noted, (folder, out))

    def test_tls_certificate_about_to_expire(self):
        d = self.server.dir
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3", "-subj",
                        "/CN=127.0.0.1", "-keyout", os.path.join(d, "k.pem"), "-out",
                        os.path.join(d, "c.pem")], check=True, capture_output=True, timeout=30)
        os.chmod(os.path.join(d, "k.pem"), 0o600)
        self.assertFails(self.doctor("--tls-cert", os.path.join(d, "c.pem"), "--tls-key",
                                     os.path.join(d, "k.pem")), 7, "tls", r"expires in [23] days: renew it",
                         regex=True)
        self.assertFails(self.doctor("--tls-cert", os.path.join(d, "c.pem"), "--tls-key",
                                     os.path.join(d, "secret.key")), 7, "tls", "")


class MetricsListenTest(unittest.TestCase):
    def test_metrics_on_their_own_address_and_not_on_the_api_port(self):
        port = free_port()
        with Server(extra_args=["--metrics-listen", "127.0.0.1:%d" % port]) as server:
            r = server.request("GET", "/metrics")
            self.assertEqual(r.status, 404, r)
            self.assertEqual(r.json["details"]["applicationError"]["code"], "NOT_FOUND")
            self.assertEqual(server.request("GET", "/healthz").status, 200)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            want = 'siteinvites_http_requests_total{route="unmatched",status="404"}'
            try:
                # A request is counted when it completes, just after its answer is sent: the
                # 404 above may reach /metrics a moment later, so read until it shows (2 s).
                deadline = time.monotonic() + 2
                while True:
                    conn.request("GET", "/metrics")
                    m = conn.getresponse()
                    body = m.read().decode()
                    self.assertEqual(m.status, 200)
                    if want in body or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertIn("siteinvites_emails_sent_total 0", body)
                self.assertIn(want, body)
                conn.request("GET", "/healthz")
                self.assertEqual(conn.getresponse().read() is not None, True)
                conn.request("POST", "/invites/site-invite/query", body=b"{}",
                             headers={"Content-Type": "application/json"})
                self.assertEqual(conn.getresponse().status, 404)  # no API here
            finally:
                conn.close()


class KeyRateTest(unittest.TestCase):
    def test_token_bucket_per_key_answers_429_and_spares_other_keys(self):
        # 1 request per second with bursts of 3: the 4th quick call of a key is refused.
        with Server(extra_args=["--key-rate", "1", "--key-burst", "3"]) as server:
            a = Tenant(server, "RateA")
            b = Tenant(server, "RateB")
            for i in range(3):
                self.assertEqual(a.query().status, 200, i)
            r = a.query()
            self.assertEqual(r.status, 429, r)
            self.assertEqual(r.json["details"]["applicationError"]["code"], "RESOURCE_EXHAUSTED")
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
            for i in range(3):  # another key has its own bucket
                self.assertEqual(b.query().status, 200, i)
            time.sleep(1.1)  # a token comes back after a second
            self.assertEqual(a.query().status, 200)
            # Unauthenticated and public routes are not counted against anyone.
            for _ in range(5):
                self.assertEqual(server.request("GET", "/healthz").status, 200)


class ClientAddressTest(unittest.TestCase):
    def test_access_log_names_client_and_key(self):
        with Server() as server:
            t = Tenant(server, "Addr")
            self.assertEqual(t.query().status, 200)
            # The line is written when the request completes, just after the answer went out.
            lines = wait_until(lambda: [ln for ln in server.log_text().splitlines()
                                        if "/invites/site-invite/query" in ln],
                               5, what="the access log line")
        self.assertRegex(lines[0], r" client=127\.0\.0\.1 key=[0-9a-f-]{36}( |$)")
        self.assertIn("key=" + t.key_id, lines[0])
        self.assertNotIn(t.key, lines[0])


if __name__ == "__main__":
    unittest.main()
