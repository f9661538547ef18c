#!/usr/bin/env bash
# `make test`: installs what is missing, builds three times (release, ASan+UBSan, and the clang
# libFuzzer build), runs every suite in the first two and every fuzz target for a bounded time
# (tests/fuzz/README.md) in the third. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/check-src.sh
# The node suites' packages: `npm ci` when node_modules is missing or older than the committed
# lock (npm writes node_modules/.package-lock.json at each install, so a lock changed by a pull
# or a merge is newer than it), so a new or re-pinned package is installed before the run.
for suite in tests/sdk tests/browser; do
    if [ -f "$suite/package.json" ] &&
        { [ ! -f "$suite/node_modules/.package-lock.json" ] ||
            [ "$suite/package-lock.json" -nt "$suite/node_modules/.package-lock.json" ]; }; then
        (cd "$suite" && npm ci --no-audit --no-fund)
    fi
done
jobs=$(nproc)
# -DSI_WERROR=ON: warnings fail our builds (a packager's default is OFF).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSI_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
BUILD=build scripts/check-docs.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSI_SANITIZE=ON -DSI_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"
# The fuzz build: clang only, its own folder, and nothing in it but the fuzz targets.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSI_FUZZ=ON -DSI_WERROR=ON >/dev/null
cmake --build build-fuzz -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== release build"
(cd build && ctest --output-on-failure -j "$jobs")
echo "== AddressSanitizer + UBSan build"
(cd build-asan && ctest --output-on-failure -j "$jobs")
echo "== libFuzzer targets, ${SI_FUZZ_SECONDS:-20} s each from their seed corpora"
(cd build-fuzz && ctest --output-on-failure -j "$jobs" -L fuzz)
