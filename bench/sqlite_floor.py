#!/usr/bin/env python3
"""What SQLite alone needs to write one bulk of 1,000 invites, by schema (issue 14).

The floor under Bulk Invite's server time: each variant writes the rows of 1,000 new invites in
one transaction with one INSERT ... SELECT per table, so the rows are made inside SQLite and no
per-row statement, binding, decision, JSON or HTTP is paid. What is left is SQLite's record and
B-tree work and its commit, on a file made by `siteinvites migrate` (the store's schema, every
index) and filled with --prefill invites of one site first, opened as the store's writer opens it
(WAL, synchronous=NORMAL, foreign keys on, 16 MiB page cache, no automatic checkpoint). Each
variant runs on its own copy of the filled file; a bulk is timed from BEGIN IMMEDIATE to the end
of COMMIT; the WAL is checkpointed (outside the timing) before each bulk. The variants run
interleaved, one bulk each per round, and each is compared with the store's rows by the median of
the per-round differences, which cancels the machine's drift.

Variants, each a subset of what store_invites_bulk writes:
  store        invites (table and its indexes) + an outbox row each (2 indexes; its IDs read
               back from the call's invite rows, as the store does) + one audit
               entry for the call holding each invite's ID and changes (the batch row of
               SQLite migration 17, about 250 KB)
  per-row audit  the store's rows before migration 17: an audit entry per invite with a
               `changes` text like the store's (kept to compare with earlier figures)
  store, foreign keys off  the store's rows with the connection's foreign key checks off: what
               the per-row checks of invites -> sites and outbox -> invites cost
  first email on the row  the design issue 14 names: no outbox row; the invite carries its
               first email's due time in a column with a partial index of the rows still to
               send (what the mail worker's claim would read)
  invites      the invites rows alone
  invites, PK  the invites rows with only the table and its primary key (secondary indexes
               dropped in that copy): the B-tree floor of one row per invite
  lean         what an 8 ms design would keep: invites with the primary key and
               (site_id, email_key, id) only, no outbox row (the first email's state on the row),
               one audit entry per call

Then the store's rows again once per secondary index of invites, with that index dropped: what
each index costs a bulk.

Usage: bench/sqlite_floor.py [--prefill N] [--bulks K] [--bin build/siteinvites] [--dir D]
Prints per variant the median and quartiles of ms per bulk, the paired difference to the store's
rows, and the pages (WAL frames) one bulk writes.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time

SITE = "11111111-1111-4111-8111-111111111111"
ACCOUNT = "22222222-2222-4222-8222-222222222222"
POLICY = ",1000000000000000001,"
WAL_FRAME_HEADER = 24  # a WAL frame is this header and one page
WRITER_CACHE_KIB = 16384  # SQ_WRITER_CACHE_KIB

# 1,000 rows numbered base*1000 + i; the ID is time-ordered like the store's (UUIDv7 layout:
# the milliseconds first), unique through the row number in its last group.
ROWS = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)"
ID = ("printf('%08x-%04x-7%03x-8%03x-%012x', :ms / 65536, :ms % 65536, i % 4096,"
      " :base % 4096, :base * 1000 + i)")
EMAIL = "printf('user%d@example.com', :base * 1000 + i)"
DAY = 86400000

INSERT_INVITES = (
    ROWS + " INSERT INTO invites (id, site_id, email, email_key, policy_ids, inviter_account_id,"
    " status, accepted_by, token_salt, created_ms, updated_ms, expires_ms, last_sent_ms,"
    " staff_id, purpose, language, send_count, location_ids)"
    " SELECT " + ID + ", :site, " + EMAIL + ", " + EMAIL + ", :policy, :account, 'Pending', '',"
    " NULL, :ms, :ms, :ms + 30 * " + str(DAY) + ", :ms, '', NULL, '', 1, '' FROM n")
# The outbox rows as the store writes them (SQL_BULK_OUTBOX): the IDs read back from the call's
# invite rows, the last 1,000 rowids (made by the expression above they cost 0.46 ms more).
INSERT_OUTBOX = (
    "INSERT INTO outbox (invite_id, kind, status, due_ms, created_ms) SELECT id, 0, 'Queued',"
    " :ms, :ms FROM invites WHERE rowid > (SELECT max(rowid) FROM invites) - 1000"
    " ORDER BY rowid")
# changes as audit_created_changes writes them (email, status, policyIds, expirationDate).
CHANGES = ("json_object('email', json_object('to', " + EMAIL + "), 'status',"
           " json_object('to', 'Pending'), 'policyIds', json_object('to',"
           " json_array('1000000000000000001')), 'expirationDate', json_object('to',"
           " strftime('%Y-%m-%dT%H:%M:%fZ', (:ms + 30 * " + str(DAY) + ") / 1000.0, 'unixepoch')))")
AUDIT_COLS = ("site_id, account_id, action, actor_type, actor_id, actor_name, actor_email,"
              " target_type, target_id, request_id, time_ms, changes")
INSERT_AUDIT = (
    ROWS + " INSERT INTO audit_log (" + AUDIT_COLS + ") SELECT :site, :account,"
    " 'invite.created', 'apiKey', 'a7c1e0a4-5b1f-4f7e-9d8e-3c2b1a0f9e8d', 'Bench key', '',"
    " 'invite', " + ID + ", 'req-0123456789abcdef', :ms, " + CHANGES + " FROM n")
INSERT_AUDIT_ONE = (
    "INSERT INTO audit_log (" + AUDIT_COLS + ") VALUES (:site, :account, 'invite.created',"
    " 'apiKey', 'a7c1e0a4-5b1f-4f7e-9d8e-3c2b1a0f9e8d', 'Bench key', '', 'bulk', 'call',"
    " 'req-0123456789abcdef', :ms, :changes)")
# The batch row's text, made once in Python as the store makes it in C (not by SQLite's JSON
# functions, which would cost more than the insert): each invite's ID and changes.
BATCH_CHANGES = json.dumps([
    {"targetId": "0192f0a4-1c2d-7e3f-8a4b-%012x" % i,
     "changes": {"email": {"to": "user%d@example.com" % i}, "status": {"to": "Pending"},
                 "policyIds": {"to": ["1000000000000000001"]},
                 "expirationDate": {"to": "2027-01-06T07:00:00.000Z"}}}
    for i in range(1000)], separators=(",", ":"))

# The first email's state on the invite row: the column and the claim's partial index are added
# to that copy only (prepare, "mailrow"); the invites are written with the column set.
INSERT_INVITES_MAILROW = INSERT_INVITES.replace(
    "send_count, location_ids)", "send_count, location_ids, mail_due_ms)").replace(
    "1, '' FROM n", "1, '', :ms FROM n")

VARIANTS = [
    ("store", [INSERT_INVITES, INSERT_OUTBOX, INSERT_AUDIT_ONE], None),
    ("per-row audit", [INSERT_INVITES, INSERT_OUTBOX, INSERT_AUDIT], None),
    ("no audit", [INSERT_INVITES, INSERT_OUTBOX], None),
    ("store, foreign keys off", [INSERT_INVITES, INSERT_OUTBOX, INSERT_AUDIT_ONE], "nofk"),
    ("first email on the row", [INSERT_INVITES_MAILROW, INSERT_AUDIT_ONE], "mailrow"),
    ("invites", [INSERT_INVITES], None),
    ("invites, PK", [INSERT_INVITES], "pk"),
    ("lean", [INSERT_INVITES, INSERT_AUDIT_ONE], "lean"),
]


def open_writer(path):
    db = sqlite3.connect(path, isolation_level=None)
    for p in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
              "temp_store=MEMORY", "wal_autocheckpoint=0", "cache_size=-%d" % WRITER_CACHE_KIB):
        db.execute("PRAGMA " + p)
    return db


def secondary_indexes(db):
    return [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invites'"
        " AND sql IS NOT NULL")]


def one_bulk(db, sqls, base):
    args = {"ms": int(time.time() * 1000), "base": base, "site": SITE, "account": ACCOUNT,
            "policy": POLICY, "changes": BATCH_CHANGES}
    db.execute("BEGIN IMMEDIATE")
    for sql in sqls:
        db.execute(sql, args)
    db.execute("COMMIT")


def make_filled(binary, folder, prefill):
    path = os.path.join(folder, "filled.db")
    subprocess.run([binary, "migrate", "--db", "sqlite:" + path], check=True,
                   capture_output=True)
    db = open_writer(path)
    db.execute("INSERT INTO accounts (id, name, email, created_ms) VALUES (?, 'a', 'a@x', 0)",
               (ACCOUNT,))
    db.execute("INSERT INTO sites (id, account_id, name, contributor_limit, language,"
               " lifetime_days, created_ms) VALUES (?, ?, 's', 100000000, 'en', 30, 0)",
               (SITE, ACCOUNT))
    for base in range(prefill // 1000):  # the store's rows, as a bulk writes them
        one_bulk(db, [INSERT_INVITES, INSERT_OUTBOX, INSERT_AUDIT_ONE], base)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path, prefill // 1000


def prepare(filled, folder, k, schema):
    """A copy of the filled file for one variant; schema: None (as migrated), "pk", "mailrow", "lean" or
    "-INDEX" (that one index of invites dropped)."""
    path = os.path.join(folder, "variant%d.db" % k)
    shutil.copyfile(filled, path)
    db = open_writer(path)
    if schema == "pk":
        for ix in secondary_indexes(db):
            db.execute("DROP INDEX " + ix)
    elif schema == "nofk":  # the checks of invites -> sites and outbox -> invites, per row
        db.execute("PRAGMA foreign_keys=OFF")
    elif schema == "mailrow":
        db.execute("ALTER TABLE invites ADD COLUMN mail_due_ms INTEGER")
        db.execute("CREATE INDEX invites_mail_due ON invites(mail_due_ms)"
                   " WHERE mail_due_ms IS NOT NULL")
    elif schema == "lean":
        for ix in secondary_indexes(db):
            if ix != "invites_site_email":
                db.execute("DROP INDEX " + ix)
    elif schema:
        db.execute("DROP INDEX " + schema[1:])
    return path, db


def timed_bulk(path, db, sqls, base):
    """One bulk, timed; the WAL is emptied first (not timed). Returns ms and pages written."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t = time.perf_counter()
    one_bulk(db, sqls, base)
    dt = time.perf_counter() - t
    page = db.execute("PRAGMA page_size").fetchone()[0]
    return 1000 * dt, os.path.getsize(path + "-wal") // (page + WAL_FRAME_HEADER)


def run_all(filled, first_base, folder, variants, bulks, warmup=2):
    """Interleaved: each round writes one bulk into every variant's copy in turn, so drift of a
    shared machine falls on all variants alike."""
    open_ = [prepare(filled, folder, k, v[2]) for k, v in enumerate(variants)]
    ms = [[] for _ in variants]
    pages = [[] for _ in variants]
    for r in range(warmup + bulks):
        for k, (name, sqls, _) in enumerate(variants):
            t, p = timed_bulk(*open_[k], sqls, first_base + r)
            if r >= warmup:
                ms[k].append(t)
                pages[k].append(p)
    for path, db in open_:
        db.close()
    result = []
    for k, (name, _, _) in enumerate(variants):
        q = statistics.quantiles(ms[k], n=4)
        # Paired with the first variant's bulk of the same round: the machine's drift (phases
        # of a few seconds where every bulk runs slower) cancels out of the difference.
        diff = statistics.median(a - b for a, b in zip(ms[k], ms[0]))
        result.append((name, statistics.median(ms[k]), q[0], q[2], diff,
                       int(statistics.median(pages[k]))))
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefill", type=int, default=100000)
    ap.add_argument("--bulks", type=int, default=30)
    ap.add_argument("--bin", default=os.environ.get("SI_BIN", "build/siteinvites"))
    ap.add_argument("--dir", help="where the files go (default TMPDIR; /dev/shm takes the"
                    " disk out and leaves SQLite's CPU work)")
    a = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="si-floor-", dir=a.dir)
    try:
        filled, base = make_filled(a.bin, folder, a.prefill)
        print("SQLite %s, %d invites of one site first, %d bulks per variant"
              % (sqlite3.sqlite_version, a.prefill, a.bulks))
        db = sqlite3.connect(filled)
        drops = [("store without " + ix, VARIANTS[0][1], "-" + ix)
                 for ix in secondary_indexes(db)]
        db.close()
        rows = run_all(filled, base, folder, VARIANTS + drops, a.bulks)
        print("one bulk of 1,000 new invites, BEGIN to end of COMMIT, %d interleaved rounds,"
              " files in %s:" % (a.bulks, os.path.dirname(folder)))
        for i, (name, med, q1, q3, diff, pages) in enumerate(rows):
            if i == len(VARIANTS):
                print("the store's rows with one index of invites dropped (what it costs):")
            print("  %-40s median %6.2f ms (quartiles %.2f..%.2f), %+6.2f ms vs store in the"
                  " same round (median); pages written %4d" % (name, med, q1, q3, diff, pages))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
