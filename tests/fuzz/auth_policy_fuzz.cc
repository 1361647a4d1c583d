// Fuzz target: any bytes as the text of an --auth_file, read by AuthPolicy::Parse
// (server/auth_policy.h).
// Invariants: no exception escapes (yaml-cpp throws; Parse must catch); a failure is
// INVALID_ARGUMENT naming the file; a policy that loads is not open access and every principal in
// it obeys the file's rules: a valid name used once, a token or a certificate subject (each used
// once, and found by it), permissions that are some of read, write and admin, index patterns
// that are valid targets whenever it may read or write, limits of at least 1.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/auth_policy.h"
#include "server/validation.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const esgw::PrincipalLimits limits{.max_concurrent_rpcs = 5, .max_ingest_streams = 2};
  const absl::StatusOr<std::shared_ptr<const esgw::AuthPolicy>> policy =
      esgw::AuthPolicy::Parse(text, "auth.yaml", limits);
  if (!policy.ok()) {
    esgw::fuzz::CheckError(policy.status(), absl::StatusCode::kInvalidArgument, "");
    ESGW_FUZZ_CHECK_NOTE(absl::StartsWith(policy.status().message(), "auth_file 'auth.yaml'"),
                         policy.status().ToString());
    return 0;
  }
  const esgw::AuthPolicy& loaded = **policy;
  ESGW_FUZZ_CHECK(!loaded.open());
  ESGW_FUZZ_CHECK(!loaded.principals().empty());
  std::set<std::string> names;
  for (const esgw::Principal& principal : loaded.principals()) {
    ESGW_FUZZ_CHECK(names.insert(principal.name).second);
    ESGW_FUZZ_CHECK(!principal.name.empty() && principal.name.size() <= 128);
    for (const char c : principal.name) {
      ESGW_FUZZ_CHECK_NOTE(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                               absl::string_view("._-@:").find(c) != absl::string_view::npos,
                           principal.name);
    }
    ESGW_FUZZ_CHECK(principal.token_sha256.has_value() || !principal.client_cert_subject.empty());
    if (!principal.client_cert_subject.empty()) {
      ESGW_FUZZ_CHECK(loaded.FindBySubject(principal.client_cert_subject) == &principal);
    }
    ESGW_FUZZ_CHECK(principal.permissions >= 1 && principal.permissions <= 7);
    if (principal.Has(esgw::Permission::kRead) || principal.Has(esgw::Permission::kWrite)) {
      ESGW_FUZZ_CHECK(!principal.indices.empty());
    }
    for (const std::string& pattern : principal.indices) {
      ESGW_FUZZ_CHECK_NOTE(pattern != "_all", pattern);
      ESGW_FUZZ_CHECK_NOTE(esgw::ValidateIndexName(pattern, esgw::IndexUse::kRead, "p").ok(),
                           pattern);
    }
    ESGW_FUZZ_CHECK(principal.limits.max_concurrent_rpcs >= 1);
    ESGW_FUZZ_CHECK(principal.limits.max_ingest_streams >= 1);
  }
  // No certificate is no principal.
  ESGW_FUZZ_CHECK(loaded.FindBySubject("") == nullptr);
  return 0;
}
