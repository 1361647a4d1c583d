// Whether and how to retry after one failed attempt (DESIGN.md section 3, "retry" column): by
// failure class, idempotency, attempts made, the caller's deadline and Retry-After.
// Thread-safe: Plan is const and pure; the random source comes from the caller.
#pragma once

#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pool/backoff.h"
#include "pool/failure_class.h"

namespace esgw {

struct RetryDecision {
  bool retry = false;
  // Retry on the node that just failed (stale connection) rather than another one.
  bool same_node = false;
  // Wait this long before the next attempt.
  absl::Duration delay = absl::ZeroDuration();
  // Why, in words, for logs and error messages.
  std::string reason = "";
};

class RetryPlanner {
 public:
  struct Options {
    // Retries after the first attempt. The one stale-connection retry is not counted: it is a
    // reconnect, not a second try of the request.
    int max_retries = 3;
    // Backoff between backpressure (429) retries, by backpressure retry number.
    BackoffPolicy::Options backpressure_backoff{absl::Milliseconds(100), absl::Seconds(5), 0.2};
    // Each attempt of an idempotent request gets at most this long (never more than the time
    // left); an attempt that runs out is a timeout of its node (soft) and is retried elsewhere
    // while retries and the deadline allow. Zero gives every attempt all the time left. Not for
    // writes that are not idempotent: they cannot be retried, so cutting an attempt short only
    // turns a slow success into an unknown outcome.
    absl::Duration attempt_timeout = absl::ZeroDuration();
  };

  // options: max_retries >= 0 and a valid backoff (BackoffPolicy::Validate).
  explicit RetryPlanner(Options options)
      : options_(options), backpressure_backoff_(options.backpressure_backoff) {}
  RetryPlanner() : RetryPlanner(Options{}) {}

  // c: the failed attempt's class. idempotent: whether resending after bytes went out is safe.
  // attempts: attempts made so far (1 after the first). remaining: time left before the caller's
  // deadline. retry_after: the response's Retry-After header ("" if none); only the
  // delay-seconds form is used. stale_retried: the stale-connection retry was already spent.
  //   hard:         retry on another node at once (nothing was sent), idempotent or not.
  //   stale:        once, same node, no delay; a second stale counts as soft.
  //   soft:         another node at once, only if idempotent.
  //   backpressure: after Retry-After if given, else jittered backoff; only if the wait fits in
  //                 remaining (never cut short: retrying early defeats the server's request).
  //   request, local, success: never.
  // Never retries with remaining <= 0 or a delay that does not leave time for the attempt.
  RetryDecision Plan(FailureClass c, bool idempotent, int attempts, absl::Duration remaining,
                     absl::string_view retry_after, bool stale_retried, absl::BitGenRef gen) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
  BackoffPolicy backpressure_backoff_;
};

// Parses Retry-After's delay-seconds form ("120"); nullopt for a missing, malformed or HTTP-date
// value (we do not trust our wall clock against the server's). Values above a day read as a day.
std::optional<absl::Duration> ParseRetryAfterSeconds(absl::string_view value);

}  // namespace esgw
