#!/usr/bin/env bash
# Builds the release binary, then runs a Python bench of this folder against it with the test
# harness (tests/support) on the path. Usage: bench/pybench.sh SCRIPT.py [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target siteinvites -j 2 >/dev/null
script=$1
shift
SI_BIN="$PWD/$BUILD/siteinvites" SI_SOURCE_DIR="$PWD" PYTHONPATH="$PWD/tests/support" \
    exec /usr/bin/python3 "bench/$script" "$@"
