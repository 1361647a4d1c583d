// Fuzz target: any bytes as the text of a --config file, read by ParseConfig
// (server/config_file.h) with every key allowed and with esgw-server's kind of key check, and the
// keys it meets given to ClosestKey.
// Invariants: no exception escapes (yaml-cpp throws; ParseConfig must catch); a failure is
// INVALID_ARGUMENT with "<source>:<line>: " and a line within the text; entries come in file
// order, each key once, never "config", only known keys when a check is given, each with a line
// within the text; a suggestion is a known key other than the one typed, within two edits.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/config_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const std::vector<std::string>& KnownKeys() {
  static const auto* keys = new std::vector<std::string>{
      "listen",          "es_nodes",         "pool_mode",   "selector",       "sniff_interval",
      "dead_timeout",    "max_dead_timeout", "max_retries", "log_level",      "log_format",
      "metrics_listen",  "tls_cert",         "tls_key",     "auth_file",      "bulk_max_ops",
      "request_timeout", "sniff_on_start",   "config",      "gzip_min_bytes", "shutdown_grace",
  };
  return *keys;
}

bool IsKnown(absl::string_view key) {
  for (const std::string& known : KnownKeys()) {
    if (known == key) return true;
  }
  return false;
}

int LineCount(absl::string_view text) {
  int lines = 1;
  for (const char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

void Check(absl::string_view text, bool check_keys) {
  const int lines = LineCount(text);
  const std::function<bool(absl::string_view)> is_known_key =
      check_keys ? std::function<bool(absl::string_view)>(IsKnown) : nullptr;
  const absl::StatusOr<std::vector<esgw::ConfigEntry>> entries =
      esgw::ParseConfig(text, "esgw.yaml", is_known_key, KnownKeys());
  if (!entries.ok()) {
    esgw::fuzz::CheckError(entries.status(), absl::StatusCode::kInvalidArgument, "");
    const absl::string_view message = entries.status().message();
    ESGW_FUZZ_CHECK_NOTE(absl::StartsWith(message, "esgw.yaml:"), message);
    const std::vector<absl::string_view> parts =
        absl::StrSplit(message.substr(10), absl::MaxSplits(':', 1));
    int line = 0;
    ESGW_FUZZ_CHECK_NOTE(parts.size() == 2 && absl::SimpleAtoi(parts[0], &line), message);
    ESGW_FUZZ_CHECK_NOTE(line >= 1 && line <= lines, message);
    return;
  }
  std::set<std::string> keys;
  int previous_line = 1;
  for (const esgw::ConfigEntry& entry : *entries) {
    ESGW_FUZZ_CHECK(keys.insert(entry.key).second);
    ESGW_FUZZ_CHECK(entry.key != "config");
    if (check_keys) ESGW_FUZZ_CHECK_NOTE(IsKnown(entry.key), entry.key);
    ESGW_FUZZ_CHECK(entry.line >= previous_line && entry.line <= lines);
    previous_line = entry.line;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  Check(text, /*check_keys=*/false);
  Check(text, /*check_keys=*/true);

  // The first line as a mistyped key.
  const absl::string_view key = text.substr(0, std::min<size_t>(text.find('\n'), 256));
  const std::string suggestion = esgw::ClosestKey(key, KnownKeys());
  if (!suggestion.empty()) {
    ESGW_FUZZ_CHECK(IsKnown(suggestion));
    ESGW_FUZZ_CHECK(suggestion != key);
    const size_t difference = suggestion.size() > key.size() ? suggestion.size() - key.size()
                                                             : key.size() - suggestion.size();
    ESGW_FUZZ_CHECK(difference <= 2);
  }
  return 0;
}
