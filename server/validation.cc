#include "server/validation.h"

#include <simdjson.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "pool/error_info.h"

namespace esgw {

absl::Status ValidateIndexName(absl::string_view name, IndexUse use, absl::string_view field,
                               bool first_target) {
  if (name.empty()) return InvalidField(field, "index name must not be empty");
  if (name.size() > 255) return InvalidField(field, "index name must be at most 255 bytes");
  absl::string_view rest = name;
  if (use == IndexUse::kRead) {
    if (name == "_all") return absl::OkStatus();
    if (rest.front() == '-') {
      if (first_target) {
        return InvalidField(field,
                            "an exclusion (-name) must follow another target it narrows down");
      }
      rest.remove_prefix(1);
      if (rest.empty()) return InvalidField(field, "exclusion '-' must name an index");
    }
  }
  if (rest == "." || rest == "..") return InvalidField(field, "index name must not be . or ..");
  const char first = rest.front();
  if (first == '-' || first == '_' || first == '+') {
    return InvalidField(field, "index name must not start with '-', '_' or '+'");
  }
  for (const char c : rest) {
    if (c == '*' && use == IndexUse::kRead) continue;
    if (absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return InvalidField(field, "index name must be lowercase");
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidField(field, "index name must not contain control characters");
    }
    switch (c) {
      case '\\':
      case '/':
      case '*':
      case '?':
      case '"':
      case '<':
      case '>':
      case '|':
      case ',':
      case '#':
      case ':':
      case ' ':
        return InvalidField(
            field, absl::StrCat("index name must not contain '", absl::string_view(&c, 1), "'"));
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDocumentId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return InvalidField(field, "document id must not be empty");
  if (id.size() > 512) {
    return InvalidField(field,
                        absl::StrCat("document id must be at most 512 bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

absl::Status ValidateParamValue(absl::string_view value, absl::string_view field,
                                size_t max_bytes) {
  if (value.empty()) return InvalidField(field, "must not be empty");
  if (value.size() > max_bytes) {
    return InvalidField(field, absl::StrCat("must be at most ", max_bytes, " bytes"));
  }
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidField(field, "must not contain control characters");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> JsonObjectBody(bool has_json, const std::string& body_json,
                                           bool has_struct,
                                           const google::protobuf::Struct& body_struct,
                                           absl::string_view json_field,
                                           absl::string_view struct_field) {
  if (has_struct) {
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(body_struct, &json);
    if (!status.ok()) {
      return InvalidField(
          struct_field, absl::StrCat("cannot be rendered as JSON: ", status.message().ToString()));
    }
    return json;
  }
  if (!has_json || body_json.empty()) return std::string("{}");
  // One parser per thread: it keeps its buffers, so validation allocates nothing once warm.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(body_json).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidField(json_field,
                        absl::StrCat("must be valid JSON: ", simdjson::error_message(error)));
  }
  if (!root.is_object()) return InvalidField(json_field, "must be a JSON object");
  return body_json;
}

absl::Status CheckRequestSize(size_t bytes, size_t limit, absl::string_view limit_name) {
  if (bytes <= limit) return absl::OkStatus();
  return WithErrorInfo(
      absl::ResourceExhaustedError(
          absl::StrCat("request is ", bytes, " bytes; ", limit_name, " allows ", limit)),
      {.reason = "LIMIT_EXCEEDED", .metadata = {{"limit", std::string(limit_name)}}});
}

}  // namespace esgw
