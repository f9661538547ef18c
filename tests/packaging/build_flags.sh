#!/usr/bin/env bash
# A distribution packager's build, with one compiler: Release, Debian's hardening flags
# (dpkg-buildflags with hardening=+all: -D_FORTIFY_SOURCE=2, -fstack-protector-strong,
# -Wl,-z,relro,-z,now, PIE) and -Werror, building only the binary and the client library.
# Then checks the hardening reached the binary, so a flag silently dropped fails here.
# Usage: build_flags.sh CC SOURCE_DIR BUILD_DIR TARGET...
set -euo pipefail
cc=$1 src=$2 out=$3
shift 3
targets=("$@")
command -v "$cc" >/dev/null || { echo "build_flags: compiler $cc not installed" >&2; exit 1; }
command -v dpkg-buildflags >/dev/null || { echo "build_flags: dpkg-buildflags missing" >&2; exit 1; }
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
for want in -D_FORTIFY_SOURCE=2 -fstack-protector-strong; do
    [[ " $cflags " == *" $want "* ]] || { echo "build_flags: dpkg-buildflags lacks $want" >&2; exit 1; }
done
[[ "$ldflags" == *"-z,relro"* && "$ldflags" == *"-z,now"* ]] ||
    { echo "build_flags: dpkg-buildflags lacks relro/now: $ldflags" >&2; exit 1; }

# The compiler and flags go in as cache values, so a rerun with other flags reconfigures.
cmake -S "$src" -B "$out" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release -DSI_WERROR=ON \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_C_FLAGS="$cflags" \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" >/dev/null
cmake --build "$out" -j "$(nproc)" --target "${targets[@]}"

bin=$out/siteinvites
fail() { echo "build_flags ($cc): $*" >&2; exit 1; }
readelf -h "$bin" | grep -q 'Type:.*DYN' || fail "siteinvites is not a PIE"
readelf -l "$bin" | grep -q GNU_RELRO || fail "siteinvites has no RELRO segment"
readelf -d "$bin" | grep -Eq 'BIND_NOW|FLAGS.*NOW' || fail "siteinvites is not linked -z now"
syms=$(readelf --dyn-syms -W "$bin")
grep -q __stack_chk_fail <<<"$syms" || fail "no stack protector in siteinvites"
grep -Eq '__[a-z]+_chk' <<<"$syms" || fail "no _FORTIFY_SOURCE checked calls in siteinvites"
"$bin" --version >/dev/null || fail "the hardened binary does not run"
echo "build_flags ($cc): Release + hardening + -Werror: ok (${targets[*]})"
