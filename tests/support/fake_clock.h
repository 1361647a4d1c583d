// A Clock that moves only when a test says so. Thread-safe.
#pragma once

#include "absl/synchronization/mutex.h"
#include "pool/clock.h"

namespace esgw::testing {

class FakeClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  absl::Time WallNow() const override {
    absl::MutexLock lock(&mu_);
    return wall_ + (now_ - absl::UnixEpoch());
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch() + absl::Hours(1);
  const absl::Time wall_ = absl::FromUnixSeconds(1'700'000'000);
};

}  // namespace esgw::testing
