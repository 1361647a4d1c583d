#include "pool/prober.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using testing::IsOk;
using testing::StatusIs;

constexpr char kA[] = "127.0.0.1:9200";
constexpr char kB[] = "127.0.0.1:9201";

class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodePool::Options options;
    options.mode = PoolMode::kStatic;
    options.backoff.jitter = 0;
    options.clock = &clock_;
    std::vector<NodeInfo> seeds(2);
    seeds[0].endpoint = {"http", "127.0.0.1", 9200};
    seeds[1].endpoint = {"http", "127.0.0.1", 9201};
    auto pool = NodePool::Create(options, seeds);
    ASSERT_THAT(pool, IsOk());
    pool_ = *std::move(pool);
    auto prober = Prober::Create({}, pool_.get(), &transport_);
    ASSERT_THAT(prober, IsOk());
    prober_ = *std::move(prober);
  }

  void Kill(const std::string& host_port) {
    auto lease = pool_->SelectNode(host_port);
    ASSERT_THAT(lease, IsOk());
    pool_->Record(*std::move(lease), FailureClass::kHard, absl::ZeroDuration());
  }

  NodeStatsSnapshot Stats(const std::string& host_port) {
    for (const NodeStatsSnapshot& n : pool_->Snapshot().nodes) {
      if (n.info.endpoint.HostPort() == host_port) return n;
    }
    return {};
  }

  FakeClock clock_;
  FakeTransport transport_;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Prober> prober_;
};

TEST_F(ProberTest, CreateValidates) {
  EXPECT_THAT(Prober::Create({}, nullptr, &transport_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Prober::Create({absl::ZeroDuration()}, pool_.get(), &transport_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ProberTest, NothingDueSendsNothing) {
  EXPECT_EQ(prober_->RunOnce(), 0);
  Kill(kA);
  EXPECT_EQ(prober_->RunOnce(), 0);  // its deadline has not passed
  EXPECT_TRUE(transport_.exchanges().empty());
}

TEST_F(ProberTest, ProbePassingRevivesTheNode) {
  transport_.SetResponder(
      [](const Endpoint&, const HttpRequest&) { return FakeTransport::Ok(R"({"tagline":"x"})"); });
  Kill(kA);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(prober_->RunOnce(), 1);
  const auto exchanges = transport_.exchanges();
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0].node.HostPort(), kA);
  EXPECT_EQ(exchanges[0].request.method, HttpMethod::kGet);
  EXPECT_EQ(exchanges[0].request.path, "/");
  EXPECT_EQ(exchanges[0].request.timeout, absl::Seconds(1));
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_DOUBLE_EQ(Stats(kA).weight, 0.1);  // slow-start
}

TEST_F(ProberTest, ProbeFailingKeepsTheNodeDeadLonger) {
  transport_.SetResponder([](const Endpoint&, const HttpRequest&) {
    return FakeTransport::Failed(TransportError::kConnectFailed);
  });
  Kill(kA);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(prober_->RunOnce(), 1);
  EXPECT_EQ(Stats(kA).state, NodeState::kDead);
  EXPECT_EQ(Stats(kA).dead_until, clock_.Now() + absl::Seconds(2));
}

TEST_F(ProberTest, OneProbePerNodeUntilItAnswers) {
  Kill(kA);
  Kill(kB);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(prober_->RunOnce(), 2);
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(prober_->RunOnce(), 0);  // both still out
  EXPECT_EQ(Stats(kA).state, NodeState::kProbing);
  transport_.Complete(0, FakeTransport::Ok("{}"));
  transport_.Complete(1, FakeTransport::Failed(TransportError::kTimeout));
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_EQ(Stats(kB).state, NodeState::kDead);
  EXPECT_EQ(transport_.exchanges().size(), 2u);
}

TEST_F(ProberTest, AProbeMayFinishAfterTheProberIsGone) {
  Kill(kA);
  clock_.Advance(absl::Seconds(1));
  prober_->RunOnce();
  prober_.reset();
  transport_.Complete(0, FakeTransport::Ok("{}"));
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
}

TEST_F(ProberTest, AProxyPageIsNoSignOfLife) {
  Kill(kA);
  clock_.Advance(absl::Seconds(1));
  prober_->RunOnce();
  HttpResponse page = FakeTransport::Ok("<html>upstream down</html>");
  page.content_type = "text/html";
  transport_.Complete(0, page);
  EXPECT_EQ(Stats(kA).state, NodeState::kDead);
}

TEST(ProbeAnsweredTest, AnyAnswerThatDoesNotBlameTheNode) {
  EXPECT_TRUE(ProbeAnswered(FakeTransport::Ok("{}")));
  EXPECT_TRUE(ProbeAnswered(FakeTransport::Ok("{}", 401)));  // reachable; credentials aside
  EXPECT_TRUE(ProbeAnswered(FakeTransport::Ok("{}", 429)));  // busy, not broken
  EXPECT_FALSE(ProbeAnswered(FakeTransport::Ok("{}", 503)));
  EXPECT_FALSE(ProbeAnswered(FakeTransport::Ok("<html>", 502)));
  EXPECT_FALSE(ProbeAnswered(FakeTransport::Failed(TransportError::kConnectFailed)));
  EXPECT_FALSE(ProbeAnswered(FakeTransport::Failed(TransportError::kTimeout)));
  EXPECT_FALSE(ProbeAnswered(FakeTransport::Failed(TransportError::kCancelled)));
}

}  // namespace
}  // namespace esgw
