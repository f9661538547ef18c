#!/usr/bin/env bash
# Cheap source checks: banned functions, the layers (scripts/check-layers.sh) and clang-format
# conformance of C sources.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -co --exclude-standard 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.c')
[ -n "$files" ] || exit 0
bad=0
# Unbounded or locale-fragile calls we never use (STYLE.md).
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|gets)\s*\(' $files; then
    echo "check-src: banned function used (see STYLE.md)" >&2
    bad=1
fi
# Timed waits: every deadline is CLOCK_MONOTONIC, through clock_deadline_after and
# clock_cond_wait (src/common/clock.c), so a wall-clock step never stalls or hurries a worker.
# CLOCK_REALTIME is read only for the wall time itself (clock.c) and log timestamps (log.c).
waits=$(grep -nE '\b(pthread_cond_timedwait|pthread_cond_clockwait|pthread_condattr_setclock|sem_timedwait|pthread_mutex_timedlock)\s*\(|\bCLOCK_REALTIME\b' \
    $(printf '%s\n' $files | grep -vxE 'src/common/clock\.[ch]|src/common/log\.c') || true)
if [ -n "$waits" ]; then
    printf '%s\n' "$waits"
    echo "check-src: timed waits go through clock_cond_wait with a monotonic deadline (clock.h)" >&2
    bad=1
fi
# The layers: includes that point up, third-party headers outside their adapter room.
scripts/check-layers.sh || bad=1
if command -v clang-format >/dev/null; then
    for f in $files; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "check-src: $f is not clang-formatted (run: make format)" >&2
            bad=1
        fi
    done
fi
exit $bad
