// Fuzz target: any bytes as an Elasticsearch (or proxy) error body, read by ParseEsError with the
// HTTP statuses that matter (pool/es_error.h), then judged by IsBackpressure and mapped by
// EsErrorToStatus.
// Invariants: ParseEsError never fails and every string of EsError is valid UTF-8 without control
// characters and within kMaxEsErrorFieldBytes (plus "..."); the status is never OK, its message
// bounded, its code the documented one for the HTTP status, its ErrorInfo reason upper snake case,
// and it reaches the client intact; only a 429 or a 503 is ever backpressure.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "pool/error_info.h"
#include "pool/es_error.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/grpc_status_check.h"

namespace {

void CheckField(const std::string& text) {
  ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsUtf8(text), text);
  ESGW_FUZZ_CHECK_NOTE(text.size() <= esgw::kMaxEsErrorFieldBytes + 3, text);
  for (const char c : text) {
    ESGW_FUZZ_CHECK_NOTE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, text);
  }
}

absl::StatusCode ExpectedCode(int http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 409:
      return absl::StatusCode::kAborted;
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
  if (http_status >= 400 && http_status < 500) return absl::StatusCode::kFailedPrecondition;
  if (http_status >= 500 && http_status < 600) return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  // 0: the caller does not know (the body's "status" is used).
  for (const int http_status : {0, 400, 404, 429, 500, 503}) {
    const esgw::EsError error = esgw::ParseEsError(http_status, body);
    if (http_status != 0) ESGW_FUZZ_CHECK(error.http_status == http_status);
    ESGW_FUZZ_CHECK(error.http_status >= 0 && error.http_status < 1000);
    CheckField(error.type);
    CheckField(error.reason);
    CheckField(error.caused_by_type);
    CheckField(error.caused_by_reason);
    CheckField(error.root_cause_type);
    CheckField(error.index);

    if (esgw::IsBackpressure(error)) {
      ESGW_FUZZ_CHECK(error.http_status == 429 || error.http_status == 503);
    }
    if (error.http_status == 429) ESGW_FUZZ_CHECK(esgw::IsBackpressure(error));

    const absl::Status status = esgw::EsErrorToStatus(error);
    ESGW_FUZZ_CHECK(!status.ok());
    ESGW_FUZZ_CHECK(status.code() == ExpectedCode(error.http_status));
    ESGW_FUZZ_CHECK(absl::StartsWith(status.message(), "elasticsearch: "));
    ESGW_FUZZ_CHECK(status.message().size() <= esgw::kMaxEsErrorFieldBytes + 3);
    ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(status.message()));
    const esgw::ErrorInfo info = esgw::GetErrorInfo(status);
    ESGW_FUZZ_CHECK(!info.reason.empty());
    for (const char c : info.reason) {
      ESGW_FUZZ_CHECK_NOTE(absl::ascii_isupper(static_cast<unsigned char>(c)) ||
                               absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_',
                           info.reason);
    }
    ESGW_FUZZ_CHECK(info.metadata.count("http_status") == 1);
    esgw::fuzz::CheckGrpcStatusRoundTrip(status);
  }
  return 0;
}
