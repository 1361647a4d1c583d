#!/usr/bin/env bash
# Installs the Debian packages esgw needs, when any is missing. Idempotent and silent when
# everything is already present. Usage: scripts/deps.sh [build|test|bench]
#   build  what building the programs needs (the container image's build stage)
#   test   build, plus the test suites' needs (the default; `make test`)
#   bench  test, plus the benchmark tools (`make bench`)
set -euo pipefail

mode="${1:-test}"
case "$mode" in
  build | test | bench) ;;
  *)
    echo "deps: unknown set '$mode' (build, test or bench)" >&2
    exit 2
    ;;
esac

packages=(
  build-essential cmake ninja-build pkg-config git make
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libsimdjson-dev libcpp-httplib-dev nlohmann-json3-dev
  libyaml-cpp-dev
  zlib1g-dev libssl-dev openssl
  # tcmalloc, the servers' allocator (ESGW_MALLOC in CMakeLists.txt).
  libgoogle-perftools-dev
  # libcurl only recommends it, and apt is run without recommendations: the CA bundle that
  # https Elasticsearch nodes are verified against.
  ca-certificates
)
if [[ "$mode" != build ]]; then
  packages+=(libgtest-dev libgmock-dev googletest libbenchmark-dev clang-format-14 curl tmux)
  # The sanitizer build of `make test`: clang, its sanitizer and libFuzzer runtimes, and the
  # symbolizer that puts file names and lines into their reports.
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
  # Node.js runs the other-language client tests; Debian's nodejs and npm when none is installed.
  if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
fi
if [[ "$mode" == bench ]]; then
  packages+=(nginx-light wrk nghttp2-client gnuplot-nox linux-perf valgrind)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
