# Shared by scripts/run.sh and scripts/bench.sh (sourced): child processes that stop with the
# script, and the dev cluster's port file. Needs `work` (a temporary directory) to be set.
pids=()

stop_children() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_children INT TERM EXIT

# wait_for_file FILE WHAT: waits up to 10 s for FILE to be non-empty; exits naming WHAT if not.
wait_for_file() {
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): $2 did not start" >&2
  exit 1
}

# The data nodes of the dev cluster's port file as esgw-server's --es_nodes.
es_nodes_of() {
  sed -e 's/.*"nodes":\[\([^]]*\)\].*/\1/' -e 's/"//g' -e 's/\([^,]*\)/http:\/\/\1/g' "$1"
}
