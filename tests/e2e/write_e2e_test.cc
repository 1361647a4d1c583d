// End to end: Bulk and Ingest through the built esgw-server in front of the built esgw-devcluster,
// over real sockets, called through the generated C++ stubs. The dev cluster's document listing
// (GET /docs/{index}: ids and versions) proves what was stored: nothing lost, nothing twice.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/gateway_calls.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using testing::IngestMessages;
using testing::IngestOutcome;

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
        {"--bulk_max_ops=50", "--bulk_retry_initial=10ms", "--bulk_retry_max=100ms",
         // A small Ingest buffer, so that the flow-control case needs only a few megabytes.
         "--bulk_max_bytes=262144", "--ingest_max_buffer_bytes=1048576",
         "--metrics_listen=127.0.0.1:0"});
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
    return testing::StoredDocsOrFail(*cluster_, index);
  }

  IngestOutcome RunIngest(const std::vector<esgw::v1::IngestRequest>& messages,
                          absl::Duration timeout = absl::Seconds(60)) {
    return testing::RunIngest(*gateway_, messages, timeout);
  }

  // Every seq from 1000 on reported once with status 201 and stored once (version 1).
  static void ExpectAllStoredOnce(const IngestOutcome& outcome, const std::string& index,
                                  int count) {
    EXPECT_EQ(outcome.duplicates, 0);
    ASSERT_EQ(outcome.results.size(), static_cast<size_t>(count));
    for (const auto& [seq, result] : outcome.results) {
      ASSERT_GE(seq, 1000u);
      ASSERT_LT(seq, 1000u + count);
      EXPECT_EQ(result.status(), 201) << result.DebugString();
      EXPECT_EQ(result.version(), 1) << result.DebugString();
    }
    const std::map<std::string, int64_t> stored = StoredDocs(index);
    EXPECT_EQ(stored.size(), static_cast<size_t>(count));
    for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id << " applied twice";
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
  const esgw::v1::BulkRequest request = IndexOps("write-e2e-429", 700);
  esgw::v1::BulkResponse response;
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_FALSE(response.errors());
  ASSERT_EQ(response.items_size(), 700);
  int retried = 0;
  for (int i = 0; i < 700; ++i) {
    const esgw::v1::BulkItemResult& item = response.items(i);
    EXPECT_EQ(item.seq(), 1000u + i);
    EXPECT_EQ(item.status(), 201) << item.DebugString();
    EXPECT_EQ(item.version(), 1) << "written once: " << item.DebugString();
    if (item.attempts() > 1) ++retried;
  }
  EXPECT_GE(retried, 700 / 7 - 1) << "the rejected items were resent";
  const std::map<std::string, int64_t> stored = StoredDocs("write-e2e-429");
  EXPECT_EQ(stored.size(), 700u);
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

TEST_F(WriteE2eTest, NoNodeMeansEveryOpFailsAndNothingIsWritten) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Kill(i).ok());
  const esgw::v1::BulkRequest request = IndexOps("write-e2e-down", 10);
  esgw::v1::BulkResponse response;
  const grpc::Status status =
      gateway_->Bulk(testing::CallContext(absl::Seconds(5)).get(), request, &response);
  if (status.ok()) {
    // The batch went out on a kept-alive connection that its dying node reset before answering:
    // a node that died after taking the request looks the same, so the outcome is unknown.
    ASSERT_EQ(response.items_size(), 10);
    for (const esgw::v1::BulkItemResult& item : response.items()) {
      EXPECT_EQ(item.error().type(), "esgw_outcome_unknown") << item.DebugString();
    }
  } else {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_EQ(response.items_size(), 0);
  }
  // The call after it finds every node down: a failed call.
  const grpc::Status again =
      gateway_->Bulk(testing::CallContext(absl::Seconds(5)).get(), request, &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE) << again.error_message();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Revive(i).ok());
  EXPECT_TRUE(StoredDocs("write-e2e-down").empty()) << "nothing was written";
}

TEST_F(WriteE2eTest, BulkRoundTripsAwkwardIdsAndSourcesByteForByte) {
  // Quotes, backslashes, newlines, control characters and non-ASCII in ids and in sources.
  const std::vector<std::pair<std::string, std::string>> docs = {
      {"quote\"d", R"({"text":"she said \"hi\"","n":1})"},
      {"back\\slash", R"({"path":"C:\\temp\\new","n":2})"},
      {"new\nline", "{\"text\":\"line one\\nline two\\ttab \\u0001\",\n  \"n\": 3}"},
      {"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x9A\x80",
       "{\"text\":\"na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x9A\x80\",\"n\":4}"},
      {"slash/and?query#frag&x=1%20", R"({"n":5,"nested":{"a":[1,2,{"b":null}]}})"},
  };
  esgw::v1::BulkRequest request;
  request.set_index("write-e2e-bytes");
  request.set_refresh(esgw::v1::REFRESH_TRUE);
  for (size_t i = 0; i < docs.size(); ++i) {
    esgw::v1::BulkOp* op = request.add_ops();
    op->set_type(esgw::v1::OP_TYPE_INDEX);
    op->set_id(docs[i].first);
    op->set_source_json(docs[i].second);
    op->set_seq(i);
  }
  esgw::v1::BulkResponse response;
  const grpc::Status status = gateway_->Bulk(testing::CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), static_cast<int>(docs.size()));
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(response.items(i).status(), 201) << response.items(i).DebugString();
    EXPECT_EQ(response.items(i).id(), docs[i].first);
    esgw::v1::GetRequest get;
    get.set_index("write-e2e-bytes");
    get.set_id(docs[i].first);
    esgw::v1::GetResponse got;
    const grpc::Status got_status = gateway_->Get(testing::CallContext().get(), get, &got);
    ASSERT_TRUE(got_status.ok()) << got_status.error_message();
    ASSERT_TRUE(got.found()) << docs[i].first;
    EXPECT_EQ(got.id(), docs[i].first);
    // A _bulk body holds each source on one line, so a raw newline between JSON tokens goes as
    // a space (same length, same JSON); everything else comes back byte for byte.
    std::string expected = docs[i].second;
    std::replace(expected.begin(), expected.end(), '\n', ' ');
    EXPECT_EQ(got.source_json(), expected);
  }
}

TEST_F(WriteE2eTest, APathAsAnIndexNameIsRefusedEverywhereAndNeverReachesANode) {
  const std::string index = "../_cluster/settings";
  esgw::v1::BulkRequest bulk = IndexOps(index, 1);
  esgw::v1::BulkResponse bulk_response;
  grpc::Status status = gateway_->Bulk(testing::CallContext().get(), bulk, &bulk_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("index"));

  esgw::v1::SearchRequest search;
  search.add_indices(index);
  esgw::v1::SearchResponse search_response;
  status = gateway_->Search(testing::CallContext().get(), search, &search_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("indices[0]"));

  esgw::v1::GetRequest get;
  get.set_index(index);
  get.set_id("1");
  esgw::v1::GetResponse get_response;
  status = gateway_->Get(testing::CallContext().get(), get, &get_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  std::vector<esgw::v1::IngestRequest> messages = IngestMessages(index, 2, 2);
  IngestOutcome ingest = RunIngest(messages);
  EXPECT_EQ(ingest.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "a default index that is not valid ends the stream";
  EXPECT_THAT(ingest.status.error_message(), HasSubstr("index"));
  messages = IngestMessages("write-e2e-ok", 1, 1);
  messages[0].mutable_ops(0)->set_index(index);
  ingest = RunIngest(messages);
  ASSERT_TRUE(ingest.status.ok()) << ingest.status.error_message();
  ASSERT_EQ(ingest.results.size(), 1u);
  EXPECT_EQ(ingest.results.begin()->second.status(), 400);

  const absl::StatusOr<std::string> stats = cluster_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_THAT(*stats, ::testing::Not(HasSubstr("settings"))) << "no such request reached a node";
  const absl::StatusOr<int64_t> bulks = cluster_->NodeStat("requests.bulk");
  ASSERT_TRUE(bulks.ok());
  EXPECT_EQ(*bulks, 0);
}

TEST_F(WriteE2eTest, IngestAcknowledgesEverySeqOnceAndStoresEveryDocOnce) {
  ASSERT_TRUE(cluster_->BulkReject(11).ok());  // every 11th bulk item answers 429
  constexpr int kOps = 5000;
  const IngestOutcome outcome = RunIngest(IngestMessages("write-e2e-ingest", kOps, 100));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  ExpectAllStoredOnce(outcome, "write-e2e-ingest", kOps);
  int retried = 0;
  for (const auto& [seq, result] : outcome.results) retried += result.attempts() > 1 ? 1 : 0;
  EXPECT_GE(retried, kOps / 11 - 1) << "the rejected items were resent";
  EXPECT_EQ(outcome.summaries, 1);
  EXPECT_EQ(outcome.results_after_summary, 0) << "the summary is the last message";
  EXPECT_EQ(outcome.summary.ops(), kOps);
  EXPECT_EQ(outcome.summary.ok(), kOps);
  EXPECT_EQ(outcome.summary.failed(), 0);
  EXPECT_EQ(outcome.summary.retried(), retried);
  EXPECT_GT(outcome.summary.bytes(), kOps * 10);
  const absl::StatusOr<int64_t> bulks = cluster_->NodeStat("requests.bulk");
  ASSERT_TRUE(bulks.ok());
  EXPECT_GE(*bulks, kOps / 50) << "batches of at most --bulk_max_ops=50";
}

TEST_F(WriteE2eTest, IngestStopsReadingWhenItsBufferIsFullAndLosesNothing) {
  // Every node holds its requests: batches cannot finish, the stream's buffer
  // (--ingest_max_buffer_bytes=1MiB) fills, esgw stops reading and gRPC flow control blocks
  // the client's writes. Without that bound the writer would send all 48 MiB at once. What the
  // client gets to write is esgw's 1 MiB plus what HTTP/2 windows and socket buffers take in
  // (about 13 MiB seen, as gRPC grows its window to the bandwidth-delay product), so the bound
  // itself is read from esgw's own gauge.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Hang(i).ok());
  constexpr int kOps = 12288;
  const std::vector<esgw::v1::IngestRequest> messages =
      IngestMessages("write-e2e-flow", kOps, 16, 4000);  // 64 KB messages
  const size_t message_bytes = messages[1].ByteSizeLong();
  auto context = testing::CallContext(absl::Seconds(90));
  auto stream = gateway_->Ingest(context.get());
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (const esgw::v1::IngestRequest& message : messages) {
      if (!stream->Write(message)) break;
      ++written;
    }
    stream->WritesDone();
  });
  // Wait until the writer has been stuck for a second (or has sent everything).
  int last = -1;
  absl::Time stuck_since = absl::Now();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (absl::Now() < give_up && absl::Now() - stuck_since < absl::Seconds(1)) {
    const int now_written = written.load();
    if (now_written != last) {
      last = now_written;
      stuck_since = absl::Now();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  const size_t bytes_in = static_cast<size_t>(written.load()) * message_bytes;
  EXPECT_LT(written.load(), static_cast<int>(messages.size()))
      << "the writer was never held (" << bytes_in << " bytes written)";
  absl::StatusOr<testing::PromExposition> held = server_->ScrapeMetrics();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->Sum("esgw_ingest_streams"), 1);
  EXPECT_GE(held->Sum("esgw_ingest_read_pauses_total"), 1) << "the stream stopped reading";
  const double buffered = held->Sum("esgw_ingest_buffered_bytes");
  EXPECT_GE(buffered, 1 << 20) << "the buffer filled";
  // Ops are counted as encoded: a little more than their protobuf bytes.
  EXPECT_LE(buffered, (1 << 20) + 2 * message_bytes) << "at most the bound and one message";

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Heal(i).ok());
  IngestOutcome outcome;
  esgw::v1::IngestResponse response;
  while (stream->Read(&response)) outcome.Take(response);
  writer.join();
  outcome.status = stream->Finish();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(written.load(), static_cast<int>(messages.size()));
  ExpectAllStoredOnce(outcome, "write-e2e-flow", kOps);
  EXPECT_EQ(outcome.summary.ops(), kOps);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        absl::StatusOr<testing::PromExposition> after = server_->ScrapeMetrics();
        return after.ok() && after->Sum("esgw_ingest_streams") == 0 &&
               after->Sum("esgw_ingest_buffered_bytes") == 0;
      },
      absl::Seconds(5), "the stream's bytes released when it ends"));
}

TEST_F(WriteE2eTest, IngestReportsAnInvalidOpInItsResultAndGoesOn) {
  std::vector<esgw::v1::IngestRequest> messages = IngestMessages("write-e2e-bad-op", 30, 10);
  messages[1].mutable_ops(3)->set_source_json("[1,2]");                 // seq 1013
  messages[2].mutable_ops(0)->set_type(esgw::v1::OP_TYPE_UNSPECIFIED);  // seq 1020
  const IngestOutcome outcome = RunIngest(messages);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  ASSERT_EQ(outcome.results.size(), 30u);
  const esgw::v1::BulkItemResult& bad_source = outcome.results.at(1013);
  EXPECT_EQ(bad_source.status(), 400);
  EXPECT_EQ(bad_source.error().type(), "esgw_invalid_op");
  EXPECT_THAT(bad_source.error().reason(), HasSubstr("ops[3].source_json"));
  EXPECT_EQ(outcome.results.at(1020).error().type(), "esgw_invalid_op");
  EXPECT_THAT(outcome.results.at(1020).error().reason(), HasSubstr("ops[0].type"));
  EXPECT_EQ(outcome.summary.ops(), 30);
  EXPECT_EQ(outcome.summary.ok(), 28);
  EXPECT_EQ(outcome.summary.failed(), 2);
  EXPECT_EQ(StoredDocs("write-e2e-bad-op").size(), 28u);
}

TEST_F(WriteE2eTest, IngestStreamMistakeEndsItAfterReportingWhatWasAccepted) {
  std::vector<esgw::v1::IngestRequest> messages = IngestMessages("write-e2e-mistake", 30, 10);
  messages[1].set_index("another-index");  // only the first message may set it
  IngestOutcome outcome = RunIngest(messages);
  EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.status.error_message(), HasSubstr("index"));
  EXPECT_THAT(outcome.status.error_message(), HasSubstr("first message"));
  EXPECT_EQ(outcome.summaries, 0);
  ASSERT_EQ(outcome.results.size(), 10u) << "the first message's ops, and only those";
  for (const auto& [seq, result] : outcome.results) EXPECT_EQ(result.status(), 201) << seq;
  EXPECT_EQ(StoredDocs("write-e2e-mistake").size(), 10u);

  // A seq reused while its op is still in progress.
  messages = IngestMessages("write-e2e-seq", 4, 4);
  messages[0].mutable_ops(3)->set_seq(1001);
  outcome = RunIngest(messages);
  EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.status.error_message(), HasSubstr("ops[3].seq"));
  EXPECT_TRUE(outcome.results.empty());
}

TEST_F(WriteE2eTest, IngestWithNoOpsEndsWithAnEmptySummary) {
  const IngestOutcome outcome = RunIngest({});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.summaries, 1);
  EXPECT_EQ(outcome.summary.ops(), 0);
  EXPECT_TRUE(outcome.results.empty());
}

TEST_F(WriteE2eTest, IngestCancelledMidStreamKeepsWhatWasAcknowledgedAndTheServerWorking) {
  ASSERT_TRUE(cluster_->Slow(0, absl::Milliseconds(200)).ok());
  const std::vector<esgw::v1::IngestRequest> messages =
      IngestMessages("write-e2e-cancel", 2000, 50);
  auto context = testing::CallContext(absl::Seconds(30));
  auto stream = gateway_->Ingest(context.get());
  for (size_t i = 0; i < messages.size() / 2; ++i) ASSERT_TRUE(stream->Write(messages[i]));
  IngestOutcome outcome;
  esgw::v1::IngestResponse response;
  while (outcome.results.size() < 100 && stream->Read(&response)) outcome.Take(response);
  context->TryCancel();
  while (stream->Read(&response)) outcome.Take(response);
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(outcome.duplicates, 0);
  EXPECT_GE(outcome.results.size(), 100u);
  // Every op acknowledged as written is stored, once.
  const std::map<std::string, int64_t> stored = StoredDocs("write-e2e-cancel");
  for (const auto& [seq, result] : outcome.results) {
    if (result.status() != 201) continue;
    auto it = stored.find(result.id());
    ASSERT_NE(it, stored.end()) << result.id();
    EXPECT_EQ(it->second, 1);
  }
  ASSERT_TRUE(cluster_->Heal(0).ok());
  const IngestOutcome next = RunIngest(IngestMessages("write-e2e-after-cancel", 20, 10));
  ASSERT_TRUE(next.status.ok()) << next.status.error_message();
  EXPECT_EQ(next.summary.ok(), 20);
}

}  // namespace
}  // namespace esgw
