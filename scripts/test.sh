#!/usr/bin/env bash
# `make test`: installs what is missing, builds twice (release, and ASan+UBSan), and runs every
# suite in both builds. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/check-src.sh
if [ -f tests/sdk/package.json ] && [ ! -d tests/sdk/node_modules ]; then
    (cd tests/sdk && npm ci --no-audit --no-fund)
fi
if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi
jobs=$(nproc)
# -DSI_WERROR=ON: warnings fail our builds (a packager's default is OFF).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSI_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
BUILD=build scripts/check-docs.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSI_SANITIZE=ON -DSI_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== release build"
(cd build && ctest --output-on-failure -j "$jobs")
echo "== AddressSanitizer + UBSan build"
(cd build-asan && ctest --output-on-failure -j "$jobs")
