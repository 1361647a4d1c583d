#include "server/metrics_http.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace esgw {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render,
    std::function<bool(bool live)> health) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics_listen: expected host:port (e.g. 0.0.0.0:9464 or :9464), got '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";

  auto server = std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer());
  server->http_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->http_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Headers and body go out in separate writes; without this a keep-alive scraper waits out
  // delayed ACKs (about 20 ms a scrape instead of 0.2 ms).
  http.set_tcp_nodelay(true);
  http.set_read_timeout(std::chrono::seconds(5));
  http.set_write_timeout(std::chrono::seconds(5));
  http.Get("/metrics", [render](const httplib::Request&, httplib::Response& response) {
    response.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (health != nullptr) {
    for (const bool live : {false, true}) {
      http.Get(live ? "/livez" : "/readyz", [health, live](const httplib::Request&,
                                                           httplib::Response& response) {
        const bool ok = health(live);
        response.status = ok ? 200 : 503;
        response.set_content(ok ? "SERVING\n" : "NOT_SERVING\n", "text/plain; charset=utf-8");
      });
    }
  }
  http.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.status == 404) {
      response.set_content(absl::StrCat("esgw serves only GET /metrics, /readyz and /livez "
                                        "here, not ",
                                        request.path, "\n"),
                           "text/plain; charset=utf-8");
    }
  });
  const int bound =
      port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("metrics_listen: cannot listen on '", listen,
                                               "' (address in use or not valid)"));
  }
  server->port_ = bound;
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  return server;
}

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  // stop() only closes a listener that is already running; give the thread a moment to get
  // there when Stop follows Start at once.
  for (int i = 0; i < 200 && !http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http_->stop();
  thread_.join();
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

}  // namespace esgw
