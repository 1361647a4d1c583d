// The built esgw-server binary run as a child process on a free port, with a gRPC channel to
// it. For e2e tests. Not thread-safe; one test thread drives it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/prom_text.h"
#include "tests/support/subprocess.h"

namespace esgw::testing {

class EsgwProcess {
 public:
  // Starts esgw-server with --es_nodes=es_nodes, --listen=127.0.0.1:0 and extra_flags, and waits
  // (bounded) until it serves. UNAVAILABLE with the server's output when it does not start.
  // Stops the server (SIGTERM, then SIGKILL) and removes its temporary directory.
  ~EsgwProcess();

  static absl::StatusOr<std::unique_ptr<EsgwProcess>> Start(
      const std::string& es_nodes, std::vector<std::string> extra_flags = {},
      absl::Duration timeout = absl::Seconds(20));

  int port() const { return port_; }
  // The /metrics port, when the server was started with --metrics_listen; else 0.
  int metrics_port() const { return metrics_port_; }
  // GET /metrics, checked for the Prometheus text content type and parsed strictly.
  absl::StatusOr<PromExposition> ScrapeMetrics() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  Subprocess& process() { return *process_; }

 private:
  std::unique_ptr<Subprocess> process_;
  std::string dir_;
  int port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context whose deadline is timeout from now.
std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration timeout = absl::Seconds(10));

// The google.rpc.ErrorInfo in a failed call's grpc-status-details-bin trailer; empty when the
// call carried none.
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status);

// A kilobyte value of /proc/<pid>/status ("VmRSS", "VmHWM"); -1 when it cannot be read.
int64_t ProcStatusKb(pid_t pid, const std::string& key);

}  // namespace esgw::testing
