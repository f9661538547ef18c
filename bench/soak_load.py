#!/usr/bin/env python3
"""The soak's mixed load (bench/soak.sh): THREADS keep-alive connections issue a mix of Bulk
Invite (10 new addresses), Create One, Get, Query, Resend, Revoke and accept, paced to --rate
requests per second (0: as fast as they can, to measure capacity), for --duration seconds.
Every second it replaces --status FILE with its counters (JSON) for the sampler; at the end it
prints one JSON line: requests, req/s, answers by status, p50/p99 in ms, transport errors.
A 5xx or a transport error is an error; 428/429 are the expected answers of racing calls
(an invite accepted or revoked meanwhile, a full resend window)."""

import argparse
import http.client
import json
import os
import random
import threading
import time

POLICY = "1000000000000000001"
MIX = [("bulk", 15), ("create", 15), ("get", 30), ("query", 15), ("resend", 10),
       ("revoke", 7), ("accept", 8)]
POOL_MAX = 5000  # recent invites the calls pick from


class Shared:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.pool = []           # (id, token) of recent invites
        self.status = {}         # answer status -> count
        self.transport_errors = 0
        self.latencies = []      # ms, every answer
        self.next_slot = 0
        self.counter = 0

    def slot(self, t0):
        """The time the caller's next request is due (rate pacing); None when unpaced."""
        if not self.args.rate:
            return None
        with self.lock:
            due = t0 + self.next_slot / self.args.rate
            self.next_slot += 1
        return due

    def add(self, invites):
        with self.lock:
            self.pool.extend((i["id"], i["acceptLink"].rsplit("/", 1)[1]) for i in invites)
            del self.pool[:-POOL_MAX]

    def pick(self, rnd):
        with self.lock:
            return self.pool[rnd.randrange(len(self.pool))] if self.pool else (None, None)

    def unique(self):
        with self.lock:
            self.counter += 1
            return "%d-%d" % (os.getpid(), self.counter)


def worker(shared, port, headers, t0, end, seed):
    rnd = random.Random(seed)
    names, weights = zip(*MIX)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        due = shared.slot(t0)
        now = time.monotonic()
        if (due or now) >= end:
            break
        if due and due > now:
            time.sleep(due - now)
        op = rnd.choices(names, weights)[0]
        iid, token = shared.pick(rnd)
        if op in ("get", "resend", "revoke", "accept") and iid is None:
            op = "bulk"
        if op == "bulk":
            u = shared.unique()
            req = ("POST", "/invites/site-invite/bulk",
                   {"policyIds": [POLICY], "emails": ["s%s.%d@soak.example" % (u, i)
                                                     for i in range(10)]})
        elif op == "create":
            req = ("POST", "/invites/site-invite",
                   {"email": "c%s@soak.example" % shared.unique(), "policyIds": [POLICY]})
        elif op == "get":
            req = ("GET", "/invites/site-invite/" + iid, None)
        elif op == "query":
            req = ("POST", "/invites/site-invite/query",
                   {"query": {"cursorPaging": {"limit": 20}}})
        elif op == "resend":
            req = ("POST", "/invites/site-invite/%s/resend" % iid, {})
        elif op == "revoke":
            req = ("POST", "/invites/site-invite/%s/revoke" % iid, {})
        else:
            req = ("POST", "/invites/site-invite/accept", {"inviteToken": token})
        method, path, body = req
        data = json.dumps(body).encode() if body is not None else None
        h = dict(headers) if op != "accept" else {"Content-Type": "application/json"}
        start = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
        except (OSError, http.client.HTTPException):
            with shared.lock:
                shared.transport_errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        ms = (time.monotonic() - start) * 1000
        with shared.lock:
            shared.status[r.status] = shared.status.get(r.status, 0) + 1
            shared.latencies.append(ms)
        if r.status == 200 and op in ("bulk", "create"):
            answer = json.loads(payload)
            shared.add(answer["invites"] if op == "bulk" else [answer["invite"]])
    conn.close()


def counters(shared, t0, final=False):
    with shared.lock:
        total = sum(shared.status.values())
        errors = shared.transport_errors + sum(n for s, n in shared.status.items() if s >= 500)
        lat = sorted(shared.latencies) if final else []  # sorted once, at the end
        status = {str(k): v for k, v in sorted(shared.status.items())}
        transport = shared.transport_errors
    el = max(time.monotonic() - t0, 1e-9)
    pct = (lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None)
    return {"requests": total, "seconds": round(el, 1), "rps": round(total / el, 1),
            "status": status, "errors": errors, "transport_errors": transport,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def write_status(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--rate", type=float, default=0, help="requests/s in all; 0 = unpaced")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--status", help="file replaced every second with the counters")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    headers = {"Authorization": args.key, "wix-site-id": args.site,
               "Content-Type": "application/json"}
    shared = Shared(args)
    t0 = time.monotonic()
    end = t0 + args.duration
    threads = [threading.Thread(target=worker, daemon=True,
                                args=(shared, args.port, headers, t0, end, args.seed * 100 + w))
               for w in range(args.threads)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        time.sleep(1)
        if args.status:
            write_status(args.status, counters(shared, t0))
    out = counters(shared, t0, final=True)
    if args.status:
        write_status(args.status, out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
