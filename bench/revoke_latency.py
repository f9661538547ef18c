#!/usr/bin/env python3
"""How long a revoked API key keeps working on another `serve` on PostgreSQL (docs/SECURITY.md,
"The key cache"): two `serve` on one database of a fresh cluster (tests/support/pgcluster.py);
per trial a new tenant whose key both have used (so cached), `key revoke` by the command line,
then requests to the second `serve` at once until one is refused. Prints, per trial, how many
requests after the command returned were still accepted, and the longest time from the
command's return to the first refusal.

Usage: SI_BIN=build/siteinvites python3 bench/revoke_latency.py [trials, default 20]"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import pgcluster  # noqa: E402
from sitest import Server, Tenant, server_on_same_database  # noqa: E402


def trial(a, b):
    t = Tenant(a)
    on_b = t.for_site(t.site_id)
    on_b.server = b
    for _ in range(3):
        assert t.query().status == 200 and on_b.query().status == 200
    t.revoke_key(t.key_id)
    returned = time.monotonic()
    accepted = 0
    while on_b.query().status != 401:
        accepted += 1
    return accepted, (time.monotonic() - returned) * 1000


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    c = pgcluster.primary()
    try:
        os.environ["SI_TEST_STORE_URL"] = c.url("postgres")
        a = Server()
        a.start()
        b = server_on_same_database(a)
        b.secret_file = a.secret_file
        b.start()
        try:
            runs = [trial(a, b) for _ in range(trials)]
        finally:
            a.close()
            b.close()
        print("requests still accepted after `key revoke` returned, per trial:",
              [n for n, _ in runs])
        print("longest time from its return to the first refusal: %.1f ms"
              % max(ms for _, ms in runs))
    finally:
        c.remove()


if __name__ == "__main__":
    main()
