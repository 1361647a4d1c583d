// Monotonic time as an injectable seam. Everything in pool/ and server/ that measures time takes
// a Clock&; production code passes RealClock, tests pass a FakeClock that moves only when told.
// Thread-safe: implementations must allow Now() from any thread.
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace esgw {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic now. Only differences between two Now() values are meaningful.
  virtual absl::Time Now() const = 0;
  // Wall-clock now, for timestamps shown to people (e.g. NodeStats.dead_until).
  virtual absl::Time WallNow() const = 0;
};

// The process's clocks: steady for Now(), system for WallNow().
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
  absl::Time WallNow() const override { return absl::Now(); }
  // One shared instance for production code.
  static RealClock& Get();
};

}  // namespace esgw
