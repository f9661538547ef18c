"""-DSI_CLIENT_ONLY=ON builds the C client with libcurl and jansson only: configured where
pkg-config cannot see the server's libraries (libmicrohttpd, SQLite, libsodium, libpq), it
configures, builds both libraries and installs them; the full build refuses the same place, so
the hiding is real."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from pkgtest import main

SRC = os.environ["SI_SOURCE_DIR"]
CMAKE = os.environ.get("SI_CMAKE", "cmake")
SERVER_PCS = {"libmicrohttpd.pc", "sqlite3.pc", "libsodium.pc", "libpq.pc", "cmocka.pc"}


def pc_dirs():
    out = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return [d for d in out.split(":") if os.path.isdir(d)]


class ClientOnly(unittest.TestCase):
    def test_builds_without_server_libraries(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcdir = os.path.join(tmp, "pc")
            os.mkdir(pcdir)
            for d in pc_dirs():
                for pc in glob.glob(os.path.join(d, "*.pc")):
                    name = os.path.basename(pc)
                    if name not in SERVER_PCS and not os.path.exists(os.path.join(pcdir, name)):
                        os.symlink(pc, os.path.join(pcdir, name))
            env = {**os.environ, "PKG_CONFIG_LIBDIR": pcdir, "PKG_CONFIG_PATH": ""}
            full = subprocess.run([CMAKE, "-S", SRC, "-B", os.path.join(tmp, "full")], env=env,
                                  capture_output=True, text=True)
            self.assertNotEqual(full.returncode, 0, "the server's libraries were not hidden")
            self.assertIn("libmicrohttpd", full.stdout + full.stderr)

            out, prefix = os.path.join(tmp, "client"), os.path.join(tmp, "prefix")
            subprocess.run([CMAKE, "-S", SRC, "-B", out, "-DSI_CLIENT_ONLY=ON",
                            "-DCMAKE_BUILD_TYPE=Release", "-DSI_WERROR=ON"],
                           env=env, check=True, capture_output=True)
            with open(os.path.join(out, "CMakeCache.txt"), encoding="utf-8") as f:
                cache = f.read()
            for looked_up in ("MHD", "SQLITE", "SODIUM", "PQ", "CMOCKA"):
                self.assertNotIn("__pkg_config_checked_%s:" % looked_up, cache)
            subprocess.run([CMAKE, "--build", out, "-j", str(os.cpu_count() or 2)], env=env,
                           check=True, capture_output=True)
            self.assertFalse(os.path.exists(os.path.join(out, "siteinvites")))
            subprocess.run([CMAKE, "--install", out, "--prefix", prefix], env=env, check=True,
                           capture_output=True)
            files = {os.path.relpath(os.path.join(d, f), prefix)
                     for d, _, fs in os.walk(prefix) for f in fs}
            for want in ("include/siteinvites/client.h", "share/man/man3/siteinvites-client.3"):
                self.assertIn(want, files)
            for suffix in ("libsiteinvites-client.so.0", "libsiteinvites-client.a",
                           "pkgconfig/siteinvites-client.pc",
                           "SiteInvitesClient/SiteInvitesClientConfig.cmake"):
                self.assertTrue(any(f.endswith(suffix) for f in files), suffix)
            self.assertFalse(any(f.startswith("bin/") for f in files), files)


if __name__ == "__main__":
    main()
