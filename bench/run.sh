#!/usr/bin/env bash
# The benchmarks of the service core (issue #2), what `make bench` runs: starts a server on a
# fresh SQLite file, creates a tenant with the CLI, runs every benchmark BENCH_RUNS times with
# bench/loadgen, samples the server's memory and CPU, prints a table (bench/report.py) and stops
# the server. Only 127.0.0.1 is ever loaded.
#
# Knobs (environment): BUILD (build dir, default build), BENCH_RUNS (3), BENCH_BULK_CALLS (30
# measured calls per run), BENCH_QUIET_CALLS (20), BENCH_DURATION (10 s), BENCH_CONNS (32),
# BENCH_ONLY (space-separated subset of: bulk bulk_quiet create create_mail get), BENCH_KEEP=1
# keeps the temporary folder, BENCH_OUT=FILE also writes the table there, BENCH_MAIL_DURATION
# (30 s: create_mail, creates with every email delivered to the Maildir during the run),
# BENCH_DB (a PostgreSQL URL of an empty database instead of a fresh SQLite file; bench/pg.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
RUNS=${BENCH_RUNS:-3}
BULK_CALLS=${BENCH_BULK_CALLS:-30}
QUIET_CALLS=${BENCH_QUIET_CALLS:-20}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-32}
ONLY=${BENCH_ONLY:-bulk bulk_quiet create create_mail get}
MAIL_DURATION=${BENCH_MAIL_DURATION:-30}
BULK_WARMUP=2        # calls before the measured ones (first touches of a fresh database)
RATE_WARMUP=500      # answers before the measured window of the 32-connection runs
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
# shellcheck source=bench/lib.sh
. bench/lib.sh

# Build what is missing (make bench has built everything already; a bare run may not have).
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if grep -q '^SI_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    die "$BUILD is a sanitizer build; figures from it mean nothing (use BUILD=build)"
fi
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
case "$BUILD_TYPE" in
Release | RelWithDebInfo) ;;
*) echo "bench/run.sh: warning: $BUILD is a '$BUILD_TYPE' build, not Release" >&2 ;;
esac
cmake --build "$BUILD" --target siteinvites loadgen -j "$(nproc)" >/dev/null

TMP=$(mktemp -d "${TMPDIR:-/tmp}/si-bench.XXXXXX") # TMPDIR: the file system measured
cleanup() {
    stop_server
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench/run.sh: kept $TMP" >&2; else discard_dir "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
case $DB in
postgres*) STORE=postgresql STORE_LABEL="PostgreSQL $(psql -qXAt "${DB%%\?*}" -c 'SHOW server_version' |
    cut -d' ' -f1) (fsync $(psql -qXAt "${DB%%\?*}" -c 'SHOW fsync'))" ;;
*) STORE=sqlite STORE_LABEL="SQLite file" ;;
esac
printf '{"store":"%s"}\n' "$STORE" >>"$RESULTS" # report.py judges each store by its targets
CLK_TCK=$(getconf CLK_TCK)

note() { printf '%s\n' "$1" >>"$RESULTS"; }
rss() { # label: one memory sample
    note "{\"rss\":\"$1\",\"vmrss_kib\":$(status_kib VmRSS),\"vmhwm_kib\":$(status_kib VmHWM),`
        `\"rssanon_kib\":$(status_kib RssAnon)}"
}

sleep 1 # let start-up settle (migrations, worker threads) before the idle sample
rss idle

make_tenant

# Every measured run: loadgen's JSON plus the benchmark, run number and server CPU seconds.
SEQ=0 # the counter start of the next run, so every email of the whole session is new
measure() { # bench run count_of_requests_it_may_issue loadgen-args...
    local bench=$1 run=$2 budget=$3
    shift 3
    local t0 out=$TMP/$bench.$run.json
    t0=$(server_ticks)
    if ! "$LOADGEN" "$@" -s "$SEQ" -j -l "$bench" >"$out" 2>"$TMP/loadgen.err"; then
        cat "$out" "$TMP/loadgen.err" >&2
        die "$bench run $run failed (non-2xx answers or errors above)"
    fi
    SEQ=$((SEQ + budget))
    python3 - "$out" "$bench" "$run" "$t0" "$(server_ticks)" "$CLK_TCK" >>"$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r.update(bench=sys.argv[2], run=int(sys.argv[3]))
r["server_cpu_s"] = (int(sys.argv[5]) - int(sys.argv[4])) / int(sys.argv[6])
print(json.dumps(r))
PY
}

drain_noted() { # label: drain (bench/lib.sh), then record how long it took
    drain "$1"
    note "{\"drain\":\"$1\",\"seconds\":$DRAIN_SECONDS,\"queued_left\":\"$DRAIN_LEFT\"}"
}

write_bulk_body "$TMP/bulk.json"
check_bulk() { # saved answer: 1,000 invites written, none failed, else the figure is void
    python3 - "$1" <<'PY' || die "a bulk answer did not invite 1,000 emails: $(head -c 300 "$1")"
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a["invites"]) == 1000 and not a.get("failedEmails"), "bad bulk answer"
PY
}

BULK_URL=$BASE/invites/site-invite/bulk
for bench in $ONLY; do
    for run in $(seq "$RUNS"); do
        case $bench in
        bulk) # back to back on one connection; the mail worker writes the previous calls' mail
            measure bulk "$run" $((BULK_CALLS + BULK_WARMUP)) -u "$BULK_URL" "${HDRS[@]}" \
                -B "$TMP/bulk.json" -c 1 -n $((BULK_CALLS + BULK_WARMUP)) -W $BULK_WARMUP \
                -t 60 -o "$TMP/bulk.answer"
            check_bulk "$TMP/bulk.answer"
            drain_noted "bulk run $run"
            ;;
        bulk_quiet) # each call on an idle server: the outbox is drained before every call
            for call in $(seq "$QUIET_CALLS"); do
                drain_noted "bulk_quiet run $run call $call" 2>/dev/null
                measure bulk_quiet "$run" 1 -u "$BULK_URL" "${HDRS[@]}" -B "$TMP/bulk.json" \
                    -c 1 -n 1 -t 60 -o "$TMP/bulk.answer"
            done
            check_bulk "$TMP/bulk.answer"
            ;;
        create)
            fresh_site
            measure create "$run" 100000000 -u "$BASE/invites/site-invite" "${HDRS[@]}" \
                -b "$(create_body)" \
                -c "$CONNS" -d "$DURATION" -W $RATE_WARMUP
            drain_noted "create run $run"
            ;;
        create_mail) # sustained; what the mail worker left queued at the end tells whether the
            # Maildir kept up (the emails delivered during the run, per second of it)
            fresh_site
            measure create_mail "$run" 100000000 -u "$BASE/invites/site-invite" "${HDRS[@]}" \
                -b "$(create_body)" -c "$CONNS" -d "$MAIL_DURATION" -W $RATE_WARMUP
            note "{\"mail_left\":\"create_mail\",\"run\":$run,\"queued\":$(outbox_queued)}"
            drain_noted "create_mail run $run"
            ;;
        get)
            if [ ! -s "$TMP/ids" ]; then # 1,000 existing invites to read, in turn
                measure seed 0 1 -u "$BULK_URL" "${HDRS[@]}" -B "$TMP/bulk.json" -n 1 \
                    -o "$TMP/seed.answer"
                ids_of_bulk_answer "$TMP/seed.answer" "$TMP/ids"
                drain_noted "get seed"
            fi
            measure get "$run" 1 -u "$BASE/invites/site-invite/{{V}}" "${HDRS[@]}" \
                -V "$TMP/ids" -c "$CONNS" -d "$DURATION" -W $RATE_WARMUP
            ;;
        *) die "unknown benchmark '$bench' in BENCH_ONLY" ;;
        esac
        rss "after $bench run $run"
    done
done
rss end

stop_server
note "{\"server_exit\":$SERVER_EXIT}"
{
    echo "siteinvites benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
        "$BUILD_TYPE build, $STORE_LABEL, files on $(fs_of "$TMP"), loopback, keep-alive"
    python3 bench/report.py "$RESULTS"
} | tee "${BENCH_OUT:-/dev/null}"
