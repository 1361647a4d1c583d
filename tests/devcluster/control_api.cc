#include "tests/devcluster/control_api.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/devcluster/dev_cluster_server.h"
#include "tests/devcluster/es_api.h"
#include "tests/devcluster/json.h"

namespace esgw::devcluster {
namespace {

HttpResponse Reply(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"content-type", "application/json"}};
  response.body = Dump(body);
  return response;
}

HttpResponse Fail(int status, absl::string_view message) {
  return Reply(status, Json{{"error", std::string(message)}});
}

HttpResponse Ack(int node, const FaultHttpServer& server) {
  Json body = Json::object();
  body["acknowledged"] = true;
  body["node"] = node;
  body["state"] = server.StateName();
  return Reply(200, body);
}

EsError SimpleError(int status, absl::string_view type, std::string reason) {
  EsError error;
  error.status = status;
  error.type = std::string(type);
  error.reason = std::move(reason);
  return error;
}

}  // namespace

HttpResponse ControlApi::InjectedStatusResponse(int code, const std::string& node_name) {
  if (code == 502 || code == 504) {
    // What a reverse proxy in front of Elasticsearch answers: HTML, no product header.
    HttpResponse response;
    response.status = code;
    response.headers = {{"content-type", "text/html"}};
    std::string title = absl::StrCat(code, " ", ReasonPhrase(code));
    response.body = absl::StrCat("<html>\r\n<head><title>", title,
                                 "</title></head>\r\n<body>\r\n<center><h1>", title,
                                 "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
                                 "</html>\r\n");
    return response;
  }
  EsError error;
  switch (code) {
    case 429:
      error = SimpleError(429, "es_rejected_execution_exception",
                          absl::StrCat("rejected execution of coordinating operation on "
                                       "EsThreadPoolExecutor[name = ",
                                       node_name,
                                       "/search, queue capacity = 1000, active threads = 2, "
                                       "queued tasks = 1000] (injected by esgw-devcluster)"));
      break;
    case 503:
      error = SimpleError(503, "cluster_block_exception",
                          "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];");
      break;
    case 401:
      error = SimpleError(401, "security_exception",
                          "missing authentication credentials for REST request");
      break;
    case 403:
      error = SimpleError(403, "security_exception",
                          "action is unauthorized for user [esgw] (injected by esgw-devcluster)");
      break;
    default:
      error = SimpleError(code, code >= 500 ? "exception" : "status_exception",
                          absl::StrCat("injected HTTP status [", code, "] by esgw-devcluster"));
      break;
  }
  HttpResponse response = ErrorResponse(error);
  if (code == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"security\" charset=\"UTF-8\"");
  }
  return response;
}

HttpResponse ControlApi::Handle(const HttpRequest& request) {
  std::vector<std::string> parts;
  for (absl::string_view segment : absl::StrSplit(request.path, '/', absl::SkipEmpty())) {
    parts.push_back(UrlDecode(segment, false));
  }
  const std::string& method = request.method;

  if (parts.empty() && method == "GET") {
    std::optional<Json> info = ParseJson(cluster_->PortFileJson());
    return Reply(200, info.value_or(Json::object()));
  }

  if (parts.size() == 1 && parts[0] == "stats" && method == "GET") {
    Json nodes = Json::array();
    for (int i = 0; i < cluster_->node_count(); ++i) {
      FaultHttpServer& server = cluster_->node(i);
      FaultHttpServer::Stats stats = server.GetStats();
      const NodeDescription& description = cluster_->cluster().nodes[i];
      Json entry = Json::object();
      entry["node"] = i;
      entry["name"] = description.name;
      entry["id"] = description.id;
      entry["address"] = description.bound_address;
      entry["roles"] = description.roles;
      entry["state"] = server.StateName();
      entry["status_override"] = server.status_override_code();
      entry["delay_ms"] = absl::ToInt64Milliseconds(server.delay());
      entry["connections_accepted"] = stats.connections_accepted;
      entry["open_sockets"] = stats.open_sockets;
      entry["requests_total"] = stats.requests_total;
      Json by_endpoint = Json::object();
      for (const auto& [name, count] : stats.requests) by_endpoint[name] = count;
      entry["requests"] = std::move(by_endpoint);
      entry["bytes_in"] = stats.bytes_in;
      entry["bytes_out"] = stats.bytes_out;
      entry["resets_injected"] = stats.resets_injected;
      Json recent = Json::array();
      for (const auto& r : stats.recent) {
        Json headers = Json::object();
        for (const auto& [name, value] : r.headers) headers[name] = value;
        recent.push_back(Json{{"method", r.method}, {"target", r.target}, {"headers", headers}});
      }
      entry["recent_requests"] = std::move(recent);
      nodes.push_back(std::move(entry));
    }
    Json body = Json::object();
    body["nodes"] = std::move(nodes);
    body["bulk_reject_every"] = cluster_->state().bulk_reject_every();
    body["bulk_items_rejected"] = cluster_->state().bulk_items_rejected();
    return Reply(200, body);
  }

  if (parts.size() == 2 && parts[0] == "docs" && method == "GET") {
    absl::StatusOr<Json> docs = cluster_->state().DescribeDocs(parts[1]);
    if (!docs.ok()) return Fail(404, absl::StrCat("no such index [", parts[1], "]"));
    return Reply(200, *docs);
  }

  if (parts.size() == 1 && parts[0] == "bulk_reject" && method == "POST") {
    int every = 0;
    if (!absl::SimpleAtoi(request.Param("every", "0"), &every) || every < 0) {
      return Fail(400, "every must be a non-negative integer");
    }
    cluster_->state().SetBulkRejectEvery(every);
    return Reply(200, Json{{"acknowledged", true}, {"every", every}});
  }

  if (parts.size() == 1 && parts[0] == "reset_all" && method == "POST") {
    bool wipe = request.Param("data") == "true";
    absl::Status status = cluster_->ResetAll(wipe);
    if (!status.ok()) return Fail(500, status.ToString());
    return Reply(200, Json{{"acknowledged", true}, {"data_wiped", wipe}});
  }

  if (parts.size() == 3 && parts[0] == "nodes" && method == "POST") {
    int node = -1;
    if (!absl::SimpleAtoi(parts[1], &node) || node < 0 || node >= cluster_->node_count()) {
      return Fail(404, absl::StrCat("no node [", parts[1], "]"));
    }
    FaultHttpServer& server = cluster_->node(node);
    const std::string& action = parts[2];
    if (action == "kill") {
      if (absl::Status status = server.Kill(); !status.ok()) return Fail(500, status.ToString());
    } else if (action == "revive") {
      if (absl::Status status = server.Revive(); !status.ok()) {
        return Fail(500, status.ToString());
      }
    } else if (action == "hang") {
      server.SetHang(true);
    } else if (action == "slow") {
      int64_t ms = 0;
      if (!absl::SimpleAtoi(request.Param("ms", "0"), &ms) || ms < 0) {
        return Fail(400, "ms must be a non-negative integer");
      }
      server.SetDelay(absl::Milliseconds(ms));
    } else if (action == "status") {
      int code = 0;
      if (!absl::SimpleAtoi(request.Param("code"), &code) || code < 200 || code > 599) {
        return Fail(400, "code must be an HTTP status between 200 and 599");
      }
      server.SetStatusOverride(InjectedStatusResponse(code, cluster_->cluster().nodes[node].name));
    } else if (action == "reset") {
      server.ResetNextRequest();
    } else if (action == "close_idle") {
      int closed = server.CloseIdle();
      Json body = Json::object();
      body["acknowledged"] = true;
      body["node"] = node;
      body["idle_connections"] = closed;
      return Reply(200, body);
    } else if (action == "heal") {
      server.Heal();
    } else {
      return Fail(404, absl::StrCat("unknown node action [", action, "]"));
    }
    return Ack(node, server);
  }
  return Fail(404, absl::StrCat("no control endpoint ", method, " ", request.path));
}

}  // namespace esgw::devcluster
