// How a client reaches esgw-server: address, deadline, bearer token, TLS and keepalive, with the
// validation every entry point (esgw-cli, esgw-bench, embedders) shares, and the environment
// variables that fill in what the caller left unset.
// Thread-compatible: a plain value; validation and environment lookup are pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace esgw::client {

// The address used when neither the caller nor ESGW_ADDR names one.
inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";

struct ClientOptions {
  // gRPC target: host:port, [v6]:port, or a URI such as dns:///esgw.example:50051 or
  // unix:/run/esgw.sock. Empty: ESGW_ADDR, else kDefaultAddress (see ApplyEnvironment).
  std::string address = "";
  // Deadline of each unary call. Streams (Ingest, WatchPoolStats) take theirs per call.
  absl::Duration deadline = absl::Seconds(30);
  // Sent as "authorization: Bearer <token>" metadata on every call; empty sends none. Per-call
  // metadata rather than call credentials, because gRPC refuses call credentials on insecure
  // channels and a token must work with and without TLS alike.
  std::string token = "";

  // TLS. Any of the fields below (or tls = true) turns it on. Files hold PEM.
  bool tls = false;
  // CA certificates that sign the server's certificate; empty uses the system roots.
  std::string ca_file = "";
  // Client certificate and its key, for servers that require one; both or neither.
  std::string cert_file = "";
  std::string key_file = "";
  // Name to check the server's certificate against instead of the host in address (for
  // addresses that are IPs or tunnels). Only with TLS.
  std::string server_name = "";

  // HTTP/2 keepalive pings on idle connections, so that long streams notice a dead peer.
  // Zero turns pings off; otherwise at least kMinKeepaliveTime, which esgw-server accepts by
  // default (its --keepalive_min_client_interval).
  absl::Duration keepalive_time = absl::Seconds(30);
  // How long a ping may go unanswered before the connection is dropped.
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Ping even when no call is open (esgw-server allows it).
  bool keepalive_without_calls = false;

  // Largest response accepted (large searches); esgw-server itself accepts requests of 64 MiB.
  int max_receive_message_bytes = 64 << 20;
  // Prefixed to gRPC's own user agent, e.g. "esgw-cli/0.1.0".
  std::string user_agent = "";

  bool UsesTls() const {
    return tls || !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  }
};

inline constexpr absl::Duration kMinKeepaliveTime = absl::Seconds(10);

// Looks up an environment variable: the value, or null when unset.
using EnvLookup = std::function<const char*(const char*)>;

// Fills what options leave unset from the environment: address from ESGW_ADDR (else
// kDefaultAddress), token from ESGW_TOKEN. Values the caller set are kept. `env` defaults to
// the process environment.
void ApplyEnvironment(ClientOptions& options, const EnvLookup& env = nullptr);

// INVALID_ARGUMENT naming the field (as "<field>: <rule>", the field spelt as in ClientOptions)
// when a value breaks its rule: an empty or malformed address, a deadline that is not positive,
// a token that is not printable ASCII without spaces, a client certificate without its key (or
// the reverse), server_name without TLS, a keepalive time below kMinKeepaliveTime, a keepalive
// timeout that is not positive, a receive limit that is not positive. Reads no files.
absl::Status ValidateOptions(const ClientOptions& options);

}  // namespace esgw::client
