#!/usr/bin/env bash
# Server CPU per write and its latency, for an A/B of two builds: a fresh server on a fresh
# SQLite file, SEED bulk calls of 1,000 first, then either N back-to-back Bulk Invite calls of
# 1,000 new addresses on one connection (bulk), or Create One at 32 in flight for N seconds
# (create). CPU is the server's user and system time over the load (/proc/PID/stat), so the mail
# worker's share (writing the emails) is in it when the worker is on.
# Usage: bench/write_cpu.sh bulk|create [N] [on|off]   (BUILD: a folder holding siteinvites and
# loadgen, default build; TMPDIR for the files, e.g. a journaled ext4; SEED, default 10).
# Prints one line: <build> <what> p50 <us> us ...; cpu per call user <us> us sys <us> us
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:?usage: bench/write_cpu.sh bulk|create [N] [on|off]}
N=${2:-}
MAIL=${3:-on}
SEED=${SEED:-10}
BUILD=${BUILD:-build}
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
# shellcheck source=bench/lib.sh
. bench/lib.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/si-writecpu.XXXXXX")
trap 'stop_server; rm -rf "$TMP"' EXIT
SERVE_ARGS="--mail-worker $MAIL"
start_server
make_tenant >/dev/null 2>&1
write_bulk_body "$TMP/bulk.json"
"$LOADGEN" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" -n "$SEED" \
    -t 300 -s 900000000 -o /dev/null >/dev/null
sleep 1
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$PID/stat")
case $WHAT in
bulk) "$LOADGEN" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" \
    -n "${N:-60}" -t 300 -s 800000000 >"$TMP/load.txt" ;;
create) "$LOADGEN" -u "$BASE/invites/site-invite" "${HDRS[@]}" -b "$(create_body)" -c 32 \
    -d "${N:-10}" -s 700000000 >"$TMP/load.txt" ;;
*) die "unknown write '$WHAT' (bulk or create)" ;;
esac
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$PID/stat")
CALLS=$(sed -n 's/.*run: \([0-9]*\) requests.*/\1/p' "$TMP/load.txt" | head -1)
RATE=$(sed -n 's/.*: \([0-9.]*\) req\/s.*/\1/p' "$TMP/load.txt" | head -1)
LAT=$(sed -n 's/.*latency us: \(p50 [0-9]*\).*\(p99 [0-9]*\).*/\1 \2/p' "$TMP/load.txt" | head -1)
HZ=$(getconf CLK_TCK)
echo "$BUILD $WHAT $LAT us, $RATE req/s; cpu per call user $(((u1 - u0) * 1000000 / HZ / CALLS)) us" \
    "sys $(((s1 - s0) * 1000000 / HZ / CALLS)) us"
