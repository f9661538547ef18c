#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 cluster for the tests/pg suites.
#   pg_server.sh start DIR   creates a cluster in DIR, starts it, prints its URL (a database
#                            the fixture may use to CREATE/DROP per-test databases)
#   pg_server.sh stop DIR    stops it (fast shutdown) and removes DIR
#   pg_server.sh run DIR CMD [ARGS...]
#                            runs CMD with SI_TEST_STORE_URL set to the URL start wrote to DIR/url
# postgres refuses to run as root, so when run as root the server runs as the `postgres` user
# the Debian package creates, and DIR is chown'ed to it. THIS IS A TEST CLUSTER ONLY: trust
# authentication on 127.0.0.1, fsync off, nothing in it is meant to survive. SI_PG_DURABLE=1
# keeps PostgreSQL's defaults instead (fsync, synchronous_commit, full-page writes on), as a
# deployment runs: bench/pg.sh measures on such a cluster.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|run DIR ..." >&2; exit 2; }
shift 2
bin="${SI_PG_BIN:-/usr/lib/postgresql/15/bin}"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    as_pg=(runuser -u postgres --)
fi

# A free TCP port on 127.0.0.1: bind port 0 and take what the kernel gave. Another process could
# take it before the server binds; start retries with a new port if the server fails to start.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The cluster lives in a folder of its own under /tmp, named in DIR/cluster: the postgres user
# must be able to reach it, and DIR (in the build tree) may sit under a folder only root can
# enter, such as /root.
cluster_of() {
    [ -f "$dir/cluster" ] && cat "$dir/cluster"
}

stop() {
    local cluster
    cluster="$(cluster_of || true)"
    if [ -n "$cluster" ] && [ -f "$cluster/data/postmaster.pid" ]; then
        "${as_pg[@]}" "$bin/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    [ -n "$cluster" ] && rm -rf "$cluster"
    rm -rf "$dir"
}

start() {
    stop # a leftover from a crashed run would hold the port and the directory
    mkdir -p "$dir"
    local cluster
    cluster="$(mktemp -d /tmp/si-pg.XXXXXX)"
    echo "$cluster" >"$dir/cluster"
    [ ${#as_pg[@]} -gt 0 ] && chown postgres: "$cluster"
    "${as_pg[@]}" "$bin/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 --locale=C \
        >"$cluster/initdb.log" 2>&1 || { cat "$cluster/initdb.log" >&2; exit 1; }
    local port tries=0 writes="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${SI_PG_DURABLE:-0}" = 1 ] && writes=""
    writes="$writes ${SI_PG_OPTS:-}" # more server settings (bench: pg_stat_statements)
    while :; do
        port="$(free_port)"
        # Only 127.0.0.1, the socket in DIR (not /var/run/postgresql), no fsync: a test cluster.
        if "${as_pg[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster $writes \
                -c max_connections=200" \
            >/dev/null; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 3 ]; then
            cat "$cluster/server.log" >&2
            exit 1
        fi
    done
    echo "postgres://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
}

run() {
    [ -f "$dir/url" ] || { echo "pg_server.sh: no server started in $dir" >&2; exit 1; }
    SI_TEST_STORE_URL="$(cat "$dir/url")"
    export SI_TEST_STORE_URL
    exec "$@"
}

case "$cmd" in
start) start ;;
stop) stop ;;
run) run "$@" ;;
*) echo "usage: $0 start|stop|run DIR ..." >&2; exit 2 ;;
esac
