#include "server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "pool/curl_transport.h"
#include "pool/failure_class.h"
#include "pool/node_pool.h"
#include "server/health_service.h"
#include "server/ingest_call.h"

namespace esgw {

// ---- PrometheusWriter ----

std::string PrometheusWriter::EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusWriter::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest of these that reads back as the same double ("0.001", not
  // "0.0010000000000000000208").
  for (int precision : {15, 16}) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

void PrometheusWriter::Family(absl::string_view name, absl::string_view type,
                              absl::string_view help) {
  absl::StrAppend(out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusWriter::Line(absl::string_view name, Labels labels, absl::string_view extra_label,
                            absl::string_view extra_value, const std::string& value) {
  absl::StrAppend(out_, name);
  bool first = true;
  auto label = [&](absl::string_view key, absl::string_view v) {
    absl::StrAppend(out_, first ? "{" : ",", key, "=\"", EscapeLabelValue(v), "\"");
    first = false;
  };
  for (const auto& [key, v] : labels) label(key, v);
  if (!extra_label.empty()) label(extra_label, extra_value);
  absl::StrAppend(out_, first ? "" : "}", " ", value, "\n");
}

void PrometheusWriter::Sample(absl::string_view name, Labels labels, double value) {
  Line(name, labels, "", "", FormatValue(value));
}

void PrometheusWriter::Histogram(absl::string_view name, Labels labels,
                                 const LatencyHistogram::Snapshot& h) {
  const std::string bucket = absl::StrCat(name, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    cumulative += h.counts[i];
    Line(bucket, labels, "le", FormatValue(kLatencyBucketsSeconds[i]), absl::StrCat(cumulative));
  }
  cumulative += h.counts[LatencyHistogram::kBuckets];
  Line(bucket, labels, "le", "+Inf", absl::StrCat(cumulative));
  Line(absl::StrCat(name, "_sum"), labels, "", "", FormatValue(h.sum_seconds));
  Line(absl::StrCat(name, "_count"), labels, "", "", absl::StrCat(cumulative));
}

// ---- GrpcServerMetrics ----

namespace {

constexpr const char* kCodeNames[17] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

}  // namespace

GrpcServerMetrics::Method* GrpcServerMetrics::Get(absl::string_view full_method,
                                                  absl::string_view type) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Method>& slot = methods_[full_method];
  if (slot == nullptr) {
    slot = std::make_unique<Method>();
    // "/package.Service/Method"; anything else is kept whole as the method.
    absl::string_view name = full_method;
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    const size_t slash = name.find('/');
    slot->service = std::string(slash == absl::string_view::npos ? "" : name.substr(0, slash));
    slot->method = std::string(slash == absl::string_view::npos ? name : name.substr(slash + 1));
    slot->type = std::string(type);
  }
  return slot.get();
}

void GrpcServerMetrics::RegisterService(absl::string_view service_full_name) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name));
  if (service == nullptr) return;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* method = service->method(i);
    const char* type = method->client_streaming()
                           ? (method->server_streaming() ? "bidi_stream" : "client_stream")
                           : (method->server_streaming() ? "server_stream" : "unary");
    Get(absl::StrCat("/", service->full_name(), "/", method->name()), type);
  }
}

void GrpcServerMetrics::Write(PrometheusWriter& w) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const Method*> methods;
  for (const auto& [name, method] : methods_) methods.push_back(method.get());
  std::sort(methods.begin(), methods.end(), [](const Method* a, const Method* b) {
    return std::tie(a->service, a->method) < std::tie(b->service, b->method);
  });
  auto each = [&](absl::string_view family, absl::string_view type, absl::string_view help,
                  auto&& write) {
    w.Family(family, type, help);
    for (const Method* m : methods) write(*m);
  };
#define ESGW_METHOD_LABELS(m)                                                             \
  {                                                                                       \
    {"grpc_type", (m).type}, {"grpc_service", (m).service}, { "grpc_method", (m).method } \
  }
  each("grpc_server_started_total", "counter", "RPCs started on the server.", [&](const Method& m) {
    w.Sample("grpc_server_started_total", ESGW_METHOD_LABELS(m),
             static_cast<double>(m.started.load(std::memory_order_relaxed)));
  });
  each("grpc_server_handled_total", "counter",
       "RPCs completed on the server, by status code (codes never seen are left out).",
       [&](const Method& m) {
         for (int code = 0; code < 17; ++code) {
           const uint64_t n = m.handled[code].load(std::memory_order_relaxed);
           if (n == 0 && code != 0) continue;
           w.Sample("grpc_server_handled_total",
                    {{"grpc_type", m.type},
                     {"grpc_service", m.service},
                     {"grpc_method", m.method},
                     {"grpc_code", kCodeNames[code]}},
                    static_cast<double>(n));
         }
       });
  each("grpc_server_msg_received_total", "counter", "Messages received from clients.",
       [&](const Method& m) {
         w.Sample("grpc_server_msg_received_total", ESGW_METHOD_LABELS(m),
                  static_cast<double>(m.msg_received.load(std::memory_order_relaxed)));
       });
  each("grpc_server_msg_sent_total", "counter", "Messages sent to clients.", [&](const Method& m) {
    w.Sample("grpc_server_msg_sent_total", ESGW_METHOD_LABELS(m),
             static_cast<double>(m.msg_sent.load(std::memory_order_relaxed)));
  });
  each("grpc_server_handling_seconds", "histogram",
       "Time from the start of an RPC to its status being sent, in seconds.", [&](const Method& m) {
         w.Histogram("grpc_server_handling_seconds", ESGW_METHOD_LABELS(m), m.handling.Read());
       });
#undef ESGW_METHOD_LABELS
}

// ---- process ----

namespace {

struct ProcessStats {
  bool ok = false;
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
};

ProcessStats ReadProcessStats() {
  ProcessStats s;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces; fields count from after it.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return s;
  std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state): field n is fields[n - 3].
  if (fields.size() < 22) return s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto field = [&](int n) { return std::strtod(fields[n - 3].c_str(), nullptr); };
  s.cpu_seconds = (field(14) + field(15)) / ticks;
  s.virtual_bytes = field(23);
  s.resident_bytes = field(24) * page;
  std::ifstream proc_stat("/proc/stat");
  std::string line;
  while (std::getline(proc_stat, line)) {
    if (absl::StartsWith(line, "btime ")) {
      s.start_time_seconds = std::strtod(line.c_str() + 6, nullptr) + field(22) / ticks;
      break;
    }
  }
  if (DIR* dir = opendir("/proc/self/fd"); dir != nullptr) {
    int n = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    closedir(dir);
    s.open_fds = n - 1;  // the directory stream's own descriptor
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  s.ok = true;
  return s;
}

void WriteProcess(PrometheusWriter& w) {
  const ProcessStats s = ReadProcessStats();
  if (!s.ok) return;
  struct Row {
    const char* name;
    const char* type;
    const char* help;
    double value;
  };
  for (const Row& row : {
           Row{"process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", s.cpu_seconds},
           Row{"process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.", s.start_time_seconds},
           Row{"process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               s.virtual_bytes},
           Row{"process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               s.resident_bytes},
           Row{"process_open_fds", "gauge", "Number of open file descriptors.", s.open_fds},
           Row{"process_max_fds", "gauge", "Maximum number of open file descriptors.", s.max_fds},
       }) {
    w.Family(row.name, row.type, row.help);
    w.Sample(row.name, {}, row.value);
  }
}

// ---- pool ----

void WritePool(PrometheusWriter& w, const NodePool& pool, const CurlTransport* transport) {
  const PoolSnapshot snapshot = pool.Snapshot();
  struct NodeRow {
    std::string address;
    const NodeStatsSnapshot* node;
    CurlTransport::ConnectionStats connections;
  };
  std::vector<NodeRow> rows;
  for (const NodeStatsSnapshot& node : snapshot.nodes) {
    const std::string address = node.info.endpoint.HostPort();
    rows.push_back({address, &node,
                    transport != nullptr ? transport->GetConnectionStats(address)
                                         : CurlTransport::ConnectionStats{}});
  }
  auto per_node = [&](absl::string_view name, absl::string_view type, absl::string_view help,
                      auto&& value) {
    w.Family(name, type, help);
    for (const NodeRow& row : rows) {
      w.Sample(name, {{"node", row.address}}, static_cast<double>(value(row)));
    }
  };

  w.Family("esgw_node_info", "gauge",
           "1 per node in the pool, with Elasticsearch's id, name and roles as labels.");
  for (const NodeRow& row : rows) {
    std::string roles;
    for (const std::string& role : row.node->info.roles) {
      absl::StrAppend(&roles, roles.empty() ? "" : ",", role);
    }
    w.Sample("esgw_node_info",
             {{"node", row.address},
              {"node_id", row.node->info.node_id},
              {"name", row.node->info.name},
              {"roles", roles},
              {"seed", row.node->info.seed ? "true" : "false"},
              {"draining", row.node->draining ? "true" : "false"}},
             1);
  }
  w.Family("esgw_node_state", "gauge",
           "1 for the state the node is in (alive, dead or probing), 0 for the others.");
  for (const NodeRow& row : rows) {
    for (NodeState state : {NodeState::kAlive, NodeState::kDead, NodeState::kProbing}) {
      w.Sample("esgw_node_state", {{"node", row.address}, {"state", NodeStateName(state)}},
               row.node->state == state ? 1 : 0);
    }
  }
  per_node("esgw_node_in_flight_requests", "gauge", "Requests to the node right now.",
           [](const NodeRow& r) { return r.node->in_flight; });
  per_node("esgw_node_requests_total", "counter",
           "Attempts sent to the node that reached an outcome, whatever it was.",
           [](const NodeRow& r) { return r.node->requests_total; });
  w.Family("esgw_node_failures_total", "counter",
           "Attempts on the node that did not succeed, by failure class (hard, stale, soft, "
           "backpressure, request, local).");
  for (const NodeRow& row : rows) {
    for (FailureClass c :
         {FailureClass::kHard, FailureClass::kStale, FailureClass::kSoft,
          FailureClass::kBackpressure, FailureClass::kRequest, FailureClass::kLocal}) {
      const auto it = row.node->failures_by_class.find(c);
      w.Sample("esgw_node_failures_total", {{"node", row.address}, {"class", FailureClassName(c)}},
               static_cast<double>(it == row.node->failures_by_class.end() ? 0 : it->second));
    }
  }
  per_node("esgw_node_retries_total", "counter",
           "Failed attempts on the node that esgw retried (on it or on another node).",
           [](const NodeRow& r) { return r.node->retries_total; });
  per_node("esgw_node_consecutive_failures", "gauge",
           "Failures on the node since its last success.",
           [](const NodeRow& r) { return r.node->consecutive_failures; });
  per_node("esgw_node_probes_total", "counter", "Background probes (GET /) sent to the dead node.",
           [](const NodeRow& r) { return r.node->probes_total; });
  per_node("esgw_node_probe_failures_total", "counter", "Background probes that failed.",
           [](const NodeRow& r) { return r.node->probe_failures_total; });
  per_node("esgw_node_connections_opened_total", "counter", "HTTP connections opened to the node.",
           [](const NodeRow& r) { return r.connections.opened; });
  per_node("esgw_node_connections_closed_total", "counter", "HTTP connections closed to the node.",
           [](const NodeRow& r) { return r.connections.closed; });
  per_node("esgw_node_weight", "gauge",
           "Slow-start weight in [0, 1]: 1 once a revived node has ramped up, 0 when not alive.",
           [](const NodeRow& r) { return r.node->weight; });
  w.Family("esgw_node_request_duration_seconds", "histogram",
           "Time of each attempt on the node that reached an outcome, in seconds (cancelled "
           "attempts and stale-connection resets are left out).");
  for (const NodeRow& row : rows) {
    w.Histogram("esgw_node_request_duration_seconds", {{"node", row.address}}, row.node->latency);
  }

  int counts[3] = {0, 0, 0};
  for (const NodeStatsSnapshot& node : snapshot.nodes) ++counts[static_cast<int>(node.state)];
  w.Family("esgw_pool_nodes", "gauge", "Nodes in the pool by state.");
  for (NodeState state : {NodeState::kAlive, NodeState::kDead, NodeState::kProbing}) {
    w.Sample("esgw_pool_nodes", {{"state", NodeStateName(state)}}, counts[static_cast<int>(state)]);
  }
  w.Family("esgw_retries_total", "counter", "Attempts esgw retried, over all nodes.");
  w.Sample("esgw_retries_total", {}, static_cast<double>(snapshot.retries_total));
  w.Family("esgw_sniffs_total", "counter", "Sniffs (GET /_nodes/http) attempted.");
  w.Sample("esgw_sniffs_total", {}, static_cast<double>(snapshot.sniffs_total));
  w.Family("esgw_sniff_failures_total", "counter",
           "Sniffs that failed or found no reachable node.");
  w.Sample("esgw_sniff_failures_total", {}, static_cast<double>(snapshot.sniff_failures_total));
  if (snapshot.last_sniff_time.has_value()) {
    w.Family("esgw_last_sniff_timestamp_seconds", "gauge",
             "When the last sniff finished, in seconds since the unix epoch.");
    w.Sample("esgw_last_sniff_timestamp_seconds", {},
             absl::ToDoubleSeconds(*snapshot.last_sniff_time - absl::UnixEpoch()));
  }
}

}  // namespace

std::string RenderMetrics(const MetricsSources& sources) {
  std::string out;
  out.reserve(64 << 10);
  PrometheusWriter w(&out);
  w.Family("esgw_build_info", "gauge", "1, with esgw's version as a label.");
  w.Sample("esgw_build_info", {{"version", sources.version}}, 1);
  if (sources.health != nullptr) {
    w.Family("esgw_serving", "gauge",
             "1 while the gateway reports SERVING (a node can take requests and no shutdown "
             "has started), else 0.");
    w.Sample("esgw_serving", {}, sources.health->serving() ? 1 : 0);
  }
  if (sources.grpc != nullptr) sources.grpc->Write(w);
  if (sources.pool != nullptr) WritePool(w, *sources.pool, sources.transport);
  if (sources.ingest != nullptr) {
    const IngestStreams::Totals ingest = sources.ingest->totals();
    w.Family("esgw_ingest_streams", "gauge", "Ingest streams open.");
    w.Sample("esgw_ingest_streams", {}, static_cast<double>(ingest.streams));
    w.Family("esgw_ingest_buffered_bytes", "gauge",
             "Bytes of ops the Ingest streams hold: read from a client, result not yet written "
             "back (at most ingest_max_buffer_bytes per stream, and one message).");
    w.Sample("esgw_ingest_buffered_bytes", {}, static_cast<double>(ingest.buffered_bytes));
    w.Family("esgw_ingest_read_pauses_total", "counter",
             "Times an Ingest stream stopped reading because its buffer was full, holding its "
             "client back (Elasticsearch, or the client reading its results, is the slow side).");
    w.Sample("esgw_ingest_read_pauses_total", {}, static_cast<double>(ingest.read_pauses));
  }
  WriteProcess(w);
  return out;
}

}  // namespace esgw
