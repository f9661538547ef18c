"""A real SMTP server for the mail tests and the mail bench: aiosmtpd (Debian's python3-aiosmtpd)
on a free 127.0.0.1 port, with a handler that stores every message it accepts and can be told to
refuse: 4xx for a recipient N times (or for everyone, N times), 5xx for chosen recipients, and
an optional login. Used in-process by tests (SmtpServer) or as a process by the bench:

    python3 tests/support/smtpd.py --port 2525 [--count-only]

prints "smtpd listening 127.0.0.1:PORT" and, with --count-only, keeps only a count (printed on
SIGTERM as "smtpd received N") so the server spends no time storing.
"""

import argparse
import asyncio
import email.parser
import email.policy
import logging
import signal
import socket
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ACCEPT = "250 2.0.0 OK"

# aiosmtpd logs every session; tests look at the handler instead.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server started later)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Received:
    """One accepted message: envelope and raw bytes; parsed() gives an EmailMessage."""

    def __init__(self, mail_from, rcpt_tos, data):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data
        self._parsed = None

    def parsed(self):
        if self._parsed is None:
            self._parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(
                self.data)
        return self._parsed


class Handler:
    """Stores messages; refusals are set through the methods below (thread-safe)."""

    def __init__(self, count_only=False):
        self.lock = threading.Lock()
        self.messages = []
        self.count = 0
        self.count_only = count_only
        self.temp_fail = {}     # address (lower) or "*" -> how many more 4xx answers
        self.perm_fail = {}     # address (lower) -> the 5xx reply
        self.rcpt_seen = 0      # RCPT commands, including refused ones
        self.ehlos = 0          # EHLO commands: about one per connection (connection reuse)
        self.delay_s = 0.0      # seconds to wait before accepting each message (a slow server)

    # -- what tests set ----------------------------------------------------------------------
    def fail_temporarily(self, addr, times, reply="451 4.3.0 Try again later"):
        with self.lock:
            self.temp_fail[addr.lower()] = [times, reply]

    def reject(self, addr, reply="550 5.1.1 No such user here"):
        with self.lock:
            self.perm_fail[addr.lower()] = reply

    def to(self, addr):
        """Accepted messages for addr."""
        addr = addr.lower()
        with self.lock:
            return [m for m in self.messages if addr in (r.lower() for r in m.rcpt_tos)]

    def all(self):
        with self.lock:
            return list(self.messages)

    # -- aiosmtpd hooks ----------------------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.ehlos += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        with self.lock:
            self.rcpt_seen += 1
            if key in self.perm_fail:
                return self.perm_fail[key]
            for k in (key, "*"):
                left = self.temp_fail.get(k)
                if left and left[0] > 0:
                    left[0] -= 1
                    return left[1]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.lock:
            self.count += 1
            if not self.count_only:
                self.messages.append(Received(envelope.mail_from, envelope.rcpt_tos,
                                              envelope.original_content or envelope.content))
        return ACCEPT


class Authenticator:
    """Accepts exactly one user and password (LOGIN and PLAIN)."""

    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()
        self.tries = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        self.tries.append(ok)
        return AuthResult(success=ok)


class SmtpServer:
    """aiosmtpd in a thread of this process. Use as a context manager or start()/stop()."""

    def __init__(self, port=None, count_only=False, login=None):
        self.port = port or free_port()
        self.handler = Handler(count_only)
        self.auth = Authenticator(*login) if login else None
        self.controller = None

    def start(self):
        kw = {}
        if self.auth:
            kw = {"authenticator": self.auth, "auth_require_tls": False,
                  "auth_required": True}
        # data_size_limit: invites are a few KB; keep aiosmtpd's default cap (32 MiB) out of play.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # AUTH without TLS: fine on loopback in tests
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                         ready_timeout=10, **kw)
            self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--count-only", action="store_true")
    args = ap.parse_args()
    srv = SmtpServer(args.port or None, count_only=args.count_only).start()
    print("smtpd listening 127.0.0.1:%d" % srv.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.2):
        pass
    srv.stop()
    print("smtpd received %d" % srv.handler.count, flush=True)


if __name__ == "__main__":
    sys.exit(main())
