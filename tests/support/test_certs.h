// TestCertificates: private CAs and leaf certificates signed by them, made with the openssl CLI
// into a directory, for tests of TLS peers (gRPC, curl, HTTPS servers). Keys are unencrypted EC
// P-256 PEM; certificates are valid for two days from now.
//   auto certs = TestCertificates::Create(dir);  // the CA "ca"
//   certs->AddLeaf("server", {.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}});
//   certs->CertPath("server"), certs->KeyPath("server"), certs->CertPath("ca")
// Thread-compatible. The caller owns the directory and removes it; the helper only adds files.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace esgw::testing {

// What a leaf may be used for (extendedKeyUsage); TLS stacks check it against the side it is on.
enum class CertificateUsage { kServer, kClient, kServerAndClient };

struct LeafOptions {
  // The CA that signs the leaf: "ca", or a name given to AddCa.
  std::string issuer = "ca";
  // Subject CN; empty means the leaf's name. Subject O when not empty. Neither may contain '/'.
  std::string common_name = "";
  std::string organization = "";
  // subjectAltName entries; a leaf with neither has no subjectAltName.
  std::vector<std::string> dns_names = {};
  std::vector<std::string> ip_addresses = {};
  CertificateUsage usage = CertificateUsage::kServer;
};

class TestCertificates {
 public:
  // Makes dir (and its parents) when missing, and in it the CA "ca" with subject
  // CN=<ca_common_name>. INTERNAL with the openssl output when the CLI fails (or is missing).
  static absl::StatusOr<TestCertificates> Create(std::string dir,
                                                 std::string ca_common_name = "esgw test ca");

  // Another self-signed CA, e.g. one the peer does not trust. CN defaults to "esgw test <name>".
  // INVALID_ARGUMENT for a name that is empty or holds '/'; INTERNAL when openssl fails.
  absl::Status AddCa(const std::string& name, std::string common_name = "");

  // A leaf certificate and key signed by options.issuer; replaces an earlier leaf of that name.
  // INVALID_ARGUMENT for a bad name or subject, or an issuer that is not one of our CAs; INTERNAL
  // when openssl fails.
  absl::Status AddLeaf(const std::string& name, const LeafOptions& options);

  const std::string& dir() const { return dir_; }
  // <dir>/<name>.pem: the certificate of a CA or a leaf (a leaf's file holds only the leaf).
  std::string CertPath(const std::string& name) const;
  // <dir>/<name>-key.pem: its private key.
  std::string KeyPath(const std::string& name) const;

 private:
  explicit TestCertificates(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  std::set<std::string> cas_;
  // Serial numbers are unique per helper, so no two certificates a CA signs share one.
  int next_serial_ = 1000;
};

}  // namespace esgw::testing
