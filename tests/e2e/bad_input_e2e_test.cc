// Bad input from Elasticsearch, end to end: the built esgw-server in front of a 3-node dev
// cluster whose nodes answer with malformed responses on command (POST /nodes/{i}/malform, see
// tests/devcluster/README.md): cut short, not JSON, a proxy's HTML page, a valid body labelled
// text/plain, an empty body, a huge body, and garbled _nodes/http answers. Each case checks the
// status the client gets and its message, how the pool judged the node (GetPoolStats), and that
// the server goes on serving.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/gateway_calls.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcStatusKb;
using testing::WaitFor;

class BadInputE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::ExternalEsUrl().empty()) return;
    auto cluster = testing::DevCluster::Start({.nodes = 3, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    if (!testing::ExternalEsUrl().empty()) {
      GTEST_SKIP() << "every case here makes nodes misbehave, which needs esgw-devcluster; "
                      "ESGW_TEST_ES_URL is set";
    }
    ASSERT_NE(cluster_, nullptr);
    ASSERT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
  }

  // A server for one case. An ejected node stays out for the whole case (60 s), so what the
  // pool decided can be read afterwards; round robin spreads first attempts over every node.
  void StartServer(std::vector<std::string> flags = {}, std::string seeds = "") {
    for (const char* flag : {"--dead_timeout=60s", "--max_dead_timeout=60s",
                             "--selector=round_robin", "--bulk_retry_initial=10ms"}) {
      flags.emplace_back(flag);
    }
    auto server = testing::EsgwProcess::Start(seeds.empty() ? cluster_->SeedsFlag() : seeds,
                                              std::move(flags));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    gateway_ = v1::Gateway::NewStub(server_->channel());
    admin_ = v1::Admin::NewStub(server_->channel());
    ASSERT_TRUE(WaitFor([&] { return Stats().sniffs_total() >= 1; }, absl::Seconds(10),
                        "the sniff on start"));
  }

  v1::PoolStats Stats() {
    v1::PoolStats stats;
    const grpc::Status status = admin_->GetPoolStats(testing::CallContext().get(), {}, &stats);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return stats;
  }

  // The node at address in stats; a default NodeStats (address "") when it is not in the pool.
  static v1::NodeStats NodeAt(const v1::PoolStats& stats, const std::string& address) {
    for (const v1::NodeStats& node : stats.nodes()) {
      if (node.address() == address) return node;
    }
    return {};
  }
  std::string Address(int node) const { return cluster_->node_addresses()[node]; }

  grpc::Status Search(v1::SearchResponse* response = nullptr) {
    v1::SearchRequest request;
    request.add_indices("products");
    request.set_body_json(R"({"query":{"match_all":{}},"size":3})");
    v1::SearchResponse ignored;
    return gateway_->Search(testing::CallContext(absl::Seconds(20)).get(), request,
                            response != nullptr ? response : &ignored);
  }

  // Searches until node's failures_total reaches `failures` (at most 30 Searches). Every Search
  // must succeed, served by another node: a malformed answer from node is retried elsewhere.
  void SearchUntilNodeFailed(int node, int failures) {
    for (int i = 0; i < 30 && NodeAt(Stats(), Address(node)).failures_total() < failures; ++i) {
      v1::SearchResponse response;
      const grpc::Status status = Search(&response);
      ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
      EXPECT_NE(response.served_by(), Address(node));
      EXPECT_EQ(response.hits_size(), 3);
    }
    EXPECT_GE(NodeAt(Stats(), Address(node)).failures_total(), failures) << Stats().DebugString();
  }

  // count index ops on index with ids <prefix>0.. (or no ids), refresh on.
  static v1::BulkRequest IndexOps(const std::string& index, int count, const std::string& prefix,
                                  bool with_ids = true) {
    v1::BulkRequest request;
    request.set_index(index);
    request.set_refresh(v1::REFRESH_TRUE);
    for (int i = 0; i < count; ++i) {
      v1::BulkOp* op = request.add_ops();
      op->set_type(v1::OP_TYPE_INDEX);
      if (with_ids) op->set_id(absl::StrCat(prefix, i));
      op->set_source_json(absl::StrCat(R"({"n":)", i, "}"));
      op->set_seq(i);
    }
    return request;
  }

  // id -> version of the documents the dev cluster stores in index (empty when none).
  static std::map<std::string, int64_t> StoredDocs(const std::string& index) {
    return testing::StoredDocsOrFail(*cluster_, index);
  }

  // Malforms every node's answers to paths containing path.
  void MalformAll(const std::string& kind, const std::string& path, int64_t bytes = 0) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Malform(i, kind, path, bytes).ok()) << kind;
  }

  // Heals every node; a normal Search then succeeds.
  void ExpectServingAfterHeal() {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Heal(i).ok());
    v1::SearchResponse response;
    const grpc::Status status = Search(&response);
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    EXPECT_EQ(response.hits_size(), 3);
  }

  static testing::DevCluster* cluster_;
  std::unique_ptr<testing::EsgwProcess> server_;
  std::unique_ptr<v1::Gateway::Stub> gateway_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

testing::DevCluster* BadInputE2eTest::cluster_ = nullptr;

// A body cut short (Content-Length promises more, then the connection closes) is a soft failure
// of the node: a Search, which is safe to resend, goes to another node; a Bulk goes again only
// when every op has an id, and otherwise reports its ops as "outcome unknown".
TEST_F(BadInputE2eTest, TruncatedAnswerIsRetriedElsewhereWhenSafeAndUnknownOtherwise) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_TRUE(cluster_->Malform(1, "truncated", "_search").ok());
  ASSERT_NO_FATAL_FAILURE(SearchUntilNodeFailed(1, 1));
  EXPECT_GE(Stats().retries_total(), 1);
  EXPECT_GE(NodeAt(Stats(), Address(1)).consecutive_failures(), 1);

  // Bulk with ids (idempotent): resent to another node, every op written once per id.
  ASSERT_TRUE(cluster_->Malform(1, "truncated", "_bulk").ok());
  const int64_t failures_before = NodeAt(Stats(), Address(1)).failures_total();
  int ops = 0;
  for (int call = 0; call < 6 && NodeAt(Stats(), Address(1)).failures_total() == failures_before;
       ++call) {
    const v1::BulkRequest request = IndexOps("bad-truncated", 5, absl::StrCat("c", call, "-"));
    ops += 5;
    v1::BulkResponse response;
    const grpc::Status status =
        gateway_->Bulk(testing::CallContext(absl::Seconds(20)).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.errors()) << response.DebugString();
  }
  EXPECT_GT(NodeAt(Stats(), Address(1)).failures_total(), failures_before)
      << "a _bulk answer was cut short";
  // The node that cut its answer short had applied the batch: the resend made version 2.
  const std::map<std::string, int64_t> stored = StoredDocs("bad-truncated");
  EXPECT_EQ(stored.size(), static_cast<size_t>(ops));
  for (const auto& [id, version] : stored) EXPECT_LE(version, 2) << id;

  // Bulk without ids: never resent; the ops may have been applied, and they were.
  MalformAll("truncated", "_bulk");
  const v1::BulkRequest auto_ids = IndexOps("bad-truncated-auto", 4, "", /*with_ids=*/false);
  v1::BulkResponse response;
  const grpc::Status status =
      gateway_->Bulk(testing::CallContext(absl::Seconds(20)).get(), auto_ids, &response);
  ASSERT_TRUE(status.ok()) << "a failed call would say nothing was written: "
                           << status.error_message();
  EXPECT_TRUE(response.errors());
  ASSERT_EQ(response.items_size(), 4);
  for (const v1::BulkItemResult& item : response.items()) {
    EXPECT_EQ(item.error().type(), "esgw_outcome_unknown") << item.DebugString();
    EXPECT_THAT(item.error().reason(), HasSubstr("may have been applied"));
    EXPECT_EQ(item.attempts(), 1);
  }
  EXPECT_EQ(StoredDocs("bad-truncated-auto").size(), 4u);

  // Every node cuts its answers short: nothing left to try.
  MalformAll("truncated", "_search");
  const grpc::Status all = Search();
  EXPECT_EQ(all.error_code(), grpc::StatusCode::UNAVAILABLE) << all.error_message();
  EXPECT_THAT(all.error_message(),
              AllOf(HasSubstr("no Elasticsearch node answered"), HasSubstr("connection lost")));
  ExpectServingAfterHeal();
}

// A 200 labelled JSON whose body is not JSON: esgw cannot tell a broken node from an answer it
// does not understand, so the call fails with INTERNAL (BAD_ES_RESPONSE), the node is not blamed
// and nothing is resent. Writes report their ops as "outcome unknown".
TEST_F(BadInputE2eTest, InvalidJsonIsInternalAndBlamesNoNode) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  MalformAll("invalid_json", "_search");
  const grpc::Status status = Search();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("elasticsearch response"));
  EXPECT_EQ(testing::ErrorInfoOf(status).reason(), "BAD_ES_RESPONSE");
  const v1::PoolStats stats = Stats();
  EXPECT_EQ(stats.retries_total(), 0);
  for (const v1::NodeStats& node : stats.nodes()) {
    EXPECT_EQ(node.state(), v1::NODE_STATE_ALIVE) << node.address();
    EXPECT_EQ(node.failures_total(), 0) << node.address();
  }

  MalformAll("invalid_json", "_bulk");
  v1::BulkResponse bulk;
  const grpc::Status bulk_status = gateway_->Bulk(testing::CallContext(absl::Seconds(20)).get(),
                                                  IndexOps("bad-json", 3, "j-"), &bulk);
  ASSERT_TRUE(bulk_status.ok()) << bulk_status.error_message();
  ASSERT_EQ(bulk.items_size(), 3);
  for (const v1::BulkItemResult& item : bulk.items()) {
    EXPECT_EQ(item.error().type(), "esgw_outcome_unknown") << item.DebugString();
    EXPECT_THAT(item.error().reason(), HasSubstr("elasticsearch response"));
  }

  // An Ingest stream reports each op once, as unknown, and ends normally.
  auto context = testing::CallContext(absl::Seconds(20));
  auto stream = gateway_->Ingest(context.get());
  v1::IngestRequest message;
  message.set_index("bad-json-ingest");
  for (int i = 0; i < 4; ++i) {
    v1::BulkOp* op = message.add_ops();
    op->set_type(v1::OP_TYPE_INDEX);
    op->set_id(absl::StrCat("i-", i));
    op->set_source_json("{}");
    op->set_seq(100 + i);
  }
  ASSERT_TRUE(stream->Write(message));
  stream->WritesDone();
  std::set<uint64_t> seqs;
  v1::IngestSummary summary;
  v1::IngestResponse response;
  while (stream->Read(&response)) {
    for (const v1::BulkItemResult& result : response.results()) {
      EXPECT_TRUE(seqs.insert(result.seq()).second) << "reported twice: " << result.seq();
      EXPECT_EQ(result.error().type(), "esgw_outcome_unknown");
    }
    if (response.has_summary()) summary = response.summary();
  }
  const grpc::Status ingest_status = stream->Finish();
  EXPECT_TRUE(ingest_status.ok()) << ingest_status.error_message();
  EXPECT_EQ(seqs, (std::set<uint64_t>{100, 101, 102, 103}));
  EXPECT_EQ(summary.failed(), 4);
  ExpectServingAfterHeal();
}

// A 200 that cannot be Elasticsearch's (a proxy's HTML page, a body labelled text/plain, an empty
// body) is a failure of the node that sent it: the Search goes to another node, the node is
// ejected after three in a row, and with every node answering so the call is UNAVAILABLE naming
// what was wrong. A write that got such an answer may have been applied: "outcome unknown".
TEST_F(BadInputE2eTest, AnAnswerThatIsNotElasticsearchsIsANodeFailure) {
  const std::map<std::string, std::string> kinds = {
      {"html", R"(content-type "text/html" is not JSON)"},
      {"wrong_content_type", R"(content-type "text/plain" is not JSON)"},
      {"empty", "the body is empty"},
  };
  for (const auto& [kind, why] : kinds) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
    ASSERT_NO_FATAL_FAILURE(StartServer());
    ASSERT_TRUE(cluster_->Malform(1, kind, "_search").ok());
    ASSERT_NO_FATAL_FAILURE(SearchUntilNodeFailed(1, 3));
    const v1::NodeStats node = NodeAt(Stats(), Address(1));
    EXPECT_EQ(node.state(), v1::NODE_STATE_DEAD) << "three soft failures in a row eject it";
    EXPECT_GE(Stats().retries_total(), 3);

    MalformAll(kind, "_search");
    const grpc::Status status = Search();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("not an Elasticsearch answer"), HasSubstr(why)));
    EXPECT_EQ(testing::ErrorInfoOf(status).reason(), "NO_NODE_AVAILABLE");

    MalformAll(kind, "_bulk");
    v1::BulkResponse bulk;
    const grpc::Status bulk_status =
        gateway_->Bulk(testing::CallContext(absl::Seconds(20)).get(),
                       IndexOps("bad-" + kind, 2, "b-", /*with_ids=*/false), &bulk);
    ASSERT_TRUE(bulk_status.ok()) << bulk_status.error_message();
    for (const v1::BulkItemResult& item : bulk.items()) {
      EXPECT_EQ(item.error().type(), "esgw_outcome_unknown") << item.DebugString();
      EXPECT_THAT(item.error().reason(), HasSubstr(why));
    }
    ExpectServingAfterHeal();
    server_.reset();
  }
}

// A huge answer (64 MiB of hits, gzip-compressed on the wire) is read no further than
// --max_response_bytes: the call fails with RESOURCE_EXHAUSTED naming the limit, no node is
// blamed and nothing is resent (every node would answer the same request alike), and the
// server's memory stays bounded while four such calls run at once.
TEST_F(BadInputE2eTest, HugeAnswerIsRefusedWithTheLimitNamedAndMemoryStaysBounded) {
  ASSERT_NO_FATAL_FAILURE(StartServer({"--max_response_bytes=16777216"}));
  ASSERT_TRUE(Search().ok());
  const pid_t pid = server_->process().pid();
  const int64_t rss_before_kb = ProcStatusKb(pid, "VmRSS");
  ASSERT_GT(rss_before_kb, 0);
  MalformAll("huge", "_search", int64_t{64} << 20);

  std::vector<grpc::Status> statuses(4);
  std::vector<std::thread> callers;
  for (grpc::Status& status : statuses) {
    callers.emplace_back([&] { status = Search(); });
  }
  for (std::thread& caller : callers) caller.join();
  for (const grpc::Status& status : statuses) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("too large"), HasSubstr("max_response_bytes (16777216 bytes)")));
    const google::rpc::ErrorInfo info = testing::ErrorInfoOf(status);
    EXPECT_EQ(info.reason(), "LIMIT_EXCEEDED");
    EXPECT_EQ(info.metadata().at("limit"), "max_response_bytes");
  }
  const v1::PoolStats stats = Stats();
  EXPECT_EQ(stats.retries_total(), 0);
  for (const v1::NodeStats& node : stats.nodes()) {
    EXPECT_EQ(node.state(), v1::NODE_STATE_ALIVE) << node.address();
    EXPECT_EQ(node.failures_total(), 0) << node.address();
  }
  // Four answers of 64 MiB each held whole would take 256 MiB and more; read to the limit they
  // take at most 4 x 32 MiB of buffer (capacity doubles), of which 4 x 16 MiB is touched.
  const int64_t peak_kb = ProcStatusKb(pid, "VmHWM");
  std::printf("esgw-server RSS before %lld KiB, peak %lld KiB\n",
              static_cast<long long>(rss_before_kb), static_cast<long long>(peak_kb));
  EXPECT_LT(peak_kb - rss_before_kb, 160 * 1024) << "peak RSS grew by more than 160 MiB";
  ExpectServingAfterHeal();
}

// A garbled _nodes/http answer neither drains nodes that are still in the cluster nor adds
// nodes it describes badly; an answer that is not a nodes list at all fails the sniff and
// changes nothing. The server starts with node 0 as its only seed and finds 1 and 2 by
// sniffing, so a sniff that wrongly dropped them would remove them from the pool.
TEST_F(BadInputE2eTest, SniffGarbageNeitherRemovesGoodNodesNorAddsBadOnes) {
  ASSERT_NO_FATAL_FAILURE(StartServer({}, cluster_->NodeUrl(0)));
  const std::set<std::string> all = {Address(0), Address(1), Address(2)};
  auto addresses = [&](const v1::PoolStats& stats) {
    std::set<std::string> out;
    for (const v1::NodeStats& node : stats.nodes()) out.insert(node.address());
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return addresses(Stats()) == all; }, absl::Seconds(10),
                      "the sniff on start finds nodes 1 and 2"));

  struct Case {
    std::string kind;
    grpc::StatusCode code;
    std::string says;  // in the Sniff error, or in the pool's last sniff outcome
  };
  const std::vector<Case> cases = {
      {"nodes_no_http", grpc::StatusCode::OK, "no usable http address or roles"},
      {"nodes_bad_address_type", grpc::StatusCode::OK, "no usable http address or roles"},
      {"nodes_bad_address", grpc::StatusCode::OK, "no usable http address or roles"},
      {"nodes_no_roles", grpc::StatusCode::OK, "no usable http address or roles"},
      {"nodes_not_object", grpc::StatusCode::INTERNAL, "is not an object"},
      {"html", grpc::StatusCode::UNAVAILABLE, "not an Elasticsearch answer"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind);
    MalformAll(c.kind, "_nodes");
    v1::PoolStats stats;
    const int64_t sniffs_before = Stats().sniffs_total();
    const grpc::Status status =
        admin_->Sniff(testing::CallContext(absl::Seconds(20)).get(), {}, &stats);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    const v1::PoolStats after = Stats();
    EXPECT_EQ(after.sniffs_total(), sniffs_before + 1);
    EXPECT_THAT(status.ok() ? after.last_sniff_outcome() : status.error_message(),
                HasSubstr(c.says));
    EXPECT_EQ(addresses(after), all) << "no node removed, none added: " << after.DebugString();
    for (const v1::NodeStats& node : after.nodes()) {
      EXPECT_EQ(node.state(), v1::NODE_STATE_ALIVE) << node.address();
      EXPECT_FALSE(node.node_id().empty()) << node.address() << " keeps its sniffed id";
    }
    ExpectServingAfterHeal();
  }
  // Healed, a sniff finds the same three nodes.
  v1::PoolStats stats;
  ASSERT_TRUE(admin_->Sniff(testing::CallContext(absl::Seconds(20)).get(), {}, &stats).ok());
  EXPECT_EQ(addresses(stats), all);
  EXPECT_THAT(stats.last_sniff_outcome(), Not(HasSubstr("no usable")));
}

}  // namespace
}  // namespace esgw
