// esgw.v1.Admin over the node pool: GetPoolStats, WatchPoolStats (the pool now and then at every
// interval), GetHealth (gateway status, pool summary, cached cluster health) and Sniff.
// Thread-safe: handlers read the pool (which locks), start a sniff or a cluster health fetch
// (asynchronous; the reply is sent from the thread that finishes it), or schedule the next
// WatchPoolStats message on the timer queue.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "pool/clock.h"
#include "pool/curl_transport.h"
#include "pool/node_pool.h"
#include "pool/sniffer.h"
#include "pool/timer_queue.h"
#include "server/access_control.h"
#include "server/cluster_health.h"
#include "server/health_service.h"

namespace esgw {

class AdminService final : public esgw::v1::Admin::CallbackService {
 public:
  struct Options {
    // None owned; all must outlive the service. sniffer may be null (sniffing not configured).
    NodePool* pool = nullptr;
    Sniffer* sniffer = nullptr;
    const CurlTransport* transport = nullptr;
    TimerQueue* timers = nullptr;
    const HealthService* health = nullptr;
    ClusterHealthCache* cluster_health = nullptr;
    // Required: admits every call (authentication, the admin permission, limits).
    const AccessControl* access = nullptr;
    const Clock* clock = &RealClock::Get();
    // esgw's version, for GetHealth.
    std::string version = "";
    // WatchPoolStats interval when the request sets none, and the bounds of a requested one.
    absl::Duration default_watch_interval = absl::Seconds(1);
    absl::Duration min_watch_interval = absl::Milliseconds(100);
    absl::Duration max_watch_interval = absl::Hours(1);
  };

  explicit AdminService(Options options);
  ~AdminService() override;

  // Ends every WatchPoolStats stream with UNAVAILABLE ("shutting down"), so that clients move
  // to another replica, and refuses new ones the same way. Idempotent.
  void Shutdown();

  grpc::ServerUnaryReactor* GetPoolStats(grpc::CallbackServerContext* context,
                                         const esgw::v1::GetPoolStatsRequest* request,
                                         esgw::v1::PoolStats* response) override;
  // INVALID_ARGUMENT when interval is negative, below min_watch_interval or above
  // max_watch_interval. The first message goes at once; each next one an interval after the
  // previous one was sent, so a slow reader gets fewer messages, never a backlog.
  grpc::ServerWriteReactor<esgw::v1::PoolStats>* WatchPoolStats(
      grpc::CallbackServerContext* context,
      const esgw::v1::WatchPoolStatsRequest* request) override;
  // Always OK: the report says what is wrong (status NOT_SERVING, cluster.error).
  grpc::ServerUnaryReactor* GetHealth(grpc::CallbackServerContext* context,
                                      const esgw::v1::GetHealthRequest* request,
                                      esgw::v1::HealthReport* response) override;
  // FAILED_PRECONDITION when sniffing is off (pool mode or sniff mode); UNAVAILABLE when no node
  // answered the sniff or no sniffed node answered a probe (the pool is then unchanged).
  grpc::ServerUnaryReactor* Sniff(grpc::CallbackServerContext* context,
                                  const esgw::v1::SniffRequest* request,
                                  esgw::v1::PoolStats* response) override;

 private:
  class Watcher;
  void Remove(Watcher* watcher);

  const Options options_;
  const absl::Time started_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
