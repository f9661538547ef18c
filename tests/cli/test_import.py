"""`siteinvites invite import` for real (docs/CLI.md, docs/API.md §8): a 2,500-row spreadsheet with a BOM,
CRLF, quoted fields, bad and repeated addresses goes to a running server in chunks; the result
file answers every data row in order; a rerun invites nobody twice; a refused or missing key and
an unreadable file stop with the documented exit codes; chunks map to Bulk Invite calls; each
chunk carries an Idempotency-Key derived from its content, so a rerun replays chunks already done."""

import csv
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import unittest

from sitest import (GUID, ROLE_BLOG_WRITER, ROLE_DESIGNER, ApiTestCase, Server, Tenant, binary,
                    psql, wait_until)

RUN_TIMEOUT_S = 300
BULK_LINE = re.compile(r" POST /invites/site-invite/bulk (\d{3}) ")


def run_import(server, tenant, csv_path, *extra, key=None, env_key=True, url=None, env=None):
    """Runs the import against server (or url); returns (exit code, stdout, stderr). No
    CURL_CA_BUNDLE comes from outside; env adds variables."""
    env = dict({k: v for k, v in os.environ.items()
                if not k.startswith("SITEINVITES_") and k != "CURL_CA_BUNDLE"}, **(env or {}))
    if env_key:
        env["SITEINVITES_API_KEY"] = tenant.key if key is None else key
    argv = [binary(), "invite", "import", "--site", tenant.site_id, "--policy",
            "%s,%s" % (ROLE_BLOG_WRITER, ROLE_DESIGNER), "--csv", csv_path,
            "--url", url or "http://127.0.0.1:%d" % server.port] + list(extra)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                       timeout=RUN_TIMEOUT_S)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def read_results(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["row", "email", "result", "invite_id", "code", "description"], rows[0]
    return rows[1:]


def bulk_calls(server):
    """Bulk Invite requests in the server's access log, as their statuses."""
    return [int(m.group(1)) for m in BULK_LINE.finditer(server.log_text())]


def bulk_calls_after(server, before, n):
    """The Bulk Invite statuses logged after the first `before`, once there are at least n: the
    access log line is written when the answer is complete, which a slow server (valgrind) may
    do after the client has read it."""
    return wait_until(lambda: (lambda c: c if len(c) >= n else None)(bulk_calls(server)[before:]),
                      10, what="%d Bulk Invite lines in the access log" % n)


def write_big_csv(path, tag):
    """2,500 data rows: header `Name,Email,Note`, a BOM, CRLF, quoted fields (commas, quotes,
    a line break), 3 malformed addresses and 2 repeats (one differing only in case). Returns the
    expected (spreadsheet row, email, kind) per data row, kind in valid|invalid|duplicate."""
    expected, lines = [], ['Name,"Email",Note']
    bad = {100: "not-an-address", 1200: "two@@example.com", 2400: "a b@example.com"}
    dups = {700: 5, 1800: 6}  # data index -> data index it repeats
    for i in range(2500):
        row = i + 2  # the header is spreadsheet row 1
        if i in bad:
            email, kind = bad[i], "invalid"
        elif i in dups:
            email, kind = expected[dups[i]][1], "duplicate"
            if i == 1800:
                email = email.upper()
        else:
            email, kind = "imp-%s-%04d@example.com" % (tag, i), "valid"
        note = ['plain', '"has, a comma"', '"says ""hi"""', '"two\r\nlines"'][i % 4]
        name = '"Person %d"' % i if i % 3 == 0 else "Person %d" % i
        lines.append("%s,%s,%s" % (name, email, note))
        expected.append((row, email, kind))
        if i == 50:  # a blank line is skipped but still counts as a spreadsheet row
            lines.append("")
    # Rows after the blank line (after spreadsheet row 52) move down by one.
    fixed = [(row + 1 if row > 52 else row, email, kind) for (row, email, kind) in expected]
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    return fixed


class ImportTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()
        cls.tmp = tempfile.TemporaryDirectory(prefix="siimport-")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def pending_emails(self, tenant):
        return {i["email"].lower(): i for i in tenant.query_all({"status": "Pending"})}

    def test_big_file_then_rerun(self):
        t = Tenant(self.server, contributor_limit=5000)
        path = self.path("people.csv")
        expected = write_big_csv(path, "big")
        calls_before = len(bulk_calls(self.server))
        code, out, err = run_import(self.server, t, path, "--json")
        self.assertEqual(code, 1, "failures must give exit 1: %s" % err)
        rows = read_results(path + ".results.csv")
        # One result line per data row, in input order, at the spreadsheet row numbers.
        self.assertEqual([(int(r[0]), r[1]) for r in rows], [(e[0], e[1]) for e in expected])
        kinds = {"valid": "created", "invalid": "failed", "duplicate": "duplicate"}
        self.assertEqual([r[2] for r in rows], [kinds[e[2]] for e in expected])
        for r, e in zip(rows, expected):
            if e[2] == "invalid":
                self.assertEqual(r[4], "INVALID_EMAIL", r)
            if e[2] == "valid":
                self.assertRegex(r[3], GUID)
        summary = json.loads(out)
        self.assertEqual(summary["rows"], 2500)
        self.assertEqual((summary["created"], summary["failed"], summary["duplicate"],
                          summary["existing"], summary["error"]), (2495, 3, 2, 0, 0))
        self.assertEqual(summary["calls"], 3)  # 2,495 addresses in chunks of 1,000
        self.assertEqual(len(bulk_calls(self.server)) - calls_before, 3)
        self.assertIn("imported 2500/2500 rows: 2495 invited, 3 failed", err)
        # Every created row is an invite the API knows, with both roles.
        pending = self.pending_emails(t)
        self.assertEqual(len(pending), 2495)
        for r in rows:
            if r[2] == "created":
                inv = pending[r[1].lower()]
                self.assertEqual(inv["id"], r[3])
                self.assertEqual(sorted(inv["policyIds"]), sorted([ROLE_BLOG_WRITER,
                                                                   ROLE_DESIGNER]))
        # A rerun is safe: every valid row comes back existing, and no invite is added.
        code, out, err = run_import(self.server, t, path, "--out", self.path("rerun.csv"))
        self.assertEqual(code, 1, err)
        again = read_results(self.path("rerun.csv"))
        self.assertEqual([r[2] for r in again],
                         [{"created": "existing"}.get(r[2], r[2]) for r in rows])
        self.assertEqual([r[3] for r in again], [r[3] for r in rows])
        self.assertEqual(len(self.pending_emails(t)), 2495)
        self.assertIn("0 created, 2495 existing, 3 failed, 2 duplicate, 0 error", out)

    def import_keys(self):
        sql = "SELECT key FROM idempotency_keys WHERE key LIKE 'import-%' ORDER BY key"
        if self.server.pg_db:
            return set(filter(None, psql(self.server.db, sql).split()))
        with sqlite3.connect(self.server.db_path) as db:
            return {r[0] for r in db.execute(sql)}

    def test_each_chunk_has_a_key_from_its_content(self):
        t = Tenant(self.server, contributor_limit=100)
        path = self.path("keyed.csv")
        emails = ["keyed-%d-%s@example.com" % (i, t.site_id[:8]) for i in range(5)]
        with open(path, "w") as f:
            f.write("Email\n" + "\n".join(emails) + "\n")
        before = self.import_keys()
        code, out, err = run_import(self.server, t, path, "--chunk", "2")
        self.assertEqual(code, 0, err)
        first = self.import_keys() - before
        self.assertEqual(len(first), 3, "one key per chunk of 2 out of 5 rows")
        for k in first:
            self.assertRegex(k, r"^import-[0-9a-f]{32}$")
        # The same file again: the same three keys, replayed; nobody is invited twice.
        code, out, err = run_import(self.server, t, path, "--chunk", "2",
                                    "--out", self.path("keyed-again.csv"))
        self.assertEqual(code, 0, err)
        self.assertEqual(self.import_keys() - before, first)
        self.assertEqual([r[2] for r in read_results(self.path("keyed-again.csv"))],
                         ["existing"] * 5)
        self.assertEqual(len(self.pending_emails(t)), 5)
        # One address changed in the last chunk: that chunk alone gets a new key.
        with open(path, "w") as f:
            f.write("Email\n" + "\n".join(emails[:4] + ["other-" + emails[4]]) + "\n")
        code, out, err = run_import(self.server, t, path, "--chunk", "2",
                                    "--out", self.path("keyed-third.csv"))
        self.assertEqual(code, 0, err)
        self.assertEqual(len(self.import_keys() - before - first), 1)
        self.assertEqual(len(self.pending_emails(t)), 6)

    def test_chunks_map_to_calls_and_clean_exit(self):
        t = Tenant(self.server)
        path = self.path("thirty.csv")
        with open(path, "w") as f:  # no header: the first column is the address, LF ends
            for i in range(30):
                f.write("imp-c%02d@Example.COM,x\n" % i)
        before = len(bulk_calls(self.server))
        code, out, err = run_import(self.server, t, path, "--chunk", "7", "--out",
                                    self.path("thirty.out"))
        self.assertEqual(code, 0, err)
        self.assertEqual(bulk_calls_after(self.server, before, 5), [200] * 5)  # 7+7+7+7+2
        self.assertEqual(len(err.strip().splitlines()), 5, err)  # one progress line per chunk
        rows = read_results(self.path("thirty.out"))
        self.assertEqual([r[0] for r in rows], [str(i + 1) for i in range(30)])
        self.assertEqual({r[2] for r in rows}, {"created"})
        self.assertIn("30 created, 0 existing, 0 failed", out)

    def test_wrong_key_stops_without_leaking_it(self):
        t = Tenant(self.server)
        path = self.path("few.csv")
        with open(path, "w") as f:
            f.write("email\n" + "".join("imp-k%d@example.com\n" % i for i in range(12)))
        wrong = "sik_" + "Z" * 40
        before = len(bulk_calls(self.server))
        code, out, err = run_import(self.server, t, path, "--chunk", "5", key=wrong)
        self.assertEqual(code, 1, err)
        self.assertEqual(bulk_calls_after(self.server, before, 1), [401])  # stopped after one call
        self.assertIn("UNAUTHENTICATED", err)
        self.assertIn("stopped", err)
        with open(path + ".results.csv") as f:
            text = f.read()
        for where in (out, err, text):
            self.assertNotIn(wrong, where)
            self.assertNotIn(t.key, where)
        rows = read_results(path + ".results.csv")
        self.assertEqual([r[2] for r in rows], ["error"] * 5)
        self.assertEqual(self.pending_emails(t), {})

    def test_usage_and_config_errors_exit_2_before_any_request(self):
        t = Tenant(self.server)
        path = self.path("one.csv")
        with open(path, "w") as f:
            f.write("imp-u@example.com\n")
        before = len(bulk_calls(self.server))
        code, out, err = run_import(self.server, t, path, env_key=False)
        self.assertEqual(code, 2)
        self.assertIn("SITEINVITES_API_KEY", err)
        code, _, err = run_import(self.server, t, self.path("missing.csv"))
        self.assertEqual(code, 2)
        self.assertIn("missing.csv", err)
        for bad in (["--chunk", "0"], ["--chunk", "1001"], ["--bogus"], ["--policy", ""],
                    ["--from-row", "0"], ["--from-row", "x"], ["--retry-wait", "-1"],
                    ["--retry-wait", "60001"], ["--ca-file", self.path("no-ca.pem")]):
            code, _, err = run_import(self.server, t, path, *bad)
            self.assertEqual(code, 2, "%r: %s" % (bad, err))
            self.assertTrue(err.startswith("siteinvites: "), err)
        # --key-file works instead of the environment, and an unreadable one is exit 2.
        key_file = self.path("key")
        with open(key_file, "w") as f:
            f.write(t.key + "\n")
        code, _, err = run_import(self.server, t, path, "--key-file", self.path("nokey"),
                                  env_key=False)
        self.assertEqual(code, 2, err)
        self.assertEqual(bulk_calls(self.server)[before:], [])
        code, out, err = run_import(self.server, t, path, "--key-file", key_file, env_key=False)
        self.assertEqual(code, 0, err)
        self.assertEqual(bulk_calls_after(self.server, before, 1), [200])


if __name__ == "__main__":
    unittest.main()
