# shellcheck shell=bash disable=SC2034 # the variables set here are read by the sourcing script
# Shared by bench/run.sh and bench/profile.sh (sourced, not run): start and stop one server on a
# fresh SQLite file in $TMP, create a tenant with the CLI, and read the server's memory and CPU.
# Expects BIN (the siteinvites binary) and TMP (a private folder) to be set.

START_TIMEOUT_S=${START_TIMEOUT_S:-15}
DRAIN_TIMEOUT_S=600 # the mail worker must empty the outbox within this
POLICY=1000000000000000001 # Admin (Co-Owner), a predefined role with a stable ID
SEATS=1000000 # the CLI's largest --contributor-limit (see fresh_site)
PID=
SERVER_EXIT=

die() {
    echo "bench: $*" >&2
    exit 1
}

# Starts `siteinvites serve` on a free loopback port, prefixed by the words in $WRAP (e.g. a
# valgrind command line); sets PID, PORT, BASE and DB once the server prints its listening line.
start_server() {
    DB="${BENCH_DB:-sqlite:$TMP/si.db}" # BENCH_DB: an empty PostgreSQL database (bench/pg.sh)
    # shellcheck disable=SC2086 # WRAP is a word list on purpose
    ${WRAP:-} "$BIN" serve --listen 127.0.0.1:0 --db "$DB" --mail-dir "$TMP/mail" \
        --secret-file "$TMP/secret.key" --access-log off ${SERVE_ARGS:-} >"$TMP/server.out" 2>"$TMP/server.err" &
    PID=$!
    PORT=
    for _ in $(seq $((START_TIMEOUT_S * 10))); do
        PORT=$(sed -n 's|.*listening http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' \
            "$TMP/server.out" | head -1)
        [ -n "$PORT" ] && break
        kill -0 "$PID" 2>/dev/null || die "server exited: $(cat "$TMP/server.err")"
        sleep 0.1
    done
    [ -n "$PORT" ] || die "no 'listening http://127.0.0.1:PORT' line within ${START_TIMEOUT_S}s"
    BASE=http://127.0.0.1:$PORT
}

# SIGTERM, then up to 10 s (60 s under valgrind) to finish; SERVER_EXIT gets its exit status.
stop_server() {
    [ -n "$PID" ] || return 0
    local wait_s=${STOP_TIMEOUT_S:-10}
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq $((wait_s * 10))); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$PID" 2>/dev/null; then
        echo "bench: server ignored SIGTERM for ${wait_s}s; killing it" >&2
        kill -KILL "$PID" 2>/dev/null || true
    fi
    SERVER_EXIT=0
    wait "$PID" 2>/dev/null || SERVER_EXIT=$?
    PID=
}

# Removes a run's folder, or, with BENCH_TRASH set (make bench does), moves it there to be removed
# after the last run. On ext4 without a journal (this machine's root) every file created scans
# the inodes deleted in the last minutes (the kernel's recently_deleted, ~6 minutes while their
# inode table block is dirty), so removing one run's ~10^6 Maildir files halved the emails the
# next run wrote a second (bench/README.md, "the Maildir after a delete").
discard_dir() { # dir
    if [ -n "${BENCH_TRASH:-}" ]; then mv "$1" "$BENCH_TRASH/"; else rm -rf "$1"; fi
}

# The file system of a folder for the tables' headers: its type, "ext4 without a journal" when
# the kernel has no jbd2 journal for its device.
fs_of() { # dir
    local dev type
    read -r dev type < <(df --output=source,fstype "$1" | tail -1)
    dev=$(basename "$(readlink -f "$dev")") # jbd2 names the kernel's device: dm-0, not vg-root
    if [ "$type" = ext4 ] && ! compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then
        echo "ext4 without a journal"
    else
        echo "$type"
    fi
}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Creates an account, an API key with all permissions and a first site (fresh_site); sets
# ACCOUNT, KEY, SITE and HDRS (the loadgen header arguments).
make_tenant() {
    ACCOUNT=$("$BIN" account create --name Bench --email bench@example.com --json --db "$DB" |
        json_field id)
    KEY=$("$BIN" key create --account "$ACCOUNT" --json --db "$DB" | json_field key)
    [ -n "$KEY" ] || die "could not create the tenant"
    fresh_site
}

# A new site of the tenant, with SEATS seats, for the loads that follow (sets SITE and HDRS).
# The timed create loads take one each: at their rates 3 runs of 30 s would use up one site's
# seats, the CLI's largest --contributor-limit.
fresh_site() {
    SITE=$("$BIN" site create --account "$ACCOUNT" --name Bench --contributor-limit "$SEATS" \
        --json --db "$DB" | json_field id)
    [ -n "$SITE" ] || die "could not create a site"
    HDRS=(-H "Authorization: $KEY" -H "wix-site-id: $SITE" -H "Content-Type: application/json")
}

# The bulk body: 1,000 addresses made unique per call by loadgen's {{N}} counter.
write_bulk_body() { # file
    python3 - "$POLICY" >"$1" <<'PY'
import json, sys
emails = ["b{{N}}.%d@bench.example.com" % i for i in range(1000)]
print(json.dumps({"policyIds": [sys.argv[1]], "emails": emails}))
PY
}

create_body() { echo "{\"email\":\"c{{N}}@bench.example.com\",\"policyIds\":[\"$POLICY\"]}"; }

# Writes the IDs of the invites in a saved bulk answer, one a line.
ids_of_bulk_answer() { # answer-file ids-file
    python3 -c 'import json,sys; [print(i["id"]) for i in json.load(open(sys.argv[1]))["invites"]]' \
        "$1" >"$2"
}

# Waits until the mail worker has handed every queued email to the Maildir, so each benchmark
# starts with an idle worker; records how long that took (the worker's throughput).
outbox_queued() {
    "$BIN" outbox status --json --db "$DB" 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("queued", d.get("Queued", 0)))'
}
drain() { # label
    local t0 q
    if [[ "${SERVE_ARGS:-}" == *"--mail-worker off"* ]]; then # nothing delivers: nothing to wait for
        DRAIN_SECONDS=0 DRAIN_LEFT=worker-off
        return
    fi
    t0=$(date +%s.%N)
    for _ in $(seq $((DRAIN_TIMEOUT_S * 5))); do
        q=$(outbox_queued) || { q=unknown; break; } # no answer: waiting cannot help
        [ "$q" = 0 ] && break
        sleep 0.2
    done
    [ "$q" = 0 ] || echo "bench: outbox not drained after $1 (queued: $q)" >&2
    DRAIN_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
    DRAIN_LEFT=$q
}

status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
server_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
