"""`siteinvites invite import` when the server is not simply there (docs/CLI.md "When a call fails"
and --ca-file/--from-row/--retry-wait): https with a private CA made by openssl at test time
(trusted through --ca-file or CURL_CA_BUNDLE, one clear line without it), a 503 retried with
backoff, a server killed mid-import: bounded retries, one line naming the row to resume from,
and the resumed run completing every row exactly once; and a chunk whose Idempotency-Key another
request holds: a real 409 IDEMPOTENCY_KEY_IN_USE, retried, replayed, nothing doubled.

A small HTTP proxy in front of the real server plays the outage at a chosen Bulk Invite call, so
the kill lands between two chunks every time, not at a moment picked by a timer."""

import http.client
import http.server
import json
import os
import socketserver
import sqlite3
import sys
import tempfile
import threading
import time
import unittest

from sitest import GUID, ApiTestCase, Server, Tenant

import test_import as imp

# The private-CA helpers of the TLS suite (tests/api/test_tls.py), imported as a module so its
# test classes are not collected here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import test_tls as tls  # noqa: E402

RETRY_WAIT = ("--retry-wait", "20")  # the 2 s default made short: the test checks the shape
TRIES = 5  # IMPORT_TRIES in src/cli/import.c, documented in docs/CLI.md


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client uses it

    def log_message(self, *args):
        pass

    def do_POST(self):
        self._forward()

    def do_GET(self):
        self._forward()

    def _forward(self):
        p = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        action = p.decide(self.path)
        if action == "drop":
            # No answer at all: the connection closes under the client (server gone).
            self.close_connection = True
            return
        if action == "503":
            data = b'{"message":"down for maintenance"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        conn = http.client.HTTPConnection("127.0.0.1", p.upstream.port, timeout=30)
        try:
            hdrs = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body or None, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if p.answered(self.path, self.headers, r) == "drop":
            self.close_connection = True  # the server's answer never reaches the client
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "date",
                                 "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Proxy:
    """127.0.0.1:PORT forwarding to upstream. Bulk Invite calls are numbered from 1: the first
    `fail_first` get a 503 (Retry-After: 0); call `kill_at` SIGKILLs the upstream server before
    it is forwarded, and from then on every request is dropped unanswered."""

    def __init__(self, upstream, fail_first=0, kill_at=None):
        self.upstream, self.fail_first, self.kill_at = upstream, fail_first, kill_at
        self.bulk = 0
        self.gone = False
        self.lock = threading.Lock()
        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.proxy = self
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def decide(self, path):
        with self.lock:
            if path.endswith("/bulk"):
                self.bulk += 1
                if self.bulk == self.kill_at:
                    self.upstream.kill9()
                    self.gone = True
                if self.bulk <= self.fail_first:
                    return "503"
            return "drop" if self.gone else "forward"

    def answered(self, path, request_headers, response):
        """Called with each forwarded request's upstream answer; "drop" withholds it."""
        return None

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class KeyInUseProxy(Proxy):
    """Makes the first chunk's Idempotency-Key look held by a request that is still running:
    the chunk's first answer (its invites created, the key's record Done) is withheld and the
    record set back to Running under a 60 s lease, so the client's retry waits the server's
    10 s (IDEM_WAIT_MS) and gets a real 409 IDEMPOTENCY_KEY_IN_USE. When that 409 passes, the
    record is Done again (the holder "finished"), and the next retry must replay it."""

    def __init__(self, upstream, db_path):
        super().__init__(upstream)
        self.db_path = db_path
        self.key = None
        self.saved = None  # (state, lease_until_ms) of the record
        self.seen = []  # (Idempotency-Key, status, Idempotent-Replayed) of each Bulk Invite

    def _db(self, sql, args):
        db = sqlite3.connect(self.db_path, timeout=30)
        try:
            rows = db.execute(sql, args).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def answered(self, path, request_headers, response):
        if not path.endswith("/bulk"):
            return None
        key = request_headers.get("Idempotency-Key")
        with self.lock:
            self.seen.append((key, response.status, response.getheader("Idempotent-Replayed")))
            if self.key is None and response.status == 200:
                self.key = key
                self.saved = self._db("SELECT state, lease_until_ms FROM idempotency_keys"
                                      " WHERE key = ?", (key,))[0]
                self._db("UPDATE idempotency_keys SET state = 0, lease_until_ms = ?"
                         " WHERE key = ?", (int(time.time() * 1000) + 60000, key))
                return "drop"
            if key == self.key and response.status == 409 and self.saved:
                self._db("UPDATE idempotency_keys SET state = ?, lease_until_ms = ?"
                         " WHERE key = ?", self.saved + (key,))
                self.saved = None
        return None


def write_emails(path, emails):
    with open(path, "w") as f:
        f.write("email\n" + "".join(e + "\n" for e in emails))


def stop_lines(err):
    return [ln for ln in err.splitlines() if "stopped" in ln]


class ImportOutageTest(ApiTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="siresume-")
        self.server = Server()
        self.server.start()
        self.proxy = None

    def tearDown(self):
        if self.proxy:
            self.proxy.close()
        if self.server.proc is not None:
            self.server.stop()
        self.server.close()
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_503_is_retried_then_the_import_completes(self):
        t = Tenant(self.server)
        path = self.path("r.csv")
        write_emails(path, ["imp-r%02d@example.com" % i for i in range(30)])
        self.proxy = Proxy(self.server, fail_first=2)
        code, out, err = imp.run_import(self.server, t, path, "--chunk", "10", "--json",
                                        *RETRY_WAIT, url=self.proxy.url)
        self.assertEqual(code, 0, err)
        retries = [ln for ln in err.splitlines() if " try " in ln]
        self.assertEqual(len(retries), 2, err)
        self.assertIn("chunk 1 (rows 2-11): HTTP error SERVICE_UNAVAILABLE", retries[0])
        self.assertIn("try 2 of %d" % TRIES, retries[0])
        self.assertIn("try 3 of %d" % TRIES, retries[1])
        summary = json.loads(out)
        self.assertEqual((summary["created"], summary["calls"], summary["resumeFromRow"]),
                         (30, 5, None))
        self.assertEqual(imp.bulk_calls(self.server), [200] * 3)  # the 503s never reached it

    def test_server_killed_mid_import_stops_then_resumes_exactly_once(self):
        t = Tenant(self.server)
        emails = ["imp-k%02d@example.com" % i for i in range(60)]
        emails[38] = emails[3].upper()  # row 40 repeats row 5, across the resume point
        path, out_path = self.path("k.csv"), self.path("k.results.csv")
        write_emails(path, emails)
        self.proxy = Proxy(self.server, kill_at=3)  # chunks 1 and 2 pass, the 3rd kills it
        code, out, err = imp.run_import(self.server, t, path, "--chunk", "10", "--json",
                                        "--out", out_path, *RETRY_WAIT, url=self.proxy.url)
        self.assertEqual(code, 1, err)
        summary = json.loads(out)
        self.assertEqual(summary["calls"], 2 + TRIES)  # bounded: 5 tries of chunk 3, no more
        # libcurl itself resends once a request whose reused keep-alive connection died: the
        # proxy may count one more per try, never more than that.
        self.assertGreaterEqual(self.proxy.bulk, 2 + TRIES)
        self.assertLessEqual(self.proxy.bulk, 2 + 2 * TRIES)
        lines = stop_lines(err)
        self.assertEqual(len(lines), 1, err)
        self.assertIn("stopped at row 22 after %d tries" % TRIES, lines[0])
        self.assertIn("resume with --from-row 22", lines[0])
        self.assertIn(out_path, lines[0])
        retries = [ln for ln in err.splitlines() if " try " in ln]
        self.assertEqual(len(retries), TRIES - 1, err)
        for ln in retries:
            self.assertIn("chunk 3 (rows 22-31): no answer TRANSPORT", ln)
        self.assertEqual((summary["resumeFromRow"], summary["rows"]), (22, 20))
        rows = imp.read_results(out_path)
        self.assertEqual([int(r[0]) for r in rows], list(range(2, 22)))
        self.assertEqual({r[2] for r in rows}, {"created"})

        # The server comes back (same database, new port); resume where the line said.
        self.server.start()
        code, out, err = imp.run_import(self.server, t, path, "--chunk", "10", "--json",
                                        "--out", out_path, "--from-row", "22")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["resumeFromRow"], None)
        rows = imp.read_results(out_path)  # one header, then every data row exactly once
        self.assertEqual([int(r[0]) for r in rows], list(range(2, 62)))
        self.assertEqual([r[1] for r in rows], emails)
        self.assertEqual([r[2] for r in rows],
                         ["duplicate" if i == 38 else "created" for i in range(60)])
        self.assertIn("row 5", rows[38][5])
        ids = [r[3] for r in rows if r[2] == "created"]
        for i in ids:
            self.assertRegex(i, GUID)
        self.assertEqual(len(set(ids)), 59)
        # Never sent twice: nothing came back `existing`, and the server holds 59 invites.
        pending = {i["email"].lower(): i["id"] for i in t.query_all({"status": "Pending"})}
        self.assertEqual(sorted(pending.values()), sorted(ids))
        self.assertEqual(imp.bulk_calls(self.server), [200] * 6)  # 2 before the kill, 4 after


class ImportKeyInUseTest(ApiTestCase):
    """The 409 IDEMPOTENCY_KEY_IN_USE path of the import (src/cli/import.c `retryable`): a
    chunk whose key another request still holds is retried after the Retry-After, and the retry
    replays the holder's answer: every row created once, no invite twice. SQLite only: the proxy
    edits the key's record in the server's file (about 15 s: the server's 10 s wait)."""

    def test_in_use_is_retried_and_nothing_is_doubled(self):
        with tempfile.TemporaryDirectory(prefix="siinuse-") as tmp, Server() as server:
            if server.pg_db:
                self.skipTest("the proxy edits the SQLite file")
            t = Tenant(server)
            path = os.path.join(tmp, "u.csv")
            emails = ["imp-u%02d@example.com" % i for i in range(30)]
            write_emails(path, emails)
            proxy = KeyInUseProxy(server, server.db_path)
            try:
                start = time.monotonic()
                code, out, err = imp.run_import(server, t, path, "--chunk", "10", "--json",
                                                *RETRY_WAIT, url=proxy.url)
                took = time.monotonic() - start
            finally:
                proxy.close()
            self.assertEqual(code, 0, err)
            retries = [ln for ln in err.splitlines() if " try " in ln]
            self.assertEqual(len(retries), 2, err)
            self.assertIn("chunk 1 (rows 2-11): no answer TRANSPORT", retries[0])
            # The 409's code and message (details.applicationError.code IDEMPOTENCY_KEY_IN_USE is
            # what the import's `retryable` keys on).
            self.assertIn("chunk 1 (rows 2-11): HTTP error ALREADY_EXISTS: A request with this "
                          "Idempotency-Key is still running", retries[1])
            self.assertIn("try 3 of %d" % TRIES, retries[1])
            # What the server answered, in order: the withheld first answer, the 409 after its
            # 10 s wait, the replay of the first answer, then the two other chunks.
            key = proxy.key
            self.assertEqual(proxy.seen[:3], [(key, 200, None), (key, 409, None),
                                              (key, 200, "true")])
            self.assertEqual([s for _, s, _ in proxy.seen[3:]], [200, 200])
            self.assertNotIn(key, [k for k, _, _ in proxy.seen[3:]])
            self.assertGreater(took, 10)  # the 409 came after the server's wait, not at once
            summary = json.loads(out)
            self.assertEqual((summary["created"], summary["resumeFromRow"]), (30, None))
            # No invite twice: one Pending invite per address, 30 in all.
            pending = [i["email"].lower() for i in t.query_all({"status": "Pending"})]
            self.assertEqual(sorted(pending), sorted(emails))


class ImportPrivateCaTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tls.Pki()
        try:
            cls.server = tls.TlsServer(cls.pki).__enter__()
        except BaseException:
            cls.pki.close()
            raise
        cls.tmp = tempfile.TemporaryDirectory(prefix="sica-")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.pki.close()
        cls.tmp.cleanup()

    def csv(self, name, n):
        path = os.path.join(self.tmp.name, name)
        write_emails(path, ["imp-%s%02d@example.com" % (name[0], i) for i in range(n)])
        return path

    def url(self):
        return "https://127.0.0.1:%d" % self.server.port

    def test_untrusted_certificate_is_one_line_then_ca_file_and_env_work(self):
        t = Tenant(self.server)
        path = self.csv("untrusted.csv", 25)
        before = len(imp.bulk_calls(self.server))
        code, out, err = imp.run_import(self.server, t, path, "--chunk", "5", *RETRY_WAIT,
                                        url=self.url())
        self.assertEqual(code, 1, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)  # not one per chunk or row
        self.assertIn("stopped at row 2: no answer TRANSPORT", err)
        self.assertIn("certificate", err)
        self.assertIn("--ca-file", err)
        self.assertIn("--from-row 2", err)
        self.assertNotIn(" try ", err)  # a certificate is not retried
        self.assertEqual(imp.read_results(path + ".results.csv"), [])
        self.assertEqual(len(imp.bulk_calls(self.server)), before)  # no request got through

        code, out, err = imp.run_import(self.server, t, path, "--chunk", "5", "--ca-file",
                                        self.pki.path("ca.pem"), url=self.url())
        self.assertEqual(code, 0, err)
        self.assertEqual({r[2] for r in imp.read_results(path + ".results.csv")}, {"created"})

        path2 = self.csv("env.csv", 7)
        code, out, err = imp.run_import(self.server, t, path2, url=self.url(),
                                        env={"CURL_CA_BUNDLE": self.pki.path("ca.pem")})
        self.assertEqual(code, 0, err)
        self.assertIn("7 created", out)
        # --ca-file wins over the environment; an unreadable one is a config error (exit 2).
        code, out, err = imp.run_import(self.server, t, path2, "--ca-file",
                                        self.pki.path("ca.pem"), url=self.url(),
                                        env={"CURL_CA_BUNDLE": "/nonexistent/ca.pem"})
        self.assertEqual(code, 0, err)
        self.assertIn("7 existing", out)
        code, out, err = imp.run_import(self.server, t, path2, "--ca-file",
                                        self.pki.path("missing.pem"), url=self.url())
        self.assertEqual(code, 2, err)
        self.assertIn("--ca-file", err)


if __name__ == "__main__":
    unittest.main()
