#!/usr/bin/env bash
# Ours alone (issue #5): is Bulk Invite linear in the number of emails, and is the query page
# time flat in the number of invites of the site? Starts siteinvites on a fresh SQLite file (mail
# worker off: mail is queued, not delivered, so only the API's work is timed), drives it with
# bench/loadgen over loopback and prints two small tables, each figure SCALE_RUNS times.
#
# 1. query: the first page (100 pending invites, cursor paging) at 10^4, 10^5 and 10^6 invites in
#    the site, seeded with Bulk Invite calls of 1,000; SCALE_CALLS calls per run, one connection.
# 2. bulk: one call of 10, 100 and 1,000 new emails (the API's cap per call), SCALE_CALLS calls
#    per run, one connection; 10,000 emails as 10 calls of 1,000 back to back (total time).
# Knobs: BUILD (build), SCALE_RUNS (3), SCALE_CALLS (20), SCALE_MAX (1000000: the largest site;
# the CLI caps seats at 10^6), SCALE_KEEP=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
RUNS=${SCALE_RUNS:-3}
CALLS=${SCALE_CALLS:-20}
MAX=${SCALE_MAX:-1000000}
WARMUP=2
PAGE=100
PAGING="\"cursorPaging\":{\"limit\":$PAGE}"
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
SERVE_ARGS="--mail-worker off"
# shellcheck source=bench/lib.sh
. bench/lib.sh
if [ ! -x "$BIN" ] || [ ! -x "$LOADGEN" ]; then die "build $BIN and $LOADGEN first (make build)"; fi

TMP=$(mktemp -d /tmp/si-scale.XXXXXX)
cleanup() {
    stop_server
    if [ "${SCALE_KEEP:-0}" = 1 ]; then echo "bench/scale.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$TMP/results.jsonl
: >"$RESULTS"

SEQ=0 # loadgen counter start: every email of the session is new
load() { # label loadgen-args...: one loadgen run, its JSON appended to the results
    local label=$1
    shift
    "$LOADGEN" "$@" -s "$SEQ" -j -l "$label" >"$TMP/out.json" 2>"$TMP/err" ||
        { cat "$TMP/out.json" "$TMP/err" >&2; die "$label failed"; }
    cat "$TMP/out.json" >>"$RESULTS"
    SEQ=$((SEQ + 1000000))
}
body() { # count file: a Bulk Invite body of count emails, unique per call via {{N}}
    python3 - "$1" "$POLICY" >"$2" <<'PY'
import json, sys
emails = ["q{{N}}.%d@scale.example.com" % i for i in range(int(sys.argv[1]))]
print(json.dumps({"policyIds": [sys.argv[2]], "emails": emails}))
PY
}

# --- 1. query page time against the size of the site ------------------------------------------
start_server
make_tenant
body 1000 "$TMP/b1000.json"
have=0
for size in 10000 100000 1000000; do
    [ "$size" -le "$MAX" ] || break
    calls=$(((size - have) / 1000))
    t0=$(date +%s.%N)
    load "seed_$size" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/b1000.json" \
        -c 1 -n "$calls" -t 60
    echo "bench/scale.sh: seeded $size invites ($calls bulk calls in" \
        "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s)" >&2
    have=$size
    for _ in $(seq "$RUNS"); do
        load "query_$size" -u "$BASE/invites/site-invite/query" "${HDRS[@]}" \
            -b "{\"query\":{\"filter\":{\"status\":\"Pending\"},$PAGING}}" \
            -c 1 -n $((CALLS + WARMUP)) -W $WARMUP
    done
done
echo "{\"rss_after_query_kib\":$(status_kib VmHWM)}" >>"$RESULTS"
stop_server
rm -rf "$TMP"/si.db* "$TMP/mail" # the second part starts on a fresh database

# --- 2. Bulk Invite time against the number of emails -----------------------------------------
start_server
make_tenant
for n in 10 100 1000; do
    body "$n" "$TMP/b$n.json"
done
for _ in $(seq "$RUNS"); do
    for n in 10 100 1000; do
        load "bulk_$n" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/b$n.json" \
            -c 1 -n $((CALLS + WARMUP)) -W $WARMUP -t 60
    done
    load "bulk_10x1000" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/b1000.json" \
        -c 1 -n 10 -t 60
done
stop_server

echo "siteinvites alone, $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc)," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), mail worker off"
python3 - "$RESULTS" "$RUNS" <<'PY'
import json, statistics, sys

by = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "label" in r:
        by.setdefault(r["label"], []).append(r)


def med(label, key):
    vals = [r[key] / 1000 for r in by[label]]
    return statistics.median(vals), min(vals), max(vals)


def cell(t):
    return f"{t[0]:8.2f} ({t[1]:.2f}..{t[2]:.2f})"


print("\nquery, first page of 100 pending, one connection: ms, median (min..max) over runs")
base = None
for size in (10000, 100000, 1000000):
    lab = f"query_{size}"
    if lab not in by:
        continue
    p50, p99 = med(lab, "p50_us"), med(lab, "p99_us")
    base = base or p50[0]
    print(f"  {size:>9,} invites  p50 {cell(p50)}  p99 {cell(p99)}  p50 / p50 at 10^4 "
          f"{p50[0] / base:.2f}  (target at 10^6: <= 2)")
print("\nbulk, one connection: ms per call, median (min..max) over runs")
for n in (10, 100, 1000):
    p50, p99 = med(f"bulk_{n}", "p50_us"), med(f"bulk_{n}", "p99_us")
    print(f"  {n:>6,} emails  p50 {cell(p50)}  p99 {cell(p99)}  "
          f"p50 per email {p50[0] * 1000 / n:.1f} us")
if "bulk_10x1000" in by:
    tot = [r["elapsed_s"] * 1000 for r in by["bulk_10x1000"]]
    m = statistics.median(tot)
    print(f"  10,000 emails as 10 calls of 1,000: {m:.1f} ms ({min(tot):.1f}..{max(tot):.1f}), "
          f"per email {m * 1000 / 10000:.1f} us")
PY
