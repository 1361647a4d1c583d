#include "pool/node_pool.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "pool/error_info.h"

namespace esgw {
namespace {

bool IsListed(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

absl::Status NoNodeAvailable(std::string message) {
  return WithErrorInfo(absl::UnavailableError(std::move(message)), {"NO_NODE_AVAILABLE", {}});
}

}  // namespace

absl::string_view PoolModeName(PoolMode mode) {
  switch (mode) {
    case PoolMode::kStaticNoPing:
      return "static_no_ping";
    case PoolMode::kStatic:
      return "static";
    case PoolMode::kSniffing:
      return "sniffing";
    case PoolMode::kSimple:
      return "simple";
  }
  return "unknown";
}

absl::StatusOr<PoolMode> ParsePoolMode(absl::string_view name) {
  for (PoolMode mode :
       {PoolMode::kStaticNoPing, PoolMode::kStatic, PoolMode::kSniffing, PoolMode::kSimple}) {
    if (name == PoolModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown pool mode \"", name, "\"; expected static_no_ping, static, sniffing or simple"));
}

absl::string_view PoolEventKindName(PoolEvent::Kind kind) {
  switch (kind) {
    case PoolEvent::Kind::kNodeEjected:
      return "node_ejected";
    case PoolEvent::Kind::kNodeRevived:
      return "node_revived";
    case PoolEvent::Kind::kNodeAdded:
      return "node_added";
    case PoolEvent::Kind::kNodeDraining:
      return "node_draining";
    case PoolEvent::Kind::kNodeRemoved:
      return "node_removed";
    case PoolEvent::Kind::kAllNodesDead:
      return "all_nodes_dead";
    case PoolEvent::Kind::kFirstNodeBack:
      return "first_node_back";
  }
  return "unknown";
}

// ---- Lease ----

NodePool::Lease& NodePool::Lease::operator=(Lease&& other) noexcept {
  if (this == &other) return *this;
  if (node_ != nullptr) pool_->Release(node_);
  pool_ = std::exchange(other.pool_, nullptr);
  node_ = std::exchange(other.node_, nullptr);
  info_ = std::move(other.info_);
  state_at_selection_ = other.state_at_selection_;
  return *this;
}

NodePool::Lease::~Lease() {
  if (node_ != nullptr) pool_->Release(node_);
}

const std::string& NodePool::Lease::host_port() const {
  // host_port never changes after the node is created, so no lock is needed.
  return node_->host_port();
}

// ---- NodePool ----

absl::StatusOr<std::unique_ptr<NodePool>> NodePool::Create(Options options,
                                                           std::vector<NodeInfo> seeds) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  if (seeds.empty()) return absl::InvalidArgumentError("at least one seed node is needed");
  if (absl::Status s = BackoffPolicy::Validate(options.backoff); !s.ok()) return s;
  if (options.soft_failure_threshold < 1) {
    return absl::InvalidArgumentError("soft_failure_threshold must be at least 1");
  }
  if (options.slow_start < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("slow_start must not be negative");
  }
  if (!(options.latency_ewma_alpha > 0 && options.latency_ewma_alpha <= 1)) {
    return absl::InvalidArgumentError("latency_ewma_alpha must be in (0, 1]");
  }
  if (options.latency_stale_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("latency_stale_after must be positive");
  }
  absl::flat_hash_set<std::string> seen;
  for (const NodeInfo& seed : seeds) {
    if (seed.endpoint.host.empty()) return absl::InvalidArgumentError("a seed has no host");
    if (seed.endpoint.port < 1 || seed.endpoint.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("seed ", seed.endpoint.host, " has port ", seed.endpoint.port));
    }
    if (!seen.insert(seed.endpoint.HostPort()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("seed ", seed.endpoint.HostPort(), " is listed twice"));
    }
  }
  return std::unique_ptr<NodePool>(new NodePool(std::move(options), std::move(seeds)));
}

NodePool::NodePool(Options options, std::vector<NodeInfo> seeds)
    : options_(std::move(options)),
      backoff_(options_.backoff),
      selector_(Selector::Create(options_.selector)),
      gen_(options_.random_seed) {
  for (NodeInfo& seed : seeds) {
    seed.seed = true;
    nodes_.push_back(std::make_unique<Node>(std::move(seed), next_serial_++));
  }
}

Node* NodePool::FindLocked(absl::string_view host_port) const {
  for (const auto& node : nodes_) {
    if (node->host_port() == host_port) return node.get();
  }
  return nullptr;
}

NodePool::Lease NodePool::MakeLeaseLocked(Node* node) {
  ++node->in_flight;
  Lease lease;
  lease.pool_ = this;
  lease.node_ = node;
  lease.info_ = node->info();
  lease.state_at_selection_ = node->state;
  return lease;
}

absl::StatusOr<NodePool::Lease> NodePool::Select(const std::vector<std::string>& tried) {
  const absl::Time now = options_.clock->Now();
  const std::string* previous = tried.empty() ? nullptr : &tried.back();
  Events events;
  absl::StatusOr<Lease> result;
  {
    absl::MutexLock lock(&mu_);
    candidates_.clear();
    candidate_nodes_.clear();
    bool any_tried_alive = false;  // alive, tried, but not the previous attempt
    Node* previous_alive = nullptr;
    for (const auto& owned : nodes_) {
      Node* node = owned.get();
      if (node->draining) continue;
      if (options_.mode == PoolMode::kStaticNoPing && node->state == NodeState::kDead &&
          node->dead_until <= now) {
        // No probes in this mode: the next request is the test, as in the Java client.
        ReviveLocked(node, now, "dead timeout passed", &events);
      }
      if (node->state != NodeState::kAlive) continue;
      if (!tried.empty() && IsListed(tried, node->host_port())) {
        if (node->host_port() == *previous) {
          previous_alive = node;
        } else {
          any_tried_alive = true;
        }
        continue;
      }
      candidate_nodes_.push_back(node);
    }
    if (candidate_nodes_.empty() && any_tried_alive) {
      for (const auto& owned : nodes_) {
        Node* node = owned.get();
        if (!node->draining && node->state == NodeState::kAlive && node != previous_alive) {
          candidate_nodes_.push_back(node);
        }
      }
    }
    if (candidate_nodes_.empty() && previous_alive != nullptr) {
      candidate_nodes_.push_back(previous_alive);
    }
    if (!candidate_nodes_.empty()) {
      for (Node* node : candidate_nodes_) {
        SelectorCandidate c;
        c.serial = node->serial();
        c.in_flight = node->in_flight;
        c.has_latency =
            node->has_latency && now - node->last_latency_sample <= options_.latency_stale_after;
        c.latency_ms = node->latency_ewma_ms;
        c.weight = node->Weight(now, options_.slow_start);
        candidates_.push_back(c);
      }
      const size_t chosen =
          candidates_.size() == 1 ? 0 : selector_->Pick(candidates_, absl::BitGenRef(gen_));
      result = MakeLeaseLocked(candidate_nodes_[chosen]);
    } else {
      // Nothing alive: the node closest to revival, then the next, across attempts.
      Node* best = nullptr;
      for (const auto& owned : nodes_) {
        Node* node = owned.get();
        if (node->draining || node->state == NodeState::kAlive) continue;
        if (!tried.empty() && IsListed(tried, node->host_port())) continue;
        if (best == nullptr || node->dead_until < best->dead_until) best = node;
      }
      if (best != nullptr) {
        result = MakeLeaseLocked(best);
      } else {
        result = NoNodeAvailable(absl::StrCat("no Elasticsearch node available: ", nodes_.size(),
                                              " node(s) in the pool, ", tried.size(),
                                              " already tried by this request"));
      }
    }
    if (!events.empty()) NoteUsabilityLocked(now, &events);
  }
  Emit(events);
  return result;
}

absl::StatusOr<NodePool::Lease> NodePool::SelectNode(absl::string_view host_port) {
  absl::MutexLock lock(&mu_);
  Node* node = FindLocked(host_port);
  if (node == nullptr) {
    return NoNodeAvailable(absl::StrCat("node ", host_port, " is no longer in the pool"));
  }
  return MakeLeaseLocked(node);
}

void NodePool::Record(Lease lease, FailureClass outcome, absl::Duration latency) {
  if (!lease.valid()) return;
  Node* node = std::exchange(lease.node_, nullptr);
  const absl::Time now = options_.clock->Now();
  Events events;
  {
    absl::MutexLock lock(&mu_);
    --node->in_flight;
    ++node->requests_total;
    if (outcome != FailureClass::kSuccess) ++node->failures_by_class[outcome];
    if (outcome != FailureClass::kLocal && outcome != FailureClass::kStale) {
      node->latency_histogram.Observe(latency);
    }
    switch (outcome) {
      case FailureClass::kSuccess:
      case FailureClass::kRequest:
        // The node answered properly; only the request was at fault (or nothing was).
        node->AddLatencySample(latency, options_.latency_ewma_alpha, now,
                               options_.latency_stale_after);
        node->consecutive_failures = 0;
        node->ejections = 0;
        if (node->state != NodeState::kAlive) {
          ReviveLocked(node, now, "request succeeded", &events);
        }
        break;
      case FailureClass::kHard:
      case FailureClass::kSoft: {
        ++node->failures_total;
        ++node->consecutive_failures;
        selector_->OnNodeFailed(node->serial());
        if (options_.mode == PoolMode::kSimple) break;
        const std::string reason(FailureClassName(outcome));
        if (node->state == NodeState::kAlive) {
          if (outcome == FailureClass::kHard ||
              node->consecutive_failures >= options_.soft_failure_threshold) {
            EjectLocked(node, now, reason, &events);
          }
        } else if (node->state == NodeState::kProbing || node->dead_until <= now) {
          // A trial after the deadline failed: the next dead period is longer.
          EjectLocked(node, now, reason, &events);
        }
        break;
      }
      case FailureClass::kStale:
      case FailureClass::kBackpressure:
      case FailureClass::kLocal:
        break;
    }
    MaybeRemoveLocked(node, &events);
    if (!events.empty()) NoteUsabilityLocked(now, &events);
  }
  Emit(events);
}

void NodePool::CountRetry(absl::string_view host_port) {
  absl::MutexLock lock(&mu_);
  ++retries_total_;
  if (Node* node = FindLocked(host_port); node != nullptr) ++node->retries_total;
}

void NodePool::Release(Node* node) {
  Events events;
  {
    absl::MutexLock lock(&mu_);
    --node->in_flight;
    MaybeRemoveLocked(node, &events);
  }
  Emit(events);
}

void NodePool::EjectLocked(Node* node, absl::Time now, std::string reason, Events* events) {
  ++node->ejections;
  const absl::Duration dead_for = backoff_.DeadTimeout(node->ejections, absl::BitGenRef(gen_));
  node->state = NodeState::kDead;
  node->dead_until = now + dead_for;
  node->alive_since = absl::InfinitePast();
  events->push_back({PoolEvent::Kind::kNodeEjected, node->host_port(), std::move(reason),
                     node->consecutive_failures, dead_for});
}

void NodePool::ReviveLocked(Node* node, absl::Time now, std::string reason, Events* events) {
  node->state = NodeState::kAlive;
  node->alive_since = now;  // slow-start
  events->push_back({PoolEvent::Kind::kNodeRevived, node->host_port(), std::move(reason),
                     node->consecutive_failures, absl::ZeroDuration()});
}

void NodePool::MaybeRemoveLocked(Node* node, Events* events) {
  if (!node->draining || node->in_flight > 0) return;
  events->push_back({PoolEvent::Kind::kNodeRemoved, node->host_port(), "left the cluster",
                     node->consecutive_failures, absl::ZeroDuration()});
  nodes_.erase(std::find_if(nodes_.begin(), nodes_.end(),
                            [node](const std::unique_ptr<Node>& n) { return n.get() == node; }));
}

bool NodePool::UsableAt(const Node& node, absl::Time now) const {
  if (node.draining) return false;
  if (options_.mode == PoolMode::kSimple) return true;
  if (node.state == NodeState::kAlive) return true;
  return options_.mode == PoolMode::kStaticNoPing && node.state == NodeState::kDead &&
         node.dead_until <= now;
}

bool NodePool::HasUsableLocked(absl::Time now) const {
  for (const auto& node : nodes_) {
    if (UsableAt(*node, now)) return true;
  }
  return false;
}

void NodePool::NoteUsabilityLocked(absl::Time now, Events* events) {
  const bool usable = HasUsableLocked(now);
  if (usable == usable_) return;
  usable_ = usable;
  events->push_back({usable ? PoolEvent::Kind::kFirstNodeBack : PoolEvent::Kind::kAllNodesDead, "",
                     usable ? "a node can take requests again" : "no node can take requests", 0,
                     absl::ZeroDuration()});
}

bool NodePool::HasUsableNode() const {
  const absl::Time now = options_.clock->Now();
  absl::MutexLock lock(&mu_);
  return HasUsableLocked(now);
}

std::vector<NodeInfo> NodePool::TakeDueProbes() {
  std::vector<NodeInfo> due;
  if (options_.mode == PoolMode::kSimple || options_.mode == PoolMode::kStaticNoPing) return due;
  const absl::Time now = options_.clock->Now();
  absl::MutexLock lock(&mu_);
  for (const auto& node : nodes_) {
    if (node->draining || node->probe_in_flight || node->state != NodeState::kDead ||
        node->dead_until > now) {
      continue;
    }
    node->state = NodeState::kProbing;
    node->probe_in_flight = true;
    ++node->probes_total;
    due.push_back(*node->info());
  }
  return due;
}

void NodePool::OnProbeResult(const std::string& host_port, bool ok) {
  const absl::Time now = options_.clock->Now();
  Events events;
  {
    absl::MutexLock lock(&mu_);
    Node* node = FindLocked(host_port);
    if (node == nullptr || !node->probe_in_flight) return;
    node->probe_in_flight = false;
    if (!ok) ++node->probe_failures_total;
    if (node->state != NodeState::kProbing) return;  // a request outcome already decided
    if (ok) {
      node->consecutive_failures = 0;
      ReviveLocked(node, now, "probe passed", &events);
    } else {
      ++node->consecutive_failures;
      EjectLocked(node, now, "probe failed", &events);
    }
    NoteUsabilityLocked(now, &events);
  }
  Emit(events);
}

void NodePool::ApplySniff(std::vector<NodeInfo> nodes, bool keep_seeds) {
  if (nodes.empty()) {
    RecordSniff(false, "sniff found no nodes; keeping the current ones");
    return;
  }
  const absl::Time now = options_.clock->Now();
  Events events;
  {
    absl::MutexLock lock(&mu_);
    absl::flat_hash_set<std::string> listed;
    for (NodeInfo& info : nodes) {
      std::string host_port = info.endpoint.HostPort();
      if (!listed.insert(host_port).second) continue;  // listed twice: the first wins
      if (Node* node = FindLocked(host_port); node != nullptr) {
        info.seed = node->info()->seed;
        node->set_info(std::move(info));
        if (node->draining) {
          node->draining = false;  // it left and came back before its last request ended
          events.push_back({PoolEvent::Kind::kNodeAdded, host_port, "listed again by a sniff",
                            node->consecutive_failures, absl::ZeroDuration()});
        }
        continue;
      }
      info.seed = false;
      auto node = std::make_unique<Node>(std::move(info), next_serial_++);
      node->alive_since = now;  // slow-start: a new node warms its caches first
      events.push_back(
          {PoolEvent::Kind::kNodeAdded, host_port, "found by a sniff", 0, absl::ZeroDuration()});
      nodes_.push_back(std::move(node));
    }
    // Collect first: removing idle nodes while walking nodes_ would invalidate the walk.
    std::vector<Node*> leaving;
    for (const auto& node : nodes_) {
      if (node->draining || listed.contains(node->host_port())) continue;
      if (keep_seeds && node->info()->seed) continue;
      leaving.push_back(node.get());
    }
    for (Node* node : leaving) {
      node->draining = true;
      events.push_back({PoolEvent::Kind::kNodeDraining, node->host_port(),
                        "no longer listed by a sniff", node->consecutive_failures,
                        absl::ZeroDuration()});
      MaybeRemoveLocked(node, &events);
    }
    NoteUsabilityLocked(now, &events);
  }
  Emit(events);
}

void NodePool::RecordSniff(bool ok, std::string outcome) {
  const absl::Time wall = options_.clock->WallNow();
  absl::MutexLock lock(&mu_);
  ++sniffs_total_;
  if (!ok) ++sniff_failures_total_;
  last_sniff_time_ = wall;
  last_sniff_outcome_ = std::move(outcome);
}

PoolSnapshot NodePool::Snapshot() const {
  PoolSnapshot snapshot;
  snapshot.now = options_.clock->Now();
  snapshot.wall_now = options_.clock->WallNow();
  snapshot.pool_mode = std::string(PoolModeName(options_.mode));
  snapshot.selector = std::string(SelectorKindName(options_.selector));
  absl::MutexLock lock(&mu_);
  snapshot.retries_total = retries_total_;
  snapshot.nodes.reserve(nodes_.size());
  for (const auto& node : nodes_) {
    snapshot.nodes.push_back(node->Snapshot(snapshot.now, options_.slow_start));
  }
  snapshot.sniffs_total = sniffs_total_;
  snapshot.sniff_failures_total = sniff_failures_total_;
  snapshot.last_sniff_time = last_sniff_time_;
  snapshot.last_sniff_outcome = last_sniff_outcome_;
  return snapshot;
}

bool NodePool::Contains(absl::string_view host_port) const {
  absl::MutexLock lock(&mu_);
  return FindLocked(host_port) != nullptr;
}

void NodePool::SetListener(std::function<void(const PoolEvent&)> listener) {
  auto shared =
      listener ? std::make_shared<const std::function<void(const PoolEvent&)>>(std::move(listener))
               : nullptr;
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(shared);
}

void NodePool::Emit(const Events& events) {
  if (events.empty()) return;
  std::shared_ptr<const std::function<void(const PoolEvent&)>> listener;
  {
    absl::MutexLock lock(&listener_mu_);
    listener = listener_;
  }
  if (listener == nullptr) return;
  for (const PoolEvent& event : events) (*listener)(event);
}

}  // namespace esgw
