// The HTTP listener behind --metrics_listen: GET /metrics answers the Prometheus text format
// (RenderMetrics at each scrape); GET /readyz and /livez answer 200 or 503 as the gRPC health
// service would for readiness (esgw.v1.Gateway) and liveness (esgw.v1.Admin), for HTTP probes
// where gRPC ones cannot connect (a TLS listener); anything else is 404. Two worker threads; a
// scrape of a 3-node pool (52 KB) took 0.17 ms when measured. Thread-safe: Stop may be called from
// any thread; the render function must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace esgw {

class MetricsHttpServer {
 public:
  // listen: "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks a free port.
  // INVALID_ARGUMENT naming metrics_listen when it does not parse, UNAVAILABLE when it cannot
  // be bound.
  // health(live) says whether esgw is ready (live = false) or live (live = true); null
  // answers 404 for both.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render,
      std::function<bool(bool live)> health = nullptr);
  ~MetricsHttpServer();

  int port() const { return port_; }
  // Stops listening and waits for the listener thread. Idempotent.
  void Stop();

 private:
  MetricsHttpServer() = default;

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace esgw
