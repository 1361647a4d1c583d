# esgw: the two commands are `make run` and `make test`. Everything else is a step of those.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
ESGW_WERROR ?= OFF
ESGW_SANITIZE ?=
# OFF builds only the programs (the container image does this).
ESGW_BUILD_TESTS ?= ON
JOBS ?= $(shell nproc)
# npm packages of the Node.js tests: the gRPC client e2e test, the deploy/ checks and the Node.js
# client example.
NODE_DIRS := tests/e2e/node tests/deploy client/examples/node

# The sanitizer build of `make test`: clang, AddressSanitizer and UndefinedBehaviorSanitizer, the
# fuzz targets as libFuzzer binaries, each fuzzed for FUZZ_TEST_SECONDS (FUZZ_SECONDS, if set in
# the environment, wins). `make fuzz` fuzzes each for FUZZ_SECONDS.
SANITIZE_BUILD_DIR ?= build-sanitize
FUZZ_TEST_SECONDS ?= 20
FUZZ_SECONDS ?= 600
# The container image's root filesystem test checks how deploy/ packs a release build; a
# sanitizer build of it shows nothing more.
SANITIZE_EXCLUDE ?= ^image_rootfs_test$$
# Leaks and undefined behaviour fail the test; reports name files and lines. Freed memory is
# held back from reuse (to catch use after free) up to 32 MiB rather than ASan's 256: e2e tests
# bound esgw-server's peak memory, which the larger quarantine would swell.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:quarantine_size_mb=32 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_SYMBOLIZER_PATH="$$(command -v llvm-symbolizer-14)"

# ThreadSanitizer build of `make test`: where threads meet, i.e. the pool's unit tests and the
# curl transport's tests (absl::Mutex is annotated for it, see tests/support/).
TSAN_BUILD_DIR ?= build-tsan
TSAN_TESTS := failure_class_test dispatcher_test transport_test timer_queue_test utf8_test \
  log_test esgw_es_error_test backoff_test node_pool_test selector_test retry_planner_test \
  sniff_parser_test sniffer_test prober_test curl_transport_test curl_tls_test

.PHONY: all deps node-deps configure build run test test-unit test-integration test-e2e bench bench-cluster format clean
.PHONY: sanitize-build test-sanitize fuzz test-tsan soak

all: build

# DEPS=build installs only what building the programs needs (the container image does this).
DEPS ?= test
deps:
	@scripts/deps.sh $(DEPS)

node-deps: deps
	@for dir in $(NODE_DIRS); do \
	  if [ ! -d $$dir/node_modules ] || [ $$dir/package-lock.json -nt $$dir/node_modules ]; then \
	    echo "deps: npm ci in $$dir"; \
	    (cd $$dir && npm ci --no-audit --no-fund --loglevel=error) && touch $$dir/node_modules || exit 1; \
	  fi; \
	done

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DESGW_WERROR=$(ESGW_WERROR) -DESGW_SANITIZE="$(ESGW_SANITIZE)" \
	  -DESGW_BUILD_TESTS=$(ESGW_BUILD_TESTS)

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DESGW_WERROR=$(ESGW_WERROR) -DESGW_SANITIZE="$(ESGW_SANITIZE)" \
	  -DESGW_BUILD_TESTS=$(ESGW_BUILD_TESTS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts a 3-node esgw-devcluster with sample data (unless ES_NODES names a real cluster) and
# esgw-server in front of it; Ctrl-C stops both.
run: build
	@scripts/run.sh $(BUILD_DIR)

# Every test layer: unit, integration, e2e (C++ and Node.js); then all of them again, and the
# fuzz targets, in the sanitizer build; then the threaded parts under ThreadSanitizer.
test: build node-deps
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) test-sanitize test-tsan

sanitize-build: deps
	cmake -S . -B $(SANITIZE_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DESGW_WERROR=$(ESGW_WERROR) -DESGW_SANITIZE=address,undefined -DESGW_FUZZ=ON \
	  -DESGW_FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)
	cmake --build $(SANITIZE_BUILD_DIR) -j $(JOBS)

# Unit, integration and e2e tests (but SANITIZE_EXCLUDE and the soak, whose memory figures mean
# nothing under ASan) under the sanitizers, then the fuzz tests (apart, so that fuzzing does not
# slow down tests that wait for timeouts).
test-sanitize: sanitize-build node-deps
	$(SANITIZER_ENV) ctest --test-dir $(SANITIZE_BUILD_DIR) --output-on-failure -j $(JOBS) \
	  --timeout 600 -LE 'fuzz|soak' -E '$(SANITIZE_EXCLUDE)'
	$(SANITIZER_ENV) ctest --test-dir $(SANITIZE_BUILD_DIR) --output-on-failure -j $(JOBS) \
	  --timeout 600 -L fuzz

# The pool's unit tests and the curl transport's tests (TSAN_TESTS) under ThreadSanitizer.
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DESGW_WERROR=$(ESGW_WERROR) -DESGW_SANITIZE=thread
	cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(TSAN_TESTS) esgw-devcluster
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir $(TSAN_BUILD_DIR) \
	  --output-on-failure -j $(JOBS) --timeout 600 -R "^($$(echo $(TSAN_TESTS) | tr ' ' '|'))$$"

# Each fuzz target for FUZZ_SECONDS (600 unless set), in the sanitizer build; see tests/README.md.
fuzz: sanitize-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(SANITIZER_ENV) ctest --test-dir $(SANITIZE_BUILD_DIR) \
	  --output-on-failure -j $(JOBS) -L fuzz --timeout $$(( $(FUZZ_SECONDS) + 300 ))

# The soak test for SOAK_SECONDS (1800 unless set): steady load with nodes flapping, esgw-server's
# RSS, open fds and sockets sampled and required to stay flat (make test runs it for 60 s).
SOAK_SECONDS ?= 1800
soak: build
	ESGW_SOAK_SECONDS=$(SOAK_SECONDS) ESGW_BIN_DIR=$(BUILD_DIR)/bin $(BUILD_DIR)/bin/soak_e2e_test

test-unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

test-integration: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L integration

test-e2e: build node-deps
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L e2e

# esgw against its peers on one fixed-response backend (nginx): wrk direct, wrk through an nginx
# proxy, esgw-bench and h2load through esgw, latency at a fixed rate, Ingest against direct
# _bulk. Writes bench/results/latest.{md,json,png}; settings in bench/run.mjs.
bench: build
	@scripts/deps.sh bench
	@node bench/run.mjs $(BUILD_DIR)

# Search, Bulk and Ingest through esgw-server in front of a 3-node dev cluster (the real write
# path, retries and pool figures; PROFILE=1 adds a perf profile).
bench-cluster: build
	@scripts/deps.sh bench
	@scripts/bench.sh $(BUILD_DIR)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format-14 -i

clean:
	rm -rf $(BUILD_DIR) $(SANITIZE_BUILD_DIR) $(TSAN_BUILD_DIR)
