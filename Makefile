# The README's two commands. Each does its own set-up (scripts/setup: apt packages, s3rver).
#   make run   — set-up, Release build, then the main job: `esper bench all` (the validation report)
#   make test  — set-up, Release build, then the whole ctest suite (unit, integration, stress, install)
# Others: make build | asan | tsan | clang | fuzz | clean.  Variables: JOBS, RUN_ARGS (e.g. RUN_ARGS=--quick).

JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
RUN_ARGS ?=
SETUP    := scripts/setup

.PHONY: all setup build run test asan tsan clang sanitizers fuzz clean

all: build

setup:
	@$(SETUP)

build: setup
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

run: build
	build/release/bin/esper bench all --json build/release/bench.json --html build/release/bench.html $(RUN_ARGS)

test: build
	ctest --preset release -j $(JOBS)

# clang: the clang 14 -Werror build of everything, and its unit + integration tests.
asan tsan clang: setup
	cmake --preset $@
	cmake --build --preset $@ -j $(JOBS)
	ctest --preset $@ -j $(JOBS)

sanitizers: asan tsan

FUZZ_SECONDS ?= 20
fuzz: setup
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS) --target esper_fuzz_targets
	@set -e; for f in build/fuzz/bin/*_fuzz; do \
	  [ -x "$$f" ] || continue; \
	  echo "fuzz: $$f ($(FUZZ_SECONDS) s)"; \
	  mkdir -p build/fuzz/corpus/$$(basename $$f); \
	  "$$f" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 build/fuzz/corpus/$$(basename $$f) 2>&1 | tail -3; \
	done

clean:
	rm -rf build/release build/debug build/asan build/tsan build/clang build/fuzz
