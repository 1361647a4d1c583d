#include "server/es_requests.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"
#include "pool/utf8.h"
#include "server/validation.h"

namespace esgw {
namespace {

using ParamSet = absl::flat_hash_set<std::string>;

// URL parameters of _search that a client may set. Anything that changes what the endpoint is
// (e.g. "scroll", "filter_path" which would hide fields we parse) or the response format
// ("format", "pretty", "human", "error_trace") stays out.
const ParamSet& SearchParams() {
  static const auto* params = new ParamSet{
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

// The search parameters an _msearch header line accepts (Elasticsearch rejects any other key
// with "key [..] is not supported in the metadata section"); routing and preference have their
// own fields. The rest of SearchParams() either belongs in the search body (timeout,
// terminate_after, track_total_hits) or applies to the whole _msearch request.
const ParamSet& MultiSearchHeaderParams() {
  static const auto* params = new ParamSet{
      "allow_no_indices", "allow_partial_search_results", "ccs_minimize_roundtrips",
      "expand_wildcards", "ignore_unavailable",           "request_cache",
      "search_type",
  };
  return *params;
}

// Header parameters that Elasticsearch reads as booleans; they go into the header as JSON
// true/false, so anything else is refused here rather than by Elasticsearch.
const ParamSet& MultiSearchBooleanParams() {
  static const auto* params = new ParamSet{
      "allow_no_indices",        "allow_partial_search_results",
      "ccs_minimize_roundtrips", "ignore_unavailable",
      "request_cache",
  };
  return *params;
}

// Search targets as Search takes them: validated one by one, exclusions only after a target.
absl::Status ValidateTargets(const google::protobuf::RepeatedPtrField<std::string>& names,
                             absl::string_view field) {
  for (int i = 0; i < names.size(); ++i) {
    ESGW_RETURN_IF_ERROR(ValidateIndexName(names[i], IndexUse::kRead,
                                           absl::StrCat(field, "[", i, "]"),
                                           /*first_target=*/i == 0));
  }
  return absl::OkStatus();
}

// "/a,b" for validated targets, or "" for all indices.
std::string TargetPath(const google::protobuf::RepeatedPtrField<std::string>& names) {
  if (names.empty()) return std::string();
  std::vector<std::string> encoded;
  encoded.reserve(names.size());
  for (const std::string& name : names) encoded.push_back(PercentEncode(name));
  return absl::StrCat("/", absl::StrJoin(encoded, ","));
}

void AppendParam(std::string* query, absl::string_view key, absl::string_view value) {
  absl::StrAppend(query, query->empty() ? "?" : "&", key, "=", PercentEncode(value));
}

}  // namespace

absl::StatusOr<std::string> SearchBodyJson(const esgw::v1::SearchRequest& search,
                                           absl::string_view prefix) {
  return JsonObjectBody(
      search.body_case() == esgw::v1::SearchRequest::kBodyJson, search.body_json(),
      search.body_case() == esgw::v1::SearchRequest::kBodyStruct, search.body_struct(),
      absl::StrCat(prefix, "body_json"), absl::StrCat(prefix, "body_struct"));
}

namespace {

// A SearchRequest checked against the rules _search and _msearch share.
struct CheckedSearch {
  // routing and preference when set, then the allow-listed params sorted by key, so the same
  // request always makes the same URL or header line (logs, caches, tests).
  std::vector<std::pair<std::string, std::string>> params;
  // The body as JSON text, "{}" when none was set.
  std::string body;
};

// Validates request; prefix goes before every field name in errors ("" or "searches[2].").
// allowed is the allow-list for params, described as `what` in the rejection.
absl::StatusOr<CheckedSearch> CheckSearch(const esgw::v1::SearchRequest& request,
                                          absl::string_view prefix, const ParamSet& allowed,
                                          absl::string_view what) {
  ESGW_RETURN_IF_ERROR(ValidateTargets(request.indices(), absl::StrCat(prefix, "indices")));
  CheckedSearch checked;
  if (!request.routing().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.routing(), absl::StrCat(prefix, "routing")));
    checked.params.emplace_back("routing", request.routing());
  }
  if (!request.preference().empty()) {
    ESGW_RETURN_IF_ERROR(
        ValidateParamValue(request.preference(), absl::StrCat(prefix, "preference")));
    checked.params.emplace_back("preference", request.preference());
  }
  std::vector<std::pair<std::string, std::string>> params(request.params().begin(),
                                                          request.params().end());
  std::sort(params.begin(), params.end());
  for (auto& [key, value] : params) {
    const std::string field = absl::StrCat(prefix, "params[", key, "]");
    if (!allowed.contains(key)) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::sort(names.begin(), names.end());
      return InvalidField(field, absl::StrCat("'", key, "' is not an allowed ", what,
                                              "; allowed: ", absl::StrJoin(names, ", ")));
    }
    ESGW_RETURN_IF_ERROR(ValidateParamValue(value, field));
    checked.params.emplace_back(std::move(key), std::move(value));
  }
  ESGW_ASSIGN_OR_RETURN(checked.body, SearchBodyJson(request, prefix));
  return checked;
}

// One search of an _msearch as its header line and body line, each ending in "\n".
absl::Status AppendMultiSearchItem(const esgw::v1::SearchRequest& search, int i,
                                   std::string* ndjson) {
  const std::string prefix = absl::StrCat("searches[", i, "].");
  ESGW_ASSIGN_OR_RETURN(
      CheckedSearch checked,
      CheckSearch(search, prefix, MultiSearchHeaderParams(), "multi-search header parameter"));
  std::vector<std::string> members;
  if (!search.indices().empty()) {
    std::vector<std::string> quoted;
    quoted.reserve(search.indices_size());
    for (const std::string& name : search.indices()) quoted.push_back(JsonQuote(name));
    members.push_back(absl::StrCat("\"index\":[", absl::StrJoin(quoted, ","), "]"));
  }
  for (const auto& [key, value] : checked.params) {
    if (MultiSearchBooleanParams().contains(key)) {
      if (value != "true" && value != "false") {
        return InvalidField(absl::StrCat(prefix, "params[", key, "]"), "must be true or false");
      }
      members.push_back(absl::StrCat(JsonQuote(key), ":", value));
    } else {
      members.push_back(absl::StrCat(JsonQuote(key), ":", JsonQuote(value)));
    }
  }
  // NDJSON needs the body on one line. The body is valid JSON (checked above), where a raw CR or
  // LF can only be whitespace between tokens (inside strings they must be escaped), so turning
  // them into spaces keeps its meaning.
  std::replace_if(
      checked.body.begin(), checked.body.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  absl::StrAppend(ndjson, "{", absl::StrJoin(members, ","), "}\n", checked.body, "\n");
  return absl::OkStatus();
}

// A document id as one path segment. "." and ".." would be taken as dot segments and removed
// by URL normalisation (curl does it), so their dots are encoded too.
std::string IdPathSegment(absl::string_view id) {
  if (id == ".") return "%2E";
  if (id == "..") return "%2E%2E";
  return PercentEncode(id);
}

}  // namespace

absl::StatusOr<HttpRequest> BuildSearchRequest(const esgw::v1::SearchRequest& request) {
  ESGW_ASSIGN_OR_RETURN(CheckedSearch checked,
                        CheckSearch(request, "", SearchParams(), "search parameter"));
  std::string query;
  for (const auto& [key, value] : checked.params) AppendParam(&query, key, value);
  HttpRequest http;
  http.method = HttpMethod::kPost;
  http.path = absl::StrCat(TargetPath(request.indices()), "/_search", query);
  http.body = std::move(checked.body);
  http.content_type = "application/json";
  return http;
}

absl::StatusOr<HttpRequest> BuildCountRequest(const esgw::v1::CountRequest& request) {
  ESGW_RETURN_IF_ERROR(ValidateTargets(request.indices(), "indices"));
  std::string query;
  if (!request.routing().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.routing(), "routing"));
    AppendParam(&query, "routing", request.routing());
  }
  HttpRequest http;
  http.method = HttpMethod::kPost;
  http.path = absl::StrCat(TargetPath(request.indices()), "/_count", query);
  ESGW_ASSIGN_OR_RETURN(
      http.body,
      JsonObjectBody(request.body_case() == esgw::v1::CountRequest::kBodyJson, request.body_json(),
                     request.body_case() == esgw::v1::CountRequest::kBodyStruct,
                     request.body_struct(), "body_json", "body_struct"));
  http.content_type = "application/json";
  return http;
}

absl::StatusOr<HttpRequest> BuildGetRequest(const esgw::v1::GetRequest& request) {
  ESGW_RETURN_IF_ERROR(ValidateIndexName(request.index(), IndexUse::kWrite, "index"));
  ESGW_RETURN_IF_ERROR(ValidateDocumentId(request.id(), "id"));
  std::string query;
  if (!request.routing().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.routing(), "routing"));
    AppendParam(&query, "routing", request.routing());
  }
  if (!request.preference().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateParamValue(request.preference(), "preference"));
    AppendParam(&query, "preference", request.preference());
  }
  if (request.refresh()) AppendParam(&query, "refresh", "true");
  HttpRequest http;
  http.method = HttpMethod::kGet;
  http.path = absl::StrCat("/", PercentEncode(request.index()), "/_doc/",
                           IdPathSegment(request.id()), query);
  return http;
}

absl::StatusOr<HttpRequest> BuildMultiSearchRequest(const esgw::v1::MultiSearchRequest& request) {
  if (request.searches().empty()) {
    return InvalidField("searches", "must hold at least one search");
  }
  if (request.max_concurrent_searches() < 0) {
    return InvalidField("max_concurrent_searches", "must not be negative (0 leaves the default)");
  }
  HttpRequest http;
  http.method = HttpMethod::kPost;
  http.path = "/_msearch";
  if (request.max_concurrent_searches() > 0) {
    absl::StrAppend(&http.path, "?max_concurrent_searches=", request.max_concurrent_searches());
  }
  for (int i = 0; i < request.searches_size(); ++i) {
    ESGW_RETURN_IF_ERROR(AppendMultiSearchItem(request.searches(i), i, &http.body));
  }
  http.content_type = "application/x-ndjson";
  return http;
}

}  // namespace esgw
