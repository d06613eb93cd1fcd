# vireo: the user's door. `make` builds, `make check` runs every test suite,
# `make demo` boots a guest, `make bench` prints ratios against the peers.
# Everything is built by Meson into build/ (plain) and build-asan/ (ASan+UBSan).

MESON ?= meson
NINJA ?= ninja
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build asan check unit demo bench fuzz lab clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) >/dev/null

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(ASAN_BUILD)

lab: build
	tests/lab/lab build

# Unit tests under sanitizers, payloads, storage interop, and the e2e suite
# (in the lab where the host has no usable hardware KVM); one closing line.
check: build asan
	tests/run-all

unit: asan
	tests/run-all unit

demo: build
	scripts/demo.sh

bench: build
	bench/run

fuzz:
	scripts/fuzz.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
