#!/usr/bin/env bash
# Mail delivery rates (issue 3): 10,000 queued emails to a local aiosmtpd with 1 and 4 sender
# connections, to a Maildir, and aiosmtpd alone with a minimal client. Builds the Release binary
# first. Usage: bench/mail.sh [-n EMAILS] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target siteinvites -j "$(nproc)" >/dev/null
SI_BIN="$PWD/$BUILD/siteinvites" exec /usr/bin/python3 bench/mail_bench.py "$@"
