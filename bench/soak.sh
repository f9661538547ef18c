#!/usr/bin/env bash
# The soak (issue 12): the default `serve` (SQLite, mail worker on, Maildir) under a mixed load at
# about half its measured capacity for SOAK_SECONDS (600), sampling every 10 s its RSS, open
# files, threads, outbox depth and database size into bench/soak/soak.csv; then
# bench/soak_plot.py draws bench/soak/soak.png and fits the growth trends.
# Capacity: the same mix unpaced for CAPACITY_SECONDS (20) on a fresh server; SOAK_RATE=<req/s>
# skips that and sets the rate. Knobs: BUILD (build), SOAK_SECONDS, SOAK_THREADS (8),
# SOAK_INTERVAL (10), SOAK_OUT (bench/soak), SERVE_ARGS (extra serve flags).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$src/build}
BIN=$BUILD/siteinvites
[ -x "$BIN" ] || { echo "soak: no $BIN (build it first)" >&2; exit 2; }
SOAK_SECONDS=${SOAK_SECONDS:-600}
CAPACITY_SECONDS=${CAPACITY_SECONDS:-20}
SOAK_THREADS=${SOAK_THREADS:-8}
SOAK_INTERVAL=${SOAK_INTERVAL:-10}
OUT=${SOAK_OUT:-$here/soak}
TMP=$(mktemp -d /tmp/si-soak.XXXXXX)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
LOAD_PID=
cleanup() {
    if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; fi
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$OUT"

load() { # seconds rate status-file
    python3 "$here/soak_load.py" --port "$PORT" --key "$KEY" --site "$SITE" --duration "$1" \
        --rate "$2" --threads "$SOAK_THREADS" --status "$3"
}

if [ -z "${SOAK_RATE:-}" ]; then
    # Capacity is what the whole service completes per second, mail included: the unpaced mix's
    # requests over the load time plus the time the worker then needs to empty the outbox (the
    # API alone answers faster than the Maildir takes the emails it queues).
    start_server
    make_tenant
    cap=$(load "$CAPACITY_SECONDS" 0 "$TMP/capacity.json")
    drain capacity
    echo "soak: capacity run: $cap; outbox drained ${DRAIN_SECONDS}s after it"
    stop_server
    rm -rf "$TMP/si.db"* "$TMP/mail"
    CAPACITY_RPS=$(echo "$cap" | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(round(d["requests"] / (d["seconds"] + float(sys.argv[1])), 1))' "$DRAIN_SECONDS")
    API_RPS=$(echo "$cap" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])')
    SOAK_RATE=$(python3 -c 'import sys; print(round(float(sys.argv[1]) / 2))' "$CAPACITY_RPS")
    echo "soak: capacity ${CAPACITY_RPS} req/s with mail delivered (API alone ${API_RPS} req/s)"
fi
echo "soak: ${SOAK_SECONDS}s at ${SOAK_RATE} req/s (capacity ${CAPACITY_RPS:-not measured}), sampling every ${SOAK_INTERVAL}s"

start_server
make_tenant
load "$SOAK_SECONDS" "$SOAK_RATE" "$TMP/load.json" >"$TMP/load.out" &
LOAD_PID=$!
csv=$OUT/soak.csv
echo "t_s,rss_kib,fds,threads,outbox_queued,outbox_sent,db_kib,wal_kib,requests,errors,phase" >"$csv"
t0=$(date +%s.%N)
sample() { # phase: load or drained
    local t rss fds thr q sent db wal req err
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    rss=$(status_kib VmRSS)
    thr=$(status_kib Threads)
    fds=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    read -r q sent < <("$BIN" outbox status --json --db "$DB" | python3 -c \
        'import json,sys; d=json.load(sys.stdin); print(d.get("queued", 0), d.get("sent", 0))')
    db=$(($(stat -c %s "$TMP/si.db") / 1024))
    wal=$(($(stat -c %s "$TMP/si.db-wal" 2>/dev/null || echo 0) / 1024))
    read -r req err < <(python3 -c 'import json,sys
try: d=json.load(open(sys.argv[1]))
except (OSError, ValueError): d={}
print(d.get("requests", 0), d.get("errors", 0))' "$TMP/load.json")
    echo "$t,$rss,$fds,$thr,$q,$sent,$db,$wal,$req,$err,$1" >>"$csv"
}
k=0
sample load
while kill -0 "$LOAD_PID" 2>/dev/null; do
    # Samples on a fixed schedule (t0 + k * interval): a slow sample does not shift the next.
    k=$((k + 1))
    sleep "$(awk -v a="$t0" -v k="$k" -v i="$SOAK_INTERVAL" -v b="$(date +%s.%N)" \
        'BEGIN {d = a + k * i - b; printf "%.2f", (d > 0 ? d : 0)}')"
    kill -0 "$PID" 2>/dev/null || die "the server died during the soak: $(tail -5 "$TMP/server.err")"
    sample load
done
wait "$LOAD_PID" || die "the load failed: $(cat "$TMP/load.out")"
LOAD_PID=
summary=$(cat "$TMP/load.out")
echo "soak: load: $summary"
# The backlog drained afterwards shows the worker kept up.
drain soak
echo "soak: outbox drained ${DRAIN_SECONDS}s after the load (left: $DRAIN_LEFT)"
sample drained
stop_server
[ "$SERVER_EXIT" = 0 ] || die "serve exited $SERVER_EXIT after SIGTERM"
/usr/bin/python3 "$here/soak_plot.py" "$csv" "$OUT/soak.png" --rate "$SOAK_RATE" \
    --capacity "${CAPACITY_RPS:-0}" --load "$summary" | tee "$OUT/summary.md"
