#!/usr/bin/env bash
# Server CPU and p50 of back-to-back Bulk Invite calls (1,000 new addresses each), for an A/B of
# two trees' builds: a fresh server on a fresh SQLite file, SEED calls first, then N calls on one
# connection; CPU is the server's user and system time over those N calls (/proc/PID/stat), so
# the mail worker's share (writing the calls' emails) is in it when the worker is on.
# Usage: bench/bulk_cpu.sh [N] [on|off]   (BUILD as for run.sh, default build; TMPDIR for the
# files, e.g. a journaled ext4; SEED, default 10). Prints one line:
#   <tree> p50 <us> us; cpu/bulk user <ms> ms sys <ms> ms
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-60}
MAIL=${2:-on}
SEED=${SEED:-10}
BUILD=${BUILD:-build}
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
# shellcheck source=bench/lib.sh
. bench/lib.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/si-bulkcpu.XXXXXX")
trap 'stop_server; rm -rf "$TMP"' EXIT
SERVE_ARGS="--mail-worker $MAIL"
start_server
make_tenant >/dev/null 2>&1
write_bulk_body "$TMP/bulk.json"
URL=$BASE/invites/site-invite/bulk
"$LOADGEN" -u "$URL" "${HDRS[@]}" -B "$TMP/bulk.json" -n "$SEED" -t 300 -s 900000000 \
    -o /dev/null >/dev/null
sleep 1
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$PID/stat")
P50=$("$LOADGEN" -u "$URL" "${HDRS[@]}" -B "$TMP/bulk.json" -n "$N" -t 300 -s 800000000 |
    sed -n 's/.*p50 \([0-9]*\).*/\1/p' | head -1)
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$PID/stat")
HZ=$(getconf CLK_TCK)
echo "$(pwd) p50 $P50 us; cpu/bulk user $(((u1 - u0) * 1000 / HZ / N)) ms" \
    "sys $(((s1 - s0) * 1000 / HZ / N)) ms"
