# xvio top-level Makefile: the README's commands go through here.
#   make        install missing Debian packages, then build into build/
#   make test   build, set up hugepages, run every test tier (tests/run.sh)
#   make demo   build, set up hugepages, run the demo (demo/demo.sh)
#   make bench  build, set up hugepages, run the benchmark (bench/bench.sh)
BUILD ?= build
BUILD_ASAN ?= build-asan
SHELL := /bin/bash

# Debian packages the build, the tests, the demo and the benchmark need.
DEB_BUILD := libdpdk-dev dpdk dpdk-dev meson ninja-build pkg-config gcc \
	libjansson-dev
# Tests and the demo: guests, namespaces, packet tools.
DEB_RUN := iproute2 jq python3 python3-scapy tcpdump procps ethtool \
	qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio kmod
# The benchmark also runs OVS-DPDK and draws a chart.
DEB_BENCH := openvswitch-switch-dpdk gnuplot-nox

.PHONY: all build deps deps-run deps-bench hugepages test demo bench asan clean

all: build

deps:
	@scripts/ensure-deps.sh $(DEB_BUILD)

deps-run: deps
	@scripts/ensure-deps.sh $(DEB_RUN)

deps-bench: deps-run
	@scripts/ensure-deps.sh $(DEB_BENCH)

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) --buildtype=release

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# An AddressSanitizer build of the same sources; the system tier runs the
# daemon from it too.
asan: deps
	[ -f $(BUILD_ASAN)/build.ninja ] || meson setup $(BUILD_ASAN) --buildtype=debug -Db_sanitize=address -Db_lundef=false
	ninja -C $(BUILD_ASAN)

hugepages:
	@scripts/ensure-hugepages.sh

test: build asan deps-run hugepages
	@tests/run.sh

demo: build deps-run hugepages
	@demo/demo.sh

bench: build deps-bench hugepages
	@bench/bench.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
