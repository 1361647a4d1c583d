#include "tests/devcluster/control_api.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// ---- Malformed answers (POST /nodes/{i}/malform). ----

HttpResponse LabelledJson(std::string body) {
  HttpResponse response;
  response.status = 200;
  response.headers = {{"X-elastic-product", "Elasticsearch"}, {"content-type", "application/json"}};
  response.body = std::move(body);
  return response;
}

// A search answer of about `bytes` bytes: valid JSON of the usual shape, hits of 1 KiB sources.
std::string HugeSearchBody(int64_t bytes) {
  const std::string pad(1000, 'x');
  const int64_t hits = std::max<int64_t>(1, bytes / 1050);
  std::string body;
  body.reserve(static_cast<size_t>(bytes) + 4096);
  absl::StrAppend(&body,
                  R"({"took":3,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,)",
                  R"("failed":0},"hits":{"total":{"value":)", hits,
                  R"(,"relation":"eq"},"max_score":1.0,"hits":[)");
  for (int64_t i = 0; i < hits; ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", R"({"_index":"huge","_id":"h-)", i,
                    R"(","_score":1.0,"_source":{"n":)", i, R"(,"pad":")", pad, R"("}})");
  }
  body.append("]}}");
  return body;
}

// The garbage a nodes_* kind makes of a _nodes answer: every node entry except the answering
// node's own is spoiled, and one spoiled entry of a node that does not exist is added.
void SpoilNodes(absl::string_view kind, const std::string& own_id,
                const std::string& control_address, Json* nodes) {
  int n = 0;
  for (auto& [id, entry] : nodes->items()) {
    if (id == own_id || !entry.is_object()) continue;
    ++n;
    if (kind == "nodes_no_http") {
      entry.erase("http");
    } else if (kind == "nodes_bad_address_type") {
      entry["http"]["publish_address"] = 9200 + n;
    } else if (kind == "nodes_bad_address") {
      static constexpr const char* kBad[] = {"127.0.0.1:99999", "not an address:9200",
                                             "127.0.0.1@evil.example:80", "[::1:9200"};
      entry["http"]["publish_address"] = kBad[(n - 1) % 4];
    } else if (kind == "nodes_no_roles") {
      entry.erase("roles");
    } else if (kind == "nodes_not_object") {
      entry = n % 2 == 1 ? Json("garbage") : Json::array({1, 2, 3});
    }
  }
  // A node nobody runs. Its address is the control API's, which answers GET / with 200: were
  // the entry taken at face value, the node would pass a probe.
  Json extra = Json::object();
  extra["name"] = "devnode-garbage";
  extra["roles"] = Json::array({"data", "ingest"});
  extra["http"] = {{"publish_address", control_address}};
  if (kind == "nodes_no_http") {
    extra.erase("http");
  } else if (kind == "nodes_bad_address_type") {
    extra["http"]["publish_address"] = Json::array({control_address});
  } else if (kind == "nodes_bad_address") {
    extra["http"]["publish_address"] = absl::StrCat("[", control_address);
  } else if (kind == "nodes_no_roles") {
    extra.erase("roles");
  } else if (kind == "nodes_not_object") {
    extra = Json(42);
  }
  (*nodes)["zzzzgarbagenode00000"] = std::move(extra);
}

constexpr const char* kMalformKinds[] = {"truncated",
                                         "invalid_json",
                                         "html",
                                         "wrong_content_type",
                                         "huge",
                                         "empty",
                                         "nodes_no_http",
                                         "nodes_bad_address_type",
                                         "nodes_bad_address",
                                         "nodes_no_roles",
                                         "nodes_not_object"};

// The malformer of `kind`, applied to requests whose path contains `path` (every request when
// empty). huge_bytes sizes "huge"; own_id is the answering node's id (nodes_* kinds).
absl::StatusOr<FaultHttpServer::Malformer> MakeMalformer(const std::string& kind, std::string path,
                                                         int64_t huge_bytes, std::string own_id,
                                                         std::string control_address) {
  if (std::find(std::begin(kMalformKinds), std::end(kMalformKinds), kind) ==
      std::end(kMalformKinds)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown kind [", kind, "]; expected one of ",
                                                   absl::StrJoin(kMalformKinds, ", ")));
  }
  return [kind, path = std::move(path), huge_bytes, own_id = std::move(own_id),
          control_address = std::move(control_address)](
             const HttpRequest& request,
             const HttpResponse& normal) -> std::optional<FaultHttpServer::Malformed> {
    if (!path.empty() && !absl::StrContains(request.path, path)) return std::nullopt;
    FaultHttpServer::Malformed bad;
    if (kind == "truncated") {
      bad.response = normal;
      bad.truncate_body_at = normal.body.size() / 2;
    } else if (kind == "invalid_json") {
      // The first half of the real answer, labelled as JSON, with a Content-Length to match.
      bad.response = LabelledJson(normal.body.substr(0, normal.body.size() / 2));
    } else if (kind == "html") {
      bad.response.status = 200;
      bad.response.headers = {{"content-type", "text/html; charset=utf-8"}};
      bad.response.body =
          "<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title></head>"
          "<body><h1>Service temporarily unavailable</h1><p>The upstream server did not answer "
          "in time (esgw-devcluster).</p></body></html>\n";
    } else if (kind == "wrong_content_type") {
      bad.response = normal;
      for (auto& [name, value] : bad.response.headers) {
        if (absl::EqualsIgnoreCase(name, "content-type")) value = "text/plain; charset=UTF-8";
      }
    } else if (kind == "huge") {
      bad.response = LabelledJson(HugeSearchBody(huge_bytes));
    } else if (kind == "empty") {
      bad.response = LabelledJson("");
    } else {
      // nodes_*: only a _nodes answer is spoiled.
      std::optional<Json> body = ParseJson(normal.body);
      if (!body.has_value() || !body->contains("nodes") || !(*body)["nodes"].is_object()) {
        return std::nullopt;
      }
      SpoilNodes(kind, own_id, control_address, &(*body)["nodes"]);
      bad.response = normal;
      bad.response.body = Dump(*body);
    }
    return bad;
  };
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
      entry["malform"] = server.malform_kind();
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
    } else if (action == "malform") {
      int64_t huge_bytes = 0;
      if (!absl::SimpleAtoi(request.Param("bytes", "67108864"), &huge_bytes) || huge_bytes < 1 ||
          huge_bytes > (int64_t{1} << 31)) {
        return Fail(400, "bytes must be an integer from 1 to 2147483648");
      }
      const std::string kind = request.Param("kind");
      absl::StatusOr<FaultHttpServer::Malformer> malformer =
          MakeMalformer(kind, request.Param("path"), huge_bytes, cluster_->cluster().nodes[node].id,
                        cluster_->control_address());
      if (!malformer.ok()) return Fail(400, malformer.status().message());
      server.SetMalformer(kind, *std::move(malformer));
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
