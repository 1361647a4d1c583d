// End to end: Bulk through the built esgw-server in front of the built esgw-devcluster, over
// real sockets, called through the generated C++ stubs. The dev cluster's document listing
// (GET /docs/{index}: ids and versions) proves what was stored: nothing lost, nothing twice.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;

class WriteE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::DevCluster::Start({.nodes = 3});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    // Small batches, so that a few hundred ops already take several _bulk requests, and short
    // item backoff, so that 429 retries do not slow the suite.
    auto server = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(),
        {"--bulk_max_ops=50", "--bulk_retry_initial=10ms", "--bulk_retry_max=100ms"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
    gateway_ = esgw::v1::Gateway::NewStub(server_->channel());
  }

  // count index ops with ids d-0000.. into index, each tagged seq = 1000 + i.
  static esgw::v1::BulkRequest IndexOps(const std::string& index, int count) {
    esgw::v1::BulkRequest request;
    request.set_index(index);
    request.set_refresh(esgw::v1::REFRESH_TRUE);
    for (int i = 0; i < count; ++i) {
      esgw::v1::BulkOp* op = request.add_ops();
      op->set_type(esgw::v1::OP_TYPE_INDEX);
      op->set_id(absl::StrCat("d-", absl::Dec(i, absl::kZeroPad4)));
      op->set_source_json(absl::StrCat(R"({"n":)", i, R"(,"title":"doc \"number\" )", i, "\"}"));
      op->set_seq(1000 + i);
    }
    return request;
  }

  // id -> version of every document the dev cluster stores in index.
  static std::map<std::string, int64_t> StoredDocs(const std::string& index) {
    std::map<std::string, int64_t> docs;
    const absl::StatusOr<std::string> body = cluster_->Docs(index);
    EXPECT_TRUE(body.ok()) << body.status();
    if (!body.ok()) return docs;
    google::protobuf::Struct parsed;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*body, &parsed).ok()) << *body;
    for (const auto& doc : parsed.fields().at("docs").list_value().values()) {
      const auto& fields = doc.struct_value().fields();
      docs[fields.at("_id").string_value()] =
          static_cast<int64_t>(fields.at("_version").number_value());
    }
    return docs;
  }

  static testing::DevCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<esgw::v1::Gateway::Stub> gateway_;
};

testing::DevCluster* WriteE2eTest::cluster_ = nullptr;
testing::EsgwProcess* WriteE2eTest::server_ = nullptr;

TEST_F(WriteE2eTest, BulkWritesEveryOpOnceAndReportsThemInOrder) {
  const esgw::v1::BulkRequest request = IndexOps("write-e2e", 240);
  esgw::v1::BulkResponse response;
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_FALSE(response.errors());
  ASSERT_EQ(response.items_size(), 240);
  for (int i = 0; i < 240; ++i) {
    const esgw::v1::BulkItemResult& item = response.items(i);
    EXPECT_EQ(item.seq(), 1000u + i);
    EXPECT_EQ(item.id(), request.ops(i).id());
    EXPECT_EQ(item.index(), "write-e2e");
    EXPECT_EQ(item.status(), 201) << item.DebugString();
    EXPECT_EQ(item.result(), "created");
    EXPECT_EQ(item.version(), 1);
    EXPECT_EQ(item.attempts(), 1);
  }
  const std::map<std::string, int64_t> stored = StoredDocs("write-e2e");
  EXPECT_EQ(stored.size(), 240u);
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id;
  // 240 ops at --bulk_max_ops=50: five _bulk requests (SetUp zeroed the counters).
  const absl::StatusOr<int64_t> bulks = cluster_->NodeStat("requests.bulk");
  ASSERT_TRUE(bulks.ok()) << bulks.status();
  EXPECT_EQ(*bulks, 5);
}

TEST_F(WriteE2eTest, ItemsRejectedForLoadAreResentAloneAndStoredExactlyOnce) {
  ASSERT_TRUE(cluster_->BulkReject(7).ok());  // every 7th bulk item answers 429, not applied
  const esgw::v1::BulkRequest request = IndexOps("write-e2e-429", 300);
  esgw::v1::BulkResponse response;
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_FALSE(response.errors());
  ASSERT_EQ(response.items_size(), 300);
  int retried = 0;
  for (int i = 0; i < 300; ++i) {
    const esgw::v1::BulkItemResult& item = response.items(i);
    EXPECT_EQ(item.seq(), 1000u + i);
    EXPECT_EQ(item.status(), 201) << item.DebugString();
    EXPECT_EQ(item.version(), 1) << "written once: " << item.DebugString();
    if (item.attempts() > 1) ++retried;
  }
  EXPECT_GE(retried, 300 / 7 - 1) << "the rejected items were resent";
  const std::map<std::string, int64_t> stored = StoredDocs("write-e2e-429");
  EXPECT_EQ(stored.size(), 300u);
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id << " applied twice";
}

TEST_F(WriteE2eTest, ItemErrorsAreReportedInTheirItemNotAsAFailedCall) {
  esgw::v1::BulkRequest first = IndexOps("write-e2e-mixed", 2);
  esgw::v1::BulkResponse response;
  ASSERT_TRUE(gateway_->Bulk(testing::CallContext().get(), first, &response).ok());

  esgw::v1::BulkRequest request;
  request.set_index("write-e2e-mixed");
  esgw::v1::BulkOp* create = request.add_ops();  // exists already: 409
  create->set_type(esgw::v1::OP_TYPE_CREATE);
  create->set_id("d-0000");
  create->set_source_json(R"({"n":0})");
  create->set_seq(1);
  esgw::v1::BulkOp* remove = request.add_ops();
  remove->set_type(esgw::v1::OP_TYPE_DELETE);
  remove->set_id("d-0001");
  remove->set_seq(2);
  esgw::v1::BulkOp* missing = request.add_ops();  // nothing to delete: 404, not an error
  missing->set_type(esgw::v1::OP_TYPE_DELETE);
  missing->set_id("no-such-doc");
  missing->set_seq(3);
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.errors());
  ASSERT_EQ(response.items_size(), 3);
  EXPECT_EQ(response.items(0).status(), 409);
  EXPECT_EQ(response.items(0).error().type(), "version_conflict_engine_exception");
  EXPECT_EQ(response.items(1).status(), 200);
  EXPECT_EQ(response.items(1).result(), "deleted");
  EXPECT_EQ(response.items(2).status(), 404);
  EXPECT_EQ(response.items(2).result(), "not_found");
  const std::map<std::string, int64_t> stored = StoredDocs("write-e2e-mixed");
  EXPECT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored.count("d-0000"), 1u);
}

TEST_F(WriteE2eTest, InvalidOpsAreRefusedBeforeAnythingIsWritten) {
  esgw::v1::BulkRequest request = IndexOps("write-e2e-invalid", 3);
  request.mutable_ops(1)->set_type(esgw::v1::OP_TYPE_DELETE);
  request.mutable_ops(1)->clear_id();
  request.mutable_ops(1)->clear_source_json();
  esgw::v1::BulkResponse response;
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ops[1].id"));
  EXPECT_FALSE(cluster_->Docs("write-e2e-invalid").ok()) << "nothing was written";

  esgw::v1::BulkRequest empty;
  EXPECT_EQ(gateway_->Bulk(testing::CallContext().get(), empty, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WriteE2eTest, NoNodeMeansAFailedCallAndNothingWritten) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Kill(i).ok());
  const esgw::v1::BulkRequest request = IndexOps("write-e2e-down", 10);
  esgw::v1::BulkResponse response;
  const grpc::Status status =
      gateway_->Bulk(testing::CallContext(absl::Seconds(5)).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(response.items_size(), 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Revive(i).ok());
}

}  // namespace
}  // namespace esgw
