# The two commands: `make run` and `make test` (as root on Debian 12 they install what is
# missing first). Everything else is a convenience over CMake and the scripts/.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
TLS_LISTEN ?= 127.0.0.1:8443

.PHONY: all deps deps-run build build-asan run test test-fast fuzz bench bench-core bench-pg sidebyside scale \
	format check clean package valgrind soak

all: build

deps:
	scripts/install-deps.sh test

deps-run:
	scripts/install-deps.sh run

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSI_WERROR=ON

build: deps-run $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSI_SANITIZE=ON -DSI_WERROR=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# HTTP on LISTEN, HTTPS on TLS_LISTEN with a local CA made under var/tls/ on first start (the
# Wix SDK always speaks https); it prints a curl example and a Wix SDK script with the one
# NODE_EXTRA_CA_CERTS line node needs (tests/sdk/dev_snippet.test.js runs the same flags).
run: build
	mkdir -p var
	$(BUILD)/siteinvites serve --dev --listen $(LISTEN) --tls-listen $(TLS_LISTEN) \
		--db sqlite:var/siteinvites.db --mail-dir var/mail

# Every suite twice: the release build, then under AddressSanitizer + UBSan; then every fuzz
# target for 20 s (tests/fuzz/README.md).
test: deps
	scripts/test.sh

# The fuzz targets alone (clang, build-fuzz), FUZZ_SECONDS each (default 20).
FUZZ_SECONDS ?= 20
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSI_FUZZ=ON -DSI_WERROR=ON
	cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && SI_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz -j $(JOBS)

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -L unit

# Our targets (bench/run.sh on SQLite, then bench/pg.sh: the same on a PostgreSQL 15 cluster it
# starts, which `deps` installs), then the headline: the side-by-side table against better-auth
# with our mail worker on (bench/sidebyside.sh, which installs the peer from npm into
# bench/peers/better-auth); see bench/README.md. Each run's files go to one folder removed after
# the last run (BENCH_TRASH, bench/lib.sh's discard_dir): a delete would slow the next run's
# file creation on ext4 without a journal.
bench: deps build
	trash=$$(mktemp -d "$${TMPDIR:-/tmp}/si-bench-trash.XXXXXX"); \
	BENCH_TRASH=$$trash bench/run.sh && BENCH_TRASH=$$trash bench/pg.sh && \
	BENCH_TRASH=$$trash bench/sidebyside.sh; rc=$$?; rm -rf "$$trash"; exit $$rc

bench-core: build
	bench/run.sh

bench-pg: deps build
	bench/pg.sh

sidebyside: build
	bench/sidebyside.sh

scale: build
	bench/scale.sh

# The end-to-end suites with every serve under valgrind memcheck (tests/valgrind/run.sh; about 5
# minutes; not part of `make test`).
valgrind: build
	tests/valgrind/run.sh

# The 10-minute soak at half the measured capacity (bench/soak.sh -> bench/soak/).
soak: build
	bench/soak.sh

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.c')

# Source rules (format, banned functions), then the docs against the code (builds what it runs).
check:
	scripts/check-src.sh
	BUILD=$(BUILD) scripts/check-docs.sh

# The .deb (CPack, packaging/deb.cmake) from a Release build for the prefix /usr; it lands in
# $(PKG_BUILD)/siteinvites_<version>_<arch>.deb. Install it with `apt install ./<file>`.
PKG_BUILD ?= build-pkg
package: deps-run
	cmake -S . -B $(PKG_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
		-DSI_WERROR=ON
	cmake --build $(PKG_BUILD) -j $(JOBS)
	cd $(PKG_BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(PKG_BUILD)
