#include "pool/selector.h"

#include <algorithm>
#include <limits>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"

namespace esgw {
namespace {

// Power of two choices: compare two distinct random candidates and keep the cheaper. It avoids
// the herding of "always the global minimum" when many requests pick at once, and needs no sort.
class LeastLoadedSelector final : public Selector {
 public:
  size_t Pick(absl::Span<const SelectorCandidate> candidates, absl::BitGenRef gen) override {
    const size_t n = candidates.size();
    if (n == 1) return 0;
    const size_t a = absl::Uniform<size_t>(gen, 0, n);
    size_t b = absl::Uniform<size_t>(gen, 0, n - 1);
    if (b >= a) ++b;
    const SelectorCandidate& ca = candidates[a];
    const SelectorCandidate& cb = candidates[b];
    // A node without a usable latency sample is judged with the other's latency, so the
    // comparison falls back to in-flight and weight instead of favouring the unknown node.
    const double default_ms = ca.has_latency ? ca.latency_ms : (cb.has_latency ? cb.latency_ms : 1);
    const double cost_a = LeastLoadedCost(ca, default_ms);
    const double cost_b = LeastLoadedCost(cb, default_ms);
    const bool a_wins = cost_a == cost_b ? absl::Bernoulli(gen, 0.5) : cost_a < cost_b;
    const size_t winner = a_wins ? a : b;
    const size_t loser = a_wins ? b : a;
    // Slow-start: a ramping winner serves only with probability equal to its weight, so its
    // share grows with the weight whatever the pool size. Dividing the cost by the weight
    // instead starves it: next to idle peers it would lose every comparison until fully ramped,
    // then take its whole share at once.
    const double weight = std::clamp(candidates[winner].weight, 0.0, 1.0);
    if (weight < 1 && !absl::Bernoulli(gen, weight)) return loser;
    return winner;
  }
};

// Cycles through the pool in serial order. It remembers the last node served rather than an
// index, so that nodes joining, leaving or being skipped for one attempt do not restart or skew
// the cycle.
class RoundRobinSelector final : public Selector {
 public:
  size_t Pick(absl::Span<const SelectorCandidate> candidates, absl::BitGenRef) override {
    size_t chosen = 0;  // wraps to the first when none follows the last served
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].serial > last_serial_) {
        chosen = i;
        break;
      }
    }
    last_serial_ = candidates[chosen].serial;
    return chosen;
  }

 private:
  uint64_t last_serial_ = 0;
};

// Stays on one node until it fails or stops being offered, then moves on to the next node in
// pool order and stays there.
class StickySelector final : public Selector {
 public:
  size_t Pick(absl::Span<const SelectorCandidate> candidates, absl::BitGenRef) override {
    size_t chosen = 0;  // wraps to the first when none follows the current node
    bool found_next = false;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (has_current_ && !released_ && candidates[i].serial == current_) return i;
      if (!found_next && has_current_ && candidates[i].serial > current_) {
        chosen = i;
        found_next = true;
      }
    }
    current_ = candidates[chosen].serial;
    has_current_ = true;
    released_ = false;
    return chosen;
  }

  void OnNodeFailed(uint64_t serial) override {
    if (has_current_ && serial == current_) released_ = true;
  }

 private:
  uint64_t current_ = 0;
  bool has_current_ = false;
  // The current node failed: move on at the next pick even if it is still offered.
  bool released_ = false;
};

// Uniform over candidates, weighted by slow-start weight so that a node coming back ramps up.
class RandomSelector final : public Selector {
 public:
  size_t Pick(absl::Span<const SelectorCandidate> candidates, absl::BitGenRef gen) override {
    double total = 0;
    for (const SelectorCandidate& c : candidates) total += c.weight;
    double x = absl::Uniform(gen, 0.0, total);
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (x < candidates[i].weight) return i;
      x -= candidates[i].weight;
    }
    return candidates.size() - 1;  // rounding
  }
};

}  // namespace

absl::string_view SelectorKindName(SelectorKind kind) {
  switch (kind) {
    case SelectorKind::kLeastLoaded:
      return "least_loaded";
    case SelectorKind::kRoundRobin:
      return "round_robin";
    case SelectorKind::kSticky:
      return "sticky";
    case SelectorKind::kRandom:
      return "random";
  }
  return "unknown";
}

absl::StatusOr<SelectorKind> ParseSelectorKind(absl::string_view name) {
  for (SelectorKind kind : {SelectorKind::kLeastLoaded, SelectorKind::kRoundRobin,
                            SelectorKind::kSticky, SelectorKind::kRandom}) {
    if (name == SelectorKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown selector \"", name, "\"; expected least_loaded, round_robin, sticky or random"));
}

double LeastLoadedCost(const SelectorCandidate& candidate, double default_latency_ms) {
  const double latency = candidate.has_latency ? candidate.latency_ms : default_latency_ms;
  // A floor keeps a 0 ms reading (a cached answer) from making in-flight count irrelevant.
  const double floored = std::max(latency, 0.001);
  return static_cast<double>(candidate.in_flight + 1) * floored;
}

std::unique_ptr<Selector> Selector::Create(SelectorKind kind) {
  switch (kind) {
    case SelectorKind::kLeastLoaded:
      return std::make_unique<LeastLoadedSelector>();
    case SelectorKind::kRoundRobin:
      return std::make_unique<RoundRobinSelector>();
    case SelectorKind::kSticky:
      return std::make_unique<StickySelector>();
    case SelectorKind::kRandom:
      return std::make_unique<RandomSelector>();
  }
  return std::make_unique<LeastLoadedSelector>();
}

}  // namespace esgw
