// Resurrection off the request path: for each dead node whose deadline has passed, one GET / with
// a short timeout, and the answer goes back to the pool (alive with slow-start, or dead longer).
// Thread-safe. RunOnce runs on the caller's thread (the lead's ~100 ms loop) and never blocks;
// results are applied on transport threads. The pool and transport must outlive every probe.
#pragma once

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pool/node_pool.h"
#include "pool/transport.h"

namespace esgw {

// Whether a probe's response shows the node can serve: any HTTP answer whose failure class does
// not blame the node (2xx/3xx, a 4xx such as 401, or 429 busy). Connect failures, timeouts, 5xx
// other than backpressure and a stale connection do not count.
bool ProbeAnswered(const HttpResponse& response);

// Sends one probe (GET / with timeout) to endpoint. done(ok, detail) runs exactly once on a
// transport thread (or at once on this one, as the transport decides); detail names what
// went wrong, empty when ok.
void ProbeNode(Transport& transport, const Endpoint& endpoint, absl::Duration timeout,
               absl::AnyInvocable<void(bool ok, std::string detail) &&> done);

class Prober {
 public:
  struct Options {
    absl::Duration timeout = absl::Seconds(1);
  };

  // pool and transport are not owned. INVALID_ARGUMENT when either is null or timeout <= 0.
  static absl::StatusOr<std::unique_ptr<Prober>> Create(Options options, NodePool* pool,
                                                        Transport* transport);

  // Starts a probe for every node NodePool::TakeDueProbes hands out; returns how many.
  int RunOnce();

 private:
  Prober(Options options, NodePool* pool, Transport* transport)
      : options_(options), pool_(pool), transport_(transport) {}

  const Options options_;
  NodePool* const pool_;
  Transport* const transport_;
};

}  // namespace esgw
