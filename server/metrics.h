// Prometheus text exposition (format 0.0.4) of what esgw knows: gRPC server metrics under the
// names the ecosystem's interceptors use (grpc_server_started_total, grpc_server_handled_total,
// grpc_server_handling_seconds, grpc_server_msg_{received,sent}_total, labelled grpc_type,
// grpc_service, grpc_method and, for handled, grpc_code), the node pool per node, sniffing, and
// the process (resident memory, open fds, CPU), as the standard process collector names them.
// GrpcServerMetrics is fed by CallTracker's interceptor; everything else is read when scraped.
// Thread-safe: counters are atomics; registering a method takes a lock once per new method.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "pool/histogram.h"

namespace esgw {

class CurlTransport;
class HealthService;
class IngestStreams;
class NodePool;

// Appends metric families in the text format: HELP and TYPE once per family, then samples.
class PrometheusWriter {
 public:
  using Labels = std::initializer_list<std::pair<absl::string_view, absl::string_view>>;

  explicit PrometheusWriter(std::string* out) : out_(out) {}

  // type: "counter", "gauge", "histogram" or "untyped". Starts a family.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  void Sample(absl::string_view name, Labels labels, double value);
  // name_bucket{...,le="..."} for each bound and +Inf, then name_sum and name_count.
  void Histogram(absl::string_view name, Labels labels, const LatencyHistogram::Snapshot& h);

  // A label value escaped as the format asks (backslash, double quote, newline).
  static std::string EscapeLabelValue(absl::string_view value);
  // A sample value: integers without a fraction, others with enough digits, NaN and +Inf/-Inf
  // as the format spells them.
  static std::string FormatValue(double value);

 private:
  void Line(absl::string_view name, Labels labels, absl::string_view extra_label,
            absl::string_view extra_value, const std::string& value);
  std::string* const out_;
};

class GrpcServerMetrics {
 public:
  // The counters of one method. Stable address for the life of GrpcServerMetrics.
  struct Method {
    std::string service = "";
    std::string method = "";
    // unary, client_stream, server_stream or bidi_stream.
    std::string type = "";
    std::atomic<uint64_t> started{0};
    // By grpc::StatusCode, 0 (OK) to 16 (UNAUTHENTICATED).
    std::array<std::atomic<uint64_t>, 17> handled = {};
    std::atomic<uint64_t> msg_received{0};
    std::atomic<uint64_t> msg_sent{0};
    LatencyHistogram handling;
  };

  // full_method: "/package.Service/Method". The method's counters, created on first use (so
  // the exposition lists every method that was registered or called, zeros included).
  Method* Get(absl::string_view full_method, absl::string_view type);
  // Registers every method of the named protobuf service (from the generated descriptor pool),
  // so its series exist before the first call. Unknown names are ignored.
  void RegisterService(absl::string_view service_full_name);

  void Write(PrometheusWriter& writer) const;

 private:
  mutable absl::Mutex mu_;
  // By full method name; node-stable values.
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

// Everything /metrics shows, gathered at scrape time.
struct MetricsSources {
  // Not owned; null ones are left out.
  const GrpcServerMetrics* grpc = nullptr;
  const NodePool* pool = nullptr;
  const CurlTransport* transport = nullptr;
  const HealthService* health = nullptr;
  const IngestStreams* ingest = nullptr;
  std::string version = "";
};
std::string RenderMetrics(const MetricsSources& sources);

}  // namespace esgw
