#include "tests/devcluster/dev_cluster_server.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/devcluster/control_api.h"
#include "tests/devcluster/sample_data.h"

namespace esgw::devcluster {
namespace {

constexpr char kLoopback[] = "127.0.0.1";
constexpr char kUnreachableIp[] = "10.255.255.1";

// Deterministic pseudo-random bytes (SplitMix64) so node ids are stable across runs.
std::string StableBytes(absl::string_view seed, int count) {
  uint64_t state = 1469598103934665603ULL;
  for (char c : seed) state = (state ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::string out;
  while (static_cast<int>(out.size()) < count) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 8 && static_cast<int>(out.size()) < count; ++i) {
      out.push_back(static_cast<char>(z >> (8 * i)));
    }
  }
  return out;
}

std::vector<std::string> DataRoles() {
  return {"data",   "data_cold", "data_content", "data_frozen",           "data_hot", "data_warm",
          "ingest", "master",    "ml",           "remote_cluster_client", "transform"};
}

}  // namespace

DevClusterServer::DevClusterServer(Options options) : options_(std::move(options)) {}

DevClusterServer::~DevClusterServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<DevClusterServer>> DevClusterServer::Start(Options options) {
  const int total = options.nodes + options.master_only_nodes + options.coordinating_nodes;
  if (options.nodes < 1) return absl::InvalidArgumentError("--nodes must be at least 1");
  if (options.master_only_nodes < 0 || options.coordinating_nodes < 0) {
    return absl::InvalidArgumentError("node counts must not be negative");
  }
  if (options.base_port < 0 || options.base_port + total > 65535) {
    return absl::InvalidArgumentError("--base_port out of range");
  }
  if (options.publish_format != "ip" && options.publish_format != "hostip" &&
      options.publish_format != "hostname") {
    return absl::InvalidArgumentError("--publish_format must be ip, hostip or hostname");
  }
  absl::flat_hash_set<int> unreachable;
  if (options.unreachable_publish == "all") {
    for (int i = 0; i < total; ++i) unreachable.insert(i);
  } else {
    for (absl::string_view item :
         absl::StrSplit(options.unreachable_publish, ',', absl::SkipEmpty())) {
      int index = 0;
      if (!absl::SimpleAtoi(item, &index) || index < 0 || index >= total) {
        return absl::InvalidArgumentError(
            absl::StrCat("--unreachable_publish: bad node index [", item, "]"));
      }
      unreachable.insert(index);
    }
  }
  if (options.control_port < 0) {
    options.control_port = options.base_port == 0 ? 0 : options.base_port + 100;
  }

  std::unique_ptr<DevClusterServer> server(new DevClusterServer(std::move(options)));
  const Options& opts = server->options_;
  // With one data node there is nowhere to put a replica; keep health green as ES would with
  // number_of_replicas 0.
  server->state_ = std::make_unique<ClusterState>(opts.nodes > 1 ? 1 : 0);
  if (opts.sample_data) {
    if (absl::Status status = LoadSampleData(*server->state_); !status.ok()) return status;
  }

  DevClusterServer* self = server.get();
  for (int i = 0; i < total; ++i) {
    FaultHttpServer::Options node_options;
    node_options.host = kLoopback;
    node_options.port = opts.base_port == 0 ? 0 : opts.base_port + i;
    node_options.keepalive_timeout = opts.keepalive_timeout;
    node_options.max_requests_per_connection = opts.max_requests_per_connection;
    node_options.classifier = &EsApi::Classify;
    node_options.handler = [self, i](const HttpRequest& request) {
      EsApi* api = self->ready_api_.load();
      if (api == nullptr) return ControlApi::InjectedStatusResponse(503, "starting");
      return api->Handle(i, request);
    };
    absl::StatusOr<std::unique_ptr<FaultHttpServer>> node =
        FaultHttpServer::Start(std::move(node_options));
    if (!node.ok()) return node.status();
    server->nodes_.push_back(std::move(*node));
  }

  ClusterDescription cluster;
  cluster.name = opts.cluster_name;
  cluster.uuid = Base64UrlEncode(StableBytes(absl::StrCat("cluster/", opts.cluster_name), 16));
  for (int i = 0; i < total; ++i) {
    NodeDescription node;
    node.id = Base64UrlEncode(StableBytes(absl::StrCat("node/", i), 15));
    node.name = absl::StrCat("devnode-", i);
    int port = server->nodes_[i]->port();
    if (i < opts.nodes) {
      node.roles = DataRoles();
    } else if (i < opts.nodes + opts.master_only_nodes) {
      node.roles = {"master"};
      node.data = false;
    } else {
      node.data = false;  // coordinating only: no roles at all
    }
    node.host = opts.publish_format == "ip" ? kLoopback : "localhost";
    node.ip = kLoopback;
    node.bound_address = absl::StrCat(kLoopback, ":", port);
    node.transport_address = absl::StrCat(kLoopback, ":", 9300 + i);
    std::string ip = unreachable.contains(i) ? kUnreachableIp : kLoopback;
    if (unreachable.contains(i)) {
      node.ip = ip;
      if (opts.publish_format == "ip") node.host = ip;
    }
    if (opts.publish_format == "ip") {
      node.publish_address = absl::StrCat(ip, ":", port);
    } else if (opts.publish_format == "hostip") {
      node.publish_address = absl::StrCat("localhost/", ip, ":", port);
    } else {
      node.publish_address = absl::StrCat("localhost:", port);
    }
    cluster.nodes.push_back(std::move(node));
  }
  server->api_ = std::make_unique<EsApi>(server->state_.get(), std::move(cluster),
                                         [self](int i) { return !self->nodes_[i]->killed(); });
  server->state_->SetRejectingNodeName(server->api_->cluster().nodes[0].name);
  server->ready_api_ = server->api_.get();

  server->control_api_ = std::make_unique<ControlApi>(self);
  FaultHttpServer::Options control_options;
  control_options.host = kLoopback;
  control_options.port = opts.control_port;
  control_options.handler = [self](const HttpRequest& request) {
    return self->control_api_->Handle(request);
  };
  absl::StatusOr<std::unique_ptr<FaultHttpServer>> control =
      FaultHttpServer::Start(std::move(control_options));
  if (!control.ok()) return control.status();
  server->control_ = std::move(*control);
  return server;
}

void DevClusterServer::Shutdown() {
  if (control_ != nullptr) control_->Shutdown();
  for (auto& node : nodes_) node->Shutdown();
}

std::vector<std::string> DevClusterServer::node_addresses() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) out.push_back(absl::StrCat(kLoopback, ":", node->port()));
  return out;
}

std::string DevClusterServer::control_address() const {
  return absl::StrCat(kLoopback, ":", control_->port());
}

std::string DevClusterServer::PortFileJson() const {
  Json out = Json::object();
  out["nodes"] = node_addresses();
  out["control"] = control_address();
  Json names = Json::array();
  for (const NodeDescription& node : cluster().nodes) names.push_back(node.name);
  out["node_names"] = std::move(names);
  out["data_nodes"] = options_.nodes;
  return Dump(out);
}

absl::Status DevClusterServer::ResetAll(bool wipe_data) {
  absl::Status result = absl::OkStatus();
  for (auto& node : nodes_) {
    node->Heal();
    if (absl::Status status = node->Revive(); !status.ok()) result = status;
    node->ResetStats();
  }
  state_->SetBulkRejectEvery(0);
  if (wipe_data) {
    state_->Clear();
    if (options_.sample_data) {
      if (absl::Status status = LoadSampleData(*state_); !status.ok()) result = status;
    }
  }
  return result;
}

}  // namespace esgw::devcluster
