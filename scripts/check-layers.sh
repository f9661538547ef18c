#!/usr/bin/env bash
# The layers of docs/ARCHITECTURE.md, for includes: fails, naming the file, line and include, when
# a source under src/ includes a room above its own or a third-party header outside its adapter
# room. Usage: check-layers.sh [root] (default: this checkout; tests/layers gives it a fake tree).
# The link checks of CMakeLists.txt (layer_check_<room>) refuse upward calls; this refuses upward
# includes, which the linker never sees (a struct, a macro, an inline function).
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# room: the rooms its sources may include besides their own; the order of CMakeLists.txt's
# si_room() lines. "siteinvites" is the public header include/siteinvites/.
layers='
common:
core: common
store: common core
mail: common core store
webhook: common core store
auth: common core store
request: common core store auth
api: common core store auth request
console: common core store auth request api
http: common core store auth request api console
cli: common core store auth request api console http mail webhook siteinvites
client: siteinvites
'
# Third-party headers and the rooms of their adapter files.
adapters='
microhttpd.h: http
gnutls/gnutls.h: http
gnutls/abstract.h: http
gnutls/x509.h: http
sqlite3.h: store
libpq-fe.h: store
sodium.h: common
curl/curl.h: mail webhook client
'
# Upward includes on their way out, as "file:room" separated by spaces (none today).
known_up=''

[ -d src ] || exit 0
find src -name '*.[ch]' | LC_ALL=C sort | xargs awk -v layers="$layers" -v adapters="$adapters" \
    -v known_up="$known_up" '
# Reads "key: a b c" lines into out[key] = " a b c " (spaces around, for index()).
function table(text, out,    lines, i, kv) {
    split(text, lines, "\n")
    for (i in lines) {
        if (split(lines[i], kv, ":") != 2)
            continue
        gsub(/^ +| +$/, "", kv[2])
        out[kv[1]] = " " kv[2] " "
    }
}
function words(set,    s) {
    s = set
    gsub(/^ +| +$/, "", s)
    return s == "" ? "nothing else" : s
}
BEGIN {
    table(layers, may)
    table(adapters, adapter)
    split(known_up, k, " ")
    for (i in k)
        known[k[i]] = 1
}
FNR == 1 {
    split(FILENAME, parts, "/")
    room = parts[2]
    if (!(room in may)) {
        printf "check-layers: %s: room src/%s/ is not in the table of scripts/check-layers.sh\n",
            FILENAME, room > "/dev/stderr"
        bad = 1
    }
}
/^[ \t]*#[ \t]*include[ \t]*["<]/ && (room in may) {
    inc = $0
    sub(/^[^"<]*["<]/, "", inc)
    sub(/[">].*$/, "", inc)
    if (inc in adapter && index(adapter[inc], " " room " ") == 0) {
        printf "check-layers: %s:%d includes <%s>, which only the adapter rooms may include: %s\n",
            FILENAME, FNR, inc, words(adapter[inc]) > "/dev/stderr"
        bad = 1
    }
    # "room/x.h" from src/, or <siteinvites/x.h>; a bare "x.h" is the file'"'"'s own room.
    if (inc !~ /^[a-z_]+\/[a-z0-9_]+\.h$/ || inc in adapter)
        next
    used = inc
    sub(/\/.*/, "", used)
    if ($0 ~ /</ && used != "siteinvites")
        next
    if (used == room || index(may[room], " " used " ") || (FILENAME ":" used) in known)
        next
    printf "check-layers: %s:%d includes %s: src/%s/ may include only its own room and: %s\n",
        FILENAME, FNR, inc, room, words(may[room]) > "/dev/stderr"
    bad = 1
}
END { exit bad }
' || exit 1
for e in $known_up; do
    grep -qE "#[[:space:]]*include[[:space:]]*\"${e#*:}/" "${e%%:*}" 2>/dev/null ||
        echo "check-layers: note: ${e%%:*} no longer includes ${e#*:}; drop it from known_up" >&2
done
exit 0
