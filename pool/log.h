// A small logging facade (Debian's abseil has no absl/log): one line per event on stderr,
// as text ("<time> <level> <message> key=value ...", logfmt style: a value holding spaces,
// quotes, '=', backslashes or control characters is written as a quoted JSON string, so no
// value can split a field or forge a line) or as one JSON object per line.
// Thread-safe: lines from different threads never interleave.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace esgw {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide settings; set once at start, before other threads log.
void SetLogLevel(LogLevel level);
void SetLogJson(bool json);
// Parses "debug", "info", "warning" or "error"; false for anything else.
bool ParseLogLevel(absl::string_view text, LogLevel* level);
bool LogEnabled(LogLevel level);

// Logs message with key=value fields, e.g.
//   Log(LogLevel::kInfo, "node ejected", {{"node", "10.0.0.1:9200"}, {"failures", "3"}});
void Log(LogLevel level, absl::string_view message,
         std::initializer_list<std::pair<absl::string_view, absl::string_view>> fields = {});

}  // namespace esgw
