// Fuzz target: any bytes as the client-supplied strings that server/validation.h and
// server/index_patterns.h judge: an index name (for writing and as a search target), a document
// id, a URL parameter value, a JSON body, a serialized google.protobuf.Struct body, and (split at
// the first newline) an index pattern and a target it may cover.
// Invariants: every accepted value obeys the rules the header states (so nothing that could
// change a URL or break a body gets through), every rejection is INVALID_ARGUMENT with ErrorInfo
// INVALID_FIELD naming the field, PercentEncode leaves only unreserved characters and %XX and
// decodes back to its input, a rendered Struct body passes the JSON body check, and PatternCovers
// agrees with plain glob matching on concrete names and never says yes wrongly for wildcards.

#include <google/protobuf/struct.pb.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "pool/error_info.h"
#include "server/index_patterns.h"
#include "server/validation.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/grpc_status_check.h"

namespace {

using esgw::IndexUse;

void CheckInvalidField(const absl::Status& status, absl::string_view field) {
  esgw::fuzz::CheckError(status, absl::StatusCode::kInvalidArgument, "INVALID_FIELD");
  const esgw::ErrorInfo info = esgw::GetErrorInfo(status);
  const auto it = info.metadata.find("field");
  ESGW_FUZZ_CHECK(it != info.metadata.end() && it->second == field);
  esgw::fuzz::CheckGrpcStatusRoundTrip(status);
}

// What the header promises of an accepted index name, whatever its use.
void CheckAcceptedIndexName(absl::string_view name, IndexUse use) {
  ESGW_FUZZ_CHECK(!name.empty() && name.size() <= 255);
  if (use == IndexUse::kRead && name == "_all") return;
  absl::string_view rest = name;
  if (use == IndexUse::kRead && rest.front() == '-') rest.remove_prefix(1);
  ESGW_FUZZ_CHECK_NOTE(!rest.empty() && rest != "." && rest != "..", name);
  ESGW_FUZZ_CHECK_NOTE(rest.front() != '-' && rest.front() != '_' && rest.front() != '+', name);
  for (const char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    ESGW_FUZZ_CHECK_NOTE(!absl::ascii_isupper(u) && u >= 0x20 && u != 0x7f, name);
    ESGW_FUZZ_CHECK_NOTE(absl::string_view("\\/?\"<>|,#: ").find(c) == absl::string_view::npos,
                         name);
    if (use == IndexUse::kWrite) ESGW_FUZZ_CHECK_NOTE(c != '*', name);
  }
}

void CheckIndexName(absl::string_view name) {
  const absl::Status write = esgw::ValidateIndexName(name, IndexUse::kWrite, "index");
  const absl::Status first = esgw::ValidateIndexName(name, IndexUse::kRead, "indices[0]");
  const absl::Status later =
      esgw::ValidateIndexName(name, IndexUse::kRead, "indices[1]", /*first_target=*/false);
  if (write.ok()) {
    CheckAcceptedIndexName(name, IndexUse::kWrite);
    // A concrete index is also a valid search target.
    ESGW_FUZZ_CHECK(first.ok());
  } else {
    CheckInvalidField(write, "index");
  }
  if (first.ok()) {
    CheckAcceptedIndexName(name, IndexUse::kRead);
    // Only an exclusion depends on its position.
    ESGW_FUZZ_CHECK(later.ok());
  } else {
    CheckInvalidField(first, "indices[0]");
  }
  if (later.ok()) {
    CheckAcceptedIndexName(name, IndexUse::kRead);
  } else {
    CheckInvalidField(later, "indices[1]");
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void CheckPercentEncode(absl::string_view text) {
  const std::string encoded = esgw::PercentEncode(text);
  std::string decoded;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '%') {
      ESGW_FUZZ_CHECK(i + 2 < encoded.size());
      const int high = HexValue(encoded[i + 1]);
      const int low = HexValue(encoded[i + 2]);
      ESGW_FUZZ_CHECK(high >= 0 && low >= 0);
      const char byte = static_cast<char>(high * 16 + low);
      // Unreserved characters are never encoded, so an encoding is never ambiguous.
      ESGW_FUZZ_CHECK(!absl::ascii_isalnum(static_cast<unsigned char>(byte)) &&
                      absl::string_view("-._~").find(byte) == absl::string_view::npos);
      decoded.push_back(byte);
      i += 2;
    } else {
      ESGW_FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                      c == '_' || c == '~');
      decoded.push_back(c);
    }
  }
  ESGW_FUZZ_CHECK(decoded == text);
}

// Glob matching where '*' in pattern matches any run of characters: the reference for
// PatternCovers on concrete names. Quadratic dynamic programming, so obviously right.
bool Glob(absl::string_view pattern, absl::string_view text) {
  // matches[j]: pattern[0, i) matches text[0, j).
  std::vector<char> matches(text.size() + 1, 0);
  matches[0] = 1;
  for (const char p : pattern) {
    std::vector<char> next(text.size() + 1, 0);
    if (p == '*') {
      char any = 0;
      for (size_t j = 0; j <= text.size(); ++j) {
        any = any || matches[j];
        next[j] = any;
      }
    } else {
      for (size_t j = 1; j <= text.size(); ++j) next[j] = matches[j - 1] && text[j - 1] == p;
    }
    matches = std::move(next);
  }
  return matches[text.size()] != 0;
}

void CheckPatterns(absl::string_view pattern, absl::string_view expression) {
  // Index names are at most 255 bytes; the reference is quadratic.
  if (pattern.size() > 300 || expression.size() > 300) return;
  const bool covers = esgw::PatternCovers(pattern, expression);
  // Every pattern covers itself.
  if (pattern == expression) ESGW_FUZZ_CHECK(covers);
  if (expression.find('*') == absl::string_view::npos) {
    ESGW_FUZZ_CHECK(covers == Glob(pattern, expression));
  } else if (covers) {
    // Sound for a wildcard expression: every name it stands for matches the pattern.
    for (const absl::string_view fill : {"", "a", "*", "-x.y", "**"}) {
      const std::string name = absl::StrReplaceAll(expression, {{"*", fill}});
      ESGW_FUZZ_CHECK_NOTE(Glob(pattern, name), name);
    }
  }
  const std::vector<std::string> patterns = {std::string(pattern)};
  ESGW_FUZZ_CHECK(esgw::IndexAllowed(patterns, expression) == covers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  CheckIndexName(input);

  const absl::Status id = esgw::ValidateDocumentId(input, "id");
  ESGW_FUZZ_CHECK(id.ok() == (!input.empty() && input.size() <= 512));
  if (!id.ok()) CheckInvalidField(id, "id");

  CheckPercentEncode(input);

  const absl::Status param = esgw::ValidateParamValue(input, "routing");
  if (param.ok()) {
    ESGW_FUZZ_CHECK(!input.empty() && input.size() <= 512);
    for (const char c : input) {
      ESGW_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    }
  } else {
    CheckInvalidField(param, "routing");
  }

  const std::string text(input);
  const google::protobuf::Struct no_struct;
  const absl::StatusOr<std::string> body =
      esgw::JsonObjectBody(true, text, false, no_struct, "body_json", "body_struct");
  if (body.ok()) {
    ESGW_FUZZ_CHECK(*body == (input.empty() ? "{}" : input));
    ESGW_FUZZ_CHECK(esgw::fuzz::IsUtf8(*body));
  } else {
    CheckInvalidField(body.status(), "body_json");
  }

  google::protobuf::Struct structure;
  if (structure.ParseFromArray(data, static_cast<int>(size))) {
    const absl::StatusOr<std::string> rendered =
        esgw::JsonObjectBody(false, "", true, structure, "body_json", "body_struct");
    if (rendered.ok()) {
      // What esgw renders from a Struct is itself a valid JSON object body.
      const absl::StatusOr<std::string> checked =
          esgw::JsonObjectBody(true, *rendered, false, no_struct, "body_json", "body_struct");
      ESGW_FUZZ_CHECK_NOTE(checked.ok(), *rendered);
    } else {
      CheckInvalidField(rendered.status(), "body_struct");
    }
  }

  const absl::Status size_check = esgw::CheckRequestSize(size, 64, "max_read_request_bytes");
  ESGW_FUZZ_CHECK(size_check.ok() == (size <= 64));
  if (!size_check.ok()) {
    esgw::fuzz::CheckError(size_check, absl::StatusCode::kResourceExhausted, "LIMIT_EXCEEDED");
  }

  const size_t newline = input.find('\n');
  if (newline != absl::string_view::npos) {
    CheckPatterns(input.substr(0, newline), input.substr(newline + 1));
  } else {
    CheckPatterns(input, input);
  }
  return 0;
}
