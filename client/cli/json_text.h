// JSON text helpers for esgw-cli (string literals come from pool/utf8.h): re-indenting and
// compacting JSON without re-parsing numbers (so documents print byte for byte as stored, numbers
// and key order kept), checking that text is a JSON object, and reading one field of a document.
// Thread-safe: pure functions (parsers are thread-local).
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace esgw::cli {

// json re-indented with two spaces per level. Text that is not balanced JSON comes back as it
// was.
std::string PrettyJson(absl::string_view json);
// json without insignificant whitespace.
std::string CompactJson(absl::string_view json);

// OK when text is one JSON object; INVALID_ARGUMENT with the parser's reason otherwise.
absl::Status CheckJsonObject(absl::string_view text);

// The value at a dotted path ("name", "price.amount") of a JSON object: strings unquoted,
// anything else as compact JSON. nullopt when text is not an object or the path is absent.
std::optional<std::string> JsonField(absl::string_view text, absl::string_view path);

}  // namespace esgw::cli
