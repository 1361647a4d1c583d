#include "pool/sniffer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_transport.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::StatusIs;
using ::testing::UnorderedElementsAre;

struct Listed {
  std::string address;  // publish_address
  std::vector<std::string> roles = {"data", "ingest"};
};

std::string NodesBody(const std::vector<Listed>& nodes) {
  std::vector<std::string> entries;
  int i = 0;
  for (const Listed& n : nodes) {
    std::vector<std::string> roles;
    for (const std::string& r : n.roles) roles.push_back(absl::StrCat("\"", r, "\""));
    entries.push_back(absl::StrCat("\"node", i, "\":{\"name\":\"es-", i, "\",\"roles\":[",
                                   absl::StrJoin(roles, ","), "],\"http\":{\"publish_address\":\"",
                                   n.address, "\"}}"));
    ++i;
  }
  return absl::StrCat("{\"nodes\":{", absl::StrJoin(entries, ","), "}}");
}

class SnifferTest : public ::testing::Test {
 protected:
  void SetUp() override { Make({}); }

  void Make(Sniffer::Options options, PoolMode mode = PoolMode::kSniffing,
            std::string scheme = "http") {
    NodePool::Options pool_options;
    pool_options.mode = mode;
    pool_options.clock = &clock_;
    pool_options.random_seed = 2;
    pool_options.selector = selector_;
    std::vector<NodeInfo> seeds(2);
    seeds[0].endpoint = {scheme, "127.0.0.1", 9200};
    seeds[1].endpoint = {scheme, "127.0.0.1", 9201};
    auto pool = NodePool::Create(pool_options, seeds);
    ASSERT_THAT(pool, IsOk());
    pool_ = *std::move(pool);
    options.clock = &clock_;
    options.random_seed = 4;
    auto sniffer = Sniffer::Create(options, pool_.get(), &transport_);
    ASSERT_THAT(sniffer, IsOk());
    sniffer_ = *std::move(sniffer);
  }

  // Answers _nodes/http with body and probes per reachable_ (connect refused otherwise).
  void Serve(std::string body) {
    transport_.SetResponder([this, body](const Endpoint& node, const HttpRequest& request) {
      if (down_.count(node.HostPort()))
        return FakeTransport::Failed(TransportError::kConnectFailed);
      if (request.path == "/_nodes/http") return FakeTransport::Ok(body);
      if (request.path == "/") return FakeTransport::Ok(R"({"tagline":"You Know, for Search"})");
      return FakeTransport::Ok("{}", 404);
    });
  }

  absl::Status Sniff() {
    std::optional<absl::Status> out;
    sniffer_->RunOnce([&out](absl::Status s) { out = std::move(s); });
    EXPECT_TRUE(out.has_value());
    return out.value_or(absl::UnknownError("not done"));
  }

  std::vector<std::string> PoolAddresses() {
    std::vector<std::string> out;
    for (const NodeStatsSnapshot& n : pool_->Snapshot().nodes) {
      if (!n.draining) out.push_back(n.info.endpoint.BaseUrl());
    }
    return out;
  }

  std::vector<std::string> Paths() {
    std::vector<std::string> out;
    for (const auto& e : transport_.exchanges()) {
      out.push_back(absl::StrCat(e.node.HostPort(), e.request.path));
    }
    return out;
  }

  FakeClock clock_;
  FakeTransport transport_;
  std::set<std::string> down_;
  SelectorKind selector_ = SelectorKind::kLeastLoaded;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Sniffer> sniffer_;
};

TEST_F(SnifferTest, CreateValidates) {
  EXPECT_THAT(Sniffer::Create({}, nullptr, &transport_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Sniffer::Options o;
  o.max_attempts = 0;
  EXPECT_THAT(Sniffer::Create(o, pool_.get(), &transport_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  o = {};
  o.interval_jitter = 1.5;
  EXPECT_THAT(Sniffer::Create(o, pool_.get(), &transport_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SnifferTest, NewNodesAreProbedThenAdmitted) {
  Serve(NodesBody({{"127.0.0.1:9200"}, {"10.0.0.2:9200"}, {"10.0.0.3:9200"}}));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(),
              UnorderedElementsAre("http://127.0.0.1:9200", "http://127.0.0.1:9201",
                                   "http://10.0.0.2:9200", "http://10.0.0.3:9200"));
  // One sniff, then one probe per node the pool did not know; none for the known one.
  const std::vector<std::string> paths = Paths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_THAT(paths[0], HasSubstr("/_nodes/http"));
  EXPECT_THAT(std::vector<std::string>(paths.begin() + 1, paths.end()),
              UnorderedElementsAre("10.0.0.2:9200/", "10.0.0.3:9200/"));
  const auto exchanges = transport_.exchanges();
  EXPECT_EQ(exchanges[0].request.timeout, absl::Seconds(2));
  EXPECT_EQ(exchanges[1].request.timeout, absl::Seconds(1));
  const PoolSnapshot s = pool_->Snapshot();
  EXPECT_EQ(s.sniffs_total, 1);
  EXPECT_EQ(s.sniff_failures_total, 0);
  EXPECT_EQ(s.last_sniff_outcome, "found 3 node(s), 2 new");
}

TEST_F(SnifferTest, UnreachableSniffedAddressesFallBackToTheSeeds) {
  // The classic Docker case: the cluster publishes addresses only reachable inside it.
  for (SniffMode mode : {SniffMode::kSeedsPlusSniffed, SniffMode::kSniffedOnly}) {
    SCOPED_TRACE(SniffModeName(mode));
    Sniffer::Options o;
    o.mode = mode;
    Make(o);
    down_ = {"172.17.0.2:9200", "172.17.0.3:9200"};
    Serve(NodesBody({{"172.17.0.2:9200"}, {"172.17.0.3:9200"}}));
    const absl::Status status = Sniff();
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(PoolAddresses(),
                UnorderedElementsAre("http://127.0.0.1:9200", "http://127.0.0.1:9201"));
    const PoolSnapshot s = pool_->Snapshot();
    EXPECT_EQ(s.sniff_failures_total, 1);
    EXPECT_THAT(s.last_sniff_outcome, HasSubstr("172.17.0.2:9200"));
    EXPECT_THAT(s.last_sniff_outcome, HasSubstr("172.17.0.3:9200"));
    EXPECT_THAT(s.last_sniff_outcome, HasSubstr("keeping the current nodes"));
    EXPECT_TRUE(pool_->HasUsableNode());
  }
}

TEST_F(SnifferTest, OnlyReachableSniffedNodesAreAdmitted) {
  down_ = {"10.0.0.3:9200"};
  Serve(NodesBody({{"10.0.0.2:9200"}, {"10.0.0.3:9200"}}));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(),
              UnorderedElementsAre("http://127.0.0.1:9200", "http://127.0.0.1:9201",
                                   "http://10.0.0.2:9200"));
  EXPECT_THAT(pool_->Snapshot().last_sniff_outcome,
              HasSubstr("not admitted, unreachable: 10.0.0.3:9200"));
}

TEST_F(SnifferTest, SniffedOnlyReplacesSeedsOnceSniffedNodesAnswer) {
  Sniffer::Options o;
  o.mode = SniffMode::kSniffedOnly;
  Make(o);
  Serve(NodesBody({{"10.0.0.2:9200"}, {"127.0.0.1:9201"}}));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(),
              UnorderedElementsAre("http://10.0.0.2:9200", "http://127.0.0.1:9201"));
}

TEST_F(SnifferTest, AListedNodeWithAnUnusableEntryKeepsItsPlace) {
  Sniffer::Options o;
  o.mode = SniffMode::kSniffedOnly;
  Make(o);
  Serve(NodesBody({{"10.0.0.2:9200"}, {"10.0.0.3:9200"}}));
  ASSERT_THAT(Sniff(), IsOk());
  ASSERT_THAT(PoolAddresses(),
              UnorderedElementsAre("http://10.0.0.2:9200", "http://10.0.0.3:9200"));
  // node1 is still listed, but without a usable address; a node nobody knows comes without
  // roles. Neither is taken as it stands: node1 stays, the stranger is not added.
  Serve(R"({"nodes":{"node0":{"roles":["data"],"http":{"publish_address":"10.0.0.2:9200"}},
                     "node1":{"roles":["data"],"http":{"publish_address":7}},
                     "node9":{"http":{"publish_address":"10.0.0.9:9200"}}}})");
  ASSERT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(),
              UnorderedElementsAre("http://10.0.0.2:9200", "http://10.0.0.3:9200"));
  EXPECT_THAT(pool_->Snapshot().last_sniff_outcome,
              HasSubstr("2 listed node(s) with no usable http address or roles (node1, node9), "
                        "1 of them kept as they were"));
  // A node no longer listed at all leaves.
  Serve(NodesBody({{"10.0.0.2:9200"}}));
  ASSERT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(), UnorderedElementsAre("http://10.0.0.2:9200"));
}

TEST_F(SnifferTest, AnAnswerThatIsNotElasticsearchsIsAskedElsewhere) {
  selector_ = SelectorKind::kRoundRobin;  // asks 9200 first
  Make({});
  transport_.SetResponder([](const Endpoint& node, const HttpRequest&) {
    if (node.port == 9200) {
      HttpResponse page = FakeTransport::Ok("<html>proxy</html>");
      page.content_type = "text/html";
      return page;
    }
    return FakeTransport::Ok(NodesBody({{"127.0.0.1:9201"}}));
  });
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_EQ(transport_.exchanges().size(), 2u);
  EXPECT_EQ(pool_->Snapshot().nodes[0].failures_total, 1) << "a soft failure of 9200";
}

TEST_F(SnifferTest, AsksAnotherNodeWhenOneDoesNotAnswer) {
  selector_ = SelectorKind::kRoundRobin;  // asks 9200 first
  Make({});
  down_ = {"127.0.0.1:9200"};
  Serve(NodesBody({{"127.0.0.1:9201"}}));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_THAT(Paths(),
              ::testing::ElementsAre("127.0.0.1:9200/_nodes/http", "127.0.0.1:9201/_nodes/http"));
  // The failed sniff is blamed on its node like any request.
  EXPECT_EQ(pool_->Snapshot().nodes[0].state, NodeState::kDead);
  EXPECT_EQ(pool_->Snapshot().sniff_failures_total, 0);
}

TEST_F(SnifferTest, NoNodeAnsweringIsUnavailableNamingEachNode) {
  down_ = {"127.0.0.1:9200", "127.0.0.1:9201"};
  Serve("{}");
  const absl::Status status = Sniff();
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("127.0.0.1:9200"), HasSubstr("127.0.0.1:9201"))));
  // Both seeds are now dead; with max_attempts 3 the third try finds nothing left.
  EXPECT_EQ(transport_.exchanges().size(), 2u);
  EXPECT_EQ(pool_->Snapshot().sniff_failures_total, 1);
}

TEST_F(SnifferTest, UnreadableAnswerIsInternal) {
  Serve("<html>proxy error</html>");
  const absl::Status status = Sniff();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(GetErrorInfo(status).reason, "BAD_ES_RESPONSE");
  EXPECT_EQ(pool_->Snapshot().sniff_failures_total, 1);
  EXPECT_EQ(PoolAddresses().size(), 2u);
}

TEST_F(SnifferTest, AnswerWithOnlyMasterNodesKeepsThePool) {
  Serve(NodesBody({{"10.0.0.2:9200", {"master"}}, {"10.0.0.3:9200", {"cluster_manager"}}}));
  EXPECT_THAT(Sniff(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(pool_->Snapshot().last_sniff_outcome, HasSubstr("2 master-only"));
  EXPECT_EQ(PoolAddresses().size(), 2u);
}

TEST_F(SnifferTest, SchemeComesFromTheSeedsAndHostNamesAreOptional) {
  Sniffer::Options o;
  o.use_hostname = true;
  Make(o, PoolMode::kSniffing, "https");
  Serve(NodesBody({{"es-2.local/10.0.0.2:9200"}}));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_THAT(PoolAddresses(), ::testing::Contains("https://es-2.local:9200"));
}

TEST_F(SnifferTest, SniffsAreSingleFlight) {
  // No responder: exchanges wait until the test completes them.
  std::vector<absl::Status> done;
  sniffer_->RunOnce([&done](absl::Status s) { done.push_back(s); });
  sniffer_->RunOnce([&done](absl::Status s) { done.push_back(s); });
  EXPECT_TRUE(sniffer_->running());
  EXPECT_EQ(sniffer_->NextSniffTime(), absl::InfiniteFuture());
  ASSERT_EQ(transport_.exchanges().size(), 1u);
  EXPECT_TRUE(done.empty());
  transport_.Complete(0, FakeTransport::Ok(NodesBody({{"127.0.0.1:9200"}})));
  ASSERT_EQ(done.size(), 2u);
  EXPECT_THAT(done[0], IsOk());
  EXPECT_THAT(done[1], IsOk());
  EXPECT_FALSE(sniffer_->running());
  EXPECT_EQ(pool_->Snapshot().sniffs_total, 1);
}

TEST_F(SnifferTest, SniffAfterFailureIsRateLimited) {
  Serve(NodesBody({{"127.0.0.1:9200"}}));
  EXPECT_THAT(Sniff(), IsOk());
  const absl::Time periodic = sniffer_->NextSniffTime();
  clock_.Advance(absl::Seconds(9));
  EXPECT_FALSE(sniffer_->RequestSniffAfterFailure());
  EXPECT_EQ(sniffer_->NextSniffTime(), periodic);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(sniffer_->RequestSniffAfterFailure());
  EXPECT_EQ(sniffer_->NextSniffTime(), clock_.Now());
  clock_.Advance(absl::Milliseconds(50));
  EXPECT_TRUE(sniffer_->RequestSniffAfterFailure());  // already pending: unchanged
  EXPECT_EQ(sniffer_->NextSniffTime(), clock_.Now() - absl::Milliseconds(50));
  EXPECT_THAT(Sniff(), IsOk());
  EXPECT_GT(sniffer_->NextSniffTime(), clock_.Now() + absl::Minutes(4));
  EXPECT_FALSE(sniffer_->RequestSniffAfterFailure());
  EXPECT_EQ(pool_->Snapshot().sniffs_total, 2);
}

TEST_F(SnifferTest, PeriodicScheduleIsJitteredAroundTheInterval) {
  EXPECT_EQ(sniffer_->NextSniffTime(), clock_.Now());  // sniff on start
  Serve(NodesBody({{"127.0.0.1:9200"}}));
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (int i = 0; i < 200; ++i) {
    ASSERT_THAT(Sniff(), IsOk());
    const absl::Duration wait = sniffer_->NextSniffTime() - clock_.Now();
    lo = std::min(lo, wait);
    hi = std::max(hi, wait);
    clock_.Advance(wait);
  }
  EXPECT_GE(lo, absl::Seconds(270));
  EXPECT_LE(hi, absl::Seconds(330));
  EXPECT_LT(lo, absl::Seconds(276));
  EXPECT_GT(hi, absl::Seconds(324));
}

TEST_F(SnifferTest, WithoutSniffOnStartTheFirstSniffWaitsAnInterval) {
  Sniffer::Options o;
  o.sniff_on_start = false;
  o.interval = absl::Minutes(1);
  Make(o);
  const absl::Duration wait = sniffer_->NextSniffTime() - clock_.Now();
  EXPECT_GE(wait, absl::Seconds(54));
  EXPECT_LE(wait, absl::Seconds(66));
}

TEST_F(SnifferTest, ZeroIntervalMeansNoPeriodicSniffing) {
  Sniffer::Options o;
  o.interval = absl::ZeroDuration();
  Make(o);
  Serve(NodesBody({{"127.0.0.1:9200"}}));
  EXPECT_THAT(Sniff(), IsOk());  // the one on start
  EXPECT_EQ(sniffer_->NextSniffTime(), absl::InfiniteFuture());
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(sniffer_->RequestSniffAfterFailure());  // still sniffs after failures
}

TEST_F(SnifferTest, OffOrNonSniffingPoolNeverSniffs) {
  Sniffer::Options o;
  o.mode = SniffMode::kOff;
  Make(o);
  EXPECT_EQ(sniffer_->NextSniffTime(), absl::InfiniteFuture());
  EXPECT_FALSE(sniffer_->RequestSniffAfterFailure());
  EXPECT_THAT(Sniff(), StatusIs(absl::StatusCode::kFailedPrecondition));
  Make({}, PoolMode::kStatic);
  EXPECT_EQ(sniffer_->NextSniffTime(), absl::InfiniteFuture());
  EXPECT_TRUE(transport_.exchanges().empty());
}

TEST(SniffModeTest, ParseAndName) {
  for (SniffMode m : {SniffMode::kOff, SniffMode::kSeedsPlusSniffed, SniffMode::kSniffedOnly}) {
    ASSERT_THAT(ParseSniffMode(SniffModeName(m)), IsOk());
    EXPECT_EQ(*ParseSniffMode(SniffModeName(m)), m);
  }
  EXPECT_THAT(ParseSniffMode("on"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace esgw
