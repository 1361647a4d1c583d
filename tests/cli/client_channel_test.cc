// esgw::client::Client against in-process gRPC servers on loopback ports: gRPC retries the
// idempotent RPCs on UNAVAILABLE (and never Bulk), the bearer token arrives as metadata with and
// without TLS, deadlines and cancellation end calls, and TLS checks the server's name (and
// presents a client certificate when the server asks for one).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/cancel_token.h"
#include "client/esgw_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace esgw::client {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What the fake services saw.
struct Seen {
  absl::Mutex mu;
  std::vector<std::string> authorization ABSL_GUARDED_BY(mu);  // per call, "" when absent
  std::atomic<int> searches{0};
  std::atomic<int> bulks{0};
  std::atomic<int> search_failures_left{0};

  void Record(const grpc::ServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    absl::MutexLock lock(&mu);
    authorization.push_back(
        it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size()));
  }
  std::vector<std::string> Authorization() {
    absl::MutexLock lock(&mu);
    return authorization;
  }
};

class FakeGateway final : public v1::Gateway::Service {
 public:
  explicit FakeGateway(Seen* seen) : seen_(seen) {}
  grpc::Status Search(grpc::ServerContext* context, const v1::SearchRequest* request,
                      v1::SearchResponse* response) override {
    seen_->Record(context);
    ++seen_->searches;
    if (seen_->search_failures_left.fetch_sub(1) > 0) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no node is reachable");
    }
    if (request->body_json() == "hang") {
      // Until the client gives up: its deadline or cancellation.
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      return grpc::Status::CANCELLED;
    }
    response->set_took_ms(7);
    return grpc::Status::OK;
  }
  grpc::Status Bulk(grpc::ServerContext* context, const v1::BulkRequest*,
                    v1::BulkResponse*) override {
    seen_->Record(context);
    ++seen_->bulks;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no node is reachable");
  }

 private:
  Seen* seen_;
};

class FakeAdmin final : public v1::Admin::Service {
 public:
  explicit FakeAdmin(Seen* seen) : seen_(seen) {}
  grpc::Status GetHealth(grpc::ServerContext* context, const v1::GetHealthRequest*,
                         v1::HealthReport* report) override {
    seen_->Record(context);
    report->set_status(v1::GATEWAY_STATUS_SERVING);
    report->set_version("fake");
    return grpc::Status::OK;
  }
  grpc::Status WatchPoolStats(grpc::ServerContext* context, const v1::WatchPoolStatsRequest*,
                              grpc::ServerWriter<v1::PoolStats>* writer) override {
    seen_->Record(context);
    for (int64_t n = 1; !context->IsCancelled(); ++n) {
      v1::PoolStats stats;
      stats.set_retries_total(n);
      if (!writer->Write(stats)) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return grpc::Status::OK;
  }

 private:
  Seen* seen_;
};

class Server {
 public:
  explicit Server(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials())
      : gateway_(&seen), admin_(&seen) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(&gateway_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
  }
  ~Server() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  bool ok() const { return server_ != nullptr && port_ > 0; }

  Seen seen;

 private:
  FakeGateway gateway_;
  FakeAdmin admin_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::unique_ptr<Client> Connect(const Server& server, ClientOptions options = {}) {
  options.address = server.address();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(ClientChannelTest, GrpcRetriesSearchOnUnavailable) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server);
  server.seen.search_failures_left = 2;
  absl::StatusOr<v1::SearchResponse> response = client->Search(v1::SearchRequest());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->took_ms(), 7);
  EXPECT_EQ(server.seen.searches.load(), 3) << "two failures, then the third attempt";
}

TEST(ClientChannelTest, RetriesStopAtTheAttemptLimit) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server);
  server.seen.search_failures_left = 100;
  EXPECT_THAT(client->Search(v1::SearchRequest()),
              StatusIs(absl::StatusCode::kUnavailable, "no node is reachable"));
  EXPECT_EQ(server.seen.searches.load(), 4) << "RetryPolicy::max_attempts";
}

TEST(ClientChannelTest, BulkIsNeverRetried) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server);
  EXPECT_THAT(client->Bulk(v1::BulkRequest()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(server.seen.bulks.load(), 1);
}

TEST(ClientChannelTest, TokenIsSentAsBearerMetadataOnEveryCall) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server, {.token = "s3cr3t-token"});
  ASSERT_THAT(client->GetHealth(), IsOk());
  ASSERT_THAT(client->Search(v1::SearchRequest()), IsOk());
  ASSERT_THAT(client->WatchPoolStats(absl::Seconds(1), [](const v1::PoolStats&) { return false; }),
              IsOk());
  EXPECT_THAT(server.seen.Authorization(),
              ElementsAre("Bearer s3cr3t-token", "Bearer s3cr3t-token", "Bearer s3cr3t-token"));

  Server plain;
  ASSERT_TRUE(plain.ok());
  auto anonymous = Connect(plain);
  ASSERT_THAT(anonymous->GetHealth(), IsOk());
  EXPECT_THAT(plain.seen.Authorization(), ElementsAre(""));
}

TEST(ClientChannelTest, DeadlineAndCancellationEndCalls) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server, {.deadline = absl::Milliseconds(200)});
  v1::SearchRequest hang;
  hang.set_body_json("hang");
  EXPECT_THAT(client->Search(hang), StatusIs(absl::StatusCode::kDeadlineExceeded));

  CancelToken cancel;
  std::thread canceller([&] {
    // Cancels once the call is registered, whenever that is.
    while (server.seen.searches.load() < 2) absl::SleepFor(absl::Milliseconds(5));
    cancel.Cancel();
  });
  EXPECT_THAT(client->Search(hang, {.deadline = absl::Seconds(30), .cancel = &cancel}),
              StatusIs(absl::StatusCode::kCancelled));
  canceller.join();
  EXPECT_THAT(client->Search(v1::SearchRequest(), {.cancel = &cancel}),
              StatusIs(absl::StatusCode::kCancelled))
      << "a cancelled token cancels later calls at once";
}

TEST(ClientChannelTest, WatchEndsWhenTheCallbackSaysSoOrWhenCancelled) {
  Server server;
  ASSERT_TRUE(server.ok());
  auto client = Connect(server);
  std::vector<int64_t> seen;
  EXPECT_THAT(client->WatchPoolStats(absl::Milliseconds(100),
                                     [&](const v1::PoolStats& stats) {
                                       seen.push_back(stats.retries_total());
                                       return seen.size() < 3;
                                     }),
              IsOk());
  EXPECT_THAT(seen, ElementsAre(1, 2, 3));

  CancelToken cancel;
  int updates = 0;
  EXPECT_THAT(client->WatchPoolStats(absl::Milliseconds(100),
                                     [&](const v1::PoolStats&) {
                                       if (++updates == 2) cancel.Cancel();
                                       return true;
                                     },
                                     {.cancel = &cancel}),
              StatusIs(absl::StatusCode::kCancelled));
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("esgw-client-tls");
    ASSERT_THAT(dir, IsOk());
    dir_ = new std::string(*dir);
    absl::StatusOr<testing::TestCertificates> certs =
        testing::TestCertificates::Create(*dir_, "esgw client test ca");
    ASSERT_THAT(certs, IsOk());
    certs_ = new testing::TestCertificates(*std::move(certs));
    ASSERT_THAT(certs_->AddLeaf("server", {.dns_names = {"esgw.test"}}), IsOk());
    ASSERT_THAT(certs_->AddLeaf("client", {.dns_names = {"client.test"},
                                           .usage = testing::CertificateUsage::kClient}),
                IsOk());
    // A readable file that is not PEM.
    std::ofstream(Path("not-pem.txt")) << "subjectAltName=DNS:client.test\n";
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) {
      [[maybe_unused]] int ignored = std::system(("rm -rf '" + *dir_ + "'").c_str());
    }
    delete dir_;
    delete certs_;
    dir_ = nullptr;
    certs_ = nullptr;
  }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string Cert(const std::string& name) { return certs_->CertPath(name); }
  static std::string Key(const std::string& name) { return certs_->KeyPath(name); }

  static std::shared_ptr<grpc::ServerCredentials> ServerCredentials(bool require_client_cert) {
    grpc::SslServerCredentialsOptions options(
        require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = Slurp(Cert("ca"));
    options.pem_key_cert_pairs.push_back({Slurp(Key("server")), Slurp(Cert("server"))});
    return grpc::SslServerCredentials(options);
  }

  static std::string* dir_;
  static testing::TestCertificates* certs_;
};

std::string* ClientTlsTest::dir_ = nullptr;
testing::TestCertificates* ClientTlsTest::certs_ = nullptr;

TEST_F(ClientTlsTest, ChecksTheServerAgainstTheCaAndTheNameItWasGiven) {
  Server server(ServerCredentials(false));
  ASSERT_TRUE(server.ok());
  auto client =
      Connect(server, {.token = "t0ken", .ca_file = Cert("ca"), .server_name = "esgw.test"});
  ASSERT_THAT(client->GetHealth(), IsOk());
  EXPECT_THAT(server.seen.Authorization(), ElementsAre("Bearer t0ken"))
      << "the same metadata over TLS";

  // 127.0.0.1 is not a name the certificate carries.
  auto unnamed = Connect(server, {.deadline = absl::Seconds(5), .ca_file = Cert("ca")});
  EXPECT_THAT(unnamed->GetHealth(), StatusIs(absl::StatusCode::kUnavailable));
  // The system roots do not know our CA.
  auto untrusted =
      Connect(server, {.deadline = absl::Seconds(5), .tls = true, .server_name = "esgw.test"});
  EXPECT_THAT(untrusted->GetHealth(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(ClientTlsTest, PresentsTheClientCertificateWhenTheServerRequiresOne) {
  Server server(ServerCredentials(true));
  ASSERT_TRUE(server.ok());
  auto without = Connect(
      server, {.deadline = absl::Seconds(5), .ca_file = Cert("ca"), .server_name = "esgw.test"});
  EXPECT_THAT(without->GetHealth(), StatusIs(absl::StatusCode::kUnavailable));
  auto with = Connect(server, {.ca_file = Cert("ca"),
                               .cert_file = Cert("client"),
                               .key_file = Key("client"),
                               .server_name = "esgw.test"});
  EXPECT_THAT(with->GetHealth(), IsOk());
}

TEST_F(ClientTlsTest, UnreadableOrNonPemFilesAreNamed) {
  EXPECT_THAT(Client::Create({.address = "127.0.0.1:1", .ca_file = Path("missing.pem")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ca_file: cannot read")));
  EXPECT_THAT(Client::Create({.address = "127.0.0.1:1",
                              .ca_file = Cert("ca"),
                              .cert_file = Path("not-pem.txt"),
                              .key_file = Key("client")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cert_file: ")));
}

}  // namespace
}  // namespace esgw::client
