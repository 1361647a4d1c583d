// A latency histogram for load generators, in the manner of HdrHistogram: log-linear buckets
// with a fixed relative precision, so that p99.9 of a million samples costs a few hundred
// kilobytes and an O(1) record instead of a sorted vector of every sample.
//
// Values are nanoseconds. Below 2^kSubBucketBits every value has its own bucket (exact); above,
// each power of two is split into 2^(kSubBucketBits-1) equal buckets, so a reported value is
// within 1/2^(kSubBucketBits-1) (about 0.1%) of a recorded one. Values above kMaxValue are
// clamped to it and counted in clamped(). The minimum, maximum and sum are exact.
//
// Not thread-safe: one recorder per thread, then Merge, or a lock around Record.
#pragma once

#include <cstdint>
#include <vector>

namespace esgw::bench {

class LatencyRecorder {
 public:
  static constexpr int kSubBucketBits = 11;
  // About 18 minutes.
  static constexpr int64_t kMaxValue = (int64_t{1} << 40) - 1;

  LatencyRecorder();

  // Negative values count as 0.
  void Record(int64_t nanos);
  void Merge(const LatencyRecorder& other);

  int64_t count() const { return count_; }
  int64_t clamped() const { return clamped_; }
  // 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }

  // The value at quantile q (clamped to [0, 1]): the midpoint of the bucket holding the sample
  // of rank ceil(q x count), kept within [min, max]; q = 1 is max exactly. 0 when empty.
  int64_t ValueAt(double q) const;

  // Bucket arithmetic, public for tests: the bucket of a value, and the lowest and highest
  // values a bucket holds.
  static int BucketOf(int64_t nanos);
  static int64_t LowestIn(int bucket);
  static int64_t HighestIn(int bucket);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t clamped_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace esgw::bench
