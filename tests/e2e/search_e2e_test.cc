// End to end: the built esgw-server in front of the built esgw-devcluster, over real sockets,
// called through the generated C++ stubs. With ESGW_TEST_ES_URL set, every case here runs
// against that real cluster instead (none needs fault injection).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

class SearchE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::TestCluster::Start({.nodes = 3, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete cluster_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    gateway_ = esgw::v1::Gateway::NewStub(server_->channel());
  }

  static testing::TestCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<esgw::v1::Gateway::Stub> gateway_;
};

testing::TestCluster* SearchE2eTest::cluster_ = nullptr;
testing::EsgwProcess* SearchE2eTest::server_ = nullptr;

TEST_F(SearchE2eTest, SearchReturnsHitsWithSourceAndServedBy) {
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  request.set_body_json(R"({"query":{"match_all":{}},"size":5})");
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ASSERT_EQ(response.hits_size(), 5);
  EXPECT_GT(response.total().value(), 5);
  EXPECT_EQ(response.total().relation(), esgw::v1::TotalHits::RELATION_EQ);
  EXPECT_GE(response.took_ms(), 0);
  EXPECT_FALSE(response.timed_out());
  for (const auto& hit : response.hits()) {
    EXPECT_EQ(hit.index(), "products");
    EXPECT_FALSE(hit.id().empty());
    google::protobuf::Struct source;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(hit.source_json(), &source).ok())
        << hit.source_json();
    EXPECT_TRUE(hit.has_score());
  }
  EXPECT_TRUE(cluster_->IsNodeAddress(response.served_by())) << response.served_by();
}

TEST_F(SearchE2eTest, SearchWithStructBodySortsAndAggregates) {
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"size":3,"sort":[{"price":"desc"}],
                      "aggs":{"by_category":{"terms":{"field":"category"}}}})",
                  request.mutable_body_struct())
                  .ok());
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.hits_size(), 3);
  for (const auto& hit : response.hits()) {
    EXPECT_FALSE(hit.has_score()) << "sorting by a field leaves _score null";
    EXPECT_THAT(hit.sort_json(), ::testing::StartsWith("["));
  }
  EXPECT_THAT(response.aggregations_json(), HasSubstr("\"by_category\""));
  EXPECT_THAT(response.aggregations_json(), HasSubstr("\"buckets\""));
}

TEST_F(SearchE2eTest, BadJsonIsInvalidArgumentNamingTheField) {
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  request.set_body_json(R"({"query": {"match_all": {})");
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("body_json"));
  const google::rpc::ErrorInfo info = testing::ErrorInfoOf(status);
  EXPECT_EQ(info.reason(), "INVALID_FIELD");
  EXPECT_EQ(info.metadata().at("field"), "body_json");
}

TEST_F(SearchE2eTest, PathSteeringIndexIsRefusedBeforeReachingANode) {
  esgw::v1::SearchRequest request;
  request.add_indices("../_cluster/settings");
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("indices[0]"));
}

TEST_F(SearchE2eTest, UnknownIndexIsNotFoundWithElasticsearchErrorInfo) {
  esgw::v1::SearchRequest request;
  request.add_indices("no_such_index");
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("index_not_found_exception"));
  const google::rpc::ErrorInfo info = testing::ErrorInfoOf(status);
  EXPECT_EQ(info.domain(), "esgw.dev");
  EXPECT_EQ(info.reason(), "INDEX_NOT_FOUND_EXCEPTION");
}

TEST_F(SearchE2eTest, GetHealthReportsGatewayPoolAndClusterHealth) {
  auto admin = esgw::v1::Admin::NewStub(server_->channel());
  esgw::v1::HealthReport report;
  grpc::Status status = admin->GetHealth(testing::CallContext().get(), {}, &report);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(report.status(), esgw::v1::GATEWAY_STATUS_SERVING);
  EXPECT_GE(report.pool().alive(), 1);
  EXPECT_EQ(report.pool().dead(), 0);
  EXPECT_THAT(report.version(), ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_GT(report.uptime().seconds() * 1'000'000'000LL + report.uptime().nanos(), 0);
  EXPECT_EQ(report.cluster().error(), "");
  EXPECT_THAT(report.cluster().status(), ::testing::AnyOf("green", "yellow", "red"));
  EXPECT_FALSE(report.cluster().cluster_name().empty());
  EXPECT_GE(report.cluster().number_of_nodes(), 1);
  EXPECT_TRUE(report.cluster().has_fetched_at());

  // A second report within the cache time shows the same fetch.
  esgw::v1::HealthReport again;
  status = admin->GetHealth(testing::CallContext().get(), {}, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again.cluster().fetched_at().seconds(), report.cluster().fetched_at().seconds());
  EXPECT_EQ(again.cluster().fetched_at().nanos(), report.cluster().fetched_at().nanos());
}

TEST_F(SearchE2eTest, WatchPoolStatsRefusesAnIntervalOutOfRange) {
  auto admin = esgw::v1::Admin::NewStub(server_->channel());
  for (const int64_t millis : {-5, 10, 7'200'000}) {
    auto context = testing::CallContext();
    esgw::v1::WatchPoolStatsRequest request;
    request.mutable_interval()->set_seconds(millis / 1000);
    request.mutable_interval()->set_nanos(static_cast<int32_t>(millis % 1000) * 1'000'000);
    auto stream = admin->WatchPoolStats(context.get(), request);
    esgw::v1::PoolStats response;
    EXPECT_FALSE(stream->Read(&response)) << millis << " ms";
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << millis << " ms";
    EXPECT_THAT(status.error_message(), HasSubstr("interval: must be")) << millis << " ms";
  }
}

TEST_F(SearchE2eTest, HealthIsServingForServerAndGateway) {
  auto health = grpc::health::v1::Health::NewStub(server_->channel());
  for (const std::string service : {"", "esgw.v1.Gateway"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(testing::CallContext().get(), request, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }
  grpc::health::v1::HealthCheckRequest unknown;
  unknown.set_service("no.such.Service");
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_EQ(health->Check(testing::CallContext().get(), unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SearchE2eTest, HealthWatchSendsTheStatusAndEndsWhenTheServerStops) {
  // A server of its own: stopping it is part of the test.
  auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag());
  ASSERT_TRUE(server.ok()) << server.status();
  auto health = grpc::health::v1::Health::NewStub((*server)->channel());
  auto context = testing::CallContext();
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("esgw.v1.Gateway");
  auto stream = health->Watch(context.get(), request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  ASSERT_TRUE((*server)->process().Signal(SIGTERM).ok());
  // Shutdown turns health NOT_SERVING at once, and the stream then ends cleanly.
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
  // An open Watch must not hold up the stop.
  const auto exit_code = (*server)->process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << (*server)->process().Log();
}

TEST_F(SearchE2eTest, ReflectionV1ListsTheServices) {
  auto reflection = grpc::reflection::v1::ServerReflection::NewStub(server_->channel());
  auto context = testing::CallContext();
  auto stream = reflection->ServerReflectionInfo(context.get());
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  stream->WritesDone();
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  EXPECT_THAT(names, IsSupersetOf({"esgw.v1.Gateway", "esgw.v1.Admin", "grpc.health.v1.Health"}));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(SearchE2eTest, StopsCleanlyOnSigterm) {
  // A server of its own, so the shared one keeps serving the other tests.
  auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag());
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->process().Signal(SIGTERM).ok());
  const auto exit_code = (*server)->process().Wait(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << (*server)->process().Log();
}

}  // namespace
}  // namespace esgw
