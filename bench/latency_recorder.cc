#include "bench/latency_recorder.h"

#include <algorithm>
#include <cmath>

namespace esgw::bench {
namespace {

constexpr int64_t kFull = int64_t{1} << LatencyRecorder::kSubBucketBits;
constexpr int64_t kHalf = kFull / 2;

int MostSignificantBit(int64_t value) {
  return 63 - __builtin_clzll(static_cast<unsigned long long>(value));
}

}  // namespace

LatencyRecorder::LatencyRecorder() : counts_(static_cast<size_t>(BucketOf(kMaxValue)) + 1, 0) {}

int LatencyRecorder::BucketOf(int64_t nanos) {
  if (nanos < kFull) return static_cast<int>(std::max<int64_t>(nanos, 0));
  const int shift = MostSignificantBit(nanos) - (kSubBucketBits - 1);
  return static_cast<int>(kFull + (shift - 1) * kHalf + ((nanos >> shift) - kHalf));
}

int64_t LatencyRecorder::LowestIn(int bucket) {
  if (bucket < kFull) return bucket;
  const int64_t k = bucket - kFull;
  const int shift = static_cast<int>(k / kHalf) + 1;
  return (k % kHalf + kHalf) << shift;
}

int64_t LatencyRecorder::HighestIn(int bucket) {
  if (bucket < kFull) return bucket;
  const int shift = static_cast<int>((bucket - kFull) / kHalf) + 1;
  return LowestIn(bucket) + (int64_t{1} << shift) - 1;
}

void LatencyRecorder::Record(int64_t nanos) {
  nanos = std::max<int64_t>(nanos, 0);
  if (nanos > kMaxValue) {
    nanos = kMaxValue;
    ++clamped_;
  }
  ++counts_[static_cast<size_t>(BucketOf(nanos))];
  min_ = count_ == 0 ? nanos : std::min(min_, nanos);
  max_ = std::max(max_, nanos);
  sum_ += nanos;
  ++count_;
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
  clamped_ += other.clamped_;
}

int64_t LatencyRecorder::ValueAt(double q) const {
  if (count_ == 0) return 0;
  if (!(q < 1)) return max_;
  q = std::max(q, 0.0);
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    const int bucket = static_cast<int>(i);
    const int64_t mid = LowestIn(bucket) + (HighestIn(bucket) - LowestIn(bucket)) / 2;
    return std::clamp(mid, min_, max_);
  }
  return max_;
}

}  // namespace esgw::bench
