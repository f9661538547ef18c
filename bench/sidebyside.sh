#!/usr/bin/env bash
# The side-by-side benchmark of issue #5: siteinvites (SQLite) against better-auth's organization
# plugin (SQLite, bench/peers/better-auth), both on free loopback ports, both driven by
# bench/loadgen with the same loads, each figure SBS_RUNS times. Prints one table with both
# systems' medians and spreads, the ratio ours/theirs, and the machine. Only 127.0.0.1 is loaded.
#
# Each run starts each server on a fresh database (ours first, then the peer, never both under
# load at once) and measures, in this order: idle RSS; 1,000 creates one at a time; 1,000 creates
# with 32 in flight; 1,000 cancels with 32 in flight; get one invite for SBS_DURATION s at 32
# connections; the first page of pending invites at 10^4 pending; (ours) Bulk Invite of 1,000;
# creates at 32 in flight sustained for SBS_SUSTAIN s; peak RSS (VmHWM).
#
# Ours runs as users run it (issue 14): the default `serve`, mail worker on, every email written
# to a Maildir during the loads; the outbox is drained before each load, so each figure starts on
# a quiet server. The peer's sendInvitationEmail is a no-op: it sends nothing.
#
# Knobs (environment): BUILD (default build), SBS_RUNS (3), SBS_DURATION (10 s), SBS_SUSTAIN
# (30 s), SBS_MAIL_WORKER (on; off: ours queues mail but delivers none, the context figures),
# SBS_KEEP=1 keeps the temporary folder, SBS_OUT=FILE also writes the table there.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
RUNS=${SBS_RUNS:-3}
DURATION=${SBS_DURATION:-10}
SUSTAIN=${SBS_SUSTAIN:-30} # seconds of the sustained create load
CONNS=32          # connections (requests in flight) of the concurrent loads
COUNT=1000        # invites created, and invites cancelled, per load
WARMUP=50         # answers before the measured ones in the create loads (JIT, page cache)
GET_WARMUP=500    # answers before the measured window of the get load
LIST_PENDING=10000 # pending invites when the first page is listed
LIST_CALLS=20      # measured list calls, one connection, back to back
LIST_WARMUP=2     # also the warm-up calls of ours alone: Bulk Invite
BULK_CALLS=20     # measured Bulk Invite calls of 1,000 emails
LIST_PAGE=100     # ours: page size asked for; the peer answers its first 100 (findMany default)
PEER_DIR=bench/peers/better-auth
BIN=$BUILD/siteinvites
LOADGEN=$BUILD/loadgen
# shellcheck disable=SC2034 # read by start_server (bench/lib.sh)
SERVE_ARGS="--mail-worker ${SBS_MAIL_WORKER:-on}"
# shellcheck source=bench/lib.sh
. bench/lib.sh

if [ ! -x "$BIN" ] || [ ! -x "$LOADGEN" ]; then die "build $BIN and $LOADGEN first (make build)"; fi
if grep -q '^SI_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
    die "$BUILD is a sanitizer build; figures from it mean nothing (use BUILD=build)"
fi
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
command -v node >/dev/null || die "node is needed for the peer (Debian package nodejs)"
if [ ! -d "$PEER_DIR/node_modules/better-auth" ] ||
    [ ! -d "$PEER_DIR/node_modules/better-sqlite3" ]; then
    echo "bench/sidebyside.sh: installing the peer from its lock file (npm ci)" >&2
    # From source: better-sqlite3 is compiled from its npm tarball, not fetched from GitHub.
    (cd "$PEER_DIR" && npm_config_build_from_source=true npm ci --no-audit --no-fund >/dev/null) ||
        die "npm ci failed in $PEER_DIR"
fi

# The table of a results file (JSON lines): machine, versions, then both systems' figures.
report() { # results-file
    local versions
    versions=$(cd "$PEER_DIR" && node -e '
        for (const p of ["better-auth", "better-sqlite3"]) {
            const v = require("./node_modules/" + p + "/package.json").version;
            process.stdout.write(p + " " + v + ", ");
        }')
    local mail="mail worker OFF (context: ours queues every email and delivers none)"
    grep -q '"mail_worker": *"off"' "$1" ||
        mail="mail worker ON (as users run it: ours writes every email to a Maildir during the loads; the peer's sendInvitationEmail is a no-op)"
    echo "siteinvites vs better-auth, $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc)," \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "siteinvites: $BUILD_TYPE build, SQLite WAL;" \
        "peer: ${versions}node $(node --version), SQLite WAL"
    echo "$mail"
    python3 - "$1" <<'PY'
import json, math, statistics, sys

MIB = 1024.0
runs = {}  # (system, figure) -> [values over runs]
items = {}
sustained, left = {}, {}  # ours, by run: the sustained load's figures, the emails left queued


def add(system, figure, value):
    runs.setdefault((system, figure), []).append(value)


for line in open(sys.argv[1]):
    r = json.loads(line)
    if "system" not in r:  # the run's settings, read by the header above
        continue
    s = r["system"]
    if "bench" in r:
        b = r["bench"]
        add(s, b + ".rps", r["rps"])
        add(s, b + ".p50", r["p50_us"] / 1000)
        add(s, b + ".p99", r["p99_us"] / 1000)
        add(s, b + ".cpu", 100 * r["server_cpu_s"] / max(r["wall_s"], 1e-9))
        if s == "ours" and b == "create_sustained":
            sustained[r["run"]] = r
    elif "mail_left" in r:
        left[r["run"]] = int(r["mail_left"])
    elif "rss" in r:
        add(s, "rss." + r["rss"], (r["vmrss_kib"] if r["rss"] == "idle" else r["vmhwm_kib"]) / MIB)
    elif "list_items" in r:
        items[s] = r["list_items"]

# Emails written to the Maildir during the sustained load, per second of it: its measured creates
# less what was left queued at its end, over its measured time (a lower bound; none with the mail
# worker off, where everything is left queued).
for run, r in sorted(sustained.items()):
    if run in left:
        add("ours", "mail.delivered", max(0, r["requests"] - left[run]) / max(r["wall_s"], 1e-9))
        add("ours", "mail.left", left[run])
for k in ("mail.delivered", "mail.left"):
    if ("ours", k) in runs:  # the peer sends no email
        runs[("peer", k)] = [float("nan")]

# Invites per second of one Bulk Invite of 1,000 (from its p50) against the peer's best create
# rate (one at a time or 32 in flight, whichever is higher in that run).
runs[("ours", "bulk.ips")] = [1000 / (v / 1000) for v in runs.get(("ours", "bulk.p50"), [])]
runs[("peer", "bulk.ips")] = [max(a, b) for a, b in zip(runs.get(("peer", "create_serial.rps"), []),
                                                     runs.get(("peer", "create_32.rps"), []))]
for k in ("bulk.p50", "bulk.p99"):
    if ("ours", k) in runs:  # the peer has no bulk call: only our figure is shown
        runs[("peer", k)] = [float("nan")]

# (figure, title, unit, target on ours/theirs as (op, value) or None, absolute target on ours)
ROWS = [
    ("create_serial.p50", "create 1,000 one at a time, p50", "ms", None, None),
    ("create_serial.p99", "create 1,000 one at a time, p99", "ms", None, None),
    ("create_32.rps", "create 1,000, 32 in flight", "req/s", (">=", 50), None),
    ("cancel_32.rps", "cancel 1,000, 32 in flight", "req/s", None, None),
    ("get_32.rps", "get one, 32 conns, 10 s", "req/s", (">=", 50), None),
    ("get_32.p99", "get one, 32 conns, p99", "ms", None, ("<=", 5)),
    ("list.p50", "list first page, 10^4 pending, p50", "ms", None, None),
    ("list.p99", "list first page, 10^4 pending, p99", "ms", None, None),
    ("bulk.p50", "bulk 1,000 (ours; none in peer), p50", "ms", None, ("<=", 8)),
    ("bulk.p99", "bulk 1,000 (ours; none in peer), p99", "ms", None, ("<=", 15)),
    ("bulk.ips", "invites/s: bulk vs peer's best create", "inv/s", (">=", 500), None),
    ("create_sustained.rps", "create, 32 in flight, sustained", "req/s", (">=", 50),
     (">=", 15000)),
    ("create_sustained.p99", "create, 32 in flight, sustained, p99", "ms", None, ("<=", 10)),
    ("mail.delivered", "emails to the Maildir during it (ours)", "msg/s", None, (">=", 10000)),
    ("mail.left", "emails left queued at its end (ours)", "emails", None, None),
    ("rss.idle", "RSS idle (VmRSS)", "MiB", ("<=", 1 / 8), None),
    ("rss.peak", "RSS peak (VmHWM)", "MiB", ("<=", 1 / 4), None),
]


def fmt(v):
    return f"{v:,.0f}" if v >= 1000 else f"{v:.2f}" if v < 100 else f"{v:.1f}"


def cell(vals):
    return f"{fmt(statistics.median(vals)):>8} ({fmt(min(vals))}..{fmt(max(vals))})"


def ok(value, op, goal):
    return value >= goal if op == ">=" else value <= goal


print(f"{'figure':<38} {'unit':<6} {'siteinvites median (min..max)':>29} "
      f"{'better-auth median (min..max)':>29} {'ours/theirs':>11}  target")
for fig, title, unit, rtarget, atarget in ROWS:
    o, p = runs.get(("ours", fig)), runs.get(("peer", fig))
    if not o or not p:
        continue
    alone = math.isnan(p[0])  # a figure of ours alone
    ratio = float("nan") if alone else statistics.median(o) / statistics.median(p)
    goal = ""
    if rtarget:
        t = f"{rtarget[1]:g}" if rtarget[1] >= 1 else f"1/{round(1 / rtarget[1])}"
        goal = f"ratio {rtarget[0]} {t}: {'met' if ok(ratio, *rtarget) else 'MISSED'}"
    if atarget:
        goal += "; " if goal else ""
        goal += f"ours {atarget[0]} {atarget[1]:,} {unit}: " + (
            "met" if ok(statistics.median(o), *atarget) else "MISSED")
    rtxt = "-" if alone else f"{ratio:,.1f}x" if ratio >= 1 else f"{ratio:.3f}x"
    pcell = "(no such call)" if alone else cell(p)
    print(f"{title:<38} {unit:<6} {cell(o):>29} {pcell:>29} {rtxt:>11}  {goal}")
nruns = len(runs.get(("ours", "rss.idle"), []))
print(f"\n{nruns} runs each; each run on a fresh database and a fresh server process.")
print("context (medians): server CPU as % of one core during each load, and answer sizes")
for b in ("create_serial", "create_32", "cancel_32", "get_32", "list", "create_sustained"):
    o, p = runs.get(("ours", b + ".cpu")), runs.get(("peer", b + ".cpu"))
    if o and p:
        print(f"  {b:<16} server CPU: siteinvites {statistics.median(o):.0f} %, "
              f"better-auth {statistics.median(p):.0f} %"
              f"; req/s {fmt(statistics.median(runs[('ours', b + '.rps')]))} vs "
              f"{fmt(statistics.median(runs[('peer', b + '.rps')]))}")
print(f"  list answer: siteinvites {items.get('ours')} pending invites (cursorPaging limit 100);"
      f" better-auth {items.get('peer')} invitations of any status (list-invitations: no paging,"
      " no status filter, at most findMany's default 100 rows)")
PY
}
if [ "${1:-}" = --report ]; then # bench/sidebyside.sh --report RESULTS: the table again
    report "$2"
    exit 0
fi

TMP=$(mktemp -d /tmp/si-sbs.XXXXXX)
PEER_PID=
stop_peer() {
    [ -n "$PEER_PID" ] || return 0
    kill -TERM "$PEER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PEER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PEER_PID" 2>/dev/null || true
    wait "$PEER_PID" 2>/dev/null || true
    PEER_PID=
}
cleanup() {
    stop_server
    stop_peer
    if [ "${SBS_KEEP:-0}" = 1 ]; then
        echo "bench/sidebyside.sh: kept $TMP" >&2
    else
        discard_dir "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RESULTS=$TMP/results.jsonl
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
note() { printf '%s\n' "$1" >>"$RESULTS"; }
note "{\"mail_worker\":\"${SBS_MAIL_WORKER:-on}\"}" # for the report's header
kib_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_note() { # system run label pid
    note "{\"system\":\"$1\",\"run\":$2,\"rss\":\"$3\",\"vmrss_kib\":$(kib_of "$4" VmRSS),"`
        `"\"vmhwm_kib\":$(kib_of "$4" VmHWM)}"
}

# One loadgen run against process $SPID; its JSON plus system, bench, run and server CPU seconds.
measure() { # system bench run loadgen-args...
    local system=$1 bench=$2 run=$3 t0 out
    shift 3
    out=$TMP/$system.$bench.$run.json
    t0=$(ticks_of "$SPID")
    if ! "$LOADGEN" "$@" -j -l "$bench" >"$out" 2>"$TMP/loadgen.err"; then
        cat "$out" "$TMP/loadgen.err" >&2
        die "$system $bench run $run failed (non-2xx answers or errors above)"
    fi
    python3 - "$out" "$system" "$bench" "$run" "$t0" "$(ticks_of "$SPID")" "$CLK_TCK" \
        >>"$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r.update(system=sys.argv[2], bench=sys.argv[3], run=int(sys.argv[4]))
r["server_cpu_s"] = (int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7])
print(json.dumps(r))
PY
}

page_of() { echo "\"cursorPaging\":{\"limit\":$1}"; } # limit: the paging part of a query

bulk_body() { # count file: a Bulk Invite body of count new emails, unique per call via {{N}}
    python3 - "$1" "$POLICY" >"$2" <<'PY'
import json, sys
emails = ["t{{N}}.%d@bench.example.com" % i for i in range(int(sys.argv[1]))]
print(json.dumps({"policyIds": [sys.argv[2]], "emails": emails}))
PY
}

# --- siteinvites -------------------------------------------------------------------------------
BULK_SEQ=0 # counter of bulk calls in this run, so every bulk email is new
bulk_ids() { # count ids-file: one Bulk Invite of count new emails; writes the new invites' IDs
    bulk_body "$1" "$TMP/bulk.json"
    "$LOADGEN" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" -n 1 \
        -s "$BULK_SEQ" -t 60 -o "$TMP/bulk.answer" >/dev/null || die "a seeding bulk call failed"
    BULK_SEQ=$((BULK_SEQ + 1))
    ids_of_bulk_answer "$TMP/bulk.answer" "$2"
    [ "$(wc -l <"$2")" = "$1" ] || die "a bulk call of $1 did not invite $1 emails"
}
ours_pending() { # seats in use = pending invites here (nobody accepts during the bench)
    curl -sf -H "Authorization: $KEY" -H "wix-site-id: $SITE" \
        "$BASE/invites/site-invite/contributor-limit" |
        python3 -c 'import json, sys
c = json.load(sys.stdin)["contributorLimitation"]
print(int(c["contributorLimit"]) - int(c["leftInvites"]))'
}

run_ours() { # run
    local run=$1 pending
    local top=$TMP # lib.sh keeps the server's files in $TMP: give it a folder of its own
    TMP=$top/ours.$run
    mkdir -p "$TMP"
    start_server
    make_tenant
    TMP=$top
    SPID=$PID
    sleep 1
    rss_note ours "$run" idle "$PID"
    local create_url=$BASE/invites/site-invite
    measure ours create_serial "$run" -u "$create_url" "${HDRS[@]}" \
        -b "{\"email\":\"s{{N}}@bench.example.com\",\"policyIds\":[\"$POLICY\"]}" \
        -c 1 -n $((COUNT + WARMUP)) -W $WARMUP
    drain "create_serial"
    measure ours create_32 "$run" -u "$create_url" "${HDRS[@]}" \
        -b "{\"email\":\"p{{N}}@bench.example.com\",\"policyIds\":[\"$POLICY\"]}" \
        -c $CONNS -n $((COUNT + WARMUP)) -W $WARMUP
    bulk_ids $COUNT "$TMP/ours.cancel.ids"
    drain "create_32"
    measure ours cancel_32 "$run" -u "$create_url/{{V}}/revoke" "${HDRS[@]}" -X POST -b '{}' \
        -V "$TMP/ours.cancel.ids" -s 0 -c $CONNS -n $COUNT
    bulk_ids $COUNT "$TMP/ours.get.ids"
    drain "cancel_32"
    measure ours get_32 "$run" -u "$create_url/{{V}}" "${HDRS[@]}" -V "$TMP/ours.get.ids" \
        -c $CONNS -d "$DURATION" -W $GET_WARMUP
    pending=$(ours_pending)
    while [ "$pending" -lt $LIST_PENDING ]; do
        local k=$((LIST_PENDING - pending))
        [ $k -gt 1000 ] && k=1000
        bulk_ids $k "$TMP/ours.seed.ids"
        pending=$((pending + k))
    done
    [ "$(ours_pending)" = $LIST_PENDING ] || die "ours: expected $LIST_PENDING pending invites"
    drain "list seed"
    measure ours list "$run" -u "$create_url/query" "${HDRS[@]}" \
        -b "{\"query\":{\"filter\":{\"status\":\"Pending\"},$(page_of $LIST_PAGE)}}" \
        -c 1 -n $((LIST_CALLS + LIST_WARMUP)) \
        -W $LIST_WARMUP -o "$TMP/ours.list.answer"
    local items
    items=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["invites"]))' \
        "$TMP/ours.list.answer")
    note "{\"system\":\"ours\",\"run\":$run,\"list_items\":$items}"
    # Ours alone: Bulk Invite of 1,000 new emails, back to back on one connection (the peer has
    # no bulk call; the table sets its rate against the peer's best create rate).
    bulk_body $COUNT "$TMP/bulk.json"
    measure ours bulk "$run" -u "$BASE/invites/site-invite/bulk" "${HDRS[@]}" -B "$TMP/bulk.json" \
        -c 1 -n $((BULK_CALLS + LIST_WARMUP)) -W $LIST_WARMUP -s 1000 -t 60
    drain "bulk"
    # Sustained: what the mail worker left queued when the load ends tells whether delivery kept
    # up; the emails written during the load per second (measured creates less those left, over
    # the measured time: a lower bound) is run.sh's create_mail figure.
    measure ours create_sustained "$run" -u "$create_url" "${HDRS[@]}" \
        -b "{\"email\":\"m{{N}}@bench.example.com\",\"policyIds\":[\"$POLICY\"]}" \
        -c $CONNS -d "$SUSTAIN" -W $GET_WARMUP
    note "{\"system\":\"ours\",\"run\":$run,\"mail_left\":$(outbox_queued)}"
    drain "create_sustained"
    rss_note ours "$run" peak "$PID"
    stop_server
    [ "$SERVER_EXIT" = 0 ] || echo "bench: siteinvites exited with $SERVER_EXIT" >&2
    # The run's files stay until the end (cleanup): deleting them here made the next run's
    # Maildir files dearer on ext4 without a journal (bench/lib.sh, discard_dir).
}

# --- better-auth -------------------------------------------------------------------------------
start_peer() { # db-path: sets PEER_PID, PEER (the JSON line of the server script)
    node "$PEER_DIR/server.mjs" --db "$1" >"$TMP/peer.out" 2>"$TMP/peer.err" &
    PEER_PID=$!
    PEER=
    for _ in $(seq $((START_TIMEOUT_S * 10))); do
        PEER=$(sed -n 2p "$TMP/peer.out")
        [ -n "$PEER" ] && break
        kill -0 "$PEER_PID" 2>/dev/null || die "the peer exited: $(cat "$TMP/peer.err")"
        sleep 0.1
    done
    [ -n "$PEER" ] || die "the peer printed nothing within ${START_TIMEOUT_S}s"
}
count_chunked_list() { # saved answer: loadgen -o keeps Node's chunked framing; items of the list
    python3 - "$1" <<'PY'
import json, sys
raw, body = open(sys.argv[1], "rb").read(), b""
while True:  # chunk: hex size CRLF data CRLF; a zero size ends the body
    size_text, raw = raw.split(b"\r\n", 1)
    size = int(size_text.split(b";")[0], 16)
    if size == 0:
        break
    body, raw = body + raw[:size], raw[size + 2:]
print(len(json.loads(body)))
PY
}
peer_field() { printf '%s' "$PEER" | json_field "$1"; }

run_peer() { # run
    local run=$1
    local db=$TMP/peer.$run.db
    start_peer "$db"
    SPID=$PEER_PID
    local origin org cookie icookie inv
    origin=$(peer_field origin)
    org=$(peer_field organizationId)
    cookie=$(peer_field cookie)
    icookie=$(peer_field inviteeCookie)
    inv=$(peer_field invitationId)
    local api=$origin/api/auth/organization
    local invite_rest role
    role=$(peer_field role)
    invite_rest="\"role\":\"$role\",\"organizationId\":\"$org\"}"
    local -a hdrs=(-H "Cookie: $cookie" -H "Origin: $origin" -H "Content-Type: application/json")
    sleep 1
    rss_note peer "$run" idle "$PEER_PID"
    measure peer create_serial "$run" -u "$api/invite-member" "${hdrs[@]}" \
        -b "{\"email\":\"s{{N}}@bench.example.com\",$invite_rest" \
        -c 1 -n $((COUNT + WARMUP)) -W $WARMUP
    measure peer create_32 "$run" -u "$api/invite-member" "${hdrs[@]}" \
        -b "{\"email\":\"p{{N}}@bench.example.com\",$invite_rest" \
        -c $CONNS -n $((COUNT + WARMUP)) -W $WARMUP
    # The IDs to cancel: 1,000 of its pending invitations, never the invitee's (read from its
    # file: list-invitations answers at most 100, its default findMany limit, without paging).
    node "$PEER_DIR/db.mjs" pending-ids "$db" "$org" $COUNT "$inv" >"$TMP/peer.cancel.ids" ||
        die "peer: could not name $COUNT pending invitations"
    measure peer cancel_32 "$run" -u "$api/cancel-invitation" "${hdrs[@]}" \
        -b '{"invitationId":"{{V}}"}' -V "$TMP/peer.cancel.ids" -s 0 -c $CONNS -n $COUNT
    # get-invitation is the recipient's call: the invitee's session reads the invitation to it.
    measure peer get_32 "$run" -u "$api/get-invitation?id=$inv" -H "Cookie: $icookie" \
        -H "Origin: $origin" -c $CONNS -d "$DURATION" -W $GET_WARMUP
    local pending
    pending=$(node "$PEER_DIR/db.mjs" top-up "$db" "$org" $LIST_PENDING) ||
        die "peer: seeding failed"
    [ "$pending" = $LIST_PENDING ] || die "peer: expected $LIST_PENDING pending, have $pending"
    measure peer list "$run" -u "$api/list-invitations?organizationId=$org" "${hdrs[@]}" \
        -c 1 -n $((LIST_CALLS + LIST_WARMUP)) -W $LIST_WARMUP -t 60 -o "$TMP/peer.list.answer"
    note "{\"system\":\"peer\",\"run\":$run,\"list_items\":$(count_chunked_list \
        "$TMP/peer.list.answer")}"
    measure peer create_sustained "$run" -u "$api/invite-member" "${hdrs[@]}" \
        -b "{\"email\":\"m{{N}}@bench.example.com\",$invite_rest" \
        -c $CONNS -d "$SUSTAIN" -W $GET_WARMUP
    rss_note peer "$run" peak "$PEER_PID"
    stop_peer
    rm -f "$db" "$db-wal" "$db-shm"
}

for run in $(seq "$RUNS"); do
    echo "bench/sidebyside.sh: run $run of $RUNS: siteinvites" >&2
    run_ours "$run"
    echo "bench/sidebyside.sh: run $run of $RUNS: better-auth" >&2
    run_peer "$run"
done

report "$RESULTS" | tee "${SBS_OUT:-/dev/null}"
