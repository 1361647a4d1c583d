// TLS between the curl transport and an in-process HTTPS peer (cpp-httplib on 127.0.0.1:0):
// trusted and untrusted CAs, host name checks, client certificates, and the option checks in
// CurlTransport::Create. Certificates are made with the openssl CLI (TestCertificates) into a
// temporary directory when the suite starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "pool/curl_transport.h"
#include "tests/support/awaited_response.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using testing::CertificateUsage;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::Not;
using testing::StatusIs;
using testing::Subprocess;
using testing::TestCertificates;
using testing::WaitFor;

// An HTTPS/1.1 server on 127.0.0.1:<free port> answering GET / with 200 "tls ok". With a
// client CA it requires a client certificate signed by that CA.
class HttpsPeer {
 public:
  HttpsPeer(const std::string& cert, const std::string& key, const std::string& client_ca = "")
      : server_(cert.c_str(), key.c_str(), client_ca.empty() ? nullptr : client_ca.c_str()) {
    server_.Get("/", [this](const httplib::Request&, httplib::Response& response) {
      ++requests_;
      response.set_content("tls ok", "text/plain");
    });
    if (!server_.is_valid()) return;
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs, so wait for it before anyone may call stop().
    running_ = WaitFor([this] { return server_.is_running(); }, absl::Seconds(5), "TLS server");
  }
  ~HttpsPeer() {
    if (running_) server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool ok() const { return running_; }
  int requests() const { return requests_.load(); }
  Endpoint endpoint() const {
    return Endpoint{.scheme = "https", .host = "127.0.0.1", .port = port_};
  }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  bool running_ = false;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class CurlTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("esgw-tls-test");
    if (!dir.ok()) {
      setup_error_ = new std::string(dir.status().ToString());
      return;
    }
    dir_ = new std::string(*dir);
    absl::StatusOr<TestCertificates> certs = TestCertificates::Create(*dir_);
    absl::Status s = certs.status();
    if (s.ok()) {
      pki_ = new TestCertificates(*std::move(certs));
      s = pki_->AddCa("other_ca");
    }
    if (s.ok()) {
      s = pki_->AddLeaf("server", {.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
    }
    if (s.ok()) s = pki_->AddLeaf("other_name", {.dns_names = {"other.example"}});
    if (s.ok()) {
      s = pki_->AddLeaf("client",
                        {.dns_names = {"esgw-client"}, .usage = CertificateUsage::kClient});
    }
    if (s.ok()) {
      s = pki_->AddLeaf(
          "stranger",
          {.issuer = "other_ca", .dns_names = {"esgw-client"}, .usage = CertificateUsage::kClient});
    }
    if (!s.ok()) setup_error_ = new std::string(s.ToString());
  }

  static void TearDownTestSuite() {
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete pki_;
    delete setup_error_;
    dir_ = nullptr;
    pki_ = nullptr;
    setup_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << "making test certificates: " << *setup_error_;
  }

  static const TestCertificates& pki() { return *pki_; }

  static std::unique_ptr<CurlTransport> MakeTransport(CurlTransport::Options options) {
    options.threads = 1;
    auto transport = CurlTransport::Create(std::move(options));
    EXPECT_THAT(transport, IsOk());
    return transport.ok() ? *std::move(transport) : nullptr;
  }

  // GET / and wait (bounded) for the response.
  static HttpResponse Get(CurlTransport& transport, const Endpoint& node) {
    HttpRequest request;
    request.path = "/";
    request.timeout = absl::Seconds(5);
    return testing::SendAndWait(transport, node, std::move(request));
  }

 private:
  static std::string* dir_;
  static TestCertificates* pki_;
  static std::string* setup_error_;
};

std::string* CurlTlsTest::dir_ = nullptr;
TestCertificates* CurlTlsTest::pki_ = nullptr;
std::string* CurlTlsTest::setup_error_ = nullptr;

TEST_F(CurlTlsTest, TrustedCaConnectsAndKeepsTheTlsConnection) {
  HttpsPeer peer(pki().CertPath("server"), pki().KeyPath("server"));
  ASSERT_TRUE(peer.ok());
  auto transport = MakeTransport({.ca_file = pki().CertPath("ca")});
  ASSERT_NE(transport, nullptr);
  HttpResponse first = Get(*transport, peer.endpoint());
  ASSERT_EQ(first.error, TransportError::kNone) << first.error_message;
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "tls ok");
  HttpResponse second = Get(*transport, peer.endpoint());
  ASSERT_EQ(second.error, TransportError::kNone) << second.error_message;
  EXPECT_TRUE(second.connection_reused);
  EXPECT_EQ(transport->GetConnectionStats(peer.endpoint().HostPort()).opened, 1);
}

TEST_F(CurlTlsTest, CertificateFromAnUntrustedCaIsAConnectFailure) {
  HttpsPeer peer(pki().CertPath("server"), pki().KeyPath("server"));
  ASSERT_TRUE(peer.ok());
  // Another private CA, then the system store (which knows neither).
  for (const std::string& ca_file : {pki().CertPath("other_ca"), std::string()}) {
    auto transport = MakeTransport({.ca_file = ca_file});
    ASSERT_NE(transport, nullptr);
    const HttpResponse response = Get(*transport, peer.endpoint());
    EXPECT_EQ(response.error, TransportError::kConnectFailed)
        << "ca_file '" << ca_file << "': " << response.error_message;
    EXPECT_THAT(response.error_message, HasSubstr("certificate")) << ca_file;
  }
  EXPECT_EQ(peer.requests(), 0);
}

TEST_F(CurlTlsTest, HostNameMismatchIsAConnectFailure) {
  // Signed by the trusted CA, but for other.example, while we dial 127.0.0.1.
  HttpsPeer peer(pki().CertPath("other_name"), pki().KeyPath("other_name"));
  ASSERT_TRUE(peer.ok());
  auto transport = MakeTransport({.ca_file = pki().CertPath("ca")});
  ASSERT_NE(transport, nullptr);
  const HttpResponse response = Get(*transport, peer.endpoint());
  EXPECT_EQ(response.error, TransportError::kConnectFailed) << response.error_message;
  EXPECT_THAT(response.error_message, HasSubstr("127.0.0.1"));
  EXPECT_EQ(peer.requests(), 0);
}

TEST_F(CurlTlsTest, WithoutHostNameCheckTheChainIsStillVerified) {
  HttpsPeer peer(pki().CertPath("other_name"), pki().KeyPath("other_name"));
  ASSERT_TRUE(peer.ok());
  auto trusting = MakeTransport({.ca_file = pki().CertPath("ca"), .verify_hostname = false});
  ASSERT_NE(trusting, nullptr);
  const HttpResponse ok = Get(*trusting, peer.endpoint());
  EXPECT_EQ(ok.error, TransportError::kNone) << ok.error_message;
  EXPECT_EQ(ok.status, 200);

  auto untrusting =
      MakeTransport({.ca_file = pki().CertPath("other_ca"), .verify_hostname = false});
  ASSERT_NE(untrusting, nullptr);
  const HttpResponse refused = Get(*untrusting, peer.endpoint());
  EXPECT_EQ(refused.error, TransportError::kConnectFailed) << refused.error_message;
}

TEST_F(CurlTlsTest, InsecureSkipVerifyAcceptsAnUnknownCertificate) {
  HttpsPeer peer(pki().CertPath("other_name"), pki().KeyPath("other_name"));
  ASSERT_TRUE(peer.ok());
  auto transport = MakeTransport({.insecure_skip_verify = true});
  ASSERT_NE(transport, nullptr);
  const HttpResponse response = Get(*transport, peer.endpoint());
  EXPECT_EQ(response.error, TransportError::kNone) << response.error_message;
  EXPECT_EQ(response.status, 200);
}

TEST_F(CurlTlsTest, ClientCertificateIsPresentedWhenTheNodeRequiresOne) {
  HttpsPeer peer(pki().CertPath("server"), pki().KeyPath("server"), pki().CertPath("ca"));
  ASSERT_TRUE(peer.ok());
  auto with_cert = MakeTransport({.ca_file = pki().CertPath("ca"),
                                  .client_cert_file = pki().CertPath("client"),
                                  .client_key_file = pki().KeyPath("client")});
  ASSERT_NE(with_cert, nullptr);
  const HttpResponse ok = Get(*with_cert, peer.endpoint());
  EXPECT_EQ(ok.error, TransportError::kNone) << ok.error_message;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(peer.requests(), 1);
}

TEST_F(CurlTlsTest, MissingOrUntrustedClientCertificateIsAConnectFailure) {
  HttpsPeer peer(pki().CertPath("server"), pki().KeyPath("server"), pki().CertPath("ca"));
  ASSERT_TRUE(peer.ok());
  auto without_cert = MakeTransport({.ca_file = pki().CertPath("ca")});
  ASSERT_NE(without_cert, nullptr);
  const HttpResponse missing = Get(*without_cert, peer.endpoint());
  EXPECT_EQ(missing.error, TransportError::kConnectFailed) << missing.error_message;
  EXPECT_THAT(missing.error_message, HasSubstr("certificate"));

  auto stranger = MakeTransport({.ca_file = pki().CertPath("ca"),
                                 .client_cert_file = pki().CertPath("stranger"),
                                 .client_key_file = pki().KeyPath("stranger")});
  ASSERT_NE(stranger, nullptr);
  const HttpResponse untrusted = Get(*stranger, peer.endpoint());
  EXPECT_EQ(untrusted.error, TransportError::kConnectFailed) << untrusted.error_message;

  // A key that does not belong to the certificate: curl refuses it before the handshake.
  auto mismatched = MakeTransport({.ca_file = pki().CertPath("ca"),
                                   .client_cert_file = pki().CertPath("client"),
                                   .client_key_file = pki().KeyPath("stranger")});
  ASSERT_NE(mismatched, nullptr);
  const HttpResponse bad_key = Get(*mismatched, peer.endpoint());
  EXPECT_EQ(bad_key.error, TransportError::kConnectFailed) << bad_key.error_message;
  EXPECT_THAT(bad_key.error_message, HasSubstr("private key"));
  EXPECT_EQ(peer.requests(), 0);
}

TEST_F(CurlTlsTest, TlsAlertFromANodeRefusingTheClientCertificateIsAConnectFailure) {
  // openssl s_server answers a missing or unknown client certificate with a TLS alert, which in
  // TLS 1.3 reaches the client only after its handshake is done and the request is written.
  // (The httplib peer above instead drops the connection before the request leaves.)
  auto server =
      Subprocess::Start({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                         pki().CertPath("server"), "-key", pki().KeyPath("server"), "-CAfile",
                         pki().CertPath("ca"), "-Verify", "1", "-verify_return_error", "-www"});
  ASSERT_THAT(server, IsOk());
  int port = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = (*server)->Log();
        const size_t accept = log.find("ACCEPT ");
        if (accept == std::string::npos) return false;
        const size_t end = log.find('\n', accept);
        if (end == std::string::npos) return false;
        const size_t colon = log.rfind(':', end);
        return absl::SimpleAtoi(log.substr(colon + 1, end - colon - 1), &port);
      },
      absl::Seconds(10), "openssl s_server reports its port"));
  const Endpoint node{.scheme = "https", .host = "127.0.0.1", .port = port};

  auto without_cert = MakeTransport({.ca_file = pki().CertPath("ca")});
  ASSERT_NE(without_cert, nullptr);
  const HttpResponse missing = Get(*without_cert, node);
  EXPECT_EQ(missing.error, TransportError::kConnectFailed) << missing.error_message;
  EXPECT_THAT(missing.error_message, HasSubstr("alert certificate required"));

  auto stranger = MakeTransport({.ca_file = pki().CertPath("ca"),
                                 .client_cert_file = pki().CertPath("stranger"),
                                 .client_key_file = pki().KeyPath("stranger")});
  ASSERT_NE(stranger, nullptr);
  const HttpResponse untrusted = Get(*stranger, node);
  EXPECT_EQ(untrusted.error, TransportError::kConnectFailed) << untrusted.error_message;

  auto with_cert = MakeTransport({.ca_file = pki().CertPath("ca"),
                                  .client_cert_file = pki().CertPath("client"),
                                  .client_key_file = pki().KeyPath("client")});
  ASSERT_NE(with_cert, nullptr);
  const HttpResponse ok = Get(*with_cert, node);
  EXPECT_EQ(ok.error, TransportError::kNone) << ok.error_message;
  EXPECT_EQ(ok.status, 200);
}

TEST_F(CurlTlsTest, CreateRejectsUnusableTlsFilesWithoutQuotingThem) {
  EXPECT_THAT(CurlTransport::Create({.ca_file = "/nonexistent/ca.pem"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ca_file")));
  // A key where a certificate belongs: the message names the option, never the key.
  auto key_as_ca = CurlTransport::Create({.ca_file = pki().KeyPath("ca")});
  EXPECT_THAT(key_as_ca, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ca_file")));
  EXPECT_THAT(key_as_ca.status().message(), Not(HasSubstr("BEGIN")));
  EXPECT_THAT(CurlTransport::Create({.client_key_file = pki().KeyPath("client")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("client_cert_file")));
  // Without a key file, the certificate file must hold the key too.
  EXPECT_THAT(CurlTransport::Create({.client_cert_file = pki().CertPath("client")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("private key")));
  EXPECT_THAT(CurlTransport::Create({.client_cert_file = pki().CertPath("client"),
                                     .client_key_file = pki().CertPath("client")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("client_key_file")));
}

}  // namespace
}  // namespace esgw
