"""Disk full (issue 12, docs/FAULTS.md "Disk full"): the SQLite database and the Maildir each on
a small tmpfs of their own, mounted by this test (it needs root, as .ci/run has; it fails, not
skips, when it cannot mount), so each fault is shown alone.

- The database's disk full: writes answer 503 with the standard body (UNAVAILABLE /
  STORAGE_FULL, "storage is full", Retry-After), reads answer 200, the process lives; once the
  filler is deleted writes answer 200 again without a restart. A refused write can leave WAL
  blocks it allocated before ENOSPC, which a smaller write may reuse: such a write answers 200
  and must then stick, so the small writes (resend, accept, revoke, the page's decline) are
  checked against whatever they answered.
- The Maildir's disk full: the API answers as usual, the mail worker keeps the emails Queued
  with a lastError that says the disk is full and names no path, and backs off (its CPU, read
  from /proc, stays low); once space returns every email arrives, once.
- At the end: integrity_check is ok, every acknowledged invite is there with its outbox row, no
  address a 503 refused was written, every acknowledged address got exactly one email.
- A server started on the full disk says so (exit 2, "storage is full") instead of crashing.
"""

import errno
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from sitest import ApiTestCase, Server, Tenant, binary, recipient, unique_email, wait_until

DB_FS = "24m"     # the database's tmpfs
MAIL_FS = "4m"    # the Maildir's tmpfs
BULK_N = 40       # addresses per Bulk Invite while filling the last room
FULL_CALLS_MAX = 400  # Bulk Invites before the database must have run out of room
REFUSED_MIN = 5   # same-size calls once full; all but two must be refused (steady, not a blip)
DWELL_S = 2.5     # seconds the database's disk stays full
CPU_SHARE_MAX = 0.25  # of one core while the Maildir is full
WAIT_S = 40
MAIL_ARGS = ["--mail-retry-ms", "300"]  # retries 0.3, 0.6, 1.2 ... s: recovery within seconds
FORM = "application/x-www-form-urlencoded"
FORM_TOKEN = re.compile(r'name="form_token" value="([A-Za-z0-9_-]+)"')
LEAKS = ("/", "errno", ".c:", "sqlite", "tmp", "new")


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("cannot mount a tmpfs at %s (this suite needs root): %s"
                             % (path, r.stderr.strip()))


def unmount(path):
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


def fill(path):
    """Writes a filler file at path until the file system refuses (ENOSPC); returns its size."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            block = b"\0" * chunk
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class DiskFull(ApiTestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="si-diskfull-")
        self.db_fs = os.path.join(self.root, "db")
        self.mail_fs = os.path.join(self.root, "mail")
        self.mounted = []
        for path, size in ((self.db_fs, DB_FS), (self.mail_fs, MAIL_FS)):
            mount_tmpfs(path, size)
            self.mounted.append(path)
        self.server = Server(extra_args=MAIL_ARGS)
        self.server.db_path = os.path.join(self.db_fs, "si.db")
        self.server.db = "sqlite:" + self.server.db_path
        self.server.mail_dir = os.path.join(self.mail_fs, "maildir")
        self.acked = {}      # invite id -> address, for every invite a 200 named
        self.refused = []    # addresses of Bulk Invites answered 503
        self.tokens = {}     # invite id -> accept token
        self.mail_want = {}  # address -> emails it must get

    def tearDown(self):
        try:
            if self.server.proc is not None:
                self.server.kill9()
            if os.environ.get("SI_KEEP_TMP") is None:
                shutil.rmtree(self.server.dir, ignore_errors=True)
            else:
                print("disk full: serve's log is %s" % self.server.log_path)
        finally:
            for path in self.mounted:
                unmount(path)
            shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------------
    def bulk(self, t, n=BULK_N, tag="x"):
        """One Bulk Invite of n new addresses; records what the answer acknowledged."""
        addrs = [unique_email(tag) for _ in range(n)]
        r = t.bulk(addrs)
        if r.status == 200:
            invites = r.json["invites"]
            self.assertEqual(len(invites), n, r)
            for inv in invites:
                self.acked[inv["id"]] = inv["email"].lower()
                self.tokens[inv["id"]] = inv["acceptLink"].rsplit("/", 1)[1]
                self.mail_want[inv["email"].lower()] = 1
        elif r.status == 503:
            self.assertStorageFull(r)
            self.refused.extend(a.lower() for a in addrs)
        else:
            self.fail("Bulk Invite answered %r\n%s" % (r, self.server.log_tail()))
        return r

    def assertStorageFull(self, r):
        self.assertStatus(r, 503)
        self.assertErrorShape(r)
        app = r.json["details"]["applicationError"]
        self.assertEqual(app["code"], "UNAVAILABLE", r)
        self.assertEqual(app["data"], {"reason": "STORAGE_FULL"}, r)
        self.assertIn("storage is full", r.json["message"], r)
        self.assertEqual(app["description"], r.json["message"], r)
        self.assertEqual(r.header("Retry-After"), "30", r)

    def alive(self):
        self.assertIsNone(self.server.proc.poll(), "serve died\n" + self.server.log_tail())

    def delivery(self, t, iid):
        g = t.get(iid)
        self.assertStatus(g, 200)
        return g.json["invite"]["delivery"]

    def mail_counts(self):
        counts = {}
        for _, msg in self.server.maildir_messages():
            addr = recipient(msg)
            counts[addr] = counts.get(addr, 0) + 1
        return counts

    def all_mailed(self):
        counts = self.mail_counts()
        return all(counts.get(a, 0) >= n for a, n in self.mail_want.items()) or None

    # -- the faults ---------------------------------------------------------------------------
    def database_full(self, t):
        """Fills the database's disk, shows writes refused and reads served, frees it."""
        first = next(iter(self.acked))
        # Written just before the disk fills: the checkpointer copies these pages into the
        # database file (which must grow) while it is full, and the mail worker's round for
        # them may meet the full disk when it marks them sent.
        self.assertStatus(self.bulk(t, tag="edge"), 200)
        filler = os.path.join(self.db_fs, "filler")
        fill(filler)
        # The WAL may still hold reusable room: write until it is gone.
        for _ in range(FULL_CALLS_MAX):
            if self.bulk(t).status == 503:
                break
        else:
            self.fail("%d Bulk Invites on a full disk all answered 200" % FULL_CALLS_MAX)
        # Steady: calls of the same size are refused too. Not every one must be: a refused
        # write may leave WAL blocks it allocated before ENOSPC, and a checkpoint that completes
        # lets the WAL start over in its own file; a call that fits answers 200 (recorded, and
        # checked at the end like any other).
        refused = sum(self.bulk(t).status == 503 for _ in range(REFUSED_MIN))
        # Smaller writes: use up the slack with one-address calls, then the other writes. Each
        # answers 503 STORAGE_FULL (nothing written) or, if it still fit, 200 (then it must
        # stick: checked at the end).
        for _ in range(FULL_CALLS_MAX):
            if self.bulk(t, n=1).status == 503:
                break
        ids = list(self.acked)[:5]
        self.small = {
            "resend": (ids[0], t.resend(ids[0])),
            "accept": (ids[1], self.server.request("POST", "/invites/site-invite/accept",
                                                   body={"inviteToken": self.tokens[ids[1]]})),
            "revoke": (ids[2], t.revoke(ids[2])),
            "decline": (ids[3], self.decline_page(ids[3])),
        }
        for what, (iid, r) in self.small.items():
            if r.status == 200:
                continue
            if what == "decline":  # the page's error: HTML, with Retry-After
                self.assertStatus(r, 503)
                self.assertTrue(r.header("Retry-After"), r)
            else:
                self.assertStorageFull(r)
        if self.small["resend"][1].status == 200:
            self.mail_want[self.acked[ids[0]]] += 1
        # Reads: answered.
        g = t.get(ids[4])
        self.assertStatus(g, 200)
        self.assertEqual(g.json["invite"]["status"], "Pending")
        self.assertStatus(t.query({"cursorPaging": {"limit": 5}}), 200)
        self.assertStatus(self.server.request("GET", "/invite/" + self.tokens[ids[4]]), 200)
        self.assertStatus(self.server.request("GET", "/readyz"), 200)
        # Full for a while: the checkpointer and the mail worker's polls meet it too.
        time.sleep(DWELL_S)
        self.alive()
        self.assertStatus(t.get(ids[4]), 200)
        refused += self.bulk(t).status == 503
        self.assertGreaterEqual(refused, REFUSED_MIN - 2, "the full disk let most writes through")
        log = self.server.log_text()
        self.assertIn("database or disk is full", log)
        self.checkpoint_warnings = log.count("store: checkpoint:")
        # Space returns: writes work again, no restart.
        os.unlink(filler)
        r = wait_until(lambda: (lambda r: r if r.status == 200 else None)(self.bulk(t, n=2)),
                       10, interval=0.2, what="a write after space returned")
        self.assertStatus(r, 200)
        self.assertStatus(t.resend(ids[4]), 200)
        self.mail_want[self.acked[ids[4]]] += 1

    def decline_page(self, iid):
        """The invitee's page (a read), then its Decline form (a write)."""
        page = self.server.request("GET", "/invite/" + self.tokens[iid])
        self.assertStatus(page, 200)
        form_token = FORM_TOKEN.search(page.body.decode("utf-8")).group(1)
        return self.server.request("POST", "/invite/%s/decline" % self.tokens[iid],
                                   raw=("form_token=" + form_token).encode(), content_type=FORM,
                                   headers={"Sec-Fetch-Site": "same-origin"})

    def check_small_writes(self, t):
        """Each small write of the full disk left exactly what its answer said."""
        done = {"resend": "Pending", "accept": "Used", "revoke": "Deleted", "decline": "Declined"}
        for what, (iid, r) in self.small.items():
            g = t.get(iid)
            self.assertStatus(g, 200)
            want = done[what] if r.status == 200 else "Pending"
            self.assertEqual(g.json["invite"]["status"], want, "%s answered %d" % (what, r.status))
            if what == "resend":
                self.assertEqual(g.json["invite"]["sendCount"], 2 if r.status == 200 else 1)

    def maildir_full(self, t):
        """Fills the Maildir's disk: the API still answers, the worker backs off with a plain
        lastError; freed, every email arrives."""
        filler = os.path.join(self.mail_fs, "filler")
        fill(filler)
        r = self.bulk(t, n=3, tag="mailfull")
        self.assertStatus(r, 200)
        iid = r.json["invites"][0]["id"]
        d = wait_until(lambda: (lambda d: d if d["attempts"] >= 2 else None)(
            self.delivery(t, iid)), WAIT_S, what="two failed tries on the full Maildir")
        self.assertEqual(d["status"], "Queued", d)
        err = d["lastError"] or ""
        self.assertIn("disk is full", err, d)
        self.assertIn("will retry", err, d)
        for leak in LEAKS:
            self.assertNotIn(leak, err.lower(), d)
        # Backing off, not spinning.
        pid = self.server.proc.pid
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3)
        share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
        self.assertLess(share, CPU_SHARE_MAX, "CPU while the Maildir is full")
        # A try's file lives in tmp/ only while it is written: none stays (a new try makes a
        # new name, so a name seen twice half a second apart was left behind).
        tmp = os.path.join(self.server.mail_dir, "tmp")
        before = set(os.listdir(tmp))
        time.sleep(0.5)
        self.assertEqual(before & set(os.listdir(tmp)), set(), "half-written messages left")
        self.assertEqual(self.delivery(t, iid)["status"], "Queued")
        self.alive()
        os.unlink(filler)
        wait_until(self.all_mailed, WAIT_S, interval=0.3, what="every email after space returned")
        wait_until(lambda: self.delivery(t, iid)["status"] == "Sent" or None, WAIT_S,
                   what="Sent")
        self.assertEqual(os.listdir(tmp), [], "files left in tmp/ after delivery")

    # -- the checks ---------------------------------------------------------------------------
    def check_files(self):
        db = sqlite3.connect(self.server.db_path, timeout=10)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            stored = dict(db.execute("SELECT id, lower(email) FROM invites").fetchall())
            for iid, addr in self.acked.items():
                self.assertEqual(stored.get(iid), addr, "acknowledged invite %s lost" % iid)
            orphans = db.execute("SELECT count(*) FROM invites i WHERE NOT EXISTS "
                                 "(SELECT 1 FROM outbox o WHERE o.invite_id = i.id)").fetchone()
            self.assertEqual(orphans, (0,), "invites without their outbox row")
            written = set(stored.values()) & set(self.refused)
            self.assertEqual(written, set(), "addresses a 503 refused were written")
            queued = db.execute("SELECT count(*) FROM outbox "
                                "WHERE status IN ('Queued', 'Failed')").fetchone()
            self.assertEqual(queued, (0,), "emails left unsent")
        finally:
            db.close()
        counts = self.mail_counts()
        for addr, want in self.mail_want.items():
            self.assertEqual(counts.get(addr, 0), want, "emails to %s" % addr)
        self.assertEqual(set(counts) - set(self.acked.values()), set(), "emails nobody asked for")

    def check_start_on_full_disk(self):
        """A server started on the full database disk says so and exits 2; freed, it starts."""
        filler = os.path.join(self.db_fs, "filler")
        fill(filler)
        p = subprocess.run(self.server.argv(), capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("storage is full", p.stderr)
        self.assertIn("free space on the disk", p.stderr)
        self.assertIn("No space left on device", p.stderr)  # the log line says why
        os.unlink(filler)
        self.server.start()
        self.server.stop()

    def test_disk_full(self):
        start = time.monotonic()
        self.server.start()
        # Seats for every call the fill may take (FULL_CALLS_MAX of BULK_N): with the default
        # 100, a call that still fits the disk can be cut short by the seat limit instead.
        t = Tenant(self.server, "Full", contributor_limit=100000)
        self.assertStatus(self.bulk(t, n=5, tag="before"), 200)
        wait_until(self.all_mailed, WAIT_S, interval=0.2, what="the first emails")

        self.database_full(t)
        self.maildir_full(t)
        wait_until(self.all_mailed, WAIT_S, interval=0.3, what="every acknowledged email")
        self.check_small_writes(t)
        self.alive()
        self.server.stop()  # SIGTERM: exit status 0
        self.check_files()
        self.check_start_on_full_disk()
        print("disk full: %d acknowledged, %d refused, small writes %s, %d checkpoints met the "
              "full disk, %.1f s"
              % (len(self.acked), len(self.refused),
                 " ".join("%s %d" % (k, r.status) for k, (_, r) in self.small.items()),
                 self.checkpoint_warnings, time.monotonic() - start))


if __name__ == "__main__":
    unittest.main()
