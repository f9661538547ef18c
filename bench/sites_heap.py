"""Peak heap of `serve` answering Query Sites over an account of many sites (issue 10's
`struct site` memory figure, docs/SCALING.md): serve runs under valgrind massif, the sites are
written straight into its SQLite file (the CLI would take a process per site), one query asks for
them all, and massif's peak heap is printed. Usage (from bench/sites_heap.sh):
SI_BIN=... python3 bench/sites_heap.py [-n SITES]"""

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
import uuid

out_dir = tempfile.mkdtemp(prefix="si-massif-")
MASSIF = os.path.join(out_dir, "massif.out")
os.environ["SITEINVITES_SERVER_WRAPPER"] = (
    "valgrind --tool=massif --pages-as-heap=no --massif-out-file=%s" % MASSIF)

from sitest import Server, Tenant  # noqa: E402 (the wrapper is read at import)


def peak_heap(path):
    """The largest mem_heap_B + mem_heap_extra_B of massif's snapshots."""
    text = open(path).read()
    heap = [int(x) for x in re.findall(r"mem_heap_B=(\d+)", text)]
    extra = [int(x) for x in re.findall(r"mem_heap_extra_B=(\d+)", text)]
    return max(h + e for h, e in zip(heap, extra))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000, help="sites of the account")
    n = ap.parse_args().n
    with Server(extra_args=["--mail-worker", "off", "--webhook-threads", "0"]) as server:
        t = Tenant(server)
        db = sqlite3.connect(server.db_path, timeout=30)
        now = int(time.time() * 1000)
        db.executemany(
            "INSERT INTO sites (id, account_id, name, contributor_limit, language, lifetime_days,"
            " created_ms) VALUES (?, ?, ?, 10, 'en', 30, ?)",
            [(str(uuid.uuid4()), t.account_id, "Site %05d" % i, now + i) for i in range(n - 1)])
        db.commit()
        db.close()
        r = t.call("POST", "/site-list/v2/sites/query", {"query": {"cursorPaging": {"limit": 100}}},
                   site=False)
        assert r.status == 200, r.status
        assert r.json["metadata"]["count"] == 100, r.json["metadata"]
    print("Query Sites over %d sites of one account: serve's peak heap %.1f MB (massif)"
          % (n, peak_heap(MASSIF) / 1e6))


if __name__ == "__main__":
    sys.exit(main())
