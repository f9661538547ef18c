#!/usr/bin/env bash
# Where the time goes on one endpoint. Default: runs the server under valgrind's callgrind
# (instruction counts; perf's hardware counters are not available on this VM) while
# bench/loadgen sends a short load, and writes the top functions to bench/profiles/<endpoint>.txt.
# PROFILER=perf instead samples the native server with perf's cpu-clock (kernel time included,
# so fsync and write costs show) and writes bench/profiles/<endpoint>.perf.txt.
# Usage: bench/profile.sh bulk|create|get [requests]   (BUILD as for run.sh, default build;
# PROFILE_SEED_CALLS bulk calls, default 10, fill the database natively before the profile;
# PROFILE_SQL, SQL run on the SQLite file after the seed, e.g. "DROP INDEX x" for an A/B of an
# index's write cost; PROFILE_OUT, the report's path instead of bench/profiles/<endpoint>.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
ENDPOINT=${1:?usage: bench/profile.sh bulk|create|get [requests]}
BUILD=${BUILD:-build}
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
TOP=10
SEED_CALLS=${PROFILE_SEED_CALLS:-10} # bulk calls (1,000 invites each) written before profiling
# shellcheck source=bench/lib.sh
. bench/lib.sh
case $ENDPOINT in
bulk) COUNT=${2:-10} CONNS=1 ;;
create | get) COUNT=${2:-3000} CONNS=4 ;;
*) die "unknown endpoint '$ENDPOINT' (bulk, create or get)" ;;
esac
cmake --build "$BUILD" --target siteinvites loadgen -j "$(nproc)" >/dev/null

TMP=$(mktemp -d /tmp/si-profile.XXXXXX)
trap 'stop_server; rm -rf "$TMP"' EXIT
CG=$TMP/callgrind.out
# Seed natively first: the costs that grow with the table only show on a realistic database.
start_server
make_tenant
write_bulk_body "$TMP/bulk.json"
if [ "$SEED_CALLS" -gt 0 ]; then
    "$LOADGEN" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" -n "$SEED_CALLS" \
        -t 300 -s 900000000 -o "$TMP/seed.answer" >/dev/null
    ids_of_bulk_answer "$TMP/seed.answer" "$TMP/ids"
fi
[ "$ENDPOINT" != get ] || [ -s "$TMP/ids" ] || die "get needs PROFILE_SEED_CALLS >= 1"
drain seed # so the mail worker does not send the seed's mail inside the profile
if [ -n "${PROFILE_SQL:-}" ]; then
    stop_server
    sqlite3 "$TMP/si.db" "$PROFILE_SQL"
    start_server
fi
if [ "${PROFILER:-callgrind}" = perf ]; then
    REQUESTS=0 # per-request figures only where the count is fixed
    case $ENDPOINT in
    bulk) LOAD=(-u "$BASE/invites/site-invite/bulk" -B "$TMP/bulk.json" -n 20) REQUESTS=20 ;;
    create) LOAD=(-u "$BASE/invites/site-invite" -b "$(create_body)" -c 32 -d 5) ;;
    get) LOAD=(-u "$BASE/invites/site-invite/{{V}}" -V "$TMP/ids" -c 32 -d 5) ;;
    esac
    perf record -e cpu-clock -F 2000 --call-graph dwarf,16384 -p "$PID" -o "$TMP/perf.data" \
        2>/dev/null &
    PERF_PID=$!
    sleep 0.5 # perf attaches
    "$LOADGEN" "${LOAD[@]}" "${HDRS[@]}" >"$TMP/load.txt"
    kill -INT "$PERF_PID"
    wait "$PERF_PID" || true
    perf script -i "$TMP/perf.data" -F tid,ip,sym 2>/dev/null >"$TMP/perf.txt"
    OUT=bench/profiles/$ENDPOINT.perf.txt
    mkdir -p bench/profiles
    {
        echo "# perf cpu-clock profile of $ENDPOINT (native $BUILD server, 2 kHz, dwarf stacks), $(date -u '+%Y-%m-%d')"
        echo "# command: PROFILER=perf bench/profile.sh $*; database seeded with $SEED_CALLS bulk calls"
        sed 's/^/#   /' "$TMP/load.txt"
        python3 bench/perf_breakdown.py "$TMP/perf.txt" "bulk_prepare,bulk_answer,invite_json_write,\
auth_,sq_borrow,sq_invite_get,run_jobs,sq_bulk_call,flush_waiting,sq_exec_stmt,sq_audit_created,\
sq_commit,pwrite64,fdatasync,pread64,getrandom,run_round,compose_invite,deliver_one,\
sq_outbox_claim,sqlite3_step" "$REQUESTS"
    } >"$OUT"
    cp "$TMP/perf.txt" "/tmp/perf.$ENDPOINT.txt" # the stacks, for perf_breakdown.py with other frames
    echo "bench/profile.sh: wrote $OUT (stacks: /tmp/perf.$ENDPOINT.txt)"
    exit 0
fi
stop_server
START_TIMEOUT_S=120 # the server starts 20-50 times slower under valgrind
STOP_TIMEOUT_S=120
WRAP="valgrind --tool=callgrind --callgrind-out-file=$CG --instr-atstart=no --trace-children=no"
start_server
LG=("$LOADGEN" -t 300 -c "$CONNS" -n "$COUNT")
callgrind_control -i on "$PID" >/dev/null # count only while the load runs
case $ENDPOINT in
bulk) "${LG[@]}" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" ;;
create) "${LG[@]}" -u "$BASE/invites/site-invite" "${HDRS[@]}" -b "$(create_body)" ;;
get) "${LG[@]}" -u "$BASE/invites/site-invite/{{V}}" "${HDRS[@]}" -V "$TMP/ids" ;;
esac >"$TMP/load.txt"
callgrind_control -i off "$PID" >/dev/null
stop_server

# The total line and the first N function lines of callgrind_annotate's table.
top_functions() { # inclusive(yes|no) N
    callgrind_annotate --inclusive="$1" "$CG" 2>/dev/null | awk -v n="$2" '
        /PROGRAM TOTALS/ { print; next }
        /file:function/ { body = 1; getline; next }
        body && NF && shown < n { print; shown++ }'
}

mkdir -p bench/profiles
OUT=${PROFILE_OUT:-bench/profiles/$ENDPOINT.txt}
{
    echo "# callgrind profile of $ENDPOINT: $COUNT requests on $CONNS connection(s), $(date -u '+%Y-%m-%d')"
    echo "# command: bench/profile.sh $*  (server under valgrind --tool=callgrind, $BUILD)"
    echo "# database seeded natively with $SEED_CALLS bulk calls ($((SEED_CALLS * 1000)) invites) first"
    [ -z "${PROFILE_SQL:-}" ] || echo "# then, on the SQLite file: $PROFILE_SQL"
    echo "# the load as loadgen saw it under valgrind (times are ~50x slower than native):"
    sed 's/^/#   /' "$TMP/load.txt"
    echo
    echo "## top $TOP functions by own instructions (exclusive Ir), whole process"
    top_functions no $TOP
    echo
    echo "## top $((TOP * 2)) by inclusive instructions (the function and everything it calls)"
    top_functions yes $((TOP * 2))
} >"$OUT"
cp "$CG" "/tmp/callgrind.$ENDPOINT.out" # for callgrind_annotate --tree=caller, kcachegrind
echo "bench/profile.sh: wrote $OUT (raw profile: /tmp/callgrind.$ENDPOINT.out)"
