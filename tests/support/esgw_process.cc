#include "tests/support/esgw_process.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/rpc/status.pb.h"
#include "tests/devcluster/blocking_http_client.h"
#include "tests/support/wait.h"

namespace esgw::testing {

EsgwProcess::~EsgwProcess() {
  process_.reset();  // the Subprocess destructor stops the server
  if (!dir_.empty()) {
    unlink((dir_ + "/server.port").c_str());
    rmdir(dir_.c_str());
  }
}

absl::StatusOr<std::unique_ptr<EsgwProcess>> EsgwProcess::Start(
    const std::string& es_nodes, std::vector<std::string> extra_flags, absl::Duration timeout) {
  auto server = std::unique_ptr<EsgwProcess>(new EsgwProcess());
  absl::StatusOr<std::string> dir = MakeTempDir("esgw-server");
  if (!dir.ok()) return dir.status();
  server->dir_ = *std::move(dir);
  const std::string port_file = server->dir_ + "/server.port";
  std::vector<std::string> argv = {BinDir() + "/esgw-server", "--listen=127.0.0.1:0",
                                   "--es_nodes=" + es_nodes, "--port_file=" + port_file};
  for (std::string& flag : extra_flags) argv.push_back(std::move(flag));
  auto process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);

  int port = 0;
  int metrics_port = 0;
  const auto started = WaitFor(
      [&] {
        std::ifstream in(port_file);
        std::string text;
        if (!std::getline(in, text) || !absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) ||
            port <= 0) {
          return false;
        }
        // The second line, the /metrics port, is there when metrics are on.
        if (std::getline(in, text)) {
          return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &metrics_port);
        }
        return true;
      },
      timeout, "esgw-server writes its port file");
  if (!started) {
    return absl::UnavailableError(
        absl::StrCat("esgw-server did not start: ", server->process_->Log()));
  }
  server->port_ = port;
  server->metrics_port_ = metrics_port;
  server->channel_ = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
  return server;
}

absl::StatusOr<PromExposition> EsgwProcess::ScrapeMetrics() const {
  if (metrics_port_ == 0) return absl::FailedPreconditionError("started without --metrics_listen");
  auto response =
      devcluster::HttpRequestOnce(absl::StrCat("127.0.0.1:", metrics_port_), "GET", "/metrics");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("GET /metrics: HTTP ", response->status));
  }
  const std::string* type = response->Header("Content-Type");
  if (type == nullptr || !absl::StartsWith(*type, "text/plain; version=0.0.4")) {
    return absl::InternalError("GET /metrics: not the Prometheus text content type");
  }
  return ParsePrometheusText(response->body);
}

std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  return context;
}

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  google::rpc::ErrorInfo info;
  if (details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      if (any.UnpackTo(&info)) break;
    }
  }
  return info;
}

int64_t ProcStatusKb(pid_t pid, const std::string& key) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, key + ":")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    int64_t kb = 0;
    return absl::SimpleAtoi(rest, &kb) ? kb : -1;
  }
  return -1;
}

}  // namespace esgw::testing
