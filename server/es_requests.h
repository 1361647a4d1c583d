// Turns validated gRPC requests into the Elasticsearch HTTP requests that carry them. Every
// function validates its whole input first and returns INVALID_ARGUMENT naming the field and
// the rule; nothing invalid is ever sent. Thread-safe: pure functions.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "esgw/v1/gateway.pb.h"
#include "pool/transport.h"

namespace esgw {

// POST /{indices}/_search with the body and the allow-listed URL parameters.
absl::StatusOr<HttpRequest> BuildSearchRequest(const esgw::v1::SearchRequest& request);

// POST /{indices}/_count (no indices: all) with routing; the body as for Search, "{}" (count
// every document) when none is set.
absl::StatusOr<HttpRequest> BuildCountRequest(const esgw::v1::CountRequest& request);

// GET /{index}/_doc/{id} with routing, preference, and refresh=true when refresh is set. index
// is one concrete index (no wildcards, no lists); id is required, at most 512 bytes, and
// percent-encoded into its own path segment.
absl::StatusOr<HttpRequest> BuildGetRequest(const esgw::v1::GetRequest& request);

// POST /_msearch (with max_concurrent_searches when > 0) carrying NDJSON: per search a header
// line ({"index":[...],"routing":..,"preference":.., and the params an _msearch header accepts:
// allow_no_indices, allow_partial_search_results, ccs_minimize_roundtrips, expand_wildcards,
// ignore_unavailable, request_cache, search_type}) and the body on one line. Each search is
// validated like Search, with fields named searches[i].indices[j], searches[i].params[key], ...
// At least one search is required.
absl::StatusOr<HttpRequest> BuildMultiSearchRequest(const esgw::v1::MultiSearchRequest& request);

// A search's body as the JSON text sent for it ("{}" when none is set); prefix goes before the
// field names in errors ("" or "searches[2].").
absl::StatusOr<std::string> SearchBodyJson(const esgw::v1::SearchRequest& search,
                                           absl::string_view prefix);

}  // namespace esgw
