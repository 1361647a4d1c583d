// Checks shared by the fuzz targets of the Elasticsearch response parsers (server/es_response.h).
// Header-only.
#pragma once

#include <simdjson.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "pool/error_info.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/grpc_status_check.h"

namespace esgw::fuzz {

// body in a std::string with simdjson's padding readable after it, the way the transport hands
// response bodies to the parsers (read in place, no copy).
inline std::string PaddedCopy(absl::string_view body) {
  std::string copy;
  copy.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  copy.assign(body.data(), body.size());
  return copy;
}

inline simdjson::padded_string_view PaddedView(const std::string& padded) {
  return simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity());
}

// A free-form value (_source, sort, aggregations, ...) copied from body: empty (absent or null),
// or the exact bytes of one JSON value in body, delimited like one (an object from '{' to '}', an
// array from '[' to ']', a string in quotes), with no whitespace around it.
inline void CheckRawJson(absl::string_view body, absl::string_view raw) {
  if (raw.empty()) return;
  ESGW_FUZZ_CHECK_NOTE(absl::StrContains(body, raw), raw);
  ESGW_FUZZ_CHECK(IsUtf8(raw));
  const char first = raw.front();
  const char last = raw.back();
  ESGW_FUZZ_CHECK_NOTE(first != ' ' && first != '\n' && first != '\r' && first != '\t', raw);
  ESGW_FUZZ_CHECK_NOTE(last != ' ' && last != '\n' && last != '\r' && last != '\t', raw);
  if (first == '{') ESGW_FUZZ_CHECK_NOTE(last == '}', raw);
  if (first == '[') ESGW_FUZZ_CHECK_NOTE(last == ']', raw);
  if (first == '"') ESGW_FUZZ_CHECK_NOTE(raw.size() >= 2 && last == '"', raw);
  ESGW_FUZZ_CHECK_NOTE(first != '}' && first != ']' && first != ',' && first != ':', raw);
}

// A parser's failure: INTERNAL with ErrorInfo BAD_ES_RESPONSE and a "path", a message that says
// it is about Elasticsearch's response, and a status that reaches the client intact.
inline void CheckBadEsResponse(const absl::Status& status) {
  CheckError(status, absl::StatusCode::kInternal, "BAD_ES_RESPONSE");
  ESGW_FUZZ_CHECK_NOTE(GetErrorInfo(status).metadata.count("path") == 1, status.ToString());
  ESGW_FUZZ_CHECK_NOTE(absl::StartsWith(status.message(), "elasticsearch response: "),
                       status.ToString());
  CheckGrpcStatusRoundTrip(status);
}

}  // namespace esgw::fuzz
