#include "pool/node_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using testing::FakeTransport;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::StatusIs;

constexpr char kA[] = "127.0.0.1:9200";
constexpr char kB[] = "127.0.0.1:9201";
constexpr char kC[] = "127.0.0.1:9202";

NodeInfo Info(int port, std::string name = "") {
  NodeInfo info;
  info.name = std::move(name);
  info.endpoint = {"http", "127.0.0.1", port};
  return info;
}

HttpResponse Answer(int status, std::string body = "{}") { return FakeTransport::Ok(body, status); }

class NodePoolTest : public ::testing::Test {
 protected:
  // Jitter off by default, so dead timeouts are exact.
  NodePool::Options DefaultOptions() {
    NodePool::Options options;
    options.backoff.jitter = 0;
    options.random_seed = 1;
    options.clock = &clock_;
    return options;
  }

  void Make(NodePool::Options options, int nodes = 3) {
    std::vector<NodeInfo> seeds;
    for (int i = 0; i < nodes; ++i) seeds.push_back(Info(9200 + i));
    auto pool = NodePool::Create(options, seeds);
    ASSERT_THAT(pool, IsOk());
    pool_ = *std::move(pool);
    pool_->SetListener([this](const PoolEvent& e) {
      events_.push_back(
          absl::StrCat(PoolEventKindName(e.kind), e.host_port.empty() ? "" : " ", e.host_port));
    });
  }
  void SetUp() override { Make(DefaultOptions()); }

  // Records one attempt on exactly this node.
  void Hit(const std::string& host_port, FailureClass outcome,
           absl::Duration latency = absl::Milliseconds(10)) {
    auto lease = pool_->SelectNode(host_port);
    ASSERT_THAT(lease, IsOk());
    pool_->Record(*std::move(lease), outcome, latency);
  }

  NodeStatsSnapshot Stats(const std::string& host_port) {
    for (const NodeStatsSnapshot& n : pool_->Snapshot().nodes) {
      if (n.info.endpoint.HostPort() == host_port) return n;
    }
    ADD_FAILURE() << host_port << " is not in the pool";
    return {};
  }
  bool InPool(const std::string& host_port) { return pool_->Contains(host_port); }

  std::string SelectOne(const std::vector<std::string>& tried = {}) {
    auto lease = pool_->Select(tried);
    if (!lease.ok()) return "";
    std::string host_port = lease->host_port();
    pool_->Record(*std::move(lease), FailureClass::kSuccess, absl::Milliseconds(10));
    return host_port;
  }

  FakeClock clock_;
  std::unique_ptr<NodePool> pool_;
  std::vector<std::string> events_;
};

TEST_F(NodePoolTest, CreateValidates) {
  NodePool::Options o = DefaultOptions();
  EXPECT_THAT(NodePool::Create(o, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NodePool::Create(o, {Info(9200), Info(9200)}),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("twice")));
  EXPECT_THAT(NodePool::Create(o, {Info(0)}), StatusIs(absl::StatusCode::kInvalidArgument));
  o.soft_failure_threshold = 0;
  EXPECT_THAT(NodePool::Create(o, {Info(9200)}), StatusIs(absl::StatusCode::kInvalidArgument));
  o = DefaultOptions();
  o.latency_ewma_alpha = 0;
  EXPECT_THAT(NodePool::Create(o, {Info(9200)}), StatusIs(absl::StatusCode::kInvalidArgument));
  o = DefaultOptions();
  o.backoff.cap = absl::Milliseconds(10);
  EXPECT_THAT(NodePool::Create(o, {Info(9200)}), StatusIs(absl::StatusCode::kInvalidArgument));
  o = DefaultOptions();
  o.clock = nullptr;
  EXPECT_THAT(NodePool::Create(o, {Info(9200)}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(NodePoolTest, SeedsStartAliveAtFullWeight) {
  const PoolSnapshot s = pool_->Snapshot();
  ASSERT_EQ(s.nodes.size(), 3u);
  for (const NodeStatsSnapshot& n : s.nodes) {
    EXPECT_EQ(n.state, NodeState::kAlive);
    EXPECT_TRUE(n.info.seed);
    EXPECT_EQ(n.weight, 1);
  }
  EXPECT_EQ(s.pool_mode, "sniffing");
  EXPECT_EQ(s.selector, "least_loaded");
  EXPECT_TRUE(pool_->HasUsableNode());
}

// ---- DESIGN.md section 3, one test per row of the failure-class table ----

TEST_F(NodePoolTest, RowConnectFailureEjectsAtOnce) {
  Hit(kA, Classify(FakeTransport::Failed(TransportError::kConnectFailed)));
  const NodeStatsSnapshot a = Stats(kA);
  EXPECT_EQ(a.state, NodeState::kDead);
  EXPECT_EQ(a.consecutive_failures, 1);
  EXPECT_EQ(a.dead_until, clock_.Now() + absl::Seconds(1));
  EXPECT_EQ(a.failures_total, 1);
  EXPECT_THAT(events_, ElementsAre(absl::StrCat("node_ejected ", kA)));
}

TEST_F(NodePoolTest, RowStaleReusedConnectionBlamesNobody) {
  for (int i = 0; i < 10; ++i) {
    Hit(kA, Classify(FakeTransport::Failed(TransportError::kStaleConnection, true)));
  }
  const NodeStatsSnapshot a = Stats(kA);
  EXPECT_EQ(a.state, NodeState::kAlive);
  EXPECT_EQ(a.consecutive_failures, 0);
  EXPECT_EQ(a.failures_total, 0);
  EXPECT_EQ(a.failures_by_class.at(FailureClass::kStale), 10);
}

TEST_F(NodePoolTest, RowResetOrTimeoutAfterSendCountsAndEjectsAtThreshold) {
  Hit(kA, Classify(FakeTransport::Failed(TransportError::kConnectionLost)));
  Hit(kA, Classify(FakeTransport::Failed(TransportError::kTimeout)));
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_EQ(Stats(kA).consecutive_failures, 2);
  Hit(kA, Classify(FakeTransport::Failed(TransportError::kTimeout)));
  EXPECT_EQ(Stats(kA).state, NodeState::kDead);
  // The first ejection waits the base, not 2^(failures-1): the exponent counts ejections.
  EXPECT_EQ(Stats(kA).dead_until, clock_.Now() + absl::Seconds(1));
}

TEST_F(NodePoolTest, RowHttp502503504EjectAfterThreeInARowOnly) {
  for (int status : {502, 503, 504}) {
    SCOPED_TRACE(status);
    Make(DefaultOptions());
    Hit(kA, Classify(Answer(status)));
    Hit(kA, Classify(Answer(status)));
    Hit(kA, FailureClass::kSuccess);  // breaks the run
    Hit(kA, Classify(Answer(status)));
    Hit(kA, Classify(Answer(status)));
    EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
    Hit(kA, Classify(Answer(status)));
    EXPECT_EQ(Stats(kA).state, NodeState::kDead);
    EXPECT_EQ(Stats(kA).failures_total, 5);
  }
}

TEST_F(NodePoolTest, RowBackpressureNeverEjects) {
  const HttpResponse rejected = Answer(
      503,
      R"({"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"queue full"}],"type":"es_rejected_execution_exception","reason":"queue full"},"status":503})");
  for (int i = 0; i < 20; ++i) {
    Hit(kA, Classify(Answer(429)));
    Hit(kA, Classify(rejected));
  }
  const NodeStatsSnapshot a = Stats(kA);
  EXPECT_EQ(a.state, NodeState::kAlive);
  EXPECT_EQ(a.failures_total, 0);
  EXPECT_EQ(a.failures_by_class.at(FailureClass::kBackpressure), 40);
  EXPECT_THAT(events_, IsEmpty());
}

TEST_F(NodePoolTest, RowOther4xxAnd500KeepNodeHealthyAndResetTheRun) {
  Hit(kA, FailureClass::kSoft);
  Hit(kA, FailureClass::kSoft);
  Hit(kA, Classify(Answer(404)), absl::Milliseconds(40));
  EXPECT_EQ(Stats(kA).consecutive_failures, 0);
  Hit(kA, Classify(Answer(500)));
  Hit(kA, Classify(Answer(400)));
  Hit(kA, FailureClass::kSoft);
  Hit(kA, FailureClass::kSoft);
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_EQ(Stats(kA).failures_total, 4);
  // An error answer is still an answer: its latency counts.
  EXPECT_GT(Stats(kA).latency_ewma_ms, 10);
}

TEST_F(NodePoolTest, RowLocalOutcomeNeitherBlamesNorResets) {
  Hit(kA, FailureClass::kSoft);
  Hit(kA, FailureClass::kSoft);
  for (int i = 0; i < 5; ++i) Hit(kA, Classify(FakeTransport::Failed(TransportError::kCancelled)));
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_EQ(Stats(kA).consecutive_failures, 2);
  Hit(kA, FailureClass::kSoft);
  EXPECT_EQ(Stats(kA).state, NodeState::kDead);
}

// ---- dead timeouts and resurrection ----

TEST_F(NodePoolTest, EachFailedProbeDoublesTheDeadTimeoutUpToTheCap) {
  Hit(kA, FailureClass::kHard);
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 8; ++i) {
    const absl::Duration wait = Stats(kA).dead_until - clock_.Now();
    waits.push_back(wait);
    clock_.Advance(wait);
    ASSERT_EQ(pool_->TakeDueProbes().size(), 1u);
    pool_->OnProbeResult(kA, false);
  }
  EXPECT_THAT(waits, ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                 absl::Seconds(8), absl::Seconds(16), absl::Seconds(32),
                                 absl::Seconds(60), absl::Seconds(60)));
  EXPECT_EQ(Stats(kA).consecutive_failures, 9);
  EXPECT_EQ(Stats(kA).probe_failures_total, 8);
}

TEST_F(NodePoolTest, ASuccessfulRequestAfterRevivalResetsTheBackoff) {
  Hit(kA, FailureClass::kHard);
  clock_.Advance(absl::Seconds(1));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kA, false);  // 2 s
  clock_.Advance(absl::Seconds(2));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kA, true);
  // Revived but not yet proven by a request: failing again continues the sequence.
  Hit(kA, FailureClass::kHard);
  EXPECT_EQ(Stats(kA).dead_until - clock_.Now(), absl::Seconds(4));
  clock_.Advance(absl::Seconds(4));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kA, true);
  Hit(kA, FailureClass::kSuccess);
  Hit(kA, FailureClass::kHard);
  EXPECT_EQ(Stats(kA).dead_until - clock_.Now(), absl::Seconds(1));
}

TEST_F(NodePoolTest, DeadTimeoutsAreJitteredWhenJitterIsOn) {
  NodePool::Options o = DefaultOptions();
  o.backoff.jitter = 0.2;
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (uint64_t seed = 0; seed < 200; ++seed) {
    o.random_seed = seed;
    Make(o);
    Hit(kA, FailureClass::kHard);
    const absl::Duration wait = Stats(kA).dead_until - clock_.Now();
    lo = std::min(lo, wait);
    hi = std::max(hi, wait);
  }
  EXPECT_GE(lo, absl::Milliseconds(800));
  EXPECT_LE(hi, absl::Milliseconds(1200));
  EXPECT_LT(lo, absl::Milliseconds(850));
  EXPECT_GT(hi, absl::Milliseconds(1150));
}

TEST_F(NodePoolTest, ProbesAreSingleFlight) {
  Hit(kA, FailureClass::kHard);
  EXPECT_THAT(pool_->TakeDueProbes(), IsEmpty());  // not due yet
  clock_.Advance(absl::Seconds(1));
  const std::vector<NodeInfo> due = pool_->TakeDueProbes();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].endpoint.HostPort(), kA);
  EXPECT_EQ(Stats(kA).state, NodeState::kProbing);
  clock_.Advance(absl::Minutes(5));
  EXPECT_THAT(pool_->TakeDueProbes(), IsEmpty());  // its probe is still out
  pool_->OnProbeResult(kA, true);
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_THAT(pool_->TakeDueProbes(), IsEmpty());
  EXPECT_EQ(Stats(kA).probes_total, 1);
}

TEST_F(NodePoolTest, NoSecondProbeWhileTheFirstIsOutEvenIfARequestDecidedMeanwhile) {
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kHard);
  clock_.Advance(absl::Seconds(1));
  ASSERT_EQ(pool_->TakeDueProbes().size(), 3u);
  // With every node dead, requests still go to them; one gets through.
  Hit(kA, FailureClass::kSuccess);
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  Hit(kA, FailureClass::kHard);  // and dies again
  clock_.Advance(absl::Seconds(10));
  for (const NodeInfo& n : pool_->TakeDueProbes()) EXPECT_NE(n.endpoint.HostPort(), kA);
  // The old probe's verdict no longer applies; the node stays as requests left it.
  pool_->OnProbeResult(kA, true);
  EXPECT_EQ(Stats(kA).state, NodeState::kDead);
  ASSERT_EQ(pool_->TakeDueProbes().size(), 1u);
}

TEST_F(NodePoolTest, ProbeResultForUnknownNodeIsIgnored) {
  pool_->OnProbeResult("10.9.9.9:9200", true);
  pool_->OnProbeResult(kA, false);  // never taken for probing
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
}

TEST_F(NodePoolTest, RevivedNodeRampsUpLinearlyOverSlowStart) {
  Hit(kA, FailureClass::kHard);
  clock_.Advance(absl::Seconds(1));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kA, true);
  EXPECT_DOUBLE_EQ(Stats(kA).weight, 0.1);
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(Stats(kA).weight, 0.55);
  clock_.Advance(absl::Seconds(5));
  EXPECT_DOUBLE_EQ(Stats(kA).weight, 1);
  clock_.Advance(absl::Seconds(50));
  EXPECT_DOUBLE_EQ(Stats(kA).weight, 1);
}

TEST_F(NodePoolTest, SlowStartSendsARevivedNodeLessTraffic) {
  Hit(kA, FailureClass::kHard);
  clock_.Advance(absl::Seconds(1));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kA, true);
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kSuccess, absl::Milliseconds(10));
  std::map<std::string, int> picks;
  for (int i = 0; i < 1000; ++i) ++picks[SelectOne()];
  // Weight 0.1 against 1: with P2C it loses every comparison on equal load.
  EXPECT_LT(picks[kA], 50);
  clock_.Advance(absl::Seconds(10));
  picks.clear();
  for (int i = 0; i < 1200; ++i) ++picks[SelectOne()];
  EXPECT_GT(picks[kA], 250);
}

TEST_F(NodePoolTest, DeadNodeIsNotSelectedWhileOthersLiveEvenAfterItsDeadline) {
  Hit(kA, FailureClass::kHard);
  clock_.Advance(absl::Minutes(1));  // due, but nobody probed it
  for (int i = 0; i < 200; ++i) EXPECT_NE(SelectOne(), kA);
}

// ---- selection ----

TEST_F(NodePoolTest, AllDeadTriesClosestToRevivalFirstThenTheRestThenUnavailable) {
  Hit(kC, FailureClass::kHard);  // dead until t+1s
  clock_.Advance(absl::Milliseconds(300));
  Hit(kA, FailureClass::kHard);  // t+1.3s
  clock_.Advance(absl::Milliseconds(300));
  Hit(kB, FailureClass::kHard);  // t+1.6s
  EXPECT_FALSE(pool_->HasUsableNode());

  std::vector<std::string> tried;
  for (const char* expected : {kC, kA, kB}) {
    auto lease = pool_->Select(tried);
    ASSERT_THAT(lease, IsOk());
    EXPECT_EQ(lease->host_port(), expected);
    EXPECT_EQ(lease->state_at_selection(), NodeState::kDead);
    tried.push_back(lease->host_port());
  }
  const auto none = pool_->Select(tried);
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(GetErrorInfo(none.status()).reason, "NO_NODE_AVAILABLE");
}

TEST_F(NodePoolTest, AFailureDuringTheDeadPeriodDoesNotLengthenIt) {
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kHard);
  const absl::Time until = Stats(kA).dead_until;
  // Concurrent requests walking the all-dead order all fail on the same node: one ejection.
  for (int i = 0; i < 5; ++i) Hit(kA, FailureClass::kHard);
  EXPECT_EQ(Stats(kA).dead_until, until);
  clock_.Advance(absl::Seconds(1));  // deadline passed: a failure now is a failed trial
  Hit(kA, FailureClass::kHard);
  EXPECT_EQ(Stats(kA).dead_until, clock_.Now() + absl::Seconds(2));
}

TEST_F(NodePoolTest, AllDeadRequestThatSucceedsRevivesTheNode) {
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kHard);
  auto lease = pool_->Select();
  ASSERT_THAT(lease, IsOk());
  const std::string host_port = lease->host_port();
  pool_->Record(*std::move(lease), FailureClass::kSuccess, absl::Milliseconds(5));
  EXPECT_EQ(Stats(host_port).state, NodeState::kAlive);
  EXPECT_TRUE(pool_->HasUsableNode());
}

TEST_F(NodePoolTest, NeverTheSameNodeTwiceInARowWhenAnotherIsUsable) {
  for (SelectorKind kind : {SelectorKind::kLeastLoaded, SelectorKind::kRoundRobin,
                            SelectorKind::kSticky, SelectorKind::kRandom}) {
    SCOPED_TRACE(SelectorKindName(kind));
    NodePool::Options o = DefaultOptions();
    o.selector = kind;
    Make(o);
    for (int i = 0; i < 300; ++i) {
      const std::string first = SelectOne();
      const std::string second = SelectOne({first});
      ASSERT_NE(second, first);
      const std::string third = SelectOne({first, second});
      ASSERT_NE(third, first);  // an untried node is preferred over an earlier one
      ASSERT_NE(third, second);
      // All tried: any but the previous attempt's node.
      ASSERT_NE(SelectOne({first, second, third}), third);
    }
  }
}

TEST_F(NodePoolTest, TheOnlyLiveNodeIsReusedRatherThanFailing) {
  Hit(kB, FailureClass::kHard);
  Hit(kC, FailureClass::kHard);
  EXPECT_EQ(SelectOne({kA}), kA);
}

TEST_F(NodePoolTest, LeastLoadedSteersAwayFromASlowNode) {
  std::map<std::string, absl::Duration> latency = {
      {kA, absl::Milliseconds(200)}, {kB, absl::Milliseconds(10)}, {kC, absl::Milliseconds(12)}};
  for (const auto& [n, l] : latency) Hit(n, FailureClass::kSuccess, l);
  std::map<std::string, int> picks;
  for (int i = 0; i < 1000; ++i) {
    auto lease = pool_->Select();
    ASSERT_THAT(lease, IsOk());
    const std::string n = lease->host_port();
    ++picks[n];
    pool_->Record(*std::move(lease), FailureClass::kSuccess, latency[n]);
  }
  EXPECT_LT(picks[kA], 20);
  // B (10 ms) beats C (12 ms) whenever the two are compared.
  EXPECT_GT(picks[kB], 550);
  EXPECT_GT(picks[kC], 200);
}

TEST_F(NodePoolTest, LeastLoadedSteersAwayFromANodeWithManyInFlight) {
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kSuccess);
  std::vector<NodePool::Lease> held;
  for (int i = 0; i < 20; ++i) {
    auto lease = pool_->SelectNode(kA);
    ASSERT_THAT(lease, IsOk());
    held.push_back(*std::move(lease));
  }
  EXPECT_EQ(Stats(kA).in_flight, 20);
  std::map<std::string, int> picks;
  for (int i = 0; i < 1000; ++i) ++picks[SelectOne()];
  EXPECT_LT(picks[kA], 20);
  held.clear();  // dropped unrecorded: released, no outcome
  EXPECT_EQ(Stats(kA).in_flight, 0);
  EXPECT_EQ(Stats(kA).requests_total, 1);
}

TEST_F(NodePoolTest, LeastLoadedGivesASlowNodeAnotherChanceOnceItsLatencyIsOld) {
  Hit(kA, FailureClass::kSuccess, absl::Milliseconds(500));
  Hit(kB, FailureClass::kSuccess, absl::Milliseconds(10));
  Hit(kC, FailureClass::kSuccess, absl::Milliseconds(10));
  clock_.Advance(absl::Seconds(31));  // nothing measured kA since: its EWMA is not trusted
  std::map<std::string, int> picks;
  for (int i = 0; i < 300; ++i) {
    auto lease = pool_->Select();
    ASSERT_THAT(lease, IsOk());
    ++picks[lease->host_port()];
    pool_->Record(*std::move(lease), FailureClass::kSuccess, absl::Milliseconds(10));
  }
  EXPECT_GT(picks[kA], 50);
}

TEST_F(NodePoolTest, RoundRobinCycles) {
  NodePool::Options o = DefaultOptions();
  o.selector = SelectorKind::kRoundRobin;
  Make(o);
  std::vector<std::string> order;
  for (int i = 0; i < 7; ++i) order.push_back(SelectOne());
  EXPECT_THAT(order, ElementsAre(kA, kB, kC, kA, kB, kC, kA));
}

TEST_F(NodePoolTest, RoundRobinSkipsDeadNodesAndKeepsTheCycle) {
  NodePool::Options o = DefaultOptions();
  o.selector = SelectorKind::kRoundRobin;
  Make(o);
  EXPECT_EQ(SelectOne(), kA);
  Hit(kB, FailureClass::kHard);
  EXPECT_EQ(SelectOne(), kC);
  EXPECT_EQ(SelectOne(), kA);
}

TEST_F(NodePoolTest, StickyStaysUntilFailure) {
  NodePool::Options o = DefaultOptions();
  o.selector = SelectorKind::kSticky;
  Make(o);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(SelectOne(), kA);
  auto lease = pool_->Select();
  ASSERT_THAT(lease, IsOk());
  pool_->Record(*std::move(lease), FailureClass::kSoft, absl::Seconds(1));  // not ejected
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(SelectOne(), kB);
  Hit(kB, FailureClass::kHard);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(SelectOne(), kC);
}

TEST_F(NodePoolTest, RandomCoversAllNodes) {
  NodePool::Options o = DefaultOptions();
  o.selector = SelectorKind::kRandom;
  Make(o);
  std::map<std::string, int> picks;
  for (int i = 0; i < 1200; ++i) ++picks[SelectOne()];
  for (const char* n : {kA, kB, kC}) {
    EXPECT_GT(picks[n], 300) << n;
    EXPECT_LT(picks[n], 500) << n;
  }
}

TEST_F(NodePoolTest, SameSeedSamePicks) {
  std::vector<std::string> first, second;
  for (auto* out : {&first, &second}) {
    Make(DefaultOptions());
    for (int i = 0; i < 50; ++i) out->push_back(SelectOne());
  }
  EXPECT_EQ(first, second);
}

TEST_F(NodePoolTest, SelectNodeForTheStaleRetry) {
  Hit(kA, FailureClass::kHard);
  auto lease = pool_->SelectNode(kA);  // whatever its state
  ASSERT_THAT(lease, IsOk());
  EXPECT_EQ(lease->node().endpoint.port, 9200);
  EXPECT_THAT(pool_->SelectNode("10.0.0.1:9200"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(NodePoolTest, LatencyEwmaStartsAtTheFirstSample) {
  Hit(kA, FailureClass::kSuccess, absl::Milliseconds(100));
  EXPECT_DOUBLE_EQ(Stats(kA).latency_ewma_ms, 100);
  Hit(kA, FailureClass::kSuccess, absl::Milliseconds(200));
  EXPECT_DOUBLE_EQ(Stats(kA).latency_ewma_ms, 120);  // alpha 0.2
  Hit(kA, FailureClass::kSoft, absl::Seconds(30));   // failures do not feed it
  EXPECT_DOUBLE_EQ(Stats(kA).latency_ewma_ms, 120);
}

// ---- modes ----

TEST_F(NodePoolTest, SimpleModeNeverMarksNodesDead) {
  NodePool::Options o = DefaultOptions();
  o.mode = PoolMode::kSimple;
  Make(o);
  for (const char* n : {kA, kB, kC}) {
    for (int i = 0; i < 5; ++i) Hit(n, FailureClass::kHard);
  }
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  EXPECT_EQ(Stats(kA).failures_total, 5);
  EXPECT_TRUE(pool_->HasUsableNode());
  EXPECT_THAT(pool_->TakeDueProbes(), IsEmpty());
}

TEST_F(NodePoolTest, StaticNoPingRevivesLazilyWhenTheDeadlinePasses) {
  NodePool::Options o = DefaultOptions();
  o.mode = PoolMode::kStaticNoPing;
  Make(o);
  Hit(kA, FailureClass::kHard);
  for (int i = 0; i < 50; ++i) EXPECT_NE(SelectOne(), kA);
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(pool_->TakeDueProbes(), IsEmpty());  // no probes in this mode
  EXPECT_NE(SelectOne(), kA);  // revives it, but slow-start keeps traffic off it at first
  EXPECT_EQ(Stats(kA).state, NodeState::kAlive);
  // Revived without proof: failing again waits longer.
  Hit(kA, FailureClass::kHard);
  EXPECT_EQ(Stats(kA).dead_until - clock_.Now(), absl::Seconds(2));
  clock_.Advance(absl::Seconds(2));
  SelectOne();
  clock_.Advance(absl::Seconds(10));  // past its slow-start
  std::map<std::string, int> picks;
  for (int i = 0; i < 300; ++i) ++picks[SelectOne()];
  EXPECT_GT(picks[kA], 50);
}

TEST_F(NodePoolTest, StaticNoPingCountsAPassedDeadlineAsUsable) {
  NodePool::Options o = DefaultOptions();
  o.mode = PoolMode::kStaticNoPing;
  Make(o, 1);
  Hit(kA, FailureClass::kHard);
  EXPECT_FALSE(pool_->HasUsableNode());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(pool_->HasUsableNode());
}

TEST_F(NodePoolTest, ParseAndNameModes) {
  for (PoolMode m :
       {PoolMode::kStaticNoPing, PoolMode::kStatic, PoolMode::kSniffing, PoolMode::kSimple}) {
    EXPECT_THAT(ParsePoolMode(PoolModeName(m)), IsOk());
    EXPECT_EQ(*ParsePoolMode(PoolModeName(m)), m);
  }
  EXPECT_THAT(ParsePoolMode("dynamic"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- sniff merge ----

TEST_F(NodePoolTest, SniffMergeKeepsStateOfNodesStillPresent) {
  Hit(kA, FailureClass::kHard);
  Hit(kB, FailureClass::kSuccess, absl::Milliseconds(30));
  const absl::Time a_until = Stats(kA).dead_until;
  NodeInfo a = Info(9200, "es-a");
  a.node_id = "idA";
  a.roles = {"data_hot", "ingest"};
  pool_->ApplySniff({a, Info(9201, "es-b"), Info(9300, "es-new")}, /*keep_seeds=*/true);

  const NodeStatsSnapshot sa = Stats(kA);
  EXPECT_EQ(sa.state, NodeState::kDead);
  EXPECT_EQ(sa.dead_until, a_until);
  EXPECT_EQ(sa.failures_total, 1);
  EXPECT_EQ(sa.info.name, "es-a");
  EXPECT_EQ(sa.info.node_id, "idA");
  EXPECT_THAT(sa.info.roles, ElementsAre("data_hot", "ingest"));
  EXPECT_TRUE(sa.info.seed);
  EXPECT_DOUBLE_EQ(Stats(kB).latency_ewma_ms, 30);
  // Seed kC was not listed but seeds are kept; the new node joins alive, slow-starting.
  EXPECT_TRUE(InPool(kC));
  EXPECT_FALSE(Stats(kC).draining);
  const NodeStatsSnapshot added = Stats("127.0.0.1:9300");
  EXPECT_EQ(added.state, NodeState::kAlive);
  EXPECT_FALSE(added.info.seed);
  EXPECT_DOUBLE_EQ(added.weight, 0.1);
  EXPECT_THAT(events_, ::testing::Contains("node_added 127.0.0.1:9300"));
}

TEST_F(NodePoolTest, SniffedOnlyDropsSeedsTheSniffDoesNotList) {
  pool_->ApplySniff({Info(9200), Info(9300)}, /*keep_seeds=*/false);
  EXPECT_TRUE(InPool(kA));
  EXPECT_FALSE(InPool(kB));
  EXPECT_FALSE(InPool(kC));
  EXPECT_TRUE(InPool("127.0.0.1:9300"));
  EXPECT_THAT(events_, ::testing::Contains(absl::StrCat("node_removed ", kB)));
}

TEST_F(NodePoolTest, NodesThatLeftDrainAndAreRemovedWhenIdle) {
  auto lease = pool_->SelectNode(kB);
  ASSERT_THAT(lease, IsOk());
  pool_->ApplySniff({Info(9200), Info(9202)}, /*keep_seeds=*/false);
  ASSERT_TRUE(InPool(kB));
  EXPECT_TRUE(Stats(kB).draining);
  for (int i = 0; i < 100; ++i) EXPECT_NE(SelectOne(), kB);
  pool_->Record(*std::move(lease), FailureClass::kSuccess, absl::Milliseconds(1));
  EXPECT_FALSE(InPool(kB));
  EXPECT_THAT(events_, ::testing::IsSupersetOf({absl::StrCat("node_draining ", kB),
                                                absl::StrCat("node_removed ", kB)}));
}

TEST_F(NodePoolTest, ADrainingNodeListedAgainComesBackWithItsState) {
  auto lease = pool_->SelectNode(kB);
  ASSERT_THAT(lease, IsOk());
  pool_->ApplySniff({Info(9200)}, false);
  pool_->ApplySniff({Info(9200), Info(9201)}, false);
  EXPECT_FALSE(Stats(kB).draining);
  pool_->Record(*std::move(lease), FailureClass::kSuccess, absl::Milliseconds(1));
  EXPECT_TRUE(InPool(kB));
}

TEST_F(NodePoolTest, EmptySniffChangesNothingAndCountsAsAFailure) {
  pool_->ApplySniff({}, /*keep_seeds=*/false);
  const PoolSnapshot s = pool_->Snapshot();
  EXPECT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.sniffs_total, 1);
  EXPECT_EQ(s.sniff_failures_total, 1);
  EXPECT_FALSE(s.last_sniff_outcome.empty());
}

TEST_F(NodePoolTest, RecordSniffStampsWallTime) {
  pool_->RecordSniff(true, "found 3 node(s)");
  const PoolSnapshot s = pool_->Snapshot();
  EXPECT_EQ(s.sniffs_total, 1);
  EXPECT_EQ(s.sniff_failures_total, 0);
  ASSERT_TRUE(s.last_sniff_time.has_value());
  EXPECT_EQ(*s.last_sniff_time, clock_.WallNow());
  EXPECT_EQ(s.last_sniff_outcome, "found 3 node(s)");
}

// ---- health, events, counters ----

TEST_F(NodePoolTest, HealthEventsWhenTheLastNodeDiesAndTheFirstComesBack) {
  for (const char* n : {kA, kB, kC}) Hit(n, FailureClass::kHard);
  EXPECT_FALSE(pool_->HasUsableNode());
  clock_.Advance(absl::Seconds(1));
  pool_->TakeDueProbes();
  pool_->OnProbeResult(kB, true);
  EXPECT_TRUE(pool_->HasUsableNode());
  EXPECT_THAT(events_,
              ElementsAre(absl::StrCat("node_ejected ", kA), absl::StrCat("node_ejected ", kB),
                          absl::StrCat("node_ejected ", kC), "all_nodes_dead",
                          absl::StrCat("node_revived ", kB), "first_node_back"));
}

TEST_F(NodePoolTest, SnapshotCounters) {
  Hit(kA, FailureClass::kSuccess, absl::Microseconds(800));
  Hit(kA, FailureClass::kBackpressure, absl::Milliseconds(3));
  Hit(kA, FailureClass::kSoft, absl::Seconds(90));
  Hit(kA, FailureClass::kLocal, absl::Seconds(5));  // a cancel: no latency sample
  pool_->CountRetry(kA);
  pool_->CountRetry(kB);
  pool_->CountRetry("gone.example:9200");  // counted for the pool only
  auto held = pool_->SelectNode(kA);
  const PoolSnapshot s = pool_->Snapshot();
  EXPECT_EQ(s.retries_total, 3);
  EXPECT_EQ(Stats(kB).retries_total, 1);
  const NodeStatsSnapshot a = Stats(kA);
  EXPECT_EQ(a.retries_total, 1);
  // 0.8 ms falls in the le=0.001 bucket, 3 ms in le=0.005, 90 s in +Inf.
  EXPECT_EQ(a.latency.count, 3u);
  EXPECT_EQ(a.latency.counts[1], 1u);
  EXPECT_EQ(a.latency.counts[3], 1u);
  EXPECT_EQ(a.latency.counts[LatencyHistogram::kBuckets], 1u);
  EXPECT_DOUBLE_EQ(a.latency.sum_seconds, 90.0038);
  EXPECT_EQ(a.requests_total, 4);
  EXPECT_EQ(a.failures_total, 1);
  EXPECT_EQ(a.in_flight, 1);
  EXPECT_EQ(a.failures_by_class.size(), 3u);
  EXPECT_EQ(a.failures_by_class.count(FailureClass::kSuccess), 0u);
  EXPECT_EQ(s.wall_now - s.now, clock_.WallNow() - clock_.Now());
}

TEST_F(NodePoolTest, ConcurrentSelectAndRecordKeepCountsConsistent) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto lease = pool_->Select();
        if (!lease.ok()) continue;
        pool_->Record(*std::move(lease), i % 97 == t ? FailureClass::kSoft : FailureClass::kSuccess,
                      absl::Milliseconds(1 + i % 5));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  int64_t total = 0;
  for (const NodeStatsSnapshot& n : pool_->Snapshot().nodes) {
    total += n.requests_total;
    EXPECT_EQ(n.in_flight, 0);
  }
  EXPECT_EQ(total, kThreads * kPerThread);
}

}  // namespace
}  // namespace esgw
