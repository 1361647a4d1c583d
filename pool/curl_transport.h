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
    // A response body (decompressed) larger than this fails the exchange (kResponseTooLarge)
    // instead of exhausting memory: reading stops there and the connection is closed.
    int64_t max_response_bytes = int64_t{100} << 20;
    std::string user_agent = "esgw";

    // TLS, for https:// nodes. PEM file of the CAs to trust; empty = the system's CA store.
    std::string ca_file = "";
    // Optional client certificate (PEM) for clusters that require one, and its unencrypted PEM
    // private key; the key may instead sit in client_cert_file (then leave client_key_file empty).
    std::string client_cert_file = "";
    std::string client_key_file = "";
    // Check that the node's certificate names the host esgw dialled. Turn off only for clusters
    // whose certificates lack the addresses sniffing finds; the chain is still verified.
    bool verify_hostname = true;
    // Skips every certificate check, chain and name: anyone on the path can read and change the
    // traffic, credentials included. For local trials against self-signed nodes only.
    bool insecure_skip_verify = false;

    // Value of the Authorization header sent with every request (EsCredentials::
    // AuthorizationHeader(): "Basic ..." or "ApiKey ..."); empty = none. A secret: the
    // transport never logs it or puts it in an error message.
    std::string authorization = "";

    // Request bodies of at least this many bytes are sent gzip-compressed (Content-Encoding:
    // gzip), compressed on the thread that calls Send; 0 = never compress.
    int64_t gzip_min_bytes = 64 * 1024;
    // Measures HttpResponse::elapsed. Not owned; must outlive the transport.
    const Clock* clock = &RealClock::Get();
  };

  // Connections opened and closed to one node ("host:port"), counted from the sockets curl asks
  // us to open and close.
  struct ConnectionStats {
    int64_t opened = 0;
    int64_t closed = 0;
    // Exchanges curl itself sent again on a fresh connection because the reused one died before
    // any response byte; these never surface as kStaleConnection.
    int64_t resent_by_curl = 0;
  };

  // Starts the event-loop threads. INVALID_ARGUMENT for bad options (a TLS file that cannot be
  // read or holds no PEM block, a client key without a certificate, an authorization value with
  // a line break; never quoting a secret), INTERNAL when curl cannot be initialised.
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
  // "Authorization: ..." built once from options_.authorization; empty when there is none.
  const std::string authorization_line_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<uint64_t> next_id_{0};

  mutable absl::Mutex stats_mu_;
  absl::flat_hash_map<std::string, ConnectionStats> connection_stats_ ABSL_GUARDED_BY(stats_mu_);
  // Which node each open socket belongs to, so a close can be counted against it.
  absl::flat_hash_map<int, std::string> socket_nodes_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace esgw
