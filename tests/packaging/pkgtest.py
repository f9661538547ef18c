"""Helpers of the packaging suites: run an installed siteinvites serve and ask it over HTTP."""

import os
import re
import select
import signal
import subprocess
import urllib.error
import urllib.request

START_TIMEOUT_S = 15


def read_line(stream, timeout):
    """One line of a pipe, or what came before the timeout."""
    fd, data = stream.fileno(), b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], timeout)
        chunk = os.read(fd, 1) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def get(url):
    """(status, body text) of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def serve_once(argv, cwd, env=None):
    """Starts `argv` (a serve command on 127.0.0.1:0) in cwd, where no ./templates exists, so
    the binary must find its installed templates; returns (healthz status, body, invitee page
    status, page html, stderr) after a SIGTERM stop that must exit 0."""
    assert not os.path.exists(os.path.join(cwd, "templates"))
    err_path = os.path.join(cwd, "serve.err")
    with open(err_path, "wb") as err:
        p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=err, env=env)
    try:
        line = read_line(p.stdout, START_TIMEOUT_S)
        m = re.fullmatch(r"listening (http://127\.0\.0\.1:\d+)\n", line)
        if not m:
            raise AssertionError("no listening line (%r): %s" % (line, read(err_path)))
        health = get(m.group(1) + "/healthz")
        # An unknown accept link renders a page from templates/pages: the templates loaded.
        page = get(m.group(1) + "/invite/" + "A" * 43)
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=15)
        p.stdout.close()
    if rc != 0:
        raise AssertionError("serve exited %d: %s" % (rc, read(err_path)))
    return health[0], health[1], page[0], page[1], read(err_path)


def help_flags(binary):
    """Every command (from --help) and the flags its --help names: the man page must too."""
    out = subprocess.run([binary, "--help"], check=True, capture_output=True, text=True).stdout
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = [m.group(1) for m in
                (re.match(r"^  (\S+(?: [a-z]+)?)\s{2,}", line) for line in block.splitlines())
                if m]
    flags = {}
    for c in commands:
        text = subprocess.run([binary, *c.split(), "--help"], check=True, capture_output=True,
                              text=True).stdout
        flags[c] = set(re.findall(r"^  (--[a-z][a-z0-9-]*)", text, re.M)) - {"--help"}
    return flags


def man_text(path):
    """A man page rendered as plain text (groff), and groff's warnings (-ww)."""
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", path], capture_output=True, text=True,
                       env={**os.environ, "GROFF_NO_SGR": "1"})
    text = re.sub(r".\x08", "", p.stdout).replace("\u2010", "-").replace("\u2212", "-")
    return text, p.stderr


def main():
    """unittest.main for CTest: exit 1 on any failure, else 77 (CTest: skipped) if a test was
    skipped, else 0; so a skip is never counted as a pass."""
    import sys
    import unittest
    result = unittest.main(exit=False, verbosity=2).result
    if result.failures or result.errors or result.unexpectedSuccesses:
        sys.exit(1)
    sys.exit(77 if result.skipped else 0)
