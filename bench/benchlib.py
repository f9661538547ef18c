"""Pieces the Python benchmarks share: the admin CLI with --json, and one `siteinvites serve` on
127.0.0.1:0 with its port and start-up time."""
import json
import os
import re
import subprocess
import time


def cli(bin_path, db, *args):
    """`siteinvites ARGS --json --db DB`, its answer parsed."""
    return json.loads(subprocess.check_output([bin_path, *args, "--json", "--db", db],
                                              stderr=subprocess.DEVNULL))


def tenant_load(gen, port, t, path, seconds, conns=32, method="GET", body=None, values=None,
                seq=0):
    """bench/loadgen at path for seconds with t's key and site (t: a sitest.Tenant), after 500
    warm-up answers; its JSON report as a dict. {{N}} in path or body counts from seq, {{V}}
    takes lines of the file values."""
    args = [gen, "-u", "http://127.0.0.1:%d%s" % (port, path), "-X", method,
            "-H", "Authorization: " + t.key, "-H", "wix-site-id: " + t.site_id,
            "-c", str(conns), "-d", str(seconds), "-W", "500", "-s", str(seq), "-j"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "-b", body]
    if values:
        args += ["-V", values]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


class Serve:
    """`bin_path serve --db db` on 127.0.0.1:0 with --access-log off, mail to mail_dir, the
    secret in tmp/secret and stderr appended to log; .start_s is exec to the listening line."""

    def __init__(self, bin_path, db, tmp, mail_dir, log, worker=True, extra=()):
        self.mail = mail_dir
        t0 = time.monotonic()
        with open(log, "a") as err:
            self.proc = subprocess.Popen(
                [bin_path, "serve", "--db", db, "--listen", "127.0.0.1:0", "--access-log", "off",
                 "--mail-worker", "on" if worker else "off", "--mail-dir", mail_dir,
                 "--secret-file", os.path.join(tmp, "secret"), *extra],
                stdout=subprocess.PIPE, stderr=err)
        line = self.proc.stdout.readline()
        self.start_s = time.monotonic() - t0
        m = re.search(rb"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("serve did not start: %r (see %s)" % (line, log))
        self.port = int(m.group(1))

    def delivered(self):
        """Emails in the Maildir's new/ folder."""
        d = os.path.join(self.mail, "new")
        return len(os.listdir(d)) if os.path.isdir(d) else 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
