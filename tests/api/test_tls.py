"""Native TLS end to end (docs/CLI.md --tls-cert/--tls-key) with the real binary: a throwaway CA and
a certificate for 127.0.0.1 made with the openssl command at test time (no key is committed),
https calls with that CA trusted, plain HTTP refused on the TLS port, and the start-up errors.

sitest.Server speaks plain HTTP and waits for `listening http://`; TlsServer below is the small
local change for https (the port line, and requests through http.client.HTTPSConnection)."""

import http.client
import json
import os
import shutil
import socket
import signal
import ssl
import subprocess
import tempfile
import time
import unittest

from sitest import (CLI_TIMEOUT_S, HTTP_TIMEOUT_S, START_TIMEOUT_S, ROLE_BLOG_WRITER, ApiTestCase,
                    Response, Server, Tenant, binary, unique_email, wait_until)

OPENSSL_TIMEOUT_S = 30
PLAIN_ATTEMPTS = 20  # plain-HTTP requests thrown at the TLS port before checking it still serves
LEAF_EXT = ("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")


def openssl(*args, cwd):
    path = shutil.which("openssl")
    if not path:
        raise AssertionError("the openssl command is needed (Debian package openssl)")
    subprocess.run([path] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=OPENSSL_TIMEOUT_S)


def ec_key(name, cwd):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-out", name, cwd=cwd)


class Pki:
    """A CA and a leaf certificate for IP 127.0.0.1 signed by it, in a private temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sitls-")
        d = self.dir
        ec_key("ca.key", d)
        openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=siteinvites test CA", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
                cwd=d)
        ec_key("key.pem", d)
        openssl("req", "-new", "-key", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1",
                cwd=d)
        with open(os.path.join(d, "leaf.ext"), "w") as f:
            f.write(LEAF_EXT)
        openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "leaf.ext",
                cwd=d)
        os.chmod(self.path("key.pem"), 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)

    def key_lines(self, name="key.pem"):
        """The base64 body lines of a key file: none may ever show up in output or logs."""
        with open(self.path(name)) as f:
            return [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]

    def context(self):
        return ssl.create_default_context(cafile=self.path("ca.pem"))

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TlsServer(Server):
    """sitest.Server with --tls-cert/--tls-key: waits for `listening https://127.0.0.1:PORT`
    and sends every request over TLS, verifying the certificate against the test CA."""

    scheme = "https"

    def __init__(self, pki, key="key.pem", **kw):
        super().__init__(**kw)
        self.pki = pki
        self.extra_args += ["--tls-cert", pki.path("cert.pem"), "--tls-key", pki.path(key)]

    def request(self, method, path, body=None, raw=None, headers=None, content_type=True):
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            if content_type:
                hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S,
                                           context=self.pki.context())
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            resp = Response(method, path, r.status, {k.lower(): v for k, v in r.getheaders()},
                            r.read())
        finally:
            conn.close()
        with self._lock:
            self.responses.append(resp)
        return resp


class TlsServeTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        try:
            cls.server = TlsServer(cls.pki).__enter__()
        except BaseException:
            cls.pki.close()
            raise
        try:
            cls.t = Tenant(cls.server, "Tlsco")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.close()
        finally:
            cls.pki.close()

    def test_failed_handshake_names_the_client(self):
        # Plain HTTP to the TLS port: GnuTLS refuses the handshake; the log says who it was.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                c.recv(100)
            except OSError:
                pass
        line = wait_until(lambda: [ln for ln in self.server.log_text().splitlines()
                                   if "TLS connection from 127.0.0.1 closed before any request"
                                   in ln], 5, what="the handshake failure with the client")
        self.assertTrue(line)

    def test_api_over_https(self):
        email = unique_email("tls")
        r = self.t.bulk([email], invitePurpose="over TLS")
        self.assertStatus(r, 200)
        inv = r.json["invites"][0]
        self.assertEqual(inv["email"], email)
        self.assertEqual(inv["policyIds"], [ROLE_BLOG_WRITER])
        self.assertEqual(inv["status"], "Pending")
        # Without --base-url the accept link is built on the bound address, now https.
        self.assertTrue(inv["acceptLink"].startswith("https://127.0.0.1:%d/invite/"
                                                     % self.server.port), inv["acceptLink"])
        got = self.t.get(inv["id"])
        self.assertStatus(got, 200)
        self.assertEqual(got.json["invite"]["id"], inv["id"])
        self.assertEqual(got.json["invite"]["invitePurpose"], "over TLS")
        self.assertTrue(got.header("x-wix-request-id"))
        page = self.server.get_page(inv["acceptLink"])
        self.assertStatus(page, 200)
        self.assertIn("text/html", page.header("content-type"))

    def test_presents_the_configured_certificate(self):
        with open(self.pki.path("cert.pem")) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        ctx = self.pki.context()
        with socket.create_connection(("127.0.0.1", self.server.port), HTTP_TIMEOUT_S) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.getpeercert(binary_form=True), want)
                self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))
                self.assertEqual(tls.getpeercert()["subjectAltName"],
                                 (("IP Address", "127.0.0.1"),))

    def test_plain_http_fails_and_the_server_keeps_serving(self):
        for _ in range(PLAIN_ATTEMPTS):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                              timeout=HTTP_TIMEOUT_S)
            try:
                with self.assertRaises((OSError, http.client.HTTPException)):
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
            finally:
                conn.close()
        r = self.server.request("GET", "/healthz")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "ok"})
        self.assertEqual(self.server.proc.poll(), None, "serve died")

    def test_untrusted_client_refuses(self):
        # The default trust store lacks our CA: the certificate check really runs.
        ctx = ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", self.server.port), HTTP_TIMEOUT_S) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        self.assertStatus(self.server.request("GET", "/healthz"), 200)

    def test_no_key_in_the_log(self):
        self.assertStatus(self.server.request("GET", "/healthz"), 200)
        log = self.server.log_text()
        for line in self.pki.key_lines():
            self.assertNotIn(line, log)
        self.assertIn("TLS", log)


class TlsConfigErrorsTest(unittest.TestCase):
    """serve must refuse to start, with exit 2 and a message naming the problem."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        ec_key("other.key", cls.pki.dir)
        openssl("pkey", "-in", "key.pem", "-aes256", "-passout", "pass:secret",
                "-out", "encrypted.key", cwd=cls.pki.dir)
        cls.work = tempfile.mkdtemp(prefix="sitls-serve-")

    @classmethod
    def tearDownClass(cls):
        cls.pki.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def serve(self, *tls_args):
        """Runs serve with the given TLS flags; returns (exit code, stdout + stderr)."""
        argv = [binary(), "serve", "--listen", "127.0.0.1:0",
                "--db", "sqlite:" + os.path.join(self.work, "si.db"),
                "--mail-dir", os.path.join(self.work, "mail"),
                "--secret-file", os.path.join(self.work, "secret.key")] + list(tls_args)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=CLI_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("serve %r started instead of refusing: %r" % (tls_args, e.stdout))
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def refused(self, cert, key, *wanted):
        args = []
        if cert is not None:
            args += ["--tls-cert", cert]
        if key is not None:
            args += ["--tls-key", key]
        rc, out = self.serve(*args)
        self.assertEqual(rc, 2, out)
        self.assertNotIn("listening", out)
        for w in wanted:
            self.assertIn(w, out)
        for name in ("key.pem", "other.key", "encrypted.key"):
            for line in self.pki.key_lines(name):
                self.assertNotIn(line, out, "key material printed")
        return out

    def test_one_flag_without_the_other(self):
        self.refused(self.pki.path("cert.pem"), None, "--tls-cert and --tls-key go together")
        self.refused(None, self.pki.path("key.pem"), "--tls-cert and --tls-key go together")

    def test_missing_and_unreadable_files(self):
        missing = os.path.join(self.pki.dir, "nope.pem")
        self.refused(missing, self.pki.path("key.pem"), "--tls-cert " + missing, "cannot open")
        self.refused(self.pki.path("cert.pem"), missing, "--tls-key " + missing, "cannot open")
        self.refused(self.pki.path("cert.pem"), self.pki.dir, "--tls-key " + self.pki.dir,
                     "not a regular file")

    def test_wrong_contents(self):
        cert, key = self.pki.path("cert.pem"), self.pki.path("key.pem")
        self.refused(key, cert, "--tls-cert " + key, "swapped")
        self.refused(cert, self.pki.path("leaf.ext"), "--tls-key", "no PEM private key")
        self.refused(cert, self.pki.path("encrypted.key"), "encrypted")

    def test_key_that_does_not_match_the_certificate(self):
        out = self.refused(self.pki.path("cert.pem"), self.pki.path("other.key"),
                           "were refused")
        self.assertIn("do not match", out)  # GnuTLS's own reason


class TlsKeyModeTest(unittest.TestCase):
    def test_world_readable_key_is_warned_about(self):
        pki = Pki()
        try:
            os.chmod(pki.path("key.pem"), 0o644)
            with TlsServer(pki) as server:
                self.assertEqual(server.request("GET", "/healthz").status, 200)
                log = server.log_text()
            self.assertIn("readable by every user", log)
        finally:
            pki.close()


def new_leaf(pki, cert_name, key_name):
    """Another certificate for 127.0.0.1 from the same CA, with its own key."""
    ec_key(key_name, pki.dir)
    openssl("req", "-new", "-key", key_name, "-out", "leaf2.csr", "-subj", "/CN=127.0.0.1",
            cwd=pki.dir)
    openssl("x509", "-req", "-in", "leaf2.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", cert_name, "-days", "2", "-extfile", "leaf.ext",
            cwd=pki.dir)
    os.chmod(pki.path(key_name), 0o600)


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class HupReloadTest(unittest.TestCase):
    """SIGHUP re-reads --tls-cert/--tls-key: connections and requests in flight survive, new
    handshakes get the new certificate, and a bad file keeps the old one (issue 11)."""

    def setUp(self):
        self.pki = Pki()
        self.server = TlsServer(self.pki)
        self.server.start()

    def tearDown(self):
        try:
            self.server.close()  # asserts exit 0 after SIGTERM
        finally:
            self.pki.close()

    def served_der(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with self.pki.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.getpeercert(binary_form=True)

    def hup_and_wait(self, text):
        n = self.server.log_text().count(text)
        self.server.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.server.log_text().count(text) > n, 5, what=text)
        self.assertIsNone(self.server.proc.poll(), "serve ended on SIGHUP")

    def test_new_certificate_after_hup_without_dropping_connections(self):
        old = der_of(self.pki.path("cert.pem"))
        self.assertEqual(self.served_der(), old)
        keep = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=5,
                                           context=self.pki.context())
        keep.request("GET", "/healthz")
        self.assertEqual(keep.getresponse().read() is not None, True)
        # A request in flight: its head is half sent when the signal comes.
        raw = self.pki.context().wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port), timeout=5),
            server_hostname="127.0.0.1")
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        new_leaf(self.pki, "cert2.pem", "key2.pem")
        shutil.copy(self.pki.path("cert2.pem"), self.pki.path("cert.pem"))
        shutil.copy(self.pki.path("key2.pem"), self.pki.path("key.pem"))
        self.hup_and_wait("TLS certificate and key reloaded")
        raw.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            answer += chunk
        raw.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:100])
        keep.request("GET", "/healthz")  # the same connection, after the reload
        self.assertEqual(keep.getresponse().status, 200)
        keep.close()
        new = der_of(self.pki.path("cert2.pem"))
        self.assertNotEqual(new, old)
        self.assertEqual(self.served_der(), new)

    def test_bad_files_keep_the_old_certificate(self):
        old = der_of(self.pki.path("cert.pem"))
        good = open(self.pki.path("cert.pem")).read()
        with open(self.pki.path("cert.pem"), "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        self.hup_and_wait("TLS reload failed")
        self.assertEqual(self.served_der(), old)
        # A key of another certificate: GnuTLS's own check refuses the pair.
        with open(self.pki.path("cert.pem"), "w") as f:
            f.write(good)
        new_leaf(self.pki, "cert2.pem", "key2.pem")
        shutil.copy(self.pki.path("key2.pem"), self.pki.path("key.pem"))
        self.hup_and_wait("TLS reload failed")
        self.assertIn("certificate and key", self.server.log_text())
        self.assertEqual(self.served_der(), old)
        r = self.server.request("GET", "/healthz")
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
