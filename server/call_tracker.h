// Follows every gRPC call the server runs, across every service (ours and gRPC's own reflection
// plugin), through a server interceptor that lives exactly as long as its call. It counts the
// calls running (Shutdown stops as soon as the last one is done instead of waiting out the
// grace period for idle client connections) and feeds GrpcServerMetrics: started, handled by
// status code, messages each way, and handling time. Thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/metrics.h"

namespace esgw {

class CallTracker {
 public:
  // An interceptor factory for ServerBuilder::experimental().SetInterceptorCreators; it
  // reports to this tracker, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

  int64_t active() const;
  // Blocks until no call is active or until deadline (real time); true when none is.
  bool WaitIdle(absl::Time deadline) const;

  GrpcServerMetrics& metrics() { return metrics_; }
  const GrpcServerMetrics& metrics() const { return metrics_; }

 private:
  friend class TrackingInterceptor;
  void Started();
  void Finished();

  mutable absl::Mutex mu_;
  int64_t active_ ABSL_GUARDED_BY(mu_) = 0;
  GrpcServerMetrics metrics_;
};

}  // namespace esgw
