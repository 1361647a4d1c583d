// WaitFor: polls a condition until it holds or a timeout passes, for tests that must observe
// asynchronous effects without fixed sleeps.
//   EXPECT_TRUE(WaitFor([&] { return server.ready(); }, absl::Seconds(5), "server ready"));
// Stateless; thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace esgw::testing {

// Polls `cond` every 10-50 ms (starting fast, backing off) until it returns true or `timeout`
// passes. The failure message names `what` and the timeout.
inline ::testing::AssertionResult WaitFor(std::function<bool()> cond, absl::Duration timeout,
                                          std::string what) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration interval = absl::Milliseconds(10);
  while (true) {
    if (cond()) return ::testing::AssertionSuccess();
    if (absl::Now() >= deadline) {
      return ::testing::AssertionFailure()
             << "timed out after " << absl::FormatDuration(timeout) << " waiting for " << what;
    }
    absl::SleepFor(interval);
    interval = std::min(interval * 2, absl::Milliseconds(50));
  }
}

}  // namespace esgw::testing
