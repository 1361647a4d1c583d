#!/usr/bin/env bash
# make run: starts esgw-devcluster (3 nodes with sample data) unless ES_NODES names a real
# cluster, then esgw-server in front of it; prints how to call it; Ctrl-C stops both.
set -euo pipefail
build_dir="${1:-build}"
bin="$build_dir/bin"
listen="${ESGW_LISTEN:-127.0.0.1:50051}"
work="$(mktemp -d)"
pids=()

cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup INT TERM EXIT

wait_for_file() {
  local file="$1" what="$2"
  for _ in $(seq 1 200); do
    [[ -s "$file" ]] && return 0
    sleep 0.05
  done
  echo "run: $what did not start; see its output above" >&2
  exit 1
}

if [[ -z "${ES_NODES:-}" ]]; then
  base_port="${ESGW_DEVCLUSTER_PORT:-9200}"
  "$bin/esgw-devcluster" --nodes=3 --base_port="$base_port" --sample_data \
    --port_file="$work/cluster.json" &
  pids+=($!)
  wait_for_file "$work/cluster.json" "esgw-devcluster"
  ES_NODES=$(sed -e 's/.*"nodes":\[\([^]]*\)\].*/\1/' -e 's/"//g' -e 's/\([^,]*\)/http:\/\/\1/g' \
    "$work/cluster.json")
  echo "run: esgw-devcluster serves $ES_NODES (a stand-in for Elasticsearch, not a search engine)"
fi

"$bin/esgw-server" --listen="$listen" --es_nodes="$ES_NODES" --port_file="$work/server.port" &
pids+=($!)
wait_for_file "$work/server.port" "esgw-server"
port=$(cat "$work/server.port")
host="${listen%:*}"
[[ "$host" == "0.0.0.0" ]] && host=127.0.0.1

cat <<MSG

esgw is serving gRPC on $host:$port, in front of $ES_NODES.
Try it with grpcurl (https://github.com/fullstorydev/grpcurl):

  grpcurl -plaintext $host:$port list
  grpcurl -plaintext $host:$port grpc.health.v1.Health/Check
  grpcurl -plaintext $host:$port esgw.v1.Admin/GetPoolStats
  grpcurl -plaintext -d '{"indices":["products"],"body_json":"{\"query\":{\"match\":{\"name\":\"lamp\"}},\"size\":3}"}' \\
    $host:$port esgw.v1.Gateway/Search
  grpcurl -plaintext $host:$port describe esgw.v1.SearchRequest

Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
