#!/usr/bin/env bash
# Runs end-to-end suites with every `serve` they start under valgrind memcheck (issue 12), through
# the harness's SITEINVITES_SERVER_WRAPPER hook (tests/support/sitest.py), and prints one line per
# suite: its result, the memcheck errors and the definitely lost bytes of its servers.
# Usage: tests/valgrind/run.sh [dir/suite ...]   (default: the list below)
# Env: BUILD (build; must not be a sanitizer build), VG_OUT (folder for the logs; a temp dir),
#      VG_SUPP (extra suppressions file).
# Exit status 0 only when every suite passed and no server had an error or a definite leak.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
bin=$build/siteinvites
[ -x "$bin" ] || { echo "valgrind: no $bin (build it first)" >&2; exit 2; }
if grep -q '^SI_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "valgrind: $build is a sanitizer build; valgrind needs a plain one" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "valgrind: valgrind is not installed" >&2; exit 2; }

# The suites that drive the most server code: every public route, accept and the pages, mail
# composition and the Maildir, SMTP, idempotency, site settings, webhooks, the audit log.
default_suites=(api/test_invites api/test_accept api/test_errors api/test_tenancy
    api/test_idempotency api/test_site_settings api/test_contributors api/test_roles
    api/test_sites api/test_webhooks api/test_audit mail/test_maildir_e2e mail/test_smtp)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${default_suites[@]}")

out=${VG_OUT:-$(mktemp -d /tmp/si-valgrind.XXXXXX)}
mkdir -p "$out"
supp=()
[ -n "${VG_SUPP:-}" ] && supp=(--suppressions="$VG_SUPP")
# Definite leaks count as errors (exit 99); possible and reachable ones are reported in the logs
# only: threads still parked at exit and library caches are not leaks of ours.
wrapper="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
 --errors-for-leak-kinds=definite --num-callers=30 --log-file=$out/%q{SI_VG_SUITE}.%p.log ${supp[*]}"

status=0
printf '%-28s %-6s %7s %8s %14s %8s\n' suite result servers errors definitely-lost seconds
for s in "${suites[@]}"; do
    dir=$src/tests/$(dirname "$s")
    name=$(basename "$s")
    tag=${s//\//_}
    t0=$(date +%s)
    result=pass
    (cd "$dir" && SI_VG_SUITE=$tag SI_BIN=$bin SI_SOURCE_DIR=$src PYTHONPATH=$src/tests/support \
        SITEINVITES_SERVER_WRAPPER="$wrapper" /usr/bin/python3 -m unittest "$name" \
        >"$out/$tag.test.log" 2>&1) || result=FAIL
    logs=("$out/$tag".*.log)
    logs=("${logs[@]/$out\/$tag.test.log/}")
    servers=0 errors=0 lost=0
    for f in "${logs[@]}"; do
        [ -f "$f" ] || continue
        servers=$((servers + 1))
        e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$f" | tail -1 | tr -d ,)
        l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -1 | tr -d ,)
        # A server killed with SIGKILL (the crash suites) writes no summary: nothing to count.
        errors=$((errors + ${e:-0}))
        lost=$((lost + ${l:-0}))
    done
    [ "$result" = pass ] && [ "$errors" = 0 ] && [ "$lost" = 0 ] || status=1
    printf '%-28s %-6s %7d %8d %14d %8d\n' "$s" "$result" "$servers" "$errors" "$lost" \
        $(($(date +%s) - t0))
done
echo "valgrind: logs in $out (suite.PID.log per server, suite.test.log per suite)"
exit $status
