#include "pool/backoff.h"

#include "absl/random/distributions.h"

namespace esgw {

absl::Status BackoffPolicy::Validate(const Options& options) {
  if (options.base <= absl::ZeroDuration() || options.base == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("backoff base must be positive and finite");
  }
  if (options.cap < options.base || options.cap == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("backoff cap must be finite and at least the base");
  }
  // The negated test also rejects NaN.
  if (!(options.jitter >= 0 && options.jitter < 1)) {
    return absl::InvalidArgumentError("backoff jitter must be in [0, 1)");
  }
  return absl::OkStatus();
}

absl::Duration BackoffPolicy::Nominal(int consecutive_failures) const {
  absl::Duration delay = options_.base;
  // Doubling until the cap instead of computing 2^(k-1) keeps huge k from overflowing.
  for (int k = 1; k < consecutive_failures && delay < options_.cap; ++k) delay *= 2;
  return delay < options_.cap ? delay : options_.cap;
}

absl::Duration BackoffPolicy::Delay(int consecutive_failures, absl::BitGenRef gen) const {
  const absl::Duration nominal = Nominal(consecutive_failures);
  if (options_.jitter <= 0) return nominal;
  const double factor =
      absl::Uniform(absl::IntervalClosed, gen, 1 - options_.jitter, 1 + options_.jitter);
  const absl::Duration delay = nominal * factor;
  return delay > absl::ZeroDuration() ? delay : absl::Nanoseconds(1);
}

}  // namespace esgw
