#!/usr/bin/env bash
# Webhook figures (issue 10): the delivery rate to a fast local receiver, and Create One calls
# per second with no webhook, with a receiver that answers at once, and with one that sleeps 30 s
# (a dead receiver). Builds the release binary first. Usage: bench/webhooks.sh [-n CREATES]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target siteinvites -j 2 >/dev/null
SI_BIN="$PWD/$BUILD/siteinvites" SI_SOURCE_DIR="$PWD" PYTHONPATH="$PWD/tests/support" \
    exec /usr/bin/python3 bench/webhooks_bench.py "$@"
