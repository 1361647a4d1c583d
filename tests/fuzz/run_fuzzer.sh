#!/usr/bin/env bash
# Runs one libFuzzer binary for a bounded time on a temporary copy of its seed corpus, so that
# what it finds never lands in the source tree. Exits non-zero on any crash, failed invariant,
# leak, timeout or out-of-memory, and leaves the input that caused it under ARTIFACT_DIR.
# Usage: run_fuzzer.sh FUZZER SEED_CORPUS_DIR ARTIFACT_DIR [DICTIONARY]
# Seconds: env FUZZ_SECONDS, else ESGW_FUZZ_SECONDS (ctest sets it from the CMake cache), else 20.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 FUZZER SEED_CORPUS_DIR ARTIFACT_DIR [DICTIONARY]" >&2
  exit 2
fi
fuzzer=$1
seeds=$2
artifacts=$3
dictionary=${4:-}
seconds=${FUZZ_SECONDS:-${ESGW_FUZZ_SECONDS:-20}}

if [[ ! -d "$seeds" ]] || [[ -z "$(ls -A "$seeds")" ]]; then
  echo "run_fuzzer: no seed corpus in $seeds" >&2
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/esgw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$seeds"/. "$work"/
mkdir -p "$artifacts"

args=(
  -max_total_time="$seconds"
  # One input taking this long under the sanitizers is a hang.
  -timeout=10
  -rss_limit_mb=2048
  -print_final_stats=1
  -artifact_prefix="$artifacts/"
)
if [[ -n "$dictionary" ]]; then args+=(-dict="$dictionary"); fi

echo "run_fuzzer: $(basename "$fuzzer") for ${seconds}s on a copy of $seeds"
status=0
"$fuzzer" "${args[@]}" "$work" || status=$?
if ((status != 0)); then
  echo "run_fuzzer: $(basename "$fuzzer") failed (exit $status); the input is in $artifacts/." >&2
  echo "run_fuzzer: once fixed, add it to $seeds/ so that the replay test keeps it fixed." >&2
fi
exit "$status"
