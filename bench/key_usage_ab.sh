#!/usr/bin/env bash
# A/B of the API keys' last-used recorder (auth/key_usage.c): the server's instructions per
# request (callgrind, collecting only while loadgen runs: this machine's perf has no hardware
# counters), for two binaries, alternated A B A B. Instruction counts, not wall time: the machine
# is shared. Every thread of serve counts, the last-used writer included.
# Usage: [A_TEMPLATES=dir] bench/key_usage_ab.sh BASE_BIN NEW_BIN [get|create] [requests] [rounds]
# A_TEMPLATES: the base binary's own templates folder when they differ from this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 WHAT=${3:-get} N=${4:-20000} ROUNDS=${5:-2}
LOADGEN=${LOADGEN:-build/loadgen}
TMP=$(mktemp -d)
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh

one() { # bin label templates
    # shellcheck disable=SC2034 # read by bench/lib.sh
    BIN=$1
    rm -rf "${TMP:?}"/*
    WRAP="valgrind --tool=callgrind --instr-atstart=no --trace-children=no --callgrind-out-file=$TMP/cg.out" \
        SERVE_ARGS="--mail-worker off --templates-dir $3" START_TIMEOUT_S=120 start_server
    make_tenant
    local args=(-u "$BASE/invites/site-invites" -c 4)
    if [ "$WHAT" = create ]; then
        create_body >"$TMP/body.json"
        args=(-u "$BASE/invites/site-invite" -X POST -B "$TMP/body.json" -c 4)
    fi
    "$LOADGEN" "${args[@]}" -n 200 "${HDRS[@]}" >/dev/null # warm-up, not counted
    callgrind_control -i on "$PID" >/dev/null
    "$LOADGEN" "${args[@]}" -n "$N" -s 1000000 "${HDRS[@]}" >/dev/null
    callgrind_control -i off "$PID" >/dev/null
    stop_server
    local ins
    ins=$(awk '/^totals:/ {print $2}' "$TMP"/cg.out* | tail -1)
    printf '%-5s %s: %s instructions/request (callgrind, %s requests; loaded machine)\n' \
        "$2" "$WHAT" "$((ins / N))" "$N"
}

for _ in $(seq "$ROUNDS"); do
    one "$A" base "${A_TEMPLATES:-templates}"
    one "$B" new templates
done
