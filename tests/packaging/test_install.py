"""`cmake --install --prefix TMP` of this build tree: the layout (binary, every template, man
pages, header, client libraries, .pc, CMake package, unit, sysusers, tmpfiles, example config),
the installed binary serving with its installed templates, the man pages covering every command
and option, the unit accepted by systemd-analyze, and examples/invite.c built against the
installed library with pkg-config and with find_package."""

import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from pkgtest import help_flags, main, man_text, serve_once

SRC = os.environ["SI_SOURCE_DIR"]
BUILD = os.environ["SI_BUILD_DIR"]
CMAKE = os.environ.get("SI_CMAKE", "cmake")


def run(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def header_functions():
    with open(os.path.join(SRC, "include/siteinvites/client.h"), encoding="utf-8") as f:
        return set(re.findall(r"^[a-z][^(;]*\b(si_[a-z_0-9]+)\(", f.read(), re.M))


class InstallTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="si-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(CMAKE, "--install", BUILD, "--prefix", cls.prefix)
        cls.libdir = os.path.dirname(glob.glob(os.path.join(cls.prefix, "lib*", "**",
                                                            "libsiteinvites-client.so.0"),
                                               recursive=True)[0])
        cls.bin = os.path.join(cls.prefix, "bin", "siteinvites")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def test_layout(self):
        for rel in ("bin/siteinvites", "include/siteinvites/client.h",
                    "share/man/man1/siteinvites.1", "share/man/man5/siteinvites.conf.5",
                    "share/man/man3/siteinvites-client.3", "lib/systemd/system/siteinvites.service",
                    "lib/sysusers.d/siteinvites.conf", "lib/tmpfiles.d/siteinvites.conf"):
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
        for name in ("libsiteinvites-client.a", "libsiteinvites-client.so.0",
                     "pkgconfig/siteinvites-client.pc",
                     "cmake/SiteInvitesClient/SiteInvitesClientConfig.cmake",
                     "cmake/SiteInvitesClient/SiteInvitesClientConfigVersion.cmake"):
            self.assertTrue(os.path.exists(os.path.join(self.libdir, name)), name)
        # Every template file of the checkout, whatever folders exist.
        src_t = os.path.join(SRC, "templates")
        want = {os.path.relpath(os.path.join(d, f), src_t)
                for d, _, fs in os.walk(src_t) for f in fs}
        inst_t = self.path("share/siteinvites/templates")
        got = {os.path.relpath(os.path.join(d, f), inst_t) for d, _, fs in os.walk(inst_t)
               for f in fs}
        self.assertGreater(len(want), 20)
        self.assertEqual(got, want)
        conf = self.path("etc/siteinvites/siteinvites.conf")
        self.assertEqual(stat.S_IMODE(os.stat(conf).st_mode), 0o640)
        unit = read(self.path("lib/systemd/system/siteinvites.service"))
        self.assertIn("ExecStart=%s serve --config %s\n" % (self.bin, conf), unit)
        for line in ("StateDirectory=siteinvites", "ProtectSystem=strict", "NoNewPrivileges=yes",
                     "PrivateTmp=yes", "CapabilityBoundingSet=\n",
                     "SystemCallFilter=@system-service", "ExecReload=/bin/kill -HUP $MAINPID",
                     "User=siteinvites"):
            self.assertIn(line, unit)
        self.assertIn("u siteinvites ", read(self.path("lib/sysusers.d/siteinvites.conf")))

    def test_shared_library_exports_only_the_public_api(self):
        lib = os.path.join(self.libdir, "libsiteinvites-client.so.0")
        self.assertIn("Library soname: [libsiteinvites-client.so.0]", run("readelf", "-d", lib))
        syms = {line.split()[-1].split("@")[0]
                for line in run("nm", "-D", "--defined-only", lib).splitlines()
                if line.split()[-2] in ("T", "D", "B", "R")}
        self.assertEqual(syms, header_functions())

    def test_installed_binary_serves_with_installed_templates(self):
        self.assertIn("siteinvites ", run(self.bin, "--version"))
        with tempfile.TemporaryDirectory() as work:
            conf = self.path("etc/siteinvites/siteinvites.conf")
            run(self.bin, "migrate", "--config", conf, "--db", "sqlite:%s/m.db" % work, cwd=work)
            status, body, page_status, page, err = serve_once(
                [self.bin, "serve", "--config", conf, "--listen", "127.0.0.1:0",
                 "--db", "sqlite:%s/s.db" % work, "--mail-dir", work + "/mail"], work)
        self.assertEqual(status, 200, body)
        self.assertIn("<html", page.lower())
        self.assertEqual(page_status, 404, page[:300])

    def test_man_pages_name_every_command_and_option(self):
        page1, warn1 = man_text(self.path("share/man/man1/siteinvites.1"))
        page5, warn5 = man_text(self.path("share/man/man5/siteinvites.conf.5"))
        page3, warn3 = man_text(self.path("share/man/man3/siteinvites-client.3"))
        self.assertEqual((warn1, warn5, warn3), ("", "", ""))
        for cmd, flags in help_flags(self.bin).items():
            section = page1.split("\n   %s\n" % cmd, 1)
            self.assertEqual(len(section), 2, "siteinvites(1) has no section for %s" % cmd)
            for flag in flags:
                self.assertRegex(page1, r"(?<![\w-])%s(?![\w-])" % re.escape(flag),
                                 "siteinvites(1) lacks %s of %s" % (flag, cmd))
                key = flag[2:]
                if cmd == "serve" and key != "config":  # every setting but --config is a key
                    self.assertRegex(page5, r"\n       %s\b" % re.escape(key))
        for fn in header_functions():
            self.assertIn(fn, page3)
        # The pages are the binary's own output, not a stale copy.
        self.assertEqual(read(self.path("share/man/man1/siteinvites.1")),
                         run(self.bin, "--help-man", "1"))

    def test_systemd_analyze_accepts_the_unit(self):
        if not shutil.which("systemd-analyze"):
            self.fail("systemd-analyze missing (scripts/install-deps.sh installs systemd)")
        # verify checks that ExecStart exists, so the unit's paths are already this prefix's;
        # man pages are checked above (they are not in man's path here).
        unit = self.path("lib/systemd/system/siteinvites.service")
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], capture_output=True,
                           text=True)
        # verify exits 0 even for a line it ignores: any output is a finding.
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        bad = os.path.join(self.tmp, "bad", "siteinvites.service")
        os.makedirs(os.path.dirname(bad), exist_ok=True)
        with open(bad, "w") as f:
            f.write(read(unit).replace("ProtectSystem=strict", "ProtectSystem=bogus"))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", bad], capture_output=True,
                           text=True)
        self.assertIn("Failed to parse", p.stdout + p.stderr, "the check would miss a bad line")

    def test_example_builds_with_pkg_config(self):
        env = {**os.environ, "PKG_CONFIG_PATH": os.path.join(self.libdir, "pkgconfig")}
        flags = run("pkg-config", "--cflags", "--libs", "siteinvites-client", env=env).split()
        self.assertIn("-I" + self.path("include"), flags)
        exe = os.path.join(self.tmp, "invite-pc")
        run("cc", "-Wall", "-Werror", "-o", exe, os.path.join(SRC, "examples/invite.c"), *flags)
        self.assertIn("libsiteinvites-client.so.0", run("readelf", "-d", exe))
        # It loads the installed library and runs: no key in the environment is its usage error.
        p = subprocess.run([exe], capture_output=True, text=True,
                           env={"LD_LIBRARY_PATH": self.libdir, "PATH": os.environ["PATH"]})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("usage:", p.stderr)

    def test_example_builds_with_find_package(self):
        proj = os.path.join(self.tmp, "proj")
        os.makedirs(proj)
        with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.22)\nproject(uses_client C)\n"
                    "find_package(SiteInvitesClient 0.1 REQUIRED CONFIG)\n"
                    "add_executable(invite_shared %s/examples/invite.c)\n"
                    "target_link_libraries(invite_shared PRIVATE "
                    "SiteInvitesClient::siteinvites-client)\n"
                    "add_executable(invite_static %s/examples/invite.c)\n"
                    "target_link_libraries(invite_static PRIVATE "
                    "SiteInvitesClient::siteinvites-client-static)\n" % (SRC, SRC))
        out = os.path.join(proj, "build")
        run(CMAKE, "-S", proj, "-B", out, "-DCMAKE_PREFIX_PATH=" + self.prefix)
        run(CMAKE, "--build", out)
        self.assertIn("libsiteinvites-client.so.0",
                      run("readelf", "-d", os.path.join(out, "invite_shared")))
        self.assertNotIn("libsiteinvites-client",
                         run("readelf", "-d", os.path.join(out, "invite_static")))
        for exe in ("invite_shared", "invite_static"):
            p = subprocess.run([os.path.join(out, exe)], capture_output=True, text=True,
                               env={"LD_LIBRARY_PATH": self.libdir})
            self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    main()
