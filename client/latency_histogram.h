// Percentiles from the latency histograms esgw reports per node (esgw.v1.LatencyHistogram), and
// the histogram of the time between two samples. Estimates follow Prometheus's
// histogram_quantile, so esgw-cli and a dashboard agree on the same data.
// Thread-safe: pure functions.
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "esgw/v1/admin.pb.h"

namespace esgw::client {

// OK when the histogram is one esgw could have sent: as many counts as bounds plus one, bounds
// finite, positive and increasing, count the sum of counts. Otherwise InvalidArgument naming
// the field and the rule.
absl::Status ValidateHistogram(const v1::LatencyHistogram& histogram);

struct Quantile {
  // The estimate in seconds. When the rank falls above the last bound, this is the last bound
  // (nothing better is known) and above_last_bound is set.
  double seconds = 0;
  bool above_last_bound = false;
};

// The q-quantile (q in [0, 1]) of a valid histogram: the bucket holding the observation of rank
// q x count, then linear interpolation between that bucket's bounds (the first bucket starts
// at 0). nullopt when the histogram has no observations or is not valid, or q is out of range.
std::optional<Quantile> EstimateQuantile(const v1::LatencyHistogram& histogram, double q);

// The observations made between two samples of one node's histogram: later minus earlier,
// bucket by bucket. nullopt when the two are not the same buckets or a count went down (esgw
// restarted, or the address now belongs to another node), so the difference means nothing.
std::optional<v1::LatencyHistogram> HistogramDifference(const v1::LatencyHistogram& later,
                                                        const v1::LatencyHistogram& earlier);

}  // namespace esgw::client
