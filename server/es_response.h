// Parsers from Elasticsearch (7, 8, OpenSearch 1/2) response bodies into esgw.v1 protos: one pass
// with simdjson On-Demand, no DOM; _source and other free-form JSON are copied as the exact bytes
// the node sent. Thread-safe: each thread parses with its own thread_local parser. The caller owns
// the body and the output; each output is cleared first, and is unspecified after an error.
//
// Each parser has two overloads. The simdjson::padded_string_view one reads in place: the caller
// guarantees simdjson::SIMDJSON_PADDING readable bytes after the body (e.g. a std::string with
// body.reserve(size + simdjson::SIMDJSON_PADDING) before filling it). The absl::string_view one
// copies the body into a padded buffer first, for callers that cannot guarantee that.
//
// Every parser returns OK, or INTERNAL with ErrorInfo reason "BAD_ES_RESPONSE" and metadata
// "path" when the body is not what Elasticsearch sends (not JSON, top level not an object,
// truncated, a field of the wrong type, a number out of range); the message names the place, e.g.
// "elasticsearch response: hits.hits[3]._id: expected a string". Unknown fields are ignored.
// Free-form values (_source, sort, aggregations, ...) are delimited, not validated, beyond UTF-8.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "esgw/v1/admin.pb.h"
#include "esgw/v1/common.pb.h"
#include "esgw/v1/gateway.pb.h"

namespace esgw {

// POST /_search: took, timed_out, _shards, hits.total (object, bare integer when
// rest_total_hits_as_int, absent when not tracked), max_score, hits (_index, _id, _score,
// _source, sort, highlight, _routing, fields), aggregations, _scroll_id / pit_id.
absl::Status ParseSearchResponse(simdjson::padded_string_view body, v1::SearchResponse* out);
absl::Status ParseSearchResponse(absl::string_view body, v1::SearchResponse* out);

// POST /_count: count (required) and _shards.
absl::Status ParseCountResponse(simdjson::padded_string_view body, v1::CountResponse* out);
absl::Status ParseCountResponse(absl::string_view body, v1::CountResponse* out);

// GET /{index}/_doc/{id}, HTTP 200 or 404: found (required), _index, _id, _version, _seq_no,
// _primary_term, _routing, _source. A 404 is either a missing document ({"found":false}, parses
// OK) or an error such as index_not_found_exception (no "found": BAD_ES_RESPONSE here), so for a
// 404 that fails to parse here, use ParseEsError and EsErrorToStatus instead.
absl::Status ParseGetResponse(simdjson::padded_string_view body, v1::GetResponse* out);
absl::Status ParseGetResponse(absl::string_view body, v1::GetResponse* out);

// POST /_msearch: took and responses (required), each a search response with "status", or
// {"error":{...},"status":N} which fills the item's error and leaves its response unset. An item
// without "status" gets 200, or 500 when it carries an error.
absl::Status ParseMultiSearchResponse(simdjson::padded_string_view body,
                                      v1::MultiSearchResponse* out);
absl::Status ParseMultiSearchResponse(absl::string_view body, v1::MultiSearchResponse* out);

// One item of a _bulk response.
struct BulkItemOutcome {
  // The action Elasticsearch reports the item under: "index", "create", "update" or "delete".
  std::string op;
  // status, index, id, version, result, seq_no, primary_term and error as Elasticsearch sent
  // them; seq and attempts are the caller's to fill.
  v1::BulkItemResult result;
  // True when the item was rejected for load (status 429, or an es_rejected_execution_exception)
  // and should be retried with backoff (DESIGN.md section 3).
  bool backpressure = false;
};

// POST /_bulk: took, errors, items (required; in the order Elasticsearch returned them, which is
// request order). *items is cleared first; took_ms and errors may be null.
absl::Status ParseBulkResponse(simdjson::padded_string_view body,
                               std::vector<BulkItemOutcome>* items, int64_t* took_ms, bool* errors);
absl::Status ParseBulkResponse(absl::string_view body, std::vector<BulkItemOutcome>* items,
                               int64_t* took_ms, bool* errors);

// GET /_cluster/health: status (required), cluster_name and the node and shard counts that
// v1::ClusterHealth carries; fetched_at and error are the caller's.
absl::Status ParseClusterHealth(simdjson::padded_string_view body, v1::ClusterHealth* out);
absl::Status ParseClusterHealth(absl::string_view body, v1::ClusterHealth* out);

}  // namespace esgw
