#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from a copy of its seed corpus (the committed
# corpus is never written). Usage: run.sh FUZZ_BINARY CORPUS_DIR [DICT]
# SI_FUZZ_SECONDS: the time budget (default 20). SI_FUZZ_CORPUS_OUT: a folder that receives the
# grown corpus afterwards (long local runs keep it to start the next one from). A crash, leak,
# timeout or sanitizer report fails the run; the report and the input (base64 and a dump) are
# printed, and the input is kept under SI_FUZZ_ARTIFACTS (default: next to the binary).
set -euo pipefail
bin=$1 corpus=$2 dict=${3:-}
secs=${SI_FUZZ_SECONDS:-20}
name=$(basename "$bin")
keep=${SI_FUZZ_ARTIFACTS:-$(dirname "$bin")/fuzz-artifacts}/$name
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$keep"
cp -R "$corpus"/. "$work/corpus/"
# Leaks are failures; a UBSan report is fatal (the build has -fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -print_final_stats=1 -artifact_prefix="$keep/")
[ -n "$dict" ] && args+=(-dict="$dict")
echo "$name: ${secs}s from $(find "$corpus" -type f | wc -l) seeds"
touch "$work/start" # inputs newer than this are this run's
rc=0
"$bin" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 || rc=$?
if [ -n "${SI_FUZZ_CORPUS_OUT:-}" ]; then
    mkdir -p "$SI_FUZZ_CORPUS_OUT"
    cp -R "$work/corpus"/. "$SI_FUZZ_CORPUS_OUT/"
fi
if [ "$rc" -eq 0 ]; then
    # The last status line and the final stats: execs/s, coverage (cov, ft), corpus size.
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$work/log" | tail -n 1 || true
    grep -E '^stat::' "$work/log" || true
    echo "$name: no crash, leak or sanitizer report"
    exit 0
fi
# The report is at the end; the lines before it are libFuzzer's progress.
tail -n 150 "$work/log"
find "$keep" -type f -newer "$work/start" | while read -r f; do
    echo "== input $f ($(wc -c <"$f") bytes), base64:"
    base64 -w 76 "$f" | head -n 200
    echo "== dump:"
    od -A d -c "$f" | head -n 60
    echo "rerun: $bin $f"
done
echo "$name: FAILED (exit $rc)"
exit 1
