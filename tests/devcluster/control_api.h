// The dev cluster's control API (HTTP JSON on its own port): kill/revive/hang/slow/status/
// malform/reset/close_idle/heal per node, cluster-wide bulk-item rejection, statistics, a per-index
// document ledger and a full reset. Answers {"acknowledged":true,...} or {"error":"..."}.
// Thread-safe; holds a pointer to the cluster, which must outlive it.
#pragma once

#include "tests/devcluster/http_message.h"

namespace esgw::devcluster {

class DevClusterServer;

class ControlApi {
 public:
  explicit ControlApi(DevClusterServer* cluster) : cluster_(cluster) {}

  HttpResponse Handle(const HttpRequest& request);

  // The response a node gives to every request while its status is forced to `code`:
  // ES-shaped errors for 429/503/401/403/500..., a proxy-style HTML page for 502/504.
  static HttpResponse InjectedStatusResponse(int code, const std::string& node_name);

 private:
  DevClusterServer* const cluster_;
};

}  // namespace esgw::devcluster
