#include "server/tls_credentials.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pool/status_macros.h"

namespace esgw {
namespace {

constexpr absl::string_view kCertFlag = "--tls_cert";
constexpr absl::string_view kKeyFlag = "--tls_key";
constexpr absl::string_view kClientCaFlag = "--tls_client_ca";
constexpr absl::string_view kReloadFlag = "--tls_reload_interval";

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

absl::Status Invalid(absl::string_view flag, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", rule));
}

// The whole file, or INVALID_ARGUMENT naming the flag, the path and the system's reason.
absl::StatusOr<std::string> ReadWholeFile(absl::string_view flag, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Invalid(flag, absl::StrCat("cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::string content;
  char buffer[8192];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) content.append(buffer, n);
  // fopen succeeds on a directory; the read is what fails (EISDIR).
  const bool failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (failed) {
    return Invalid(flag, absl::StrCat("cannot read \"", path, "\": ", std::strerror(read_errno)));
  }
  return content;
}

BioPtr MemoryBio(const std::string& content) {
  return BioPtr(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
}

// Every PEM certificate in content, in order; stops at the first block that is not one.
std::vector<X509Ptr> ParseCertificates(const std::string& content) {
  std::vector<X509Ptr> certificates;
  BioPtr bio = MemoryBio(content);
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certificates.push_back(std::move(cert));
  }
  // The loop always ends on an error ("no start line" at best); the queue is per thread and
  // would otherwise surface in the next unrelated OpenSSL caller on this thread.
  ERR_clear_error();
  return certificates;
}

// Refuses to prompt on the terminal for an encrypted key's passphrase, which is what OpenSSL's
// default callback would do: gRPC cannot use encrypted keys anyway.
int NoPassphrase(char*, int, int, void*) { return -1; }

KeyPtr ParsePrivateKey(const std::string& content) {
  BioPtr bio = MemoryBio(content);
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  return key;
}

absl::Status ValidateReloadInterval(absl::Duration interval) {
  // gRPC's file watcher takes an unsigned int of seconds.
  constexpr int64_t kMaxSeconds = std::numeric_limits<unsigned int>::max();
  if (interval < absl::Seconds(1) || interval > absl::Seconds(kMaxSeconds) ||
      interval != absl::Seconds(absl::ToInt64Seconds(interval))) {
    return Invalid(kReloadFlag, absl::StrCat("must be whole seconds from 1s to ", kMaxSeconds,
                                             "s, not ", absl::FormatDuration(interval)));
  }
  return absl::OkStatus();
}

// OK when the file is readable and holds at least one PEM certificate; returns the certificates.
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(absl::string_view flag,
                                                      const std::string& path) {
  ESGW_ASSIGN_OR_RETURN(std::string content, ReadWholeFile(flag, path));
  std::vector<X509Ptr> certificates = ParseCertificates(content);
  if (certificates.empty()) {
    return Invalid(flag, absl::StrCat("\"", path, "\" holds no PEM certificate"));
  }
  return certificates;
}

}  // namespace

absl::Status ValidateServerTls(const ServerTlsOptions& options) {
  ESGW_RETURN_IF_ERROR(ValidateReloadInterval(options.reload_interval));
  if (options.cert_file.empty() && !options.key_file.empty()) {
    return Invalid(kCertFlag, "must be set when --tls_key is (they are a pair)");
  }
  if (!options.cert_file.empty() && options.key_file.empty()) {
    return Invalid(kKeyFlag, "must be set when --tls_cert is (they are a pair)");
  }
  if (options.cert_file.empty() && !options.client_ca_file.empty()) {
    return Invalid(kClientCaFlag,
                   "needs --tls_cert and --tls_key: client certificates are only asked for on TLS");
  }
  if (options.cert_file.empty()) return absl::OkStatus();

  ESGW_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, ReadCertificates(kCertFlag, options.cert_file));
  ESGW_ASSIGN_OR_RETURN(std::string key_pem, ReadWholeFile(kKeyFlag, options.key_file));
  KeyPtr key = ParsePrivateKey(key_pem);
  if (key == nullptr) {
    return Invalid(kKeyFlag,
                   absl::StrCat("\"", options.key_file, "\" holds no unencrypted PEM private key"));
  }
  // The leaf comes first in a chain file; it is the certificate the key must belong to.
  const bool matches = X509_check_private_key(chain.front().get(), key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return Invalid(kKeyFlag, absl::StrCat("\"", options.key_file,
                                          "\" is not the private key of the certificate in \"",
                                          options.cert_file, "\""));
  }
  if (!options.client_ca_file.empty()) {
    ESGW_RETURN_IF_ERROR(ReadCertificates(kClientCaFlag, options.client_ca_file).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsOptions& options) {
  ESGW_RETURN_IF_ERROR(ValidateServerTls(options));
  if (options.cert_file.empty()) return grpc::InsecureServerCredentials();

  const auto interval = static_cast<unsigned int>(absl::ToInt64Seconds(options.reload_interval));
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (options.client_ca_file.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.key_file, options.cert_file, interval);
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.key_file, options.cert_file, options.client_ca_file, interval);
  }
  // The options hand the provider to gRPC's core, which keeps its own reference (and the watcher
  // thread) for as long as the credentials and the server that uses them live.
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!options.client_ca_file.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  if (credentials == nullptr) return absl::InternalError("gRPC refused the TLS server options");
  return credentials;
}

std::string PeerCertificateSubject(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  const std::vector<grpc::string_ref> subjects =
      auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (subjects.empty()) return "";
  return std::string(subjects.front().data(), subjects.front().size());
}

}  // namespace esgw
