#!/usr/bin/env bash
# bench/run.sh's benchmarks on PostgreSQL (issue 14's single-instance targets: bulk of 1,000 at
# 20 ms p50, creates at 32 in flight at 8,000/s), what `make bench` runs after the SQLite table.
# A throwaway PostgreSQL 15 cluster with its durable defaults (fsync, synchronous_commit and
# full-page writes on; tests/pg/pg_server.sh with SI_PG_DURABLE=1) on this machine's disk, one
# empty database, the default serve (mail worker on) against it. The cluster shares the cores
# with serve and the load generator. Knobs: as bench/run.sh's (BENCH_RUNS defaults to 2 here).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d "${TMPDIR:-/tmp}/si-bench-pg.XXXXXX")
trap 'tests/pg/pg_server.sh stop "$dir"' EXIT
SI_PG_DURABLE=1 tests/pg/pg_server.sh start "$dir" >/dev/null
url=$(cat "$dir/url")
psql -qX "$url" -c "CREATE DATABASE si_bench"
BENCH_DB=${url%/postgres}/si_bench BENCH_RUNS=${BENCH_RUNS:-2} bench/run.sh
