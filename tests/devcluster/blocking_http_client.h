// A small blocking HTTP/1.1 client over one TCP connection (keep-alive capable), for tests and
// tools that must see exactly what happens on the socket: refused connects, resets, EOFs,
// "connection: close", silence.
// Thread-compatible: one thread per client. Owns its socket.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/devcluster/http_message.h"

namespace esgw::devcluster {

class BlockingHttpClient {
 public:
  struct Response {
    int status = 0;
    HeaderList headers;
    std::string body;  // gunzipped when the response was gzip-encoded
    const std::string* Header(absl::string_view name) const { return FindHeader(headers, name); }
  };

  // Connects to "host:port". Errors: kUnavailable ("connection refused" ...), kDeadlineExceeded.
  static absl::StatusOr<std::unique_ptr<BlockingHttpClient>> Connect(const std::string& address,
                                                                     absl::Duration timeout);
  ~BlockingHttpClient();

  // Sends a request and reads its response. `headers` are added to Host, Content-Length and
  // Content-Type (when a body is given). Errors: kAborted when the peer reset the connection,
  // kUnavailable when it closed before answering, kDeadlineExceeded on timeout.
  absl::StatusOr<Response> Send(const std::string& method, const std::string& target,
                                const std::string& body = "", const HeaderList& headers = {},
                                absl::Duration timeout = absl::Seconds(10));

  absl::Status SendRaw(absl::string_view bytes);
  // Reads whatever arrives within `timeout` (empty string: nothing arrived). Errors as Send;
  // OK with an empty string also when the peer closed cleanly and `eof` is then set.
  absl::StatusOr<std::string> ReadSome(absl::Duration timeout, bool* eof);
  // Waits for the peer to close: OK on a clean EOF, kAborted on a reset, kDeadlineExceeded.
  absl::Status WaitForClose(absl::Duration timeout);

  int fd() const { return fd_; }

 private:
  explicit BlockingHttpClient(int fd) : fd_(fd) {}
  // Reads one response (skipping interim 1xx ones) before `deadline`.
  absl::StatusOr<Response> ReadResponse(bool head, absl::Time deadline);
  absl::Status Fill(absl::Time deadline);  // reads at least one byte into buffer_

  int fd_;
  std::string host_;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a fresh connection ("connection: close").
absl::StatusOr<BlockingHttpClient::Response> HttpRequestOnce(
    const std::string& address, const std::string& method, const std::string& target,
    const std::string& body = "", const HeaderList& headers = {},
    absl::Duration timeout = absl::Seconds(10));

}  // namespace esgw::devcluster
