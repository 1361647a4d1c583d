#include "tests/devcluster/http_message.h"

#include <zlib.h>

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace esgw::devcluster {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status ParseHeaderLines(const std::vector<absl::string_view>& lines, std::size_t first,
                              HeaderList* headers) {
  for (std::size_t i = first; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat("malformed header line: ", line));
    }
    headers->emplace_back(std::string(absl::StripAsciiWhitespace(line.substr(0, colon))),
                          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return absl::OkStatus();
}

}  // namespace

const std::string* FindHeader(const HeaderList& headers, absl::string_view name) {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

std::string HttpRequest::Param(absl::string_view name, absl::string_view fallback) const {
  auto it = params.find(name);
  if (it == params.end()) return std::string(fallback);
  return it->second;
}

bool HttpRequest::WantsClose() const {
  const std::string* connection = Header("Connection");
  if (connection != nullptr && HeaderHasToken(*connection, "close")) return true;
  if (version_minor == 0) {
    return connection == nullptr || !HeaderHasToken(*connection, "keep-alive");
  }
  return false;
}

absl::Status ParseRequestHead(absl::string_view head, HttpRequest* request) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return absl::InvalidArgumentError("empty request");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.")) {
    return absl::InvalidArgumentError(absl::StrCat("malformed request line: ", lines[0]));
  }
  request->method = std::string(parts[0]);
  request->target = std::string(parts[1]);
  request->version_minor = parts[2] == "HTTP/1.0" ? 0 : 1;
  absl::string_view target = parts[1];
  // Absolute-form targets ("http://host/path") are allowed by HTTP/1.1.
  if (absl::StartsWith(target, "http://")) {
    std::size_t slash = target.find('/', 7);
    target = slash == absl::string_view::npos ? "/" : target.substr(slash);
  }
  std::size_t question = target.find('?');
  request->path = std::string(target.substr(0, question));
  request->query =
      question == absl::string_view::npos ? "" : std::string(target.substr(question + 1));
  request->params = ParseQueryString(request->query);
  request->headers.clear();
  return ParseHeaderLines(lines, 1, &request->headers);
}

absl::Status ParseResponseHead(absl::string_view head, int* status, HeaderList* headers) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return absl::InvalidArgumentError("empty response");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], status)) {
    return absl::InvalidArgumentError(absl::StrCat("malformed status line: ", lines[0]));
  }
  headers->clear();
  return ParseHeaderLines(lines, 1, headers);
}

absl::StatusOr<std::size_t> DecodeChunked(absl::string_view data, std::string* body) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t line_end = data.find("\r\n", pos);
    if (line_end == absl::string_view::npos) return 0;
    absl::string_view size_text = data.substr(pos, line_end - pos);
    size_text = size_text.substr(0, size_text.find(';'));
    size_text = absl::StripAsciiWhitespace(size_text);
    uint64_t size = 0;
    if (size_text.empty() || !absl::SimpleHexAtoi(size_text, &size)) {
      return absl::InvalidArgumentError("malformed chunk size");
    }
    pos = line_end + 2;
    if (size == 0) {
      // Trailers end with an empty line.
      while (true) {
        std::size_t end = data.find("\r\n", pos);
        if (end == absl::string_view::npos) return 0;
        bool empty = end == pos;
        pos = end + 2;
        if (empty) break;
      }
      *body = std::move(out);
      return pos;
    }
    if (data.size() < pos + size + 2) return 0;
    out.append(data.data() + pos, size);
    pos += size;
    if (data.substr(pos, 2) != "\r\n") return absl::InvalidArgumentError("malformed chunk");
    pos += 2;
  }
}

std::string UrlDecode(absl::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string UrlEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || c == '*' ||
        c == ',') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

absl::flat_hash_map<std::string, std::string> ParseQueryString(absl::string_view query) {
  absl::flat_hash_map<std::string, std::string> params;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::size_t eq = pair.find('=');
    std::string key = UrlDecode(pair.substr(0, eq), true);
    std::string value = eq == absl::string_view::npos ? "" : UrlDecode(pair.substr(eq + 1), true);
    params[key] = std::move(value);
  }
  return params;
}

std::string GzipCompress(absl::string_view data) {
  z_stream stream{};
  // 15 + 16: gzip wrapper. Level 3 matches Elasticsearch's default http.compression_level.
  if (deflateInit2(&stream, 3, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out;
  out.resize(deflateBound(&stream, data.size()) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

absl::StatusOr<std::string> GzipDecompress(absl::string_view data) {
  z_stream stream{};
  // 15 + 32: detect gzip or zlib headers automatically.
  if (inflateInit2(&stream, 15 + 32) != Z_OK) return absl::InternalError("inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return absl::InvalidArgumentError("invalid compressed body");
    }
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      return absl::InvalidArgumentError("truncated compressed body");
    }
  }
  inflateEnd(&stream);
  return out;
}

std::string Base64UrlEncode(absl::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

bool HeaderHasToken(absl::string_view value, absl::string_view token) {
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    part = part.substr(0, part.find(';'));
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(part), token)) return true;
  }
  return false;
}

}  // namespace esgw::devcluster
