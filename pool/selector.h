// Node selection strategies (DESIGN.md section 3): least_loaded (power of two choices over
// in-flight x latency EWMA, with slow-start weight as the chance a ramping winner serves),
// round_robin, sticky and random. Thread-safety: not thread-safe; NodePool calls a Selector only
// under its mutex, on whichever thread asked it for a node. Selectors hold no pointers into the
// pool.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace esgw {

enum class SelectorKind { kLeastLoaded, kRoundRobin, kSticky, kRandom };
// "least_loaded", "round_robin", "sticky", "random".
absl::string_view SelectorKindName(SelectorKind kind);
// Parses a SelectorKindName; INVALID_ARGUMENT naming the accepted values otherwise.
absl::StatusOr<SelectorKind> ParseSelectorKind(absl::string_view name);

// One node the pool offers to a selector: all are alive and allowed for this attempt.
struct SelectorCandidate {
  // Node::serial(): stable identity and pool order (candidates come in increasing serial).
  uint64_t serial = 0;
  int64_t in_flight = 0;
  // Latency EWMA in ms; ignore unless has_latency (no samples yet, or too old to trust).
  double latency_ms = 0;
  bool has_latency = false;
  // Slow-start weight in (0, 1].
  double weight = 1;
};

class Selector {
 public:
  virtual ~Selector() = default;

  static std::unique_ptr<Selector> Create(SelectorKind kind);

  // Returns the index in candidates of the node to use. candidates is never empty.
  virtual size_t Pick(absl::Span<const SelectorCandidate> candidates, absl::BitGenRef gen) = 0;

  // The node with this serial failed in a way that blames it (sticky moves on).
  virtual void OnNodeFailed(uint64_t /*serial*/) {}
};

// The least_loaded cost of a candidate: (in_flight + 1) x latency, where latency is the
// candidate's EWMA or, when it has none, default_latency_ms. Lower is better. Slow-start weight
// is not part of it: the selector lets a ramping winner serve with probability = its weight.
// Exposed for tests.
double LeastLoadedCost(const SelectorCandidate& candidate, double default_latency_ms);

}  // namespace esgw
