#include "pool/histogram.h"

#include <algorithm>

namespace esgw {

void LatencyHistogram::Observe(absl::Duration d) {
  const double seconds = std::max(absl::ToDoubleSeconds(d), 0.0);
  // The first bound at or above the value; le is "less than or equal" in Prometheus.
  const size_t bucket =
      std::lower_bound(kLatencyBucketsSeconds.begin(), kLatencyBucketsSeconds.end(), seconds) -
      kLatencyBucketsSeconds.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(std::max<int64_t>(absl::ToInt64Nanoseconds(d), 0),
                       std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  for (size_t i = 0; i < counts_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

}  // namespace esgw
