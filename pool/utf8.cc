#include "pool/utf8.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace esgw {
namespace {

constexpr absl::string_view kEllipsis = "...";
constexpr absl::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

size_t Utf8SequenceLength(absl::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  const auto b1 = static_cast<unsigned char>(s[1]);
  if (b1 < low || b1 > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return length;
}

bool IsUtf8(absl::string_view s) {
  while (!s.empty()) {
    const size_t length = Utf8SequenceLength(s);
    if (length == 0) return false;
    s.remove_prefix(length);
  }
  return true;
}

std::string BoundedUtf8(absl::string_view in, size_t max_bytes, bool fold_whitespace) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes) + kEllipsis.size());
  size_t cut = 0;  // Longest prefix of out that leaves room for the ellipsis.
  bool pending_space = false;
  size_t i = 0;
  while (i < in.size() && out.size() <= max_bytes) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (fold_whitespace && (c <= 0x20 || c == 0x7F)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    const size_t length = Utf8SequenceLength(in.substr(i));
    if (pending_space) out.push_back(' ');
    pending_space = false;
    if (length == 0) {
      out.append(kReplacementChar.data(), kReplacementChar.size());
      ++i;
    } else {
      out.append(in.data() + i, length);
      i += length;
    }
    if (out.size() + kEllipsis.size() <= max_bytes) cut = out.size();
  }
  if (out.size() > max_bytes) {
    out.resize(cut);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out.append(kEllipsis.data(), kEllipsis.size());
  }
  return out;
}

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text.front());
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text);
      if (length == 0) {
        out->append("\\ufffd");
        text.remove_prefix(1);
      } else {
        out->append(text.data(), length);
        text.remove_prefix(length);
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    text.remove_prefix(1);
  }
  out->push_back('"');
}

std::string JsonQuote(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(&out, text);
  return out;
}

}  // namespace esgw
