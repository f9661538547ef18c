"""The measurements of bench/webhooks.sh (issue 10's closing figures), on a real serve with a
temporary SQLite file, the mail worker on, and the signature-checking receiver of the webhook
tests (tests/support) on 127.0.0.1:

(a) the delivery rate: N events queued while the delivery threads are off (serve restarted with
    --webhook-threads 0, N creates, restarted with the default 2 threads), then the time until
    the receiver, answering 200 at once, has all N, each signature checked;
(b) Create One calls: calls/s and p50/p99 latency on 4 connections, with no endpoint, with an
    endpoint whose receiver answers at once, and with one whose receiver accepts the connection
    and sleeps 30 s before answering (a dead receiver);
(c) with --idle-seconds S: serve's CPU (utime+stime from /proc/PID/stat) over S idle seconds
    with the mail worker on and no endpoint.

Usage: bench/webhooks.sh [-n CREATES] [--idle-seconds S]. Figures vary with the machine's load:
say which machine, and whether it was quiet, next to any of them."""

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from sitest import Server, Tenant, unique_email
from webhook_receiver import Receiver, verify

HOOKS = "/invites/webhooks"
CREATE = "/invites/site-invite"
ROLE = "1000000000000000006"
CONNS = 4


def creates(t, n):
    """n Create One calls on CONNS connections: (calls/s, p50 ms, p99 ms)."""
    def one(_):
        start = time.monotonic()
        r = t.call("POST", CREATE, {"email": unique_email(), "policyIds": [ROLE]})
        assert r.status == 200, (r.status, r.body[:200])
        return time.monotonic() - start
    for _ in range(20):  # warm-up: connections, statement caches
        one(None)
    start = time.monotonic()
    with ThreadPoolExecutor(CONNS) as pool:
        lat = sorted(pool.map(one, range(n)))
    took = time.monotonic() - start
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return n / took, statistics.median(lat) * 1000, p99 * 1000


def delivery_rate(n):
    """(a): events/s delivered once the threads start, n events waiting."""
    with Receiver() as rx, Server(extra_args=["--allow-http-webhooks", "--access-log", "off",
                                              "--webhook-threads", "0"]) as server:
        t = Tenant(server, contributor_limit=10 ** 6)
        w = t.call("POST", HOOKS, {"url": rx.url("/rate"), "events": ["invite.created"]})
        assert w.status == 200, w.body
        with ThreadPoolExecutor(CONNS) as pool:
            list(pool.map(lambda _: t.call("POST", CREATE, {"email": unique_email(),
                                                            "policyIds": [ROLE]}), range(n)))
        server.stop()
        server.extra_args[-1] = "2"  # --webhook-threads 2, the default
        server.start()
        start, before = time.monotonic(), len(rx.received("/rate"))  # counted from here
        rx.wait_for(lambda g: len(g) >= n, timeout=600)
        took = time.monotonic() - start
        got = rx.received("/rate")
        assert len(got) == n, len(got)
        assert all(verify(w.json["webhook"]["secret"], r.headers, r.body) for r in got)
        return (n - before) / took


def api_rows(n):
    """(b): the three rows of Create One figures."""
    with Receiver() as rx, Server(extra_args=["--allow-http-webhooks", "--access-log",
                                              "off"]) as server:
        rx.sleep["/dead"] = 30
        none, live, dead = (Tenant(server, contributor_limit=10 ** 6) for _ in range(3))
        for t, path in ((live, "/live"), (dead, "/dead")):
            r = t.call("POST", HOOKS, {"url": rx.url(path), "events": ["invite.created"]})
            assert r.status == 200, r.body
        rows = [("no endpoint", creates(none, n)),
                ("endpoint, receiver answers 200 at once", creates(live, n)),
                ("endpoint, receiver sleeps 30 s (dead)", creates(dead, n))]
        rx.wait_for(lambda g: len([r for r in g if r.path == "/live"]) >= n + 20, timeout=600)
        return rows


def idle_cpu(seconds):
    """(c): CPU seconds serve used while idle."""
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid):
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / tick
    with Server(extra_args=["--mail-worker", "on"]) as server:
        time.sleep(3)  # past start-up
        a = cpu(server.proc.pid)
        time.sleep(seconds)
        return cpu(server.proc.pid) - a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="creates per measurement")
    ap.add_argument("--idle-seconds", type=float, default=0,
                    help="also measure serve's idle CPU over this many seconds")
    args = ap.parse_args()
    rate = delivery_rate(args.n)
    rows = api_rows(args.n)
    print("Create One, %d calls on %d connections, mail worker on, SQLite:" % (args.n, CONNS))
    print("| %-40s | %9s | %8s | %8s |" % ("webhooks", "creates/s", "p50 ms", "p99 ms"))
    print("|%s|%s|%s|%s|" % ("-" * 42, "-" * 11, "-" * 10, "-" * 10))
    for name, (cps, p50, p99) in rows:
        print("| %-40s | %9.0f | %8.1f | %8.1f |" % (name, cps, p50, p99))
    print("webhook delivery rate (%d queued events, 2 threads, receiver answers 200 at once, "
          "signatures checked): %.0f events/s" % (args.n, rate))
    if args.idle_seconds:
        print("idle serve (mail worker on, no endpoint): %.2f s CPU over %.0f s"
              % (idle_cpu(args.idle_seconds), args.idle_seconds))


if __name__ == "__main__":
    main()
