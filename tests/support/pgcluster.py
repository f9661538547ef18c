"""Throwaway PostgreSQL 15 clusters for the fault and replication suites: a primary, hot
standbys made from it with `pg_basebackup -R` (asynchronous, or synchronous with
synchronous_standby_names), fast stop, kill -9, start and promote.

Unlike tests/pg/pg_server.sh these clusters commit durably as far as a killed server is
concerned (synchronous_commit stays on, so a commit is in the WAL before it is acknowledged; fsync stays
off: the tests kill the server, not the machine). THIS IS FOR TESTS ONLY: trust authentication
on 127.0.0.1. When run as root the servers run as the `postgres` user."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("SI_PG_BIN", "/usr/lib/postgresql/15/bin")
# The cluster's default collation. Tests keep C; benches set SI_PG_LOCALE=en_US.UTF-8 to measure
# what a cluster made with a distribution's usual locale costs (the text keys that are not
# COLLATE "C" then compare with strcoll).
LOCALE = os.environ.get("SI_PG_LOCALE", "C")
AS_PG = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _run(args, **kw):
    return subprocess.run(AS_PG + args, check=True, capture_output=True, text=True, **kw)


class Cluster:
    """One server: its data directory in a folder of its own under /tmp, its port, its URL."""

    def __init__(self, name="primary"):
        self.name = name
        self.root = tempfile.mkdtemp(prefix="si-pgc-%s." % name)
        if AS_PG:
            shutil.chown(self.root, "postgres")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.log = os.path.join(self.root, "server.log")

    def url(self, db="postgres"):
        return "postgres://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def opts(self):
        return ("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off"
                " -c max_connections=100 -c wal_level=replica -c max_wal_senders=5"
                " -c hot_standby=on -c wal_keep_size=64MB" % (self.port, self.root))

    def init(self):
        _run([BIN + "/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=" + LOCALE])
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")
        return self

    def start(self):
        _run([BIN + "/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start",
              "-o", self.opts()])
        return self

    def stop(self, mode="fast"):
        subprocess.run(AS_PG + [BIN + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"],
                       capture_output=True, check=False)

    def restart_fast(self):
        """pg_ctl stop -m fast, then start: sessions end with 57P01 and the server comes back."""
        self.stop("fast")
        self.start()

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def kill9(self):
        """SIGKILL to the postmaster and every backend: a crash; start() recovers from WAL."""
        pid = self.postmaster_pid()
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for p in [pid] + [int(x) for x in out.split()]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # Every backend was killed too; wait until none is left (they hold shared memory).
        while time.time() < deadline and subprocess.run(["pgrep", "-P", str(pid)],
                                                        capture_output=True).returncode == 0:
            time.sleep(0.05)

    def psql(self, sql, db="postgres"):
        return subprocess.run(["psql", "-qXAt", self.url(db), "-c", sql], check=True,
                              capture_output=True, text=True).stdout.strip()

    def promote(self):
        _run([BIN + "/pg_ctl", "-D", self.data, "-w", "promote"])

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def primary():
    """A started primary ready for standbys."""
    return Cluster("primary").init().start()


def standby(of, synchronous=False, name="standby1"):
    """A started hot standby of `of` made with pg_basebackup -R. synchronous=True makes the
    primary wait for it at every commit (synchronous_standby_names, remote_apply: an
    acknowledged write is visible on the standby)."""
    s = Cluster(name)
    _run([BIN + "/pg_basebackup", "-h", "127.0.0.1", "-p", str(of.port), "-U", "postgres",
          "-D", s.data, "-R", "-X", "stream", "-c", "fast"])
    with open(os.path.join(s.data, "postgresql.auto.conf"), "a") as f:
        f.write("primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=%s'\n"
                % (of.port, name))
    s.start()
    if synchronous:
        of.psql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % name)
        of.psql("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
        of.psql("SELECT pg_reload_conf()")
    deadline = time.time() + 30
    want = "sync" if synchronous else "async"
    while of.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = '%s'"
                  % name) != want:
        if time.time() > deadline:
            raise AssertionError("standby %s did not reach %s replication" % (name, want))
        time.sleep(0.1)
    return s
