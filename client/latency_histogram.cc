#include "client/latency_histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace esgw::client {

absl::Status ValidateHistogram(const v1::LatencyHistogram& histogram) {
  const auto& bounds = histogram.upper_bounds_seconds();
  if (histogram.counts_size() != bounds.size() + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LatencyHistogram.counts: has ", histogram.counts_size(),
        " entries; must have one more than upper_bounds_seconds (", bounds.size(), ")"));
  }
  for (int i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || bounds[i] <= 0 || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("LatencyHistogram.upper_bounds_seconds[", i, "]: ", bounds[i],
                       " is not a finite positive bound above the one before"));
    }
  }
  uint64_t total = 0;
  for (uint64_t n : histogram.counts()) {
    if (n > UINT64_MAX - total) {
      return absl::InvalidArgumentError("LatencyHistogram.counts: the sum overflows 64 bits");
    }
    total += n;
  }
  if (total != histogram.count()) {
    return absl::InvalidArgumentError(absl::StrCat("LatencyHistogram.count: ", histogram.count(),
                                                   " is not the sum of counts (", total, ")"));
  }
  return absl::OkStatus();
}

std::optional<Quantile> EstimateQuantile(const v1::LatencyHistogram& histogram, double q) {
  if (!(q >= 0 && q <= 1) || histogram.count() == 0 || !ValidateHistogram(histogram).ok()) {
    return std::nullopt;
  }
  const auto& bounds = histogram.upper_bounds_seconds();
  // The rank, 1-based as Prometheus counts it; q = 0 is the smallest observation's bucket.
  const double rank = q * static_cast<double>(histogram.count());
  uint64_t below = 0;
  for (int i = 0; i < histogram.counts_size(); ++i) {
    const uint64_t in_bucket = histogram.counts(i);
    if (in_bucket == 0 || static_cast<double>(below + in_bucket) < rank) {
      below += in_bucket;
      continue;
    }
    if (i == bounds.size())
      return Quantile{.seconds = bounds.empty() ? 0 : bounds[i - 1], .above_last_bound = true};
    const double lower = i == 0 ? 0 : bounds[i - 1];
    const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
    return Quantile{.seconds = lower + (bounds[i] - lower) * std::max(0.0, fraction)};
  }
  return std::nullopt;  // Unreachable for a valid histogram with observations.
}

std::optional<v1::LatencyHistogram> HistogramDifference(const v1::LatencyHistogram& later,
                                                        const v1::LatencyHistogram& earlier) {
  if (!ValidateHistogram(later).ok() || !ValidateHistogram(earlier).ok() ||
      later.upper_bounds_seconds_size() != earlier.upper_bounds_seconds_size()) {
    return std::nullopt;
  }
  v1::LatencyHistogram difference;
  for (int i = 0; i < later.upper_bounds_seconds_size(); ++i) {
    if (later.upper_bounds_seconds(i) != earlier.upper_bounds_seconds(i)) return std::nullopt;
    difference.add_upper_bounds_seconds(later.upper_bounds_seconds(i));
  }
  for (int i = 0; i < later.counts_size(); ++i) {
    if (later.counts(i) < earlier.counts(i)) return std::nullopt;
    difference.add_counts(later.counts(i) - earlier.counts(i));
  }
  difference.set_count(later.count() - earlier.count());
  difference.set_sum_seconds(std::max(0.0, later.sum_seconds() - earlier.sum_seconds()));
  return difference;
}

}  // namespace esgw::client
