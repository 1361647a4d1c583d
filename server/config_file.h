// Reads esgw-server's --config file: a YAML (or JSON) mapping from flag names to values, e.g.
//   listen: 0.0.0.0:50051
//   es_nodes: [http://a:9200, http://b:9200]
//   sniff_interval: 30s
// into key/value pairs in file order, for main.cc to apply as flags. Only reads and checks the
// file; what a value means is the flag's business. Thread-safe: pure functions.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace esgw {

// One `key: value` of a config file.
struct ConfigEntry {
  std::string key = "";
  // A scalar's text as YAML reads it, never converted ("500ms", "true", "64", "1.50"; quotes
  // removed, escapes decoded); a list of scalars becomes its items joined by ','
  // ("http://a:9200,http://b:9200"; "" for an empty list).
  std::string value = "";
  // The 1-based line of the key.
  int line = 0;
};

// Parses the contents of a config file. source names the file in messages (usually its path).
// is_known_key says whether a key is a flag the file may set; when empty, every key is
// accepted. known_keys are offered as "did you mean" for an unknown key; none when empty.
//
// An empty file, or one with only comments, gives no entries. Otherwise the file must be one
// YAML document holding a mapping. Errors are INVALID_ARGUMENT, with a message of the form
// "<source>:<line>: <what is wrong>" that names the key: a YAML syntax error, a top level that
// is not a mapping, a key that is not a name, the key 'config', an unknown key, a key given
// twice, a value that is null (`key:` alone, `~`, `null`), a mapping or an alias (`*name`:
// aliases are not expanded), a list item that is not a scalar. Never throws.
absl::StatusOr<std::vector<ConfigEntry>> ParseConfig(
    absl::string_view text, absl::string_view source,
    const std::function<bool(absl::string_view)>& is_known_key,
    absl::Span<const std::string> known_keys = {});

// Reads the file at path (at most 1 MiB) and parses it with ParseConfig, path as the source.
// A file that cannot be read gives the code of its errno (NOT_FOUND, PERMISSION_DENIED, ...)
// with a message naming the path; a larger file is INVALID_ARGUMENT.
absl::StatusOr<std::vector<ConfigEntry>> LoadConfigFile(
    const std::string& path, const std::function<bool(absl::string_view)>& is_known_key,
    absl::Span<const std::string> known_keys = {});

// The name in known_keys (other than key itself) closest to key by edit distance (an insertion,
// deletion, substitution or swap of adjacent characters each count 1), when that is at most 2
// and less than half of key's length; "" when none is that close. The first one wins a tie.
std::string ClosestKey(absl::string_view key, absl::Span<const std::string> known_keys);

}  // namespace esgw
