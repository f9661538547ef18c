#!/usr/bin/env python3
"""Times the console's pages on a site with 100,000 invites (issue 13: the invites page answers in
at most 50 ms of server time). Starts `siteinvites serve` on a temporary SQLite file with the mail
worker off, loads 100 Bulk Invite calls of 1,000, signs in by a console link, then GETs each page
variant 10 times and prints the median and maximum of the server time the access log records.

    SI_BIN=build/siteinvites python3 bench/console_page.py

Figures depend on the machine: say "loaded machine" next to any taken on a shared one."""

import collections, http.client, json, os, re, shutil, subprocess, sys, tempfile, time

BIN = os.environ.get("SI_BIN", "build/siteinvites")
ROLE_ADMIN = "6732588207941061632"
VARIANTS = ["", "?sort=email-asc", "?status=Pending", "?q=u050000%40example.com",
            "?sort=status-desc"]


def main():
    tmp = tempfile.mkdtemp(prefix="si-console-bench-")
    db = "sqlite:" + os.path.join(tmp, "db")
    log_path = os.path.join(tmp, "serve.log")

    def cli(*args):
        return json.loads(subprocess.check_output([BIN, *args, "--json", "--db", db],
                                                  stderr=subprocess.DEVNULL))

    acc = cli("account", "create", "--name", "Big", "--email", "big@example.com")["id"]
    site = cli("site", "create", "--account", acc, "--name", "Big site",
               "--contributor-limit", "200000")["id"]
    key = cli("key", "create", "--account", acc)["key"]
    proc = subprocess.Popen([BIN, "serve", "--db", db, "--listen", "127.0.0.1:0",
                             "--mail-worker", "off", "--mail-dir", os.path.join(tmp, "mail"),
                             "--secret-file", os.path.join(tmp, "secret")],
                            stdout=subprocess.PIPE, stderr=open(log_path, "w"))
    try:
        port = int(re.search(rb":(\d+)", proc.stdout.readline()).group(1))

        def req(method, path, body=None, headers=None):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            c.request(method, path, body, headers or {})
            r = c.getresponse()
            data = r.read()
            c.close()
            return r, data

        for i in range(100):
            emails = ["u%06d@example.com" % (i * 1000 + j) for j in range(1000)]
            r, data = req("POST", "/invites/site-invite/bulk",
                          json.dumps({"policyIds": [ROLE_ADMIN], "emails": emails}),
                          {"Authorization": key, "wix-site-id": site,
                           "Content-Type": "application/json"})
            assert r.status == 200, data[:200]
        url = cli("console", "link", "--account", acc)["url"]
        r, _ = req("POST", re.sub(r"^https?://[^/]+", "", url), b"",
                   {"Content-Type": "application/x-www-form-urlencoded",
                    "Sec-Fetch-Site": "same-origin"})
        cookie = r.getheader("Set-Cookie").split(";")[0]
        for variant in VARIANTS:
            before = len(open(log_path).read().splitlines())
            for _ in range(10):
                r, _ = req("GET", "/console/sites/%s%s" % (site, variant), None,
                           {"Cookie": cookie})
                assert r.status == 200, r.status
            time.sleep(0.2)  # the access log line is written after the answer
            ms = sorted(int(m.group(1)) / 1000 for m in
                        (re.search(r"GET /console/sites/\S+ 200 (\d+)us", l)
                         for l in open(log_path).read().splitlines()[before:]) if m)
            print("site page %-28s server median %6.1f ms  max %6.1f ms" %
                  (variant or "(newest first)", ms[len(ms) // 2], ms[-1]))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
