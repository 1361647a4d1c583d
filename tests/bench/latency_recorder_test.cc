#include "bench/latency_recorder.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace esgw::bench {
namespace {

TEST(LatencyRecorderTest, BucketsTileTheRangeWithoutGapsOrOverlap) {
  int64_t next = 0;
  for (int bucket = 0; bucket <= LatencyRecorder::BucketOf(LatencyRecorder::kMaxValue); ++bucket) {
    ASSERT_EQ(LatencyRecorder::LowestIn(bucket), next) << "bucket " << bucket;
    ASSERT_GE(LatencyRecorder::HighestIn(bucket), LatencyRecorder::LowestIn(bucket));
    ASSERT_EQ(LatencyRecorder::BucketOf(LatencyRecorder::LowestIn(bucket)), bucket);
    ASSERT_EQ(LatencyRecorder::BucketOf(LatencyRecorder::HighestIn(bucket)), bucket);
    next = LatencyRecorder::HighestIn(bucket) + 1;
  }
  EXPECT_EQ(next, LatencyRecorder::kMaxValue + 1);
}

TEST(LatencyRecorderTest, SmallValuesAreExact) {
  LatencyRecorder recorder;
  for (int64_t v = 1; v <= 1000; ++v) recorder.Record(v);
  EXPECT_EQ(recorder.ValueAt(0.5), 500);
  EXPECT_EQ(recorder.ValueAt(0.99), 990);
  EXPECT_EQ(recorder.ValueAt(0.999), 999);
  EXPECT_EQ(recorder.ValueAt(1.0), 1000);
  EXPECT_EQ(recorder.min(), 1);
  EXPECT_DOUBLE_EQ(recorder.mean(), 500.5);
}

// Against the exact order statistics of a long-tailed sample, every quantile is within the
// stated relative precision.
TEST(LatencyRecorderTest, QuantilesOfALogNormalSampleAreWithinOneTenthOfAPercent) {
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(std::log(200'000.0), 1.0);  // ~200 us median
  LatencyRecorder recorder;
  std::vector<int64_t> exact;
  for (int i = 0; i < 200'000; ++i) {
    const int64_t v = static_cast<int64_t>(latency(random));
    recorder.Record(v);
    exact.push_back(v);
  }
  std::sort(exact.begin(), exact.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * exact.size()));
    const double truth = static_cast<double>(exact[rank - 1]);
    EXPECT_NEAR(static_cast<double>(recorder.ValueAt(q)), truth, truth * 0.001) << "q=" << q;
  }
  EXPECT_EQ(recorder.max(), exact.back());
  EXPECT_EQ(recorder.count(), 200'000);
}

TEST(LatencyRecorderTest, MergeEqualsRecordingEverythingInOne) {
  LatencyRecorder a, b, all;
  for (int64_t v = 0; v < 50'000; ++v) {
    const int64_t value = v * v % 9'999'991;
    (v % 3 == 0 ? a : b).Record(value);
    all.Record(value);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    EXPECT_EQ(a.ValueAt(q), all.ValueAt(q)) << "q=" << q;
  }
}

TEST(LatencyRecorderTest, OutOfRangeValuesAreClampedAndCounted) {
  LatencyRecorder recorder;
  EXPECT_EQ(recorder.ValueAt(0.5), 0);
  recorder.Record(-5);
  recorder.Record(LatencyRecorder::kMaxValue + 12345);
  EXPECT_EQ(recorder.count(), 2);
  EXPECT_EQ(recorder.clamped(), 1);
  EXPECT_EQ(recorder.min(), 0);
  EXPECT_EQ(recorder.max(), LatencyRecorder::kMaxValue);
  EXPECT_EQ(recorder.ValueAt(0.5), 0);
}

}  // namespace
}  // namespace esgw::bench
