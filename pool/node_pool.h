// The pool of Elasticsearch nodes and all of its policy (DESIGN.md section 3): which node serves
// an attempt, what an outcome does to the node's state, when a dead node is probed, how a sniff
// is merged. Plain C++: time comes only from the injected Clock, randomness only from a
// generator seeded from Options::random_seed, and nothing here does I/O.
// Thread-safe: every method may be called from any thread (request, transport, loop threads);
// one mutex guards the state and is never held while calling out (listener, clock excepted).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/backoff.h"
#include "pool/clock.h"
#include "pool/failure_class.h"
#include "pool/node.h"
#include "pool/selector.h"

namespace esgw {

// Pool modes, named as the PHP client names them.
enum class PoolMode {
  // Seed list; a dead node becomes selectable again when its deadline passes (no probes).
  kStaticNoPing,
  // Seed list; dead nodes come back through background probes.
  kStatic,
  // Like kStatic, plus the node list follows sniffing.
  kSniffing,
  // No liveness at all: nodes are never marked dead (for debugging).
  kSimple,
};
// "static_no_ping", "static", "sniffing", "simple".
absl::string_view PoolModeName(PoolMode mode);
// Parses a PoolModeName; INVALID_ARGUMENT naming the accepted values otherwise.
absl::StatusOr<PoolMode> ParsePoolMode(absl::string_view name);

// A change of state worth a log line or a health update.
struct PoolEvent {
  enum class Kind {
    // A node was marked dead (or, while dead, failed again and got a longer deadline).
    kNodeEjected,
    // A dead or probing node is alive again (probe passed, request succeeded, or no-ping
    // deadline passed).
    kNodeRevived,
    kNodeAdded,
    // A sniff no longer lists the node; it is removed once idle.
    kNodeDraining,
    kNodeRemoved,
    // No node can take requests any more (HasUsableNode turned false) ...
    kAllNodesDead,
    // ... and the first one that can again (HasUsableNode turned true).
    kFirstNodeBack,
  };
  Kind kind = Kind::kNodeEjected;
  // The node concerned; empty for kAllNodesDead and kFirstNodeBack.
  std::string host_port = "";
  // Why, in words: the failure class ("hard", "soft"), "probe failed", "probe passed", ...
  std::string reason = "";
  int consecutive_failures = 0;
  // For kNodeEjected: how long the node stays dead.
  absl::Duration dead_for = absl::ZeroDuration();
};
absl::string_view PoolEventKindName(PoolEvent::Kind kind);

class NodePool {
 public:
  struct Options {
    PoolMode mode = PoolMode::kSniffing;
    SelectorKind selector = SelectorKind::kLeastLoaded;
    // Dead-node timeout: min(base * 2^(k-1), cap) +-jitter for the k-th ejection in a row.
    BackoffPolicy::Options backoff = {};
    // Soft failures in a row that eject a node; hard failures eject at once.
    int soft_failure_threshold = 3;
    // A revived or newly added node's weight ramps from 0.1 to 1 over this long.
    absl::Duration slow_start = absl::Seconds(10);
    // Weight of a new latency sample in the EWMA, in (0, 1].
    double latency_ewma_alpha = 0.2;
    // least_loaded ignores a latency EWMA with no new sample for this long, and the next sample
    // restarts it. A node that lost comparisons on a slightly higher reading gets no samples to
    // correct it; this bounds how long it is starved (seen: 0.5 ms vs 0.3 ms kept a revived node
    // idle under sequential traffic). Short enough to recover in seconds, long enough that a
    // node taking traffic always has a fresh sample.
    absl::Duration latency_stale_after = absl::Seconds(5);
    // Seeds the pool's random generator (selection, jitter). Tests fix it; production should
    // pass a random value so that replicas do not pick in lockstep.
    uint64_t random_seed = 0;
    // Not owned; must outlive the pool.
    const Clock* clock = &RealClock::Get();
  };

  // INVALID_ARGUMENT when there are no seeds, a seed has no host or a bad port, two seeds share
  // an address, or an option is out of range. Seeds are marked seed = true and start alive.
  static absl::StatusOr<std::unique_ptr<NodePool>> Create(Options options,
                                                          std::vector<NodeInfo> seeds);

  // A node chosen for one attempt. It counts in the node's in_flight until passed to Record;
  // dropping it unrecorded just releases it (no outcome, no blame). Move-only; must not outlive
  // the pool. While a lease exists its node stays in the pool.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    bool valid() const { return node_ != nullptr; }
    // The node as it was when selected. Requires valid().
    const NodeInfo& node() const { return *info_; }
    // "host:port", the node's identity in the pool. Requires valid().
    const std::string& host_port() const;
    // kAlive normally; kDead or kProbing when the pool had no live node to offer.
    NodeState state_at_selection() const { return state_at_selection_; }

   private:
    friend class NodePool;
    NodePool* pool_ = nullptr;
    Node* node_ = nullptr;
    std::shared_ptr<const NodeInfo> info_;
    NodeState state_at_selection_ = NodeState::kAlive;
  };

  // Picks a node for an attempt. tried_host_ports: the nodes this request already tried, oldest
  // first; the last one is the previous attempt. Among live nodes the selector prefers untried
  // ones, then tried ones other than the previous attempt, and the previous attempt's node only
  // when it is the only live one. With no live node: dead and probing nodes not yet tried,
  // closest to revival first, so that a caller walks the all-dead order across attempts.
  // Draining nodes are never picked. Returns UNAVAILABLE (ErrorInfo reason NO_NODE_AVAILABLE)
  // when nothing is left.
  absl::StatusOr<Lease> Select(const std::vector<std::string>& tried_host_ports = {});

  // A lease on exactly this node, whatever its state (the stale-connection retry goes back to
  // the same node). UNAVAILABLE (NO_NODE_AVAILABLE) when the node is no longer in the pool.
  absl::StatusOr<Lease> SelectNode(absl::string_view host_port);

  // Records the outcome of an attempt and invalidates the lease (a no-op for an invalid one).
  // Latency feeds the EWMA for kSuccess and kRequest. Node state per DESIGN.md section 3:
  //   success, request: healthy; consecutive failures and the backoff exponent reset; a dead or
  //                     probing node is alive again (slow-start).
  //   hard: ejected now.  soft: ejected at soft_failure_threshold in a row.
  //   A node already dead gets a longer deadline only when it failed after its deadline had
  //   passed, so a burst of concurrent failures counts as one ejection.
  //   stale, backpressure, local: no blame, no reset.
  // In kSimple mode nothing is ever ejected (counters still move).
  void Record(Lease lease, FailureClass outcome, absl::Duration latency);

  // Counts one retry (retries_total), and one on the node whose failed attempt is retried
  // (host_port; ignored when the node has left the pool).
  void CountRetry(absl::string_view host_port);

  // Resurrection, never on the request path: dead nodes whose deadline has passed become
  // kProbing and are returned, each exactly once until OnProbeResult reports on it. Always
  // empty in kSimple and kStaticNoPing modes. Draining nodes are not probed.
  std::vector<NodeInfo> TakeDueProbes();

  // A probe's result for a node TakeDueProbes returned. ok: alive with slow-start; otherwise
  // dead with the next backoff step. Ignored for nodes no longer probing (a request already
  // decided) or no longer in the pool.
  void OnProbeResult(const std::string& host_port, bool ok);

  // Merges a sniff (matching nodes by host:port). Nodes still present keep their state and
  // counters and take the sniffed id, name and roles; new nodes join alive with slow-start
  // (the Sniffer probes them first); nodes that left are drained, except seeds when keep_seeds
  // (seeds_plus_sniffed). An empty list changes nothing and is recorded as a failed sniff.
  void ApplySniff(std::vector<NodeInfo> nodes, bool keep_seeds);

  // Counts a sniff (and a failed one when !ok), stamps last_sniff_time with the wall clock and
  // keeps the outcome text.
  void RecordSniff(bool ok, std::string outcome);

  // Whether any node can take requests: an alive node (in kStaticNoPing also a dead one whose
  // deadline has passed; in kSimple any node). Drives gRPC health.
  bool HasUsableNode() const;

  PoolSnapshot Snapshot() const;

  // Whether a node with this host:port is in the pool (draining ones included).
  bool Contains(absl::string_view host_port) const;

  // Called outside the pool's lock, on the thread that caused the change, for every PoolEvent.
  // Events from different threads may arrive in any order. Set once, before use.
  void SetListener(std::function<void(const PoolEvent&)> listener);

  const Options& options() const { return options_; }

 private:
  NodePool(Options options, std::vector<NodeInfo> seeds);

  using Events = std::vector<PoolEvent>;

  Node* FindLocked(absl::string_view host_port) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Lease MakeLeaseLocked(Node* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EjectLocked(Node* node, absl::Time now, std::string reason, Events* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReviveLocked(Node* node, absl::Time now, std::string reason, Events* events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes node when it is draining and idle.
  void MaybeRemoveLocked(Node* node, Events* events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasUsableLocked(absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Adds kAllNodesDead / kFirstNodeBack when usability changed since last asked.
  void NoteUsabilityLocked(absl::Time now, Events* events) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool UsableAt(const Node& node, absl::Time now) const;
  // Releases a lease that was never recorded.
  void Release(Node* node);
  void Emit(const Events& events);

  const Options options_;
  const BackoffPolicy backoff_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Selector> selector_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 gen_ ABSL_GUARDED_BY(mu_);
  uint64_t next_serial_ ABSL_GUARDED_BY(mu_) = 1;
  bool usable_ ABSL_GUARDED_BY(mu_) = true;
  // Scratch for Select, kept to avoid an allocation per call.
  std::vector<SelectorCandidate> candidates_ ABSL_GUARDED_BY(mu_);
  std::vector<Node*> candidate_nodes_ ABSL_GUARDED_BY(mu_);
  int64_t sniffs_total_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sniff_failures_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Time> last_sniff_time_ ABSL_GUARDED_BY(mu_);
  std::string last_sniff_outcome_ ABSL_GUARDED_BY(mu_);
  int64_t retries_total_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex listener_mu_;
  std::shared_ptr<const std::function<void(const PoolEvent&)>> listener_
      ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace esgw
