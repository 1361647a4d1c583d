// Reads the error bodies Elasticsearch (7, 8, 9), OpenSearch or a proxy in front of them return,
// decides whether an error is backpressure, and maps it to an absl::Status (DESIGN.md sections 3
// and 4). Thread-safe: free functions over values; nothing is retained between calls.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace esgw {

// What an Elasticsearch error response says. Every string is valid UTF-8 without control
// characters and at most kMaxEsErrorFieldBytes long, so it can go into logs and gRPC trailers.
struct EsError {
  // The HTTP status of the response (or the body's "status" when the caller passed 0).
  int http_status = 0;
  // Elasticsearch's error type, e.g. "index_not_found_exception"; empty when the body had none
  // (HTML from a proxy, an empty body, an old-style string error).
  std::string type;
  // Human-readable reason; for a body that is not an Elasticsearch error, a prefix of the body.
  std::string reason;
  // error.caused_by when present; otherwise the first root cause when its type differs from type.
  std::string caused_by_type;
  std::string caused_by_reason;
  // The first root cause's type, e.g. es_rejected_execution_exception under a 503.
  std::string root_cause_type;
  // The index the error is about ("index", else "resource.id"), when the body names one.
  std::string index;
};

// Longest string EsError holds; longer ones are cut on a UTF-8 boundary and end in "...".
inline constexpr size_t kMaxEsErrorFieldBytes = 1024;
// How much of a body that is not a JSON error (HTML, plain text, garbage) goes into reason.
inline constexpr size_t kMaxEsErrorBodyPrefixBytes = 200;

// Reads any error body: {"error":{"root_cause":[...],"type":..,"reason":..,"caused_by":{..}},
// "status":N}, {"error":"a string","status":N}, {"message":..} from cloud proxies, an empty body,
// HTML (reason = its <title>), plain text, truncated JSON or garbage (reason = a sanitised prefix).
// Never fails: fills what it can.
EsError ParseEsError(int http_status, absl::string_view body);

// True when the error is backpressure (DESIGN.md section 3): HTTP 429, or a 503 whose type, root
// cause or cause is es_rejected_execution_exception. Backpressure is retried and never ejects.
bool IsBackpressure(const EsError& error);

// The DESIGN.md section 4 mapping from an Elasticsearch error to a status:
//   400 -> INVALID_ARGUMENT, 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED,
//   404 -> NOT_FOUND, 408 -> DEADLINE_EXCEEDED, 409 -> ABORTED,
//   413, 414, 429, 431 -> RESOURCE_EXHAUSTED, other 4xx -> FAILED_PRECONDITION,
//   502, 503, 504 -> UNAVAILABLE, 500 and other 5xx -> INTERNAL, anything else -> UNKNOWN.
// Never returns OK. The message is "elasticsearch: <type>: <reason>" ("HTTP <code> <text>" stands
// in for a missing type), at most kMaxEsErrorFieldBytes. Attaches ErrorInfo: reason is the type in
// upper case (e.g. INDEX_NOT_FOUND_EXCEPTION) or HTTP_<code>; metadata http_status, and es_type,
// es_reason, caused_by_type, caused_by_reason and index when non-empty.
absl::Status EsErrorToStatus(const EsError& error);

}  // namespace esgw
