#include "pool/transport.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace esgw {

std::string Endpoint::HostPort() const {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string Endpoint::BaseUrl() const { return absl::StrCat(scheme, "://", HostPort()); }

absl::string_view HttpMethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
  }
  return "GET";
}

bool IsValidHeaderField(absl::string_view name, absl::string_view value) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (absl::ascii_isalnum(c)) continue;
    if (absl::string_view("!#$%&'*+-.^_`|~").find(c) == absl::string_view::npos) return false;
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

absl::string_view TransportErrorName(TransportError error) {
  switch (error) {
    case TransportError::kNone:
      return "none";
    case TransportError::kConnectFailed:
      return "connect failed";
    case TransportError::kStaleConnection:
      return "stale connection";
    case TransportError::kConnectionLost:
      return "connection lost";
    case TransportError::kTimeout:
      return "timeout";
    case TransportError::kCancelled:
      return "cancelled";
    case TransportError::kOther:
      return "transport error";
    case TransportError::kResponseTooLarge:
      return "response too large";
  }
  return "transport error";
}

}  // namespace esgw

namespace esgw {

absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view url) {
  Endpoint endpoint;
  absl::string_view rest = url;
  if (const size_t scheme_end = rest.find("://"); scheme_end != absl::string_view::npos) {
    endpoint.scheme = std::string(rest.substr(0, scheme_end));
    if (endpoint.scheme != "http" && endpoint.scheme != "https") {
      return absl::InvalidArgumentError(
          absl::StrCat("node URL '", url, "': scheme must be http or https"));
    }
    rest.remove_prefix(scheme_end + 3);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty())
    return absl::InvalidArgumentError(absl::StrCat("node URL '", url, "': no host"));
  if (rest.find_first_of("/?#@") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node URL '", url, "': only scheme://host:port is allowed (no path, query or user info)"));
  }
  absl::string_view port_text;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("node URL '", url, "': unclosed '['"));
    }
    endpoint.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat("node URL '", url, "': junk after ']'"));
      }
      port_text = rest.substr(1);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != absl::string_view::npos) {
    endpoint.host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
  } else {
    endpoint.host = std::string(rest);
  }
  if (endpoint.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("node URL '", url, "': no host"));
  }
  endpoint.port = 9200;
  if (!port_text.empty()) {
    int port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("node URL '", url, "': port must be a number from 1 to 65535"));
    }
    endpoint.port = port;
  }
  return endpoint;
}

}  // namespace esgw
