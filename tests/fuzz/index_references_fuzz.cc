// Fuzz target: any bytes as a search body given to FindIndexReferences
// (server/index_references.h), the check that finds the indices a query reads besides its targets.
// Invariants: a result comes only for a JSON object (or an empty body) and is the same when asked
// twice; it is within kMaxIndexReferences, without exact duplicates, each reference with a known
// feature, an index without ',' (lists are split), and a non-empty path within its bound, all
// valid UTF-8; a rejection is INVALID_ARGUMENT naming the field, and says the JSON is invalid only
// when it is.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "server/index_references.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/request_checks.h"

namespace {

bool Same(const std::vector<esgw::IndexReference>& a, const std::vector<esgw::IndexReference>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].index != b[i].index || a[i].path != b[i].path || a[i].feature != b[i].feature) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser parser;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<esgw::IndexReference>> found =
      esgw::FindIndexReferences(body, "body_json");
  const absl::StatusOr<std::vector<esgw::IndexReference>> again =
      esgw::FindIndexReferences(body, "body_json");
  ESGW_FUZZ_CHECK(found.status() == again.status());
  const bool is_object = esgw::fuzz::IsJsonObject(body, parser);

  if (!found.ok()) {
    esgw::fuzz::CheckRejected(found.status());
    ESGW_FUZZ_CHECK(esgw::GetErrorInfo(found.status()).metadata["field"] == "body_json");
    if (is_object) {
      ESGW_FUZZ_CHECK_NOTE(!absl::StrContains(found.status().message(), "valid JSON") &&
                               !absl::StrContains(found.status().message(), "JSON object"),
                           found.status().ToString());
    }
    return 0;
  }
  ESGW_FUZZ_CHECK(Same(*found, *again));
  ESGW_FUZZ_CHECK(body.empty() ? found->empty() : is_object);
  ESGW_FUZZ_CHECK(found->size() <= esgw::kMaxIndexReferences);
  std::set<std::pair<std::string, std::string>> seen;
  for (const esgw::IndexReference& reference : *found) {
    ESGW_FUZZ_CHECK(seen.emplace(reference.path, reference.index).second);
    ESGW_FUZZ_CHECK_NOTE(
        reference.feature == "terms lookup" || reference.feature == "more_like_this" ||
            reference.feature == "percolate" || reference.feature == "indexed_shape" ||
            reference.feature == "pinned" || reference.feature == "lookup runtime field" ||
            reference.feature == "wrapper query",
        reference.feature);
    ESGW_FUZZ_CHECK_NOTE(reference.index.find(',') == std::string::npos, reference.index);
    ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(reference.index));
    ESGW_FUZZ_CHECK(!reference.path.empty());
    ESGW_FUZZ_CHECK_NOTE(reference.path.size() <= 512 + 3, reference.path);
    ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsUtf8(reference.path), reference.path);
    // A wrapper query is reported only when it cannot be read, with no index.
    if (reference.feature == "wrapper query") ESGW_FUZZ_CHECK(reference.index.empty());
  }
  return 0;
}
