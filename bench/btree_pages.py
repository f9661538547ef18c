#!/usr/bin/env python3
"""Pages a bulk of 1,000 new invites writes into a SQLite file, by schema (issue 14).

Makes a database with `siteinvites migrate` of each binary given (say the build before and
after migration 16), fills it with PREFILL invites and their outbox rows the way
store_invites_bulk writes them (same INSERT statements and values: a time-ordered v7 ID, a
random 16-byte salt or NULL), then writes MEASURED more bulks of 1,000, each in one
transaction, and counts the WAL frames each commit appends (one frame = one 4 KiB page
written; wal_autocheckpoint off, the WAL truncated before each bulk). Pages per bulk is what
the commit must write and fsync, and it grows with the table when an index takes random keys:
each random insert dirties its own leaf page once the index has more leaves than a bulk has
rows. Wall time per bulk is printed too, as context only (a shared, loaded machine).

Usage: bench/btree_pages.py [--prefill N] [--bulks K] NAME=BINARY [NAME=BINARY ...]
"""

import argparse
import os
import secrets
import sqlite3
import subprocess
import tempfile
import time

INSERT_INVITE = (
    "INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id, status,"
    " accepted_by, token_salt, created_ms, updated_ms, expires_ms, last_sent_ms, staff_id,"
    " purpose, language, send_count, location_ids)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'Pending', '', ?7, ?8, ?8, ?9, ?8, '', NULL, '', 1, '')")
INSERT_OUTBOX = ("INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms)"
                 " VALUES (?1, 0, 'Queued', ?2, ?2)")
SITE = "11111111-1111-4111-8111-111111111111"
ACCOUNT = "22222222-2222-4222-8222-222222222222"
PAGE_FRAME = 4096 + 24  # WAL frame: page plus frame header


def v7(ms):
    b = bytearray(secrets.token_bytes(16))
    b[0:6] = ms.to_bytes(6, "big")
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def salted(db):
    """True when invites.token_salt is NOT NULL (before migration 16)."""
    cols = db.execute("PRAGMA table_info(invites)").fetchall()
    return any(c[1] == "token_salt" and c[3] for c in cols)


def bulk(db, n, counter, with_salt):
    ms = int(time.time() * 1000)
    db.execute("BEGIN IMMEDIATE")
    for _ in range(n):
        counter[0] += 1
        iid = v7(ms)
        email = "user%d@example.com" % counter[0]
        db.execute(INSERT_INVITE, (iid, SITE, email, email, ",1000000000000000001,", ACCOUNT,
                                   secrets.token_bytes(16) if with_salt else None, ms,
                                   ms + 30 * 86400000))
        db.execute(INSERT_OUTBOX, (iid, ms))
    db.execute("COMMIT")


def measure(name, binary, prefill, bulks):
    d = tempfile.mkdtemp(prefix="si-btree-")
    path = os.path.join(d, "si.db")
    subprocess.run([binary, "migrate", "--db", path], check=True, capture_output=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("INSERT INTO accounts (id, name, email, created_ms) VALUES (?, 'a', 'a@x', 0)",
               (ACCOUNT,))
    db.execute("INSERT INTO sites (id, account_id, name, contributor_limit, language,"
               " lifetime_days, created_ms) VALUES (?, ?, 's', 100000000, 'en', 30, 0)",
               (SITE, ACCOUNT))
    with_salt = salted(db)
    counter = [0]
    for _ in range(prefill // 1000):
        bulk(db, 1000, counter, with_salt)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    frames, secs = [], []
    for _ in range(bulks):
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        t = time.perf_counter()
        bulk(db, 1000, counter, with_salt)
        secs.append(time.perf_counter() - t)
        frames.append(os.path.getsize(path + "-wal") // PAGE_FRAME)
    db.close()
    frames.sort()
    secs.sort()
    print("%-6s salt %-8s prefill %7d: pages per bulk of 1,000 median %d (min %d, max %d);"
          " wall ms median %.1f (loaded machine, Python driver)"
          % (name, "random" if with_salt else "NULL", prefill, frames[len(frames) // 2],
             frames[0], frames[-1], 1000 * secs[len(secs) // 2]))
    subprocess.run(["rm", "-rf", d], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefill", type=int, default=100000)
    ap.add_argument("--bulks", type=int, default=9)
    ap.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    a = ap.parse_args()
    for b in a.builds:
        name, binary = b.split("=", 1)
        measure(name, binary, a.prefill, a.bulks)


if __name__ == "__main__":
    main()
