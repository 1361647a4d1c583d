// The curl transport against the dev cluster over real sockets: keep-alive reuse, connect
// failures, timeouts, cancellation, server-closed idle connections, gzip bodies; and against an
// in-process cpp-httplib peer that records what arrived: credentials and request headers.
#include "pool/curl_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pool/credentials.h"
#include "tests/support/awaited_response.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait.h"

#ifdef ESGW_HAVE_HTTPLIB
#include <httplib.h>
#endif

namespace esgw {
namespace {

using testing::AwaitedResponse;
using testing::DevCluster;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;
using testing::TestCluster;
using testing::WaitFor;

// Sum of every integer field `name` in a JSON text (e.g. "bytes_in" over the nodes of /stats).
// A summed per-node counter of the dev cluster's /stats; -1 (and a test failure) when unreadable.
int64_t Stat(DevCluster* dev, const std::string& field) {
  const absl::StatusOr<int64_t> value = dev->NodeStat(field);
  EXPECT_THAT(value, IsOk());
  return value.value_or(-1);
}

// A _bulk body indexing `docs` documents into `index`, with explicit ids.
std::string BulkBody(const std::string& index, int docs) {
  std::string body;
  for (int i = 0; i < docs; ++i) {
    absl::StrAppend(&body, R"({"index":{"_index":")", index, R"(","_id":"d-)", i, "\"}}\n",
                    R"({"title":"document number )", i, R"(","category":"tools","price":)", i % 500,
                    R"(,"tags":["bulk","gzip"],"in_stock":true})", "\n");
  }
  return body;
}

// Cases that inject faults or read the dev cluster's counters; they skip when ESGW_TEST_ES_URL
// points the suite at a real cluster.
#define REQUIRE_DEV_CLUSTER()                                         \
  if (cluster_->dev() == nullptr) {                                   \
    GTEST_SKIP() << "needs esgw-devcluster; ESGW_TEST_ES_URL is set"; \
  }                                                                   \
  DevCluster* const dev = cluster_->dev()

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = TestCluster::Start({.nodes = 2, .sample_data = true});
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
    auto transport = CurlTransport::Create({.threads = 2, .max_connections_per_node = 4});
    ASSERT_THAT(transport, IsOk());
    transport_ = *std::move(transport);
  }

  // Node i of the dev cluster; against a real cluster, always the ESGW_TEST_ES_URL node.
  Endpoint Node(int i) {
    auto endpoint = ParseEndpoint(absl::StrCat("http://", NodeAddress(i)));
    EXPECT_THAT(endpoint, IsOk());
    return endpoint.ok() ? *endpoint : Endpoint{};
  }
  std::string NodeAddress(int i) const {
    return cluster_->dev() != nullptr ? cluster_->dev()->node_addresses().at(i)
                                      : cluster_->address();
  }
  // An index name no other run uses, so a real cluster's data is never touched.
  static std::string ScratchIndex(absl::string_view name) {
    return absl::StrCat("esgw-it-", name, "-", getpid());
  }

  // Sends and waits for the response (bounded by the request timeout plus slack).
  HttpResponse SendAndWait(int node, HttpRequest request) {
    return testing::SendAndWait(*transport_, Node(node), std::move(request));
  }

  static HttpRequest Get(std::string path, absl::Duration timeout = absl::Seconds(5)) {
    HttpRequest request;
    request.path = std::move(path);
    request.timeout = timeout;
    return request;
  }

  std::unique_ptr<TestCluster> cluster_;
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
  EXPECT_EQ(transport_->GetConnectionStats(NodeAddress(0)).opened, 2);
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
  REQUIRE_DEV_CLUSTER();
  ASSERT_THAT(dev->Kill(1), IsOk());
  const HttpResponse response = SendAndWait(1, Get("/"));
  EXPECT_EQ(response.error, TransportError::kConnectFailed) << response.error_message;
}

TEST_F(CurlTransportTest, HungNodeTimesOutAfterSending) {
  REQUIRE_DEV_CLUSTER();
  ASSERT_THAT(dev->Hang(0), IsOk());
  const HttpResponse response = SendAndWait(0, Get("/", absl::Milliseconds(300)));
  EXPECT_EQ(response.error, TransportError::kTimeout) << response.error_message;
}

TEST_F(CurlTransportTest, CancelAbortsTheExchangeAndClosesItsSocket) {
  REQUIRE_DEV_CLUSTER();
  ASSERT_THAT(dev->Hang(0), IsOk());
  AwaitedResponse awaited;
  const Transport::TransferId id =
      transport_->Send(Node(0), Get("/", absl::Seconds(30)), awaited.Callback());
  const std::string node = dev->node_addresses()[0];
  ASSERT_TRUE(WaitFor([&] { return transport_->GetConnectionStats(node).opened == 1; },
                      absl::Seconds(5), "the exchange connects"));
  transport_->Cancel(id);
  EXPECT_EQ(awaited.Wait(absl::Seconds(5)).error, TransportError::kCancelled);
  EXPECT_TRUE(WaitFor([&] { return transport_->GetConnectionStats(node).closed == 1; },
                      absl::Seconds(5), "the cancelled exchange's socket is closed"));
}

TEST_F(CurlTransportTest, ServerClosedIdleConnectionsAreReplacedWithoutFailing) {
  REQUIRE_DEV_CLUSTER();
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);
  ASSERT_THAT(dev->CloseIdle(0), IsOk());
  const HttpResponse response = SendAndWait(0, Get("/"));
  EXPECT_EQ(response.error, TransportError::kNone) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(transport_->GetConnectionStats(dev->node_addresses()[0]).opened, 2);
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
  for (int i = 0; i < 2; ++i) {
    EXPECT_LE(transport_->GetConnectionStats(NodeAddress(i)).opened, 4) << NodeAddress(i);
  }
}

TEST_F(CurlTransportTest, LargeBulkBodiesGoOutGzippedAndAreStored) {
  const std::string index = ScratchIndex("gzip-bulk");
  const std::string body = BulkBody(index, 3000);
  ASSERT_GE(body.size(), size_t{64 * 1024});
  DevCluster* const dev = cluster_->dev();
  if (dev != nullptr) {
    ASSERT_THAT(dev->ResetAll(), IsOk());  // zeroes the byte counters
  }

  HttpRequest bulk;
  bulk.method = HttpMethod::kPost;
  bulk.path = "/_bulk?refresh=true";
  bulk.body = body;
  bulk.content_type = "application/x-ndjson";
  const HttpResponse response = SendAndWait(0, bulk);
  ASSERT_EQ(response.error, TransportError::kNone) << response.error_message;
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_THAT(response.body, HasSubstr(R"("errors":false)"));

  if (dev != nullptr) {  // a real cluster does not tell us the bytes it read
    const int64_t bytes_in = Stat(dev, "bytes_in");
    EXPECT_LT(bytes_in, static_cast<int64_t>(body.size()) / 2)
        << "raw body " << body.size() << " bytes";
  }

  const HttpResponse count = SendAndWait(1, Get(absl::StrCat("/", index, "/_count")));
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_THAT(count.body, HasSubstr(R"("count":3000)"));
  HttpRequest drop = Get(absl::StrCat("/", index));
  drop.method = HttpMethod::kDelete;
  EXPECT_EQ(SendAndWait(0, drop).status, 200);
}

TEST_F(CurlTransportTest, BodiesGoOutRawWhenGzipIsOffOrTheBodyIsSmall) {
  REQUIRE_DEV_CLUSTER();
  auto raw_transport = CurlTransport::Create({.gzip_min_bytes = 0});
  ASSERT_THAT(raw_transport, IsOk());
  const std::string body = BulkBody("raw_bulk", 3000);
  ASSERT_THAT(dev->ResetAll(), IsOk());
  HttpRequest bulk;
  bulk.method = HttpMethod::kPost;
  bulk.path = "/_bulk";
  bulk.body = body;
  bulk.content_type = "application/x-ndjson";
  EXPECT_EQ(testing::SendAndWait(**raw_transport, Node(0), bulk).status, 200);
  EXPECT_GE(Stat(dev, "bytes_in"), static_cast<int64_t>(body.size()));

  // Below the default 64 KiB threshold the body is not compressed either.
  ASSERT_THAT(dev->ResetAll(), IsOk());
  bulk.body = BulkBody("raw_bulk", 100);
  ASSERT_LT(bulk.body.size(), size_t{64 * 1024});
  EXPECT_EQ(SendAndWait(0, bulk).status, 200);
  EXPECT_GE(Stat(dev, "bytes_in"), static_cast<int64_t>(bulk.body.size()));
}

TEST_F(CurlTransportTest, GzipResponsesAreDecoded) {
  DevCluster* const dev = cluster_->dev();
  if (dev != nullptr) {
    ASSERT_THAT(dev->ResetAll(), IsOk());
  }
  HttpRequest search;
  search.method = HttpMethod::kPost;
  search.path = "/products/_search";
  search.body = R"({"query":{"match_all":{}},"size":100})";
  search.content_type = "application/json";
  const HttpResponse response = SendAndWait(0, search);
  ASSERT_EQ(response.error, TransportError::kNone) << response.error_message;
  ASSERT_EQ(response.status, 200);
  ASSERT_FALSE(response.body.empty());
  EXPECT_EQ(response.body.front(), '{');
  EXPECT_THAT(response.body, HasSubstr(R"("hits")"));
  EXPECT_GE(response.body.capacity(), response.body.size() + kBodyPadding);
  // The node sent fewer bytes than the body we read: it was compressed on the wire.
  if (dev == nullptr) return;  // a real cluster does not tell us the bytes it sent
  EXPECT_LT(Stat(dev, "bytes_out"), static_cast<int64_t>(response.body.size()));
}

TEST_F(CurlTransportTest, CurlResendsARequestWhoseReusedConnectionDiesBeforeAnyResponseByte) {
  REQUIRE_DEV_CLUSTER();
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);  // each loop thread now holds a connection
  ASSERT_THAT(dev->ResetNext(0), IsOk());
  const HttpResponse response = SendAndWait(0, Get("/"));
  // The node read the request and reset the connection; curl sent it again on a fresh
  // connection by itself, so the caller sees a success and never a kStaleConnection.
  EXPECT_EQ(response.error, TransportError::kNone) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.connection_reused);
  EXPECT_EQ(transport_->GetConnectionStats(dev->node_addresses()[0]).resent_by_curl, 1);
}

TEST_F(CurlTransportTest, AReusedConnectionThatDiesAfterTheRequestIsNeverANothingSentFailure) {
  // The node reads a _bulk on a reused connection and dies before answering: curl resends on a
  // fresh connection by itself, which is refused. The node had the whole request and might have
  // applied it, so this is not a connect failure ("nothing was sent"). The node is held (hung)
  // rather than given a large body to chew on, so the death lands after the read on any build.
  REQUIRE_DEV_CLUSTER();
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);
  ASSERT_EQ(SendAndWait(0, Get("/")).status, 200);  // each loop thread now holds a connection
  const int64_t before = Stat(dev, "requests.bulk");
  ASSERT_THAT(dev->Hang(0), IsOk());
  HttpRequest bulk;
  bulk.method = HttpMethod::kPost;
  bulk.path = "/_bulk";
  bulk.body = BulkBody(ScratchIndex("dies-applying"), 200);
  bulk.content_type = "application/x-ndjson";
  bulk.timeout = absl::Seconds(20);
  AwaitedResponse awaited;
  transport_->Send(Node(0), std::move(bulk), awaited.Callback());
  ASSERT_TRUE(WaitFor([&] { return Stat(dev, "requests.bulk") > before; }, absl::Seconds(10),
                      "the node takes the request"));
  ASSERT_THAT(dev->Kill(0), IsOk());
  const HttpResponse response = awaited.Wait(absl::Seconds(30));
  EXPECT_NE(response.error, TransportError::kConnectFailed) << response.error_message;
  EXPECT_NE(response.error, TransportError::kNone);
}

TEST_F(CurlTransportTest, ErrorMessagesNeverCarryTheCredentials) {
  REQUIRE_DEV_CLUSTER();
  const EsCredentials credentials{.username = "elastic", .password = "s3cret-pa55"};
  auto transport = CurlTransport::Create({.authorization = credentials.AuthorizationHeader()});
  ASSERT_THAT(transport, IsOk());
  auto send = [&](int node, absl::Duration timeout) {
    return testing::SendAndWait(**transport, Node(node), Get("/", timeout));
  };
  ASSERT_THAT(dev->Kill(1), IsOk());
  ASSERT_THAT(dev->Hang(0), IsOk());
  const std::string encoded = absl::Base64Escape("elastic:s3cret-pa55");
  for (const HttpResponse& response :
       {send(1, absl::Seconds(5)), send(0, absl::Milliseconds(300))}) {
    EXPECT_NE(response.error, TransportError::kNone);
    EXPECT_FALSE(response.error_message.empty());
    EXPECT_THAT(response.error_message, Not(HasSubstr("s3cret")));
    EXPECT_THAT(response.error_message, Not(HasSubstr(encoded)));
    EXPECT_THAT(response.error_message, Not(HasSubstr("Authorization")));
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

TEST(CurlTransportCreateTest, RejectsBadAuthorizationAndGzipOptions) {
  auto with_newline = CurlTransport::Create({.authorization = "Basic abc\r\nX-Evil: 1"});
  EXPECT_THAT(with_newline, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(with_newline.status().message(), Not(HasSubstr("abc")));
  EXPECT_THAT(CurlTransport::Create({.gzip_min_bytes = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gzip_min_bytes")));
}

// The dev cluster closing idle keep-alive connections after 300 ms and every connection after
// 20 responses, against sequential and concurrent traffic with idle pauses past that timeout.
TEST(CurlTransportKeepAliveTest, ServerClosedConnectionsNeverFailAnExchange) {
  auto cluster = DevCluster::Start(
      {.nodes = 1,
       .extra_flags = {"--keepalive_timeout=300ms", "--max_requests_per_connection=20"}});
  ASSERT_THAT(cluster, IsOk());
  auto transport = CurlTransport::Create({.threads = 2, .max_connections_per_node = 16});
  ASSERT_THAT(transport, IsOk());
  auto node = ParseEndpoint((*cluster)->NodeUrl(0));
  ASSERT_THAT(node, IsOk());

  absl::Mutex mu;
  int in_flight = 0;
  int completed = 0;
  int stale = 0;
  std::map<std::string, int> failures;  // "error: message" -> count
  auto send = [&]() {
    {
      absl::MutexLock lock(&mu);
      ++in_flight;
    }
    HttpRequest request;
    request.path = "/";
    request.timeout = absl::Seconds(10);
    (*transport)->Send(*node, std::move(request), [&](HttpResponse response) {
      absl::MutexLock lock(&mu);
      --in_flight;
      ++completed;
      if (response.error == TransportError::kStaleConnection) {
        ++stale;  // the pool retries these on a fresh connection
      } else if (response.error != TransportError::kNone || response.status != 200) {
        ++failures[absl::StrCat(TransportErrorName(response.error), " ", response.status, ": ",
                                response.error_message)];
      }
    });
  };
  // Waits (bounded) until at most `limit` exchanges are in flight.
  auto wait_below = [&](int limit) {
    absl::MutexLock lock(&mu);
    auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return in_flight <= limit; };
    return mu.AwaitWithTimeout(absl::Condition(&room), absl::Seconds(20));
  };

  constexpr int kRounds = 10;
  constexpr int kPerPhase = 100;
  int sent = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kPerPhase; ++i, ++sent) {  // sequential
      send();
      ASSERT_TRUE(wait_below(0)) << "round " << round;
    }
    for (int i = 0; i < kPerPhase; ++i, ++sent) {  // 16 in flight
      ASSERT_TRUE(wait_below(15)) << "round " << round;
      send();
    }
    ASSERT_TRUE(wait_below(0));
    // Idle until the node has closed every keep-alive connection (300 ms and a poll later).
    ASSERT_TRUE(WaitFor(
        [&] {
          const absl::StatusOr<int64_t> open = (*cluster)->NodeStat("open_sockets");
          return open.ok() && *open == 0;
        },
        absl::Seconds(5), "the node closes its idle connections"));
  }

  absl::MutexLock lock(&mu);
  EXPECT_EQ(completed, sent);
  EXPECT_TRUE(failures.empty()) << [&] {
    std::string all;
    for (const auto& [what, n] : failures) absl::StrAppend(&all, n, " x ", what, "\n");
    return all;
  }();
  const CurlTransport::ConnectionStats connections =
      (*transport)->GetConnectionStats((*cluster)->node_addresses()[0]);
  // 20 requests per connection at most, so at least sent / 20 connections.
  EXPECT_GE(connections.opened, sent / 20);
  const std::string figures = absl::StrCat(
      "requests=", sent, " stale=", stale, " resent_by_curl=", connections.resent_by_curl,
      " connections_opened=", connections.opened, " requests_per_connection=",
      static_cast<double>(sent) / static_cast<double>(std::max<int64_t>(1, connections.opened)));
  ::testing::Test::RecordProperty("keepalive_figures", figures);
  std::printf("keep-alive figures: %s\n", figures.c_str());
}

// Writes `content` to a new file in a fresh temporary directory; removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/esgw-cred-XXXXXX");
    if (mkdtemp(dir.data()) != nullptr) dir_ = dir;
    path_ = absl::StrCat(dir_, "/secret");
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(EsCredentialsTest, NothingConfiguredMeansNoCredentials) {
  absl::StatusOr<EsCredentials> credentials = LoadEsCredentials("", "", "");
  ASSERT_THAT(credentials, IsOk());
  EXPECT_TRUE(credentials->empty());
  EXPECT_EQ(credentials->AuthorizationHeader(), "");
  EXPECT_EQ(credentials->RedactedDescription(), "none");
}

TEST(EsCredentialsTest, BasicAuthFromAFileStripsOneTrailingNewline) {
  TempFile password("pa:ss word\n\n");
  absl::StatusOr<EsCredentials> credentials = LoadEsCredentials("elastic", password.path(), "");
  ASSERT_THAT(credentials, IsOk());
  EXPECT_EQ(credentials->password, "pa:ss word\n");
  EXPECT_EQ(credentials->AuthorizationHeader(),
            absl::StrCat("Basic ", absl::Base64Escape("elastic:pa:ss word\n")));
  EXPECT_EQ(credentials->RedactedDescription(), "basic auth as user 'elastic'");
}

TEST(EsCredentialsTest, ApiKeyFromAFileOrTheEnvironment) {
  TempFile key("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==\r\n");
  absl::StatusOr<EsCredentials> from_file = LoadEsCredentials("", "", key.path());
  ASSERT_THAT(from_file, IsOk());
  EXPECT_EQ(from_file->AuthorizationHeader(),
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
  EXPECT_EQ(from_file->RedactedDescription(), "API key");
  // The raw "id:api_key" pair is encoded the way Elasticsearch expects.
  absl::StatusOr<EsCredentials> raw = LoadEsCredentials("", "", "", {.api_key = "id1:key1"});
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->AuthorizationHeader(), absl::StrCat("ApiKey ", absl::Base64Escape("id1:key1")));
  absl::StatusOr<EsCredentials> from_env =
      LoadEsCredentials("elastic", "", "", {.password = "from-env"});
  ASSERT_THAT(from_env, IsOk());
  EXPECT_EQ(from_env->password, "from-env");
}

TEST(EsCredentialsTest, BadConfigurationsNameTheFlagButNeverTheSecret) {
  TempFile password("hunter2-secret\n");
  TempFile key("c2VjcmV0LWtleQ==");
  TempFile empty("\n");
  const struct {
    absl::StatusOr<EsCredentials> result;
    std::string names;
  } cases[] = {
      {LoadEsCredentials("elastic", "/nonexistent/password", ""), "--es_password_file"},
      {LoadEsCredentials("elastic", empty.path(), ""), "--es_password_file"},
      {LoadEsCredentials("", "", empty.path()), "--es_api_key_file"},
      {LoadEsCredentials("", password.path(), ""), "--es_username"},
      {LoadEsCredentials("elastic", "", ""), "--es_username"},
      {LoadEsCredentials("elastic", password.path(), key.path()), "not both"},
      {LoadEsCredentials("elastic", password.path(), "", {.password = "hunter2-secret"}),
       "ESGW_ES_PASSWORD"},
      {LoadEsCredentials("el:astic", password.path(), ""), "--es_username"},
      {LoadEsCredentials("", "", "", {.api_key = "hunter2 secret"}), "ESGW_ES_API_KEY"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(c.result, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.names)));
    EXPECT_THAT(c.result.status().message(), Not(HasSubstr("hunter2")));
    EXPECT_THAT(c.result.status().message(), Not(HasSubstr("c2VjcmV0")));
  }
}

#ifdef ESGW_HAVE_HTTPLIB
// A plain HTTP/1.1 server on 127.0.0.1:<free port> that answers every request with 200 and
// remembers the method, headers and body of the last one.
class RecordingPeer {
 public:
  RecordingPeer() {
    auto record = [this](const httplib::Request& request, httplib::Response& response) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_method_ = request.method;
        last_headers_ = request.headers;
        last_body_ = request.body;
        ++requests_;
      }
      response.set_content("{}", "application/json");
    };
    server_.Get(".*", record);  // and HEAD
    server_.Post(".*", record);
    server_.Put(".*", record);
    server_.Delete(".*", record);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    running_ = WaitFor([this] { return server_.is_running(); }, absl::Seconds(5), "HTTP peer");
  }
  ~RecordingPeer() {
    if (running_) server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool ok() const { return running_; }
  Endpoint endpoint() const { return Endpoint{.host = "127.0.0.1", .port = port_}; }
  // Values of header `name` (case-insensitive) in the last request.
  std::vector<std::string> Header(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> values;
    auto [begin, end] = last_headers_.equal_range(name);
    for (auto it = begin; it != end; ++it) values.push_back(it->second);
    return values;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string method() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_method_;
  }
  std::string body() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_body_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  bool running_ = false;
  std::mutex mu_;
  std::string last_method_;
  httplib::Headers last_headers_;
  std::string last_body_;
  int requests_ = 0;
  std::thread thread_;
};

HttpRequest GetRoot() {
  HttpRequest request;
  request.path = "/";
  return request;
}

HttpResponse SendTo(CurlTransport& transport, const Endpoint& node, HttpRequest request) {
  request.timeout = absl::Seconds(5);
  return testing::SendAndWait(transport, node, std::move(request));
}

TEST(CurlTransportAuthTest, EveryRequestCarriesTheConfiguredCredentials) {
  RecordingPeer peer;
  ASSERT_TRUE(peer.ok());
  const EsCredentials basic{.username = "elastic", .password = "changeme"};
  auto transport = CurlTransport::Create({.authorization = basic.AuthorizationHeader()});
  ASSERT_THAT(transport, IsOk());
  for (HttpMethod method : {HttpMethod::kGet, HttpMethod::kPost}) {
    HttpRequest request;
    request.method = method;
    request.path = "/_search";
    // A caller's own Authorization never replaces or joins the configured one.
    request.headers = {{"Authorization", "Bearer caller-token"}};
    const HttpResponse response = SendTo(**transport, peer.endpoint(), request);
    ASSERT_EQ(response.status, 200) << response.error_message;
    EXPECT_THAT(
        peer.Header("Authorization"),
        ::testing::ElementsAre(absl::StrCat("Basic ", absl::Base64Escape("elastic:changeme"))));
  }

  const EsCredentials api_key{.api_key = "a2V5OnNlY3JldA=="};
  auto key_transport = CurlTransport::Create({.authorization = api_key.AuthorizationHeader()});
  ASSERT_THAT(key_transport, IsOk());
  ASSERT_EQ(SendTo(**key_transport, peer.endpoint(), GetRoot()).status, 200);
  EXPECT_THAT(peer.Header("Authorization"), ::testing::ElementsAre("ApiKey a2V5OnNlY3JldA=="));

  // Without credentials, a caller may still send its own.
  auto plain = CurlTransport::Create({});
  ASSERT_THAT(plain, IsOk());
  HttpRequest own = GetRoot();
  own.headers = {{"Authorization", "Bearer caller-token"}};
  ASSERT_EQ(SendTo(**plain, peer.endpoint(), own).status, 200);
  EXPECT_THAT(peer.Header("Authorization"), ::testing::ElementsAre("Bearer caller-token"));
}

// One loop and one exchange at a time: every exchange runs on the same reused curl handle,
// which keeps its options from one exchange to the next. None of an exchange's method, body or
// headers may leak into the next one.
TEST(CurlTransportHandleReuseTest, NoMethodBodyOrHeaderCarriesOverToTheNextExchange) {
  RecordingPeer peer;
  ASSERT_TRUE(peer.ok());
  auto transport = CurlTransport::Create({.threads = 1});
  ASSERT_THAT(transport, IsOk());
  struct Step {
    HttpMethod method;
    std::string body;
    std::string sent_as;
  };
  const std::vector<Step> steps = {
      {HttpMethod::kPost, R"({"query":{"match_all":{}}})", "POST"},
      {HttpMethod::kHead, "", "HEAD"},
      {HttpMethod::kDelete, "", "DELETE"},
      {HttpMethod::kGet, "", "GET"},
      {HttpMethod::kPut, R"({"settings":{}})", "PUT"},
      {HttpMethod::kHead, "", "HEAD"},
      {HttpMethod::kPost, "", "POST"},
      {HttpMethod::kDelete, R"({"id":"x"})", "DELETE"},
      {HttpMethod::kGet, "", "GET"},
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    HttpRequest request = GetRoot();
    request.method = step.method;
    request.body = step.body;
    if (!step.body.empty()) request.content_type = "application/json";
    // Only the first exchange carries this header.
    if (i == 0) request.headers = {{"X-Opaque-Id", "first-only"}};
    const HttpResponse response = SendTo(**transport, peer.endpoint(), request);
    ASSERT_EQ(response.error, TransportError::kNone) << i << ": " << response.error_message;
    ASSERT_EQ(response.status, 200) << i;
    EXPECT_EQ(peer.requests(), static_cast<int>(i + 1));
    EXPECT_EQ(peer.method(), step.sent_as) << i;
    EXPECT_EQ(peer.body(), step.body) << i;
    EXPECT_EQ(response.body, step.method == HttpMethod::kHead ? "" : "{}") << i;
    EXPECT_EQ(peer.Header("X-Opaque-Id").size(), i == 0 ? 1u : 0u) << i;
    EXPECT_EQ(peer.Header("Content-Type").size(), step.body.empty() ? 0u : 1u) << i;
  }
}

TEST(CurlTransportHeaderTest, HeadersThatCouldInjectLinesAreLeftOut) {
  RecordingPeer peer;
  ASSERT_TRUE(peer.ok());
  auto transport = CurlTransport::Create({});
  ASSERT_THAT(transport, IsOk());
  HttpRequest request = GetRoot();
  request.headers = {
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"X-Opaque-Id", "job 42\tretry"},
      {"X-Injected", "a\r\nX-Evil: 1"},
      {"X-Lf", "a\nX-Evil2: 1"},
      {"Bad Name", "x"},
      {"X-Empty", ""},  // sent as "X-Empty:", which httplib does not record
      {"Content-Length", "5"},
  };
  const HttpResponse response = SendTo(**transport, peer.endpoint(), request);
  ASSERT_EQ(response.error, TransportError::kNone) << response.error_message;
  ASSERT_EQ(response.status, 200);
  EXPECT_THAT(peer.Header("traceparent"),
              ::testing::ElementsAre("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_THAT(peer.Header("X-Opaque-Id"), ::testing::ElementsAre("job 42\tretry"));
  EXPECT_THAT(peer.Header("X-Injected"), ::testing::IsEmpty());
  EXPECT_THAT(peer.Header("X-Evil"), ::testing::IsEmpty());
  EXPECT_THAT(peer.Header("X-Evil2"), ::testing::IsEmpty());
  EXPECT_THAT(peer.Header("Content-Length"), ::testing::IsEmpty());  // a GET has no body
  EXPECT_EQ(peer.requests(), 1);
}
#endif  // ESGW_HAVE_HTTPLIB

}  // namespace
}  // namespace esgw
