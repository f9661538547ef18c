"""SMTP faults (issue 12, docs/FAULTS.md): a server that accepts the connection and never
answers, one that never answers the data, and one that answers normally but closes the
connection in the middle of DATA. Against each, serve (--smtp-timeout-seconds 2) answers the API
at once, keeps the email Queued with a plain lastError, retries with backoff without spinning;
once a well-behaved aiosmtpd takes the same port, the email arrives exactly once (the bad server
never answered 250 to the data)."""

import asyncio
import os
import threading
import time
import unittest

from sitest import ApiTestCase, Server, Tenant, unique_email, wait_until
from smtpd import SmtpServer, free_port

TIMEOUT_S = 2  # --smtp-timeout-seconds: each try against the hanging server ends after this
FAST = ["--smtp-timeout-seconds", str(TIMEOUT_S), "--mail-retry-ms", "300",
        "--mail-lease-seconds", "10"]
API_FAST_S = 1.0  # Bulk Invite must not wait on SMTP (a try takes TIMEOUT_S here)
CPU_SHARE_MAX = 0.25  # of one core while retrying; a busy retry loop would use all of it
WAIT_S = 20
LEAKS = ("curl", "errno", ".c:", "sqlite", "/", "http")  # internals, paths, the link


class BadSmtp:
    """An asyncio SMTP server in a thread: mode "hang" accepts TCP and never writes a byte;
    mode "drop" speaks SMTP up to DATA's 354, reads part of the message and closes; mode
    "stall" reads the whole message and never answers it (libcurl's connect timeout covers the
    greeting, so only this one proves the bound on the whole transfer)."""

    def __init__(self, mode, port):
        self.mode, self.port = mode, port
        self.connections = 0
        self.data_drops = []  # monotonic time of each connection closed mid-DATA
        self.data_bytes = 0   # message bytes read before a drop (proves DATA was under way)
        self.loop = asyncio.new_event_loop()
        self.writers = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self.client, "127.0.0.1", self.port), self.loop).result(10)
        return self

    def __exit__(self, *exc):
        async def close():
            self.server.close()
            for w in self.writers:
                w.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        return False

    async def client(self, reader, writer):
        self.connections += 1
        self.writers.append(writer)
        try:
            if self.mode == "hang":
                await reader.read()  # never answers; returns when the client gives up
                return
            writer.write(b"220 bad.test ESMTP\r\n")
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    if self.mode == "stall":
                        while await reader.read(4096):
                            pass  # the data and its final dot, never answered
                        return
                    got = await reader.read(200)
                    self.data_bytes += len(got)
                    self.data_drops.append(time.monotonic())
                    return  # closed mid-DATA: the message was never accepted
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-bad.test\r\n250 8BITMIME\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    return
                else:
                    writer.write(b"250 ok\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class SmtpFaults(ApiTestCase):
    def run_fault(self, mode, wait_attempts, error_word):
        port = free_port()
        addr = unique_email(mode)
        with BadSmtp(mode, port) as bad:
            server = Server(extra_args=["--smtp-url", "smtp://127.0.0.1:%d" % port] + FAST)
            server.start()
            self.addCleanup(server.close)
            t = Tenant(server, "Faulty" + mode.capitalize())
            start = time.monotonic()
            r = t.bulk([addr])
            self.assertLess(time.monotonic() - start, API_FAST_S, "the API waited on SMTP")
            self.assertStatus(r, 200)
            iid = r.json["invites"][0]["id"]

            def delivery():
                g = t.get(iid)
                self.assertStatus(g, 200)
                return g.json["invite"]["delivery"]

            d = wait_until(lambda: (lambda d: d if d["attempts"] >= wait_attempts else None)(
                delivery()), WAIT_S, what="%d failed tries" % wait_attempts)
            self.assertEqual(d["status"], "Queued", d)
            err = d["lastError"] or ""
            self.assertIn(error_word, err.lower(), d)
            for leak in LEAKS:
                self.assertNotIn(leak, err.lower(), d)

            # Retrying, not spinning: the whole process stays well under one core.
            pid = server.proc.pid
            cpu0, wall0, tries0 = cpu_seconds(pid), time.monotonic(), bad.connections
            time.sleep(2.5)
            share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
            self.assertLess(share, CPU_SHARE_MAX, "CPU while retrying")
            self.assertLess(bad.connections - tries0, 6, "retries without backoff")
            self.assertEqual(delivery()["status"], "Queued")
            seen = bad

        # The same port, now a server that accepts: delivered, exactly once.
        with SmtpServer(port) as good:
            wait_until(lambda: good.handler.to(addr), WAIT_S, what="the email after the fault")
            wait_until(lambda: delivery()["status"] == "Sent" or None, WAIT_S, what="Sent")
            time.sleep(1.0)  # a duplicate would come with the next try
            self.assertEqual(len(good.handler.to(addr)), 1, "sent more than once")
        server.close()
        return seen

    def test_server_never_answers(self):
        bad = self.run_fault("hang", 2, "timeout: the server did not answer in time")
        self.assertGreaterEqual(bad.connections, 2)

    def test_server_never_answers_the_data(self):
        self.run_fault("stall", 2, "timeout: the server did not answer in time")

    def test_server_drops_mid_data(self):
        bad = self.run_fault("drop", 5, "connection lost: the server closed it")
        self.assertGreater(bad.data_bytes, 0, "the fault never reached DATA")
        gaps = [b - a for a, b in zip(bad.data_drops, bad.data_drops[1:])]
        self.assertGreaterEqual(len(gaps), 4, gaps)
        # mail-retry-ms 300 doubles per try, +-20% jitter: 0.3, 0.6, 1.2, 2.4 s. The worker looks
        # for due emails once a second when idle, so the first waits round up to about 1 s; the
        # fourth (1.9 s or more) is still well over the first.
        self.assertGreater(gaps[3], 1.5 * gaps[0], gaps)


if __name__ == "__main__":
    unittest.main()
