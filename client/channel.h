// The gRPC channel to esgw-server as ClientOptions describe it: credentials (insecure or TLS with
// optional client certificate), keepalive, message limits, and a service config under which gRPC
// itself retries the idempotent RPCs on UNAVAILABLE with exponential backoff.
// Thread-safe: free functions; the channel they return is thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client_options.h"

namespace esgw::client {

// gRPC's retry policy for the idempotent RPCs.
struct RetryPolicy {
  // Attempts in all, the first included (gRPC caps this at 5).
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  double backoff_multiplier = 2.0;
};

// The methods gRPC may retry, as "esgw.v1.Service/Method": reads and the Admin reads. Bulk (not
// idempotent unless every op carries an id, which a service config cannot see), Ingest (a
// stream that writes) and Sniff (changes the pool) are left out, and so is WatchPoolStats (a
// stream that a caller restarts itself).
std::vector<std::string> RetriedMethods();

// The service config JSON: one methodConfig naming RetriedMethods() with a retryPolicy on
// UNAVAILABLE, and retryThrottling so that a struggling server is not hit by every client's
// retries at once.
std::string ServiceConfigJson(const RetryPolicy& policy = {});

// Channel arguments for options: service config (and no service config from DNS), keepalive,
// receive limit, user agent, TLS server name override. Does not validate options.
grpc::ChannelArguments ChannelArgs(const ClientOptions& options);

// A channel for options (it connects lazily, on the first call). Errors: INVALID_ARGUMENT from
// ValidateOptions, or naming the file option ("ca_file: cannot read ...") when a TLS file cannot
// be read or holds no PEM block.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ClientOptions& options);
// The same with channel arguments of the caller's, who starts from ChannelArgs(options) and adds
// to it (e.g. a distinct argument per channel, so that gRPC does not share one connection among
// channels that are otherwise alike).
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const ClientOptions& options,
                                                             const grpc::ChannelArguments& args);

}  // namespace esgw::client
