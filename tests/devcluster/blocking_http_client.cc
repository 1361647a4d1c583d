#include "tests/devcluster/blocking_http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pool/status_macros.h"

namespace esgw::devcluster {
namespace {

int RemainingMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

absl::Status ErrnoStatus(int error, absl::string_view what) {
  if (error == ECONNRESET || error == EPIPE) {
    return absl::AbortedError(absl::StrCat(what, ": connection reset by peer"));
  }
  if (error == ECONNREFUSED)
    return absl::UnavailableError(absl::StrCat(what, ": connection refused"));
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(error)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlockingHttpClient>> BlockingHttpClient::Connect(
    const std::string& address, absl::Duration timeout) {
  std::size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad address: ", address));
  }
  std::string host = address.substr(0, colon);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &resolved) != 0 || resolved == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  sockaddr_in target = *reinterpret_cast<sockaddr_in*>(resolved->ai_addr);
  freeaddrinfo(resolved);
  target.sin_port = htons(static_cast<uint16_t>(port));

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0 &&
      errno != EINPROGRESS) {
    int error = errno;
    close(fd);
    return ErrnoStatus(error, absl::StrCat("connect ", address));
  }
  pollfd pfd{fd, POLLOUT, 0};
  absl::Time deadline = absl::Now() + timeout;
  int ready = poll(&pfd, 1, RemainingMs(deadline));
  if (ready <= 0) {
    close(fd);
    return absl::DeadlineExceededError(absl::StrCat("connect ", address, " timed out"));
  }
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    close(fd);
    return ErrnoStatus(error, absl::StrCat("connect ", address));
  }
  std::unique_ptr<BlockingHttpClient> client(new BlockingHttpClient(fd));
  client->host_ = address;
  return client;
}

BlockingHttpClient::~BlockingHttpClient() {
  if (fd_ >= 0) close(fd_);
}

absl::Status BlockingHttpClient::SendRaw(absl::string_view bytes) {
  std::size_t sent = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd pfd{fd_, POLLOUT, 0};
      if (poll(&pfd, 1, RemainingMs(deadline)) <= 0) {
        return absl::DeadlineExceededError("send timed out");
      }
      continue;
    }
    return ErrnoStatus(errno, "send");
  }
  return absl::OkStatus();
}

absl::Status BlockingHttpClient::Fill(absl::Time deadline) {
  while (true) {
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return absl::OkStatus();
    }
    if (n == 0) {
      eof_ = true;
      return absl::UnavailableError("connection closed by peer");
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return ErrnoStatus(errno, "recv");
    pollfd pfd{fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, RemainingMs(deadline));
    if (ready == 0) return absl::DeadlineExceededError("no data before the deadline");
    if (ready < 0 && errno != EINTR) return ErrnoStatus(errno, "poll");
  }
}

absl::StatusOr<std::string> BlockingHttpClient::ReadSome(absl::Duration timeout, bool* eof) {
  *eof = false;
  absl::Status status = Fill(absl::Now() + timeout);
  if (status.ok() || absl::IsDeadlineExceeded(status)) return std::exchange(buffer_, "");
  if (eof_) {
    *eof = true;
    return std::exchange(buffer_, "");
  }
  return status;
}

absl::Status BlockingHttpClient::WaitForClose(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    buffer_.clear();
    absl::Status status = Fill(deadline);
    if (status.ok()) continue;  // discard data, keep waiting for the close
    if (eof_) return absl::OkStatus();
    return status;
  }
}

absl::StatusOr<BlockingHttpClient::Response> BlockingHttpClient::Send(const std::string& method,
                                                                      const std::string& target,
                                                                      const std::string& body,
                                                                      const HeaderList& headers,
                                                                      absl::Duration timeout) {
  std::string request = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: ", host_, "\r\n");
  bool has_type = FindHeader(headers, "Content-Type") != nullptr;
  for (const auto& [name, value] : headers) absl::StrAppend(&request, name, ": ", value, "\r\n");
  if (!body.empty() && !has_type) absl::StrAppend(&request, "Content-Type: application/json\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  ESGW_RETURN_IF_ERROR(SendRaw(request));
  return ReadResponse(method == "HEAD", absl::Now() + timeout);
}

absl::StatusOr<BlockingHttpClient::Response> BlockingHttpClient::ReadResponse(bool head,
                                                                              absl::Time deadline) {
  while (true) {
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      absl::Status status = Fill(deadline);
      if (!status.ok()) {
        if (eof_) {
          return absl::UnavailableError(buffer_.empty()
                                            ? "connection closed before any response byte"
                                            : "connection closed inside the response head");
        }
        return status;
      }
    }
    Response response;
    ESGW_RETURN_IF_ERROR(ParseResponseHead(absl::string_view(buffer_).substr(0, head_end),
                                           &response.status, &response.headers));
    buffer_.erase(0, head_end + 4);
    if (response.status == 100) continue;  // interim response
    const std::string* transfer = response.Header("transfer-encoding");
    const std::string* length_text = response.Header("content-length");
    if (head || response.status == 204 || response.status == 304) {
      // no body
    } else if (transfer != nullptr && HeaderHasToken(*transfer, "chunked")) {
      while (true) {
        ESGW_ASSIGN_OR_RETURN(std::size_t consumed, DecodeChunked(buffer_, &response.body));
        if (consumed > 0) {
          buffer_.erase(0, consumed);
          break;
        }
        ESGW_RETURN_IF_ERROR(Fill(deadline));
      }
    } else if (length_text != nullptr) {
      std::size_t length = 0;
      if (!absl::SimpleAtoi(*length_text, &length)) {
        return absl::InvalidArgumentError("bad content-length");
      }
      while (buffer_.size() < length) {
        absl::Status status = Fill(deadline);
        if (!status.ok()) return status;
      }
      response.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else {
      while (true) {
        absl::Status status = Fill(deadline);
        if (!status.ok()) {
          if (eof_) break;
          return status;
        }
      }
      response.body = std::exchange(buffer_, "");
    }
    if (const std::string* encoding = response.Header("content-encoding");
        encoding != nullptr && HeaderHasToken(*encoding, "gzip") && !response.body.empty()) {
      ESGW_ASSIGN_OR_RETURN(response.body, GzipDecompress(response.body));
    }
    return response;
  }
}

absl::StatusOr<BlockingHttpClient::Response> HttpRequestOnce(
    const std::string& address, const std::string& method, const std::string& target,
    const std::string& body, const HeaderList& headers, absl::Duration timeout) {
  ESGW_ASSIGN_OR_RETURN(std::unique_ptr<BlockingHttpClient> client,
                        BlockingHttpClient::Connect(address, timeout));
  HeaderList all = headers;
  all.emplace_back("Connection", "close");
  return client->Send(method, target, body, all, timeout);
}

}  // namespace esgw::devcluster
