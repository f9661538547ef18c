#!/usr/bin/env bash
# Checks the load generator itself: its unit self-test, then a real run against a small Python
# HTTP/1.1 server that records every request, to prove the counter substitution, the request
# count, keep-alive with server-side closes, chunked answers and the non-2xx accounting.
# Usage: bench/check-loadgen.sh [path/to/loadgen]   (default: $BUILD/loadgen, BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/.."
LOADGEN=${1:-${BUILD:-build}/loadgen}
TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

"$LOADGEN" --self-test 2>/dev/null

cat >"$TMP/server.py" <<'PY'
import http.server, sys, threading
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
seen = 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per answer, so Nagle and delayed ACKs do not add 40 ms
    def log_message(self, *a): pass
    def answer(self, status, body, chunked=False, close=False):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if close: self.send_header("Connection", "close")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            half = len(body) // 2
            for part in (body[:half], body[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            seen += 1; n = seen
            log.write(body.decode() + "\n")
        if self.path == "/fail": return self.answer(500, b'{"message":""}')
        self.answer(201, body, chunked=(n % 3 == 0), close=(n % 50 == 0))
    def do_GET(self): self.answer(200, b'{"id":"' + self.path.encode() + b'"}')
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$TMP/server.py" "$TMP/bodies" >"$TMP/port" &
SERVER_PID=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(head -1 "$TMP/port")

fail() { echo "check-loadgen: FAIL: $*" >&2; exit 1; }

# 400 unique POSTs on 4 connections: every body must arrive once, with its own counter.
"$LOADGEN" -u "http://127.0.0.1:$PORT/invite" -H 'Content-Type: application/json' \
    -b '{"email":"u{{N}}@example.com"}' -c 4 -n 400 -s 1000 -j -l post >"$TMP/post.json"
[ "$(wc -l <"$TMP/bodies")" -eq 400 ] || fail "server saw $(wc -l <"$TMP/bodies") bodies"
[ "$(sort -u "$TMP/bodies" | wc -l)" -eq 400 ] || fail "bodies are not unique"
if ! grep -q '"u1000@example.com"' "$TMP/bodies" || ! grep -q '"u1399@example.com"' "$TMP/bodies"; then
    fail "counter range is not 1000..1399"
fi
python3 - "$TMP/post.json" <<'PY' || fail "post report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests"] == 400 and r["non2xx"] == 0 and r["errors"] == 0, r
assert 0 < r["p50_us"] <= r["p90_us"] <= r["p99_us"] <= r["max_us"], r
PY

# Values substitution and a duration bound: GETs must cycle through the given IDs.
printf 'id-a\nid-b\n' >"$TMP/ids"
"$LOADGEN" -u "http://127.0.0.1:$PORT/get/{{V}}" -V "$TMP/ids" -c 2 -d 0.5 -W 5 -o "$TMP/first" \
    -l get >"$TMP/get.txt"
grep -q 'non-2xx 0  errors 0' "$TMP/get.txt" || fail "get run: $(cat "$TMP/get.txt")"
grep -Eq '"/get/id-[ab]"' "$TMP/first" || fail "saved body: $(cat "$TMP/first")"

# Non-2xx answers are counted and make the exit status non-zero.
if "$LOADGEN" -u "http://127.0.0.1:$PORT/fail" -b '{}' -n 5 -j -l fail >"$TMP/fail.json" 2>/dev/null; then
    fail "a run with 500s exited 0"
fi
grep -q '"non2xx":5' "$TMP/fail.json" || fail "non-2xx count: $(cat "$TMP/fail.json")"

# Anything but the loopback address is refused before a packet is sent.
if "$LOADGEN" -u "http://192.0.2.1:80/" -n 1 2>/dev/null; then fail "non-loopback accepted"; fi
echo "check-loadgen: ok"
