#include "pool/backoff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace esgw {
namespace {

TEST(BackoffPolicyTest, NominalDoublesFromBaseUpToCap) {
  const BackoffPolicy policy;  // 1 s base, 60 s cap
  const int expected_seconds[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  for (int k = 1; k <= 9; ++k) {
    EXPECT_EQ(policy.Nominal(k), absl::Seconds(expected_seconds[k - 1])) << "k=" << k;
  }
}

TEST(BackoffPolicyTest, HugeAndNonPositiveCountsStayInRange) {
  const BackoffPolicy policy;
  EXPECT_EQ(policy.Nominal(0), absl::Seconds(1));
  EXPECT_EQ(policy.Nominal(-5), absl::Seconds(1));
  EXPECT_EQ(policy.Nominal(1'000'000), absl::Seconds(60));
}

TEST(BackoffPolicyTest, JitterStaysWithinTwentyPercentAndUsesTheWholeRange) {
  const BackoffPolicy policy;
  std::mt19937_64 gen(7);
  for (int k : {1, 3, 7, 20}) {
    const absl::Duration nominal = policy.Nominal(k);
    absl::Duration lo = absl::InfiniteDuration();
    absl::Duration hi = absl::ZeroDuration();
    for (int i = 0; i < 2000; ++i) {
      const absl::Duration d = policy.DeadTimeout(k, gen);
      ASSERT_GE(d, nominal * 0.8) << "k=" << k;
      ASSERT_LE(d, nominal * 1.2) << "k=" << k;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // The samples spread over (nearly) the whole band, not just around the nominal value.
    EXPECT_LT(lo, nominal * 0.82) << "k=" << k;
    EXPECT_GT(hi, nominal * 1.18) << "k=" << k;
  }
}

TEST(BackoffPolicyTest, ZeroJitterIsExact) {
  const BackoffPolicy policy({absl::Milliseconds(100), absl::Seconds(5), 0});
  std::mt19937_64 gen(1);
  EXPECT_EQ(policy.Delay(3, gen), absl::Milliseconds(400));
  EXPECT_EQ(policy.Delay(10, gen), absl::Seconds(5));
}

TEST(BackoffPolicyTest, SameSeedSameSequence) {
  const BackoffPolicy policy;
  std::mt19937_64 a(42);
  std::mt19937_64 b(42);
  for (int k = 1; k < 10; ++k) EXPECT_EQ(policy.Delay(k, a), policy.Delay(k, b));
}

TEST(BackoffPolicyTest, ValidateRejectsNonsense) {
  EXPECT_TRUE(BackoffPolicy::Validate({}).ok());
  EXPECT_FALSE(BackoffPolicy::Validate({absl::ZeroDuration(), absl::Seconds(1), 0.2}).ok());
  EXPECT_FALSE(BackoffPolicy::Validate({absl::Seconds(2), absl::Seconds(1), 0.2}).ok());
  EXPECT_FALSE(BackoffPolicy::Validate({absl::Seconds(1), absl::Seconds(2), 1.0}).ok());
  EXPECT_FALSE(BackoffPolicy::Validate({absl::Seconds(1), absl::Seconds(2), -0.1}).ok());
  EXPECT_FALSE(BackoffPolicy::Validate({absl::Seconds(1), absl::InfiniteDuration(), 0.2}).ok());
}

}  // namespace
}  // namespace esgw
