// A whole dev cluster in one process: N data nodes (plus optional master-only and coordinating
// nodes), each a FaultHttpServer on its own loopback port serving the same ClusterState through
// EsApi, and a control server (ControlApi) for fault injection and inspection.
// Thread-safe after Start; owns its servers, state and threads. Shutdown (or the destructor)
// stops everything.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/devcluster/cluster_state.h"
#include "tests/devcluster/es_api.h"
#include "tests/devcluster/fault_http_server.h"

namespace esgw::devcluster {

class ControlApi;

class DevClusterServer {
 public:
  struct Options {
    int nodes = 3;
    int master_only_nodes = 0;
    int coordinating_nodes = 0;
    int base_port = 9200;   // node i listens on base_port + i; 0 picks free ports for all
    int control_port = -1;  // -1: base_port + 100 (a free port when base_port is 0)
    std::string cluster_name = "esgw-devcluster";
    bool sample_data = false;
    absl::Duration keepalive_timeout = absl::ZeroDuration();
    int max_requests_per_connection = 0;
    std::string publish_format = "ip";  // ip | hostip | hostname
    std::string unreachable_publish;    // "", "all", or node indices like "0,2"
  };

  // Validates options, binds every listener and starts serving. Errors: kInvalidArgument for bad
  // options, kUnavailable when a port cannot be bound.
  static absl::StatusOr<std::unique_ptr<DevClusterServer>> Start(Options options);
  ~DevClusterServer();

  void Shutdown();

  int node_count() const { return static_cast<int>(nodes_.size()); }
  FaultHttpServer& node(int i) { return *nodes_[i]; }
  ClusterState& state() { return *state_; }
  const ClusterDescription& cluster() const { return api_->cluster(); }
  const Options& options() const { return options_; }

  std::vector<std::string> node_addresses() const;  // "127.0.0.1:port", node order
  std::string control_address() const;
  // One JSON line: {"nodes":["127.0.0.1:p",...],"control":"127.0.0.1:c"}.
  std::string PortFileJson() const;

  // Heals and revives every node, turns bulk rejection off and zeroes statistics; with
  // `wipe_data` also deletes every index and reloads the sample data if it was asked for.
  absl::Status ResetAll(bool wipe_data);

 private:
  explicit DevClusterServer(Options options);

  Options options_;
  std::unique_ptr<ClusterState> state_;
  std::unique_ptr<EsApi> api_;
  std::atomic<EsApi*> ready_api_{nullptr};  // set once every node is bound
  std::vector<std::unique_ptr<FaultHttpServer>> nodes_;
  std::unique_ptr<ControlApi> control_api_;
  std::unique_ptr<FaultHttpServer> control_;
};

}  // namespace esgw::devcluster
