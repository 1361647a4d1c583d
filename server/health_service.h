// grpc.health.v1.Health, answering for "" (the whole server) and each service name it was told
// about. Status changes reach Watch streams at once; Shutdown turns everything NOT_SERVING,
// ignores later changes and ends the Watch streams. Our own implementation (rather than gRPC's
// default one) so that it is a registered service that both reflection versions list.
// Thread-safe: SetServing and Shutdown may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace esgw {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // services: the names answered besides "" (e.g. "esgw.v1.Gateway"); all start NOT_SERVING.
  explicit HealthService(const std::vector<std::string>& services);
  ~HealthService() override;

  // Sets "" and every known service SERVING or NOT_SERVING. Ignored after Shutdown.
  void SetServing(bool serving);
  // NOT_SERVING for good; Watch streams get that and then end.
  void Shutdown();
  bool serving() const;

  // NOT_FOUND for an unknown service.
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  // The status now and after every change; SERVICE_UNKNOWN for an unknown service.
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;

  ServingStatus StatusOf(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Remove(Watcher* watcher);

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> services_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
