// Counts the gRPC calls the server is running, across every service (ours and gRPC's own
// reflection plugin), through a server interceptor that lives exactly as long as its call.
// Shutdown uses it to stop as soon as the last call is done instead of waiting out the grace
// period for idle client connections. Thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace esgw {

class CallTracker {
 public:
  // An interceptor factory for ServerBuilder::experimental().SetInterceptorCreators; it
  // reports to this tracker, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

  int64_t active() const;
  // Blocks until no call is active or until deadline (real time); true when none is.
  bool WaitIdle(absl::Time deadline) const;

 private:
  friend class TrackingInterceptor;
  void Started();
  void Finished();

  mutable absl::Mutex mu_;
  int64_t active_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace esgw
