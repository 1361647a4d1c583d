// What the pool knows about one Elasticsearch node: its identity (NodeInfo), its health state
// machine and its counters (Node), and the plain snapshots the admin API shows.
// Thread-safety: Node is not thread-safe; NodePool owns every Node and touches it only under its
// own mutex. NodeInfo and the snapshots are values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pool/failure_class.h"
#include "pool/histogram.h"
#include "pool/transport.h"

namespace esgw {

enum class NodeState { kAlive, kDead, kProbing };
// "alive", "dead" or "probing".
absl::string_view NodeStateName(NodeState state);

// What we know of a node from the seed list or from sniffing.
struct NodeInfo {
  // Elasticsearch's node id; empty for a seed that no sniff has described yet.
  std::string node_id = "";
  std::string name = "";
  Endpoint endpoint = {};
  // Roles as Elasticsearch reports them (data_hot, ingest, master, ...).
  std::vector<std::string> roles = {};
  // True for nodes from the configured seed list.
  bool seed = false;
};

// One node as NodeStats in proto/esgw/v1/admin.proto shows it, in plain C++.
struct NodeStatsSnapshot {
  NodeInfo info = {};
  NodeState state = NodeState::kAlive;
  // Blamed failures (hard, soft, failed probes) since the last success.
  int consecutive_failures = 0;
  // Monotonic (Clock::Now()) time when a dead node is next probed or revived; InfinitePast()
  // for live nodes. PoolSnapshot::now/wall_now convert it to wall time.
  absl::Time dead_until = absl::InfinitePast();
  // Attempts recorded on this node, whatever their outcome.
  int64_t requests_total = 0;
  // Attempts that blamed the node (hard and soft).
  int64_t failures_total = 0;
  int64_t in_flight = 0;
  // 0 until the first latency sample.
  double latency_ewma_ms = 0;
  // Slow-start weight in [0.1, 1]; 1 once a revived or new node has ramped up; 0 while not
  // alive.
  double weight = 1;
  // Every recorded outcome other than success, by class.
  std::map<FailureClass, int64_t> failures_by_class = {};
  // True when a sniff no longer lists the node: it takes no new requests and leaves the pool
  // once its last request ends.
  bool draining = false;
  // Background probes (resurrection) sent and failed.
  int64_t probes_total = 0;
  int64_t probe_failures_total = 0;
  // Attempts on this node that failed and were retried (on it or on another node).
  int64_t retries_total = 0;
  // Latency of every attempt that reached an outcome on this node (answers, timeouts, refused
  // connects), excluding cancelled attempts and stale-connection resets.
  LatencyHistogram::Snapshot latency = {};
};

struct PoolSnapshot {
  std::vector<NodeStatsSnapshot> nodes = {};
  int64_t sniffs_total = 0;
  int64_t sniff_failures_total = 0;
  int64_t retries_total = 0;
  // Wall time of the last sniff; nullopt before the first.
  std::optional<absl::Time> last_sniff_time = std::nullopt;
  std::string last_sniff_outcome = "";
  // "static_no_ping", "static", "sniffing" or "simple"; "least_loaded", "round_robin", ...
  std::string pool_mode = "";
  std::string selector = "";
  // The clock's monotonic and wall readings when the snapshot was taken: a monotonic time t
  // shows as wall_now + (t - now).
  absl::Time now = absl::InfinitePast();
  absl::Time wall_now = absl::InfinitePast();
};

// The mutable state of one node in the pool. Owned by NodePool; every method is called under
// the pool's mutex. The state machine itself (when to eject, when to revive) lives in NodePool;
// Node only keeps the numbers consistent.
class Node {
 public:
  Node(NodeInfo info, uint64_t serial);

  // Identity, fixed for the node's life in the pool.
  const std::string& host_port() const { return host_port_; }
  // Order of admission into the pool; never reused.
  uint64_t serial() const { return serial_; }

  // Replaced (never modified in place) so that leases holding the old one stay valid.
  const std::shared_ptr<const NodeInfo>& info() const { return info_; }
  void set_info(NodeInfo info);

  NodeState state = NodeState::kAlive;
  int consecutive_failures = 0;
  // Dead periods in a row without a successful request in between: the backoff exponent.
  int ejections = 0;
  absl::Time dead_until = absl::InfinitePast();
  // When the node last became alive, for slow-start; InfinitePast() means full weight.
  absl::Time alive_since = absl::InfinitePast();
  // A background probe is out for this node; no second one until it reports.
  bool probe_in_flight = false;
  bool draining = false;

  int64_t requests_total = 0;
  int64_t failures_total = 0;
  int64_t in_flight = 0;
  int64_t probes_total = 0;
  int64_t probe_failures_total = 0;
  int64_t retries_total = 0;
  std::map<FailureClass, int64_t> failures_by_class;
  LatencyHistogram latency_histogram;

  // Latency EWMA in milliseconds; meaningful only when has_latency.
  double latency_ewma_ms = 0;
  bool has_latency = false;
  absl::Time last_latency_sample = absl::InfinitePast();
  // Folds a sample into the EWMA; a sample after more than stale_after without one restarts the
  // average, since an old average says nothing about the node now.
  void AddLatencySample(absl::Duration latency, double alpha, absl::Time now,
                        absl::Duration stale_after);

  // Slow-start weight at now: ramps linearly from kMinWeight to 1 over slow_start after
  // alive_since.
  double Weight(absl::Time now, absl::Duration slow_start) const;
  static constexpr double kMinWeight = 0.1;

  NodeStatsSnapshot Snapshot(absl::Time now, absl::Duration slow_start) const;

 private:
  std::shared_ptr<const NodeInfo> info_;
  const std::string host_port_;
  const uint64_t serial_;
};

}  // namespace esgw
