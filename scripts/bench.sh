#!/usr/bin/env bash
# make bench: a 3-node esgw-devcluster with sample data on free ports, esgw-server in front of
# it, and esgw-bench against that: 10,000 Searches at concurrency 16 by default (BENCH_REQUESTS,
# BENCH_CONCURRENCY). With PROFILE=1 and perf installed, also records a CPU profile of the server
# during the run and prints its top symbols for the esgw-http (transport) threads.
set -euo pipefail
build_dir="${1:-build}"
bin="$build_dir/bin"
requests="${BENCH_REQUESTS:-10000}"
concurrency="${BENCH_CONCURRENCY:-16}"
work="$(mktemp -d)"
source "$(dirname "$0")/lib.sh"

"$bin/esgw-devcluster" --nodes=3 --base_port=0 --sample_data --port_file="$work/cluster.json" \
  >"$work/devcluster.log" 2>&1 &
pids+=($!)
wait_for_file "$work/cluster.json" "esgw-devcluster"
es_nodes=$(es_nodes_of "$work/cluster.json")

"$bin/esgw-server" --listen=127.0.0.1:0 --es_nodes="$es_nodes" --port_file="$work/server.port" \
  --log_level=warning >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_for_file "$work/server.port" "esgw-server"
addr="127.0.0.1:$(cat "$work/server.port")"

echo "bench: esgw-server $addr in front of $es_nodes ($(nproc) cores)"
if [[ "${PROFILE:-0}" == "1" ]] && command -v perf >/dev/null; then
  perf record -F 999 -g -o "$work/perf.data" -p "$server_pid" 2>/dev/null &
  perf_pid=$!
  "$bin/esgw-bench" --addr="$addr" --requests="$requests" --concurrency="$concurrency" \
    --server_pid="$server_pid"
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  echo "bench: top symbols on the transport threads (esgw-http), self time:"
  perf report -i "$work/perf.data" --comm esgw-http --no-children --sort dso,symbol -g none \
    --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/ +$//' | cut -c1-120 | head -25
else
  "$bin/esgw-bench" --addr="$addr" --requests="$requests" --concurrency="$concurrency" \
    --server_pid="$server_pid"
fi
