# reaperd: every target does its own set-up on a fresh Debian 12 machine.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What building and running need (`make run`, `make build`; the tests and benchmarks are built
# too, so GoogleTest and Google Benchmark are here).
DEPS := build-essential g++ cmake ninja-build pkg-config \
	libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev \
	libgtest-dev libgmock-dev libbenchmark-dev procps util-linux libsystemd-dev
# What only the tests use (`make test`): promtool (from Debian's prometheus package, which on a
# systemd host also starts a Prometheus server: so never for `make run`), man, systemd-analyze,
# setpriv/capsh, strace, python3, clang-format; a private dbus-daemon and GLib's Python
# bindings for the reaperd-bus tests (tests/integration/bus_live_test.cc); Xvfb and dunst, a
# real notification server, for the kill notice (tests/integration/notice_live_test.cc);
# podman and runc for the image's lab test (ctest -L podman: crun refuses a host with cgroup
# v1 and v2 controllers both in use).
TEST_DEPS := clang-format prometheus man-db groff-base systemd libcap2-bin strace python3 \
	dbus-daemon python3-gi gir1.2-glib-2.0 xvfb dunst podman runc

# What the manifest check (ctest -L deploy) uses, from the npm registry, into BUILD/deploy-node:
# the Kubernetes API's JSON schemas with their validator, and its types for a strict check.
DEPLOY_NODE_PKGS := kubernetes-models@5.1.0 kubernetes-types@1.30.0 typescript@5.9.3 yaml@2.9.1

.PHONY: deps test-deps deploy-deps install-pkgs build run test unit integration bench install format format-check lab lab-smoke clean \
	fuzz fuzz-deps sanitize tsan

deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS)"

test-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(TEST_DEPS)"

deploy-deps:
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory install-pkgs PKGS="nodejs npm"
	@[ -d $(BUILD)/deploy-node/node_modules/kubernetes-models ] || \
	  npm install --prefix $(BUILD)/deploy-node --no-audit --no-fund $(DEPLOY_NODE_PKGS)

install-pkgs:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "deps: all present"; fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Runs the daemon in the foreground with the embedded default config, protecting this machine.
# On a machine you care about, add ARGS=--dry-run.
ARGS ?=
run: build
	$(BUILD)/reaperd run $(ARGS)

test: test-deps deploy-deps build
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j 1

unit: test-deps build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: test-deps build
	cd $(BUILD) && ctest --output-on-failure -L integration

bench: build
	@for b in $(BUILD)/bench_*; do [ -x "$$b" ] && "$$b" --benchmark_min_time=0.2 || true; done

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check: test-deps
	clang-format --dry-run -Werror $$(git ls-files '*.cc' '*.h')

lab:
	$(MAKE) build
	bash lab/run.sh suite

lab-smoke:
	$(MAKE) build
	bash lab/run.sh smoke

clean:
	rm -rf $(BUILD)

# The sanitizer and fuzzing builds compile at -O1 with line tables only (-g1): half the compile
# time of RelWithDebInfo's -O2 -g (cli.cc under ASan+UBSan: 24 s against 46 s on the build
# machine), still fast enough to run the live tests, and stack traces keep their file:line.
SAN_OPT := -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"

# Hardening (issue 8). Fuzzing needs clang >= 16 (std::expected with libstdc++ 12) and its
# libFuzzer runtime; each target runs FUZZ_SECONDS and any crash fails the run.
FUZZ_SECONDS ?= 30
FUZZ_CXX ?= clang++-16
FUZZ_DEPS := clang-16 libclang-rt-16-dev
fuzz-deps:
	@dpkg-query -W -f='$${Status}\n' $(FUZZ_DEPS) 2>/dev/null | grep -c "install ok installed" | grep -qx 2 || \
	  ( $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(FUZZ_DEPS) )

fuzz: deps fuzz-deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
	  -DREAPERD_FUZZ=ON -DREAPERD_TESTS=OFF -DREAPERD_BENCH=OFF $(SAN_OPT)
	cmake --build build-fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh build-fuzz

# The whole test suite under ASan+UBSan (any UB report fails the test that caused it).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: deps test-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREAPERD_BENCH=OFF \
	  -DREAPERD_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fno-sanitize-recover=all \
	  $(SAN_OPT)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && $(SAN_ENV) ctest --output-on-failure --timeout 600 -j 1

# TSan over the reaper queue and its threads: the kill unit tests and the real kill tests.
tsan: deps
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREAPERD_BENCH=OFF \
	  -DREAPERD_SANITIZE=thread $(SAN_OPT)
	cmake --build build-tsan -j $(JOBS) --target unit_kill integration reaperd
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure --timeout 600 -j 1 -R '^(Killer|LastResort|SkipList|Job|Reaper|VictimBuilder|LogKillResult|KillLive)'

# The Debian package (issue 14): debian/ at the repo root, built with dpkg-buildpackage from a
# copy of the tree in $(DEB_OUT)/src (so the build leaves nothing in the checkout and the
# .deb does not land in the checkout's parent directory), then checked with lintian. The .deb
# is copied to $(BUILD)/; install it with `apt install ./$(BUILD)/reaperd_VERSION_amd64.deb`.
.PHONY: deb deb-deps lab-systemd
DEB_DEPS := debhelper dpkg-dev fakeroot lintian
DEB_OUT ?= build-deb
DEB_VERSION = $(shell sed -n 's/^project.reaperd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

deb-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS) $(DEB_DEPS)"

deb: deb-deps
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(DEB_VERSION)" ] || \
	  { echo "deb: debian/changelog says $$v but CMakeLists.txt says $(DEB_VERSION): add a changelog entry (dch -v $(DEB_VERSION))" >&2; exit 1; }
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard | \
	    tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C $(DEB_OUT)/src; \
	else \
	  tar --exclude='./build*' --exclude=./lab/cache --exclude=./lab/work -cf - . | tar -xf - -C $(DEB_OUT)/src; \
	fi
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b
	@deb=$(DEB_OUT)/reaperd_$(DEB_VERSION)_amd64.deb; \
	  [ -f $$deb ] || { echo "deb: $$deb was not built" >&2; exit 1; }; \
	  mkdir -p $(BUILD) && cp $$deb $(BUILD)/; \
	  REAPERD_DEB=$$deb bash tests/install/deb.sh $(BUILD) . none || exit 1; \
	  echo "=== lintian"; lintian --info $(DEB_OUT)/reaperd_$(DEB_VERSION)_amd64.changes; \
	  rc=$$?; [ $$rc -eq 0 ] || { echo "deb: lintian reported errors (exit $$rc)" >&2; exit 1; }; \
	  echo "deb: built $(BUILD)/reaperd_$(DEB_VERSION)_amd64.deb"

# reaperd as its packaged unit under a real systemd (lab/run.sh systemd): boots the lab guest
# with systemd as PID 1, installs the .deb with apt and prints PASS/FAIL per check. Not in CI.
lab-systemd: deb
	REAPERD_DEB=$(BUILD)/reaperd_$(DEB_VERSION)_amd64.deb bash lab/run.sh systemd
