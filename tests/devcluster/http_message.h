// HTTP/1.1 request and response values plus the parsing, encoding and compression helpers the
// dev cluster's servers and test client share. Stateless functions; values are
// thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace esgw::devcluster {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; nullptr when absent.
const std::string* FindHeader(const HeaderList& headers, absl::string_view name);

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: raw path plus optional "?query"
  std::string path;    // raw path, still percent-encoded
  std::string query;   // raw query string without '?'
  int version_minor = 1;
  HeaderList headers;
  std::string body;                                      // after Content-Encoding was undone
  absl::flat_hash_map<std::string, std::string> params;  // decoded query parameters

  const std::string* Header(absl::string_view name) const { return FindHeader(headers, name); }
  bool HasParam(absl::string_view name) const { return params.contains(name); }
  std::string Param(absl::string_view name, absl::string_view fallback = "") const;
  // Wants the connection closed after the response (Connection: close, or HTTP/1.0 default).
  bool WantsClose() const;
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // content-length, content-encoding and connection are added on write
  std::string body;
  bool close = false;  // close the connection after this response
};

// Parses a request head (request line and headers, without the final blank line) into `request`
// (method, target, path, query, params, headers). InvalidArgument on malformed input.
absl::Status ParseRequestHead(absl::string_view head, HttpRequest* request);

// Parses a response head ("HTTP/1.1 200 OK" and headers). InvalidArgument on malformed input.
absl::Status ParseResponseHead(absl::string_view head, int* status, HeaderList* headers);

// Decodes a chunked body at the start of `data`. Returns the number of bytes consumed once the
// final chunk and trailers are complete, 0 when more data is needed, or InvalidArgument.
absl::StatusOr<std::size_t> DecodeChunked(absl::string_view data, std::string* body);

// Percent-decoding; `plus_as_space` for query strings. Invalid escapes are kept literally.
std::string UrlDecode(absl::string_view text, bool plus_as_space);
std::string UrlEncode(absl::string_view text);
absl::flat_hash_map<std::string, std::string> ParseQueryString(absl::string_view query);

// gzip (RFC 1952) compression; Decompress also accepts zlib/deflate streams.
std::string GzipCompress(absl::string_view data);
absl::StatusOr<std::string> GzipDecompress(absl::string_view data);

// URL-safe base64 without padding (the alphabet of Elasticsearch's ids and UUIDs).
std::string Base64UrlEncode(absl::string_view bytes);

// "OK", "Not Found" ...
absl::string_view ReasonPhrase(int status);

// True when a comma-separated header value lists `token` (case-insensitive, ignoring q=...).
bool HeaderHasToken(absl::string_view value, absl::string_view token);

}  // namespace esgw::devcluster
