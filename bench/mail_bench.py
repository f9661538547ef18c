#!/usr/bin/env python3
"""Mail delivery rates (issue 3): 10,000 queued invite emails delivered by the real service to
a local aiosmtpd with 1 and 4 sender connections, and to a Maildir; plus aiosmtpd alone fed by a
minimal smtplib client (1 and 4 connections), to show how much of the SMTP figure the test
server itself sets. Run through bench/mail.sh; prints one table and writes JSON if asked.

Method: one database gets N invites queued through the API (delivered once to a scratch
Maildir), then its outbox rows are reset to Queued/due-now with sqlite3 and the file is copied
per run; each run starts `serve` on that copy and times from the listening line to the last
message arriving (SMTP: the server's count; Maildir: files in new/).
"""

import argparse
import json
import os
import shutil
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))

import sitest  # noqa: E402  (the tests' harness: Server, Tenant)
from smtpd import SmtpServer, free_port  # noqa: E402

BULK = 1000
WAIT_S = 600


def seed(n, workdir):
    """A database with n invites whose emails are all queued and due; returns its folder."""
    srv = sitest.Server()
    srv.dir = os.path.join(workdir, "seed")
    os.makedirs(srv.dir)
    srv.db_path = os.path.join(srv.dir, "si.db")
    srv.db = "sqlite:" + srv.db_path
    srv.mail_dir = os.path.join(srv.dir, "mail")
    srv.secret_file = os.path.join(srv.dir, "secret.key")
    srv.log_path = os.path.join(srv.dir, "serve.log")
    srv.keep_dir = True
    srv.extra_args = ["--access-log", "off"]
    with srv:
        t = sitest.Tenant(srv, "Bench", contributor_limit=n + 10)
        for i in range(0, n, BULK):
            r = t.bulk(["bench%06d@example.com" % k for k in range(i, min(n, i + BULK))])
            assert r.status == 200, r
    db = sqlite3.connect(srv.db_path)
    db.execute("UPDATE outbox SET status='Queued', attempts=0, due_ms=0, lease_until_ms=0,"
               " last_error='', sent_ms=0")
    db.commit()
    count = db.execute("SELECT count(*) FROM outbox WHERE status='Queued'").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert count == n, count
    return srv.dir


def run_service(seed_dir, workdir, name, n, extra, done, last_arrival=None, poll_s=0.005):
    """Starts serve on a copy of the seed and returns seconds until done() says n arrived, or,
    given last_arrival(d) (the wall-clock time the last one arrived), until then: the poll can
    be coarse and cheap, and does not add its own interval to the figure."""
    d = os.path.join(workdir, name)
    shutil.copytree(seed_dir, d, ignore=shutil.ignore_patterns("mail", "serve.log"))
    argv = [sitest.binary(), "serve", "--listen", "127.0.0.1:0", "--db",
            "sqlite:" + os.path.join(d, "si.db"), "--secret-file",
            os.path.join(d, "secret.key"), "--access-log", "off", "--log-level", "warn",
            "--mail-dir", os.path.join(d, "mail")] + extra
    with open(os.path.join(d, "serve.log"), "wb") as log:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        line = p.stdout.readline()
        assert line.startswith(b"listening"), line
        t0, wall0 = time.monotonic(), time.time()
        while done(d) < n:
            if time.monotonic() - t0 > WAIT_S:
                raise RuntimeError("%s: only %d of %d after %ds" % (name, done(d), n, WAIT_S))
            time.sleep(poll_s)
        return last_arrival(d) - wall0 if last_arrival else time.monotonic() - t0
    finally:
        p.terminate()
        p.wait(30)
        p.stdout.close()


def maildir_count(d):
    new = os.path.join(d, "mail", "new")
    return len(os.listdir(new)) if os.path.isdir(new) else 0


def maildir_last_arrival(d):
    """When the last message entered new/: the rename into new/ sets each file's ctime. Listing
    10,000 names every 5 ms would take a good share of a 2-core machine from the server."""
    new = os.path.join(d, "mail", "new")
    with os.scandir(new) as it:
        return max(e.stat().st_ctime for e in it)


class SmtpdProcess:
    """aiosmtpd in its own process (count-only), so it does not share our GIL."""

    def __init__(self):
        self.port = free_port()
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "tests", "support",
                                                                 "smtpd.py"),
                                   "--port", str(self.port), "--count-only"],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.p.stdout.readline().startswith(b"smtpd listening")

    def stop(self):
        self.p.terminate()
        out = self.p.communicate(timeout=30)[0].decode()
        return int(out.split("smtpd received")[1].split()[0])


def client_alone(port, n, conns, raw):
    """aiosmtpd alone: n messages over conns smtplib connections; returns seconds."""
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]

    def one(k):
        s = smtplib.SMTP("127.0.0.1", port)
        for i in range(k):
            s.sendmail("bench@localhost", ["alone%d@example.com" % i], raw)
        s.quit()

    threads = [threading.Thread(target=one, args=(k,)) for k in per]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000, help="emails per run (default 10000)")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    n = args.n
    work = tempfile.mkdtemp(prefix="si-mailbench-")
    results = []
    try:
        seed_dir = seed(n, work)
        sec = run_service(seed_dir, work, "maildir", n, [], maildir_count, maildir_last_arrival,
                          poll_s=0.1)
        results.append(("service -> Maildir", 1, sec))
        for senders in (1, 4):
            # In this process (a thread): the loop that polls its count mostly sleeps.
            with SmtpServer(count_only=True) as smtp:
                sec = run_service(seed_dir, work, "smtp%d" % senders, n,
                                  ["--smtp-url", smtp.url, "--smtp-senders", str(senders)],
                                  lambda d: smtp.handler.count)
                assert smtp.handler.count >= n, smtp.handler.count
            results.append(("service -> aiosmtpd", senders, sec))
        sample = open(sorted(os.path.join(work, "maildir", "mail", "new", f) for f in
                             os.listdir(os.path.join(work, "maildir", "mail", "new")))[0],
                      "rb").read()
        for conns in (1, 4):
            srv = SmtpdProcess()  # its own process: the client here must not share its GIL
            try:
                sec = client_alone(srv.port, n, conns, sample)
            finally:
                got = srv.stop()
            assert got == n, got
            results.append(("smtplib -> aiosmtpd (alone)", conns, sec))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%-30s %5s %9s %10s" % ("path", "conns", "seconds", "msg/s"))
    for name, c, sec in results:
        print("%-30s %5d %9.2f %10.0f" % (name, c, sec, n / sec))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"path": a, "connections": c, "seconds": s, "per_second": n / s}
                       for a, c, s in results], f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
