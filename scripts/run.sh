#!/usr/bin/env bash
# make run: starts esgw-devcluster (3 nodes with sample data) unless ES_NODES names a real
# cluster, then esgw-server in front of it; prints how to call it; Ctrl-C stops both.
set -euo pipefail
build_dir="${1:-build}"
bin="$build_dir/bin"
listen="${ESGW_LISTEN:-127.0.0.1:50051}"
work="$(mktemp -d)"
source "$(dirname "$0")/lib.sh"

if [[ -z "${ES_NODES:-}" ]]; then
  base_port="${ESGW_DEVCLUSTER_PORT:-9200}"
  "$bin/esgw-devcluster" --nodes=3 --base_port="$base_port" --sample_data \
    --port_file="$work/cluster.json" &
  pids+=($!)
  wait_for_file "$work/cluster.json" "esgw-devcluster"
  ES_NODES=$(es_nodes_of "$work/cluster.json")
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
