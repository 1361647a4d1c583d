#include "pool/failure_class.h"

#include "pool/es_error.h"

namespace esgw {

absl::string_view FailureClassName(FailureClass failure_class) {
  switch (failure_class) {
    case FailureClass::kSuccess:
      return "success";
    case FailureClass::kHard:
      return "hard";
    case FailureClass::kStale:
      return "stale";
    case FailureClass::kSoft:
      return "soft";
    case FailureClass::kBackpressure:
      return "backpressure";
    case FailureClass::kRequest:
      return "request";
    case FailureClass::kLocal:
      return "local";
  }
  return "unknown";
}

FailureClass Classify(const HttpResponse& response) {
  switch (response.error) {
    case TransportError::kNone:
      break;
    case TransportError::kConnectFailed:
      return FailureClass::kHard;
    case TransportError::kStaleConnection:
      return FailureClass::kStale;
    case TransportError::kConnectionLost:
    case TransportError::kTimeout:
    // A garbled or oversized response is the node's doing, but it answered: soft, not hard.
    case TransportError::kOther:
      return FailureClass::kSoft;
    case TransportError::kCancelled:
      return FailureClass::kLocal;
  }
  const int status = response.status;
  if (status < 400) return FailureClass::kSuccess;
  if (status == 429) return FailureClass::kBackpressure;
  if (status == 503) {
    // Elasticsearch answers 503 both for "busy" (rejected execution) and for "broken"
    // (no master, shards unavailable); only the body tells them apart.
    return IsBackpressure(ParseEsError(status, response.body)) ? FailureClass::kBackpressure
                                                               : FailureClass::kSoft;
  }
  if (status == 502 || status == 504) return FailureClass::kSoft;
  return FailureClass::kRequest;
}

}  // namespace esgw
