#!/usr/bin/env bash
# Checks that the docs say what the code does: the flags of docs/CONFIG.md and docs/CLI.md
# against the binary's own --help (which prints the settings table of src/cli/config.c and each
# command's options), and the route table of docs/API.md against the router's table
# (src/http/routes.c, printed by si_list_routes). Exits non-zero on any disagreement.
#
# SI_BIN and SI_LIST_ROUTES name the two programs (CTest sets them); otherwise they are built in
# $BUILD (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SI_BIN:-}" ] || [ -z "${SI_LIST_ROUTES:-}" ]; then
    build=${BUILD:-build}
    [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" --target siteinvites si_list_routes -j "${JOBS:-2}" >/dev/null
    SI_BIN=${SI_BIN:-$build/siteinvites}
    SI_LIST_ROUTES=${SI_LIST_ROUTES:-$build/tests/si_list_routes}
fi
export SI_BIN SI_LIST_ROUTES

exec python3 - <<'PY'
import os
import re
import subprocess
import sys

BIN = os.environ["SI_BIN"]
FLAG = re.compile(r"--[a-z][a-z0-9-]*")
problems = []


def fail(doc, text):
    problems.append("%s: %s" % (doc, text))


def run(*args):
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True).stdout


def parse_help(text):
    """A command's --help: its own options, and the settings it reads (a setting line is
    followed by its '(env ...' line)."""
    lines = text.splitlines()
    opts, settings = [], {}
    for i, line in enumerate(lines):
        m = re.match(r"^  (--)?([a-z][a-z0-9-]*)(?: \S+)?\s{2,}", line)
        if not m:
            continue
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        env = re.match(r"^\((not a flag: config file key or )?env (SITEINVITES_[A-Z0-9_]+)"
                       r"(?:, default (.*))?\)$", nxt)
        if env:
            settings[m.group(2)] = {"flag": bool(m.group(1)), "env": env.group(2),
                                    "default": env.group(3)}
        elif m.group(1):
            opts.append("--" + m.group(2))
    return opts, settings


# ---- the truth, from the binary -----------------------------------------------------------
main_help = run("--help")
commands = []
block = main_help.split("commands:\n", 1)[1].split("\n\n", 1)[0]
for line in block.splitlines():
    m = re.match(r"^  (\S+(?: [a-z]+)?)\s{2,}", line)
    if m:
        commands.append(m.group(1))
if len(commands) < 5:
    sys.exit("check-docs: could not read the command list from %s --help" % BIN)

cmd_opts, cmd_settings, settings = {}, {}, {}
for c in commands:
    opts, sets = parse_help(run(*c.split(), "--help"))
    cmd_opts[c], cmd_settings[c] = opts, sets
    settings.update(sets)
setting_flags = {"--" + k for k, v in settings.items() if v["flag"]}
no_flag = {"--" + k for k, v in settings.items() if not v["flag"]}
option_flags = {o for opts in cmd_opts.values() for o in opts}
known = setting_flags | option_flags | {"--help", "--version"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def unknown_flags(doc, text):
    # A setting without a flag may be named to say it is refused as one.
    for flag in sorted(set(FLAG.findall(text)) - known - no_flag):
        fail(doc, "names %s, which the binary does not know" % flag)


# ---- docs/CONFIG.md: its settings table is the binary's, row for row ------------------------
config = read("docs/CONFIG.md")
unknown_flags("docs/CONFIG.md", config)
rows = {}
for line in config.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 4 and re.fullmatch(r"`[a-z][a-z0-9-]*`", cells[0]):
        rows[cells[0].strip("`")] = cells
for key, s in settings.items():
    row = rows.get(key)
    if not row:
        fail("docs/CONFIG.md", "the settings table has no row for %s" % key)
        continue
    want_flag = "`--%s`" % key if s["flag"] else None
    if want_flag and row[1] != want_flag:
        fail("docs/CONFIG.md", "%s: flag column %r, the binary has %s" % (key, row[1], want_flag))
    if not want_flag and "--" in row[1]:
        fail("docs/CONFIG.md", "%s has no flag, the table gives %r" % (key, row[1]))
    if row[2] != "`%s`" % s["env"]:
        fail("docs/CONFIG.md", "%s: environment %r, the binary has %s" % (key, row[2], s["env"]))
    doc_default = None if row[3] == "none" else row[3].strip("`")
    if doc_default != s["default"]:
        fail("docs/CONFIG.md", "%s: default %r, the binary has %r" % (key, row[3], s["default"]))
for key in sorted(set(rows) - set(settings)):
    fail("docs/CONFIG.md", "the settings table has %s, which the binary does not know" % key)
m = re.search(r"\((\d+) settings\)", config)
if m and int(m.group(1)) != len(settings):
    fail("docs/CONFIG.md", "says %s settings, the binary has %d" % (m.group(1), len(settings)))

# ---- docs/CLI.md: every command has a section naming each of its options -------------------
cli = read("docs/CLI.md")
unknown_flags("docs/CLI.md", cli)
sections = {}
for part in re.split(r"^## ", cli, flags=re.M)[1:]:
    title, _, body = part.partition("\n")
    for name in title.split(" / "):
        sections[name.strip()] = body
for c in commands:
    body = sections.get(c)
    if body is None:
        fail("docs/CLI.md", "no '## %s' section" % c)
        continue
    named = set(FLAG.findall(body))
    for opt in cmd_opts[c]:
        if opt not in named:
            fail("docs/CLI.md", "'## %s' does not name %s" % (c, opt))
    # The synopsis lines name only what the command accepts.
    accepts = set(cmd_opts[c]) | {"--" + k for k, v in cmd_settings[c].items() if v["flag"]}
    for line in body.splitlines():
        if re.match(r"^    (\S+=\S+ )?siteinvites " + re.escape(c) + r"\b", line) or (
                line.startswith("     ") and line.strip().startswith("[")):
            for flag in FLAG.findall(line):
                if flag not in accepts:
                    fail("docs/CLI.md", "'## %s' synopsis names %s, which %s does not accept"
                         % (c, flag, c))
serve = sections.get("serve", "")
for flag in sorted({"--" + k for k, v in cmd_settings.get("serve", {}).items() if v["flag"]}):
    if flag not in FLAG.findall(serve):
        fail("docs/CLI.md", "'## serve' does not name the setting %s" % flag)
for name in sections:
    if name not in commands and not name.startswith("serve ") and name[:1].islower() and \
            " " in name and name.split()[0] in {c.split()[0] for c in commands}:
        fail("docs/CLI.md", "'## %s' documents a command the binary does not have" % name)

# ---- docs/API.md: the route table is the router's -------------------------------------------
api = read("docs/API.md")
m = re.search(r"<!-- route-table[^>]*-->(.*?)<!-- /route-table -->", api, re.S)
documented = set()
if not m:
    fail("docs/API.md", "no <!-- route-table --> ... <!-- /route-table --> block")
else:
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"[A-Z]+", cells[0]) or cells[0] == "method":
            continue
        for cell in cells[1:3]:
            for path in re.findall(r"`(/[^`]*)`", cell):
                documented.add("%s %s" % (cells[0], re.sub(r"\{[^}]*\}", "{}", path)))
routes = subprocess.run([os.environ["SI_LIST_ROUTES"]], check=True, capture_output=True,
                        text=True).stdout.split("\n")
routes = {r for r in routes if r}
for r in sorted(routes - documented):
    fail("docs/API.md", "the router serves %s; the route table does not list it" % r)
for r in sorted(documented - routes):
    fail("docs/API.md", "the route table lists %s; the router does not serve it" % r)

if problems:
    print("check-docs: the docs and the code disagree:", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print("check-docs: CONFIG.md (%d settings), CLI.md (%d commands) and API.md (%d routes) match "
      "the code" % (len(settings), len(commands), len(routes)))
PY
