// The operations plane end to end: the built esgw-server in front of a 3-node dev cluster, seen
// the way an operator sees it: WatchPoolStats, grpc.health Watch, /metrics, SIGTERM, --config.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/prom_text.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using testing::WaitFor;
using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

class OpsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::ExternalEsUrl().empty()) {
      GTEST_SKIP() << "these cases kill, slow and hang nodes, which needs esgw-devcluster; "
                      "ESGW_TEST_ES_URL is set";
    }
    testing::DevCluster::Options cluster_options;
    cluster_options.nodes = 3;
    cluster_options.sample_data = true;
    auto cluster = testing::DevCluster::Start(cluster_options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto server = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(), {"--dead_timeout=300ms", "--max_dead_timeout=1s",
                                "--metrics_listen=127.0.0.1:0", "--sniff_on_start=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->metrics_port(), 0) << "the port file names the /metrics port";
    gateway_ = esgw::v1::Gateway::NewStub(server_->channel());
    admin_ = esgw::v1::Admin::NewStub(server_->channel());
    health_ = grpc::health::v1::Health::NewStub(server_->channel());
  }

  grpc::Status Search(const std::string& index = "products",
                      absl::Duration deadline = absl::Seconds(10)) {
    esgw::v1::SearchRequest request;
    request.add_indices(index);
    request.set_body_json(R"({"query":{"match_all":{}},"size":1})");
    esgw::v1::SearchResponse response;
    return gateway_->Search(testing::CallContext(deadline).get(), request, &response);
  }

  // The status code of GET path on the metrics listener; -1 when it did not answer.
  int HttpProbe(const std::string& path) {
    auto response = devcluster::HttpRequestOnce(absl::StrCat("127.0.0.1:", server_->metrics_port()),
                                                "GET", path);
    return response.ok() ? response->status : -1;
  }

  absl::StatusOr<testing::PromExposition> Scrape() { return server_->ScrapeMetrics(); }

  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<testing::EsgwProcess> server_;
  std::unique_ptr<esgw::v1::Gateway::Stub> gateway_;
  std::unique_ptr<esgw::v1::Admin::Stub> admin_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// Reads a server stream on its own thread, keeping every message, until the stream ends.
template <typename Message>
class StreamCollector {
 public:
  using Reader = grpc::ClientReader<Message>;
  StreamCollector(std::unique_ptr<grpc::ClientContext> context, std::unique_ptr<Reader> reader)
      : context_(std::move(context)), reader_(std::move(reader)) {
    thread_ = std::thread([this] {
      Message message;
      while (reader_->Read(&message)) {
        absl::MutexLock lock(&mu_);
        messages_.push_back(message);
      }
      const grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mu_);
      status_ = status;
      done_ = true;
    });
  }
  ~StreamCollector() {
    context_->TryCancel();
    thread_.join();
  }
  std::vector<Message> messages() const {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  bool done() const {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  grpc::Status status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Reader> reader_;
  mutable absl::Mutex mu_;
  std::vector<Message> messages_;
  grpc::Status status_;
  bool done_ = false;
  std::thread thread_;
};

// The states a node went through, with repeats folded.
std::vector<esgw::v1::NodeState> StatesOf(const std::vector<esgw::v1::PoolStats>& messages,
                                          const std::string& address) {
  std::vector<esgw::v1::NodeState> states;
  for (const esgw::v1::PoolStats& stats : messages) {
    for (const esgw::v1::NodeStats& node : stats.nodes()) {
      if (node.address() != address) continue;
      if (states.empty() || states.back() != node.state()) states.push_back(node.state());
    }
  }
  return states;
}

TEST_F(OpsE2eTest, WatchPoolStatsShowsANodeGoDeadAndComeBack) {
  auto context = testing::CallContext(absl::Seconds(60));
  esgw::v1::WatchPoolStatsRequest request;
  request.mutable_interval()->set_nanos(100'000'000);
  grpc::ClientContext* raw = context.get();
  StreamCollector<esgw::v1::PoolStats> watch(std::move(context),
                                             admin_->WatchPoolStats(raw, request));
  const std::string node = cluster_->node_addresses()[0];
  ASSERT_TRUE(WaitFor([&] { return !watch.messages().empty(); }, absl::Seconds(5),
                      "the first PoolStats arrives at once"));

  ASSERT_TRUE(cluster_->Kill(0).ok());
  // The pool learns of a dead node from a request that fails on it (refused: hard, ejected at
  // once); Searches spread over the nodes, so a few reach it.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_TRUE(Search().ok());
        const auto states = StatesOf(watch.messages(), node);
        return !states.empty() && states.back() == esgw::v1::NODE_STATE_DEAD;
      },
      absl::Seconds(10), "the stream shows the killed node DEAD"));

  ASSERT_TRUE(cluster_->Revive(0).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto states = StatesOf(watch.messages(), node);
        return states.back() == esgw::v1::NODE_STATE_ALIVE;
      },
      absl::Seconds(10), "the stream shows the node ALIVE again after its probe"));
  std::vector<esgw::v1::NodeState> states = StatesOf(watch.messages(), node);
  // PROBING may show between DEAD and ALIVE when a message falls in the probe's few ms.
  std::erase(states, esgw::v1::NODE_STATE_PROBING);
  EXPECT_THAT(states, ::testing::ElementsAre(esgw::v1::NODE_STATE_ALIVE, esgw::v1::NODE_STATE_DEAD,
                                             esgw::v1::NODE_STATE_ALIVE));
  // Messages keep coming at about the interval: 100 ms apart, so several a second.
  const size_t before = watch.messages().size();
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_GE(watch.messages().size(), before + 3);
  EXPECT_FALSE(watch.done());
}

TEST_F(OpsE2eTest, HealthWatchGoesNotServingWithEveryNodeDownAndBack) {
  auto context = testing::CallContext(absl::Seconds(60));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("esgw.v1.Gateway");
  grpc::ClientContext* raw = context.get();
  StreamCollector<grpc::health::v1::HealthCheckResponse> watch(std::move(context),
                                                               health_->Watch(raw, request));
  auto statuses = [&] {
    std::vector<HealthStatus> out;
    for (const auto& message : watch.messages()) out.push_back(message.status());
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return !statuses().empty(); }, absl::Seconds(5),
                      "Watch sends the status at once"));

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Kill(i).ok());
  const grpc::Status search = Search("products", absl::Seconds(3));
  EXPECT_EQ(search.error_code(), grpc::StatusCode::UNAVAILABLE) << search.error_message();
  ASSERT_TRUE(WaitFor(
      [&] { return statuses().back() == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(5), "Watch reports NOT_SERVING with every node dead"));
  // Liveness is the process's own: a Kubernetes liveness probe on esgw.v1.Admin must not restart
  // every replica because Elasticsearch is down.
  grpc::health::v1::HealthCheckRequest liveness;
  liveness.set_service("esgw.v1.Admin");
  grpc::health::v1::HealthCheckResponse alive;
  ASSERT_TRUE(health_->Check(testing::CallContext().get(), liveness, &alive).ok());
  EXPECT_EQ(alive.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // The HTTP probes (for a TLS listener, where Kubernetes' gRPC probes cannot connect) agree.
  EXPECT_EQ(HttpProbe("/readyz"), 503);
  EXPECT_EQ(HttpProbe("/livez"), 200);

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Revive(i).ok());
  ASSERT_TRUE(
      WaitFor([&] { return statuses().back() == grpc::health::v1::HealthCheckResponse::SERVING; },
              absl::Seconds(10), "Watch reports SERVING once a node is probed back"));
  EXPECT_THAT(statuses(), ::testing::ElementsAre(grpc::health::v1::HealthCheckResponse::SERVING,
                                                 grpc::health::v1::HealthCheckResponse::NOT_SERVING,
                                                 grpc::health::v1::HealthCheckResponse::SERVING));
  EXPECT_TRUE(Search().ok());
  EXPECT_EQ(HttpProbe("/readyz"), 200);
  EXPECT_EQ(HttpProbe("/livez"), 200);

  // GetHealth agrees, and carries the cluster's own health.
  esgw::v1::HealthReport report;
  ASSERT_TRUE(admin_->GetHealth(testing::CallContext().get(), {}, &report).ok());
  EXPECT_EQ(report.status(), esgw::v1::GATEWAY_STATUS_SERVING);
  EXPECT_EQ(report.cluster().status(), "green");
  EXPECT_EQ(report.cluster().number_of_data_nodes(), 3);
}

TEST_F(OpsE2eTest, MetricsParseAndCountWhatWasSent) {
  auto before = Scrape();
  ASSERT_TRUE(before.ok()) << before.status();
  const int64_t es_searches_before = cluster_->NodeStat("requests.search").value_or(-1);

  constexpr int kOk = 7;
  constexpr int kInvalid = 3;
  for (int i = 0; i < kOk; ++i) ASSERT_TRUE(Search().ok());
  for (int i = 0; i < kInvalid; ++i) {
    EXPECT_EQ(Search("../_cluster").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  esgw::v1::PoolStats stats;
  ASSERT_TRUE(admin_->GetPoolStats(testing::CallContext().get(), {}, &stats).ok());

  auto after = Scrape();
  ASSERT_TRUE(after.ok()) << after.status();
  auto delta = [&](absl::string_view name, const std::map<std::string, std::string>& match) {
    return after->Sum(name, match) - before->Sum(name, match);
  };
  const std::map<std::string, std::string> search = {
      {"grpc_service", "esgw.v1.Gateway"}, {"grpc_method", "Search"}, {"grpc_type", "unary"}};
  EXPECT_EQ(delta("grpc_server_started_total", search), kOk + kInvalid);
  auto with_code = [&](const char* code) {
    auto labels = search;
    labels["grpc_code"] = code;
    return labels;
  };
  EXPECT_EQ(delta("grpc_server_handled_total", with_code("OK")), kOk);
  EXPECT_EQ(delta("grpc_server_handled_total", with_code("INVALID_ARGUMENT")), kInvalid);
  EXPECT_EQ(delta("grpc_server_handling_seconds_count", search), kOk + kInvalid);
  EXPECT_EQ(delta("grpc_server_msg_received_total", search), kOk + kInvalid);
  EXPECT_EQ(delta("grpc_server_msg_sent_total", search), kOk);
  EXPECT_EQ(delta("grpc_server_handled_total", {{"grpc_method", "GetPoolStats"}}), 1);
  // Methods never called are listed at zero, as the ecosystem's interceptors do.
  EXPECT_EQ(after->Count("grpc_server_started_total", {{"grpc_method", "Ingest"}}), 1);
  EXPECT_EQ(after->types.at("grpc_server_handling_seconds"), "histogram");

  // Per node: only valid Searches reach Elasticsearch, and the dev cluster saw as many.
  const int64_t es_searches =
      cluster_->NodeStat("requests.search").value_or(-1) - es_searches_before;
  EXPECT_EQ(es_searches, kOk);
  EXPECT_EQ(delta("esgw_node_requests_total", {}), kOk);
  EXPECT_EQ(delta("esgw_node_request_duration_seconds_count", {}), kOk);
  EXPECT_EQ(after->Count("esgw_node_state", {{"state", "alive"}}), 3);
  EXPECT_EQ(after->Sum("esgw_node_state", {{"state", "alive"}}), 3);
  EXPECT_EQ(after->Sum("esgw_pool_nodes", {{"state", "alive"}}), 3);
  EXPECT_EQ(after->Sum("esgw_node_failures_total", {}), 0);
  EXPECT_EQ(after->Sum("esgw_node_in_flight_requests", {}), 0);
  for (const esgw::v1::NodeStats& node : stats.nodes()) {
    EXPECT_EQ(after->Sum("esgw_node_connections_opened_total", {{"node", node.address()}}),
              node.connections_opened_total())
        << node.address();
    // Admin's histogram is the metric's, bucket for bucket (the metric's are cumulative).
    const esgw::v1::LatencyHistogram& latency = node.latency();
    ASSERT_EQ(latency.counts_size(), latency.upper_bounds_seconds_size() + 1) << node.address();
    EXPECT_EQ(static_cast<double>(latency.count()),
              after->Sum("esgw_node_request_duration_seconds_count", {{"node", node.address()}}));
    uint64_t cumulative = 0;
    for (int i = 0; i < latency.upper_bounds_seconds_size(); ++i) {
      cumulative += latency.counts(i);
      EXPECT_EQ(static_cast<double>(cumulative),
                after->Sum("esgw_node_request_duration_seconds_bucket",
                           {{"node", node.address()},
                            {"le", absl::StrCat(latency.upper_bounds_seconds(i))}}))
          << node.address() << " le=" << latency.upper_bounds_seconds(i);
    }
  }
  int64_t observed = 0;
  for (const esgw::v1::NodeStats& node : stats.nodes()) observed += node.latency().count();
  EXPECT_EQ(static_cast<double>(observed),
            after->Sum("esgw_node_request_duration_seconds_count", {}));
  EXPECT_EQ(after->Sum("esgw_serving", {}), 1);
  // No Ingest stream here: the Ingest gauges are listed, at zero.
  EXPECT_EQ(after->types.at("esgw_ingest_buffered_bytes"), "gauge");
  EXPECT_EQ(after->Count("esgw_ingest_streams", {}), 1);
  EXPECT_EQ(after->Sum("esgw_ingest_streams", {}), 0);
  EXPECT_EQ(after->Sum("esgw_ingest_buffered_bytes", {}), 0);
  EXPECT_EQ(after->types.at("esgw_ingest_read_pauses_total"), "counter");
  EXPECT_GT(after->Sum("process_resident_memory_bytes", {}), 1 << 20);
  EXPECT_GT(after->Sum("process_open_fds", {}), 3);
  EXPECT_GT(after->Sum("process_max_fds", {}), after->Sum("process_open_fds", {}));
  EXPECT_EQ(after->Count("esgw_build_info", {}), 1);

  // Only /metrics and the probes are served.
  auto other =
      devcluster::HttpRequestOnce(absl::StrCat("127.0.0.1:", server_->metrics_port()), "GET", "/");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->status, 404);
}

TEST_F(OpsE2eTest, SigtermDuringEightSlowSearchesCompletesAllAndExitsZero) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Slow(i, absl::Milliseconds(1500)).ok());
  const int64_t searches_before = cluster_->NodeStat("requests.search").value_or(-1);
  struct Pending {
    grpc::ClientContext context;
    esgw::v1::SearchRequest request;
    esgw::v1::SearchResponse response;
    std::promise<grpc::Status> done;
  };
  std::vector<std::unique_ptr<Pending>> searches;
  for (int i = 0; i < 8; ++i) {
    auto search = std::make_unique<Pending>();
    search->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    search->request.add_indices("products");
    Pending* raw = search.get();
    gateway_->async()->Search(&raw->context, &raw->request, &raw->response,
                              [raw](grpc::Status status) { raw->done.set_value(status); });
    searches.push_back(std::move(search));
  }
  ASSERT_TRUE(WaitFor(
      [&] { return cluster_->NodeStat("requests.search").value_or(0) >= searches_before + 8; },
      absl::Seconds(10), "all 8 Searches reach the (slow) nodes"));

  ASSERT_TRUE(server_->process().Signal(SIGTERM).ok());
  for (auto& search : searches) {
    auto future = search->done.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    const grpc::Status status = future.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(search->response.hits_size(), 10);
  }
  const auto exit_code = server_->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status() << "\n" << server_->process().Log();
  EXPECT_EQ(*exit_code, 0) << server_->process().Log();
}

TEST_F(OpsE2eTest, ShutdownDelayKeepsServingWhileHealthSaysNotServing) {
  auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag(), {"--shutdown_delay=1500ms"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto health = grpc::health::v1::Health::NewStub((*server)->channel());
  auto gateway = esgw::v1::Gateway::NewStub((*server)->channel());
  auto check = [&] {
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(testing::CallContext().get(), request, &response);
    return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
  };
  ASSERT_EQ(check(), grpc::health::v1::HealthCheckResponse::SERVING);
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE((*server)->process().Signal(SIGTERM).ok());
  ASSERT_TRUE(WaitFor([&] { return check() == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
                      absl::Seconds(1), "health turns NOT_SERVING at once"));
  // Still inside the delay: new calls are served.
  esgw::v1::SearchRequest request;
  request.add_indices("products");
  esgw::v1::SearchResponse response;
  const grpc::Status status = gateway->Search(testing::CallContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(absl::Now() - signalled, absl::Milliseconds(1500))
      << "the Search above must run inside the delay for this test to mean anything";
  const auto exit_code = (*server)->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
}

TEST_F(OpsE2eTest, SigtermDrainsAnOpenIngestStream) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->Slow(i, absl::Milliseconds(800)).ok());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = gateway_->Ingest(&context);
  esgw::v1::IngestRequest request;
  request.set_index("drained");
  constexpr int kOps = 40;
  for (int i = 0; i < kOps; ++i) {
    esgw::v1::BulkOp* op = request.add_ops();
    op->set_type(esgw::v1::OP_TYPE_INDEX);
    op->set_id(absl::StrCat("d", i));
    op->set_seq(static_cast<uint64_t>(i));
    op->set_source_json(absl::StrCat(R"({"n":)", i, "}"));
  }
  const int64_t bulks_before = cluster_->NodeStat("requests.bulk").value_or(-1);
  ASSERT_TRUE(stream->Write(request));
  // The ops are in a _bulk the slow nodes are holding; the stream stays open (no half-close).
  ASSERT_TRUE(
      WaitFor([&] { return cluster_->NodeStat("requests.bulk").value_or(0) > bulks_before; },
              absl::Seconds(10), "the batch reaches a node"));
  ASSERT_TRUE(server_->process().Signal(SIGTERM).ok());

  std::map<uint64_t, int> results;
  esgw::v1::IngestResponse response;
  bool summary = false;
  while (stream->Read(&response)) {
    for (const esgw::v1::BulkItemResult& result : response.results()) {
      ++results[result.seq()];
      EXPECT_EQ(result.status(), 201) << result.seq() << ": " << result.error().reason();
    }
    summary = summary || response.has_summary();
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  EXPECT_FALSE(summary) << "a drained stream ends with a status, not a summary";
  EXPECT_EQ(results.size(), static_cast<size_t>(kOps)) << "the batch in flight was reported";
  for (const auto& [seq, count] : results) EXPECT_EQ(count, 1) << seq;
  // It exits without waiting out the grace period for the open stream.
  const auto exit_code = server_->process().Wait(absl::Seconds(5));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status() << "\n" << server_->process().Log();
  EXPECT_EQ(*exit_code, 0);
}

// ---- --config: no cluster needed for what fails at start ----

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Runs esgw-server to its exit: {exit code, output}.
std::pair<int, std::string> RunServer(std::vector<std::string> args,
                                      std::vector<std::pair<std::string, std::string>> env = {}) {
  args.insert(args.begin(), testing::BinDir() + "/esgw-server");
  auto process = testing::Subprocess::Start(std::move(args), std::move(env));
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return {-1, ""};
  const absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  EXPECT_TRUE(code.ok()) << code.status();
  return {code.value_or(-1), (*process)->Log()};
}

TEST(ConfigE2eTest, ABadKeyFailsAtStartNamingTheKeyAndItsLine) {
  const std::string dir = testing::MakeTempDir("esgw-config").value();
  const std::string path =
      WriteFile(dir, "esgw.yaml", "# esgw\nselector: round_robin\nsniff_intervall: 5m\n");
  const auto [code, log] = RunServer({"--config=" + path});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(log, HasSubstr(path + ":3: unknown key 'sniff_intervall' (did you mean "
                                    "'sniff_interval'?)"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("listening")));

  // A value the flag refuses is named with its line too, in JSON as in YAML.
  const std::string json = WriteFile(
      dir, "esgw.json", "{\n  \"selector\": \"round_robin\",\n  \"dead_timeout\": \"soon\"\n}\n");
  const auto [json_code, json_log] = RunServer({"--config=" + json});
  EXPECT_EQ(json_code, 2);
  EXPECT_THAT(json_log, HasSubstr(json + ":3: key 'dead_timeout'"));
  // And a value only the server's own checks refuse says where it came from.
  const std::string selector = WriteFile(dir, "selector.yaml", "selector: best\n");
  const auto [selector_code, selector_log] = RunServer({"--config=" + selector});
  EXPECT_EQ(selector_code, 2);
  EXPECT_THAT(selector_log, HasSubstr("--selector: unknown selector"));
  EXPECT_THAT(selector_log, HasSubstr("(selector from " + selector + ":1)"));
}

TEST(ConfigE2eTest, AMetricsAddressThatDoesNotParseFailsAtStart) {
  const auto [code, log] = RunServer({"--metrics_listen=nonsense", "--listen=127.0.0.1:0"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(log, HasSubstr("metrics_listen: expected host:port"));
}

TEST(ConfigE2eTest, PrintConfigShowsFlagOverEnvOverFileOverDefaultWithSecretsRedacted) {
  const std::string dir = testing::MakeTempDir("esgw-config").value();
  const std::string path = WriteFile(dir, "esgw.yaml",
                                     "selector: round_robin\n"
                                     "max_retries: 5\n"
                                     "dead_timeout: 2s\n"
                                     "es_nodes:\n"
                                     "  - http://elastic:hunter2@es-0:9200\n"
                                     "  - http://es-1:9200\n");
  const auto [code, out] = RunServer(
      {"--config=" + path, "--selector=sticky", "--print_config"},
      {{"ESGW_SELECTOR", "random"}, {"ESGW_MAX_RETRIES", "4"}, {"ESGW_ES_PASSWORD", "s3cret"}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("selector: \"sticky\"  # flag\n"));
  EXPECT_THAT(out, HasSubstr("max_retries: \"4\"  # env ESGW_MAX_RETRIES\n"));
  EXPECT_THAT(out, HasSubstr("dead_timeout: \"2s\"  # " + path + ":3\n"));
  EXPECT_THAT(out, HasSubstr("connect_timeout: \"1s\"  # default\n"));
  EXPECT_THAT(out, HasSubstr("es_nodes: \"http://elastic:<redacted>@es-0:9200,http://es-1:9200\""));
  EXPECT_THAT(out, HasSubstr("ESGW_ES_PASSWORD is set (<redacted>)"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("s3cret")));
}

TEST(ConfigE2eTest, AJsonConfigFileConfiguresARunningServer) {
  if (!testing::ExternalEsUrl().empty()) GTEST_SKIP() << "uses esgw-devcluster";
  testing::DevCluster::Options cluster_options;
  cluster_options.nodes = 2;
  auto cluster = testing::DevCluster::Start(cluster_options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string dir = testing::MakeTempDir("esgw-config").value();
  const std::string path =
      WriteFile(dir, "esgw.json",
                R"({"selector": "round_robin", "pool_mode": "static", "sniff_on_start": false})"
                "\n");
  auto server = testing::EsgwProcess::Start((*cluster)->SeedsFlag(), {"--config=" + path});
  ASSERT_TRUE(server.ok()) << server.status();
  auto admin = esgw::v1::Admin::NewStub((*server)->channel());
  esgw::v1::PoolStats stats;
  ASSERT_TRUE(admin->GetPoolStats(testing::CallContext().get(), {}, &stats).ok());
  EXPECT_EQ(stats.selector(), "round_robin");
  EXPECT_EQ(stats.pool_mode(), "static");
  EXPECT_EQ(stats.sniffs_total(), 0);
}

}  // namespace
}  // namespace esgw
