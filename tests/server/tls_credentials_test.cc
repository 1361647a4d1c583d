// server/tls_credentials.h over real loopback sockets: an in-process grpc::Server on 127.0.0.1:0
// with the credentials MakeServerCredentials builds, dialled by fresh channels (each with its own
// connection) with short deadlines. TLS, mutual TLS with the client's subject as the server sees
// it, certificate files replaced under a running server (good and broken ones), and every rule
// of ValidateServerTls. Certificates come from the openssl CLI via TestCertificates.
#include "server/tls_credentials.h"

#include <gmock/gmock.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "pool/status_macros.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

namespace fs = std::filesystem;
using ::esgw::testing::CertificateUsage;
using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::esgw::testing::TestCertificates;
using ::esgw::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Answers GetHealth with the subject of the caller's client certificate in `version` (its only
// free-text field), so a test sees per call what the server saw.
class SubjectEchoAdmin final : public v1::Admin::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const v1::GetHealthRequest*,
                                      v1::HealthReport* report) override {
    report->set_version(PeerCertificateSubject(*context));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// An in-process gRPC server on 127.0.0.1:<free port>.
class TestServer {
 public:
  explicit TestServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  bool ok() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  SubjectEchoAdmin service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How a test client dials: plaintext, or TLS trusting ca_file, presenting cert/key when set.
struct Dialer {
  bool plaintext = false;
  std::string ca_file = "";
  std::string cert_file = "";
  std::string key_file = "";
};

struct CallResult {
  grpc::Status status = {};
  std::string subject_seen_by_server = "";  // what PeerCertificateSubject returned
  std::string server_common_name = "";      // of the certificate the server presented
};

// A channel with a local subchannel pool: its connection (and handshake) is its own, never one
// shared with another channel to the same address.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address, const Dialer& dialer) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (dialer.plaintext) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = Slurp(dialer.ca_file);
    if (!dialer.cert_file.empty()) tls.pem_cert_chain = Slurp(dialer.cert_file);
    if (!dialer.key_file.empty()) tls.pem_private_key = Slurp(dialer.key_file);
    credentials = grpc::SslCredentials(tls);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, credentials, args);
}

// One GetHealth on `channel`, with a short deadline (a failed handshake fails the call at once).
CallResult CallOn(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::Admin::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::HealthReport report;
  CallResult result;
  result.status = stub->GetHealth(&context, v1::GetHealthRequest(), &report);
  result.subject_seen_by_server = report.version();
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context(); auth != nullptr) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
      result.server_common_name.assign(cn.data(), cn.size());
    }
  }
  return result;
}

// One GetHealth on a new connection.
CallResult Call(const std::string& address, const Dialer& dialer) {
  return CallOn(NewChannel(address, dialer));
}

class TlsCredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("esgw-grpc-tls");
    ASSERT_THAT(dir, IsOk());
    dir_ = new std::string(*dir);
    absl::StatusOr<TestCertificates> certs = TestCertificates::Create(*dir_ + "/pki");
    ASSERT_THAT(certs, IsOk());
    certs_ = new TestCertificates(*std::move(certs));
    // "ca" signs servers, "client_ca" signs clients, "other_ca" is trusted by nobody.
    ASSERT_THAT(certs_->AddCa("client_ca"), IsOk());
    ASSERT_THAT(certs_->AddCa("other_ca"), IsOk());
    const std::vector<std::string> localhost = {"localhost"};
    const std::vector<std::string> loopback = {"127.0.0.1"};
    ASSERT_THAT(certs_->AddLeaf("server", {.common_name = "esgw-server",
                                           .dns_names = localhost,
                                           .ip_addresses = loopback}),
                IsOk());
    ASSERT_THAT(certs_->AddLeaf("renewed", {.common_name = "esgw-server-renewed",
                                            .dns_names = localhost,
                                            .ip_addresses = loopback}),
                IsOk());
    ASSERT_THAT(certs_->AddLeaf("impostor", {.issuer = "other_ca",
                                             .common_name = "esgw-server",
                                             .dns_names = localhost,
                                             .ip_addresses = loopback}),
                IsOk());
    ASSERT_THAT(certs_->AddLeaf("ops", {.issuer = "client_ca",
                                        .common_name = "ops",
                                        .organization = "Example Org",
                                        .usage = CertificateUsage::kClient}),
                IsOk());
    ASSERT_THAT(certs_->AddLeaf("acme", {.issuer = "client_ca",
                                         .common_name = "ops",
                                         .organization = "Example, Inc.",
                                         .usage = CertificateUsage::kClient}),
                IsOk());
    ASSERT_THAT(certs_->AddLeaf("stranger", {.issuer = "other_ca",
                                             .common_name = "ops",
                                             .organization = "Example Org",
                                             .usage = CertificateUsage::kClient}),
                IsOk());
  }

  static void TearDownTestSuite() {
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete certs_;
    delete dir_;
    certs_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(certs_, nullptr) << "making the test certificates failed"; }

  static const TestCertificates& certs() { return *certs_; }
  static std::string Cert(const std::string& name) { return certs_->CertPath(name); }
  static std::string Key(const std::string& name) { return certs_->KeyPath(name); }

  static std::unique_ptr<TestServer> StartServer(const ServerTlsOptions& options) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(options);
    EXPECT_THAT(credentials, IsOk());
    if (!credentials.ok()) return nullptr;
    auto server = std::make_unique<TestServer>(*credentials);
    EXPECT_TRUE(server->ok());
    return server->ok() ? std::move(server) : nullptr;
  }

  static std::string* dir_;
  static TestCertificates* certs_;
};

std::string* TlsCredentialsTest::dir_ = nullptr;
TestCertificates* TlsCredentialsTest::certs_ = nullptr;

TEST_F(TlsCredentialsTest, PlaintextWithoutCertificate) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  const CallResult plain = Call(server->address(), {.plaintext = true});
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  EXPECT_EQ(plain.subject_seen_by_server, "");
  EXPECT_FALSE(Call(server->address(), {.ca_file = Cert("ca")}).status.ok())
      << "a TLS client cannot talk to a plaintext port";
}

TEST_F(TlsCredentialsTest, TlsServesClientsThatTrustItsCa) {
  auto server = StartServer({.cert_file = Cert("server"), .key_file = Key("server")});
  ASSERT_NE(server, nullptr);

  const CallResult trusting = Call(server->address(), {.ca_file = Cert("ca")});
  ASSERT_TRUE(trusting.status.ok()) << trusting.status.error_message();
  EXPECT_EQ(trusting.server_common_name, "esgw-server");
  EXPECT_EQ(trusting.subject_seen_by_server, "") << "no client certificate on plain TLS";

  // A client certificate the server did not ask for is not looked at.
  const CallResult with_cert = Call(
      server->address(), {.ca_file = Cert("ca"), .cert_file = Cert("ops"), .key_file = Key("ops")});
  ASSERT_TRUE(with_cert.status.ok()) << with_cert.status.error_message();
  EXPECT_EQ(with_cert.subject_seen_by_server, "");

  const CallResult plaintext = Call(server->address(), {.plaintext = true});
  EXPECT_EQ(plaintext.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plaintext.status.error_message();
  const CallResult other_ca = Call(server->address(), {.ca_file = Cert("other_ca")});
  EXPECT_EQ(other_ca.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << other_ca.status.error_message();
}

TEST_F(TlsCredentialsTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  auto server = StartServer({.cert_file = Cert("server"),
                             .key_file = Key("server"),
                             .client_ca_file = Cert("client_ca")});
  ASSERT_NE(server, nullptr);

  const CallResult ops = Call(
      server->address(), {.ca_file = Cert("ca"), .cert_file = Cert("ops"), .key_file = Key("ops")});
  ASSERT_TRUE(ops.status.ok()) << ops.status.error_message();
  // Issued as "/O=Example Org/CN=ops"; gRPC reports it most specific first (RFC 2253).
  EXPECT_EQ(ops.subject_seen_by_server, "CN=ops,O=Example Org");
  EXPECT_EQ(ops.server_common_name, "esgw-server");
  const CallResult acme =
      Call(server->address(),
           {.ca_file = Cert("ca"), .cert_file = Cert("acme"), .key_file = Key("acme")});
  ASSERT_TRUE(acme.status.ok()) << acme.status.error_message();
  EXPECT_EQ(acme.subject_seen_by_server, "CN=ops,O=Example\\, Inc.") << "RFC 2253 escaping";

  const CallResult anonymous = Call(server->address(), {.ca_file = Cert("ca")});
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << anonymous.status.error_message();
  // Same subject, wrong issuer.
  const CallResult stranger =
      Call(server->address(),
           {.ca_file = Cert("ca"), .cert_file = Cert("stranger"), .key_file = Key("stranger")});
  EXPECT_EQ(stranger.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stranger.status.error_message();
  const CallResult plaintext = Call(server->address(), {.plaintext = true});
  EXPECT_EQ(plaintext.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The files a running server watches, replaced the way an operator should: each written next to
// its final name, then renamed over it.
class WatchedFiles {
 public:
  explicit WatchedFiles(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }
  std::string client_ca() const { return dir_ + "/client-ca.pem"; }

  // The key first, then the certificate: gRPC does not pair them, so a re-read between the two
  // renames sees a mismatched pair (see the broken-pair test); callers poll past that window.
  absl::Status InstallPair(const std::string& cert_from, const std::string& key_from) {
    ESGW_RETURN_IF_ERROR(Install(key_from, key()));
    return Install(cert_from, cert());
  }

  static absl::Status Install(const std::string& from, const std::string& to) {
    std::error_code error;
    fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing, error);
    if (!error) fs::rename(to + ".new", to, error);
    if (error) return absl::InternalError(absl::StrCat("installing ", to, ": ", error.message()));
    return absl::OkStatus();
  }

  static absl::Status InstallText(const std::string& text, const std::string& to) {
    {
      std::ofstream out(to + ".new", std::ios::trunc);
      out << text;
    }
    std::error_code error;
    fs::rename(to + ".new", to, error);
    if (error) return absl::InternalError(absl::StrCat("installing ", to, ": ", error.message()));
    return absl::OkStatus();
  }

 private:
  std::string dir_;
};

// gRPC re-reads every second here; polls allow for many re-reads on a loaded machine.
constexpr absl::Duration kReloadWait = absl::Seconds(30);

TEST_F(TlsCredentialsTest, NewConnectionsGetTheReplacedCertificateWithoutARestart) {
  WatchedFiles files(*dir_ + "/renew");
  ASSERT_THAT(files.InstallPair(Cert("server"), Key("server")), IsOk());
  auto server = StartServer(
      {.cert_file = files.cert(), .key_file = files.key(), .reload_interval = absl::Seconds(1)});
  ASSERT_NE(server, nullptr);
  const Dialer trusting = {.ca_file = Cert("ca")};
  const std::shared_ptr<grpc::Channel> established = NewChannel(server->address(), trusting);
  const CallResult before = CallOn(established);
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();
  ASSERT_EQ(before.server_common_name, "esgw-server");

  ASSERT_THAT(files.InstallPair(Cert("renewed"), Key("renewed")), IsOk());
  EXPECT_TRUE(WaitFor(
      [&] { return Call(server->address(), trusting).server_common_name == "esgw-server-renewed"; },
      kReloadWait, "a new connection to present the renewed certificate"));

  // The connection made before the change keeps the certificate it was made with.
  const CallResult after = CallOn(established);
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.server_common_name, "esgw-server");
}

// What gRPC 1.51 does with a readable but unusable pair: it takes it, fails to build a TLS
// context from it, and refuses every new handshake until a good pair is back. It does not keep
// serving the last good certificate (server/tls_credentials.h says so).
TEST_F(TlsCredentialsTest, ABrokenPairRefusesNewConnectionsUntilAGoodPairReturns) {
  WatchedFiles files(*dir_ + "/broken");
  ASSERT_THAT(files.InstallPair(Cert("server"), Key("server")), IsOk());
  auto server = StartServer(
      {.cert_file = files.cert(), .key_file = files.key(), .reload_interval = absl::Seconds(1)});
  ASSERT_NE(server, nullptr);
  const Dialer trusting = {.ca_file = Cert("ca")};
  const std::shared_ptr<grpc::Channel> established = NewChannel(server->address(), trusting);
  ASSERT_TRUE(CallOn(established).status.ok());
  const auto refused = [&] {
    return Call(server->address(), trusting).status.error_code() == grpc::StatusCode::UNAVAILABLE;
  };
  const auto serves = [&](const std::string& common_name) {
    return [&server, &trusting, common_name] {
      const CallResult result = Call(server->address(), trusting);
      return result.status.ok() && result.server_common_name == common_name;
    };
  };

  // A key that is not the certificate's.
  ASSERT_THAT(WatchedFiles::Install(Key("renewed"), files.key()), IsOk());
  EXPECT_TRUE(WaitFor(refused, kReloadWait, "new connections to be refused"));
  const CallResult on_established = CallOn(established);
  EXPECT_TRUE(on_established.status.ok())
      << "an established connection is not affected: " << on_established.status.error_message();
  ASSERT_THAT(WatchedFiles::Install(Cert("renewed"), files.cert()), IsOk());
  EXPECT_TRUE(WaitFor(serves("esgw-server-renewed"), kReloadWait, "the repaired pair to serve"));

  // A certificate file that is not PEM at all.
  ASSERT_THAT(WatchedFiles::InstallText("not a certificate\n", files.cert()), IsOk());
  EXPECT_TRUE(WaitFor(refused, kReloadWait, "new connections to be refused"));
  ASSERT_THAT(files.InstallPair(Cert("server"), Key("server")), IsOk());
  EXPECT_TRUE(WaitFor(serves("esgw-server"), kReloadWait, "the repaired pair to serve"));
}

// A file that disappears, by contrast, is only logged: the last good certificate stays in use.
// Its re-read is made observable by changing the client CA at the same time: gRPC reads the CA
// and then the pair in one pass, so once the new CA is in force, a pass has seen the missing
// certificate.
TEST_F(TlsCredentialsTest, AMissingCertificateFileKeepsTheLastGoodCertificate) {
  WatchedFiles files(*dir_ + "/missing");
  ASSERT_THAT(files.InstallPair(Cert("server"), Key("server")), IsOk());
  ASSERT_THAT(WatchedFiles::Install(Cert("client_ca"), files.client_ca()), IsOk());
  auto server = StartServer({.cert_file = files.cert(),
                             .key_file = files.key(),
                             .client_ca_file = files.client_ca(),
                             .reload_interval = absl::Seconds(1)});
  ASSERT_NE(server, nullptr);
  const Dialer ops = {.ca_file = Cert("ca"), .cert_file = Cert("ops"), .key_file = Key("ops")};
  const Dialer stranger = {
      .ca_file = Cert("ca"), .cert_file = Cert("stranger"), .key_file = Key("stranger")};
  ASSERT_TRUE(Call(server->address(), ops).status.ok());
  ASSERT_FALSE(Call(server->address(), stranger).status.ok());

  fs::remove(files.cert());
  ASSERT_THAT(WatchedFiles::Install(Cert("other_ca"), files.client_ca()), IsOk());
  EXPECT_TRUE(WaitFor([&] { return Call(server->address(), stranger).status.ok(); }, kReloadWait,
                      "the new client CA to be in force"));
  const CallResult result = Call(server->address(), stranger);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.server_common_name, "esgw-server");
  EXPECT_EQ(result.subject_seen_by_server, "CN=ops,O=Example Org");
  EXPECT_EQ(Call(server->address(), ops).status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old client CA is no longer trusted";
}

// ---- ValidateServerTls ----

TEST_F(TlsCredentialsTest, ValidOptionsPass) {
  EXPECT_THAT(ValidateServerTls({}), IsOk());
  EXPECT_THAT(ValidateServerTls({.cert_file = Cert("server"), .key_file = Key("server")}), IsOk());
  EXPECT_THAT(ValidateServerTls({.cert_file = Cert("server"),
                                 .key_file = Key("server"),
                                 .client_ca_file = Cert("client_ca"),
                                 .reload_interval = absl::Seconds(1)}),
              IsOk());
  // A chain file: the leaf first, then its CA.
  const std::string chain = *dir_ + "/chain.pem";
  ASSERT_THAT(WatchedFiles::InstallText(Slurp(Cert("server")) + Slurp(Cert("ca")), chain), IsOk());
  EXPECT_THAT(ValidateServerTls({.cert_file = chain, .key_file = Key("server")}), IsOk());
}

TEST_F(TlsCredentialsTest, EachRuleNamesItsFlag) {
  const std::string missing = *dir_ + "/no-such-file.pem";
  const std::string not_pem = *dir_ + "/not-pem.txt";
  ASSERT_THAT(WatchedFiles::InstallText("subjectAltName=DNS:localhost\n", not_pem), IsOk());
  // PEM, but a passphrase away from usable: refused, and never prompted for.
  const std::string encrypted_key = *dir_ + "/encrypted-key.pem";
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> openssl =
      testing::Subprocess::Start({"openssl", "pkey", "-in", Key("server"), "-aes256", "-passout",
                                  "pass:secret", "-out", encrypted_key});
  ASSERT_THAT(openssl, IsOk());
  const absl::StatusOr<int> exit_code = (*openssl)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok() && *exit_code == 0) << (*openssl)->Log();

  const std::string server_cert = Cert("server");
  const std::string server_key = Key("server");
  struct Case {
    std::string what = "";
    ServerTlsOptions options = {};
    std::string flag = "";
    std::string rule = "";
  };
  const std::vector<Case> cases = {
      {"certificate without key", {.cert_file = server_cert}, "--tls_key", "--tls_cert"},
      {"key without certificate", {.key_file = server_key}, "--tls_cert", "--tls_key"},
      {"client CA without TLS",
       {.client_ca_file = Cert("client_ca")},
       "--tls_client_ca",
       "--tls_cert"},
      {"certificate unreadable",
       {.cert_file = missing, .key_file = server_key},
       "--tls_cert",
       "cannot read"},
      {"certificate is a directory",
       {.cert_file = *dir_, .key_file = server_key},
       "--tls_cert",
       "cannot read"},
      {"certificate not PEM",
       {.cert_file = not_pem, .key_file = server_key},
       "--tls_cert",
       "no PEM certificate"},
      {"certificate file holds a key",
       {.cert_file = server_key, .key_file = server_key},
       "--tls_cert",
       "no PEM certificate"},
      {"key unreadable",
       {.cert_file = server_cert, .key_file = missing},
       "--tls_key",
       "cannot read"},
      {"key file holds a certificate",
       {.cert_file = server_cert, .key_file = server_cert},
       "--tls_key",
       "no unencrypted PEM private key"},
      {"key encrypted",
       {.cert_file = server_cert, .key_file = encrypted_key},
       "--tls_key",
       "no unencrypted PEM private key"},
      {"key of another certificate",
       {.cert_file = server_cert, .key_file = Key("renewed")},
       "--tls_key",
       "is not the private key of the certificate"},
      {"client CA unreadable",
       {.cert_file = server_cert, .key_file = server_key, .client_ca_file = missing},
       "--tls_client_ca",
       "cannot read"},
      {"client CA without a certificate",
       {.cert_file = server_cert, .key_file = server_key, .client_ca_file = not_pem},
       "--tls_client_ca",
       "no PEM certificate"},
      {"reload interval under 1s",
       {.cert_file = server_cert, .key_file = server_key, .reload_interval = absl::Seconds(0)},
       "--tls_reload_interval",
       "from 1s"},
      {"reload interval negative",
       {.reload_interval = absl::Seconds(-5)},
       "--tls_reload_interval",
       "from 1s"},
      {"reload interval not whole seconds",
       {.cert_file = server_cert,
        .key_file = server_key,
        .reload_interval = absl::Milliseconds(1500)},
       "--tls_reload_interval",
       "whole seconds"},
      {"reload interval beyond an unsigned int of seconds",
       {.reload_interval = absl::InfiniteDuration()},
       "--tls_reload_interval",
       "whole seconds"},
  };
  for (const Case& c : cases) {
    const absl::Status status = ValidateServerTls(c.options);
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(c.flag + ": ")))
        << c.what;
    EXPECT_THAT(status.message(), HasSubstr(c.rule)) << c.what;
    EXPECT_THAT(status.message(), Not(HasSubstr("BEGIN"))) << c.what << ": no file contents";
    // MakeServerCredentials checks first and returns the same error.
    EXPECT_EQ(MakeServerCredentials(c.options).status(), status) << c.what;
  }
}

}  // namespace
}  // namespace esgw
