// Bad input from clients, end to end: the built esgw-server in front of a 3-node dev cluster,
// called with what a careless or hostile client sends - messages past the size limits, bytes
// that are not UTF-8 in string fields (hand-made with a generic stub), JSON nested 100,000
// deep, invalid index names, enum numbers the proto does not define, empty writes, an Ingest
// stream that never sends, and 2,000 Ingest streams at once. Each case checks the exact status
// code and that the message names the field (or limit) and the rule, and that the server goes on
// serving. Cases already covered elsewhere (a path as an index name, the read and Bulk size
// limits, invalid ops in a stream) are not repeated here.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ProcStatusKb;
using testing::WaitFor;

// status has code and a message holding every one of parts.
::testing::AssertionResult Is(const grpc::Status& status, grpc::StatusCode code,
                              const std::vector<std::string>& parts) {
  if (status.error_code() != code) {
    return ::testing::AssertionFailure() << "expected code " << code << ", got "
                                         << status.error_code() << ": " << status.error_message();
  }
  for (const std::string& part : parts) {
    if (status.error_message().find(part) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message does not say \"" << part << "\": " << status.error_message();
    }
  }
  return ::testing::AssertionSuccess();
}

// n nested arrays: [[[...]]].
std::string Nested(int n) { return std::string(n, '[') + std::string(n, ']'); }

class ClientInputE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::TestCluster::Start({.nodes = 3, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    // Byte limits of 256 KiB, so that the cases need only a few hundred kilobytes (JSON nested
    // 100,000 deep takes 200,000 bytes); a short idle limit for Ingest streams.
    auto server = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(),
        {"--max_read_request_bytes=262144", "--max_bulk_request_bytes=262144",
         "--bulk_max_bytes=262144", "--ingest_idle_timeout=1s"});
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
    gateway_ = v1::Gateway::NewStub(server_->channel());
  }

  grpc::Status Search(const v1::SearchRequest& request) {
    v1::SearchResponse response;
    return gateway_->Search(testing::CallContext().get(), request, &response);
  }
  grpc::Status Bulk(const v1::BulkRequest& request, v1::BulkResponse* response = nullptr) {
    v1::BulkResponse ignored;
    return gateway_->Bulk(testing::CallContext().get(), request,
                          response != nullptr ? response : &ignored);
  }

  // A normal Search still succeeds.
  void ExpectStillServing() {
    v1::SearchRequest request;
    request.add_indices("products");
    request.set_body_json(R"({"size":2})");
    v1::SearchResponse response;
    const grpc::Status status = gateway_->Search(testing::CallContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    EXPECT_EQ(response.hits_size(), 2);
  }

  // The raw bytes of method's request, sent as they are; the call's status.
  grpc::Status RawUnary(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(server_->channel());
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    auto context = testing::CallContext();
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  // What an Ingest stream of raw messages gave back.
  struct RawIngestOutcome {
    int results = 0;
    bool summary = false;
    int64_t summary_ops = 0;
    grpc::Status status;
  };
  // Writes messages (raw bytes each) on an Ingest stream, half-closes and reads to the end.
  RawIngestOutcome RawIngest(const std::vector<std::string>& messages) {
    RawIngestOutcome outcome;
    grpc::GenericStub stub(server_->channel());
    grpc::CompletionQueue queue;
    auto context = testing::CallContext(absl::Seconds(20));
    auto call = stub.PrepareCall(context.get(), "/esgw.v1.Gateway/Ingest", &queue);
    auto await = [&queue](intptr_t tag) {
      void* got = nullptr;
      bool ok = false;
      EXPECT_TRUE(queue.Next(&got, &ok));
      EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
      return ok;
    };
    call->StartCall(reinterpret_cast<void*>(1));
    if (await(1)) {
      for (const std::string& bytes : messages) {
        grpc::Slice slice(bytes);
        grpc::ByteBuffer buffer(&slice, 1);
        call->Write(buffer, reinterpret_cast<void*>(2));
        if (!await(2)) break;
      }
      call->WritesDone(reinterpret_cast<void*>(3));
      await(3);
      while (true) {
        grpc::ByteBuffer buffer;
        call->Read(&buffer, reinterpret_cast<void*>(4));
        if (!await(4)) break;
        std::vector<grpc::Slice> slices;
        EXPECT_TRUE(buffer.Dump(&slices).ok());
        std::string bytes;
        for (const grpc::Slice& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
        v1::IngestResponse response;
        EXPECT_TRUE(response.ParseFromString(bytes));
        outcome.results += response.results_size();
        if (response.has_summary()) {
          outcome.summary = true;
          outcome.summary_ops = response.summary().ops();
        }
      }
    }
    call->Finish(&outcome.status, reinterpret_cast<void*>(5));
    await(5);
    queue.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue.Next(&tag, &ok)) {
    }
    return outcome;
  }

  static v1::BulkOp IndexOp(uint64_t seq, const std::string& id, const std::string& source) {
    v1::BulkOp op;
    op.set_type(v1::OP_TYPE_INDEX);
    op.set_id(id);
    op.set_source_json(source);
    op.set_seq(seq);
    return op;
  }

  static testing::TestCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<v1::Gateway::Stub> gateway_;
};

testing::TestCluster* ClientInputE2eTest::cluster_ = nullptr;
testing::EsgwProcess* ClientInputE2eTest::server_ = nullptr;

TEST_F(ClientInputE2eTest, OversizedMessagesAreRefusedNamingTheLimit) {
  // An Ingest message over max_bulk_request_bytes ends the stream, after the results of the
  // message before it.
  auto context = testing::CallContext(absl::Seconds(20));
  auto stream = gateway_->Ingest(context.get());
  v1::IngestRequest first;
  first.set_index("client-big");
  *first.add_ops() = IndexOp(1, "a", R"({"n":1})");
  v1::IngestRequest big;
  *big.add_ops() = IndexOp(2, "b", absl::StrCat(R"({"pad":")", std::string(300000, 'x'), "\"}"));
  ASSERT_TRUE(stream->Write(first));
  stream->Write(big);
  stream->WritesDone();
  int results = 0;
  v1::IngestResponse response;
  while (stream->Read(&response)) results += response.results_size();
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(
      Is(status, grpc::StatusCode::RESOURCE_EXHAUSTED, {"max_bulk_request_bytes allows 262144"}));
  EXPECT_EQ(testing::ErrorInfoOf(status).metadata().at("limit"), "max_bulk_request_bytes");
  EXPECT_EQ(results, 1) << "the first message's op has its result";

  // Past the larger limit plus 64 KiB gRPC itself refuses the message, unread.
  v1::SearchRequest search;
  search.add_indices("products");
  search.set_body_json(
      absl::StrCat(R"({"query":{"terms":{"name":[")", std::string(400000, 'y'), R"("]}}})"));
  EXPECT_TRUE(Is(Search(search), grpc::StatusCode::RESOURCE_EXHAUSTED, {"larger than max"}));
  ExpectStillServing();
}

TEST_F(ClientInputE2eTest, BytesThatAreNotUtf8InStringFieldsAreRefused) {
  // A SearchRequest whose indices[0] is the bytes ff fe: protobuf refuses to parse a proto3
  // string that is not UTF-8, before esgw sees the call. gRPC alone would answer UNIMPLEMENTED
  // with no message, as for a method that does not exist.
  const std::string bad_index = std::string("\x0a\x02\xff\xfe", 4);  // field 1, 2 bytes
  const grpc::Status unparsed = RawUnary("/esgw.v1.Gateway/Search", bad_index);
  EXPECT_TRUE(Is(unparsed, grpc::StatusCode::INVALID_ARGUMENT,
                 {"/esgw.v1.Gateway/Search could not be parsed", "not valid UTF-8"}));
  EXPECT_EQ(testing::ErrorInfoOf(unparsed).reason(), "UNPARSABLE_REQUEST");
  v1::BulkRequest bulk;
  *bulk.add_ops() = IndexOp(1, "a", "{}");
  bulk.mutable_ops(0)->set_index("client-utf8");
  std::string bad_bulk = bulk.SerializeAsString();
  const size_t id_at = bad_bulk.find(
      "\x1a\x01"
      "a");
  ASSERT_NE(id_at, std::string::npos);
  bad_bulk[id_at + 2] = '\xc0';  // an overlong form: never UTF-8
  EXPECT_TRUE(Is(RawUnary("/esgw.v1.Gateway/Bulk", bad_bulk), grpc::StatusCode::INVALID_ARGUMENT,
                 {"/esgw.v1.Gateway/Bulk could not be parsed"}));
  // The same bytes as a valid string are a valid (if odd) index name.
  EXPECT_TRUE(Is(RawUnary("/esgw.v1.Gateway/Search", std::string("\x0a\x02no", 4)),
                 grpc::StatusCode::NOT_FOUND, {"no"}));

  // In a stream, a message that cannot be parsed must not pass for the client's half-close:
  // the stream ends with INVALID_ARGUMENT, after the results of the messages before it.
  v1::IngestRequest first;
  first.set_index("client-utf8");
  *first.add_ops() = IndexOp(1, "a", R"({"n":1})");
  v1::IngestRequest second;
  *second.add_ops() = IndexOp(2, "b", R"({"n":2})");
  std::string bad = second.SerializeAsString();
  // The id "b" becomes the byte ff: a string field that is not UTF-8.
  const size_t at = bad.find(
      "\x1a\x01"
      "b");
  ASSERT_NE(at, std::string::npos);
  bad[at + 2] = '\xff';
  v1::IngestRequest third;
  *third.add_ops() = IndexOp(3, "c", R"({"n":3})");
  const RawIngestOutcome outcome =
      RawIngest({first.SerializeAsString(), bad, third.SerializeAsString()});
  EXPECT_TRUE(Is(outcome.status, grpc::StatusCode::INVALID_ARGUMENT,
                 {"ops[0].id", "must be valid UTF-8", "could not be parsed"}))
      << "results " << outcome.results << ", summary " << outcome.summary;
  EXPECT_FALSE(outcome.summary) << "no summary: the stream did not end normally";
  EXPECT_EQ(outcome.results, 1);
  ExpectStillServing();
}

TEST_F(ClientInputE2eTest, DeeplyNestedJsonIsRefusedNamingTheField) {
  constexpr int kDepth = 100000;
  v1::SearchRequest search;
  search.add_indices("products");
  search.set_body_json(absl::StrCat(R"({"query":)", Nested(kDepth), "}"));
  EXPECT_TRUE(Is(Search(search), grpc::StatusCode::INVALID_ARGUMENT,
                 {"body_json", "must be valid JSON", "too deep"}));

  v1::MultiSearchRequest msearch;
  msearch.add_searches()->add_indices("products");
  msearch.add_searches()->set_body_json(Nested(kDepth));
  v1::MultiSearchResponse msearch_response;
  EXPECT_TRUE(Is(gateway_->MultiSearch(testing::CallContext().get(), msearch, &msearch_response),
                 grpc::StatusCode::INVALID_ARGUMENT, {"searches[1].body_json", "too deep"}));

  v1::BulkRequest bulk;
  bulk.set_index("client-deep");
  *bulk.add_ops() = IndexOp(1, "a", R"({"n":1})");
  *bulk.add_ops() = IndexOp(2, "b", absl::StrCat(R"({"a":)", Nested(kDepth), "}"));
  EXPECT_TRUE(Is(Bulk(bulk), grpc::StatusCode::INVALID_ARGUMENT,
                 {"ops[1].source_json", "must be valid JSON", "too deep"}));

  // A Struct body nested past protobuf's recursion limit (100) does not even parse.
  v1::SearchRequest structured;
  structured.add_indices("products");
  google::protobuf::Value* value = &(*structured.mutable_body_struct()->mutable_fields())["query"];
  for (int i = 0; i < 200; ++i) value = value->mutable_list_value()->add_values();
  value->set_number_value(1);
  EXPECT_TRUE(Is(Search(structured), grpc::StatusCode::INVALID_ARGUMENT,
                 {"could not be parsed", "nested more than 100 deep"}));
  ExpectStillServing();
}

TEST_F(ClientInputE2eTest, InvalidIndexNamesAreRefusedNamingTheFieldAndTheRule) {
  struct Case {
    std::string name;
    std::string rule;
  };
  const std::vector<Case> cases = {
      {"", "must not be empty"},
      {std::string(256, 'a'), "at most 255 bytes"},
      {std::string("lo\x01gs", 5), "control characters"},
      {"_internal", "must not start with '-', '_' or '+'"},
      {"..", "must not be . or .."},
      {"a b", "must not contain ' '"},
      {"logs#1", "must not contain '#'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.rule);
    v1::SearchRequest search;
    search.add_indices("products");
    search.add_indices(c.name);
    EXPECT_TRUE(Is(Search(search), grpc::StatusCode::INVALID_ARGUMENT, {"indices[1]", c.rule}));
    v1::BulkRequest bulk;
    *bulk.add_ops() = IndexOp(1, "a", "{}");
    bulk.mutable_ops(0)->set_index(c.name.empty() ? "-" : c.name);
    EXPECT_TRUE(Is(Bulk(bulk), grpc::StatusCode::INVALID_ARGUMENT, {"ops[0].index"}));
  }
  // An exclusion needs a target before it.
  v1::SearchRequest exclusion;
  exclusion.add_indices("-logs");
  EXPECT_TRUE(Is(Search(exclusion), grpc::StatusCode::INVALID_ARGUMENT,
                 {"indices[0]", "must follow another target"}));
  ExpectStillServing();
}

TEST_F(ClientInputE2eTest, EnumNumbersTheProtoDoesNotDefineAreRefused) {
  v1::BulkRequest bulk;
  bulk.set_index("client-enum");
  *bulk.add_ops() = IndexOp(1, "a", "{}");
  bulk.mutable_ops(0)->set_type(static_cast<v1::OpType>(99));
  EXPECT_TRUE(Is(Bulk(bulk), grpc::StatusCode::INVALID_ARGUMENT,
                 {"ops[0].type", "must be OP_TYPE_INDEX, OP_TYPE_CREATE"}));
  bulk.mutable_ops(0)->set_type(v1::OP_TYPE_INDEX);
  bulk.set_refresh(static_cast<v1::Refresh>(7));
  EXPECT_TRUE(Is(Bulk(bulk), grpc::StatusCode::INVALID_ARGUMENT,
                 {"refresh", "unknown value 7", "REFRESH_WAIT_FOR"}));
  EXPECT_EQ(testing::ErrorInfoOf(Bulk(bulk)).metadata().at("field"), "refresh");

  // In a stream: an unknown refresh in the first message ends it; an unknown op type fails that
  // op alone.
  auto context = testing::CallContext(absl::Seconds(20));
  auto stream = gateway_->Ingest(context.get());
  v1::IngestRequest message;
  message.set_index("client-enum");
  message.set_refresh(static_cast<v1::Refresh>(-3));
  *message.add_ops() = IndexOp(1, "a", "{}");
  stream->Write(message);
  stream->WritesDone();
  v1::IngestResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(
      Is(stream->Finish(), grpc::StatusCode::INVALID_ARGUMENT, {"refresh", "unknown value -3"}));

  auto op_context = testing::CallContext(absl::Seconds(20));
  auto op_stream = gateway_->Ingest(op_context.get());
  message.clear_refresh();
  message.mutable_ops(0)->set_type(static_cast<v1::OpType>(12345));
  *message.add_ops() = IndexOp(2, "b", "{}");
  op_stream->Write(message);
  op_stream->WritesDone();
  std::map<uint64_t, v1::BulkItemResult> results;
  while (op_stream->Read(&response)) {
    for (const v1::BulkItemResult& result : response.results()) results[result.seq()] = result;
  }
  ASSERT_TRUE(op_stream->Finish().ok());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1].status(), 400);
  EXPECT_EQ(results[1].error().type(), "esgw_invalid_op");
  EXPECT_THAT(results[1].error().reason(), HasSubstr("ops[0].type"));
  EXPECT_EQ(results[2].status(), 201) << results[2].DebugString();
}

TEST_F(ClientInputE2eTest, EmptyWritesAreRefusedOrSummarised) {
  v1::BulkRequest bulk;
  bulk.set_index("client-empty");
  EXPECT_TRUE(Is(Bulk(bulk), grpc::StatusCode::INVALID_ARGUMENT,
                 {"ops", "a bulk request needs at least one op"}));
  EXPECT_EQ(testing::ErrorInfoOf(Bulk(bulk)).metadata().at("field"), "ops");

  // A stream of messages without ops: nothing to write, an empty summary.
  auto context = testing::CallContext(absl::Seconds(20));
  auto stream = gateway_->Ingest(context.get());
  v1::IngestRequest first;
  first.set_index("client-empty");
  ASSERT_TRUE(stream->Write(first));
  ASSERT_TRUE(stream->Write(v1::IngestRequest()));
  ASSERT_TRUE(stream->Write(v1::IngestRequest()));
  stream->WritesDone();
  v1::IngestResponse response;
  v1::IngestSummary summary;
  int summaries = 0;
  while (stream->Read(&response)) {
    EXPECT_EQ(response.results_size(), 0);
    if (response.has_summary()) {
      ++summaries;
      summary = response.summary();
    }
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(summaries, 1);
  EXPECT_EQ(summary.ops(), 0);
}

// Nothing but --ingest_idle_timeout bounds a stream that never sends and never ends (a client
// without a deadline, on a connection that answers its keepalive pings): it would hold its
// place under max_ingest_streams for ever.
TEST_F(ClientInputE2eTest, AnIngestStreamThatNeverSendsIsEndedWhenIdle) {
  auto context = std::make_unique<grpc::ClientContext>();  // no deadline
  auto stream = gateway_->Ingest(context.get());
  v1::IngestResponse response;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(stream->Read(&response)) << "nothing to read but the end";
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(
      Is(status, grpc::StatusCode::UNAVAILABLE, {"sent no message for 1s", "ingest_idle_timeout"}));
  EXPECT_EQ(testing::ErrorInfoOf(status).reason(), "IDLE_TIMEOUT");
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));

  // A stream that sent ops gets their results first, then is ended once idle.
  auto busy_context = std::make_unique<grpc::ClientContext>();
  auto busy = gateway_->Ingest(busy_context.get());
  v1::IngestRequest message;
  message.set_index("client-idle");
  *message.add_ops() = IndexOp(7, "a", R"({"n":1})");
  ASSERT_TRUE(busy->Write(message));
  int results = 0;
  while (busy->Read(&response)) {
    for (const v1::BulkItemResult& result : response.results()) {
      EXPECT_EQ(result.seq(), 7u);
      EXPECT_EQ(result.status(), 201) << result.DebugString();
      ++results;
    }
  }
  EXPECT_EQ(results, 1);
  EXPECT_TRUE(Is(busy->Finish(), grpc::StatusCode::UNAVAILABLE, {"ingest_idle_timeout"}));
  ExpectStillServing();
}

// One Ingest stream of 2,000 opened at once, through the callback API: it writes one op and
// waits for that op's result (the stream was admitted) or for the end of the call (it was
// refused); released, it half-closes and reads to its summary.
class OneStream final : public grpc::ClientBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  OneStream(v1::Gateway::Stub* stub, int n, std::atomic<int>* decided) : decided_(decided) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    request_.set_index("client-many");
    *request_.add_ops() = [n] {
      v1::BulkOp op;
      op.set_type(v1::OP_TYPE_INDEX);
      op.set_id(absl::StrCat("m-", n));
      op.set_source_json(absl::StrCat(R"({"n":)", n, "}"));
      op.set_seq(static_cast<uint64_t>(n));
      return op;
    }();
    stub->async()->Ingest(&context_, this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  void OnWriteDone(bool) override {}
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (response_.results_size() > 0) {
      admitted_ = true;
      Decide();
    }
    if (response_.has_summary()) summary_ops_ = response_.summary().ops();
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    if (!decided_once_) {
      decided_once_ = true;
      ++*decided_;
    }
    changed_.notify_all();
  }
  // Half-closes an admitted stream.
  void Release() { StartWritesDone(); }
  bool admitted() const { return admitted_; }
  grpc::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return done_; });
    return status_;
  }
  int64_t summary_ops() const { return summary_ops_; }

 private:
  void Decide() {
    std::lock_guard<std::mutex> lock(mu_);
    if (decided_once_) return;
    decided_once_ = true;
    ++*decided_;
  }

  grpc::ClientContext context_;
  v1::IngestRequest request_;
  v1::IngestResponse response_;
  std::atomic<int>* const decided_;
  std::atomic<bool> admitted_{false};
  std::atomic<int64_t> summary_ops_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  bool done_ = false;
  bool decided_once_ = false;
  grpc::Status status_;
};

TEST_F(ClientInputE2eTest, TwoThousandIngestStreamsAtOnceAreServedOrRefusedNamingTheLimit) {
  constexpr int kStreams = 2000;
  constexpr int kLimit = 64;  // --max_ingest_streams_per_principal's default
  // A server of its own with the default idle limit: admitted streams wait, idle, until every
  // stream is decided.
  auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag());
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Gateway::NewStub((*server)->channel());
  const pid_t pid = (*server)->process().pid();
  const int64_t rss_before_kb = ProcStatusKb(pid, "VmRSS");
  std::atomic<int> decided{0};
  std::vector<std::unique_ptr<OneStream>> streams;
  streams.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<OneStream>(stub.get(), i, &decided));
  }
  ASSERT_TRUE(WaitFor([&] { return decided.load() == kStreams; }, absl::Seconds(40),
                      "every stream admitted (its op answered) or refused"))
      << decided.load() << " decided";
  int admitted = 0;
  for (auto& stream : streams) {
    if (stream->admitted()) {
      ++admitted;
      stream->Release();
    }
  }
  // Admitted streams hold their places until released, so exactly the limit got in.
  EXPECT_EQ(admitted, kLimit);
  int served = 0;
  int refused = 0;
  for (auto& stream : streams) {
    const grpc::Status status = stream->Wait();
    if (stream->admitted()) {
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(stream->summary_ops(), 1);
      ++served;
    } else {
      EXPECT_TRUE(Is(status, grpc::StatusCode::RESOURCE_EXHAUSTED, {"max_ingest_streams"}));
      ++refused;
    }
  }
  EXPECT_EQ(served + refused, kStreams);
  const int64_t peak_kb = ProcStatusKb(pid, "VmHWM");
  std::printf("2000 streams: %d served, %d refused; server RSS before %lld KiB, peak %lld KiB\n",
              served, refused, static_cast<long long>(rss_before_kb),
              static_cast<long long>(peak_kb));
  EXPECT_LT(peak_kb - rss_before_kb, 256 * 1024) << "peak RSS grew by more than 256 MiB";
  v1::SearchRequest request;
  request.add_indices("products");
  v1::SearchResponse response;
  const grpc::Status status = stub->Search(testing::CallContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace esgw
