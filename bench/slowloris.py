#!/usr/bin/env python3
"""Slowloris against a real `serve` (issue 11): N connections (default 500) each send a
partial request head and then one more header byte every few seconds, so that an idle timeout
never fires; meanwhile one client makes plain GET /healthz requests, each on a fresh
connection, and the script prints their latency (p50, p99, max) and errors, before the attack
and during it, and how many attack connections the server still held at the end.

    bench/slowloris.py [--conns 500] [--interval 5] [--duration 10] [-- SERVE_ARGS...]

The server runs with its defaults (max-connections 1000, read-timeout-seconds 30) plus
SERVE_ARGS; the binary is $SI_BIN or build/siteinvites. Exit status 1 if any GET failed during
the attack. Figures and the command used are in bench/README.md ("Slowloris")."""

import argparse
import http.client
import os
import select
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))

import sitest  # noqa: E402  (the tests' harness: Server)

PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
GET_TIMEOUT_S = 5


def percentile(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(p / 100.0 * len(sorted_ms)))]


def measure(port, duration):
    """Sequential GET /healthz on fresh connections for duration seconds: (latencies ms, errors)."""
    lat, errors = [], 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        t = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GET_TIMEOUT_S)
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                lat.append((time.monotonic() - t) * 1000)
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
        finally:
            conn.close()
    return sorted(lat), errors


def report(name, lat, errors):
    print("%-16s %6d ok %4d errors   p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms" %
          (name, len(lat), errors, percentile(lat, 50), percentile(lat, 99),
           lat[-1] if lat else float("nan")))


def trickle(socks, interval, stop):
    """One header byte per connection every interval seconds, spread over the interval."""
    gap = interval / max(1, len(socks))
    while not stop.is_set():
        for s in socks:
            if stop.wait(gap):
                return
            try:
                s.send(b"a")
            except OSError:
                pass  # cut by the server: counted at the end


def still_open(socks):
    n = 0
    for s in socks:
        ready, _, _ = select.select([s], [], [], 0)
        if ready:
            try:
                if s.recv(1) == b"":
                    continue
            except OSError:
                continue
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conns", type=int, default=500)
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between a connection's bytes")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of GETs per phase")
    ap.add_argument("serve_args", nargs="*", help="extra serve flags (after --)")
    args = ap.parse_args()

    with sitest.Server(extra_args=["--access-log", "off"] + args.serve_args) as srv:
        print("serve %s, %d slow connections, a byte each every %.1f s, %.0f s of GETs per phase"
              % (" ".join(args.serve_args) or "(defaults)", args.conns, args.interval,
                 args.duration))
        report("before attack", *measure(srv.port, args.duration))
        socks = []
        for _ in range(args.conns):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=GET_TIMEOUT_S)
            s.sendall(PARTIAL)
            socks.append(s)
        stop = threading.Event()
        th = threading.Thread(target=trickle, args=(socks, args.interval, stop), daemon=True)
        th.start()
        time.sleep(1)  # let the server accept them all
        lat, errors = measure(srv.port, args.duration)
        report("during attack", lat, errors)
        stop.set()
        th.join()
        print("attack connections still open at the end: %d of %d" % (still_open(socks), len(socks)))
        for s in socks:
            s.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
