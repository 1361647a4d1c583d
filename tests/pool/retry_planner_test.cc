#include "pool/retry_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace esgw {
namespace {

constexpr absl::Duration kPlenty = absl::Seconds(30);

class RetryPlannerTest : public ::testing::Test {
 protected:
  RetryDecision Plan(FailureClass c, bool idempotent, int attempts = 1,
                     absl::Duration remaining = kPlenty, absl::string_view retry_after = "",
                     bool stale_retried = false) {
    return planner_.Plan(c, idempotent, attempts, remaining, retry_after, stale_retried, gen_);
  }
  RetryPlanner planner_;
  std::mt19937_64 gen_{5};
};

// ---- the retry column of DESIGN.md section 3, each class x idempotent or not ----

TEST_F(RetryPlannerTest, HardRetriesElsewhereAtOnceEvenIfNotIdempotent) {
  for (bool idempotent : {true, false}) {
    const RetryDecision d = Plan(FailureClass::kHard, idempotent);
    EXPECT_TRUE(d.retry);
    EXPECT_FALSE(d.same_node);
    EXPECT_EQ(d.delay, absl::ZeroDuration());
  }
}

TEST_F(RetryPlannerTest, StaleRetriesOnceOnTheSameNode) {
  for (bool idempotent : {true, false}) {
    const RetryDecision d = Plan(FailureClass::kStale, idempotent);
    EXPECT_TRUE(d.retry);
    EXPECT_TRUE(d.same_node);
    EXPECT_EQ(d.delay, absl::ZeroDuration());
  }
  // A second stale: only as safe as a soft failure.
  EXPECT_FALSE(Plan(FailureClass::kStale, false, 2, kPlenty, "", true).retry);
  const RetryDecision again = Plan(FailureClass::kStale, true, 2, kPlenty, "", true);
  EXPECT_TRUE(again.retry);
  EXPECT_FALSE(again.same_node);
}

TEST_F(RetryPlannerTest, SoftRetriesElsewhereOnlyWhenIdempotent) {
  const RetryDecision yes = Plan(FailureClass::kSoft, true);
  EXPECT_TRUE(yes.retry);
  EXPECT_FALSE(yes.same_node);
  EXPECT_EQ(yes.delay, absl::ZeroDuration());
  const RetryDecision no = Plan(FailureClass::kSoft, false);
  EXPECT_FALSE(no.retry);
  EXPECT_THAT(no.reason, ::testing::HasSubstr("not idempotent"));
}

TEST_F(RetryPlannerTest, BackpressureBacksOffWithJitterWhateverTheIdempotency) {
  for (bool idempotent : {true, false}) {
    for (int attempts = 1; attempts <= 3; ++attempts) {
      const RetryDecision d = Plan(FailureClass::kBackpressure, idempotent, attempts);
      EXPECT_TRUE(d.retry);
      // 100 ms, 200 ms, 400 ms +-20 %
      const absl::Duration nominal = absl::Milliseconds(100) * (1 << (attempts - 1));
      EXPECT_GE(d.delay, nominal * 0.8);
      EXPECT_LE(d.delay, nominal * 1.2);
    }
  }
}

TEST_F(RetryPlannerTest, BackpressureDelaysAreJitteredNotFixed) {
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (int i = 0; i < 500; ++i) {
    const absl::Duration d = Plan(FailureClass::kBackpressure, true).delay;
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, absl::Milliseconds(85));
  EXPECT_GT(hi, absl::Milliseconds(115));
}

TEST_F(RetryPlannerTest, RequestLocalAndSuccessNeverRetry) {
  for (bool idempotent : {true, false}) {
    EXPECT_FALSE(Plan(FailureClass::kRequest, idempotent).retry);
    EXPECT_FALSE(Plan(FailureClass::kLocal, idempotent).retry);
    EXPECT_FALSE(Plan(FailureClass::kSuccess, idempotent).retry);
  }
}

// ---- limits ----

TEST_F(RetryPlannerTest, AtMostMaxRetries) {
  EXPECT_TRUE(Plan(FailureClass::kHard, true, 3).retry);  // third retry
  const RetryDecision d = Plan(FailureClass::kHard, true, 4);
  EXPECT_FALSE(d.retry);
  EXPECT_THAT(d.reason, ::testing::HasSubstr("3 retries"));
}

TEST_F(RetryPlannerTest, TheStaleRetryDoesNotUseUpTheBudget) {
  // Attempt 1 stale, then three retries on other nodes: attempts 2..4 may still retry.
  EXPECT_TRUE(Plan(FailureClass::kHard, true, 4, kPlenty, "", true).retry);
  EXPECT_FALSE(Plan(FailureClass::kHard, true, 5, kPlenty, "", true).retry);
}

TEST_F(RetryPlannerTest, ZeroMaxRetriesStillReconnectsAStaleConnection) {
  RetryPlanner planner({0, {}});
  EXPECT_TRUE(planner.Plan(FailureClass::kStale, false, 1, kPlenty, "", false, gen_).retry);
  EXPECT_FALSE(planner.Plan(FailureClass::kHard, true, 1, kPlenty, "", false, gen_).retry);
}

TEST_F(RetryPlannerTest, NeverPastTheDeadline) {
  for (FailureClass c : {FailureClass::kHard, FailureClass::kStale, FailureClass::kSoft,
                         FailureClass::kBackpressure}) {
    EXPECT_FALSE(Plan(c, true, 1, absl::ZeroDuration()).retry);
    EXPECT_FALSE(Plan(c, true, 1, -absl::Seconds(1)).retry);
  }
  // A backoff that would not leave time for the attempt is not taken.
  EXPECT_FALSE(Plan(FailureClass::kBackpressure, true, 1, absl::Milliseconds(50)).retry);
  EXPECT_TRUE(Plan(FailureClass::kBackpressure, true, 1, absl::Milliseconds(500)).retry);
}

TEST_F(RetryPlannerTest, RetryAfterSecondsIsHonoured) {
  const RetryDecision d = Plan(FailureClass::kBackpressure, true, 1, kPlenty, "2");
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay, absl::Seconds(2));
  EXPECT_EQ(Plan(FailureClass::kBackpressure, true, 1, kPlenty, " 0 ").delay, absl::ZeroDuration());
}

TEST_F(RetryPlannerTest, RetryAfterBeyondTheDeadlineMeansNoRetry) {
  const RetryDecision d = Plan(FailureClass::kBackpressure, true, 1, absl::Seconds(5), "10");
  EXPECT_FALSE(d.retry);
  EXPECT_THAT(d.reason, ::testing::HasSubstr("Retry-After"));
  EXPECT_FALSE(Plan(FailureClass::kBackpressure, true, 1, kPlenty, "99999999999999999999").retry);
}

TEST_F(RetryPlannerTest, RetryAfterHttpDateOrGarbageFallsBackToBackoff) {
  for (const char* value : {"Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-3", "1.5"}) {
    const RetryDecision d = Plan(FailureClass::kBackpressure, true, 1, kPlenty, value);
    EXPECT_TRUE(d.retry) << value;
    EXPECT_LE(d.delay, absl::Milliseconds(120)) << value;
  }
}

TEST(ParseRetryAfterSecondsTest, Forms) {
  EXPECT_EQ(ParseRetryAfterSeconds("120"), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfterSeconds("999999"), absl::Hours(24));
  EXPECT_EQ(ParseRetryAfterSeconds(""), std::nullopt);
  EXPECT_EQ(ParseRetryAfterSeconds("Fri, 31 Dec 1999 23:59:59 GMT"), std::nullopt);
}

}  // namespace
}  // namespace esgw
