// Parsing and execution of search and count requests over in-memory indices: query, post_filter,
// from/size, sort (fields, _score, _doc, search_after), _source filtering, track_total_hits and
// terms/min/max/avg/sum/value_count/cardinality aggregations. Responses follow ES 8's shape;
// each hit's _source is the stored bytes unless filtering was asked for.
// Stateless functions; thread-safe as long as the indices are not modified meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/devcluster/index_data.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/query.h"

namespace esgw::devcluster {

using ParamMap = absl::flat_hash_map<std::string, std::string>;

struct SortSpec {
  std::string field;  // a field, "_score" or "_doc"
  bool descending = false;
  bool missing_first = false;
  std::optional<std::string> unmapped_type;
};

struct SourceFilter {
  bool enabled = true;
  std::vector<std::string> includes;
  std::vector<std::string> excludes;
  bool filtering() const { return !includes.empty() || !excludes.empty(); }
};

struct AggSpec {
  std::string name;
  std::string type;  // terms, min, max, avg, sum, value_count, cardinality
  std::string field;
  int size = 10;
  int64_t min_doc_count = 1;
  bool order_by_key = false;
  bool order_ascending = false;
  std::optional<Json> missing;
  std::vector<AggSpec> subs;
};

struct SearchRequest {
  std::unique_ptr<Query> query;  // null: match_all
  std::unique_ptr<Query> post_filter;
  int64_t from = 0;
  int64_t size = 10;
  std::vector<SortSpec> sort;
  bool track_scores = false;
  SourceFilter source;
  int64_t track_total_hits = 10000;  // -1: off; INT64_MAX: exact
  bool rest_total_hits_as_int = false;
  bool version = false;
  bool seq_no_primary_term = false;
  bool typed_keys = false;
  std::optional<Json> search_after;
  std::vector<AggSpec> aggs;
};

// Parses a search body (empty means match_all) and applies URL parameters (size, from, sort,
// _source, _source_includes/_excludes, track_total_hits, track_scores, q, version,
// seq_no_primary_term, typed_keys, rest_total_hits_as_int). Errors: EsError statuses
// (x_content_parse_exception, parsing_exception, illegal_argument_exception).
absl::StatusOr<SearchRequest> ParseSearchRequest(absl::string_view body, const ParamMap& params);

// Parses the body of _count (only "query" is allowed) and the q parameter.
absl::StatusOr<std::unique_ptr<Query>> ParseCountRequest(absl::string_view body,
                                                         const ParamMap& params);

// Runs `request` over `indices` (in that order) and renders the response body. Errors: EsError
// statuses, e.g. sorting or aggregating on a text field.
absl::StatusOr<std::string> ExecuteSearch(const std::vector<const IndexData*>& indices,
                                          const SearchRequest& request, absl::string_view node_id,
                                          absl::Time start);

int64_t CountMatches(const std::vector<const IndexData*>& indices, const Query* query);

// '*' wildcard matching of a whole string.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

// Applies _source includes/excludes (dotted paths, '*' wildcards) to a document.
Json FilterSource(const Json& source, const SourceFilter& filter);

}  // namespace esgw::devcluster
