// Who may call esgw and what they may touch: the principals of the --auth_file, each with a
// bearer token (kept only as its SHA-256) and/or a client certificate subject, permissions
// (read: Search, MultiSearch, Count, Get; write: Bulk, Ingest; admin: the Admin service), index
// patterns and its own limits. Without an auth file every caller is the one principal
// "anonymous", with every permission on every index.
//
// The file (YAML; JSON works too):
//   principals:
//     - name: storefront
//       token_sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//       permissions: [read]
//       indices: [products, "catalog-*"]
//     - name: ops
//       client_cert_subject: "CN=ops,O=Example"
//       permissions: [admin]
//       max_concurrent_rpcs: 8
// Keys not listed here are errors, as are duplicate names, tokens or subjects.
// Thread-safe: immutable once loaded.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace esgw {

enum class Permission { kRead = 1, kWrite = 2, kAdmin = 4 };
absl::string_view PermissionName(Permission permission);

// Per-principal limits; the flags give the defaults, the auth file may override them.
struct PrincipalLimits {
  // RPCs of any kind running at once (an Ingest stream counts for as long as it is open).
  int max_concurrent_rpcs = 1024;
  // Ingest streams open at once.
  int max_ingest_streams = 64;
};

struct Principal {
  std::string name = "";
  // SHA-256 of the bearer token; unset for a principal known only by its certificate.
  std::optional<std::array<uint8_t, 32>> token_sha256 = std::nullopt;
  // The client certificate subject, as esgw-server reports a TLS peer's (see
  // server/tls_credentials.h); empty when the principal has none.
  std::string client_cert_subject = "";
  // Bits of Permission.
  int permissions = 0;
  // Index patterns ('*' for any run of characters); see server/index_patterns.h.
  std::vector<std::string> indices = {};
  PrincipalLimits limits = {};

  bool Has(Permission permission) const {
    return (permissions & static_cast<int>(permission)) != 0;
  }
};

class AuthPolicy {
 public:
  // Open access: one principal, "anonymous", with every permission on "*".
  static std::shared_ptr<const AuthPolicy> Open(const PrincipalLimits& limits);
  // Parses an auth file's text; source names it in errors ("auth_file 'x.yaml' line 4: ...").
  // INVALID_ARGUMENT naming the principal, key and rule.
  static absl::StatusOr<std::shared_ptr<const AuthPolicy>> Parse(absl::string_view text,
                                                                 absl::string_view source,
                                                                 const PrincipalLimits& limits);
  // Reads and parses path; INVALID_ARGUMENT naming the file when it cannot be read.
  static absl::StatusOr<std::shared_ptr<const AuthPolicy>> Load(const std::string& path,
                                                                const PrincipalLimits& limits);

  bool open() const { return open_; }
  const std::vector<Principal>& principals() const { return principals_; }

  // The principal whose token this is, comparing SHA-256 digests in constant time against every
  // principal (the time taken does not depend on which one matched, or how much of one did).
  const Principal* FindByToken(absl::string_view token) const;
  const Principal* FindBySubject(absl::string_view subject) const;

  // SHA-256 of text (for token_sha256, and for tests).
  static std::array<uint8_t, 32> Sha256(absl::string_view text);

 private:
  AuthPolicy() = default;

  bool open_ = false;
  std::vector<Principal> principals_;
};

}  // namespace esgw
