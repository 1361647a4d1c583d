// Percentile estimates and interval differences of esgw's per-node latency histograms.
#include "client/latency_histogram.h"

#include <cmath>
#include <initializer_list>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace esgw::client {
namespace {

using ::testing::DoubleNear;
using ::testing::HasSubstr;

// Bounds 1, 2, 4 s and the given counts (the last for above 4 s).
v1::LatencyHistogram Histogram(std::initializer_list<uint64_t> counts, double sum = 0) {
  v1::LatencyHistogram h;
  for (double bound : {1.0, 2.0, 4.0}) h.add_upper_bounds_seconds(bound);
  uint64_t total = 0;
  for (uint64_t n : counts) {
    h.add_counts(n);
    total += n;
  }
  h.set_count(total);
  h.set_sum_seconds(sum);
  return h;
}

double Seconds(const v1::LatencyHistogram& h, double q) {
  const std::optional<Quantile> quantile = EstimateQuantile(h, q);
  EXPECT_TRUE(quantile.has_value()) << "q=" << q;
  if (!quantile.has_value()) return std::nan("");
  EXPECT_FALSE(quantile->above_last_bound) << "q=" << q;
  return quantile->seconds;
}

TEST(LatencyHistogramTest, InterpolatesInsideTheBucketTheRankFallsIn) {
  // 10 in (0, 1], 10 in (1, 2], none in (2, 4], 0 above.
  const v1::LatencyHistogram h = Histogram({10, 10, 0, 0});
  // Rank 10 of 20 is the last of the first bucket: its upper bound, as Prometheus gives.
  EXPECT_DOUBLE_EQ(Seconds(h, 0.5), 1.0);
  // Rank 5: half way through the first bucket, which starts at 0.
  EXPECT_DOUBLE_EQ(Seconds(h, 0.25), 0.5);
  // Rank 15: half way through (1, 2].
  EXPECT_DOUBLE_EQ(Seconds(h, 0.75), 1.5);
  // Rank 19.8: 98% through (1, 2].
  EXPECT_THAT(Seconds(h, 0.99), DoubleNear(1.98, 1e-12));
  EXPECT_DOUBLE_EQ(Seconds(h, 1), 2.0);
  // q = 0: the lower bound of the first bucket with observations, not of an empty one.
  EXPECT_DOUBLE_EQ(Seconds(Histogram({0, 0, 4, 0}), 0), 2.0);
}

TEST(LatencyHistogramTest, SkipsEmptyBucketsBetweenObservations) {
  // 1 fast, 1 slow: the median is the fast one's bucket's top; p99 lands in (2, 4].
  const v1::LatencyHistogram h = Histogram({1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(Seconds(h, 0.5), 1.0);
  EXPECT_THAT(Seconds(h, 0.99), DoubleNear(2 + 2 * 0.98, 1e-12));
}

TEST(LatencyHistogramTest, AboveTheLastBoundSaysSoWithTheLastBound) {
  const std::optional<Quantile> q = EstimateQuantile(Histogram({1, 0, 0, 9}), 0.5);
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->above_last_bound);
  EXPECT_DOUBLE_EQ(q->seconds, 4.0);
}

TEST(LatencyHistogramTest, NoEstimateFromNothingOrFromNonsense) {
  EXPECT_FALSE(EstimateQuantile(Histogram({0, 0, 0, 0}), 0.5).has_value());
  EXPECT_FALSE(EstimateQuantile(v1::LatencyHistogram(), 0.5).has_value());
  EXPECT_FALSE(EstimateQuantile(Histogram({1, 1, 1, 1}), -0.1).has_value());
  EXPECT_FALSE(EstimateQuantile(Histogram({1, 1, 1, 1}), 1.5).has_value());
  EXPECT_FALSE(EstimateQuantile(Histogram({1, 1, 1, 1}), std::nan("")).has_value());

  v1::LatencyHistogram short_counts = Histogram({1, 1, 1});
  EXPECT_THAT(ValidateHistogram(short_counts).message(), HasSubstr("LatencyHistogram.counts"));
  EXPECT_FALSE(EstimateQuantile(short_counts, 0.5).has_value());

  v1::LatencyHistogram wrong_count = Histogram({1, 1, 1, 1});
  wrong_count.set_count(5);
  EXPECT_THAT(ValidateHistogram(wrong_count).message(), HasSubstr("LatencyHistogram.count:"));
  EXPECT_FALSE(EstimateQuantile(wrong_count, 0.5).has_value());

  v1::LatencyHistogram unordered = Histogram({1, 1, 1, 1});
  unordered.set_upper_bounds_seconds(2, 1.5);
  EXPECT_THAT(ValidateHistogram(unordered).message(), HasSubstr("upper_bounds_seconds[2]"));
  v1::LatencyHistogram infinite = Histogram({1, 1, 1, 1});
  infinite.set_upper_bounds_seconds(0, std::numeric_limits<double>::infinity());
  EXPECT_FALSE(ValidateHistogram(infinite).ok());

  v1::LatencyHistogram overflowing = Histogram({0, 0, 0, 0});
  overflowing.set_counts(0, UINT64_MAX);
  overflowing.set_counts(1, 2);
  overflowing.set_count(1);
  EXPECT_THAT(ValidateHistogram(overflowing).message(), HasSubstr("overflows"));
  EXPECT_TRUE(ValidateHistogram(Histogram({1, 2, 3, 4})).ok());
}

TEST(LatencyHistogramTest, DifferenceIsWhatHappenedBetweenTwoSamples) {
  const v1::LatencyHistogram earlier = Histogram({100, 0, 0, 0}, 50);
  const v1::LatencyHistogram later = Histogram({100, 0, 10, 0}, 80);
  const std::optional<v1::LatencyHistogram> between = HistogramDifference(later, earlier);
  ASSERT_TRUE(between.has_value());
  EXPECT_EQ(between->count(), 10u);
  EXPECT_DOUBLE_EQ(between->sum_seconds(), 30);
  EXPECT_TRUE(ValidateHistogram(*between).ok());
  // Over the lifetime the median is fast; over the interval every request was slow.
  EXPECT_LT(Seconds(later, 0.5), 1.0);
  EXPECT_GT(Seconds(*between, 0.5), 2.0);

  // Counters that went back (a restarted esgw) or other buckets: no difference to take.
  EXPECT_FALSE(HistogramDifference(earlier, later).has_value());
  v1::LatencyHistogram other_bounds = later;
  other_bounds.set_upper_bounds_seconds(0, 0.5);
  EXPECT_FALSE(HistogramDifference(other_bounds, earlier).has_value());
  EXPECT_FALSE(HistogramDifference(later, v1::LatencyHistogram()).has_value());
}

}  // namespace
}  // namespace esgw::client
