#include "pool/retry_planner.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace esgw {
namespace {

RetryDecision No(std::string reason) { return {false, false, absl::ZeroDuration(), reason}; }

}  // namespace

std::optional<absl::Duration> ParseRetryAfterSeconds(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  for (char ch : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  }
  constexpr int64_t kDay = 86400;
  int64_t seconds = 0;
  // Too many digits for int64 is still "a very long time", not garbage.
  if (!absl::SimpleAtoi(value, &seconds) || seconds > kDay) seconds = kDay;
  return absl::Seconds(seconds);
}

RetryDecision RetryPlanner::Plan(FailureClass c, bool idempotent, int attempts,
                                 absl::Duration remaining, absl::string_view retry_after,
                                 bool stale_retried, absl::BitGenRef gen) const {
  if (c == FailureClass::kSuccess) return No("succeeded");
  if (c == FailureClass::kRequest) return No("the request was at fault; retrying cannot help");
  if (c == FailureClass::kLocal) return No("cancelled, deadline passed or local limit");
  if (remaining <= absl::ZeroDuration()) return No("deadline passed");

  if (c == FailureClass::kStale && !stale_retried) {
    return {true, true, absl::ZeroDuration(),
            "reused connection was closed by the server; retrying once on a fresh one"};
  }
  // The stale retry, when spent, does not use up the retry budget.
  const int retries_used = attempts - 1 - (stale_retried ? 1 : 0);
  if (retries_used >= options_.max_retries) {
    return No(absl::StrCat("gave up after ", options_.max_retries, " retries"));
  }
  switch (c) {
    case FailureClass::kHard:
      return {true, false, absl::ZeroDuration(), "nothing was sent; trying another node"};
    case FailureClass::kStale:  // a second one: the request may have reached the node
    case FailureClass::kSoft:
      if (!idempotent) return No("the request may have been applied and is not idempotent");
      return {true, false, absl::ZeroDuration(), "idempotent; trying another node"};
    case FailureClass::kBackpressure: {
      if (const std::optional<absl::Duration> server_says = ParseRetryAfterSeconds(retry_after);
          server_says.has_value()) {
        if (*server_says >= remaining) {
          return No(absl::StrCat("Retry-After ", absl::FormatDuration(*server_says),
                                 " does not fit in the ", absl::FormatDuration(remaining),
                                 " left"));
        }
        return {true, false, *server_says, "rejected (backpressure); waiting as Retry-After says"};
      }
      // The k-th backpressure retry waits about base * 2^(k-1).
      const absl::Duration delay = backpressure_backoff_.Delay(retries_used + 1, gen);
      if (delay >= remaining) {
        return No(absl::StrCat("backoff ", absl::FormatDuration(delay), " does not fit in the ",
                               absl::FormatDuration(remaining), " left"));
      }
      return {true, false, delay, "rejected (backpressure); backing off"};
    }
    case FailureClass::kSuccess:
    case FailureClass::kRequest:
    case FailureClass::kLocal:
      break;
  }
  return No("not retryable");
}

}  // namespace esgw
