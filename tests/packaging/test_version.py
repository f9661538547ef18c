"""`siteinvites --version`: the project's version, and the git commit when built from git
(packaging/version.cmake, run at build time); built outside git, the version alone."""

import os
import re
import subprocess
import tempfile
import unittest

from pkgtest import main

BIN = os.environ["SI_BIN"]
SRC = os.environ["SI_SOURCE_DIR"]
CMAKE = os.environ.get("SI_CMAKE", "cmake")
SCRIPT = os.path.join(SRC, "packaging", "version.cmake")
LINE = re.compile(r"siteinvites (\d+\.\d+\.\d+)(?: \(git ([0-9a-f]{12})(-dirty)?\))?\n")


def git(cwd, *args):
    return subprocess.run(["git", "-C", cwd, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(siteinvites VERSION (\S+)", f.read()).group(1)


def generated_commit(src, out):
    """Runs the build-time script on src and returns the SI_GIT_COMMIT it wrote."""
    subprocess.run([CMAKE, "-DSRC=" + src, "-DOUT=" + out, "-P", SCRIPT], check=True,
                   capture_output=True)
    with open(out, encoding="utf-8") as f:
        return re.search(r'#define SI_GIT_COMMIT "([^"]*)"', f.read()).group(1)


class Version(unittest.TestCase):
    def test_binary_prints_version_and_commit(self):
        for arg in ("--version", "version"):
            p = subprocess.run([BIN, arg], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            m = LINE.fullmatch(p.stdout)
            self.assertIsNotNone(m, "unexpected --version line %r" % p.stdout)
            self.assertEqual(m.group(1), project_version())
            if os.path.exists(os.path.join(SRC, ".git")):
                # Built from this checkout: the commit is HEAD's (the build ran after it).
                self.assertIsNotNone(m.group(2), "built from git but no commit: %r" % p.stdout)
                head = git(SRC, "rev-parse", "HEAD")
                self.assertTrue(head.startswith(m.group(2)),
                                "binary built from %s, HEAD is %s: rebuild before testing"
                                % (m.group(2), head[:12]))

    def test_outside_git_no_commit(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "src"))
            self.assertEqual(generated_commit(os.path.join(tmp, "src"),
                                              os.path.join(tmp, "v.h")), "")

    def test_commit_and_dirty_state_follow_the_tree(self):
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "src"), os.path.join(tmp, "v.h")
            os.mkdir(src)
            git(src, "init", "-q")
            with open(os.path.join(src, "a.c"), "w") as f:
                f.write("int a;\n")
            git(src, "add", "a.c")
            git(src, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a")
            head = git(src, "rev-parse", "--short=12", "HEAD")
            self.assertEqual(generated_commit(src, out), head)
            mtime = os.stat(out).st_mtime_ns
            self.assertEqual(generated_commit(src, out), head)
            self.assertEqual(os.stat(out).st_mtime_ns, mtime, "unchanged commit rewrote the header")
            with open(os.path.join(src, "a.c"), "a") as f:
                f.write("int b;\n")
            self.assertEqual(generated_commit(src, out), head + "-dirty")
            # An untracked file is not a change to what was built.
            git(src, "checkout", "-q", "a.c")
            with open(os.path.join(src, "notes.txt"), "w") as f:
                f.write("x\n")
            self.assertEqual(generated_commit(src, out), head)


if __name__ == "__main__":
    main()
