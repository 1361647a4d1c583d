#include "tests/support/test_certs.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace esgw::testing {
namespace {

// Runs the openssl CLI to its end; INTERNAL with the command line and its output when it fails.
absl::Status RunOpenssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(args);
  if (!child.ok()) {
    return absl::InternalError(absl::StrCat("cannot run openssl: ", child.status().message()));
  }
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(30));
  if (!code.ok()) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), ": ", code.status().message(),
                                            "\n", (*child)->Log()));
  }
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(args, " "), " exited with ", *code, ":\n", (*child)->Log()));
  }
  return absl::OkStatus();
}

// Names become file names, and subject parts go into openssl's "/K=V/..." form, where '/' would
// start another attribute.
absl::Status CheckName(absl::string_view what, const std::string& name, bool may_be_empty) {
  if ((name.empty() && !may_be_empty) || absl::StrContains(name, '/')) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", name, "\" must be non-empty and free of '/'"));
  }
  return absl::OkStatus();
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  return out ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

// A new unencrypted EC P-256 key, for openssl req.
constexpr const char* kKeyArgs[] = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                    "-nodes"};

}  // namespace

absl::StatusOr<TestCertificates> TestCertificates::Create(std::string dir,
                                                          std::string ca_common_name) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot make ", dir, ": ", error.message()));
  }
  TestCertificates certs(std::move(dir));
  if (absl::Status made = certs.AddCa("ca", std::move(ca_common_name)); !made.ok()) return made;
  return certs;
}

std::string TestCertificates::CertPath(const std::string& name) const {
  return absl::StrCat(dir_, "/", name, ".pem");
}

std::string TestCertificates::KeyPath(const std::string& name) const {
  return absl::StrCat(dir_, "/", name, "-key.pem");
}

absl::Status TestCertificates::AddCa(const std::string& name, std::string common_name) {
  if (absl::Status s = CheckName("CA name", name, false); !s.ok()) return s;
  if (common_name.empty()) common_name = absl::StrCat("esgw test ", name);
  if (absl::Status s = CheckName("CA common name", common_name, false); !s.ok()) return s;
  std::vector<std::string> args = {"req", "-x509"};
  args.insert(args.end(), std::begin(kKeyArgs), std::end(kKeyArgs));
  args.insert(args.end(),
              {"-keyout", KeyPath(name), "-out", CertPath(name), "-days", "2", "-subj",
               absl::StrCat("/CN=", common_name), "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  if (absl::Status s = RunOpenssl(std::move(args)); !s.ok()) return s;
  cas_.insert(name);
  return absl::OkStatus();
}

absl::Status TestCertificates::AddLeaf(const std::string& name, const LeafOptions& options) {
  if (absl::Status s = CheckName("leaf name", name, false); !s.ok()) return s;
  const std::string common_name = options.common_name.empty() ? name : options.common_name;
  if (absl::Status s = CheckName("common name", common_name, false); !s.ok()) return s;
  if (absl::Status s = CheckName("organization", options.organization, true); !s.ok()) return s;
  if (!cas_.contains(options.issuer)) {
    return absl::InvalidArgumentError(
        absl::StrCat("issuer \"", options.issuer, "\" is not a CA made by this helper"));
  }

  // The subject is written most general first, as openssl's -subj expects it.
  std::string subject;
  if (!options.organization.empty()) absl::StrAppend(&subject, "/O=", options.organization);
  absl::StrAppend(&subject, "/CN=", common_name);

  std::vector<std::string> alt_names;
  for (const std::string& dns : options.dns_names) alt_names.push_back("DNS:" + dns);
  for (const std::string& ip : options.ip_addresses) alt_names.push_back("IP:" + ip);
  absl::string_view usage = "serverAuth";
  if (options.usage == CertificateUsage::kClient) usage = "clientAuth";
  if (options.usage == CertificateUsage::kServerAndClient) usage = "serverAuth,clientAuth";
  // digitalSignature is what an ECDSA key does in a TLS handshake.
  std::string extensions = absl::StrCat(
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
      "extendedKeyUsage=", usage, "\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  if (!alt_names.empty()) {
    absl::StrAppend(&extensions, "subjectAltName=", absl::StrJoin(alt_names, ","), "\n");
  }

  // The request and the extensions are only inputs to the signing step; they are removed after.
  const std::string csr = absl::StrCat(dir_, "/", name, ".csr");
  const std::string ext = absl::StrCat(dir_, "/", name, ".ext");
  std::vector<std::string> request = {"req", "-new"};
  request.insert(request.end(), std::begin(kKeyArgs), std::end(kKeyArgs));
  request.insert(request.end(), {"-keyout", KeyPath(name), "-out", csr, "-subj", subject});
  absl::Status s = RunOpenssl(std::move(request));
  if (s.ok()) s = WriteTextFile(ext, extensions);
  if (s.ok()) {
    s = RunOpenssl({"x509", "-req", "-in", csr, "-CA", CertPath(options.issuer), "-CAkey",
                    KeyPath(options.issuer), "-set_serial", absl::StrCat(next_serial_++), "-days",
                    "2", "-extfile", ext, "-out", CertPath(name)});
  }
  std::error_code ignored;
  std::filesystem::remove(csr, ignored);
  std::filesystem::remove(ext, ignored);
  return s;
}

}  // namespace esgw::testing
