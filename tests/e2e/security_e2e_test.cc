// End to end: esgw-server with TLS, mutual TLS and an auth file, in front of the dev cluster
// (sample data: products, logs), over real sockets with the generated C++ stubs and with
// esgw-cli. Certificates are made at test time with the openssl CLI. Covers the handshakes,
// missing, malformed and unknown tokens, permissions per RPC, index patterns in Search, Count,
// Get and MultiSearch targets and in the indices a query body reads, a denied op inside a Bulk
// and an Ingest stream, the per-principal and request-size limits, the audit log, and that no
// token or Elasticsearch password shows in logs, metrics, errors or --print_config.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kReaderToken[] = "reader-token-7f3a9c";
constexpr char kWriterToken[] = "writer-token-b81e44";
constexpr char kAdminToken[] = "admin-token-0c5d2e";
constexpr char kLimitedToken[] = "limited-token-93aa10";
constexpr char kEsPassword[] = "es-pa55word-d41d8c";
constexpr char kClientSubject[] = "CN=ops,O=esgw test";

// What an operator writes into the auth file: printf %s "$TOKEN" | sha256sum.
std::string Sha256Hex(absl::string_view token) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

std::string WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class SecurityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::TestCluster::Start({.nodes = 2, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    auto dir = testing::MakeTempDir("esgw-security");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = new std::string(*dir);
    auto certs = testing::TestCertificates::Create(*dir_ + "/certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    ASSERT_TRUE(
        certs->AddLeaf("server", {.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}}).ok());
    ASSERT_TRUE(certs
                    ->AddLeaf("ops", {.common_name = "ops",
                                      .organization = "esgw test",
                                      .usage = testing::CertificateUsage::kClient})
                    .ok());
    ASSERT_TRUE(certs
                    ->AddLeaf("stranger", {.common_name = "stranger",
                                           .usage = testing::CertificateUsage::kClient})
                    .ok());
    ASSERT_TRUE(certs->AddCa("other").ok());
    ASSERT_TRUE(certs
                    ->AddLeaf("forged", {.issuer = "other",
                                         .common_name = "ops",
                                         .organization = "esgw test",
                                         .usage = testing::CertificateUsage::kClient})
                    .ok());
    certs_ = new testing::TestCertificates(*std::move(certs));

    const std::string auth_file =
        WriteFile(*dir_ + "/auth.yaml", absl::StrCat("principals:\n"
                                                     "  - name: reader\n"
                                                     "    token_sha256: ",
                                                     Sha256Hex(kReaderToken),
                                                     "\n"
                                                     "    permissions: [read]\n"
                                                     "    indices: [products, \"prod-*\"]\n"
                                                     "  - name: writer\n"
                                                     "    token_sha256: ",
                                                     Sha256Hex(kWriterToken),
                                                     "\n"
                                                     "    permissions: [read, write]\n"
                                                     "    indices: [\"sec-*\"]\n"
                                                     "    max_ingest_streams: 1\n"
                                                     "  - name: admin\n"
                                                     "    token_sha256: ",
                                                     Sha256Hex(kAdminToken),
                                                     "\n"
                                                     "    permissions: [admin]\n"
                                                     "  - name: limited\n"
                                                     "    token_sha256: ",
                                                     Sha256Hex(kLimitedToken),
                                                     "\n"
                                                     "    permissions: [read, write, admin]\n"
                                                     "    indices: [\"sec-*\"]\n"
                                                     "    max_concurrent_rpcs: 1\n"
                                                     "  - name: ops\n"
                                                     "    client_cert_subject: \"",
                                                     kClientSubject,
                                                     "\"\n"
                                                     "    permissions: [read, admin]\n"
                                                     "    indices: [\"*\"]\n"));
    const std::string password = WriteFile(*dir_ + "/es-password", kEsPassword);
    common_flags_ = new std::vector<std::string>{
        "--tls_cert=" + certs_->CertPath("server"), "--tls_key=" + certs_->KeyPath("server"),
        "--auth_file=" + auth_file, "--es_username=esgw", "--es_password_file=" + password};

    std::vector<std::string> tls_flags = *common_flags_;
    tls_flags.push_back("--metrics_listen=127.0.0.1:0");
    tls_flags.push_back("--max_read_request_bytes=65536");
    tls_flags.push_back("--max_bulk_request_bytes=262144");
    auto tls = testing::EsgwProcess::Start(cluster_->SeedsFlag(), tls_flags);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_server_ = tls->release();

    std::vector<std::string> mtls_flags = *common_flags_;
    mtls_flags.push_back("--tls_client_ca=" + certs_->CertPath("ca"));
    auto mtls = testing::EsgwProcess::Start(cluster_->SeedsFlag(), mtls_flags);
    ASSERT_TRUE(mtls.ok()) << mtls.status();
    mtls_server_ = mtls->release();
  }

  static void TearDownTestSuite() {
    delete tls_server_;
    delete mtls_server_;
    if (cluster_ != nullptr) (void)cluster_->Request("DELETE", "/sec-*");
    delete cluster_;
    delete certs_;
    delete common_flags_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
    tls_server_ = mtls_server_ = nullptr;
    cluster_ = nullptr;
    certs_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(tls_server_, nullptr);
    ASSERT_NE(mtls_server_, nullptr);
  }

  // A fresh channel (its own connection) to server over TLS, trusting our CA; with a client
  // certificate when client is not empty.
  static std::shared_ptr<grpc::Channel> TlsChannel(const testing::EsgwProcess& server,
                                                   const std::string& client = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(certs_->CertPath("ca"));
    if (!client.empty()) {
      ssl.pem_private_key = ReadFile(certs_->KeyPath(client));
      ssl.pem_cert_chain = ReadFile(certs_->CertPath(client));
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt("esgw.test.fresh", ++channels_);
    return grpc::CreateCustomChannel(server.address(), grpc::SslCredentials(ssl), args);
  }

  static std::unique_ptr<grpc::ClientContext> Context(absl::string_view token = "") {
    auto context = testing::CallContext();
    if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    return context;
  }

  static grpc::Status Search(const std::shared_ptr<grpc::Channel>& channel, absl::string_view token,
                             std::vector<std::string> indices,
                             const std::string& body = R"({"size":1})") {
    v1::SearchRequest request;
    for (std::string& index : indices) request.add_indices(std::move(index));
    request.set_body_json(body);
    v1::SearchResponse response;
    return v1::Gateway::NewStub(channel)->Search(Context(token).get(), request, &response);
  }

  static grpc::Status PoolStats(const std::shared_ptr<grpc::Channel>& channel,
                                absl::string_view token) {
    v1::PoolStats stats;
    return v1::Admin::NewStub(channel)->GetPoolStats(Context(token).get(), {}, &stats);
  }

  static v1::BulkOp IndexOp(uint64_t seq, const std::string& index, const std::string& id,
                            const std::string& source = R"({"n":1})") {
    v1::BulkOp op;
    op.set_seq(seq);
    op.set_type(v1::OP_TYPE_INDEX);
    op.set_index(index);
    op.set_id(id);
    op.set_source_json(source);
    return op;
  }

  static ::testing::AssertionResult Is(const grpc::Status& status, grpc::StatusCode code,
                                       const std::string& text) {
    if (status.error_code() != code) {
      return ::testing::AssertionFailure() << "expected code " << code << ", got "
                                           << status.error_code() << ": " << status.error_message();
    }
    if (status.error_message().find(text) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "message does not say '" << text << "': " << status.error_message();
    }
    return ::testing::AssertionSuccess();
  }

  static inline testing::TestCluster* cluster_ = nullptr;
  static inline std::string* dir_ = nullptr;
  static inline testing::TestCertificates* certs_ = nullptr;
  static inline std::vector<std::string>* common_flags_ = nullptr;
  static inline testing::EsgwProcess* tls_server_ = nullptr;
  static inline testing::EsgwProcess* mtls_server_ = nullptr;
  static inline int channels_ = 0;
};

TEST_F(SecurityE2eTest, TlsServesTrustingClientsAndRefusesPlaintext) {
  EXPECT_TRUE(Search(TlsChannel(*tls_server_), kReaderToken, {"products"}).ok());
  // A plaintext client cannot talk to a TLS listener.
  const grpc::Status plaintext = Search(tls_server_->channel(), kReaderToken, {"products"});
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  // A client that trusts another CA refuses the server's certificate.
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = ReadFile(certs_->CertPath("other"));
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  const grpc::Status untrusted =
      Search(grpc::CreateCustomChannel(tls_server_->address(), grpc::SslCredentials(other), args),
             kReaderToken, {"products"});
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityE2eTest, MissingMalformedOrUnknownTokensAreUnauthenticated) {
  const auto channel = TlsChannel(*tls_server_);
  EXPECT_TRUE(Is(Search(channel, "", {"products"}), grpc::StatusCode::UNAUTHENTICATED,
                 "authorization: missing"));
  EXPECT_TRUE(Is(Search(channel, "not-a-known-token", {"products"}),
                 grpc::StatusCode::UNAUTHENTICATED, "not known"));
  auto basic = Context();
  basic->AddMetadata("authorization", "Basic dXNlcjpwYXNz");
  v1::SearchResponse response;
  v1::SearchRequest request;
  request.add_indices("products");
  EXPECT_TRUE(Is(v1::Gateway::NewStub(channel)->Search(basic.get(), request, &response),
                 grpc::StatusCode::UNAUTHENTICATED, "must be 'Bearer <token>'"));
  // The scheme is case-insensitive, as HTTP's is.
  auto lower = Context();
  lower->AddMetadata("authorization", absl::StrCat("bearer ", kReaderToken));
  EXPECT_TRUE(v1::Gateway::NewStub(channel)->Search(lower.get(), request, &response).ok());
  EXPECT_TRUE(Is(PoolStats(channel, ""), grpc::StatusCode::UNAUTHENTICATED, "missing"));
  const google::rpc::ErrorInfo info = testing::ErrorInfoOf(Search(channel, "x", {"products"}));
  EXPECT_EQ(info.reason(), "UNKNOWN_TOKEN");
}

TEST_F(SecurityE2eTest, HealthAndReflectionStayOpen) {
  const auto channel = TlsChannel(*tls_server_);
  grpc::health::v1::HealthCheckResponse health;
  grpc::health::v1::HealthCheckRequest check;
  check.set_service("esgw.v1.Gateway");
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(channel)->Check(Context().get(), check, &health);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(SecurityE2eTest, EachRpcNeedsItsPermission) {
  const auto channel = TlsChannel(*tls_server_);
  v1::BulkRequest bulk;
  *bulk.add_ops() = IndexOp(1, "products", "x-1");
  v1::BulkResponse response;
  const grpc::Status read_only =
      v1::Gateway::NewStub(channel)->Bulk(Context(kReaderToken).get(), bulk, &response);
  EXPECT_TRUE(Is(read_only, grpc::StatusCode::PERMISSION_DENIED,
                 "principal 'reader' lacks the write permission that Bulk needs"));
  EXPECT_TRUE(Is(PoolStats(channel, kReaderToken), grpc::StatusCode::PERMISSION_DENIED,
                 "lacks the admin permission that GetPoolStats needs"));
  EXPECT_TRUE(PoolStats(channel, kAdminToken).ok());
  EXPECT_TRUE(Is(Search(channel, kAdminToken, {"products"}), grpc::StatusCode::PERMISSION_DENIED,
                 "lacks the read permission"));
  // Nothing was written.
  auto stored = cluster_->Request("GET", "/products/_doc/x-1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->first, 404);
}

TEST_F(SecurityE2eTest, ReadsOutsideTheIndexPatternsAreDenied) {
  const auto channel = TlsChannel(*tls_server_);
  EXPECT_TRUE(Search(channel, kReaderToken, {"products"}).ok());
  // No such index: whatever Elasticsearch answers, esgw does not deny it.
  EXPECT_NE(Search(channel, kReaderToken, {"prod-*"}).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Is(Search(channel, kReaderToken, {"logs"}), grpc::StatusCode::PERMISSION_DENIED,
                 "indices: 'logs' is outside the index patterns of principal 'reader'"));
  EXPECT_TRUE(Is(Search(channel, kReaderToken, {"products", "logs"}),
                 grpc::StatusCode::PERMISSION_DENIED, "'logs'"));
  EXPECT_TRUE(
      Is(Search(channel, kReaderToken, {"prod*"}), grpc::StatusCode::PERMISSION_DENIED, "'prod*'"))
      << "prod* matches more than products and prod-*";
  EXPECT_TRUE(
      Is(Search(channel, kReaderToken, {}), grpc::StatusCode::PERMISSION_DENIED, "every index"));
  EXPECT_TRUE(
      Is(Search(channel, kReaderToken, {"_all"}), grpc::StatusCode::PERMISSION_DENIED, "'_all'"));
  const google::rpc::ErrorInfo info = testing::ErrorInfoOf(Search(channel, kReaderToken, {"logs"}));
  EXPECT_EQ(info.reason(), "INDEX_NOT_ALLOWED");
  EXPECT_EQ(info.metadata().at("index"), "logs");

  // A query that reads another index's document (a terms lookup) is denied too.
  EXPECT_TRUE(Is(Search(channel, kReaderToken, {"products"},
                        R"({"query":{"bool":{"filter":[{"terms":{"brand":
                            {"index":"logs","id":"log-0001","path":"level"}}}]}}})"),
                 grpc::StatusCode::PERMISSION_DENIED, "'logs'"));

  v1::CountRequest count;
  count.add_indices("logs");
  v1::CountResponse counted;
  EXPECT_TRUE(Is(v1::Gateway::NewStub(channel)->Count(Context(kReaderToken).get(), count, &counted),
                 grpc::StatusCode::PERMISSION_DENIED, "'logs'"));
  v1::GetRequest get;
  get.set_index("logs");
  get.set_id("log-0001");
  v1::GetResponse got;
  EXPECT_TRUE(Is(v1::Gateway::NewStub(channel)->Get(Context(kReaderToken).get(), get, &got),
                 grpc::StatusCode::PERMISSION_DENIED, "index: 'logs'"));
  get.set_index("products");
  get.set_id("p-001");
  ASSERT_TRUE(v1::Gateway::NewStub(channel)->Get(Context(kReaderToken).get(), get, &got).ok());
  EXPECT_TRUE(got.found());

  v1::MultiSearchRequest multi;
  multi.add_searches()->add_indices("products");
  multi.add_searches()->add_indices("logs");
  v1::MultiSearchResponse answers;
  EXPECT_TRUE(
      Is(v1::Gateway::NewStub(channel)->MultiSearch(Context(kReaderToken).get(), multi, &answers),
         grpc::StatusCode::PERMISSION_DENIED, "searches[1].indices: 'logs'"));
}

TEST_F(SecurityE2eTest, ADeniedOpInABulkFailsAloneAndTheOthersAreWritten) {
  const auto channel = TlsChannel(*tls_server_);
  v1::BulkRequest bulk;
  bulk.set_refresh(v1::REFRESH_TRUE);
  *bulk.add_ops() = IndexOp(1, "sec-bulk", "a");
  *bulk.add_ops() = IndexOp(2, "products", "b");
  *bulk.add_ops() = IndexOp(3, "sec-bulk", "c");
  v1::BulkResponse response;
  const grpc::Status status =
      v1::Gateway::NewStub(channel)->Bulk(Context(kWriterToken).get(), bulk, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 3);
  EXPECT_TRUE(response.errors());
  EXPECT_EQ(response.items(0).status(), 201) << response.items(0).ShortDebugString();
  EXPECT_EQ(response.items(2).status(), 201) << response.items(2).ShortDebugString();
  EXPECT_EQ(response.items(1).status(), 403);
  EXPECT_EQ(response.items(1).seq(), 2u);
  EXPECT_EQ(response.items(1).error().type(), "security_exception");
  EXPECT_THAT(response.items(1).error().reason(),
              HasSubstr("ops[1].index: 'products' is outside the index patterns"));
  for (const char* id : {"a", "c"}) {
    auto stored = cluster_->Request("GET", absl::StrCat("/sec-bulk/_doc/", id));
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->first, 200) << id;
  }
  auto denied = cluster_->Request("GET", "/products/_doc/b");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->first, 404) << "the denied op never reached Elasticsearch";
}

TEST_F(SecurityE2eTest, ADeniedOpInAnIngestStreamFailsAlone) {
  const auto channel = TlsChannel(*tls_server_);
  auto context = Context(kWriterToken);
  auto stream = v1::Gateway::NewStub(channel)->Ingest(context.get());
  v1::IngestRequest request;
  request.set_index("sec-ingest");
  *request.add_ops() = IndexOp(1, "", "a");
  *request.add_ops() = IndexOp(2, "logs", "b");
  *request.add_ops() = IndexOp(3, "", "c");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->WritesDone());
  std::map<uint64_t, v1::BulkItemResult> results;
  v1::IngestSummary summary;
  v1::IngestResponse response;
  while (stream->Read(&response)) {
    for (const v1::BulkItemResult& result : response.results()) results[result.seq()] = result;
    if (response.has_summary()) summary = response.summary();
  }
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].status(), 201);
  EXPECT_EQ(results[3].status(), 201);
  EXPECT_EQ(results[2].status(), 403);
  EXPECT_EQ(results[2].error().type(), "security_exception");
  EXPECT_EQ(summary.ok(), 2);
  EXPECT_EQ(summary.failed(), 1);
}

TEST_F(SecurityE2eTest, PerPrincipalLimitsRefuseWithTheLimitNamed) {
  const auto channel = TlsChannel(*tls_server_);
  // A stream holds its places once it has a result back: calls started together may reach esgw
  // in either order, so a stream that was only opened proves nothing yet.
  const auto open_stream = [&](grpc::ClientContext* context, const std::string& id) {
    auto stream = v1::Gateway::NewStub(channel)->Ingest(context);
    v1::IngestRequest request;
    *request.add_ops() = IndexOp(1, "sec-limits", id);
    EXPECT_TRUE(stream->Write(request));
    v1::IngestResponse response;
    EXPECT_TRUE(stream->Read(&response) && response.results_size() == 1)
        << "the stream was not admitted: " << stream->Finish().error_message();
    return stream;
  };
  const auto close_stream = [](auto& stream) {
    stream->WritesDone();
    v1::IngestResponse ignored;
    while (stream->Read(&ignored)) {
    }
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
  };

  // writer may have one Ingest stream open.
  auto first_context = Context(kWriterToken);
  auto first = open_stream(first_context.get(), "writer");
  {
    auto context = Context(kWriterToken);
    auto second = v1::Gateway::NewStub(channel)->Ingest(context.get());
    second->WritesDone();
    v1::IngestResponse ignored;
    while (second->Read(&ignored)) {
    }
    const grpc::Status refused = second->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << refused.error_message();
    EXPECT_THAT(refused.error_message(), HasSubstr("max_ingest_streams"));
    EXPECT_EQ(testing::ErrorInfoOf(refused).metadata().at("limit"), "max_ingest_streams");
  }
  close_stream(first);

  // limited may have one call running: an open stream leaves no room for a Search.
  auto stream_context = Context(kLimitedToken);
  auto stream = open_stream(stream_context.get(), "limited");
  const grpc::Status search = Search(channel, kLimitedToken, {"sec-*"});
  EXPECT_EQ(search.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << search.error_message();
  EXPECT_THAT(search.error_message(), HasSubstr("max_concurrent_rpcs"));
  EXPECT_EQ(testing::ErrorInfoOf(search).metadata().at("limit"), "max_concurrent_rpcs");
  close_stream(stream);
  // A call gives its place back before its status is sent, so one call after another is never
  // refused, whether it ended in an answer or in an error, on either service.
  for (int i = 0; i < 100; ++i) {
    const grpc::Status answered = Search(channel, kLimitedToken, {"sec-*"});
    ASSERT_TRUE(answered.ok()) << "round " << i << ": " << answered.error_message();
    const grpc::Status bad = Search(channel, kLimitedToken, {"sec-*"}, R"({"query":)");
    ASSERT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "round " << i << ": " << bad.error_message();
    const grpc::Status stats = PoolStats(channel, kLimitedToken);
    ASSERT_TRUE(stats.ok()) << "round " << i << ": " << stats.error_message();
    v1::HealthReport health;
    const grpc::Status health_status = v1::Admin::NewStub(channel)->GetHealth(
        Context(kLimitedToken).get(), v1::GetHealthRequest(), &health);
    ASSERT_TRUE(health_status.ok()) << "round " << i << ": " << health_status.error_message();
  }
}

TEST_F(SecurityE2eTest, OversizedRequestsAreRefusedWithTheLimitNamed) {
  const auto channel = TlsChannel(*tls_server_);
  const std::string big_terms =
      absl::StrCat(R"({"query":{"terms":{"name":[")", std::string(70000, 'x'), R"("]}}})");
  EXPECT_TRUE(Is(Search(channel, kReaderToken, {"products"}, big_terms),
                 grpc::StatusCode::RESOURCE_EXHAUSTED, "max_read_request_bytes allows 65536"));
  v1::BulkRequest bulk;
  *bulk.add_ops() =
      IndexOp(1, "sec-big", "a", absl::StrCat(R"({"text":")", std::string(300000, 'y'), R"("})"));
  v1::BulkResponse response;
  EXPECT_TRUE(Is(v1::Gateway::NewStub(channel)->Bulk(Context(kWriterToken).get(), bulk, &response),
                 grpc::StatusCode::RESOURCE_EXHAUSTED, "max_bulk_request_bytes allows 262144"));
}

TEST_F(SecurityE2eTest, MutualTlsKnowsThePrincipalByItsCertificate) {
  // No token: the client certificate's subject is the principal.
  EXPECT_TRUE(PoolStats(TlsChannel(*mtls_server_, "ops"), "").ok());
  EXPECT_TRUE(Search(TlsChannel(*mtls_server_, "ops"), "", {}).ok()) << "ops reads every index";
  // A certificate from the right CA that is no principal.
  EXPECT_TRUE(Is(PoolStats(TlsChannel(*mtls_server_, "stranger"), ""),
                 grpc::StatusCode::UNAUTHENTICATED, "client certificate subject 'CN=stranger'"));
  // A token still names the principal over mutual TLS.
  EXPECT_TRUE(Search(TlsChannel(*mtls_server_, "stranger"), kReaderToken, {"products"}).ok());
  EXPECT_TRUE(Is(Search(TlsChannel(*mtls_server_, "ops"), kReaderToken, {"logs"}),
                 grpc::StatusCode::PERMISSION_DENIED, "principal 'reader'"));
  // No client certificate, or one from another CA with the same subject: no handshake.
  EXPECT_EQ(PoolStats(TlsChannel(*mtls_server_), kAdminToken).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(PoolStats(TlsChannel(*mtls_server_, "forged"), "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityE2eTest, EsgwCliSpeaksTlsWithAToken) {
  const std::vector<std::string> connection = {
      testing::BinDir() + "/esgw-cli", "--addr=" + tls_server_->address(),
      "--ca_file=" + certs_->CertPath("ca"), "--server_name=localhost"};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = connection;
    argv.insert(argv.end(), args.begin(), args.end());
    auto process = testing::Subprocess::Start(argv);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return std::make_pair(-1, std::string());
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(20));
    return std::make_pair(code.value_or(-1), (*process)->Log());
  };
  const auto ok = run({absl::StrCat("--token=", kReaderToken), "count", "--index=products"});
  EXPECT_EQ(ok.first, 0) << ok.second;
  EXPECT_THAT(ok.second, HasSubstr("50"));
  const auto denied = run({absl::StrCat("--token=", kReaderToken), "count", "--index=logs"});
  EXPECT_EQ(denied.first, 1) << denied.second;
  EXPECT_THAT(denied.second, HasSubstr("PERMISSION_DENIED"));
  const auto unknown = run({"--token=wrong", "stats"});
  EXPECT_EQ(unknown.first, 1) << unknown.second;
  EXPECT_THAT(unknown.second, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(SecurityE2eTest, DenialsAreAuditedAndNoSecretLeaks) {
  const auto channel = TlsChannel(*tls_server_);
  ASSERT_EQ(Search(channel, kReaderToken, {"logs"}).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_EQ(Search(channel, "guessed-token-123", {"products"}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string log;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        log = tls_server_->process().Log();
        return absl::StrContains(log, "rpc=Search index=logs");
      },
      absl::Seconds(10), "the audit line"))
      << log;
  EXPECT_THAT(log, HasSubstr("access denied audit=denied principal=reader rpc=Search index=logs"));
  EXPECT_THAT(log, HasSubstr("principal=- rpc=Search index=-"));

  auto metrics = devcluster::HttpRequestOnce(
      absl::StrCat("127.0.0.1:", tls_server_->metrics_port()), "GET", "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->status, 200);
  auto print_config = testing::Subprocess::Start([&] {
    std::vector<std::string> argv = {testing::BinDir() + "/esgw-server", "--print_config"};
    argv.insert(argv.end(), common_flags_->begin(), common_flags_->end());
    return argv;
  }());
  ASSERT_TRUE(print_config.ok());
  ASSERT_EQ((*print_config)->Wait(absl::Seconds(10)).value_or(-1), 0);
  const std::string config = (*print_config)->Log();
  EXPECT_THAT(config, HasSubstr("auth_file:"));

  for (const std::string& secret :
       {std::string(kEsPassword), std::string(kReaderToken), std::string(kWriterToken),
        std::string(kAdminToken), std::string(kLimitedToken), std::string("guessed-token-123"),
        absl::Base64Escape(absl::StrCat("esgw:", kEsPassword))}) {
    EXPECT_THAT(log, Not(HasSubstr(secret))) << "server log";
    EXPECT_THAT(metrics->body, Not(HasSubstr(secret))) << "metrics";
    EXPECT_THAT(config, Not(HasSubstr(secret))) << "--print_config";
  }
  // Nor do errors echo a token back.
  EXPECT_THAT(Search(channel, "guessed-token-123", {"products"}).error_message(),
              Not(HasSubstr("guessed-token-123")));
}

}  // namespace
}  // namespace esgw
