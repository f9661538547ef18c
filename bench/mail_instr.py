#!/usr/bin/env python3
"""Instructions the mail worker spends per email written to a Maildir (issue 14), per binary.

Queues N invite emails through `serve --mail-worker off` (one Bulk Invite per 1,000, SQLite),
then for each binary given starts `serve` with the worker on under valgrind's callgrind on a copy
of that file, waits until the Maildir holds N messages, stops it, and prints the whole process's
instructions and the mail worker thread's (claim, compose, write, record) per email, with the
claim's share (`sq_outbox_claim`: leasing and loading the rows inside the claim's write
transaction, which holds the SQLite writer while it runs). Instruction counts do not depend on
the machine's load, so A/B runs are comparable on a busy machine.

Usage: python3 bench/mail_instr.py [-n 3000] [--keep] NAME=BINARY [NAME=BINARY ...]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

POLICY = "1000000000000000001"


def queue(binary, folder, n):
    """A SQLite file with n queued invite emails; returns its path."""
    db = os.path.join(folder, "queued.db")
    url = "sqlite:" + db
    srv = benchlib.Serve(binary, url, folder, os.path.join(folder, "unused-mail"),
                         os.path.join(folder, "serve.log"), worker=False)
    try:
        account = benchlib.cli(binary, url, "account", "create", "--name", "A",
                               "--email", "a@example.com")["id"]
        site = benchlib.cli(binary, url, "site", "create", "--account", account, "--name", "S",
                            "--contributor-limit", "1000000")["id"]
        key = benchlib.cli(binary, url, "key", "create", "--account", account)["key"]
        for call in range(n // 1000):
            body = json.dumps({"policyIds": [POLICY], "emails": [
                "m%d.%d@example.com" % (call, i) for i in range(1000)]}).encode()
            req = urllib.request.Request(
                "http://127.0.0.1:%d/invites/site-invite/bulk" % srv.port, data=body,
                headers={"Authorization": key, "wix-site-id": site,
                         "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=60).read()
    finally:
        srv.stop()
    return db


def count(maildir):
    new = os.path.join(maildir, "new")
    return len(os.listdir(new)) if os.path.isdir(new) else 0


def measure(name, binary, queued, folder, n):
    run = os.path.join(folder, name)
    os.makedirs(run)
    db = os.path.join(run, "si.db")
    shutil.copyfile(queued, db)
    mail = os.path.join(run, "mail")
    out = os.path.join(run, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
           "--separate-threads=no", binary, "serve", "--listen", "127.0.0.1:0", "--db",
           "sqlite:" + db, "--mail-dir", mail, "--secret-file",
           os.path.join(os.path.dirname(queued), "secret"), "--access-log", "off"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while count(mail) < n:
        if p.poll() is not None or time.time() - t0 > 1800:
            sys.exit("mail_instr: %s stopped or timed out at %d of %d" % (name, count(mail), n))
        time.sleep(0.5)
    p.terminate()
    p.wait(timeout=120)
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                          capture_output=True, text=True).stdout

    def incl(fn):
        m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*" + re.escape(fn) + r" ", text, re.M)
        return int(m.group(1).replace(",", "")) if m else 0

    total = int(re.search(r"([\d,]+) \([\d.]+%\)\s+PROGRAM TOTALS", text).group(1)
                .replace(",", ""))
    worker, claim = incl("mailer.c:worker"), incl("sqlite_outbox.c:sq_outbox_claim")
    compose = incl("compose.c:compose_invite")
    print("%-8s %d emails: per email %7.0f instructions in the process, %7.0f in the mail"
          " worker, of which claim %6.0f and compose %6.0f"
          % (name, n, total / n, worker / n, claim / n, compose / n), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--keep", action="store_true",
                    help="keep the work folder (each build's callgrind.out) and print its path")
    ap.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    a = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="si-mail-instr-")
    try:
        queued = queue(a.builds[0].split("=", 1)[1], folder, a.n)
        for b in a.builds:
            name, binary = b.split("=", 1)
            measure(name, binary, queued, folder, a.n)
    finally:
        if a.keep:
            print("mail_instr: kept %s (NAME/callgrind.out per build)" % folder)
        else:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
