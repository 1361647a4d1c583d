// Text formatting for esgw-cli's human output: numbers, sizes, durations, and display-width
// aware truncation that also neutralises control characters from untrusted text (documents,
// error messages) so they cannot move the cursor or change the terminal.
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace esgw::cli {

// 1234567 -> "1,234,567".
std::string Thousands(int64_t n);
// Short counts for narrow columns: 999 -> "999", 12345 -> "12.3k", 1234567 -> "1.23M".
std::string CompactCount(int64_t n);
// Decimal units: 512 -> "512 B", 12345 -> "12.3 KB", 4500000 -> "4.5 MB".
std::string Bytes(int64_t n);
// A clock reading for elapsed time and ETAs: "0:42", "12:03", "1:02:03".
std::string ClockTime(absl::Duration d);
// A short human duration: "350ms", "4.2s", "3m12s", "2h05m", "3d04h".
std::string ShortDuration(absl::Duration d);
// Milliseconds for latencies: "0.42ms", "12.3ms", "1.25s".
std::string Millis(double ms);

// Terminal columns text takes: one per code point (combining marks and wide characters are not
// special-cased; Elasticsearch data in tables is mostly Latin).
int DisplayWidth(absl::string_view text);
// text with every control character (C0, DEL, C1; tabs and newlines too) replaced by a space
// and every byte of invalid UTF-8 by '?': safe to print inside a table or a progress line.
std::string Printable(absl::string_view text);
// Printable(text) cut to at most width columns, ending in "…" (unicode) or "..." when cut.
std::string Ellipsize(absl::string_view text, int width, bool unicode);

}  // namespace esgw::cli
