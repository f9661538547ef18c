"""The command line for real (docs/CLI.md): serve --dev prints a curl example that works, a second
--dev start rotates the key, bad configuration exits 2 with a message, admin commands print one
JSON object or a table, and settings follow flags > environment > config file > defaults."""

import json
import os
import re
import select
import signal
import subprocess
import tempfile
import time
import unittest

from sitest import GUID, PREDEFINED_ROLES, ROLE_ADMIN, binary, maildir_messages, wait_until

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15
RUN_TIMEOUT_S = 30


def run(*args, env=None, cwd=None):
    """Runs the binary to completion; returns (exit code, stdout, stderr) as text."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SITEINVITES_")}
    full_env.update(env or {})
    p = subprocess.run([binary()] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=RUN_TIMEOUT_S, env=full_env, cwd=cwd)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class DevServer:
    """`serve --dev` in a temp dir: collects stdout up to and including the listening line."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.db = "sqlite:" + os.path.join(tmp, "data", "si.db")
        self.mail_dir = os.path.join(tmp, "mail")
        self.proc = None

    def start(self):
        with open(os.path.join(self.tmp, "serve.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [binary(), "serve", "--dev", "--listen", "127.0.0.1:0", "--db", self.db,
                 "--mail-dir", self.mail_dir], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log)
        # Unbuffered reads: a buffered readline would swallow lines select() then never sees.
        fd, data = self.proc.stdout.fileno(), b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not re.search(rb"(^|\n)listening [^\n]*\n$", data):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                self.proc.kill()
                self.proc.wait()
                self.proc.stdout.close()
                raise AssertionError("no listening line; got %r" % data)
            data += chunk
        self.lines = data.decode().splitlines(keepends=True)
        return self.lines

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(STOP_TIMEOUT_S)
        self.proc.stdout.close()
        return rc

    def field(self, label):
        for line in self.lines:
            m = re.match(r"\s+%s:\s+(\S+)" % re.escape(label), line)
            if m:
                return m.group(1)
        raise AssertionError("no %r in %r" % (label, self.lines))


class DevModeTest(unittest.TestCase):
    def test_dev_curl_example_works_and_key_rotates(self):
        with tempfile.TemporaryDirectory(prefix="sicli-") as tmp:
            srv = DevServer(tmp)
            lines = srv.start()
            self.assertRegex(lines[-1], r"^listening http://127\.0\.0\.1:\d+\n$")
            key, site, account = srv.field("API key"), srv.field("site ID"), srv.field("account ID")
            self.assertRegex(site, GUID)
            self.assertRegex(account, GUID)
            self.assertEqual(srv.field("role ID"), ROLE_ADMIN)
            curl = [l.strip() for l in lines if l.strip().startswith("curl ")]
            self.assertEqual(len(curl), 1)
            self.assertIn(lines[-1].split()[1] + "/invites/site-invite/bulk", curl[0])
            # The printed example, run by a shell exactly as a newcomer would paste it.
            out = subprocess.run(["sh", "-c", curl[0]], capture_output=True, timeout=30)
            answer = json.loads(out.stdout)
            self.assertEqual([i["email"] for i in answer["invites"]], ["ada@example.com"])
            self.assertEqual(answer["failedEmails"], [])
            msgs = wait_until(lambda: maildir_messages(srv.mail_dir), what="the invite email")
            self.assertEqual(len(msgs), 1)
            self.assertIn(srv.mail_dir + "/new/", "".join(lines))
            # The console sign-in link next to the curl example works once (docs/CONSOLE.md).
            links = [l.strip() for l in lines if "/console/signin/" in l]
            self.assertEqual(len(links), 1)
            self.assertTrue(links[0].startswith(lines[-1].split()[1] + "/console/signin/"))
            sign_in = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                       "Content-Type: application/x-www-form-urlencoded", "-d", "", links[0]]
            codes = [subprocess.run(sign_in, capture_output=True).stdout for _ in range(2)]
            self.assertEqual(codes, [b"303", b"410"])
            # dev.json lives beside the database and holds IDs, never the key.
            with open(os.path.join(tmp, "data", "dev.json")) as f:
                state = f.read()
            self.assertNotIn(key, state)
            self.assertEqual(json.loads(state)["siteId"], site)
            self.assertEqual(os.stat(os.path.join(tmp, "data", "secret.key")).st_mode & 0o777,
                             0o600)
            self.assertEqual(srv.stop(), 0)

            # A second start keeps the demo account and site and replaces the key.
            srv.start()
            self.assertEqual(srv.field("site ID"), site)
            self.assertEqual(srv.field("account ID"), account)
            new_key = srv.field("API key")
            self.assertNotEqual(new_key, key)
            base = srv.lines[-1].split()[1]
            probe = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                     "wix-site-id: " + site, base + "/invites/site-invite/contributor-limit",
                     "-H"]
            old = subprocess.run(probe + ["Authorization: " + key], capture_output=True)
            new = subprocess.run(probe + ["Authorization: " + new_key], capture_output=True)
            self.assertEqual(old.stdout, b"401")
            self.assertEqual(new.stdout, b"200")
            self.assertEqual(srv.stop(), 0)


class BadConfigTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sicli-")
        self.tmp = self._tmp.name
        self.base = ["serve", "--listen", "127.0.0.1:0", "--db",
                     "sqlite:" + os.path.join(self.tmp, "si.db"),
                     "--mail-dir", os.path.join(self.tmp, "mail")]

    def tearDown(self):
        self._tmp.cleanup()

    def assertConfigError(self, extra, needle, env=None):
        rc, out, err = run(*(self.base + extra), env=env)
        self.assertEqual(rc, 2, err)
        self.assertIn(needle, err)
        self.assertNotIn("listening", out)

    def test_bad_settings_exit_2(self):
        self.assertConfigError(["--listen", "localhost"], "bad listen address")
        self.assertConfigError(["--listen", "127.0.0.1:70000"], "bad listen address")
        self.assertConfigError(["--db", "mysql://db/x"], "unsupported database URL")
        self.assertConfigError(["--smtp-url", "smtp//x"], "expected smtp://")
        self.assertConfigError(["--threads", "many"], "--threads")
        self.assertConfigError([], "SITEINVITES_BODY_LIMIT", env={"SITEINVITES_BODY_LIMIT": "x"})
        blocker = os.path.join(self.tmp, "file")
        open(blocker, "w").close()
        self.assertConfigError(["--mail-dir", os.path.join(blocker, "mail")], "mail")
        # --tls-listen names its certificate, or is --dev (which makes a local CA).
        self.assertConfigError(["--tls-listen", "127.0.0.1:0"], "--tls-listen needs --tls-cert")
        self.assertConfigError(["--tls-listen", "localhost"], "--tls-listen: bad listen address")

    def test_lease_must_outlive_an_smtp_try(self):
        """serve refuses mail-lease-seconds <= smtp-timeout-seconds with SMTP (a claim that ends
        during a try would let a second worker send the email again); checked before the SMTP
        server is contacted. A bad --db after it proves which settings passed."""
        smtp = ["--smtp-url", "smtp://127.0.0.1:1"]
        want = ("mail-lease-seconds (%d) must be greater than smtp-timeout-seconds (%d): a "
                "claimed email's lease must outlive one SMTP try")
        self.assertConfigError(smtp + ["--mail-lease-seconds", "30"], want % (30, 30))
        self.assertConfigError(smtp + ["--mail-lease-seconds", "60", "--smtp-timeout-seconds",
                                       "90"], want % (60, 90))
        self.assertConfigError(smtp, want % (10, 30),
                               env={"SITEINVITES_MAIL_LEASE_SECONDS": "10"})
        # The defaults (60 > 30), a lease one second longer, and a short lease without SMTP
        # (Maildir: no try to outlive) all pass: the next check, --db, is the one that fails.
        bad_db = ["--db", "mysql://db/x"]
        for extra in (smtp, smtp + ["--mail-lease-seconds", "31"], ["--mail-lease-seconds", "2"]):
            rc, out, err = run(*(self.base + extra + bad_db))
            self.assertEqual(rc, 2, err)
            self.assertIn("unsupported database URL", err)
            self.assertNotIn("mail-lease-seconds", err)

    def test_readable_secret_is_refused(self):
        secret = os.path.join(self.tmp, "secret.key")
        with open(secret, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(secret, 0o644)
        self.assertConfigError(["--secret-file", secret], "chmod 600")

    def test_config_file_line_numbers(self):
        conf = os.path.join(self.tmp, "si.conf")
        with open(conf, "w") as f:
            f.write("# settings\nlisten = 127.0.0.1:0\nlisten 127.0.0.1:1\n")
        self.assertConfigError(["--config", conf], "si.conf:3:")

    def test_usage_errors_exit_1(self):
        rc, _, err = run("serve", "--no-such-flag")
        self.assertEqual(rc, 1)
        self.assertIn("unknown option --no-such-flag", err)
        self.assertEqual(run("frobnicate")[0], 1)
        self.assertEqual(run("key")[0], 1)
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^siteinvites \d+\.\d+\.\d+( \(git [0-9a-f]+(-dirty)?\))?\n$")
        rc, out, _ = run("site", "create", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("--contributor-limit", out)


class AdminTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="sicli-")
        self.db = "sqlite:" + os.path.join(self._tmp.name, "fresh", "si.db")

    def tearDown(self):
        self._tmp.cleanup()

    def json_cmd(self, *args):
        rc, out, err = run(*args, "--json", "--db", self.db)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count("\n"), 1)  # exactly one JSON object, one line
        return json.loads(out)

    def test_create_list_revoke(self):
        acc = self.json_cmd("account", "create", "--name", "Acme", "--email", "ops@acme.test")
        self.assertEqual(list(acc), ["id"])
        site = self.json_cmd("site", "create", "--account", acc["id"], "--name", "Main",
                             "--contributor-limit", "5", "--language", "fr")
        self.assertRegex(site["id"], GUID)
        key = self.json_cmd("key", "create", "--account", acc["id"], "--permissions",
                            "site-users.read")
        self.assertEqual(sorted(key), ["id", "key"])
        role = self.json_cmd("role", "create", "--account", acc["id"], "--title", "Editor")
        roles = self.json_cmd("role", "list", "--account", acc["id"])
        self.assertEqual(len(roles["predefinedRoles"]), len(PREDEFINED_ROLES))
        self.assertEqual([r["id"] for r in roles["customRoles"]], [role["id"]])
        self.assertEqual(self.json_cmd("invite", "list", "--site", site["id"]), {"invites": []})
        self.assertEqual(self.json_cmd("outbox", "status")["queued"], 0)
        self.assertEqual(self.json_cmd("key", "revoke", key["id"])["revoked"], True)
        rc, out, _ = run("role", "list", "--account", acc["id"], "--db", self.db)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"(?m)^%s\s+Admin \(Co-Owner\)\s+" % ROLE_ADMIN)

    def test_validation_exit_1(self):
        acc = self.json_cmd("account", "create", "--name", "A", "--email", "a@a.test")["id"]
        cases = [
            (["site", "create", "--account", acc, "--name", "S", "--contributor-limit", "0"],
             "--contributor-limit"),
            (["site", "create", "--account", acc, "--name", "S", "--lifetime-days", "91"],
             "--lifetime-days"),
            (["site", "create", "--account", acc, "--name", "S", "--language", "??"],
             "--language"),
            (["site", "create", "--account", "0b7e5d8c-1111-4222-8333-444455556666", "--name",
              "S"], "no account"),
            (["site", "create", "--account", "nope", "--name", "S"], "not an ID"),
            (["account", "create", "--name", "B", "--email", "not-an-email"], "--email"),
            (["key", "create", "--account", acc, "--permissions", "root"], "--permissions"),
            (["key", "revoke", "0b7e5d8c-1111-4222-8333-444455556666"], "no API key"),
            (["invite", "list", "--site", "0b7e5d8c-1111-4222-8333-444455556666"], "no site"),
            (["account", "create", "--name", "C"], "--email is required"),
        ]
        for args, needle in cases:
            rc, out, err = run(*args, "--db", self.db)
            self.assertEqual(rc, 1, (args, err))
            self.assertIn(needle, err, args)
            self.assertEqual(out, "", args)

    def test_db_from_flag_env_and_file(self):
        tmp = self._tmp.name
        conf = os.path.join(tmp, "si.conf")
        with open(conf, "w") as f:
            f.write("db = sqlite:%s/file.db\nlisten = ignored-by-admin:1\n" % tmp)
        env = {"SITEINVITES_CONFIG": conf}
        self.assertEqual(run("migrate", env=env)[0], 0)
        self.assertTrue(os.path.exists(os.path.join(tmp, "file.db")))
        env["SITEINVITES_DB"] = "sqlite:%s/env.db" % tmp
        self.assertEqual(run("migrate", env=env)[0], 0)
        self.assertTrue(os.path.exists(os.path.join(tmp, "env.db")))
        self.assertEqual(run("migrate", "--db", "sqlite:%s/flag.db" % tmp, env=env)[0], 0)
        self.assertTrue(os.path.exists(os.path.join(tmp, "flag.db")))


if __name__ == "__main__":
    unittest.main()
