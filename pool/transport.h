// The seam between pool policy and the wire: one HTTP/1.1 exchange with one Elasticsearch node.
// Implementations (CurlTransport; FakeTransport in tests) run the exchange asynchronously and
// call the callback exactly once, on a thread of their own; callers never block on I/O.
// Thread-safe: Send and Cancel may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace esgw {

// Where a node is dialled. Immutable once the node is known.
struct Endpoint {
  std::string scheme = "http";
  std::string host;
  int port = 0;

  // "host:port" (IPv6 hosts in brackets), as shown in stats and served_by.
  std::string HostPort() const;
  // "scheme://host:port".
  std::string BaseUrl() const;
  bool operator==(const Endpoint& other) const = default;
};

enum class HttpMethod { kGet, kHead, kPost, kPut, kDelete };
absl::string_view HttpMethodName(HttpMethod method);

// True when `name` is an HTTP token (RFC 9110: letters, digits and !#$%&'*+-.^_`|~) and `value`
// holds no CR, LF, NUL or other control character but horizontal tab. Callers that take header
// values from clients may check this up front to report the bad header themselves.
bool IsValidHeaderField(absl::string_view name, absl::string_view value);

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  // Path and query, already percent-encoded: "/products/_search?routing=a".
  std::string path = "";
  std::string body = "";
  // Content type of body; empty when there is no body.
  std::string content_type = "";
  // Extra request headers (e.g. traceparent, x-opaque-id). A header that is not well formed
  // (see IsValidHeaderField: a CR or LF in it could inject headers) is left out, not sent; the
  // exchange still goes ahead. So are headers the transport owns: Host, Content-Length,
  // Transfer-Encoding, Connection, Expect, Authorization when the transport has credentials,
  // and Content-Encoding when the transport compressed the body (a caller that sets
  // Content-Encoding itself gets its body sent as it is).
  std::vector<std::pair<std::string, std::string>> headers = {};
  // Budget for this one exchange, connect included.
  absl::Duration timeout = absl::Seconds(30);
};

// How an exchange ended below HTTP. kNone means an HTTP response arrived (any status code).
enum class TransportError {
  kNone,
  // Nothing was sent: refused, unreachable, DNS or TLS handshake failure, connect timeout.
  kConnectFailed,
  // A reused keep-alive connection died before any response byte: the server had closed it.
  kStaleConnection,
  // The connection broke after the request was (or may have been) sent.
  kConnectionLost,
  // The timeout passed after the request was sent.
  kTimeout,
  // The caller cancelled the exchange.
  kCancelled,
  // Anything else (a malformed response, out of memory, ...).
  kOther,
  // The response body was larger than the transport's limit (CurlTransport::Options::
  // max_response_bytes): the node answered, but the request asked for more than esgw will hold.
  kResponseTooLarge,
};
absl::string_view TransportErrorName(TransportError error);

struct HttpResponse {
  TransportError error = TransportError::kNone;
  // What went wrong below HTTP, for people; empty when error is kNone.
  std::string error_message;
  int status = 0;
  // The response body, decompressed. Its capacity leaves at least kBodyPadding spare bytes
  // after size() so that parsers needing padding (simdjson) can read it in place.
  std::string body = "";
  std::string content_type = "";
  // The Retry-After header, when present.
  std::string retry_after;
  // True when the exchange used a connection that an earlier exchange had opened.
  bool connection_reused = false;
  // Time from Send to completion.
  absl::Duration elapsed;
};

// Spare capacity transports leave after HttpResponse::body (simdjson::SIMDJSON_PADDING is 64).
inline constexpr size_t kBodyPadding = 64;

class Transport {
 public:
  using TransferId = uint64_t;
  // Runs exactly once per Send, on one of the transport's threads; must not block.
  using Callback = absl::AnyInvocable<void(HttpResponse) &&>;

  virtual ~Transport() = default;

  // Starts an exchange with node; returns an id for Cancel. After shutdown the callback runs at
  // once with kCancelled.
  virtual TransferId Send(const Endpoint& node, HttpRequest request, Callback done) = 0;

  // Aborts the exchange if it is still running; its callback then runs with kCancelled. A no-op
  // for an exchange that has finished.
  virtual void Cancel(TransferId id) = 0;
};

}  // namespace esgw

namespace esgw {

// Parses a seed URL: "http://host:9200", "https://[::1]:9243", "host:9200" or "host" (http, port
// 9200). Returns INVALID_ARGUMENT naming what is wrong (scheme other than http/https, bad port,
// a path, user info).
absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view url);

}  // namespace esgw
