"""Harness for the end-to-end suites: runs the real siteinvites binary on 127.0.0.1 with a
temporary SQLite file and Maildir, creates tenants through the admin CLI, and talks HTTP to it.

Only the Python 3 standard library is used. The binary comes from $SI_BIN (ctest sets it); the
server's stderr goes to a file in the temp dir so a failure can show the last log lines.
"""

import datetime
import email.parser
import email.policy
import http.client
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

# Predefined role IDs (src/core/roles.c); part of the contract, they never change. The first
# three are Wix's own; Wix publishes no ID for the others.
ROLE_OWNER = "6601492336091027458"
ROLE_ACCOUNT_ADMIN = "6642345101181663232"
ROLE_ADMIN = "6732588207941061632"
ROLE_ADMIN_OLD = "1000000000000000001"  # the retired ID of Admin (Co-Owner), still accepted
ROLE_WEBSITE_MANAGER = "1000000000000000002"
ROLE_DESIGNER = "1000000000000000003"
ROLE_BACK_OFFICE = "1000000000000000004"
ROLE_BLOG_EDITOR = "1000000000000000005"
ROLE_BLOG_WRITER = "1000000000000000006"
ROLE_STORE_MANAGER = "1000000000000000007"
ROLE_MARKETING = "1000000000000000008"
PREDEFINED_ROLES = [ROLE_OWNER, ROLE_ACCOUNT_ADMIN, ROLE_ADMIN, ROLE_WEBSITE_MANAGER, ROLE_DESIGNER, ROLE_BACK_OFFICE,
                    ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER, ROLE_STORE_MANAGER, ROLE_MARKETING]

# SITEINVITES_SERVER_WRAPPER: words put before the serve command line, e.g.
# "valgrind --error-exitcode=99 --leak-check=full" (tests/valgrind/run.sh). A wrapped server is
# slower, so the three waits below grow by SITEINVITES_TIMEOUT_SCALE (default 10 with a wrapper).
SERVER_WRAPPER = shlex.split(os.environ.get("SITEINVITES_SERVER_WRAPPER", ""))
TIMEOUT_SCALE = float(os.environ.get("SITEINVITES_TIMEOUT_SCALE") or (10 if SERVER_WRAPPER else 1))
START_TIMEOUT_S = 15 * TIMEOUT_SCALE  # serve must print its port line within this
STOP_TIMEOUT_S = 15 * TIMEOUT_SCALE   # and exit after SIGTERM within this
HTTP_TIMEOUT_S = 10 * TIMEOUT_SCALE  # every call here answers in milliseconds; a hang fails fast
CLI_TIMEOUT_S = 30
BODY_LIMIT = 1024 * 1024  # docs/API.md §4 default request body limit

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def binary():
    """The siteinvites binary under test: $SI_BIN, else the usual build folders."""
    path = os.environ.get("SI_BIN")
    if path:
        return path
    src = os.environ.get("SI_SOURCE_DIR",
                         os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    for build in ("build", "build-itest"):
        cand = os.path.join(src, build, "siteinvites")
        if os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("set SI_BIN to the siteinvites binary")


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    """Polls fn() until it returns a truthy value and returns it; AssertionError at the deadline.
    Waiting is never the assertion itself: the caller asserts on the returned value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


class Response:
    """One HTTP answer: status, headers (lower-case names), raw body and parsed JSON (or None)."""

    def __init__(self, method, path, status, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        text = self.body[:600].decode("utf-8", "replace")
        return "%s %s -> %d %s" % (self.method, self.path, self.status, text)


def psql(url, sql):
    """Runs one SQL statement with the psql command on url; returns its unaligned output."""
    return subprocess.run(["psql", "-qXAt", url, "-c", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def server_on_same_database(first, **kw):
    """A second Server (not started; kw as for Server) serving first's PostgreSQL database, for
    the suites of several instances: the database made for it is dropped."""
    second = Server(**kw)
    psql(os.environ["SI_TEST_STORE_URL"], "DROP DATABASE %s WITH (FORCE)" % second.pg_db)
    second.pg_db, second.db = None, first.db
    return second


def advance_clock_file(path, seconds):
    """Adds seconds to the offset (milliseconds) in a test clock file; returns the new offset."""
    try:
        with open(path) as f:
            offset = int(f.read().strip() or "0")
    except FileNotFoundError:
        offset = 0
    offset += int(seconds * 1000)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % offset)
    os.replace(tmp, path)
    return offset


def discard_dir(path):
    """Removes path, or moves it into $BENCH_TRASH when set (the benchmarks): on ext4 without a
    journal a delete slows the file creation of the next minutes (bench/lib.sh, discard_dir)."""
    trash = os.environ.get("BENCH_TRASH")
    if trash:
        shutil.move(path, trash)
    else:
        shutil.rmtree(path, ignore_errors=True)


class Server:
    """Runs `siteinvites serve` on 127.0.0.1:0 in a temp dir. Use as a context manager; exit
    stops it with SIGTERM and asserts exit status 0. kill9() and restart() keep the same files."""

    def __init__(self, lifetime_s=None, extra_args=(), keep_dir=False, test_clock=False,
                 clock_file=None, extra_env=None):
        self.lifetime_s = lifetime_s
        self.extra_args = list(extra_args)
        # Environment added to serve's (with SITEINVITES_TESTS=1); may change between restarts.
        self.extra_env = dict(extra_env or {})
        self.dir = tempfile.mkdtemp(prefix="sitest-")
        self.keep_dir = keep_dir
        self.db_path = os.path.join(self.dir, "si.db")
        self.db = "sqlite:" + self.db_path
        self.pg_db = None
        admin = os.environ.get("SI_TEST_STORE_URL", "")
        if admin.startswith(("postgres://", "postgresql://")):
            # A fresh database per Server on the test server (tests/pg/pg_server.sh).
            self.pg_db = "si_t_" + os.urandom(8).hex()
            subprocess.run(["psql", "-qX", admin, "-c",
                            "CREATE DATABASE %s TEMPLATE template0" % self.pg_db], check=True)
            base, _, query = admin.partition("?")
            self.db = base.rsplit("/", 1)[0] + "/" + self.pg_db + ("?" + query if query else "")
        self.mail_dir = os.path.join(self.dir, "mail")
        self.secret_file = os.path.join(self.dir, "secret.key")
        self.log_path = os.path.join(self.dir, "serve.log")
        # The test clock (serve --test-clock-file): test_clock=True gives this server a clock
        # file of its own; clock_file= shares one (two instances on one database).
        self.clock_file = clock_file or (os.path.join(self.dir, "clock-offset-ms")
                                         if test_clock else None)
        self.proc = None
        self.port = None
        self.responses = []  # every Response seen, for suite-wide checks (5xx, request IDs)
        self._lock = threading.Lock()
        self.starts = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def close(self):
        """Stops (asserting exit 0) and removes the temp dir; for setUpClass/tearDownClass."""
        self.__exit__(None, None, None)

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.proc is not None:
                self.stop()
        finally:
            if not self.keep_dir and os.environ.get("SI_KEEP_TMP") is None:
                discard_dir(self.dir)
                if self.pg_db:
                    subprocess.run(["psql", "-qX", os.environ["SI_TEST_STORE_URL"], "-c",
                                    "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_db],
                                   check=False)
        return False

    def argv(self):
        args = SERVER_WRAPPER + [binary(), "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                "--mail-dir", self.mail_dir, "--secret-file", self.secret_file]
        if self.lifetime_s is not None:
            args += ["--invite-lifetime-seconds", str(self.lifetime_s)]
        if self.clock_file:
            args += ["--test-clock-file", self.clock_file]
        return args + self.extra_args

    def advance_clock(self, seconds):
        """Moves the server's clock (every server on this clock file) seconds forward. The file
        is replaced whole (rename), and serve reads it again on its next look at the clock."""
        assert self.clock_file, "start the Server with test_clock=True"
        return advance_clock_file(self.clock_file, seconds)

    scheme = "http"  # a subclass serving TLS prints and speaks https

    def start(self):
        """Starts serve and waits for its one `listening <scheme>://127.0.0.1:PORT` line."""
        assert self.proc is None, "already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(b"---- start %d (%s) ----\n" % (self.starts, self.scheme.encode()))
            env = (dict(os.environ, SITEINVITES_TESTS="1", **self.extra_env)
                   if self.clock_file or self.extra_env else None)
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=log, env=env)
        line = self._read_line(self.proc.stdout, START_TIMEOUT_S)
        m = re.fullmatch(r"listening %s://127\.0\.0\.1:(\d+)\n" % self.scheme, line or "")
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise AssertionError("serve did not print its port line; stdout %r\n%s"
                                 % (line, self.log_tail()))
        self.port = int(m.group(1))
        # Anything more on stdout breaks the contract ("exactly one line"); keep it for checks.
        self.extra_stdout = []
        self._drainer = threading.Thread(target=self._drain,
                                         args=(self.proc.stdout, self.extra_stdout), daemon=True)
        self._drainer.start()

    @staticmethod
    def _read_line(stream, timeout):
        fd = stream.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", "replace")

    @staticmethod
    def _drain(stream, sink):
        for line in stream:
            sink.append(line)

    def stop(self):
        """SIGTERM, then asserts a graceful exit 0 within STOP_TIMEOUT_S and that nothing but
        the port line was printed on stdout."""
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("serve did not exit within %ds of SIGTERM\n%s"
                                 % (STOP_TIMEOUT_S, self.log_tail()))
        finally:
            self._close_stdout(proc)
        if rc != 0:
            raise AssertionError("serve exited %d after SIGTERM\n%s" % (rc, self.log_tail()))
        if self.extra_stdout:
            raise AssertionError("serve printed more than its port line on stdout: %r"
                                 % self.extra_stdout[:5])

    def kill9(self):
        """SIGKILL: the crash the store and the outbox must survive."""
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self._close_stdout(proc)

    def _close_stdout(self, proc):
        # Closing while the drain thread still reads would block on the reader's lock (a
        # grandchild may hold the pipe open); a daemon thread left reading is harmless.
        self._drainer.join(5)
        if not self._drainer.is_alive():
            proc.stdout.close()

    def restart(self):
        if self.proc is not None:
            self.stop()
        self.start()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, lines=40):
        return "---- serve stderr (tail) ----\n" + "\n".join(self.log_text().splitlines()[-lines:])

    # -- admin CLI ----------------------------------------------------------------------------
    def cli(self, *args, json_out=True):
        """Runs `siteinvites <args> [--json] --db <db>`; returns the parsed JSON (or stdout)."""
        argv = [binary()] + list(args) + (["--json"] if json_out else []) + ["--db", self.db]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=CLI_TIMEOUT_S)
        if p.returncode != 0:
            raise AssertionError("CLI %r exited %d: %s" % (args, p.returncode,
                                                          p.stderr.decode("utf-8", "replace")))
        out = p.stdout.decode("utf-8")
        if not json_out:
            return out
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError("CLI %r printed non-JSON: %r" % (args, out))

    # -- HTTP ---------------------------------------------------------------------------------
    def request(self, method, path, body=None, raw=None, headers=None, content_type=True):
        """One request on a fresh connection. body is JSON-encoded; raw is sent as is (bytes).
        content_type=True sends application/json when there is a body, False sends none, a
        string sends that. Returns a Response and records it in self.responses."""
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            if content_type is True:
                hdrs.setdefault("Content-Type", "application/json")
            elif content_type:
                hdrs["Content-Type"] = content_type
        if data is not None and len(data) > BODY_LIMIT // 2:
            resp = self._big_request(method, path, data, hdrs)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
            try:
                conn.request(method, path, body=data, headers=hdrs)
                r = conn.getresponse()
                payload = r.read()
                resp = Response(method, path, r.status,
                                {k.lower(): v for k, v in r.getheaders()}, payload)
            finally:
                conn.close()
        with self._lock:
            self.responses.append(resp)
        return resp

    def _big_request(self, method, path, data, hdrs):
        """Sends a large body in chunks and stops as soon as the server answers, because a server
        that refuses a body over its limit answers before reading it all."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT_S)
        try:
            head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n" % (
                method, path, self.port, len(data))
            head += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
            sock.sendall(head.encode("latin-1"))
            off = 0
            while off < len(data):
                ready, _, _ = select.select([sock], [], [], 0)
                if ready:
                    break
                try:
                    off += sock.send(data[off:off + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    break
            r = http.client.HTTPResponse(sock, method=method)
            r.begin()
            payload = r.read()
            return Response(method, path, r.status,
                            {k.lower(): v for k, v in r.getheaders()}, payload)
        finally:
            sock.close()

    def get_page(self, url):
        """GETs an absolute accept link's path on this server (the base URL may differ)."""
        m = re.match(r"^https?://[^/]+(/.*)$", url)
        assert m, "not an absolute URL: %r" % url
        return self.request("GET", m.group(1))

    # -- Maildir ------------------------------------------------------------------------------
    def maildir_messages(self):
        """Every delivered message in new/, parsed: list of (file name, EmailMessage)."""
        return maildir_messages(self.mail_dir)


def maildir_messages(mail_dir):
    new = os.path.join(mail_dir, "new")
    if not os.path.isdir(new):
        return []
    out = []
    parser = email.parser.BytesParser(policy=email.policy.default)
    for name in sorted(os.listdir(new)):
        with open(os.path.join(new, name), "rb") as f:
            out.append((name, parser.parse(f)))
    return out


def message_text(msg):
    """The decoded text/plain and text/html bodies of a message (None when a part is missing)."""
    plain = html = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part.get_content()
        elif ctype == "text/html" and html is None:
            html = part.get_content()
    return plain, html


ACCEPT_LINK = re.compile(r"https?://[^\s\"'<>]+/invite/[A-Za-z0-9_-]+")


def accept_links(text):
    """Every accept link in a text (plain or HTML)."""
    return ACCEPT_LINK.findall(text or "")


def recipient(msg):
    """The first To address of a message, lower-cased."""
    to = msg["To"]
    return to.addresses[0].addr_spec.lower() if to and to.addresses else None


def messages_to(server, addr):
    """Delivered messages addressed to addr (case-insensitive)."""
    return [m for _, m in server.maildir_messages() if recipient(m) == addr.lower()]


def parse_ts(text):
    """An RFC 3339 UTC timestamp with milliseconds as an aware datetime."""
    assert RFC3339_MS.match(text), "not RFC 3339 with milliseconds: %r" % text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def unique_email(tag="user", domain="example.com"):
    return "%s-%s@%s" % (tag, uuid.uuid4().hex[:12], domain)


class Tenant:
    """An account with one site and one full-permission key, made through the admin CLI."""

    def __init__(self, server, name="Acme", contributor_limit=None, language=None,
                 permissions=None, site_name=None):
        self.server = server
        tag = uuid.uuid4().hex[:8]
        self.email = "owner-%s@%s.example" % (tag, name.lower())
        self.account_id = server.cli("account", "create", "--name", "%s %s" % (name, tag),
                                     "--email", self.email)["id"]
        self.site_name = site_name or "%s Site %s" % (name, tag)
        self.site_id = self.add_site(self.site_name, contributor_limit, language)
        self.key_id, self.key = self.add_key(permissions)

    def for_site(self, site_id):
        """The same account and key acting on another of its sites."""
        other = Tenant.__new__(Tenant)
        other.__dict__.update(self.__dict__)
        other.site_id = site_id
        return other

    def add_site(self, name, contributor_limit=None, language=None):
        args = ["site", "create", "--account", self.account_id, "--name", name]
        if contributor_limit is not None:
            args += ["--contributor-limit", str(contributor_limit)]
        if language is not None:
            args += ["--language", language]
        return self.server.cli(*args)["id"]

    def add_key(self, permissions=None):
        args = ["key", "create", "--account", self.account_id]
        if permissions is not None:
            args += ["--permissions", ",".join(permissions)]
        out = self.server.cli(*args)
        return out["id"], out["key"]

    def revoke_key(self, key_id):
        self.server.cli("key", "revoke", key_id, json_out=False)

    def headers(self, key=None, site=None, extra=None):
        h = {"Authorization": self.key if key is None else key,
             "wix-site-id": self.site_id if site is None else site}
        h.update(extra or {})
        return {k: v for k, v in h.items() if v is not False}

    def call(self, method, path, body=None, key=None, site=None, headers=None, **kw):
        """An authenticated API call on this tenant's site (key/site override the defaults;
        pass False to leave a header out)."""
        return self.server.request(method, path, body=body,
                                   headers=self.headers(key, site, headers), **kw)

    # Shorthands for the Wix-compatible methods, on the /invites/... path form.
    def bulk(self, emails, policy_ids=(ROLE_BLOG_WRITER,), **extra):
        body = {"policyIds": list(policy_ids), "emails": list(emails)}
        body.update(extra)
        return self.call("POST", "/invites/site-invite/bulk", body)

    def get(self, invite_id, **kw):
        return self.call("GET", "/invites/site-invite/%s" % invite_id, **kw)

    def resend(self, invite_id, body=None, **kw):
        return self.call("POST", "/invites/site-invite/%s/resend" % invite_id,
                         {} if body is None else body, **kw)

    def revoke(self, invite_id, body=None, **kw):
        return self.call("POST", "/invites/site-invite/%s/revoke" % invite_id,
                         {} if body is None else body, **kw)

    def query(self, query=None, **kw):
        return self.call("POST", "/invites/site-invite/query", {"query": query or {}}, **kw)

    def query_all(self, flt=None, limit=100):
        """Walks every cursor page of a query; returns the invites in order."""
        out, cursor = [], None
        for _ in range(10000):
            paging = {"limit": limit}
            if cursor:
                paging["cursor"] = cursor
            q = {"cursorPaging": paging}
            if flt is not None and not cursor:
                q["filter"] = flt
            r = self.query(q)
            assert r.status == 200, r
            out.extend(r.json["invites"])
            meta = r.json["pagingMetadata"]
            cursor = (meta.get("cursors") or {}).get("next")
            if not meta.get("hasNext") or not cursor:
                return out
        raise AssertionError("query paging did not end")


class ApiTestCase(unittest.TestCase):
    """Base class: assertion helpers for the answer shapes of docs/API.md."""

    def assertStatus(self, resp, status, msg=None):
        self.assertEqual(resp.status, status, msg or "unexpected status: %r" % resp)

    def assertErrorShape(self, resp):
        """docs/API.md §4: exactly message + details, and details has exactly one kind."""
        self.assertIsInstance(resp.json, dict, "error body is not a JSON object: %r" % resp)
        self.assertEqual(set(resp.json), {"message", "details"}, "error body keys: %r" % resp)
        self.assertIsInstance(resp.json["message"], str, repr(resp))
        details = resp.json["details"]
        self.assertIsInstance(details, dict, repr(resp))
        kinds = set(details) & {"validationError", "applicationError"}
        self.assertEqual(len(kinds), 1, "details must hold exactly one kind: %r" % resp)
        self.assertEqual(set(details), kinds, "unexpected keys in details: %r" % resp)

    # docs/API.md §4: the only wire codes, each with its status (Wix's standard errors).
    STANDARD_CODES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                      404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "ALREADY_EXISTS",
                      413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
                      428: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED"}

    def assertAppError(self, resp, status, code, reason=None):
        """An applicationError with a standard code matching the status, and data.reason (our
        finer cause) equal to reason, or to code when reason is None."""
        self.assertStatus(resp, status)
        self.assertErrorShape(resp)
        app = resp.json["details"].get("applicationError")
        self.assertIsNotNone(app, "expected applicationError: %r" % resp)
        self.assertEqual(app.get("code"), code, repr(resp))
        self.assertEqual(self.STANDARD_CODES.get(status), code,
                         "code %s is not the standard code of %d" % (code, status))
        self.assertIsInstance(app.get("description"), str, repr(resp))
        self.assertIsInstance(app.get("data"), dict, repr(resp))
        self.assertEqual(app["data"].get("reason"), reason or code, repr(resp))
        return app

    def assertValidation(self, resp, field=None, rule=None):
        """400 validationError; if field is given, a violation names it (with rule, if given)."""
        self.assertStatus(resp, 400)
        self.assertErrorShape(resp)
        ve = resp.json["details"].get("validationError")
        self.assertIsNotNone(ve, "expected validationError: %r" % resp)
        fv = ve.get("fieldViolations")
        self.assertIsInstance(fv, list, repr(resp))
        self.assertTrue(fv, "fieldViolations is empty: %r" % resp)
        for v in fv:
            self.assertEqual({"field", "description", "violatedRule", "ruleName", "data"},
                             set(v), repr(v))
            self.assertIn(v["violatedRule"], {"REQUIRED_FIELD", "FORMAT", "MAX", "MIN",
                                              "MAX_SIZE", "INVALID_ENUM_VALUE", "OTHER"}, repr(v))
            self.assertEqual(v["ruleName"], v["violatedRule"], repr(v))
            self.assertIsInstance(v["data"], dict, repr(v))
        if field is not None:
            hits = [v for v in fv if v["field"] == field]
            self.assertTrue(hits, "no violation for field %r: %r" % (field, resp))
            if rule is not None:
                self.assertIn(rule, [v["violatedRule"] for v in hits], repr(resp))
        return fv

    def assertNo5xx(self, server):
        bad = [r for r in server.responses if r.status >= 500]
        self.assertEqual(bad, [], "5xx answers seen\n%s" % server.log_tail())

    @classmethod
    def closeServerNo5xx(cls, server):
        """For tearDownClass: asserts that no answer the class's server gave was a 5xx, over
        whatever tests ran and in whatever order (a failure here fails the run as an error of
        tearDownClass), then closes the server either way."""
        try:
            cls().assertNo5xx(server)
        finally:
            server.close()


def two_instances(test, extra_args=(), test_clock=False):
    """Two started `serve` processes on one fresh PostgreSQL database (SI_TEST_STORE_URL, as
    tests/pg/pg_server.sh run sets it), each with its own Maildir and the same server secret, as
    instances of one service have, and with test_clock one test clock file (a's); closed when
    test ends. Fails test without the variable."""
    url = os.environ.get("SI_TEST_STORE_URL", "")
    test.assertTrue(url.startswith(("postgres://", "postgresql://")),
                    "run under tests/pg/pg_server.sh run (SI_TEST_STORE_URL)")
    a = Server(extra_args=extra_args, test_clock=test_clock)  # makes a fresh database
    b = server_on_same_database(a, extra_args=extra_args,
                                clock_file=a.clock_file if test_clock else None)
    b.secret_file = a.secret_file
    a.start()
    test.addCleanup(a.close)
    b.start()
    test.addCleanup(b.close)
    return a, b
