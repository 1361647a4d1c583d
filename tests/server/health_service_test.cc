// HealthService's two kinds of name: readiness follows SetServing and ends at Shutdown; liveness
// follows how recently SetServing was called, on a fake clock, and outlives Shutdown.
#include "server/health_service.h"

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace esgw {
namespace {

using grpc::health::v1::HealthCheckResponse;

class HealthServiceTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  HealthService health_{HealthService::Options{.services = {"esgw.v1.Gateway"},
                                               .liveness_services = {"esgw.v1.Admin"},
                                               .clock = &clock_,
                                               .liveness_timeout = absl::Seconds(10)}};
};

TEST_F(HealthServiceTest, ReadinessStartsNotServingAndFollowsSetServing) {
  EXPECT_EQ(health_.StatusFor(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Gateway"), HealthCheckResponse::NOT_SERVING);
  health_.SetServing(true);
  EXPECT_EQ(health_.StatusFor(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Gateway"), HealthCheckResponse::SERVING);
  EXPECT_TRUE(health_.serving());
  health_.SetServing(false);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Gateway"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, LivenessIgnoresTheClusterAndGoesStaleWithoutTicks) {
  // Serving from the start, and while no Elasticsearch node can take requests.
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::SERVING);
  health_.SetServing(false);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::SERVING);
  // No tick for longer than the timeout: the process is wedged.
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_.StatusFor(""), HealthCheckResponse::NOT_SERVING);
  // The next tick brings it back.
  health_.SetServing(false);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::SERVING);
}

TEST_F(HealthServiceTest, ShutdownEndsReadinessButNotLiveness) {
  health_.SetServing(true);
  health_.Shutdown();
  EXPECT_EQ(health_.StatusFor(""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Gateway"), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(health_.serving());
  // Draining is not a reason for a liveness probe to restart the process.
  clock_.Advance(absl::Seconds(5));
  health_.SetServing(true);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::SERVING);
  EXPECT_EQ(health_.StatusFor("esgw.v1.Gateway"), HealthCheckResponse::NOT_SERVING);
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(health_.StatusFor("esgw.v1.Admin"), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthServiceTest, UnknownNamesAreUnknown) {
  EXPECT_EQ(health_.StatusFor("esgw.v1.Nope"), HealthCheckResponse::SERVICE_UNKNOWN);
  EXPECT_EQ(health_.StatusFor("grpc.health.v1.Health"), HealthCheckResponse::SERVICE_UNKNOWN);
}

}  // namespace
}  // namespace esgw
