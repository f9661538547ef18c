#!/usr/bin/env bash
# Installs, idempotently, every Debian package siteinvites needs to build, run and test.
# Usage: scripts/install-deps.sh [run|test]   (default: test, which is a superset of run)
set -euo pipefail
what="${1:-test}"
# openssl: `make run` makes its local CA and HTTPS certificate with it (serve --dev --tls-listen).
run_pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
          libsodium-dev libcurl4-openssl-dev libpq-dev curl ca-certificates openssl
          libgnutls28-dev)  # src/http/tls.c: the certificate swapped on SIGHUP
# chromium and a Japanese font: the browser test (tests/browser) and its screenshots;
# postgresql-15: the throwaway server the PostgreSQL store suites start (tests/pg).
test_pkgs=(libcmocka-dev python3 python3-aiosmtpd wrk nodejs npm clang-format chromium
           fonts-ipafont-gothic postgresql-15)
# clang and dpkg-dev: the packager builds (tests/packaging); systemd: systemd-analyze verify;
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes of the fuzz build (tests/fuzz), only
# recommended by clang, which --no-install-recommends leaves out.
test_pkgs+=(clang dpkg-dev systemd libclang-rt-14-dev)
# valgrind: tests/valgrind/run.sh (memcheck) and bench/profile.sh (callgrind);
# python3-matplotlib: bench/soak_plot.py draws the soak's PNG.
test_pkgs+=(valgrind python3-matplotlib)
pkgs=("${run_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
    # nodejs/npm may come from outside Debian on some machines: accept any working binary.
    case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
