// The failure-class table of DESIGN.md section 3, decided in one place: how one exchange with a
// node ended, for the node's health and for the retry decision.
// Thread-safe: pure functions.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "pool/transport.h"

namespace esgw {

enum class FailureClass {
  // A 2xx/3xx answer.
  kSuccess,
  // Nothing was sent (refused, unreachable, DNS, TLS, connect timeout): eject the node now;
  // retrying elsewhere is always safe.
  kHard,
  // A reused idle connection had been closed by the server: no blame; retry once on a fresh
  // connection to the same node.
  kStale,
  // Reset or timeout after sending, or 502/503/504: count against the node; retry only if the
  // operation is idempotent.
  kSoft,
  // 429, or 503 with es_rejected_execution_exception: the node is busy, not broken. Never eject;
  // retry after a jittered backoff.
  kBackpressure,
  // Any other 4xx, or 500, or an answer larger than the transport's limit: the request is at
  // fault; the node is healthy; do not retry.
  kRequest,
  // Cancelled by the caller, deadline passed, local limits: no blame, no retry.
  kLocal,
};

absl::string_view FailureClassName(FailureClass failure_class);

// Classifies one finished exchange.
FailureClass Classify(const HttpResponse& response);

// Why a 2xx answer to a request of `method` cannot be Elasticsearch's, which labels every body it
// sends as JSON and sends one for every method but HEAD: e.g. "content-type \"text/html\" is
// not JSON" or "the body is empty"; "" when it can be, and for any other status. A proxy's error
// page, or another program on the node's port, answers like this.
std::string NotAnElasticsearchAnswer(const HttpResponse& response, HttpMethod method);

// Turns a 2xx answer that is NotAnElasticsearchAnswer into what it is for the pool: a malformed
// response (error kOther, a soft failure of the node) whose error_message says why. Every caller
// that classifies an answer to a request it sent calls this first. Returns true when it did.
bool RejectNonElasticsearchAnswer(HttpMethod method, HttpResponse* response);

// Whether the class counts against the node's health.
inline bool BlamesNode(FailureClass c) {
  return c == FailureClass::kHard || c == FailureClass::kSoft;
}

}  // namespace esgw
