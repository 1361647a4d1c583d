// Transport over libcurl's multi interface: each event-loop thread owns one CURLM with its own
// keep-alive connection cache, and runs every exchange handed to it to completion, then calls
// the exchange's callback on that thread. The only code in esgw that includes curl.h.
// Thread-safe: Send, Cancel and GetConnectionStats may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/clock.h"
#include "pool/transport.h"

namespace esgw {

class CurlTransport final : public Transport {
 public:
  struct Options {
    // Event-loop threads; exchanges are spread over them round robin.
    int threads = 1;
    // Connections to one node at most, over all threads. Further exchanges wait in line.
    int max_connections_per_node = 64;
    // Idle connections kept per thread, over all nodes.
    int max_idle_connections = 1024;
    absl::Duration connect_timeout = absl::Seconds(1);
    // An idle connection older than this is not reused; keep it below the idle timeout of the
    // server and of any load balancer in between, so we never write to a half-closed socket.
    absl::Duration idle_ttl = absl::Seconds(50);
    // A connection is not reused after this age, so DNS changes and rebalancing take effect.
    absl::Duration max_lifetime = absl::Minutes(5);
    absl::Duration tcp_keepalive_idle = absl::Seconds(60);
    absl::Duration tcp_keepalive_interval = absl::Seconds(10);
    // A response body larger than this fails the exchange (kOther) instead of exhausting memory.
    int64_t max_response_bytes = int64_t{1} << 30;
    std::string user_agent = "esgw";
    // Measures HttpResponse::elapsed. Not owned; must outlive the transport.
    const Clock* clock = &RealClock::Get();
  };

  // Connections opened and closed to one node ("host:port"), counted from the sockets curl asks
  // us to open and close.
  struct ConnectionStats {
    int64_t opened = 0;
    int64_t closed = 0;
  };

  // Starts the event-loop threads. INVALID_ARGUMENT for bad options, INTERNAL when curl cannot
  // be initialised.
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(Options options);

  // Stops the loops; exchanges still running complete with kCancelled.
  ~CurlTransport() override;

  TransferId Send(const Endpoint& node, HttpRequest request, Callback done) override;
  void Cancel(TransferId id) override;

  ConnectionStats GetConnectionStats(const std::string& host_port) const;

  // Stops accepting work and cancels what is running; idempotent. Called by the destructor.
  void Shutdown();

 private:
  class Loop;
  friend class Loop;

  explicit CurlTransport(Options options);

  const Options options_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<uint64_t> next_id_{0};

  mutable absl::Mutex stats_mu_;
  absl::flat_hash_map<std::string, ConnectionStats> connection_stats_ ABSL_GUARDED_BY(stats_mu_);
  // Which node each open socket belongs to, so a close can be counted against it.
  absl::flat_hash_map<int, std::string> socket_nodes_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace esgw
