// The Elasticsearch 8 REST API subset the dev cluster serves: routing (with ES's 400 "no handler"
// and 405 "Incorrect HTTP method" answers), the root and node-info endpoints, cluster health,
// index admin, document CRUD, _search, _msearch, _count, _bulk and _refresh, plus the
// filter_path and pretty response parameters. Every response carries X-elastic-product.
// Thread-safe: Handle may run on many connection threads at once; state lives in ClusterState.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/devcluster/cluster_state.h"
#include "tests/devcluster/http_message.h"

namespace esgw::devcluster {

struct NodeDescription {
  std::string id;    // 20-character node id
  std::string name;  // devnode-<i>
  std::vector<std::string> roles;
  std::string host;
  std::string ip;
  std::string bound_address;      // "127.0.0.1:port"
  std::string publish_address;    // as advertised in _nodes/http
  std::string transport_address;  // never listened on
  bool data = true;
};

struct ClusterDescription {
  std::string name;
  std::string uuid;
  std::vector<NodeDescription> nodes;
};

inline constexpr char kEsVersion[] = "8.15.0";

class EsApi {
 public:
  // `state` must outlive the EsApi. `node_alive(i)` says whether node i is in the cluster now
  // (a killed node is not listed by _nodes or counted by health).
  EsApi(ClusterState* state, ClusterDescription cluster, std::function<bool(int)> node_alive);

  // Serves one request arriving at node `node`.
  HttpResponse Handle(int node, const HttpRequest& request) const;

  // A short endpoint name for statistics ("search", "bulk", "nodes_info" ...).
  static std::string Classify(const HttpRequest& request);

  const ClusterDescription& cluster() const { return cluster_; }

 private:
  HttpResponse Dispatch(int node, const HttpRequest& request) const;

  HttpResponse Root(int node) const;
  HttpResponse NodesInfo(int node, const std::string& filter) const;
  HttpResponse ClusterHealth() const;
  HttpResponse Search(int node, const std::string& indices, const HttpRequest& request) const;
  HttpResponse MultiSearch(int node, const std::string& indices, const HttpRequest& request) const;
  HttpResponse CountDocs(const std::string& indices, const HttpRequest& request) const;
  HttpResponse Bulk(const std::string& index, const HttpRequest& request) const;
  HttpResponse Refresh(const std::string& indices) const;
  HttpResponse IndexAdmin(const std::string& index, const HttpRequest& request) const;
  HttpResponse GetMapping(const std::string& index) const;
  HttpResponse IndexDoc(const std::string& index, const std::string& id, bool create,
                        const HttpRequest& request) const;
  HttpResponse UpdateDoc(const std::string& index, const std::string& id,
                         const HttpRequest& request) const;
  HttpResponse DocById(const std::string& index, const std::string& id,
                       const HttpRequest& request) const;

  ClusterState* const state_;
  const ClusterDescription cluster_;
  const std::function<bool(int)> node_alive_;
};

// Responses shared with the control API's injected statuses.
HttpResponse JsonResponse(int status, std::string body);
HttpResponse ErrorResponse(const EsError& error);

}  // namespace esgw::devcluster
