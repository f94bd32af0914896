# MCX Core — the two set-up commands are `make demo` and `make test` (see README.md).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test unit demo bench fuzz fuzz-long format clean

all: build

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Unit, integration and interop tests (real mcxd processes on 127.0.0.1), then a bounded fuzz run.
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2 --timeout 300
	scripts/fuzz-smoke

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -L unit

demo: build
	$(BUILD)/apps/mcx/mcx demo

# Benchmarks: figures on stdout, in bench-out/report.json, and (by hand) in docs/BENCHMARKS.md.
bench: build
	mkdir -p bench-out
	$(BUILD)/bench/mcx_bench_floor --bursts 1000 --load-calls 400 --out bench-out
	$(BUILD)/bench/mcx_bench_migration --migrations 200 --calls 200 --load-calls 400 --out bench-out
	python3 bench/capacity/run.py --build $(BUILD) --out bench-out --max-probes 4 --media-reps 2

fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} scripts/fuzz-smoke

# Every fuzz target for 10 million inputs (FUZZ_RUNS), figures in docs/BENCHMARKS.md.
fuzz-long:
	scripts/fuzz-long

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-fuzz
