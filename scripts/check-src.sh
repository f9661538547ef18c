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
