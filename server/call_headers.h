// The HTTP headers a gRPC call carries through to Elasticsearch: W3C trace context
// (traceparent, tracestate) from the client's metadata, and an X-Opaque-Id, which Elasticsearch
// shows in its task list, slow logs and deprecation logs. Thread-safe: pure functions, except
// that generated ids come from a thread-local random source.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pool/transport.h"

namespace esgw {

// Where a request's X-Opaque-Id comes from when the client sent none.
struct OpaqueIdPolicy {
  enum class Mode {
    // A fresh id per request ("esgw-" and 16 hex digits), also returned to the client in the
    // x-opaque-id response header, so a slow-log line can be matched to the call.
    kPerRequest,
    // No X-Opaque-Id unless the client sent one.
    kNone,
    // The same value on every request (Elasticsearch advises a small set of values where its
    // deprecation log should deduplicate warnings).
    kFixed,
  };
  Mode mode = Mode::kPerRequest;
  std::string fixed = "";

  // "per_request", "none", or any other value (a header-safe string of at most 256 bytes) for
  // a fixed id. INVALID_ARGUMENT naming `flag` otherwise.
  static absl::StatusOr<OpaqueIdPolicy> Parse(absl::string_view value, absl::string_view flag);
};

// gRPC's view of client metadata: lower-case keys.
using ClientMetadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// Adds to request: traceparent (only when well formed per W3C Trace Context level 1: version
// 00-fe, non-zero trace and parent ids, lower-case hex) with tracestate when there is one; and
// X-Opaque-Id: the client's x-opaque-id metadata when it is a valid header value of at most 256
// bytes, else what policy says. Malformed client values are dropped, never forwarded. Returns
// the X-Opaque-Id set, or "" when none.
std::string AddForwardedHeaders(const ClientMetadata& metadata, const OpaqueIdPolicy& policy,
                                HttpRequest* request);

// For a server call: the above with context's client metadata; when an id was set, also sends
// it to the client as the x-opaque-id initial metadata. Call before the call's first response.
void ForwardCallHeaders(grpc::CallbackServerContext* context, const OpaqueIdPolicy& policy,
                        HttpRequest* request);

}  // namespace esgw
