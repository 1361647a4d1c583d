// The whole gateway in one object: the curl transport, the node pool with its prober, sniffer
// and timer thread, the dispatcher, the gRPC services (Gateway, Admin, Health, reflection v1
// and v1alpha) and the gRPC server carrying them. main.cc builds Options from flags; tests can
// build one in-process. Thread-safe: Shutdown may be called from any thread once Start returned.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pool/curl_transport.h"
#include "pool/dispatcher.h"
#include "pool/node_pool.h"
#include "pool/prober.h"
#include "pool/sniffer.h"
#include "pool/timer_queue.h"
#include "server/access_control.h"
#include "server/auth_policy.h"
#include "server/bulk_encoder.h"
#include "server/call_headers.h"
#include "server/call_tracker.h"
#include "server/ingest_batcher.h"
#include "server/tls_credentials.h"

namespace grpc {
class Server;
}

namespace esgw {

class AdminService;
class ClusterHealthCache;
class GatewayService;
class HealthService;
class MetricsHttpServer;
namespace server {
class ReflectionV1Service;
}

class EsgwServer {
 public:
  struct Options {
    // gRPC listen address; port 0 picks a free port (see port()).
    std::string listen = "0.0.0.0:50051";
    // Seed node URLs.
    std::vector<std::string> es_nodes = {"http://127.0.0.1:9200"};
    CurlTransport::Options transport = {};
    NodePool::Options pool = {};
    Sniffer::Options sniffer = {};
    Prober::Options prober = {};
    RetryPlanner::Options retry = {};
    // How often dead nodes are checked for a due probe, the sniff schedule looked at, and
    // health brought up to date.
    absl::Duration maintenance_interval = absl::Milliseconds(100);
    // Batching and item retries of Bulk and Ingest.
    BulkSettings bulk = {};
    // Ingest streams.
    IngestSettings ingest = {};
    // X-Opaque-Id for requests whose client sent none.
    OpaqueIdPolicy opaque_id = {};
    // Budget for calls without a client deadline.
    absl::Duration default_timeout = absl::Seconds(30);
    // The largest request of Search, MultiSearch, Count and Get, and of Bulk or one Ingest
    // message. gRPC itself refuses any message over the larger of the two plus 64 KiB.
    size_t max_read_request_bytes = 4 << 20;
    size_t max_bulk_request_bytes = 64 << 20;
    // TLS (and mTLS) of the gRPC listener; plaintext when tls.cert_file is empty.
    ServerTlsOptions tls = {};
    // The principals, their tokens, permissions and index patterns (server/auth_policy.h);
    // empty means open access: every caller may do everything (a warning is logged).
    std::string auth_file = "";
    // Limits of each principal that the auth file does not set (all callers together under open
    // access).
    PrincipalLimits principal_limits = {};
    // Prometheus /metrics listen address ("host:port", port 0 picks one); empty turns it off.
    std::string metrics_listen = "";
    // Admin.GetHealth serves Elasticsearch's cluster health at most this old.
    absl::Duration cluster_health_ttl = absl::Seconds(5);
    // On Shutdown: how long to keep serving after health turns NOT_SERVING, so that load
    // balancers (a Kubernetes endpoint) stop sending new calls before the listener closes.
    absl::Duration shutdown_delay = absl::ZeroDuration();
    // gRPC server keepalive: ping an idle client connection this often, and drop it when the
    // ping is not answered within keepalive_timeout. Clients may ping (even without calls) as
    // often as keepalive_min_client_interval.
    absl::Duration keepalive_time = absl::Seconds(60);
    absl::Duration keepalive_timeout = absl::Seconds(20);
    absl::Duration keepalive_min_client_interval = absl::Seconds(10);
    // Close client connections (GOAWAY, +-10% jitter) after this long, so clients reconnect
    // and spread across replicas; zero keeps them for ever. Calls running at that moment get
    // max_connection_age_grace to finish (zero: as long as they need).
    absl::Duration max_connection_age = absl::Minutes(5);
    absl::Duration max_connection_age_grace = absl::ZeroDuration();
  };

  // Validates options and starts serving. INVALID_ARGUMENT for bad options (named; the TLS
  // files and the auth file are read and checked here), UNAVAILABLE when the listen address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<EsgwServer>> Start(Options options);
  ~EsgwServer();

  // The bound gRPC port.
  int port() const { return port_; }
  // The bound /metrics port; 0 when metrics are off.
  int metrics_port() const;

  // Health goes NOT_SERVING at once (Watch streams end); calls are still served for
  // shutdown_delay; then the listener closes, WatchPoolStats streams end, Ingest streams are
  // drained, and calls in flight get until grace (counted after the delay) to finish before
  // they are cancelled; then /metrics, the background work and the transport stop. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  EsgwServer() = default;
  // Probes due nodes, sniffs when due, and keeps health in step with the pool; reschedules
  // itself on the timer queue.
  void Maintain();

  Options options_;
  int port_ = 0;
  std::unique_ptr<CurlTransport> transport_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<NodePool> pool_;
  std::unique_ptr<Prober> prober_;
  std::unique_ptr<Sniffer> sniffer_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<AccessControl> access_;
  std::unique_ptr<GatewayService> gateway_;
  std::unique_ptr<ClusterHealthCache> cluster_health_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<server::ReflectionV1Service> reflection_;
  // Before server_: interceptors report to it until the server is gone.
  CallTracker calls_;
  std::unique_ptr<grpc::Server> server_;
  // Declared last, so destroyed first: it reads the pool, the transport and calls_.
  std::unique_ptr<MetricsHttpServer> metrics_;
  bool shut_down_ = false;
};

}  // namespace esgw
