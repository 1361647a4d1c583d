#include "client/cli/format.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace esgw::cli {
namespace {

// Length of the valid UTF-8 sequence at the start of text, 0 when it is not one.
size_t Utf8Length(absl::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  // Overlong three- and four-byte forms, surrogates, and code points past U+10FFFF.
  if (lead == 0xE0 && byte(1) < 0xA0) return 0;
  if (lead == 0xED && byte(1) > 0x9F) return 0;
  if (lead == 0xF0 && byte(1) < 0x90) return 0;
  if (lead == 0xF4 && byte(1) > 0x8F) return 0;
  return length;
}

// A number with one decimal below 100 and none above: 1.5, 12.3, 123.
std::string Scaled(double value, const char* unit) {
  if (value < 99.95) return absl::StrFormat("%.1f%s", value, unit);
  return absl::StrFormat("%.0f%s", value, unit);
}

}  // namespace

std::string Thousands(int64_t n) {
  const bool negative = n < 0;
  std::string digits = std::to_string(negative ? -(n + 1) + uint64_t{1} : uint64_t(n));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? "-" + out : out;
}

std::string CompactCount(int64_t n) {
  const double value = static_cast<double>(n);
  if (std::abs(value) < 10000) return std::to_string(n);
  if (std::abs(value) < 999950) return Scaled(value / 1e3, "k");
  if (std::abs(value) < 999950000) {
    return std::abs(value) < 9.995e6 ? absl::StrFormat("%.2fM", value / 1e6)
                                     : Scaled(value / 1e6, "M");
  }
  return absl::StrFormat("%.2fG", value / 1e9);
}

std::string Bytes(int64_t n) {
  const double value = static_cast<double>(n);
  if (n < 1000) return absl::StrCat(n, " B");
  if (value < 999950) return Scaled(value / 1e3, " KB");
  if (value < 999950000) return Scaled(value / 1e6, " MB");
  if (value < 999950000000) return Scaled(value / 1e9, " GB");
  return Scaled(value / 1e12, " TB");
}

std::string ClockTime(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t seconds = absl::ToInt64Seconds(d);
  const int64_t h = seconds / 3600;
  const int64_t m = (seconds / 60) % 60;
  const int64_t s = seconds % 60;
  if (h > 0) return absl::StrFormat("%d:%02d:%02d", h, m, s);
  return absl::StrFormat("%d:%02d", m, s);
}

std::string ShortDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  if (d < absl::Seconds(1)) return absl::StrCat(absl::ToInt64Milliseconds(d), "ms");
  if (d < absl::Seconds(60)) return absl::StrFormat("%.1fs", absl::ToDoubleSeconds(d));
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 3600) return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  if (seconds < 86400) return absl::StrFormat("%dh%02dm", seconds / 3600, (seconds / 60) % 60);
  return absl::StrFormat("%dd%02dh", seconds / 86400, (seconds / 3600) % 24);
}

std::string Millis(double ms) {
  if (ms < 0) ms = 0;
  if (ms < 1) return absl::StrFormat("%.2fms", ms);
  if (ms < 99.95) return absl::StrFormat("%.1fms", ms);
  if (ms < 999.5) return absl::StrFormat("%.0fms", ms);
  return absl::StrFormat("%.2fs", ms / 1000);
}

int DisplayWidth(absl::string_view text) {
  int width = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t length = Utf8Length(text);
    const unsigned char c = static_cast<unsigned char>(text[0]);
    if (length == 0) {
      out.push_back('?');
      text.remove_prefix(1);
      continue;
    }
    const bool c0 = length == 1 && (c < 0x20 || c == 0x7F);
    const bool c1 = length == 2 && c == 0xC2 && static_cast<unsigned char>(text[1]) < 0xA0;
    if (c0 || c1) {
      out.push_back(' ');
    } else {
      out.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return out;
}

std::string Ellipsize(absl::string_view text, int width, bool unicode) {
  std::string clean = Printable(text);
  if (DisplayWidth(clean) <= width) return clean;
  const absl::string_view mark = unicode ? "\u2026" : "...";
  const int mark_width = unicode ? 1 : 3;
  if (width <= mark_width) return std::string(mark.substr(0, unicode ? mark.size() : width));
  // Keep width - mark_width code points.
  int kept = 0;
  size_t end = 0;
  while (end < clean.size()) {
    if ((static_cast<unsigned char>(clean[end]) & 0xC0) != 0x80) {
      if (kept == width - mark_width) break;
      ++kept;
    }
    ++end;
  }
  return absl::StrCat(absl::string_view(clean).substr(0, end), mark);
}

}  // namespace esgw::cli
