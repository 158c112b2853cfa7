# reaperd: every target does its own set-up on a fresh Debian 12 machine.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

DEPS := build-essential g++ cmake ninja-build pkg-config clang-format \
	libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev libsystemd-dev \
	libgtest-dev libgmock-dev libbenchmark-dev procps util-linux

.PHONY: deps build run test unit integration bench install format format-check lab lab-smoke clean

deps:
	@missing=""; for p in $(DEPS); do \
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

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j 1

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

bench: build
	@for b in $(BUILD)/bench_*; do [ -x "$$b" ] && "$$b" --benchmark_min_time=0.2 || true; done

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.cc' '*.h')

lab:
	$(MAKE) build
	bash lab/run.sh suite

lab-smoke:
	$(MAKE) build
	bash lab/run.sh smoke

clean:
	rm -rf $(BUILD)
