// grpc.health.v1.Health, answering for "" (the whole server) and each service name it was told
// about. Two kinds of name:
//  - readiness names ("" and e.g. "esgw.v1.Gateway") follow SetServing: whether the pool can take
//    requests. Shutdown turns them NOT_SERVING for good.
//  - liveness names (e.g. "esgw.v1.Admin") say whether the process is working, whatever the
//    state of Elasticsearch: SERVING while SetServing (the server's maintenance tick, which takes
//    the pool's lock and runs on the timer thread) was called within the liveness timeout. They
//    stay so during a shutdown, which is not a reason to restart the process.
// Status changes reach Watch streams at once; Shutdown ends the Watch streams. A liveness name
// going stale has no event, so Watch reports it only at the next SetServing; probes use Check.
// Our own implementation (rather than gRPC's default one) so that it is a registered service
// that both reflection versions list.
// Thread-safe: SetServing and Shutdown may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "pool/clock.h"

namespace esgw {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  struct Options {
    // Readiness names answered besides ""; they start NOT_SERVING.
    std::vector<std::string> services = {};
    // Liveness names; SERVING from construction until SetServing has not been called for
    // liveness_timeout.
    std::vector<std::string> liveness_services = {};
    // Required; measures how long ago SetServing was called.
    const Clock* clock = nullptr;
    absl::Duration liveness_timeout = absl::Seconds(10);
  };
  explicit HealthService(Options options);
  ~HealthService() override;

  // Sets "" and every readiness name SERVING or NOT_SERVING (ignored after Shutdown), and
  // renews the liveness names (also after Shutdown).
  void SetServing(bool serving);
  // Readiness names NOT_SERVING for good; every Watch stream gets its last status and ends.
  void Shutdown();
  // Whether the readiness names are SERVING.
  bool serving() const;
  // What Check answers for `service`; SERVICE_UNKNOWN for a name it does not know.
  ServingStatus StatusFor(const std::string& service) const;

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
  const Options options_;
  absl::flat_hash_set<std::string> services_;
  absl::flat_hash_set<std::string> liveness_services_;
  absl::Time last_renewed_ ABSL_GUARDED_BY(mu_);
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
