#include "pool/node.h"

#include <algorithm>
#include <utility>

namespace esgw {

absl::string_view NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kAlive:
      return "alive";
    case NodeState::kDead:
      return "dead";
    case NodeState::kProbing:
      return "probing";
  }
  return "unknown";
}

Node::Node(NodeInfo info, uint64_t serial)
    : info_(std::make_shared<const NodeInfo>(std::move(info))),
      host_port_(info_->endpoint.HostPort()),
      serial_(serial) {}

void Node::set_info(NodeInfo info) { info_ = std::make_shared<const NodeInfo>(std::move(info)); }

void Node::AddLatencySample(absl::Duration latency, double alpha, absl::Time now,
                            absl::Duration stale_after) {
  const double ms = absl::ToDoubleMilliseconds(std::max(latency, absl::ZeroDuration()));
  // The first sample seeds the average; starting from 0 would make a new node look fast.
  const bool fresh = has_latency && now - last_latency_sample <= stale_after;
  latency_ewma_ms = fresh ? alpha * ms + (1 - alpha) * latency_ewma_ms : ms;
  has_latency = true;
  last_latency_sample = now;
}

double Node::Weight(absl::Time now, absl::Duration slow_start) const {
  if (slow_start <= absl::ZeroDuration() || alive_since == absl::InfinitePast()) return 1;
  const double ramp = absl::FDivDuration(now - alive_since, slow_start);
  if (ramp >= 1) return 1;
  return kMinWeight + (1 - kMinWeight) * std::max(ramp, 0.0);
}

NodeStatsSnapshot Node::Snapshot(absl::Time now, absl::Duration slow_start) const {
  NodeStatsSnapshot s;
  s.info = *info_;
  s.state = state;
  s.consecutive_failures = consecutive_failures;
  s.dead_until = state == NodeState::kAlive ? absl::InfinitePast() : dead_until;
  s.requests_total = requests_total;
  s.failures_total = failures_total;
  s.in_flight = in_flight;
  s.latency_ewma_ms = has_latency ? latency_ewma_ms : 0;
  s.weight = state == NodeState::kAlive ? Weight(now, slow_start) : 0;
  s.failures_by_class = failures_by_class;
  s.draining = draining;
  s.probes_total = probes_total;
  s.probe_failures_total = probe_failures_total;
  s.retries_total = retries_total;
  s.latency = latency_histogram.Read();
  return s;
}

}  // namespace esgw
