#!/usr/bin/env bash
# The include half of the layer rule (scripts/check-layers.sh): this checkout passes, and a small
# fake tree with one include of each wrong kind fails, each named by file and line, while the
# allowed includes beside them pass. (The link half is the layer_check_<room> targets: a call
# that points up fails the build itself.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
check=$root/scripts/check-layers.sh
fails=0
expect() { # expect <what> <command...>: counts a failure, keeps going
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
    else
        echo "not ok - $what"
        fails=$((fails + 1))
    fi
}

expect "this checkout has no upward include" "$check" "$root"

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
put() { mkdir -p "$tree/$(dirname "$1")" && printf '%s\n' "${@:2}" >"$tree/$1"; }
put src/api/ok.c '/* allowed */' '#include "api/api.h"' '#include "request/request.h"' \
    '#include "store/store.h"' '#include "local.h"'
put src/http/ok.c '#include "api/api.h"' '#include <microhttpd.h>'
put src/cli/ok.c '#include "http/server.h"' '#include "mail/mailer.h"' \
    '#include <siteinvites/client.h>'
put src/client/ok.c '#include <siteinvites/client.h>' '#include <curl/curl.h>'
put src/request/up.c '/* the request contract may not know its handlers */' '#include "api/api.h"'
put src/core/up.h '#include "common/buf.h"' '#include "store/store.h"'
put src/mail/side.c '#include "store/store.h"' '#include "auth/auth.h"'
put src/request/mhd.h '#include <jansson.h>' '#include <microhttpd.h>'
put src/newroom/x.c '#include "common/buf.h"'

out=$("$check" "$tree" 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out"
expect "the fake tree fails" test "$rc" -ne 0
for line in 'src/request/up.c:2 includes api/api.h' 'src/core/up.h:2 includes store/store.h' \
    'src/mail/side.c:2 includes auth/auth.h' 'src/request/mhd.h:2 includes <microhttpd.h>' \
    'src/newroom/x.c: room src/newroom/ is not in the table'; do
    expect "names '$line'" grep -qF "$line" <<<"$out"
done
expect "the allowed includes pass" test "$(grep -c '/ok\.c' <<<"$out")" -eq 0
expect "five complaints, no more" test "$(grep -c '^check-layers: src/' <<<"$out")" -eq 5
[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
