#include "pool/prober.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pool/failure_class.h"

namespace esgw {

bool ProbeAnswered(const HttpResponse& response) {
  switch (Classify(response)) {
    case FailureClass::kSuccess:
    case FailureClass::kRequest:
    case FailureClass::kBackpressure:
      return true;
    case FailureClass::kHard:
    case FailureClass::kStale:
    case FailureClass::kSoft:
    case FailureClass::kLocal:
      return false;
  }
  return false;
}

void ProbeNode(Transport& transport, const Endpoint& endpoint, absl::Duration timeout,
               absl::AnyInvocable<void(bool ok, std::string detail) &&> done) {
  // Built in one initializer: assigning a literal to path trips GCC 12's false -Wrestrict
  // under the sanitizer builds.
  HttpRequest request{.method = HttpMethod::kGet, .path = "/", .timeout = timeout};
  transport.Send(
      endpoint, std::move(request), [done = std::move(done)](HttpResponse response) mutable {
        // A proxy's page is no sign of life from Elasticsearch.
        RejectNonElasticsearchAnswer(HttpMethod::kGet, &response);
        const bool ok = ProbeAnswered(response);
        std::string detail;
        if (!ok) {
          detail =
              response.error == TransportError::kNone
                  ? absl::StrCat("HTTP ", response.status)
                  : absl::StrCat(TransportErrorName(response.error), ": ", response.error_message);
        }
        std::move(done)(ok, std::move(detail));
      });
}

absl::StatusOr<std::unique_ptr<Prober>> Prober::Create(Options options, NodePool* pool,
                                                       Transport* transport) {
  if (pool == nullptr || transport == nullptr) {
    return absl::InvalidArgumentError("prober needs a pool and a transport");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("probe timeout must be positive");
  }
  return std::unique_ptr<Prober>(new Prober(options, pool, transport));
}

int Prober::RunOnce() {
  const std::vector<NodeInfo> due = pool_->TakeDueProbes();
  for (const NodeInfo& node : due) {
    // Capture the pool, not this: a probe may finish after the Prober is gone.
    ProbeNode(*transport_, node.endpoint, options_.timeout,
              [pool = pool_, host_port = node.endpoint.HostPort()](bool ok, std::string) {
                pool->OnProbeResult(host_port, ok);
              });
  }
  return static_cast<int>(due.size());
}

}  // namespace esgw
