#!/usr/bin/env bash
# make bench-cluster: a 3-node esgw-devcluster with sample data on free ports, esgw-server in front of
# it, and esgw-bench against that, once per workload in BENCH_WORKLOADS (default "search bulk
# ingest"):
#  - search: BENCH_REQUESTS (10,000) Searches at concurrency BENCH_CONCURRENCY (16);
#  - bulk:   BENCH_DOCS (100,000) documents of BENCH_DOC_BYTES (1024) in Bulk calls of 1,000 ops
#            from BENCH_WRITERS (2) callers;
#  - ingest: the same documents over BENCH_WRITERS Ingest streams.
# BENCH_DISCARD=1 makes the dev cluster answer _bulk items without storing them, so that the
# write figures are the gateway's rather than the stand-in's storage. With PROFILE=1 and perf
# installed, also records a CPU profile of the server during each run and prints its top symbols
# for the esgw-http (transport) threads.
set -euo pipefail
build_dir="${1:-build}"
bin="$build_dir/bin"
workloads="${BENCH_WORKLOADS:-search bulk ingest}"
requests="${BENCH_REQUESTS:-10000}"
concurrency="${BENCH_CONCURRENCY:-16}"
docs="${BENCH_DOCS:-100000}"
doc_bytes="${BENCH_DOC_BYTES:-1024}"
writers="${BENCH_WRITERS:-2}"
work="$(mktemp -d)"
source "$(dirname "$0")/lib.sh"

cluster_flags=(--nodes=3 --base_port=0 --sample_data --port_file="$work/cluster.json")
[[ "${BENCH_DISCARD:-0}" == "1" ]] && cluster_flags+=(--discard_writes)
"$bin/esgw-devcluster" "${cluster_flags[@]}" >"$work/devcluster.log" 2>&1 &
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
for workload in $workloads; do
  case "$workload" in
    search) args=(--requests="$requests" --concurrency="$concurrency") ;;
    bulk | ingest) args=(--docs="$docs" --doc_bytes="$doc_bytes" --concurrency="$writers") ;;
    *) echo "bench: unknown workload $workload (search, bulk or ingest)" >&2; exit 2 ;;
  esac
  echo "bench: --- $workload ---"
  bench=("$bin/esgw-bench" --addr="$addr" --workload="$workload" "${args[@]}" \
    --server_pid="$server_pid")
  if [[ "${PROFILE:-0}" == "1" ]] && command -v perf >/dev/null; then
    perf record -F 999 -g -o "$work/perf.data" -p "$server_pid" 2>/dev/null &
    perf_pid=$!
    "${bench[@]}"
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    echo "bench: top symbols on the transport threads (esgw-http), self time:"
    perf report -i "$work/perf.data" --comm esgw-http --no-children --sort dso,symbol -g none \
      --stdio 2>/dev/null | grep -E '^ +[0-9]' | sed -E 's/ +$//' | cut -c1-120 | head -25
  else
    "${bench[@]}"
  fi
done
