// The curl transport against the dev cluster over real sockets: keep-alive reuse, connect
// failures, timeouts, cancellation and server-closed idle connections.
#include "pool/curl_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "tests/support/dev_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using testing::DevCluster;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::WaitFor;

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = DevCluster::Start({.nodes = 2, .sample_data = true});
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto transport = CurlTransport::Create({.threads = 2, .max_connections_per_node = 4});
    ASSERT_THAT(transport, IsOk());
    transport_ = *std::move(transport);
  }

  Endpoint Node(int i) {
    auto endpoint = ParseEndpoint(cluster_->NodeUrl(i));
    EXPECT_THAT(endpoint, IsOk());
    return endpoint.ok() ? *endpoint : Endpoint{};
  }

  // Sends and waits for the response (bounded by the request timeout plus slack).
  HttpResponse SendAndWait(int node, HttpRequest request) {
    std::promise<HttpResponse> promise;
    auto future = promise.get_future();
    transport_->Send(Node(node), std::move(request),
                     [&promise](HttpResponse response) { promise.set_value(std::move(response)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return future.get();
  }

  static HttpRequest Get(std::string path, absl::Duration timeout = absl::Seconds(5)) {
    HttpRequest request;
    request.path = std::move(path);
    request.timeout = timeout;
    return request;
  }

  std::unique_ptr<DevCluster> cluster_;
  std::unique_ptr<CurlTransport> transport_;
};

TEST_F(CurlTransportTest, ReusesOneKeepAliveConnectionPerLoopForSequentialRequests) {
  // Exchanges alternate between the two loop threads, and each loop keeps its own connections:
  // the first exchange on each loop connects, every later one reuses.
  for (int i = 0; i < 50; ++i) {
    const HttpResponse response = SendAndWait(0, Get("/"));
    ASSERT_EQ(response.error, TransportError::kNone) << response.error_message;
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.connection_reused, i >= 2) << i;
    EXPECT_GE(response.body.capacity(), response.body.size() + kBodyPadding);
  }
  EXPECT_EQ(transport_->GetConnectionStats(cluster_->node_addresses()[0]).opened, 2);
}

TEST_F(CurlTransportTest, PostsBodiesAndReadsErrorsWithTheirStatus) {
  HttpRequest request;
  request.method = HttpMethod::kPost;
  request.path = "/products/_search";
  request.body = R"({"query":{"match_all":{}},"size":1})";
  request.content_type = "application/json";
  HttpResponse response = SendAndWait(0, request);
  ASSERT_EQ(response.error, TransportError::kNone) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("\"hits\""));
  EXPECT_THAT(response.content_type, HasSubstr("application/json"));

  request.path = "/no_such_index/_search";
  response = SendAndWait(1, request);
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr("index_not_found_exception"));
}

TEST_F(CurlTransportTest, KilledNodeIsAConnectFailure) {
  ASSERT_THAT(cluster_->Kill(1), IsOk());
  const HttpResponse response = SendAndWait(1, Get("/"));
  EXPECT_EQ(response.error, TransportError::kConnectFailed) << response.error_message;
}

TEST_F(CurlTransportTest, HungNodeTimesOutAfterSending) {
  ASSERT_THAT(cluster_->Hang(0), IsOk());
  const HttpResponse response = SendAndWait(0, Get("/", absl::Milliseconds(300)));
  EXPECT_EQ(response.error, TransportError::kTimeout) << response.error_message;
}

TEST_F(CurlTransportTest, CancelAbortsTheExchangeAndClosesItsSocket) {
  ASSERT_THAT(cluster_->Hang(0), IsOk());
  std::promise<HttpResponse> promise;
  auto future = promise.get_future();
  const Transport::TransferId id = transport_->Send(
      Node(0), Get("/", absl::Seconds(30)),
      [&promise](HttpResponse response) { promise.set_value(std::move(response)); });
  const std::string node = cluster_->node_addresses()[0];
  ASSERT_TRUE(WaitFor([&] { return transport_->GetConnectionStats(node).opened == 1; },
                      absl::Seconds(5), "the exchange connects"));
  transport_->Cancel(id);
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().error, TransportError::kCancelled);
  EXPECT_TRUE(WaitFor([&] { return transport_->GetConnectionStats(node).closed == 1; },
                      absl::Seconds(5), "the cancelled exchange's socket is closed"));
}

TEST_F(CurlTransportTest, ServerClosedIdleConnectionsAreReplacedWithoutFailing) {
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);
  ASSERT_THAT(cluster_->CloseIdle(0), IsOk());
  const HttpResponse response = SendAndWait(0, Get("/"));
  EXPECT_EQ(response.error, TransportError::kNone) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(transport_->GetConnectionStats(cluster_->node_addresses()[0]).opened, 2);
}

TEST_F(CurlTransportTest, ManyConcurrentExchangesAllComplete) {
  constexpr int kRequests = 400;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  for (int i = 0; i < kRequests; ++i) {
    transport_->Send(Node(i % 2), Get("/_cluster/health"), [&](HttpResponse response) {
      if (response.error == TransportError::kNone && response.status == 200) ++ok;
      ++done;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == kRequests; }, absl::Seconds(30),
                      "every exchange completes"));
  EXPECT_EQ(ok.load(), kRequests);
  // At most max_connections_per_node (4) per node, shared between the two loop threads.
  for (const std::string& node : cluster_->node_addresses()) {
    EXPECT_LE(transport_->GetConnectionStats(node).opened, 4) << node;
  }
}

TEST_F(CurlTransportTest, AfterShutdownSendCompletesAtOnceAsCancelled) {
  transport_->Shutdown();
  bool called = false;
  transport_->Send(Node(0), Get("/"), [&called](HttpResponse response) {
    called = true;
    EXPECT_EQ(response.error, TransportError::kCancelled);
  });
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace esgw
