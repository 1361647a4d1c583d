#include "pool/es_error.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "pool/utf8.h"

namespace esgw {
namespace {

namespace od = simdjson::ondemand;

constexpr absl::string_view kRejectedType = "es_rejected_execution_exception";

// Reads a string value into *out (sanitised). Returns false, leaving *out alone, for any other
// type, including null (Elasticsearch sends "reason": null for some exceptions).
bool ReadText(od::value value, std::string* out) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  // Debian's absl::string_view is its own type, not std::string_view.
  *out = BoundedUtf8(absl::string_view(text.data(), text.size()), kMaxEsErrorFieldBytes,
                     /*fold_whitespace=*/true);
  return true;
}

// "resource.id" is a string, or an array of strings when the error names several resources.
void ReadTextOrList(od::value value, std::string* out) {
  if (ReadText(value, out)) return;
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return;
  std::string joined;
  for (auto element : array) {
    std::string_view text;
    if (element.get_string().get(text) != simdjson::SUCCESS) break;
    if (!joined.empty()) joined.push_back(',');
    joined.append(text.data(), text.size());
    if (joined.size() > kMaxEsErrorFieldBytes) break;
  }
  *out = BoundedUtf8(joined, kMaxEsErrorFieldBytes, /*fold_whitespace=*/true);
}

// The type and reason (and where present, the index) of one cause object.
struct Cause {
  std::string type;
  std::string reason;
  std::string index;
};

// Reads {"type":..,"reason":..,"index":..}; other fields are skipped. Returns false when the JSON
// is broken (what was read so far is kept).
bool ReadCause(od::value value, Cause* cause) {
  od::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) return true;  // Wrong type: ignore.
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return false;
    }
    if (key == "type") {
      ReadText(field.value(), &cause->type);
    } else if (key == "reason") {
      ReadText(field.value(), &cause->reason);
    } else if (key == "index") {
      ReadText(field.value(), &cause->index);
    }
  }
  return true;
}

// Reads the error object of {"error":{...}}. Returns false when the JSON is broken.
bool ReadErrorObject(od::object object, EsError* error) {
  Cause caused_by;
  Cause root_cause;
  std::string resource_id;
  bool intact = true;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      intact = false;
      break;
    }
    od::value value = field.value();
    if (key == "type") {
      ReadText(value, &error->type);
    } else if (key == "reason") {
      ReadText(value, &error->reason);
    } else if (key == "index") {
      ReadText(value, &error->index);
    } else if (key == "resource.id") {
      ReadTextOrList(value, &resource_id);
    } else if (key == "caused_by") {
      if (!ReadCause(value, &caused_by)) {
        intact = false;
        break;
      }
    } else if (key == "root_cause") {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) continue;
      for (auto element : array) {
        od::value first;
        if (std::move(element).get(first) != simdjson::SUCCESS || !ReadCause(first, &root_cause)) {
          intact = false;
        }
        break;  // The first root cause is the one Elasticsearch considers primary.
      }
      if (!intact) break;
    }
  }
  error->root_cause_type = root_cause.type;
  if (!caused_by.type.empty() || !caused_by.reason.empty()) {
    error->caused_by_type = std::move(caused_by.type);
    error->caused_by_reason = std::move(caused_by.reason);
  } else if (!root_cause.type.empty() && root_cause.type != error->type) {
    // A search_phase_execution_exception says "all shards failed"; its root cause says why.
    error->caused_by_type = root_cause.type;
    error->caused_by_reason = std::move(root_cause.reason);
  }
  if (error->index.empty()) error->index = std::move(resource_id);
  if (error->index.empty()) error->index = std::move(root_cause.index);
  return intact;
}

// Reads a JSON error body into *error. Returns false when the body is not a JSON object or nothing
// in it describes an error, so the caller falls back to the raw text.
bool ReadJsonError(absl::string_view body, EsError* error) {
  const simdjson::padded_string padded(body.data(), body.size());
  od::parser parser;
  od::document document;
  od::object root;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS ||
      document.get_object().get(root) != simdjson::SUCCESS) {
    return false;
  }
  bool found = false;
  std::string message;
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(key) != simdjson::SUCCESS) {
      break;
    }
    od::value value = field.value();
    if (key == "error") {
      od::object object;
      if (value.get_object().get(object) == simdjson::SUCCESS) {
        found = true;
        if (!ReadErrorObject(object, error)) break;
      } else if (ReadText(value, &error->reason)) {
        found = true;  // Elasticsearch 1.x/2.x: {"error":"IndexMissingException[...]"}.
      }
    } else if (key == "status") {
      int64_t status = 0;
      if (error->http_status == 0 && value.get_int64().get(status) == simdjson::SUCCESS &&
          status > 0 && status < 1000) {
        error->http_status = static_cast<int>(status);
      }
    } else if (key == "message" || key == "Message") {
      // Cloud load balancers and API gateways: {"message":"Forbidden"}, {"ok":false,...}.
      found = ReadText(value, &message) || found;
    }
  }
  if (error->reason.empty()) error->reason = std::move(message);
  return found && (!error->type.empty() || !error->reason.empty());
}

// The text of an HTML page's <title>, e.g. "502 Bad Gateway" from nginx; empty when none.
std::string HtmlTitle(absl::string_view body) {
  const std::string head = absl::AsciiStrToLower(body.substr(0, 4096));
  const size_t open = head.find("<title");
  if (open == std::string::npos) return "";
  const size_t start = head.find('>', open);
  if (start == std::string::npos) return "";
  const size_t end = head.find("</title", start);
  if (end == std::string::npos) return "";
  return BoundedUtf8(body.substr(start + 1, end - start - 1), kMaxEsErrorBodyPrefixBytes,
                     /*fold_whitespace=*/true);
}

absl::string_view HttpStatusText(int http_status) {
  switch (http_status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

absl::StatusCode CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    // A request timeout is the node giving up on us; the client sees its deadline pass.
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 409:
      return absl::StatusCode::kAborted;
    // Size limits (http.max_content_length, URI and header limits) and 429 after retries: the
    // caller must send less, as gRPC itself answers an over-size message. DESIGN.md section 4 puts
    // "429 after retries and size limits" on RESOURCE_EXHAUSTED. Unlike 429 these are not retried:
    // IsBackpressure is false for them.
    case 413:
    case 414:
    case 429:
    case 431:
      return absl::StatusCode::kResourceExhausted;
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      break;
  }
  // Other 4xx (405, 406, 410, 412, 415, ...): the request passed our validation but the cluster
  // will not take it in its current state or version; retrying the same call will not help until
  // something changes there, which is FAILED_PRECONDITION rather than a bad argument.
  if (http_status >= 400 && http_status < 500) return absl::StatusCode::kFailedPrecondition;
  if (http_status >= 500 && http_status < 600) return absl::StatusCode::kInternal;
  // No HTTP error status at all (0, 1xx-3xx, e.g. a proxy redirect): we cannot say more.
  return absl::StatusCode::kUnknown;
}

// "index_not_found_exception" -> "INDEX_NOT_FOUND_EXCEPTION"; anything but [A-Za-z0-9] -> '_'.
std::string UpperSnake(absl::string_view type) {
  std::string out(type);
  for (char& c : out) {
    c = absl::ascii_isalnum(static_cast<unsigned char>(c)) ? absl::ascii_toupper(c) : '_';
  }
  return out;
}

}  // namespace

EsError ParseEsError(int http_status, absl::string_view body) {
  EsError error;
  error.http_status = http_status;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(body);
  if (trimmed.empty()) return error;
  if (trimmed.front() == '{' && ReadJsonError(trimmed, &error)) return error;
  if (trimmed.front() == '<') {
    error.reason = HtmlTitle(trimmed);
    if (!error.reason.empty()) return error;
  }
  if (error.reason.empty())
    error.reason = BoundedUtf8(trimmed, kMaxEsErrorBodyPrefixBytes, /*fold_whitespace=*/true);
  return error;
}

bool IsBackpressure(const EsError& error) {
  if (error.http_status == 429) return true;
  return error.http_status == 503 &&
         (error.type == kRejectedType || error.root_cause_type == kRejectedType ||
          error.caused_by_type == kRejectedType);
}

absl::Status EsErrorToStatus(const EsError& error) {
  const absl::string_view status_text = HttpStatusText(error.http_status);
  std::string http_line = absl::StrCat("HTTP ", error.http_status);
  if (!status_text.empty()) absl::StrAppend(&http_line, " ", status_text);

  std::string message =
      absl::StrCat("elasticsearch: ", error.type.empty() ? http_line : error.type);
  // An nginx page titled "502 Bad Gateway" adds nothing to "HTTP 502 Bad Gateway".
  const bool reason_is_status_line =
      error.type.empty() && error.reason == absl::StrCat(error.http_status, " ", status_text);
  if (!error.reason.empty() && !reason_is_status_line)
    absl::StrAppend(&message, ": ", error.reason);

  ErrorInfo info;
  info.reason =
      error.type.empty() ? absl::StrCat("HTTP_", error.http_status) : UpperSnake(error.type);
  info.metadata["http_status"] = absl::StrCat(error.http_status);
  const auto add = [&info](const char* key, const std::string& value) {
    if (!value.empty()) info.metadata[key] = value;
  };
  add("es_type", error.type);
  add("es_reason", error.reason);
  add("caused_by_type", error.caused_by_type);
  add("caused_by_reason", error.caused_by_reason);
  add("index", error.index);
  return WithErrorInfo(
      absl::Status(CodeForHttpStatus(error.http_status),
                   BoundedUtf8(message, kMaxEsErrorFieldBytes, /*fold_whitespace=*/true)),
      info);
}

}  // namespace esgw
