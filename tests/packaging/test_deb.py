"""`make package`'s .deb, from this build tree: its file list and control data (dependencies
from dpkg-shlibdeps, the conffile, maintainer scripts), then `dpkg -i` on this machine (tests run
as root, as CI does): the user exists, the settings are root:siteinvites 0640, the installed
binary runs (--version, migrate on a temp db, serve answering /healthz with the installed
templates), systemd-analyze accepts the installed unit, a changed conffile survives a
reinstall, and purge removes the files. Not root: exit 77, which CTest reports as skipped."""

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

from pkgtest import main, serve_once

BUILD = os.environ["SI_BUILD_DIR"]
CMAKE = os.environ.get("SI_CMAKE", "cmake")
CPACK = os.path.join(os.path.dirname(CMAKE), "cpack")
CONF = "/etc/siteinvites/siteinvites.conf"


def run(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="si-deb-")
        run(CPACK, "-G", "DEB", "-B", cls.tmp, "--config",
            os.path.join(BUILD, "CPackConfig.cmake"))
        debs = [f for f in os.listdir(cls.tmp) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.tmp, debs[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_file_list_and_control(self):
        listing = run("dpkg-deb", "-c", self.deb)
        files = {line.split()[-1] if "->" not in line else line.split()[-3]: line.split()[0]
                 for line in listing.splitlines()}
        for path in ("./usr/bin/siteinvites", "./usr/lib/systemd/system/siteinvites.service",
                     "./usr/lib/sysusers.d/siteinvites.conf", "./usr/lib/tmpfiles.d/siteinvites.conf",
                     "./usr/share/man/man1/siteinvites.1", "./usr/share/man/man5/siteinvites.conf.5",
                     "./usr/share/man/man3/siteinvites-client.3",
                     "./usr/include/siteinvites/client.h",
                     "./usr/share/siteinvites/templates/pages/layout.html"):
            self.assertIn(path, files)
        self.assertEqual(files["./etc/siteinvites/siteinvites.conf"], "-rw-r-----")
        self.assertTrue(any(p.endswith("/libsiteinvites-client.so.0") for p in files))
        self.assertTrue(any(p.endswith("/pkgconfig/siteinvites-client.pc") for p in files))
        self.assertFalse([p for p in files if p.startswith("./usr/local") or "_CPack" in p])
        depends = run("dpkg-deb", "-f", self.deb, "Depends")
        for lib in ("libmicrohttpd12", "libsqlite3-0", "libsodium23", "libcurl4", "libpq5",
                    "libjansson4", "libc6"):
            self.assertIn(lib, depends)
        ctl = os.path.join(self.tmp, "control")
        run("dpkg-deb", "-e", self.deb, ctl)
        with open(os.path.join(ctl, "conffiles"), encoding="utf-8") as f:
            self.assertEqual(f.read().split(), [CONF])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(ctl, script), os.X_OK), script)
            run("sh", "-n", os.path.join(ctl, script))

    def test_dpkg_install_runs(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root")  # exit 77: CTest shows the test as skipped
        try:
            run("dpkg", "-i", self.deb)
            self.check_installed()
            # A changed conffile is kept over a reinstall (dpkg's conffile handling).
            with open(CONF, "a", encoding="utf-8") as f:
                f.write("# local change\n")
            run("dpkg", "-i", "--force-confold", self.deb)
            with open(CONF, encoding="utf-8") as f:
                self.assertIn("# local change", f.read())
        finally:
            subprocess.run(["dpkg", "--purge", "siteinvites"], capture_output=True, check=False)
        self.assertFalse(os.path.exists("/usr/bin/siteinvites"))
        self.assertFalse(os.path.exists(CONF))

    def check_installed(self):
        self.assertIn("siteinvites ", run("/usr/bin/siteinvites", "--version"))
        user = pwd.getpwnam("siteinvites")
        self.assertEqual(user.pw_dir, "/var/lib/siteinvites")
        st = os.stat(CONF)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, grp.getgrgid(st.st_gid).gr_name),
                         (0o640, 0, "siteinvites"))
        with tempfile.TemporaryDirectory() as work:
            run("/usr/bin/siteinvites", "migrate", "--config", CONF, "--db",
                "sqlite:%s/m.db" % work, cwd=work)
            status, body, page_status, page, _ = serve_once(
                ["/usr/bin/siteinvites", "serve", "--config", CONF, "--listen", "127.0.0.1:0",
                 "--db", "sqlite:%s/s.db" % work, "--mail-dir", work + "/mail"], work)
        self.assertEqual(status, 200, body)
        self.assertEqual(page_status, 404)
        self.assertIn("<html", page.lower())
        unit = "/usr/lib/systemd/system/siteinvites.service"
        self.assertTrue(os.path.isfile(unit))
        # Installed for real: ExecStart and the man pages of Documentation= exist.
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))


if __name__ == "__main__":
    main()
