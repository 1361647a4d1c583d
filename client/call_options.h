// Per-call settings for Client calls, and the conversion of a finished call's grpc::Status into
// the absl::Status the client library returns.
// Thread-compatible values; the function is pure.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/cancel_token.h"

namespace esgw::client {

struct CallOptions {
  // Overrides ClientOptions::deadline for this call; absl::InfiniteDuration() sets none.
  std::optional<absl::Duration> deadline = std::nullopt;
  // Lets another thread cancel the call (it then ends with CANCELLED). Not owned; may be null.
  CancelToken* cancel = nullptr;
  // Extra metadata, e.g. {"x-opaque-id", "nightly-import"} or a W3C traceparent.
  std::vector<std::pair<std::string, std::string>> metadata = {};
};

// The absl::Status with the same code and message as a finished call's status.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace esgw::client
