#!/usr/bin/env bash
# Cheap source checks: banned functions, includes that point up a layer, third-party headers
# outside their adapter room, and clang-format conformance of C sources.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -co --exclude-standard 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.c')
[ -n "$files" ] || exit 0
bad=0
# Unbounded or locale-fragile calls we never use (STYLE.md).
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|sscanf|gets)\s*\(' $files; then
    echo "check-src: banned function used (see STYLE.md)" >&2
    bad=1
fi
# The layers (docs/ARCHITECTURE.md): the rooms each room's sources may include besides its own.
# The same order as the si_room() lines of CMakeLists.txt, whose link checks refuse upward calls;
# this refuses upward includes (a struct or an inline function the linker never sees).
declare -A may_include=(
    [common]=""
    [core]="common"
    [store]="common core"
    [mail]="common core store"
    [auth]="common core store"
    [request]="common core store auth"
    [api]="common core store auth request"
    [http]="common core store auth request api"
    [cli]="common core store auth request api http mail siteinvites"
    [client]="siteinvites"
)
# Includes that point up and are being removed, as "file:room".
# TODO(issue 9): core/lifecycle.h stops including store/store.h (branch i9-store); then drop it.
known_up="src/core/lifecycle.h:store"
# Third-party headers and the one room allowed to include them (their adapter).
declare -A adapter_room=(
    [microhttpd.h]=http
    [sqlite3.h]=store
    [libpq-fe.h]=store
    [sodium.h]=common
    [curl/curl.h]="mail client"
)
for f in $(printf '%s\n' $files | grep '^src/'); do
    room=${f#src/}
    room=${room%%/*}
    if [ -z "${may_include[$room]+set}" ]; then
        echo "check-src: $f: room src/$room/ is not in the layer table of scripts/check-src.sh" >&2
        bad=1
        continue
    fi
    # "room/x.h" and <siteinvites/x.h>; a bare "x.h" is the file's own room.
    while IFS=: read -r line inc; do
        used=${inc%%/*}
        [ "$used" = "$room" ] && continue
        case " ${may_include[$room]} " in *" $used "*) continue ;; esac
        case " $known_up " in *" $f:$used "*) continue ;; esac
        echo "check-src: $f:$line includes $inc: src/$room/ may include only its own room and:" \
            "${may_include[$room]:-nothing else} (docs/ARCHITECTURE.md)" >&2
        bad=1
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*("[a-z_]+/|<siteinvites/)' "$f" |
        sed -E 's@^([0-9]+):[^"<]*["<]([^">]+)[">].*@\1:\2@' || true)
    while IFS=: read -r line hdr; do
        case " ${adapter_room[$hdr]} " in *" $room "*) continue ;; esac
        echo "check-src: $f:$line includes <$hdr>, which only src/${adapter_room[$hdr]}/ may" >&2
        bad=1
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(microhttpd|sqlite3|libpq-fe|sodium|curl/curl)\.h>' "$f" |
        sed -E 's@^([0-9]+):.*<([^>]+)>.*@\1:\2@' || true)
done
for e in $known_up; do
    grep -qE "#[[:space:]]*include[[:space:]]*\"${e#*:}/" "${e%%:*}" 2>/dev/null ||
        echo "check-src: note: ${e%%:*} no longer includes ${e#*:}; drop it from known_up" >&2
done
if command -v clang-format >/dev/null; then
    for f in $files; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "check-src: $f is not clang-formatted (run: make format)" >&2
            bad=1
        fi
    done
fi
exit $bad
