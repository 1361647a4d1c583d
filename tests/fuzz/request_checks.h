// Checks shared by the fuzz targets of gateway request validation (server/es_requests.h,
// server/bulk_encoder.h): what an accepted request turns into, and what a rejection looks like.
// Header-only.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "pool/error_info.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/grpc_status_check.h"

namespace esgw::fuzz {

// A rejected request: INVALID_ARGUMENT with ErrorInfo INVALID_FIELD naming a field, which reaches
// the client intact.
inline void CheckRejected(const absl::Status& status) {
  CheckError(status, absl::StatusCode::kInvalidArgument, "INVALID_FIELD");
  const ErrorInfo info = GetErrorInfo(status);
  const auto field = info.metadata.find("field");
  ESGW_FUZZ_CHECK_NOTE(field != info.metadata.end() && !field->second.empty(), status.ToString());
  CheckGrpcStatusRoundTrip(status);
}

// Decodes %XX; false when a '%' is not followed by two hex digits.
inline bool PercentDecode(absl::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || !absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return false;
    }
    int value = 0;
    for (int k = 1; k <= 2; ++k) {
      const char c = absl::ascii_tolower(text[i + k]);
      value = value * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    out->push_back(static_cast<char>(value));
    i += 2;
  }
  return true;
}

// A path and query as sent to Elasticsearch: "/" then segments of unreserved characters and %XX
// (',' between search targets), no empty, "." or ".." segment, then optionally '?' and
// key=value pairs joined by '&'. Returns the segments (as sent) and the query pairs (decoded
// values).
struct SplitPath {
  std::vector<std::string> segments = {};
  std::vector<std::pair<std::string, std::string>> query = {};
};

inline SplitPath CheckPath(absl::string_view path) {
  SplitPath split;
  ESGW_FUZZ_CHECK_NOTE(absl::StartsWith(path, "/"), path);
  for (const char c : path) {
    const bool allowed = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                         absl::string_view("-._~%/,?&=").find(c) != absl::string_view::npos;
    ESGW_FUZZ_CHECK_NOTE(allowed, path);
  }
  const size_t question = path.find('?');
  const absl::string_view route = path.substr(0, question);
  for (const absl::string_view segment : absl::StrSplit(route.substr(1), '/')) {
    // Dot segments would be removed by URL normalisation, changing the endpoint.
    ESGW_FUZZ_CHECK_NOTE(!segment.empty() && segment != "." && segment != "..", path);
    std::string decoded;
    ESGW_FUZZ_CHECK_NOTE(PercentDecode(segment, &decoded), path);
    split.segments.emplace_back(segment);
  }
  if (question == absl::string_view::npos) return split;
  const absl::string_view query = path.substr(question + 1);
  ESGW_FUZZ_CHECK_NOTE(!query.empty(), path);
  for (const absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t equals = pair.find('=');
    ESGW_FUZZ_CHECK_NOTE(equals != absl::string_view::npos && equals > 0, path);
    const absl::string_view key = pair.substr(0, equals);
    for (const char c : key) {
      ESGW_FUZZ_CHECK_NOTE(absl::ascii_islower(static_cast<unsigned char>(c)) || c == '_', path);
    }
    std::string value;
    ESGW_FUZZ_CHECK_NOTE(PercentDecode(pair.substr(equals + 1), &value), path);
    split.query.emplace_back(std::string(key), std::move(value));
  }
  return split;
}

// A JSON object as a whole document, parsed with a parser of its own (not the code under test's).
inline bool IsJsonObject(absl::string_view text, simdjson::dom::parser& parser,
                         simdjson::dom::element* root = nullptr) {
  simdjson::dom::element element;
  if (parser.parse(text.data(), text.size()).get(element) != simdjson::SUCCESS) return false;
  if (root != nullptr) *root = element;
  return element.is_object();
}

}  // namespace esgw::fuzz
