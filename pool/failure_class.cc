#include "pool/failure_class.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
    // Every node would answer the same request with as much: the request is at fault, and
    // blaming nodes for it would let one caller eject them all.
    case TransportError::kResponseTooLarge:
      return FailureClass::kRequest;
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

std::string NotAnElasticsearchAnswer(const HttpResponse& response, HttpMethod method) {
  if (response.error != TransportError::kNone || response.status < 200 || response.status >= 300) {
    return "";
  }
  // An unlabelled body cannot be judged by its label; the parser judges it.
  if (!response.content_type.empty()) {
    const absl::string_view media_type = absl::StripAsciiWhitespace(
        absl::string_view(response.content_type).substr(0, response.content_type.find(';')));
    // application/json, or a structured +json type such as Elasticsearch's
    // application/vnd.elasticsearch+json.
    if (!absl::EqualsIgnoreCase(media_type, "application/json") &&
        !absl::EndsWithIgnoreCase(media_type, "+json")) {
      return absl::StrCat("content-type \"", media_type, "\" is not JSON");
    }
  }
  if (response.body.empty() && method != HttpMethod::kHead) return "the body is empty";
  return "";
}

bool RejectNonElasticsearchAnswer(HttpMethod method, HttpResponse* response) {
  const std::string why = NotAnElasticsearchAnswer(*response, method);
  if (why.empty()) return false;
  response->error = TransportError::kOther;
  response->error_message =
      absl::StrCat("HTTP ", response->status, " that is not an Elasticsearch answer: ", why);
  return true;
}

}  // namespace esgw
