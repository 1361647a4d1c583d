// Exponential backoff as a pure policy: given how many failures in a row, how long to wait.
// Time and randomness belong to the caller (the random source is passed in per call).
// Thread-safe: immutable after construction.
#pragma once

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace esgw {

class BackoffPolicy {
 public:
  struct Options {
    absl::Duration base = absl::Seconds(1);
    absl::Duration cap = absl::Seconds(60);
    // The delay is scaled by a uniform factor in [1 - jitter, 1 + jitter].
    double jitter = 0.2;
  };

  // INVALID_ARGUMENT unless 0 < base <= cap (both finite) and 0 <= jitter < 1.
  static absl::Status Validate(const Options& options);

  // options must pass Validate.
  explicit BackoffPolicy(Options options) : options_(options) {}
  BackoffPolicy() : BackoffPolicy(Options{}) {}

  // min(base * 2^(k-1), cap) for the k-th failure in a row, without jitter; k < 1 counts as 1.
  absl::Duration Nominal(int consecutive_failures) const;

  // Nominal(k) scaled by the jitter factor drawn from gen; never zero or negative.
  absl::Duration Delay(int consecutive_failures, absl::BitGenRef gen) const;

  // How long a node stays dead after its k-th ejection in a row: Delay(k).
  absl::Duration DeadTimeout(int consecutive_failures, absl::BitGenRef gen) const {
    return Delay(consecutive_failures, gen);
  }

  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace esgw
