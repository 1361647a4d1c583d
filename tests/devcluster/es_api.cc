#include "tests/devcluster/es_api.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/devcluster/es_error.h"
#include "tests/devcluster/json.h"
#include "tests/devcluster/search.h"

namespace esgw::devcluster {
namespace {

constexpr char kBuildHash[] = "d0e5c2f1a9b84e7c6d3f20a1b5c8e9f4a7d6c3b2";
constexpr char kBuildDate[] = "2024-08-05T10:05:34.233336849Z";
constexpr char kLuceneVersion[] = "9.11.1";
constexpr int64_t kMaxContentLength = 104857600;

enum class Endpoint {
  kRoot,
  kNodes,
  kHealth,
  kSearch,
  kMsearch,
  kBulk,
  kCount,
  kRefresh,
  kIndex,
  kMapping,
  kDocAutoId,
  kDoc,
  kCreate,
  kUpdate,
};

struct Route {
  Endpoint endpoint;
  std::vector<std::string> methods;
  std::string index;
  std::string id;
  std::string node_filter;
};

std::vector<std::string> Segments(absl::string_view raw_path) {
  std::vector<std::string> out;
  for (absl::string_view segment : absl::StrSplit(raw_path, '/', absl::SkipEmpty())) {
    out.push_back(UrlDecode(segment, false));
  }
  return out;
}

// Every route whose path pattern fits, most specific first.
std::vector<Route> MatchRoutes(const std::vector<std::string>& s) {
  const std::vector<std::string> kReadSearch = {"GET", "POST"};
  std::vector<Route> routes;
  auto add = [&routes](Endpoint endpoint, std::vector<std::string> methods, std::string index = "",
                       std::string id = "", std::string filter = "") {
    routes.push_back(
        Route{endpoint, std::move(methods), std::move(index), std::move(id), std::move(filter)});
  };
  switch (s.size()) {
    case 0:
      add(Endpoint::kRoot, {"GET", "HEAD"});
      break;
    case 1:
      if (s[0] == "_nodes") add(Endpoint::kNodes, {"GET"});
      if (s[0] == "_search") add(Endpoint::kSearch, kReadSearch);
      if (s[0] == "_msearch") add(Endpoint::kMsearch, kReadSearch);
      if (s[0] == "_bulk") add(Endpoint::kBulk, {"POST", "PUT"});
      if (s[0] == "_count") add(Endpoint::kCount, kReadSearch);
      if (s[0] == "_refresh") add(Endpoint::kRefresh, kReadSearch);
      if (s[0] == "_mapping") add(Endpoint::kMapping, {"GET"});
      add(Endpoint::kIndex, {"GET", "HEAD", "PUT", "DELETE"}, s[0]);
      break;
    case 2:
      if (s[0] == "_nodes") add(Endpoint::kNodes, {"GET"}, "", "", s[1] == "http" ? "_all" : s[1]);
      if (s[0] == "_cluster" && s[1] == "health") add(Endpoint::kHealth, {"GET"});
      if (s[1] == "_search") add(Endpoint::kSearch, kReadSearch, s[0]);
      if (s[1] == "_msearch") add(Endpoint::kMsearch, kReadSearch, s[0]);
      if (s[1] == "_bulk") add(Endpoint::kBulk, {"POST", "PUT"}, s[0]);
      if (s[1] == "_count") add(Endpoint::kCount, kReadSearch, s[0]);
      if (s[1] == "_refresh") add(Endpoint::kRefresh, kReadSearch, s[0]);
      if (s[1] == "_mapping") add(Endpoint::kMapping, {"GET"}, s[0]);
      if (s[1] == "_doc") add(Endpoint::kDocAutoId, {"POST"}, s[0]);
      break;
    case 3:
      if (s[0] == "_nodes" && s[2] == "http") add(Endpoint::kNodes, {"GET"}, "", "", s[1]);
      if (s[0] == "_cluster" && s[1] == "health") add(Endpoint::kHealth, {"GET"}, s[2]);
      if (s[1] == "_doc") add(Endpoint::kDoc, {"GET", "HEAD", "PUT", "POST", "DELETE"}, s[0], s[2]);
      if (s[1] == "_create") add(Endpoint::kCreate, {"PUT", "POST"}, s[0], s[2]);
      if (s[1] == "_update") add(Endpoint::kUpdate, {"POST"}, s[0], s[2]);
      break;
    default:
      break;
  }
  return routes;
}

bool Allows(const Route& route, const std::string& method) {
  for (const std::string& allowed : route.methods) {
    if (allowed == method || (method == "HEAD" && allowed == "GET")) return true;
  }
  return false;
}

HttpResponse EmptyResponse(int status) { return JsonResponse(status, ""); }

ResolveOptions ResolveOptionsFrom(const HttpRequest& request) {
  ResolveOptions options;
  options.ignore_unavailable = request.Param("ignore_unavailable") == "true";
  options.allow_no_indices = request.Param("allow_no_indices", "true") != "false";
  return options;
}

bool ForcedRefresh(const HttpRequest& request) {
  if (!request.HasParam("refresh")) return false;
  std::string refresh = request.Param("refresh");
  return refresh.empty() || refresh == "true";
}

// ---- filter_path ----------------------------------------------------------------------------

using PathPattern = std::vector<std::string>;

// Keeps the parts of `node` selected by `states` (pattern, position-in-pattern pairs).
bool FilterNode(const Json& node,
                const std::vector<std::pair<const PathPattern*, std::size_t>>& states, Json* out) {
  for (const auto& [pattern, position] : states) {
    if (position == pattern->size()) {
      *out = node;
      return true;
    }
  }
  if (node.is_array()) {
    Json list = Json::array();
    for (const Json& element : node) {
      Json filtered;
      if (FilterNode(element, states, &filtered)) list.push_back(std::move(filtered));
    }
    if (list.empty()) return false;
    *out = std::move(list);
    return true;
  }
  if (!node.is_object()) return false;
  Json object = Json::object();
  for (const auto& [key, value] : node.items()) {
    std::vector<std::pair<const PathPattern*, std::size_t>> next;
    for (const auto& [pattern, position] : states) {
      const std::string& segment = (*pattern)[position];
      if (segment == "**") {
        next.emplace_back(pattern, position);  // ** keeps matching deeper keys
        if (position + 1 < pattern->size() && GlobMatch((*pattern)[position + 1], key)) {
          next.emplace_back(pattern, position + 2);
        }
        if (position + 1 == pattern->size()) next.emplace_back(pattern, position + 1);
      } else if (GlobMatch(segment, key)) {
        next.emplace_back(pattern, position + 1);
      }
    }
    if (next.empty()) continue;
    Json filtered;
    if (FilterNode(value, next, &filtered)) object[key] = std::move(filtered);
  }
  if (object.empty()) return false;
  *out = std::move(object);
  return true;
}

std::string ApplyResponseParams(const HttpRequest& request, std::string body) {
  const bool pretty = request.HasParam("pretty") && request.Param("pretty") != "false";
  const std::string filter = request.Param("filter_path");
  if ((!pretty && filter.empty()) || body.empty()) return body;
  std::optional<Json> json = ParseJson(body);
  if (!json.has_value()) return body;
  if (!filter.empty()) {
    std::vector<PathPattern> patterns;
    for (absl::string_view text : absl::StrSplit(filter, ',', absl::SkipEmpty())) {
      if (absl::StartsWith(text, "-")) continue;  // exclusions are not supported
      patterns.push_back(absl::StrSplit(text, '.'));
    }
    std::vector<std::pair<const PathPattern*, std::size_t>> states;
    for (const PathPattern& pattern : patterns) states.emplace_back(&pattern, 0);
    Json filtered;
    json = FilterNode(*json, states, &filtered) ? filtered : Json::object();
  }
  if (pretty) return json->dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return Dump(*json);
}

Json VersionJson() {
  Json version = Json::object();
  version["number"] = kEsVersion;
  version["build_flavor"] = "default";
  version["build_type"] = "tar";
  version["build_hash"] = kBuildHash;
  version["build_date"] = kBuildDate;
  version["build_snapshot"] = false;
  version["lucene_version"] = kLuceneVersion;
  version["minimum_wire_compatibility_version"] = "7.17.0";
  version["minimum_index_compatibility_version"] = "7.0.0";
  return version;
}

// Splits an NDJSON body into lines without their terminators; the last piece after the final
// newline is dropped (the caller checks the body ends with one).
std::vector<absl::string_view> NdjsonLines(absl::string_view body) {
  std::vector<absl::string_view> lines = absl::StrSplit(body, '\n');
  if (!lines.empty()) lines.pop_back();
  for (absl::string_view& line : lines) {
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  }
  return lines;
}

bool IsBlank(absl::string_view text) {
  return text.find_first_not_of(" \t\r\n") == absl::string_view::npos;
}

std::string TokenName(const Json& value) {
  if (value.is_object()) return "START_OBJECT";
  if (value.is_array()) return "START_ARRAY";
  if (value.is_string()) return "VALUE_STRING";
  if (value.is_number()) return "VALUE_NUMBER";
  if (value.is_boolean()) return "VALUE_BOOLEAN";
  return "VALUE_NULL";
}

std::string ScalarText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return Dump(value);
}

}  // namespace

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"X-elastic-product", "Elasticsearch"}, {"content-type", "application/json"}};
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorResponse(const EsError& error) {
  return JsonResponse(error.status, Dump(error.ToResponseJson()));
}

EsApi::EsApi(ClusterState* state, ClusterDescription cluster, std::function<bool(int)> node_alive)
    : state_(state), cluster_(std::move(cluster)), node_alive_(std::move(node_alive)) {}

std::string EsApi::Classify(const HttpRequest& request) {
  std::vector<Route> routes = MatchRoutes(Segments(request.path));
  const Route* chosen = nullptr;
  for (const Route& route : routes) {
    if (Allows(route, request.method)) {
      chosen = &route;
      break;
    }
  }
  if (chosen == nullptr) return "unknown";
  switch (chosen->endpoint) {
    case Endpoint::kRoot:
      return "root";
    case Endpoint::kNodes:
      return "nodes_info";
    case Endpoint::kHealth:
      return "cluster_health";
    case Endpoint::kSearch:
      return "search";
    case Endpoint::kMsearch:
      return "msearch";
    case Endpoint::kBulk:
      return "bulk";
    case Endpoint::kCount:
      return "count";
    case Endpoint::kRefresh:
      return "refresh";
    case Endpoint::kIndex:
      return "index_admin";
    case Endpoint::kMapping:
      return "mapping";
    case Endpoint::kDocAutoId:
    case Endpoint::kDoc:
    case Endpoint::kCreate:
    case Endpoint::kUpdate:
      return "doc";
  }
  return "unknown";
}

HttpResponse EsApi::Handle(int node, const HttpRequest& request) const {
  // As ES 8, a request with a body must say it is JSON (or NDJSON); browser-safe form types
  // are refused to prevent CSRF.
  const std::string* content_type = request.Header("Content-Type");
  if (!request.body.empty()) {
    std::string media = content_type == nullptr ? "" : *content_type;
    media = absl::AsciiStrToLower(absl::StripAsciiWhitespace(media.substr(0, media.find(';'))));
    if (content_type == nullptr ||
        (media != "application/json" && media != "application/x-ndjson" &&
         media != "application/vnd.elasticsearch+json" &&
         media != "application/vnd.elasticsearch+x-ndjson")) {
      Json body = Json::object();
      body["error"] = content_type == nullptr ? "Content-Type header is missing"
                                              : absl::StrCat("Content-Type header [", *content_type,
                                                             "] is not supported");
      body["status"] = 406;
      return JsonResponse(406, Dump(body));
    }
  }
  HttpResponse response = Dispatch(node, request);
  // Clients asking for the versioned media type get it back, as from ES 8.
  const std::string* accept = request.Header("Accept");
  if ((accept != nullptr && absl::StrContains(*accept, "compatible-with=")) ||
      (content_type != nullptr && absl::StrContains(*content_type, "compatible-with="))) {
    for (auto& [name, value] : response.headers) {
      if (name == "content-type" && value == "application/json") {
        value = "application/vnd.elasticsearch+json;compatible-with=8";
      }
    }
  }
  response.body = ApplyResponseParams(request, std::move(response.body));
  if (const std::string* opaque = request.Header("X-Opaque-Id")) {
    response.headers.emplace_back("X-Opaque-Id", *opaque);
  }
  return response;
}

HttpResponse EsApi::Dispatch(int node, const HttpRequest& request) const {
  std::vector<Route> routes = MatchRoutes(Segments(request.path));
  const Route* chosen = nullptr;
  for (const Route& route : routes) {
    if (Allows(route, request.method)) {
      chosen = &route;
      break;
    }
  }
  if (chosen == nullptr) {
    if (routes.empty()) {
      Json body = {{"error", absl::StrCat("no handler found for uri [", request.target,
                                          "] and method [", request.method, "]")}};
      return JsonResponse(400, Dump(body));
    }
    std::vector<std::string> allowed;
    for (const Route& route : routes) {
      for (const std::string& method : route.methods) {
        if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
          allowed.push_back(method);
        }
      }
    }
    Json body = Json::object();
    body["error"] =
        absl::StrCat("Incorrect HTTP method for uri [", request.target, "] and method [",
                     request.method, "], allowed: [", absl::StrJoin(allowed, ", "), "]");
    body["status"] = 405;
    HttpResponse response = JsonResponse(405, Dump(body));
    response.headers.emplace_back("Allow", absl::StrJoin(allowed, ","));
    return response;
  }
  const Route& route = *chosen;
  switch (route.endpoint) {
    case Endpoint::kRoot:
      return Root(node);
    case Endpoint::kNodes:
      return NodesInfo(node, route.node_filter);
    case Endpoint::kHealth:
      return ClusterHealth();
    case Endpoint::kSearch:
      return Search(node, route.index, request);
    case Endpoint::kMsearch:
      return MultiSearch(node, route.index, request);
    case Endpoint::kCount:
      return CountDocs(route.index, request);
    case Endpoint::kBulk:
      return Bulk(route.index, request);
    case Endpoint::kRefresh:
      return Refresh(route.index);
    case Endpoint::kIndex:
      return IndexAdmin(route.index, request);
    case Endpoint::kMapping:
      return GetMapping(route.index);
    case Endpoint::kDocAutoId:
      return IndexDoc(route.index, "", false, request);
    case Endpoint::kCreate:
      return IndexDoc(route.index, route.id, true, request);
    case Endpoint::kUpdate:
      return UpdateDoc(route.index, route.id, request);
    case Endpoint::kDoc:
      return DocById(route.index, route.id, request);
  }
  return EmptyResponse(500);
}

HttpResponse EsApi::Root(int node) const {
  Json body = Json::object();
  body["name"] = cluster_.nodes[node].name;
  body["cluster_name"] = cluster_.name;
  body["cluster_uuid"] = cluster_.uuid;
  body["version"] = VersionJson();
  body["tagline"] = "You Know, for Search";
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::NodesInfo(int node, const std::string& filter) const {
  std::vector<std::string> wanted = absl::StrSplit(filter, ',', absl::SkipEmpty());
  auto selected = [&](int i) {
    if (wanted.empty()) return true;
    for (const std::string& item : wanted) {
      if (item == "_all" || item == "*") return true;
      if (item == "_local" && i == node) return true;
      if (item == cluster_.nodes[i].id || item == cluster_.nodes[i].name) return true;
      if (item == "_master" && i == 0) return true;
    }
    return false;
  };
  Json nodes = Json::object();
  int total = 0;
  for (int i = 0; i < static_cast<int>(cluster_.nodes.size()); ++i) {
    if (!node_alive_(i) || !selected(i)) continue;
    const NodeDescription& n = cluster_.nodes[i];
    ++total;
    Json entry = Json::object();
    entry["name"] = n.name;
    entry["transport_address"] = n.transport_address;
    entry["host"] = n.host;
    entry["ip"] = n.ip;
    entry["version"] = kEsVersion;
    entry["transport_version"] = 8702002;
    entry["index_version"] = 8512000;
    entry["build_flavor"] = "default";
    entry["build_type"] = "tar";
    entry["build_hash"] = kBuildHash;
    entry["roles"] = n.roles;
    entry["attributes"] = {{"xpack.installed", "true"}};
    Json http = Json::object();
    http["bound_address"] = Json::array({n.bound_address});
    http["publish_address"] = n.publish_address;
    http["max_content_length_in_bytes"] = kMaxContentLength;
    entry["http"] = std::move(http);
    nodes[n.id] = std::move(entry);
  }
  Json body = Json::object();
  body["_nodes"] = {{"total", total}, {"successful", total}, {"failed", 0}};
  body["cluster_name"] = cluster_.name;
  body["nodes"] = std::move(nodes);
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::ClusterHealth() const {
  int alive = 0;
  int data = 0;
  for (int i = 0; i < static_cast<int>(cluster_.nodes.size()); ++i) {
    if (!node_alive_(i)) continue;
    ++alive;
    if (cluster_.nodes[i].data) ++data;
  }
  ClusterState::Health health = state_->GetHealth();
  Json body = Json::object();
  body["cluster_name"] = cluster_.name;
  body["status"] = "green";
  body["timed_out"] = false;
  body["number_of_nodes"] = alive;
  body["number_of_data_nodes"] = data;
  body["active_primary_shards"] = health.indices;
  body["active_shards"] = health.indices * (1 + health.replicas);
  body["relocating_shards"] = 0;
  body["initializing_shards"] = 0;
  body["unassigned_shards"] = 0;
  body["delayed_unassigned_shards"] = 0;
  body["number_of_pending_tasks"] = 0;
  body["number_of_in_flight_fetch"] = 0;
  body["task_max_waiting_in_queue_millis"] = 0;
  body["active_shards_percent_as_number"] = 100.0;
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::Search(int node, const std::string& indices, const HttpRequest& request) const {
  absl::Time start = absl::Now();
  absl::StatusOr<SearchRequest> parsed = ParseSearchRequest(request.body, request.params);
  if (!parsed.ok()) return ErrorResponse(FromStatus(parsed.status()));
  absl::StatusOr<std::string> result =
      state_->Search(indices, *parsed, ResolveOptionsFrom(request), cluster_.nodes[node].id, start);
  if (!result.ok()) return ErrorResponse(FromStatus(result.status()));
  return JsonResponse(200, std::move(*result));
}

HttpResponse EsApi::MultiSearch(int node, const std::string& indices,
                                const HttpRequest& request) const {
  absl::Time start = absl::Now();
  if (IsBlank(request.body)) {
    return ErrorResponse(ActionValidation("no requests added"));
  }
  if (!absl::EndsWith(request.body, "\n")) {
    return ErrorResponse(
        IllegalArgument("The msearch request must be terminated by a newline [\\n]"));
  }
  std::vector<absl::string_view> lines = NdjsonLines(request.body);
  // Like Elasticsearch, parse every header and body first: a malformed one fails the whole
  // request, while execution errors (a missing index) are reported per item.
  struct Item {
    std::string target;
    ResolveOptions options;
    SearchRequest search;
  };
  std::vector<Item> items;
  for (std::size_t i = 0; i < lines.size(); i += 2) {
    Json header = Json::object();
    if (!IsBlank(lines[i])) {
      std::optional<Json> parsed = ParseJson(lines[i]);
      if (!parsed.has_value()) return ErrorResponse(XContentParseError(lines[i]));
      if (!parsed->is_object()) {
        return ErrorResponse(IllegalArgument(absl::StrCat("Malformed msearch header line [", i + 1,
                                                          "], expected START_OBJECT but found [",
                                                          TokenName(*parsed), "]")));
      }
      header = std::move(*parsed);
    }
    if (i + 1 >= lines.size()) {
      return ErrorResponse(ActionValidation("no search body for the last header"));
    }
    Item item;
    item.target = indices;
    if (const Json* index = Find(header, "index")) {
      if (index->is_string()) {
        item.target = index->get<std::string>();
      } else if (index->is_array()) {
        std::vector<std::string> names;
        for (const Json& name : *index) {
          if (name.is_string()) names.push_back(name.get<std::string>());
        }
        item.target = absl::StrJoin(names, ",");
      }
    }
    item.options.ignore_unavailable = GetBool(header, "ignore_unavailable").value_or(false);
    item.options.allow_no_indices = GetBool(header, "allow_no_indices").value_or(true);
    ParamMap params;
    for (const char* name : {"rest_total_hits_as_int", "typed_keys"}) {
      if (request.HasParam(name)) params[name] = request.Param(name);
    }
    absl::StatusOr<SearchRequest> parsed = ParseSearchRequest(lines[i + 1], params);
    if (!parsed.ok()) return ErrorResponse(FromStatus(parsed.status()));
    item.search = std::move(*parsed);
    items.push_back(std::move(item));
  }
  std::vector<std::string> responses;
  for (const Item& item : items) {
    absl::StatusOr<std::string> result =
        state_->Search(item.target, item.search, item.options, cluster_.nodes[node].id, start);
    if (result.ok()) {
      std::string text = std::move(*result);
      text.pop_back();  // the closing brace, to add the item status
      absl::StrAppend(&text, ",\"status\":200}");
      responses.push_back(std::move(text));
    } else {
      responses.push_back(Dump(FromStatus(result.status()).ToResponseJson()));
    }
  }
  std::string body = absl::StrCat("{\"took\":", absl::ToInt64Milliseconds(absl::Now() - start),
                                  ",\"responses\":[", absl::StrJoin(responses, ","), "]}");
  return JsonResponse(200, std::move(body));
}

HttpResponse EsApi::CountDocs(const std::string& indices, const HttpRequest& request) const {
  absl::StatusOr<std::unique_ptr<Query>> query = ParseCountRequest(request.body, request.params);
  if (!query.ok()) return ErrorResponse(FromStatus(query.status()));
  absl::StatusOr<std::pair<int64_t, int>> count =
      state_->Count(indices, query->get(), ResolveOptionsFrom(request));
  if (!count.ok()) return ErrorResponse(FromStatus(count.status()));
  Json body = Json::object();
  body["count"] = count->first;
  body["_shards"] = {
      {"total", count->second}, {"successful", count->second}, {"skipped", 0}, {"failed", 0}};
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::Bulk(const std::string& default_index, const HttpRequest& request) const {
  absl::Time start = absl::Now();
  if (request.body.empty()) {
    EsError error;
    error.status = 400;
    error.type = "parse_exception";
    error.reason = "request body is required";
    return ErrorResponse(error);
  }
  if (!absl::EndsWith(request.body, "\n")) {
    return ErrorResponse(IllegalArgument("The bulk request must be terminated by a newline [\\n]"));
  }
  const std::string default_routing = request.Param("routing");
  std::vector<absl::string_view> lines = NdjsonLines(request.body);
  std::vector<WriteOp> ops;
  std::vector<std::string> actions;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int line_number = static_cast<int>(i) + 1;
    if (IsBlank(lines[i])) continue;
    std::optional<Json> action_line = ParseJson(lines[i]);
    if (!action_line.has_value()) return ErrorResponse(XContentParseError(lines[i]));
    if (!action_line->is_object() || action_line->empty()) {
      return ErrorResponse(IllegalArgument(
          absl::StrCat("Malformed action/metadata line [", line_number, "], expected ",
                       action_line->is_object() ? "FIELD_NAME" : "START_OBJECT", " but found [",
                       action_line->is_object() ? "END_OBJECT" : TokenName(*action_line), "]")));
    }
    const std::string action = action_line->begin().key();
    const Json& meta = action_line->begin().value();
    WriteOp op;
    if (action == "index") {
      op.type = WriteOp::Type::kIndex;
    } else if (action == "create") {
      op.type = WriteOp::Type::kCreate;
    } else if (action == "update") {
      op.type = WriteOp::Type::kUpdate;
    } else if (action == "delete") {
      op.type = WriteOp::Type::kDelete;
    } else {
      return ErrorResponse(IllegalArgument(absl::StrCat(
          "Malformed action/metadata line [", line_number,
          "], expected field [create], [delete], [index] or [update] but found [", action, "]")));
    }
    if (!meta.is_object()) {
      return ErrorResponse(IllegalArgument(absl::StrCat(
          "Malformed action/metadata line [", line_number,
          "], expected START_OBJECT or END_OBJECT but found [", TokenName(meta), "]")));
    }
    op.index = default_index;
    op.routing = default_routing;
    for (const auto& [key, value] : meta.items()) {
      if (value.is_object() || value.is_array()) {
        if (key == "_source" || key == "dynamic_templates") continue;
        return ErrorResponse(
            IllegalArgument(absl::StrCat("Malformed action/metadata line [", line_number,
                                         "], expected a simple value for field [", key,
                                         "] but found [", TokenName(value), "]")));
      }
      if (key == "_index") {
        op.index = ScalarText(value);
      } else if (key == "_id") {
        op.id = value.is_null() ? "" : ScalarText(value);
      } else if (key == "routing") {
        op.routing = value.is_null() ? "" : ScalarText(value);
      } else if (key == "if_seq_no" && value.is_number()) {
        op.if_seq_no = value.get<int64_t>();
      } else if (key == "if_primary_term" && value.is_number()) {
        op.if_primary_term = value.get<int64_t>();
      } else if (key == "op_type") {
        if (ScalarText(value) == "create" && op.type == WriteOp::Type::kIndex) {
          op.type = WriteOp::Type::kCreate;
        }
      } else if (key == "pipeline" || key == "require_alias" || key == "retry_on_conflict" ||
                 key == "version" || key == "version_type" || key == "list_executed_pipelines" ||
                 key == "require_data_stream" || key == "if_seq_no" || key == "if_primary_term") {
        continue;
      } else {
        return ErrorResponse(IllegalArgument(absl::StrCat(
            "Action/metadata line [", line_number, "] contains an unknown parameter [", key, "]")));
      }
    }
    if (op.index.empty()) return ErrorResponse(ActionValidation("index is missing"));
    if (op.id.empty() && (op.type == WriteOp::Type::kUpdate || op.type == WriteOp::Type::kDelete)) {
      return ErrorResponse(ActionValidation("id is missing"));
    }
    if (op.type != WriteOp::Type::kDelete) {
      if (i + 1 >= lines.size()) return ErrorResponse(ActionValidation("source is missing"));
      op.source = std::string(lines[++i]);
    }
    actions.push_back(op.type == WriteOp::Type::kCreate ? "create" : action);
    ops.push_back(std::move(op));
  }
  if (ops.empty()) return ErrorResponse(ActionValidation("no requests added"));

  std::vector<WriteResult> results = state_->WriteBulk(ops, ForcedRefresh(request));
  bool errors = false;
  Json items = Json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    errors |= results[i].error.has_value();
    items.push_back({{actions[i], results[i].ToBulkItem()}});
  }
  Json body = Json::object();
  body["errors"] = errors;
  body["took"] = absl::ToInt64Milliseconds(absl::Now() - start);
  body["items"] = std::move(items);
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::Refresh(const std::string& indices) const {
  absl::StatusOr<int> shards = state_->Refresh(indices);
  if (!shards.ok()) return ErrorResponse(FromStatus(shards.status()));
  Json body = {{"_shards", {{"total", *shards}, {"successful", *shards}, {"failed", 0}}}};
  return JsonResponse(200, Dump(body));
}

HttpResponse EsApi::IndexAdmin(const std::string& index, const HttpRequest& request) const {
  if (request.method == "PUT") {
    absl::StatusOr<Json> created = state_->CreateIndex(index, request.body);
    if (!created.ok()) return ErrorResponse(FromStatus(created.status()));
    return JsonResponse(200, Dump(*created));
  }
  if (request.method == "DELETE") {
    absl::Status deleted = state_->DeleteIndices(index);
    if (!deleted.ok()) return ErrorResponse(FromStatus(deleted));
    return JsonResponse(200, Dump(Json{{"acknowledged", true}}));
  }
  if (request.method == "HEAD") {
    return EmptyResponse(state_->IndexExists(index) ? 200 : 404);
  }
  absl::StatusOr<Json> described = state_->DescribeIndices(index, false);
  if (!described.ok()) return ErrorResponse(FromStatus(described.status()));
  return JsonResponse(200, Dump(*described));
}

HttpResponse EsApi::GetMapping(const std::string& index) const {
  absl::StatusOr<Json> described = state_->DescribeIndices(index, true);
  if (!described.ok()) return ErrorResponse(FromStatus(described.status()));
  return JsonResponse(200, Dump(*described));
}

HttpResponse EsApi::IndexDoc(const std::string& index, const std::string& id, bool create,
                             const HttpRequest& request) const {
  WriteOp op;
  op.type = create || request.Param("op_type") == "create" ? WriteOp::Type::kCreate
                                                           : WriteOp::Type::kIndex;
  op.index = index;
  op.id = id;
  op.routing = request.Param("routing");
  op.source = request.body;
  for (const auto& [name, target] :
       {std::pair{"if_seq_no", &op.if_seq_no}, std::pair{"if_primary_term", &op.if_primary_term}}) {
    if (!request.HasParam(name)) continue;
    int64_t value = 0;
    if (!absl::SimpleAtoi(request.Param(name), &value)) {
      return ErrorResponse(IllegalArgument(absl::StrCat(
          "Failed to parse long parameter [", name, "] with value [", request.Param(name), "]")));
    }
    *target = value;
  }
  if (IsBlank(request.body)) {
    return ErrorResponse(ActionValidation("source is missing"));
  }
  WriteResult result = state_->Write(op, ForcedRefresh(request), false);
  if (result.error.has_value()) return ErrorResponse(*result.error);
  HttpResponse response = JsonResponse(result.status, Dump(result.body));
  if (result.status == 201) {
    response.headers.emplace_back(
        "Location", absl::StrCat("/", UrlEncode(result.index), "/_doc/", UrlEncode(result.id)));
  }
  return response;
}

HttpResponse EsApi::UpdateDoc(const std::string& index, const std::string& id,
                              const HttpRequest& request) const {
  WriteOp op;
  op.type = WriteOp::Type::kUpdate;
  op.index = index;
  op.id = id;
  op.routing = request.Param("routing");
  op.source = request.body;
  if (IsBlank(request.body)) return ErrorResponse(ActionValidation("script or doc is missing"));
  WriteResult result = state_->Write(op, ForcedRefresh(request), false);
  if (result.error.has_value()) return ErrorResponse(*result.error);
  return JsonResponse(result.status, Dump(result.body));
}

HttpResponse EsApi::DocById(const std::string& index, const std::string& id,
                            const HttpRequest& request) const {
  if (request.method == "PUT" || request.method == "POST") {
    return IndexDoc(index, id, false, request);
  }
  if (request.method == "DELETE") {
    WriteOp op;
    op.type = WriteOp::Type::kDelete;
    op.index = index;
    op.id = id;
    WriteResult result = state_->Write(op, ForcedRefresh(request), false);
    if (result.error.has_value()) return ErrorResponse(*result.error);
    return JsonResponse(result.status, Dump(result.body));
  }
  SourceFilter source;
  if (request.HasParam("_source")) {
    std::string value = request.Param("_source");
    if (value == "false") {
      source.enabled = false;
    } else if (value != "true" && !value.empty()) {
      source.includes = absl::StrSplit(value, ',', absl::SkipEmpty());
    }
  }
  if (request.HasParam("_source_includes")) {
    source.includes = absl::StrSplit(request.Param("_source_includes"), ',', absl::SkipEmpty());
  }
  if (request.HasParam("_source_excludes")) {
    source.excludes = absl::StrSplit(request.Param("_source_excludes"), ',', absl::SkipEmpty());
  }
  absl::StatusOr<std::pair<int, std::string>> found = state_->Get(index, id, source);
  if (!found.ok()) return ErrorResponse(FromStatus(found.status()));
  if (request.method == "HEAD") return EmptyResponse(found->first);
  return JsonResponse(found->first, std::move(found->second));
}

}  // namespace esgw::devcluster
