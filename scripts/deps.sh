#!/usr/bin/env bash
# Installs the Debian packages esgw needs to build and test, when any is missing.
# Idempotent and silent when everything is already present. Usage: scripts/deps.sh [bench]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libcurl4-openssl-dev libsimdjson-dev libcpp-httplib-dev nlohmann-json3-dev
  libyaml-cpp-dev
  zlib1g-dev libssl-dev openssl
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-format-14 curl
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(nginx-light wrk nghttp2-client gnuplot-nox linux-perf valgrind)
fi
# Node.js runs the other-language client tests; Debian's nodejs and npm when none is installed.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

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
