"""A webhook receiver for the tests: a threaded http.server on 127.0.0.1 that records every
POST and checks its Standard Webhooks signature with its own HMAC code (hmac + hashlib, nothing
shared with the server). Each path can be told to answer 500 a number of times, or to sleep."""

import base64
import hashlib
import hmac
import http.server
import json
import ssl
import threading
import time


def sign(secret, msg_id, timestamp, body):
    """The v1 signature of Standard Webhooks: base64 of HMAC-SHA256 keyed by the base64-decoded
    part of whsec_... over "id.timestamp.body"."""
    assert secret.startswith("whsec_"), secret
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), timestamp.encode(), body),
                   hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verify(secret, headers, body):
    """True when one of the space-separated v1 signatures matches secret."""
    expected = sign(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
               for part in headers["webhook-signature"].split(" "))


class Received:
    def __init__(self, path, headers, body, when):
        self.path = path
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.when = when
        self.json = json.loads(body)

    @property
    def type(self):
        return self.json["type"]


class Receiver:
    """Use as a context manager; url(path) is where to point a webhook."""

    def __init__(self, tls=None):
        """tls: (certificate file, key file) to serve HTTPS instead of HTTP."""
        self.tls = tls
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.got = []
        self.fail = {}   # path -> how many more 500s
        self.sleep = {}  # path -> seconds to sleep before answering (each time)
        self.sleep_once = {}  # path -> seconds to sleep on the next request only
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    delay = outer.sleep.get(self.path, 0) or outer.sleep_once.pop(self.path, 0)
                    fails = outer.fail.get(self.path, 0)
                    if fails:
                        outer.fail[self.path] = fails - 1
                if delay:
                    time.sleep(delay)
                with outer.cond:
                    outer.got.append(Received(self.path, dict(self.headers), body, time.time()))
                    outer.cond.notify_all()
                status = 500 if fails else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    def url(self, path="/hook", host="127.0.0.1"):
        return "%s://%s:%d%s" % ("https" if self.tls else "http", host,
                                 self.httpd.server_address[1], path)

    def received(self, path=None):
        with self.lock:
            return [r for r in self.got if path is None or r.path == path]

    def wait_for(self, pred, timeout=20.0, what="webhooks"):
        """Waits until pred(list of received) is true; returns that list."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                got = list(self.got)
                if pred(got):
                    return got
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timed out waiting for %s; got %r" %
                                         (what, [(r.path, r.type) for r in got]))
                self.cond.wait(left)

    def assert_one_set(self, test, path, site_id, invite_ids, server_db_count, timeout=20.0):
        """Asserts that path got exactly one invite.created per ID of invite_ids, each signed
        once with its own webhook-id: waits for them, then for the server's queue of site_id to
        be empty (server_db_count(sql) -> int), so that a duplicate would have arrived too."""
        want = set(invite_ids)
        self.wait_for(lambda got: len([r for r in got if r.path == path]) >= len(want), timeout,
                      "%d invite.created on %s" % (len(want), path))
        deadline = time.time() + timeout
        queued = ("SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e"
                  " ON e.id = d.event_id WHERE e.site_id = '%s' AND d.status = 'Queued'" % site_id)
        while server_db_count(queued) and time.time() < deadline:
            time.sleep(0.1)
        test.assertEqual(server_db_count(queued), 0, "deliveries still queued")
        test.assertEqual(server_db_count("SELECT count(*) FROM webhook_events WHERE site_id = '%s'"
                                         % site_id), len(want), "events written")
        got = self.received(path)
        test.assertEqual(sorted(r.type for r in got), ["invite.created"] * len(want))
        test.assertEqual(sorted(r.json["data"]["id"] for r in got), sorted(want))
        test.assertEqual(len({r.headers["webhook-id"] for r in got}), len(got),
                         "a webhook-id came twice")
        return got
