// A latency histogram with fixed buckets, in the shape Prometheus exposes (cumulative buckets,
// sum and count). The same bucket bounds serve gRPC handling times and per-node Elasticsearch
// latencies, so dashboards can compare them bucket for bucket.
// Thread-safe and lock-free: Observe and Read may race; a Read taken while observations land
// may be off by those observations, never torn within one counter.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace esgw {

// Upper bounds in seconds, from 0.5 ms (a keep-alive round trip on one host) to a minute (a
// long Bulk); anything longer lands in +Inf.
inline constexpr std::array<double, 16> kLatencyBucketsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = kLatencyBucketsSeconds.size();

  struct Snapshot {
    // Observations per bucket, not cumulative; the last entry is the +Inf bucket.
    std::array<uint64_t, kBuckets + 1> counts = {};
    double sum_seconds = 0;
    uint64_t count = 0;
  };

  // A negative duration counts as 0.
  void Observe(absl::Duration d);
  Snapshot Read() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_ = {};
  std::atomic<int64_t> sum_nanos_{0};
};

}  // namespace esgw
