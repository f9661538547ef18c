"""The measurements of bench/webhooks.sh: creates/s under three receivers, and deliveries/s.
Uses the test harness (tests/support): a real serve on a temporary SQLite file and the
signature-checking receiver of the webhook tests."""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from sitest import Server, Tenant, unique_email
from webhook_receiver import Receiver, verify

HOOKS = "/invites/webhooks"


def creates_per_s(t, n, conns=4):
    start = time.monotonic()
    with ThreadPoolExecutor(conns) as pool:
        rs = list(pool.map(lambda _: t.call("POST", "/invites/site-invite", {
            "email": unique_email(), "policyIds": ["1000000000000000006"]}), range(n)))
    bad = [r for r in rs if r.status != 200]
    assert not bad, bad[:3]
    return n / (time.monotonic() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="creates per measurement")
    n = ap.parse_args().n
    with Receiver() as rx, Server(extra_args=["--allow-http-webhooks", "--access-log", "off",
                                              "--mail-worker", "off"]) as server:
        rx.sleep["/dead"] = 30
        none = Tenant(server, contributor_limit=10 ** 6)
        fast = Tenant(server, contributor_limit=10 ** 6)
        dead = Tenant(server, contributor_limit=10 ** 6)
        w = fast.call("POST", HOOKS, {"url": rx.url("/fast"), "events": ["invite.created"]})
        dead.call("POST", HOOKS, {"url": rx.url("/dead"), "events": ["invite.created"]})
        rate_none = creates_per_s(none, n)
        start = time.monotonic()
        rate_fast = creates_per_s(fast, n)
        rx.wait_for(lambda g: len([r for r in g if r.path == "/fast"]) >= n, timeout=600)
        delivered = n / (time.monotonic() - start)
        fast_got = rx.received("/fast")
        assert all(verify(w.json["webhook"]["secret"], r.headers, r.body) for r in fast_got)
        rate_dead = creates_per_s(dead, n)
        print("creates/s (Create One, 4 connections, %d calls each):" % n)
        print("  no webhook                      %6.0f" % rate_none)
        print("  webhook, receiver answers 200   %6.0f" % rate_fast)
        print("  webhook, receiver sleeps 30 s   %6.0f" % rate_dead)
        print("deliveries/s to the fast receiver (created and delivered, end to end): %.0f"
              % delivered)


if __name__ == "__main__":
    main()
