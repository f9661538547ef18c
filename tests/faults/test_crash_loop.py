"""The crash loop (issue 12): ROUNDS (50) times, the default SQLite `serve` with its mail worker
on is killed with SIGKILL at a random moment under mixed load (Bulk Invite on a roomy site and on
a nearly full one, Resend, Revoke, accept through the API and through the invitee page's form),
then its files are checked and it is restarted on them. After every kill:

- `PRAGMA integrity_check` is ok;
- no acknowledged write is lost: every invite a 200 named exists, an acknowledged accept left it
  Used with its contributor, an acknowledged revoke left it Deleted, an acknowledged resend's
  sendCount is stored;
- no invite is both Used and Deleted (never both a 200 accept and a 200 revoke; no Deleted invite
  with a contributor; every Used invite has exactly one);
- every Pending invite's newest email is Queued or Sent, its outbox rows equal its sendCount,
  and no email is still queued for an invite that is no longer Pending;
- seats are consistent: the stored counters equal the rows, the small site is never over its
  limit, and after the restart the API's leftInvites agrees;
- every email marked Sent is a whole file in the Maildir's new/, and every file there belongs
  to an outbox row.
At the end the last server drains the outbox (every Pending invite's email delivered, nothing
left in tmp/) and stops with exit status 0.

The seed is printed; CRASH_SEED=<n> replays its choices (the operations, their sizes and the
kill moments; thread interleaving still varies). ROUNDS=<n> shortens the loop."""

import glob
import os
import random
import re
import sqlite3
import sys
import threading
import time
import unittest
import uuid
import http.client

from sitest import ApiTestCase, Server, Tenant, wait_until

ROUNDS = int(os.environ.get("ROUNDS", "50"))
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1 << 32))
WORKERS = 4
KILL_AFTER_S = (0.0, 0.9)    # the kill comes this long (uniform) after the load starts
SMALL_LIMIT = 40             # seats of the nearly full site
MAIL_LEASE_S = 2             # a killed worker's claims come back after this (default 60)
DRAIN_DEADLINE_S = 30
FORM = "application/x-www-form-urlencoded"
FORM_TOKEN = re.compile(r'name="form_token" value="([A-Za-z0-9_-]+)"')
MESSAGE_ID = re.compile(rb"^Message-ID: <si\.(\d+)\.([0-9a-f-]+)@", re.M | re.I)


class Model:
    """What the clients were told: the acknowledged state the files must keep. Shared by the
    load threads under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.invites = {}        # id -> {"site", "token", "email"}
        self.pending = []        # ids believed Pending, for picking targets
        self.accepted = set()    # accept answered 200
        self.revoked = set()     # revoke answered 200
        self.sent_count = {}     # id -> highest sendCount a resend answered
        self.bad = []            # answers that are wrong under any interleaving (5xx, 4xx we never cause)
        self.calls = 0
        self.cut = 0             # calls cut off by a kill

    def add(self, site, invites):
        with self.lock:
            for inv in invites:
                tok = inv["acceptLink"].rsplit("/", 1)[1]
                if inv["id"] not in self.invites:
                    self.invites[inv["id"]] = {"site": site, "token": tok, "email": inv["email"]}
                    self.pending.append(inv["id"])

    def pick(self, rnd):
        """An acknowledged invite (id, facts), or (None, None) before the first."""
        with self.lock:
            if not self.pending:
                return None, None
            iid = self.pending[rnd.randrange(len(self.pending))]
            return iid, self.invites[iid]


class Load:
    """WORKERS threads of mixed calls against one running server until stop is set or the
    server dies. Each thread draws from its own Random seeded from (SEED, round, worker)."""

    def __init__(self, server, big, small, model, round_no):
        self.server, self.big, self.small, self.model = server, big, small, model
        self.round_no = round_no
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True)
                        for w in range(WORKERS)]

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(30)
        return False

    def run(self, worker):
        rnd = random.Random("%d/%d/%d" % (SEED, self.round_no, worker))
        # Calls on a new invite, then calls on an acknowledged one (picked at random; it may have
        # been accepted or revoked meanwhile, which is the race the 428s come from).
        ops = [(self.bulk_big, 30), (self.bulk_small, 8), (self.resend, 20), (self.revoke, 14),
               (self.accept_api, 14), (self.accept_page, 14)]
        fns, weights = zip(*ops)
        while not self.stop.is_set():
            op = rnd.choices(fns, weights)[0]
            try:
                iid, inv = (None, None) if op in (self.bulk_big, self.bulk_small) \
                    else self.model.pick(rnd)
                if iid:
                    op(iid, inv)
                else:
                    (self.bulk_small if op == self.bulk_small else self.bulk_big)(rnd)
            except (OSError, http.client.HTTPException):
                with self.model.lock:
                    self.model.cut += 1  # a call in flight when the server died: expected
                return
            with self.model.lock:
                self.model.calls += 1

    def expect(self, r, *ok):
        if r.status not in ok:
            with self.model.lock:
                self.model.bad.append(r)
        return r.status == 200

    def emails(self, rnd, n):
        return ["r%d-%s@crash.example" % (self.round_no, uuid.UUID(int=rnd.getrandbits(128)).hex[:12])
                for _ in range(n)]

    def bulk_big(self, rnd):
        r = self.big.bulk(self.emails(rnd, rnd.randint(2, 12)))
        if self.expect(r, 200):
            self.model.add(self.big.site_id, r.json["invites"])

    def bulk_small(self, rnd):
        # The small site fills up: later addresses fail with CONTRIBUTOR_LIMIT_REACHED (in the
        # 200's failures), and revokes free seats again.
        r = self.small.bulk(self.emails(rnd, rnd.randint(2, 6)))
        if self.expect(r, 200):
            self.model.add(self.small.site_id, r.json["invites"])
            for f in r.json.get("failures", []):
                if f.get("code") != "CONTRIBUTOR_LIMIT_REACHED":
                    with self.model.lock:
                        self.model.bad.append(r)

    def tenant(self, inv):
        return self.big if inv["site"] == self.big.site_id else self.small

    def acked(self, r, to, iid, *ok):
        """Records iid in the model's set `to` when r is a 200; r must be 200 or one of ok."""
        if self.expect(r, 200, *ok):
            with self.model.lock:
                getattr(self.model, to).add(iid)

    def resend(self, iid, inv):
        # 428: accepted or revoked meanwhile; 429: its resend window is full.
        r = self.tenant(inv).resend(iid)
        if self.expect(r, 200, 428, 429):
            with self.model.lock:
                n = r.json["invite"]["sendCount"]
                self.model.sent_count[iid] = max(n, self.model.sent_count.get(iid, 0))

    def revoke(self, iid, inv):
        self.acked(self.tenant(inv).revoke(iid), "revoked", iid, 428)

    def accept_api(self, iid, inv):
        r = self.server.request("POST", "/invites/site-invite/accept",
                                body={"inviteToken": inv["token"]})
        self.acked(r, "accepted", iid, 428)

    def accept_page(self, iid, inv):
        """The invitee's browser: the page behind acceptLink, then its Accept form."""
        page = self.server.request("GET", "/invite/" + inv["token"])
        if not self.expect(page, 200, 410):
            return
        m = FORM_TOKEN.search(page.body.decode("utf-8"))
        if not m:
            with self.model.lock:
                self.model.bad.append(page)
            return
        r = self.server.request("POST", "/invite/%s/accept" % inv["token"],
                                raw=("form_token=" + m.group(1)).encode(), content_type=FORM,
                                headers={"Sec-Fetch-Site": "same-origin"})
        self.acked(r, "accepted", iid, 410)


class Maildir:
    """The delivered files, parsed once each (a file in new/ never changes): outbox ID ->
    (invite ID, whole?)."""

    def __init__(self, root):
        self.root = root
        self.seen = {}
        self.by_outbox = {}

    def scan(self):
        for path in glob.glob(os.path.join(self.root, "new", "*")):
            if path in self.seen:
                continue
            with open(path, "rb") as f:
                data = f.read()
            m = MESSAGE_ID.search(data)
            whole = data.rstrip().endswith(b"--")  # the closing MIME boundary
            self.seen[path] = (int(m.group(1)) if m else None, m and m.group(2).decode(), whole)
            if m:
                self.by_outbox.setdefault(int(m.group(1)), []).append(path)
        return self.seen


class CrashLoopTest(ApiTestCase):
    def fail_round(self, round_no, msg):
        self.fail("round %d (CRASH_SEED=%d): %s" % (round_no, SEED, msg))

    rounds = ROUNDS

    def make_server(self):
        """The default serve (SQLite) with the short lease; the PostgreSQL variant overrides."""
        return Server(extra_args=["--mail-lease-seconds", str(MAIL_LEASE_S)])

    def query_all(self, server, sqls):
        """The rows of each statement of sqls on the files a (possibly killed) server left."""
        db = sqlite3.connect(server.db_path, timeout=10)
        try:
            return [db.execute(sql).fetchall() for sql in sqls]
        finally:
            db.close()

    def query(self, server, sql):
        return self.query_all(server, [sql])[0]

    def check_whole(self, server, round_no):
        self.assertEqual(self.query(server, "PRAGMA integrity_check"), [("ok",)],
                         "round %d (CRASH_SEED=%d)" % (round_no, SEED))

    def seat_counters(self, server):
        """site ID -> (stored Pending count, stored contributor count); SQLite keeps them."""
        return {sid: (p, c) for sid, p, c in self.query(
            server, "SELECT id, seats_pending, seats_contributors FROM sites")}

    def check_files(self, server, model, mail, small, round_no):
        """Every invariant of the module comment, on the files of a killed server."""
        self.check_whole(server, round_no)
        (inv_rows, contrib_rows, outbox_rows, limit_rows, pending_rows, contrib_site_rows,
         sent_rows) = self.query_all(server, [
             "SELECT id, status, send_count, site_id, expires_ms FROM invites",
             "SELECT invite_id FROM contributors WHERE invite_id != ''",
             "SELECT id, invite_id, status FROM outbox ORDER BY id",
             "SELECT id, contributor_limit FROM sites",
             "SELECT site_id, count(*) FROM invites WHERE status = 'Pending' GROUP BY site_id",
             "SELECT site_id, count(*) FROM contributors GROUP BY site_id",
             "SELECT id FROM outbox WHERE status = 'Sent'"])
        inv = {row[0]: row[1:] for row in inv_rows}
        contrib = {}
        for (iid,) in contrib_rows:
            contrib[iid] = contrib.get(iid, 0) + 1
        outbox = {}
        for oid, iid, status in outbox_rows:
            outbox.setdefault(iid, []).append((oid, status))
        limits = dict(limit_rows)
        counters = self.seat_counters(server)
        pending_by_site = dict(pending_rows)
        contrib_by_site = dict(contrib_site_rows)
        all_rows = {oid for oid, _iid, _status in outbox_rows}

        with model.lock:
            acked = list(model.invites)
            accepted, revoked = set(model.accepted), set(model.revoked)
            sent_count = dict(model.sent_count)
        lost = [i for i in acked if i not in inv]
        if lost:
            self.fail_round(round_no, "%d acknowledged invites lost, e.g. %s" % (len(lost), lost[:3]))
        both = accepted & revoked
        if both:
            self.fail_round(round_no, "accept and revoke both answered 200: %s" % sorted(both)[:3])
        for i in accepted:
            if inv[i][0] != "Used" or contrib.get(i) != 1:
                self.fail_round(round_no, "acknowledged accept of %s lost: %r, %r contributors"
                                % (i, inv[i], contrib.get(i)))
        for i in revoked:
            if inv[i][0] != "Deleted":
                self.fail_round(round_no, "acknowledged revoke of %s lost: %r" % (i, inv[i]))
        for i, n in sent_count.items():
            if inv[i][1] < n:
                self.fail_round(round_no, "acknowledged resend of %s lost: sendCount %d < %d"
                                % (i, inv[i][1], n))
        for i, (status, sends, _site, _exp) in inv.items():
            rows = outbox.get(i, [])
            if (status == "Used") != (i in contrib) or contrib.get(i, 0) > 1:
                self.fail_round(round_no, "invite %s is %s with %d contributors"
                                % (i, status, contrib.get(i, 0)))
            if len(rows) != sends:
                self.fail_round(round_no, "invite %s: sendCount %d but %d outbox rows"
                                % (i, sends, len(rows)))
            if status == "Pending" and rows[-1][1] not in ("Queued", "Sent"):
                self.fail_round(round_no, "pending invite %s: newest email is %s" % (i, rows[-1]))
            if status != "Pending" and any(s == "Queued" for _, s in rows):
                self.fail_round(round_no, "%s invite %s still has a queued email" % (status, i))
        for sid, limit in limits.items():
            rows = (pending_by_site.get(sid, 0), contrib_by_site.get(sid, 0))
            if sid in counters and counters[sid] != rows:
                self.fail_round(round_no, "site %s seat counters %r, rows %r"
                                % (sid, counters[sid], rows))
            if sid == small.site_id and sum(rows) > limit:
                self.fail_round(round_no, "small site over its limit: %r > %d" % (rows, limit))
        files = mail.scan()
        for oid, _iid, whole in files.values():
            if oid not in all_rows or not whole:
                self.fail_round(round_no, "Maildir file of outbox row %r: known %s, whole %s"
                                % (oid, oid in all_rows, whole))
        missing = [oid for (oid,) in sent_rows if oid not in mail.by_outbox]
        if missing:
            self.fail_round(round_no, "emails marked Sent but not in new/: %s" % missing[:5])
        return sum(1 for v in inv.values() if v[0] == "Pending" and v[2] == small.site_id) + \
            contrib_by_site.get(small.site_id, 0)

    def test_crash_loop(self):
        rounds = self.rounds
        sys.stderr.write("crash loop: CRASH_SEED=%d ROUNDS=%d\n" % (SEED, rounds))
        rnd = random.Random(SEED)
        model = Model()
        t0 = time.monotonic()
        with self.make_server() as server:
            big = Tenant(server, "Crashloop", contributor_limit=1000000)
            small = big.for_site(big.add_site("Small", SMALL_LIMIT))
            mail = Maildir(server.mail_dir)
            timing = [0.0, 0.0]  # seconds in the checks, in the restarts
            kills_mid_call = 0  # rounds where a call was cut off by the kill
            for round_no in range(rounds):
                delay = rnd.uniform(*KILL_AFTER_S)
                with Load(server, big, small, model, round_no):
                    time.sleep(delay)
                    before = model.cut
                    server.kill9()
                kills_mid_call += model.cut > before
                c0 = time.monotonic()
                used = self.check_files(server, model, mail, small, round_no)
                c1 = time.monotonic()
                server.start()
                timing[0] += c1 - c0
                timing[1] += time.monotonic() - c1
                # The restarted server agrees with the files: seats, and a sample of invites.
                r = small.call("GET", "/invites/site-invite/contributor-limit")
                self.assertStatus(r, 200)
                self.assertEqual(r.json["contributorLimitation"]["leftInvites"],
                                 max(SMALL_LIMIT - used, 0), "round %d (CRASH_SEED=%d)"
                                 % (round_no, SEED))
                with model.lock:
                    ids = list(model.invites)
                for iid in rnd.sample(ids, min(5, len(ids))):
                    inv = model.invites[iid]
                    tenant = big if inv["site"] == big.site_id else small
                    self.assertStatus(tenant.get(iid), 200)
            self.assertEqual(model.bad, [], "wrong answers under load (CRASH_SEED=%d)" % SEED)
            self.assertGreater(len(model.accepted), 0, "no accept was acknowledged")
            self.assertGreater(len(model.revoked), 0, "no revoke was acknowledged")
            self.assertGreater(len(model.sent_count), 0, "no resend was acknowledged")
            self.assertGreaterEqual(kills_mid_call, rounds // 2,
                                    "too few kills cut a call off (CRASH_SEED=%d)" % SEED)

            # The last server delivers everything left: every Pending invite's newest email.
            def drained():
                return self.query(server, "SELECT count(*) FROM outbox "
                                          "WHERE status = 'Queued'")[0][0] == 0
            wait_until(drained, DRAIN_DEADLINE_S, interval=0.2, what="the outbox drained")
            self.check_files(server, model, mail, small, rounds)
            tmp = os.path.join(server.mail_dir, "tmp")
            self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [],
                             "half-written files left in tmp/")
            self.assertNo5xx(server)
        sys.stderr.write("crash loop: %d rounds (%d cut calls off), %d acknowledged invites (%d accepted, %d "
                         "revoked, %d resent), %d calls, %.1f s (checks %.1f s, restarts %.1f s) "
                         "(CRASH_SEED=%d)\n"
                         % (rounds, kills_mid_call, len(model.invites), len(model.accepted), len(model.revoked),
                            len(model.sent_count), model.calls, time.monotonic() - t0, timing[0], timing[1], SEED))


if __name__ == "__main__":
    unittest.main()
