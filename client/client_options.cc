#include "client/client_options.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace esgw::client {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

// True for gRPC target URIs (scheme:...), which gRPC's resolvers check themselves.
bool IsUri(absl::string_view address) {
  for (absl::string_view scheme : {"dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:"}) {
    if (absl::StartsWith(address, scheme)) return address.size() > scheme.size();
  }
  return absl::StrContains(address, "://");
}

bool IsHostPort(absl::string_view address) {
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    // An unbracketed IPv6 address ("::1:50051") is ambiguous.
    if (absl::StrContains(host, ':')) return false;
  }
  int number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return false;
  }
  for (char c : host) {
    if (c <= ' ' || c == '/' || c == '@') return false;
  }
  return true;
}

}  // namespace

void ApplyEnvironment(ClientOptions& options, const EnvLookup& env) {
  const auto lookup = [&env](const char* name) -> const char* {
    return env ? env(name) : std::getenv(name);
  };
  if (options.address.empty()) {
    const char* value = lookup("ESGW_ADDR");
    options.address = value != nullptr && *value != '\0' ? value : kDefaultAddress;
  }
  if (options.token.empty()) {
    const char* value = lookup("ESGW_TOKEN");
    if (value != nullptr) options.token = value;
  }
}

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.address.empty()) {
    return Invalid("address", "must not be empty (host:port, e.g. 127.0.0.1:50051)");
  }
  if (!IsUri(options.address) && !IsHostPort(options.address)) {
    return Invalid("address",
                   absl::StrCat("\"", options.address,
                                "\" must be host:port (e.g. 127.0.0.1:50051), [v6]:port, or a "
                                "gRPC target URI such as dns:///host:port"));
  }
  if (options.deadline <= absl::ZeroDuration()) return Invalid("deadline", "must be positive");
  for (char c : options.token) {
    // A metadata value must be printable ASCII; a space would also break "Bearer <token>".
    if (c <= ' ' || c > '~') {
      return Invalid("token", "must be printable ASCII without spaces or line breaks");
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Invalid(options.cert_file.empty() ? "cert_file" : "key_file",
                   "cert_file and key_file must be given together");
  }
  if (!options.server_name.empty() && !options.UsesTls()) {
    return Invalid("server_name", "only applies with TLS (set tls, or a ca_file)");
  }
  if (options.keepalive_time < absl::ZeroDuration() ||
      (options.keepalive_time > absl::ZeroDuration() &&
       options.keepalive_time < kMinKeepaliveTime)) {
    return Invalid(
        "keepalive_time",
        absl::StrCat("must be 0 (off) or at least ", absl::FormatDuration(kMinKeepaliveTime),
                     ": esgw-server answers more frequent pings with GOAWAY"));
  }
  if (options.keepalive_timeout <= absl::ZeroDuration()) {
    return Invalid("keepalive_timeout", "must be positive");
  }
  if (options.max_receive_message_bytes <= 0) {
    return Invalid("max_receive_message_bytes", "must be positive");
  }
  return absl::OkStatus();
}

}  // namespace esgw::client
