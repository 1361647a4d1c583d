#include "server/pool_stats.h"

#include "google/protobuf/util/time_util.h"

namespace esgw {
namespace {

esgw::v1::NodeState ToProto(NodeState state) {
  switch (state) {
    case NodeState::kAlive:
      return esgw::v1::NODE_STATE_ALIVE;
    case NodeState::kDead:
      return esgw::v1::NODE_STATE_DEAD;
    case NodeState::kProbing:
      return esgw::v1::NODE_STATE_PROBING;
  }
  return esgw::v1::NODE_STATE_UNSPECIFIED;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

}  // namespace

void ToPoolStats(const PoolSnapshot& snapshot, const CurlTransport* transport,
                 esgw::v1::PoolStats* out) {
  out->Clear();
  for (const NodeStatsSnapshot& node : snapshot.nodes) {
    esgw::v1::NodeStats* stats = out->add_nodes();
    const std::string address = node.info.endpoint.HostPort();
    stats->set_node_id(node.info.node_id);
    stats->set_name(node.info.name);
    stats->set_address(address);
    for (const std::string& role : node.info.roles) stats->add_roles(role);
    stats->set_state(ToProto(node.state));
    stats->set_consecutive_failures(node.consecutive_failures);
    if (node.state != NodeState::kAlive && node.dead_until != absl::InfinitePast()) {
      // dead_until is monotonic; people read wall time.
      SetTimestamp(snapshot.wall_now + (node.dead_until - snapshot.now),
                   stats->mutable_dead_until());
    }
    stats->set_requests_total(node.requests_total);
    stats->set_failures_total(node.failures_total);
    stats->set_in_flight(node.in_flight);
    stats->set_latency_ewma_ms(node.latency_ewma_ms);
    stats->set_scheme(node.info.endpoint.scheme);
    stats->set_weight(node.weight);
    stats->set_seed(node.info.seed);
    esgw::v1::LatencyHistogram* latency = stats->mutable_latency();
    for (double bound : kLatencyBucketsSeconds) latency->add_upper_bounds_seconds(bound);
    for (uint64_t n : node.latency.counts) latency->add_counts(n);
    latency->set_count(node.latency.count);
    latency->set_sum_seconds(node.latency.sum_seconds);
    if (transport != nullptr) {
      const CurlTransport::ConnectionStats connections = transport->GetConnectionStats(address);
      stats->set_connections_opened_total(connections.opened);
      stats->set_connections_closed_total(connections.closed);
    }
  }
  out->set_sniffs_total(snapshot.sniffs_total);
  out->set_sniff_failures_total(snapshot.sniff_failures_total);
  if (snapshot.last_sniff_time.has_value()) {
    SetTimestamp(*snapshot.last_sniff_time, out->mutable_last_sniff_time());
  }
  out->set_retries_total(snapshot.retries_total);
  out->set_pool_mode(snapshot.pool_mode);
  out->set_selector(snapshot.selector);
  out->set_last_sniff_outcome(snapshot.last_sniff_outcome);
}

}  // namespace esgw
