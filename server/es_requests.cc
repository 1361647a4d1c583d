#include "server/es_requests.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"
#include "server/validation.h"

namespace esgw {
namespace {

// URL parameters of _search that a client may set. Anything that changes what the endpoint is
// (e.g. "scroll", "filter_path" which would hide fields we parse) or the response format
// ("format", "pretty", "human", "error_trace") stays out.
const absl::flat_hash_set<std::string>& SearchParams() {
  static const auto* params = new absl::flat_hash_set<std::string>{
      "allow_no_indices",
      "allow_partial_search_results",
      "batched_reduce_size",
      "ccs_minimize_roundtrips",
      "expand_wildcards",
      "ignore_unavailable",
      "max_concurrent_shard_requests",
      "pre_filter_shard_size",
      "request_cache",
      "search_type",
      "track_total_hits",
      "typed_keys",
      "rest_total_hits_as_int",
      "timeout",
      "terminate_after",
  };
  return *params;
}

// "/a,b" for the targets, or "" for all indices.
absl::StatusOr<std::string> TargetPath(const google::protobuf::RepeatedPtrField<std::string>& names,
                                       IndexUse use, absl::string_view field) {
  if (names.empty()) return std::string();
  std::vector<std::string> encoded;
  encoded.reserve(names.size());
  for (int i = 0; i < names.size(); ++i) {
    ESGW_RETURN_IF_ERROR(ValidateIndexName(names[i], use, absl::StrCat(field, "[", i, "]"),
                                           /*first_target=*/i == 0));
    encoded.push_back(PercentEncode(names[i]));
  }
  return absl::StrCat("/", absl::StrJoin(encoded, ","));
}

void AppendParam(std::string* query, absl::string_view key, absl::string_view value) {
  absl::StrAppend(query, query->empty() ? "?" : "&", key, "=", PercentEncode(value));
}

}  // namespace

absl::StatusOr<HttpRequest> BuildSearchRequest(const esgw::v1::SearchRequest& request) {
  ESGW_ASSIGN_OR_RETURN(std::string targets,
                        TargetPath(request.indices(), IndexUse::kRead, "indices"));
  std::string query;
  if (!request.routing().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.routing(), "routing"));
    AppendParam(&query, "routing", request.routing());
  }
  if (!request.preference().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.preference(), "preference"));
    AppendParam(&query, "preference", request.preference());
  }
  // Sorted, so the same request always makes the same URL (logs, caches, tests).
  std::vector<std::pair<std::string, std::string>> params(request.params().begin(),
                                                          request.params().end());
  std::sort(params.begin(), params.end());
  for (const auto& [key, value] : params) {
    const std::string field = absl::StrCat("params[", key, "]");
    if (!SearchParams().contains(key)) {
      std::vector<std::string> allowed(SearchParams().begin(), SearchParams().end());
      std::sort(allowed.begin(), allowed.end());
      return InvalidField(field,
                          absl::StrCat("'", key, "' is not an allowed search parameter; allowed: ",
                                       absl::StrJoin(allowed, ", ")));
    }
    ESGW_RETURN_IF_ERROR(ValidateParamValue(value, field));
    AppendParam(&query, key, value);
  }
  HttpRequest http;
  http.method = HttpMethod::kPost;
  http.path = absl::StrCat(targets, "/_search", query);
  ESGW_ASSIGN_OR_RETURN(
      http.body,
      JsonObjectBody(request.body_case() == esgw::v1::SearchRequest::kBodyJson, request.body_json(),
                     request.body_case() == esgw::v1::SearchRequest::kBodyStruct,
                     request.body_struct(), "body_json", "body_struct"));
  http.content_type = "application/json";
  return http;
}

}  // namespace esgw
