// JSON helpers for the dev cluster: one ordered JSON type (keys keep insertion order, as in
// Elasticsearch's responses) and parse/dump wrappers that never throw.
// Stateless; every function is thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace esgw::devcluster {

using Json = nlohmann::ordered_json;

// Parses `text`; std::nullopt when it is not valid JSON.
std::optional<Json> ParseJson(absl::string_view text);

// Where and why `text` failed to parse: 1-based line and column and a short description in the
// style of Elasticsearch's x_content_parse_exception reasons. Only meaningful for invalid JSON.
struct JsonSyntaxError {
  int line = 1;
  int column = 1;
  std::string message;
};
JsonSyntaxError DescribeJsonError(absl::string_view text);

// Compact serialisation; invalid UTF-8 is replaced instead of throwing.
std::string Dump(const Json& value);

// Typed field access that never throws. Each returns std::nullopt when `object` is not an object,
// lacks `key`, or holds a value of another type.
const Json* Find(const Json& object, absl::string_view key);
std::optional<std::string> GetString(const Json& object, absl::string_view key);
std::optional<int64_t> GetInt(const Json& object, absl::string_view key);
std::optional<bool> GetBool(const Json& object, absl::string_view key);

// 1-based line and column of the first occurrence of `"key"` in `text` (for parsing_exception
// locations); {1, 1} when absent.
std::pair<int, int> LocateKey(absl::string_view text, absl::string_view key);

}  // namespace esgw::devcluster
