// The node pool end to end: the built esgw-server in front of a dev cluster of 3 data nodes and
// 1 master-only node; nodes are killed, hung and revived through the dev cluster's control API.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::UnorderedElementsAreArray;
using testing::WaitFor;

class PoolE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ExternalEsUrl().empty()) {
      GTEST_SKIP() << "every case here injects faults, which needs esgw-devcluster; "
                      "ESGW_TEST_ES_URL is set";
    }
    testing::DevCluster::Options cluster_options;
    cluster_options.nodes = 3;
    cluster_options.sample_data = true;
    cluster_options.master_only_nodes = 1;
    auto cluster = testing::DevCluster::Start(cluster_options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag(),
                                              {"--dead_timeout=500ms", "--max_dead_timeout=2s"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    gateway_ = esgw::v1::Gateway::NewStub(server_->channel());
    admin_ = esgw::v1::Admin::NewStub(server_->channel());
    health_ = grpc::health::v1::Health::NewStub(server_->channel());
    // The sniff on start has merged once the pool knows node ids.
    ASSERT_TRUE(WaitFor([&] { return Stats().sniffs_total() >= 1; }, absl::Seconds(10),
                        "the sniff on start completes"));
  }

  static void SetDeadline(grpc::ClientContext* context, absl::Duration d) {
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
  }

  esgw::v1::PoolStats Stats() {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(5));
    esgw::v1::PoolStats stats;
    const grpc::Status status = admin_->GetPoolStats(&context, {}, &stats);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return stats;
  }

  const esgw::v1::NodeStats* Node(const esgw::v1::PoolStats& stats, const std::string& address) {
    for (const auto& node : stats.nodes()) {
      if (node.address() == address) return &node;
    }
    return nullptr;
  }

  grpc::Status Search(esgw::v1::SearchResponse* response,
                      absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    esgw::v1::SearchRequest request;
    request.add_indices("products");
    request.set_body_json(R"({"query":{"match_all":{}},"size":1})");
    return gateway_->Search(&context, request, response);
  }

  struct LoadResult {
    int ok = 0;
    int failed = 0;
    std::map<grpc::StatusCode, int> codes = {};
  };
  // total Searches from `threads` threads, each call with `deadline`.
  LoadResult Load(int threads, int total, absl::Duration deadline) {
    absl::Mutex mu;
    LoadResult result;
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        while (next.fetch_add(1) < total) {
          esgw::v1::SearchResponse response;
          const grpc::Status status = Search(&response, deadline);
          absl::MutexLock lock(&mu);
          ++(status.ok() ? result.ok : result.failed);
          if (!status.ok()) ++result.codes[status.error_code()];
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    return result;
  }

  // An asynchronous Search of products and what it reports into.
  struct PendingSearch {
    explicit PendingSearch(absl::Duration deadline) {
      SetDeadline(&context, deadline);
      request.add_indices("products");
    }
    grpc::ClientContext context;
    esgw::v1::SearchRequest request;
    esgw::v1::SearchResponse response;
    std::promise<grpc::Status> done;
  };
  // Starts search and waits until a node has received it (the nodes' requests_total passes
  // requests_before), e.g. a hung or slow node that holds it.
  void StartSearch(PendingSearch* search, int64_t requests_before) {
    gateway_->async()->Search(&search->context, &search->request, &search->response,
                              [search](grpc::Status status) { search->done.set_value(status); });
    ASSERT_TRUE(
        WaitFor([&] { return cluster_->NodeStat("requests_total").value_or(0) > requests_before; },
                absl::Seconds(10), "the Search reaches a node"));
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health() {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("esgw.v1.Gateway");
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(health_->Check(&context, request, &response).ok());
    return response.status();
  }

  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<testing::EsgwProcess> server_;
  std::unique_ptr<esgw::v1::Gateway::Stub> gateway_;
  std::unique_ptr<esgw::v1::Admin::Stub> admin_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(PoolE2eTest, PoolListsExactlyTheDataNodesAfterSniffing) {
  const esgw::v1::PoolStats stats = Stats();
  std::vector<std::string> addresses;
  for (const auto& node : stats.nodes()) {
    addresses.push_back(node.address());
    EXPECT_FALSE(node.node_id().empty()) << node.address() << " was described by the sniff";
    EXPECT_EQ(node.state(), esgw::v1::NODE_STATE_ALIVE);
  }
  const std::vector<std::string> data_nodes(cluster_->node_addresses().begin(),
                                            cluster_->node_addresses().begin() + 3);
  EXPECT_THAT(addresses, UnorderedElementsAreArray(data_nodes))
      << "the master-only node " << cluster_->node_addresses()[3] << " is left out";
  EXPECT_EQ(stats.pool_mode(), "sniffing");
  EXPECT_EQ(stats.selector(), "least_loaded");
}

TEST_F(PoolE2eTest, SniffNowMergesAndKeepsState) {
  const int64_t sniffs_before = Stats().sniffs_total();
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(10));
  esgw::v1::PoolStats stats;
  const grpc::Status status = admin_->Sniff(&context, {}, &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.sniffs_total(), sniffs_before + 1);
  EXPECT_EQ(stats.nodes_size(), 3) << "still exactly the data nodes";
  EXPECT_TRUE(stats.has_last_sniff_time());
  for (const auto& node : stats.nodes()) EXPECT_EQ(node.state(), esgw::v1::NODE_STATE_ALIVE);
}

TEST_F(PoolE2eTest, KilledNodeCostsNoSearchAndComesBackAfterRevive) {
  const std::string victim = cluster_->node_addresses()[1];
  ASSERT_TRUE(cluster_->Kill(1).ok());

  const LoadResult load = Load(/*threads=*/8, /*total=*/300, absl::Seconds(10));
  EXPECT_EQ(load.failed, 0);
  EXPECT_EQ(load.ok, 300);

  esgw::v1::PoolStats stats = Stats();
  const esgw::v1::NodeStats* node = Node(stats, victim);
  ASSERT_NE(node, nullptr);
  EXPECT_NE(node->state(), esgw::v1::NODE_STATE_ALIVE);
  EXPECT_GE(node->failures_total(), 1);
  EXPECT_GE(stats.retries_total(), 1);

  ASSERT_TRUE(cluster_->Revive(1).ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        const esgw::v1::PoolStats now = Stats();
        const esgw::v1::NodeStats* revived = Node(now, victim);
        return revived != nullptr && revived->state() == esgw::v1::NODE_STATE_ALIVE;
      },
      absl::Seconds(10), "the revived node is probed back to ALIVE"));
  const int64_t before = Node(Stats(), victim)->requests_total();
  EXPECT_TRUE(WaitFor(
      [&] {
        esgw::v1::SearchResponse response;
        EXPECT_TRUE(Search(&response).ok());
        return Node(Stats(), victim)->requests_total() > before;
      },
      absl::Seconds(15), "the revived node takes traffic again"))
      << Stats().DebugString();
}

TEST_F(PoolE2eTest, HungNodeCostsAtMostItsInFlightSearchesThenNone) {
  const std::string victim = cluster_->node_addresses()[1];
  ASSERT_TRUE(cluster_->Hang(1).ok());

  // Clients with a 5 s deadline. A Search sent to the hung node before esgw knows better waits
  // out its deadline; least_loaded steers new work away from the node piling up in-flight
  // requests, and the timeouts eject it.
  constexpr int kTotal = 400;
  const LoadResult during = Load(/*threads=*/8, kTotal, absl::Seconds(5));
  EXPECT_LE(during.failed, kTotal * 5 / 100);
  for (const auto& [code, count] : during.codes) {
    EXPECT_EQ(code, grpc::StatusCode::DEADLINE_EXCEEDED) << count << " calls";
  }
  // Node() points into the stats, which must outlive it.
  const esgw::v1::PoolStats stats = Stats();
  const esgw::v1::NodeStats* node = Node(stats, victim);
  ASSERT_NE(node, nullptr);
  EXPECT_NE(node->state(), esgw::v1::NODE_STATE_ALIVE) << "the hung node is ejected";

  // Once ejected (and failing its probes, which hang too), it costs nothing.
  const LoadResult after = Load(/*threads=*/8, 200, absl::Seconds(5));
  EXPECT_EQ(after.failed, 0);
  EXPECT_NE(Node(Stats(), victim)->state(), esgw::v1::NODE_STATE_ALIVE);
  std::printf("hung node: %d of %d Searches failed while it was discovered, %d of 200 after\n",
              during.failed, kTotal, after.failed);
}

TEST_F(PoolE2eTest, CancelledCallAbortsItsHttpExchange) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Hang(i).ok());
  const absl::StatusOr<int64_t> requests_before = cluster_->NodeStat("requests_total");
  ASSERT_TRUE(requests_before.ok()) << requests_before.status();
  PendingSearch search(absl::Seconds(60));
  ASSERT_NO_FATAL_FAILURE(StartSearch(&search, *requests_before));
  grpc::ClientContext& context = search.context;
  std::promise<grpc::Status>& done = search.done;
  const int64_t open_while_hung = cluster_->NodeStat("open_sockets").value_or(-1);
  ASSERT_GE(open_while_hung, 1);

  context.TryCancel();
  auto status = done.get_future();
  ASSERT_EQ(status.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(status.get().error_code(), grpc::StatusCode::CANCELLED);
  // esgw aborted the transfer: the node sees the connection that carried it close.
  EXPECT_TRUE(
      WaitFor([&] { return cluster_->NodeStat("open_sockets").value_or(-1) < open_while_hung; },
              absl::Seconds(10), "the cancelled exchange's socket is closed"));
  EXPECT_EQ(cluster_->NodeStat("requests_total").value_or(-1), *requests_before + 1)
      << "a cancelled call is not retried elsewhere";
}

TEST_F(PoolE2eTest, SigtermLetsTheRunningSearchFinishThenStopsAtOnce) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Slow(i, absl::Milliseconds(1500)).ok());
  const absl::StatusOr<int64_t> requests_before = cluster_->NodeStat("requests_total");
  ASSERT_TRUE(requests_before.ok()) << requests_before.status();
  PendingSearch search(absl::Seconds(20));
  ASSERT_NO_FATAL_FAILURE(StartSearch(&search, *requests_before));
  std::promise<grpc::Status>& done = search.done;
  esgw::v1::SearchResponse& response = search.response;

  ASSERT_TRUE(server_->process().Signal(SIGTERM).ok());
  auto status = done.get_future();
  ASSERT_EQ(status.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const grpc::Status result = status.get();
  EXPECT_TRUE(result.ok()) << "the running call gets its grace: " << result.error_message();
  EXPECT_EQ(response.hits_size(), 10);
  // With the last call done, the stop does not wait out the grace (10 s) for the idle client
  // connection this test still holds.
  const auto exit_code = server_->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status() << "\n" << server_->process().Log();
  EXPECT_EQ(*exit_code, 0);
}

TEST_F(PoolE2eTest, AllNodesDownIsUnavailableAndHealthFollows) {
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Kill(i).ok());

  esgw::v1::SearchResponse response;
  // Within a 3 s deadline the answer must be UNAVAILABLE, not a timeout: esgw walks the dead
  // nodes (refused at once) and gives up.
  const grpc::Status status = Search(&response, absl::Seconds(3));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(
      WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
              absl::Seconds(5), "health turns NOT_SERVING with every node dead"));

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Revive(i).ok());
  EXPECT_TRUE(WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::SERVING; },
                      absl::Seconds(10), "health turns SERVING once a node is probed back"));
  EXPECT_TRUE(Search(&response).ok());
}

}  // namespace
}  // namespace esgw
