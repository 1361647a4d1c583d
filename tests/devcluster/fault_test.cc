// The control API's faults, observed over real sockets against the esgw-devcluster binary: kill,
// revive, hang, slow, forced statuses, reset, close_idle, keep-alive limits, bulk rejection,
// statistics, node roles and publish addresses, and clean shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/devcluster/json.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace esgw::devcluster {
namespace {

using ::esgw::testing::BinDir;
using ::esgw::testing::DevCluster;
using ::esgw::testing::ExternalEsUrl;
using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::esgw::testing::Subprocess;
using ::esgw::testing::WaitFor;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(5);

std::unique_ptr<DevCluster> StartCluster(DevCluster::Options options) {
  absl::StatusOr<std::unique_ptr<DevCluster>> cluster = DevCluster::Start(std::move(options));
  EXPECT_THAT(cluster, IsOk());
  return cluster.ok() ? std::move(*cluster) : nullptr;
}

std::unique_ptr<BlockingHttpClient> ConnectTo(const std::string& address) {
  absl::StatusOr<std::unique_ptr<BlockingHttpClient>> client =
      BlockingHttpClient::Connect(address, absl::Seconds(2));
  EXPECT_THAT(client, IsOk());
  return client.ok() ? std::move(*client) : nullptr;
}

Json NodeStats(DevCluster& cluster, int node) {
  absl::StatusOr<std::string> stats = cluster.Stats();
  EXPECT_THAT(stats, IsOk());
  std::optional<Json> json = ParseJson(stats.value_or("{}"));
  if (!json.has_value() || !json->contains("nodes")) return Json::object();
  return (*json)["nodes"][node];
}

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!ExternalEsUrl().empty()) return;
    DevCluster::Options options;
    options.nodes = 3;
    shared_ = StartCluster(options).release();
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  void SetUp() override {
    if (!ExternalEsUrl().empty()) {
      GTEST_SKIP() << "fault injection needs esgw-devcluster; ESGW_TEST_ES_URL is set";
    }
    ASSERT_NE(shared_, nullptr);
    ASSERT_THAT(shared_->ResetAll(/*wipe_data=*/true), IsOk());
  }
  DevCluster& cluster() { return *shared_; }
  const std::string& address(int node) { return shared_->node_addresses()[node]; }

  static inline DevCluster* shared_ = nullptr;
};

TEST_F(FaultTest, KillRefusesConnectionsAndResetsOpenSockets) {
  auto client = ConnectTo(address(0));
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);

  ASSERT_THAT(cluster().Kill(0), IsOk());
  bool eof = false;
  absl::StatusOr<std::string> after_kill = client->ReadSome(kWait, &eof);
  EXPECT_TRUE(!after_kill.ok() || eof) << "the open socket survived the kill";
  EXPECT_THAT(BlockingHttpClient::Connect(address(0), absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused")));
  // The rest of the cluster no longer lists the dead node.
  absl::StatusOr<std::pair<int, std::string>> nodes = cluster().Request(1, "GET", "/_nodes/http");
  ASSERT_THAT(nodes, IsOk());
  EXPECT_EQ(ParseJson(nodes->second).value_or(Json())["_nodes"]["total"], 2);
  EXPECT_EQ(NodeStats(cluster(), 0)["state"], "killed");

  ASSERT_THAT(cluster().Revive(0), IsOk());
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<std::pair<int, std::string>> root = cluster().Request(0, "GET", "/");
        return root.ok() && root->first == 200;
      },
      kWait, "node 0 answering again after revive"));
}

TEST_F(FaultTest, HangReadsButNeverAnswersUntilHealed) {
  ASSERT_THAT(cluster().Hang(0), IsOk());
  auto client = ConnectTo(address(0));  // accepting still works
  ASSERT_NE(client, nullptr);
  ASSERT_THAT(client->SendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), IsOk());
  bool eof = false;
  absl::StatusOr<std::string> silence = client->ReadSome(absl::Milliseconds(300), &eof);
  ASSERT_THAT(silence, IsOk());
  EXPECT_EQ(*silence, "");
  EXPECT_FALSE(eof);

  ASSERT_THAT(cluster().Heal(0), IsOk());
  std::string received;
  EXPECT_TRUE(WaitFor(
      [&] {
        bool closed = false;
        absl::StatusOr<std::string> bytes = client->ReadSome(absl::Milliseconds(50), &closed);
        if (bytes.ok()) received += *bytes;
        return absl::StrContains(received, "HTTP/1.1 200 OK");
      },
      kWait, "the hung request answered after heal"));
}

TEST_F(FaultTest, SlowDelaysEveryResponse) {
  ASSERT_THAT(cluster().Slow(0, absl::Milliseconds(250)), IsOk());
  absl::Time start = absl::Now();
  absl::StatusOr<std::pair<int, std::string>> response = cluster().Request(0, "GET", "/");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->first, 200);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_EQ(NodeStats(cluster(), 0)["delay_ms"], 250);
}

TEST_F(FaultTest, ForcedStatusesLookLikeElasticsearchOrAProxy) {
  ASSERT_THAT(cluster().Status(0, 429), IsOk());
  auto rejected = HttpRequestOnce(address(0), "POST", "/_search", "{}");
  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->status, 429);
  Json body = ParseJson(rejected->body).value_or(Json());
  EXPECT_EQ(body["error"]["type"], "es_rejected_execution_exception");
  EXPECT_EQ(body["status"], 429);

  ASSERT_THAT(cluster().Status(0, 503), IsOk());
  auto unavailable = HttpRequestOnce(address(0), "GET", "/");
  ASSERT_THAT(unavailable, IsOk());
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_THAT(unavailable->body, HasSubstr("cluster_block_exception"));
  EXPECT_NE(unavailable->Header("X-elastic-product"), nullptr);

  ASSERT_THAT(cluster().Status(0, 502), IsOk());
  auto proxy = HttpRequestOnce(address(0), "GET", "/");
  ASSERT_THAT(proxy, IsOk());
  EXPECT_EQ(proxy->status, 502);
  EXPECT_THAT(proxy->body, HasSubstr("502 Bad Gateway"));
  EXPECT_EQ(proxy->Header("X-elastic-product"), nullptr);

  ASSERT_THAT(cluster().Heal(0), IsOk());
  EXPECT_EQ(HttpRequestOnce(address(0), "GET", "/")->status, 200);
}

// Sends request (raw HTTP/1.1, one request) on a fresh connection to address and reads until
// the server closes: everything it sent.
std::string RawExchange(const std::string& address, const std::string& request) {
  auto client = ConnectTo(address);
  if (client == nullptr) return "";
  EXPECT_THAT(client->SendRaw(request), IsOk());
  std::string received;
  bool eof = false;
  const absl::Time deadline = absl::Now() + kWait;
  while (!eof && absl::Now() < deadline) {
    absl::StatusOr<std::string> bytes = client->ReadSome(absl::Milliseconds(200), &eof);
    if (!bytes.ok()) break;
    received += *bytes;
  }
  EXPECT_TRUE(eof) << "the server did not close the connection";
  return received;
}

std::string SearchRequestText(absl::string_view path = "/_search") {
  const std::string body = R"({"query":{"match_all":{}}})";
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

TEST_F(FaultTest, MalformTruncatedPromisesMoreThanItSendsThenCloses) {
  ASSERT_THAT(cluster().Malform(0, "truncated", "_search"), IsOk());
  const std::string raw = RawExchange(address(0), SearchRequestText());
  const size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << raw;
  const std::string head = raw.substr(0, head_end);
  EXPECT_THAT(head, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(absl::AsciiStrToLower(head), ::testing::Not(HasSubstr("connection: close")));
  const size_t at = absl::AsciiStrToLower(head).find("content-length: ");
  ASSERT_NE(at, std::string::npos) << head;
  size_t promised = 0;
  ASSERT_TRUE(absl::SimpleAtoi(head.substr(at + 16, head.find("\r\n", at) - at - 16), &promised));
  const size_t sent = raw.size() - head_end - 4;
  EXPECT_GT(promised, 0u);
  EXPECT_EQ(sent, promised / 2) << "half the body, then the close";
  // Only paths with _search are affected; the state says so.
  auto root = HttpRequestOnce(address(0), "GET", "/");
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->status, 200);
  EXPECT_EQ(NodeStats(cluster(), 0)["state"], "malformed");
  EXPECT_EQ(NodeStats(cluster(), 0)["malform"], "truncated");
}

TEST_F(FaultTest, MalformBodiesAndLabelsThatAreNotElasticsearchs) {
  ASSERT_THAT(cluster().Malform(0, "invalid_json", "_search"), IsOk());
  ASSERT_THAT(cluster().Malform(1, "html", "_search"), IsOk());
  ASSERT_THAT(cluster().Malform(2, "wrong_content_type", "_search"), IsOk());
  auto not_json = HttpRequestOnce(address(0), "POST", "/_search", "{}");
  ASSERT_THAT(not_json, IsOk());
  EXPECT_EQ(not_json->status, 200);
  EXPECT_EQ(*not_json->Header("content-type"), "application/json");
  EXPECT_FALSE(ParseJson(not_json->body).has_value()) << not_json->body;
  EXPECT_THAT(not_json->body, ::testing::StartsWith("{\"took\""));

  auto html = HttpRequestOnce(address(1), "POST", "/_search", "{}");
  ASSERT_THAT(html, IsOk());
  EXPECT_EQ(html->status, 200);
  EXPECT_THAT(*html->Header("content-type"), HasSubstr("text/html"));
  EXPECT_EQ(html->Header("X-elastic-product"), nullptr);
  EXPECT_THAT(html->body, HasSubstr("<html>"));

  auto plain = HttpRequestOnce(address(2), "POST", "/_search", "{}");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->status, 200);
  EXPECT_THAT(*plain->Header("content-type"), HasSubstr("text/plain"));
  std::optional<Json> valid = ParseJson(plain->body);
  ASSERT_TRUE(valid.has_value()) << "a valid body, wrongly labelled";
  EXPECT_TRUE(valid->contains("hits"));

  ASSERT_THAT(cluster().Malform(2, "empty", "_search"), IsOk());
  auto empty = HttpRequestOnce(address(2), "POST", "/_search", "{}");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(*empty->Header("content-length"), "0");
  EXPECT_EQ(empty->body, "");

  // heal and reset_all stop it.
  ASSERT_THAT(cluster().Heal(1), IsOk());
  EXPECT_THAT(*HttpRequestOnce(address(1), "POST", "/_search", "{}")->Header("content-type"),
              HasSubstr("application/json"));
  ASSERT_THAT(cluster().ResetAll(), IsOk());
  EXPECT_TRUE(ParseJson(HttpRequestOnce(address(0), "POST", "/_search", "{}")->body).has_value());
  EXPECT_EQ(NodeStats(cluster(), 0)["malform"], "");
}

TEST_F(FaultTest, MalformHugeSendsALargeValidSearchAnswer) {
  ASSERT_THAT(cluster().Malform(1, "huge", "_search", 8 << 20), IsOk());
  auto huge = HttpRequestOnce(address(1), "POST", "/_search", "{}", {{"Accept-Encoding", "gzip"}},
                              absl::Seconds(30));
  ASSERT_THAT(huge, IsOk());
  EXPECT_EQ(huge->status, 200);
  ASSERT_NE(huge->Header("content-encoding"), nullptr);
  EXPECT_EQ(*huge->Header("content-encoding"), "gzip") << "compressed as any answer";
  EXPECT_GE(huge->body.size(), 8u << 20);
  std::optional<Json> body = ParseJson(huge->body);
  ASSERT_TRUE(body.has_value());
  EXPECT_GT((*body)["hits"]["hits"].size(), 7000u);
  EXPECT_EQ((*body)["hits"]["hits"][0]["_id"], "h-0");
}

TEST_F(FaultTest, MalformNodesGarbageSpoilsEveryEntryButTheAnsweringNodesOwn) {
  auto nodes_of = [&](int node) {
    auto response = cluster().Request(node, "GET", "/_nodes/http");
    EXPECT_THAT(response, IsOk());
    return ParseJson(response.ok() ? response->second : "{}").value_or(Json())["nodes"];
  };
  const Json clean = nodes_of(0);
  ASSERT_EQ(clean.size(), 3u);
  std::string own_id;
  for (const auto& [id, entry] : clean.items()) {
    if (entry["name"] == "devnode-0") own_id = id;
  }
  ASSERT_FALSE(own_id.empty());
  for (const char* kind : {"nodes_no_http", "nodes_bad_address_type", "nodes_bad_address",
                           "nodes_no_roles", "nodes_not_object"}) {
    SCOPED_TRACE(kind);
    ASSERT_THAT(cluster().Malform(0, kind, "_nodes"), IsOk());
    const Json nodes = nodes_of(0);
    ASSERT_EQ(nodes.size(), 4u) << "three nodes and a stranger";
    EXPECT_EQ(nodes[own_id], clean[own_id]) << "the answering node's own entry is intact";
    for (const auto& [id, entry] : nodes.items()) {
      if (id == own_id) continue;
      const std::string k = kind;
      if (k == "nodes_no_http") {
        EXPECT_FALSE(entry.contains("http")) << id;
      } else if (k == "nodes_bad_address_type") {
        EXPECT_FALSE(entry["http"]["publish_address"].is_string()) << id;
      } else if (k == "nodes_bad_address") {
        const std::string address = entry["http"]["publish_address"].get<std::string>();
        EXPECT_TRUE(address.find(' ') != std::string::npos ||
                    address.find('@') != std::string::npos ||
                    address.find("99999") != std::string::npos || address.front() == '[')
            << address;
      } else if (k == "nodes_no_roles") {
        EXPECT_FALSE(entry.contains("roles")) << id;
      } else {
        EXPECT_FALSE(entry.is_object()) << id;
      }
    }
    // Other endpoints are left alone.
    auto root = cluster().Request(0, "GET", "/");
    ASSERT_THAT(root, IsOk());
    EXPECT_TRUE(ParseJson(root->second).value_or(Json()).contains("tagline"));
  }
  ASSERT_THAT(cluster().Heal(0), IsOk());
  EXPECT_EQ(nodes_of(0), clean);
}

TEST_F(FaultTest, MalformRefusesAnUnknownKind) {
  const absl::Status status = cluster().Malform(0, "sideways");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInternal,
                               ::testing::AllOf(HasSubstr("400"), HasSubstr("unknown kind"),
                                                HasSubstr("truncated"))));
}

TEST_F(FaultTest, ResetAnswersTheNextRequestWithRstAndNoByte) {
  auto client = ConnectTo(address(0));
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  ASSERT_THAT(cluster().ResetNext(0), IsOk());
  EXPECT_THAT(client->Send("GET", "/"), StatusIs(absl::StatusCode::kAborted));
  // One request only: the next connection is served normally.
  EXPECT_EQ(HttpRequestOnce(address(0), "GET", "/")->status, 200);
  EXPECT_EQ(NodeStats(cluster(), 0)["resets_injected"], 1);
}

TEST_F(FaultTest, CloseIdleDropsIdleKeepAliveConnections) {
  auto client = ConnectTo(address(1));
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  EXPECT_TRUE(WaitFor([&] { return NodeStats(cluster(), 1)["open_sockets"] == 1; }, kWait,
                      "one open socket on node 1"));
  ASSERT_THAT(cluster().CloseIdle(1), IsOk());
  EXPECT_THAT(client->WaitForClose(kWait), IsOk());
}

TEST_F(FaultTest, BulkRejectAnswers429AndDoesNotApplyTheItem) {
  ASSERT_THAT(cluster().BulkReject(3), IsOk());
  std::string bulk;
  for (int i = 1; i <= 9; ++i) {
    absl::StrAppend(&bulk, "{\"index\":{\"_index\":\"rejects\",\"_id\":\"d", i, "\"}}\n{\"i\":", i,
                    "}\n");
  }
  auto first = cluster().Request(1, "POST", "/_bulk", bulk, "application/x-ndjson");
  ASSERT_THAT(first, IsOk());
  Json items = ParseJson(first->second).value_or(Json())["items"];
  ASSERT_EQ(items.size(), 9u);
  std::string retry;
  for (int i = 1; i <= 9; ++i) {
    const Json& item = items[i - 1]["index"];
    if (i % 3 == 0) {
      EXPECT_EQ(item["status"], 429);
      EXPECT_EQ(item["error"]["type"], "es_rejected_execution_exception");
      absl::StrAppend(&retry, "{\"index\":{\"_index\":\"rejects\",\"_id\":\"d", i,
                      "\"}}\n{\"i\":", i, "}\n");
    } else {
      EXPECT_EQ(item["status"], 201);
    }
  }
  Json docs = ParseJson(cluster().Docs("rejects").value_or("{}")).value_or(Json());
  EXPECT_EQ(docs["count"], 6);
  for (const Json& doc : docs["docs"]) EXPECT_NE(doc["_id"], "d3");

  ASSERT_THAT(cluster().BulkReject(0), IsOk());
  auto second = cluster().Request(2, "POST", "/_bulk", retry, "application/x-ndjson");
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(second->second, HasSubstr("\"errors\":false"));
  docs = ParseJson(cluster().Docs("rejects").value_or("{}")).value_or(Json());
  EXPECT_EQ(docs["count"], 9);
  for (const Json& doc : docs["docs"]) EXPECT_EQ(doc["_version"], 1) << doc["_id"];
}

TEST_F(FaultTest, StatsCountConnectionsRequestsAndBytes) {
  auto client = ConnectTo(address(2));
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  ASSERT_EQ(client->Send("POST", "/_search", "{}")->status, 200);
  Json stats;
  // Sockets of earlier tests may take a moment to be torn down on the server side.
  EXPECT_TRUE(WaitFor(
      [&] {
        stats = NodeStats(cluster(), 2);
        return stats["open_sockets"] == 1;
      },
      kWait, "exactly our socket open on node 2"));
  EXPECT_EQ(stats["connections_accepted"], 1);
  EXPECT_EQ(stats["requests"]["root"], 2);
  EXPECT_EQ(stats["requests"]["search"], 1);
  EXPECT_GT(stats["bytes_in"].get<int64_t>(), 0);
  EXPECT_GT(stats["bytes_out"].get<int64_t>(), 0);
  EXPECT_EQ(stats["state"], "up");
}

TEST_F(FaultTest, ExpectContinueGetsAnInterimResponse) {
  auto client = ConnectTo(address(0));
  ASSERT_NE(client, nullptr);
  const std::string body = R"({"query":{"match_all":{}}})";
  ASSERT_THAT(client->SendRaw(absl::StrCat(
                  "POST /_search HTTP/1.1\r\nHost: x\r\n", "Content-Type: application/json\r\n",
                  "Expect: 100-continue\r\nContent-Length: ", body.size(), "\r\n\r\n")),
              IsOk());
  std::string received;
  EXPECT_TRUE(WaitFor(
      [&] {
        bool eof = false;
        received += client->ReadSome(absl::Milliseconds(50), &eof).value_or("");
        return absl::StrContains(received, "100 Continue");
      },
      kWait, "100 Continue"));
  ASSERT_THAT(client->SendRaw(body), IsOk());
  EXPECT_TRUE(WaitFor(
      [&] {
        bool eof = false;
        received += client->ReadSome(absl::Milliseconds(50), &eof).value_or("");
        return absl::StrContains(received, "HTTP/1.1 200 OK");
      },
      kWait, "the final response"));
}

TEST(FaultFlagsTest, KeepAliveTimeoutClosesIdleConnections) {
  if (!ExternalEsUrl().empty()) GTEST_SKIP() << "needs esgw-devcluster";
  DevCluster::Options options;
  options.nodes = 1;
  options.extra_flags = {"--keepalive_timeout=200ms"};
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);
  auto client = ConnectTo(cluster->node_addresses()[0]);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  absl::Time idle_since = absl::Now();
  EXPECT_THAT(client->WaitForClose(kWait), IsOk());
  EXPECT_GE(absl::Now() - idle_since, absl::Milliseconds(150));
}

TEST(FaultFlagsTest, MaxRequestsPerConnectionEndsWithConnectionClose) {
  if (!ExternalEsUrl().empty()) GTEST_SKIP() << "needs esgw-devcluster";
  DevCluster::Options options;
  options.nodes = 1;
  options.extra_flags = {"--max_requests_per_connection=2"};
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);
  auto client = ConnectTo(cluster->node_addresses()[0]);
  ASSERT_NE(client, nullptr);
  auto first = client->Send("GET", "/");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->Header("connection"), nullptr);
  auto second = client->Send("GET", "/");
  ASSERT_THAT(second, IsOk());
  ASSERT_NE(second->Header("connection"), nullptr);
  EXPECT_EQ(*second->Header("connection"), "close");
  EXPECT_THAT(client->WaitForClose(kWait), IsOk());
}

TEST(FaultFlagsTest, NodeRolesAndPublishAddresses) {
  if (!ExternalEsUrl().empty()) GTEST_SKIP() << "needs esgw-devcluster";
  DevCluster::Options options;
  options.nodes = 2;
  options.master_only_nodes = 1;
  options.coordinating_nodes = 1;
  options.extra_flags = {"--publish_format=hostip", "--unreachable_publish=1"};
  auto cluster = StartCluster(options);
  ASSERT_NE(cluster, nullptr);
  ASSERT_EQ(cluster->node_addresses().size(), 4u);
  EXPECT_EQ(cluster->SeedsFlag(), absl::StrCat(cluster->NodeUrl(0), ",", cluster->NodeUrl(1)));
  auto response = cluster->Request(3, "GET", "/_nodes/http");
  ASSERT_THAT(response, IsOk());
  Json nodes = ParseJson(response->second).value_or(Json())["nodes"];
  ASSERT_EQ(nodes.size(), 4u);
  std::map<std::string, Json> by_name;
  for (const auto& [id, node] : nodes.items()) by_name[node["name"].get<std::string>()] = node;
  auto port_of = [&](int i) {
    const std::string& address = cluster->node_addresses()[i];
    return address.substr(address.rfind(':') + 1);
  };
  EXPECT_EQ(by_name["devnode-0"]["http"]["publish_address"],
            absl::StrCat("localhost/127.0.0.1:", port_of(0)));
  EXPECT_EQ(by_name["devnode-1"]["http"]["publish_address"],
            absl::StrCat("localhost/10.255.255.1:", port_of(1)));
  EXPECT_EQ(by_name["devnode-2"]["roles"], Json::parse(R"(["master"])"));
  EXPECT_EQ(by_name["devnode-3"]["roles"], Json::array());
  auto health = cluster->Request(0, "GET", "/_cluster/health");
  ASSERT_THAT(health, IsOk());
  Json health_json = ParseJson(health->second).value_or(Json());
  EXPECT_EQ(health_json["number_of_nodes"], 4);
  EXPECT_EQ(health_json["number_of_data_nodes"], 2);
}

TEST(FaultFlagsTest, SigtermStopsTheProgramCleanly) {
  if (!ExternalEsUrl().empty()) GTEST_SKIP() << "needs esgw-devcluster";
  const std::string port_file =
      absl::StrCat(::testing::TempDir(), "/sigterm-ports-", getpid(), ".json");
  auto child = Subprocess::Start({absl::StrCat(BinDir(), "/esgw-devcluster"), "--nodes=2",
                                  "--base_port=0", absl::StrCat("--port_file=", port_file)});
  ASSERT_THAT(child, IsOk());
  absl::StatusOr<std::string> ports =
      esgw::testing::ReadPortFile(port_file, absl::Seconds(10), child->get());
  ASSERT_THAT(ports, IsOk());
  Json json = ParseJson(*ports).value_or(Json());
  ASSERT_EQ(json["nodes"].size(), 2u);
  // An idle keep-alive connection must not hold the shutdown up.
  auto client = ConnectTo(json["nodes"][0].get<std::string>());
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("GET", "/")->status, 200);
  ASSERT_THAT((*child)->Signal(SIGTERM), IsOk());
  absl::StatusOr<int> exit_code = (*child)->Wait(kWait);
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0) << (*child)->Log();
  EXPECT_THAT((*child)->Log(), HasSubstr("shutting down"));
  std::remove(port_file.c_str());
}

}  // namespace
}  // namespace esgw::devcluster
