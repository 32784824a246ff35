# dspsync — the README's Quick start is `make demo` and `make test`.
# Both install the Debian packages that are missing (as root; otherwise they print the apt-get line),
# configure, build, and run.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

PACKAGES = g++ cmake make libgtest-dev libbenchmark-dev libssl-dev zlib1g-dev \
           libcaf-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev liblmdb-dev lmdb-utils

.PHONY: all deps configure build demo test asan-test fuzz format format-check crash-test bench clean

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "dspsync needs these Debian packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target dspsync
	$(BUILD)/dspsync demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included).
# The deterministic simulation runs 250 of its 1,000 seeds here (all 1,000 run in `make test`) and
# the benchmark-sized tests (console latency under load, the CSV and settlement crash campaigns) a
# quarter of their size: the sanitizers make them 5-10 times slower, and CI must stay well under
# 30 minutes on 2 cores.
ASAN_SIM_SEEDS ?= 250
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDSPSYNC_SANITIZE=ON -DDSPSYNC_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  DSPSYNC_SIM_SEEDS=$(ASAN_SIM_SEEDS) DSPSYNC_TEST_SCALE=25 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900

# libFuzzer targets (tests/fuzz/, docs/operations.md "Fuzzing"): builds them with clang in
# $(FUZZ_BUILD) and runs each for FUZZ_SECONDS (two at a time); FUZZ_TARGETS="csv dsr" picks some.
# FUZZ_RUNS=N runs exactly N inputs per target from a fixed seed instead (what CI does: the same
# inputs every time, so CI never turns red on a new random find; the timed runs are for finding).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?=
FUZZ_PACKAGES = clang-14 libclang-rt-14-dev libfuzzer-14-dev
fuzz: deps
	@missing=""; for p in $(FUZZ_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "fuzzing needs: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	CXX=clang++-14 CC=clang-14 cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSPSYNC_FUZZ=ON -DDSPSYNC_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The kill-and-restart campaigns (docs/operations.md, "Crash campaign"): API ingestion, CSV
# ingestion and reconcile/settle/statements, each SIGKILLed 50 times (as in `make test`) and
# restarted on the same data directory; KILLS=N for another count, SEED=S to vary the kill moments.
# -V shows each campaign's "[ name ] survived N SIGKILLs" line.
crash-test: build
	cd $(BUILD) && DSPSYNC_CRASH_KILLS=$(or $(KILLS),50) $(if $(SEED),DSPSYNC_CRASH_SEED=$(SEED)) \
	  ctest -V --timeout 3600 -R sigkill

# Benchmarks (docs/performance.md): the end-to-end run against the Python recipe, the same
# recording on a 100k and a 5M ledger (alternated rounds on copies made up front, ~7 GB under /tmp
# for the default three rounds: the flat target), the micro
# benchmarks, the scale run (10,000 idle endpoints; 50 budgeted endpoints against an enforcing
# server; start-up on a 5M-record ledger), then the ledger alone as it grows to 5M records.
# RECORDS=N changes the end-to-end size (default 1,000,000).
bench: build
	@dpkg-query -W python3-httpx python3-pydantic >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq python3-httpx python3-pydantic >/dev/null; \
	  else echo "the Python baseline needs: sudo apt-get install -y python3-httpx python3-pydantic"; exit 1; fi; }
	$(BUILD)/bench/bench_e2e --records $(or $(RECORDS),1000000)
	$(BUILD)/bench/bench_e2e --flat
	$(BUILD)/bench/bench_micro
	$(BUILD)/bench/bench_scale
	$(BUILD)/bench/bench_ledger_growth

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
