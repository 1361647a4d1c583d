// Turns validated gRPC requests into the Elasticsearch HTTP requests that carry them. Every
// function validates its whole input first and returns INVALID_ARGUMENT naming the field and
// the rule; nothing invalid is ever sent. Thread-safe: pure functions.
#pragma once

#include "absl/status/statusor.h"
#include "esgw/v1/gateway.pb.h"
#include "pool/transport.h"

namespace esgw {

// POST /{indices}/_search with the body and the allow-listed URL parameters.
absl::StatusOr<HttpRequest> BuildSearchRequest(const esgw::v1::SearchRequest& request);

}  // namespace esgw
