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

.PHONY: all deps node-deps configure build run test test-unit test-integration test-e2e bench format clean

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

# Every test layer: unit, integration, e2e (C++ and Node.js).
test: build node-deps
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 600

test-unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L unit

test-integration: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L integration

test-e2e: build node-deps
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS) -L e2e

# Search load through esgw-server in front of a 3-node dev cluster: throughput, latency,
# connections opened, server CPU per Search by thread (PROFILE=1 adds a perf profile).
bench: build
	@scripts/deps.sh bench
	@scripts/bench.sh $(BUILD_DIR)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format-14 -i

clean:
	rm -rf $(BUILD_DIR)
