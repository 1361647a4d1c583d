// End to end: Count, Get and MultiSearch through the built esgw-server in front of the built
// esgw-devcluster (with its sample data: products p-001..p-050, logs log-0001..log-0100), over
// real sockets, called through the generated C++ stubs. With ESGW_TEST_ES_URL set, the cases
// run against that real cluster (the one that reads the dev cluster's request log skips).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int kProducts = 50;
constexpr int kLogs = 100;
// Written by the suite; removed when it ends (also from a real cluster).
constexpr char kScratchIndex[] = "esgw-read-e2e";

class ReadE2eTest : public ::testing::Test {
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
    server_ = nullptr;
    if (cluster_ != nullptr) (void)cluster_->Request("DELETE", std::string("/") + kScratchIndex);
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    gateway_ = esgw::v1::Gateway::NewStub(server_->channel());
  }

  // status is INVALID_ARGUMENT naming field in its message and its ErrorInfo.
  static ::testing::AssertionResult IsInvalidField(const grpc::Status& status,
                                                   const std::string& field) {
    if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
      return ::testing::AssertionFailure() << "expected INVALID_ARGUMENT, got "
                                           << status.error_code() << ": " << status.error_message();
    }
    if (status.error_message().find(field) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message does not name " << field << ": " << status.error_message();
    }
    const google::rpc::ErrorInfo info = testing::ErrorInfoOf(status);
    if (info.reason() != "INVALID_FIELD" || !info.metadata().contains("field") ||
        info.metadata().at("field") != field) {
      return ::testing::AssertionFailure() << "ErrorInfo is " << info.ShortDebugString();
    }
    return ::testing::AssertionSuccess();
  }

  // The x-opaque-id values the server sent in its initial metadata.
  static std::vector<std::string> OpaqueIds(const grpc::ClientContext& context) {
    std::vector<std::string> ids;
    const auto range = context.GetServerInitialMetadata().equal_range("x-opaque-id");
    for (auto it = range.first; it != range.second; ++it) {
      ids.emplace_back(it->second.data(), it->second.size());
    }
    return ids;
  }

  static google::protobuf::Struct ParseObject(const std::string& json) {
    google::protobuf::Struct parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
    return parsed;
  }

  static testing::TestCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<esgw::v1::Gateway::Stub> gateway_;
};

testing::TestCluster* ReadE2eTest::cluster_ = nullptr;
testing::EsgwProcess* ReadE2eTest::server_ = nullptr;

TEST_F(ReadE2eTest, CountWithoutQueryCountsEveryDocument) {
  esgw::v1::CountRequest request;
  request.add_indices("products");
  esgw::v1::CountResponse response;
  grpc::Status status = gateway_->Count(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.count(), kProducts);
  EXPECT_GE(response.shards().total(), 1);
  EXPECT_EQ(response.shards().successful(), response.shards().total());
  EXPECT_TRUE(cluster_->IsNodeAddress(response.served_by())) << response.served_by();

  request.clear_indices();
  request.add_indices("products");
  request.add_indices("logs");
  status = gateway_->Count(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.count(), kProducts + kLogs);
}

TEST_F(ReadE2eTest, CountWithQueryMatchesSearchTotal) {
  const std::string query = R"({"query":{"term":{"category":"books"}}})";
  esgw::v1::SearchRequest search;
  search.add_indices("products");
  search.set_body_json(R"({"query":{"term":{"category":"books"}},"size":0})");
  esgw::v1::SearchResponse hits;
  grpc::Status status = gateway_->Search(testing::CallContext().get(), search, &hits);
  ASSERT_TRUE(status.ok()) << status.error_message();

  esgw::v1::CountRequest request;
  request.add_indices("products");
  request.set_body_json(query);
  esgw::v1::CountResponse response;
  status = gateway_->Count(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GT(response.count(), 0);
  EXPECT_LT(response.count(), kProducts);
  EXPECT_EQ(response.count(), hits.total().value());

  // The same query as a Struct, pretty-printed JSON, and with routing, counts the same.
  esgw::v1::CountRequest as_struct;
  as_struct.add_indices("products");
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(query, as_struct.mutable_body_struct()).ok());
  as_struct.set_routing("a \"routing\" value");
  esgw::v1::CountResponse struct_response;
  status = gateway_->Count(testing::CallContext().get(), as_struct, &struct_response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(struct_response.count(), response.count());
}

TEST_F(ReadE2eTest, GetFoundReturnsTheSourceBytesVersionAndSeqNo) {
  const auto direct = cluster_->Request("GET", "/products/_doc/p-007");
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_EQ(direct->first, 200) << direct->second;

  esgw::v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-007");
  esgw::v1::GetResponse response;
  const grpc::Status status = gateway_->Get(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.index(), "products");
  EXPECT_EQ(response.id(), "p-007");
  EXPECT_EQ(response.version(), 1);
  EXPECT_GE(response.seq_no(), 0);
  EXPECT_GE(response.primary_term(), 1);
  EXPECT_THAT(response.source_json(), HasSubstr("\"name\":"));
  // Exactly the bytes the node sent as _source.
  EXPECT_THAT(direct->second, HasSubstr(absl::StrCat("\"_source\":", response.source_json())));
  const google::protobuf::Struct direct_doc = ParseObject(direct->second);
  EXPECT_EQ(response.seq_no(),
            static_cast<int64_t>(direct_doc.fields().at("_seq_no").number_value()));
  EXPECT_TRUE(cluster_->IsNodeAddress(response.served_by())) << response.served_by();
}

TEST_F(ReadE2eTest, GetReturnsAnOddlyFormattedSourceByteForByteUnderAnOddId) {
  // An id with a slash, quotes, a backslash, a space, a percent sign and non-ASCII, written
  // straight to the node; esgw must percent-encode it to find the document.
  const std::string id = "a/b \"q\" \\ 100% é";
  const std::string encoded_id = "a%2Fb%20%22q%22%20%5C%20100%25%20%C3%A9";
  const std::string source =
      "{ \"name\" : \"caf\\u00e9 \\\"quoted\\\"\",\n  \"price\":  1.50,\n  \"tags\": [ ] }";
  auto put =
      cluster_->Request("PUT", absl::StrCat("/", kScratchIndex, "/_doc/") + encoded_id, source);
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_EQ(put->first, 201) << put->second;
  put = cluster_->Request("PUT", absl::StrCat("/", kScratchIndex, "/_doc/") + encoded_id, source);
  ASSERT_TRUE(put.ok()) << put.status();
  ASSERT_EQ(put->first, 200) << put->second;
  const google::protobuf::Struct written = ParseObject(put->second);

  esgw::v1::GetRequest request;
  request.set_index(kScratchIndex);
  request.set_id(id);
  request.set_refresh(true);
  esgw::v1::GetResponse response;
  const grpc::Status status = gateway_->Get(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.id(), id);
  EXPECT_EQ(response.source_json(), source);
  EXPECT_EQ(response.version(), 2);
  EXPECT_EQ(response.seq_no(), static_cast<int64_t>(written.fields().at("_seq_no").number_value()));
  EXPECT_EQ(response.primary_term(),
            static_cast<int64_t>(written.fields().at("_primary_term").number_value()));
}

TEST_F(ReadE2eTest, GetMissingDocumentIsFoundFalse) {
  esgw::v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-999");
  esgw::v1::GetResponse response;
  const grpc::Status status = gateway_->Get(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_FALSE(response.found());
  EXPECT_EQ(response.index(), "products");
  EXPECT_EQ(response.id(), "p-999");
  EXPECT_EQ(response.source_json(), "");
  EXPECT_TRUE(cluster_->IsNodeAddress(response.served_by())) << response.served_by();
}

TEST_F(ReadE2eTest, GetFromUnknownIndexIsNotFound) {
  esgw::v1::GetRequest request;
  request.set_index("no_such_index");
  request.set_id("p-001");
  esgw::v1::GetResponse response;
  const grpc::Status status = gateway_->Get(testing::CallContext().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("index_not_found_exception"));
  const google::rpc::ErrorInfo info = testing::ErrorInfoOf(status);
  EXPECT_EQ(info.domain(), "esgw.dev");
  EXPECT_EQ(info.reason(), "INDEX_NOT_FOUND_EXCEPTION");
}

TEST_F(ReadE2eTest, MultiSearchKeepsOrderAndPerItemErrors) {
  esgw::v1::MultiSearchRequest request;
  esgw::v1::SearchRequest* products = request.add_searches();
  products->add_indices("products");
  // Pretty-printed, as a person would write it: must still travel as one NDJSON line.
  products->set_body_json("{\n  \"query\": {\"match_all\": {}},\r\n  \"size\": 2\n}\n");
  products->set_preference("a \"quoted\" \\ preference");
  (*products->mutable_params())["request_cache"] = "false";
  esgw::v1::SearchRequest* missing = request.add_searches();
  missing->add_indices("no_such_index");
  esgw::v1::SearchRequest* logs = request.add_searches();
  logs->add_indices("logs");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"query":{"term":{"level":"ERROR"}},"size":1})", logs->mutable_body_struct())
                  .ok());
  request.set_max_concurrent_searches(2);

  esgw::v1::MultiSearchResponse response;
  const grpc::Status status =
      gateway_->MultiSearch(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ASSERT_EQ(response.responses_size(), 3);
  EXPECT_GE(response.took_ms(), 0);
  EXPECT_TRUE(cluster_->IsNodeAddress(response.served_by())) << response.served_by();

  const esgw::v1::MultiSearchItem& first = response.responses(0);
  EXPECT_EQ(first.status(), 200);
  EXPECT_FALSE(first.has_error());
  ASSERT_EQ(first.response().hits_size(), 2);
  EXPECT_EQ(first.response().hits(0).index(), "products");
  EXPECT_EQ(first.response().total().value(), kProducts);

  const esgw::v1::MultiSearchItem& second = response.responses(1);
  EXPECT_EQ(second.status(), 404);
  EXPECT_FALSE(second.has_response());
  EXPECT_EQ(second.error().type(), "index_not_found_exception");
  EXPECT_THAT(second.error().reason(), HasSubstr("no_such_index"));

  const esgw::v1::MultiSearchItem& third = response.responses(2);
  EXPECT_EQ(third.status(), 200);
  ASSERT_EQ(third.response().hits_size(), 1);
  EXPECT_EQ(third.response().hits(0).index(), "logs");
  EXPECT_THAT(third.response().hits(0).source_json(), HasSubstr("\"level\":\"ERROR\""));
}

TEST_F(ReadE2eTest, TraceContextAndOpaqueIdReachTheNode) {
  if (cluster_->dev() == nullptr) GTEST_SKIP() << "reads esgw-devcluster's request log";
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::string opaque_id = absl::StrCat("trace-check-", getpid());
  auto context = testing::CallContext();
  context->AddMetadata("traceparent", traceparent);
  context->AddMetadata("tracestate", "rojo=00f067aa0ba902b7");
  context->AddMetadata("x-opaque-id", opaque_id);
  esgw::v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-002");
  esgw::v1::GetResponse response;
  ASSERT_TRUE(gateway_->Get(context.get(), request, &response).ok());

  // The node that served it logged the request with the headers esgw forwarded.
  const absl::StatusOr<std::string> stats = cluster_->dev()->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  const google::protobuf::Struct parsed = ParseObject(*stats);
  int matches = 0;
  for (const auto& node : parsed.fields().at("nodes").list_value().values()) {
    for (const auto& entry :
         node.struct_value().fields().at("recent_requests").list_value().values()) {
      const auto& headers = entry.struct_value().fields().at("headers").struct_value().fields();
      const auto id = headers.find("x-opaque-id");
      if (id == headers.end() || id->second.string_value() != opaque_id) continue;
      ++matches;
      EXPECT_EQ(entry.struct_value().fields().at("target").string_value(), "/products/_doc/p-002");
      ASSERT_TRUE(headers.contains("traceparent"));
      EXPECT_EQ(headers.at("traceparent").string_value(), traceparent);
      ASSERT_TRUE(headers.contains("tracestate"));
      EXPECT_EQ(headers.at("tracestate").string_value(), "rojo=00f067aa0ba902b7");
    }
  }
  EXPECT_EQ(matches, 1) << *stats;
}

TEST_F(ReadE2eTest, OpaqueIdIsGeneratedOrEchoedInInitialMetadata) {
  // What the client sees: a generated X-Opaque-Id per request, or the client's own, in the
  // initial metadata.
  esgw::v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-001");
  esgw::v1::GetResponse response;

  auto generated = testing::CallContext();
  generated->AddMetadata("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(gateway_->Get(generated.get(), request, &response).ok());
  ASSERT_EQ(OpaqueIds(*generated).size(), 1u);
  EXPECT_THAT(OpaqueIds(*generated)[0], MatchesRegex("esgw-[0-9a-f]{16}"));

  auto another = testing::CallContext();
  ASSERT_TRUE(gateway_->Get(another.get(), request, &response).ok());
  ASSERT_EQ(OpaqueIds(*another).size(), 1u);
  EXPECT_NE(OpaqueIds(*another)[0], OpaqueIds(*generated)[0]);

  auto client_id = testing::CallContext();
  client_id->AddMetadata("x-opaque-id", "checkout-42");
  esgw::v1::CountRequest count;
  count.add_indices("products");
  esgw::v1::CountResponse count_response;
  ASSERT_TRUE(gateway_->Count(client_id.get(), count, &count_response).ok());
  EXPECT_THAT(OpaqueIds(*client_id), ::testing::ElementsAre("checkout-42"));

  // Too long to forward: replaced by a generated one.
  auto too_long = testing::CallContext();
  too_long->AddMetadata("x-opaque-id", std::string(300, 'x'));
  esgw::v1::MultiSearchRequest msearch;
  msearch.add_searches()->add_indices("products");
  esgw::v1::MultiSearchResponse msearch_response;
  ASSERT_TRUE(gateway_->MultiSearch(too_long.get(), msearch, &msearch_response).ok());
  ASSERT_EQ(OpaqueIds(*too_long).size(), 1u);
  EXPECT_THAT(OpaqueIds(*too_long)[0], MatchesRegex("esgw-[0-9a-f]{16}"));

  auto search = testing::CallContext();
  search->AddMetadata("x-opaque-id", "search-7");
  esgw::v1::SearchRequest search_request;
  esgw::v1::SearchResponse search_response;
  ASSERT_TRUE(gateway_->Search(search.get(), search_request, &search_response).ok());
  EXPECT_THAT(OpaqueIds(*search), ::testing::ElementsAre("search-7"));
}

TEST_F(ReadE2eTest, InvalidInputIsInvalidArgumentNamingTheField) {
  esgw::v1::CountRequest count;
  count.add_indices("products");
  count.add_indices("../_cluster");
  esgw::v1::CountResponse count_response;
  EXPECT_TRUE(IsInvalidField(gateway_->Count(testing::CallContext().get(), count, &count_response),
                             "indices[1]"));
  count.clear_indices();
  count.set_body_json("{\"query\":");
  EXPECT_TRUE(IsInvalidField(gateway_->Count(testing::CallContext().get(), count, &count_response),
                             "body_json"));

  esgw::v1::GetRequest get;
  esgw::v1::GetResponse get_response;
  get.set_id("p-001");
  EXPECT_TRUE(
      IsInvalidField(gateway_->Get(testing::CallContext().get(), get, &get_response), "index"));
  get.set_index("products,logs");
  EXPECT_TRUE(
      IsInvalidField(gateway_->Get(testing::CallContext().get(), get, &get_response), "index"));
  get.set_index("prod*");
  EXPECT_TRUE(
      IsInvalidField(gateway_->Get(testing::CallContext().get(), get, &get_response), "index"));
  get.set_index("products");
  get.set_id("");
  EXPECT_TRUE(
      IsInvalidField(gateway_->Get(testing::CallContext().get(), get, &get_response), "id"));
  get.set_id(std::string(513, 'x'));
  EXPECT_TRUE(
      IsInvalidField(gateway_->Get(testing::CallContext().get(), get, &get_response), "id"));

  esgw::v1::MultiSearchRequest msearch;
  esgw::v1::MultiSearchResponse msearch_response;
  EXPECT_TRUE(IsInvalidField(
      gateway_->MultiSearch(testing::CallContext().get(), msearch, &msearch_response), "searches"));
  msearch.add_searches()->add_indices("products");
  (*msearch.add_searches()->mutable_params())["timeout"] = "1s";
  EXPECT_TRUE(IsInvalidField(
      gateway_->MultiSearch(testing::CallContext().get(), msearch, &msearch_response),
      "searches[1].params[timeout]"));
  msearch.mutable_searches(1)->clear_params();
  msearch.mutable_searches(1)->add_indices("Products");
  EXPECT_TRUE(IsInvalidField(
      gateway_->MultiSearch(testing::CallContext().get(), msearch, &msearch_response),
      "searches[1].indices[0]"));
  msearch.mutable_searches(1)->clear_indices();
  msearch.mutable_searches(0)->set_body_json("[]");
  EXPECT_TRUE(IsInvalidField(
      gateway_->MultiSearch(testing::CallContext().get(), msearch, &msearch_response),
      "searches[0].body_json"));
}

}  // namespace
}  // namespace esgw
