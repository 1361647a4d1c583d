#include "pool/clock.h"

#include <chrono>

namespace esgw {

absl::Time RealClock::Now() const {
  // absl::Now() is the wall clock and can jump; durations must come from the steady clock.
  const auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
  return absl::UnixEpoch() + absl::FromChrono(since_epoch);
}

RealClock& RealClock::Get() {
  static RealClock clock;
  return clock;
}

}  // namespace esgw
