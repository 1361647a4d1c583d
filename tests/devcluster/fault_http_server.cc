#include "tests/devcluster/fault_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace esgw::devcluster {
namespace {

constexpr std::size_t kMaxHeadBytes = 64 * 1024;

void Notify(int event_fd) {
  uint64_t one = 1;
  // A full counter only means a wakeup is already pending.
  [[maybe_unused]] ssize_t n = write(event_fd, &one, sizeof(one));
}

void Drain(int event_fd) {
  uint64_t value = 0;
  [[maybe_unused]] ssize_t n = read(event_fd, &value, sizeof(value));
}

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))));
}

HttpResponse PlainError(int status) {
  HttpResponse response;
  response.status = status;
  response.headers = {{"content-type", "text/plain; charset=UTF-8"}};
  response.close = true;
  return response;
}

}  // namespace

struct FaultHttpServer::Connection {
  int fd = -1;
  int wake_fd = -1;
  std::atomic<bool> abort{false};          // reset the socket (Kill)
  std::atomic<bool> stop{false};           // close gracefully (Shutdown)
  std::atomic<bool> close_if_idle{false};  // CloseIdle
  std::atomic<bool> idle{true};            // waiting for the first byte of a request
};

FaultHttpServer::FaultHttpServer(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FaultHttpServer>> FaultHttpServer::Start(Options options) {
  if (!options.handler) return absl::InvalidArgumentError("a handler is required");
  std::unique_ptr<FaultHttpServer> server(new FaultHttpServer(std::move(options)));
  server->port_ = server->options_.port;
  server->accept_wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (server->accept_wake_fd_ < 0) return absl::InternalError("eventfd failed");
  std::lock_guard<std::mutex> lock(server->control_mu_);
  if (absl::Status status = server->Listen(); !status.ok()) return status;
  server->StartAccepting();
  return server;
}

FaultHttpServer::~FaultHttpServer() {
  Shutdown();
  if (accept_wake_fd_ >= 0) close(accept_wake_fd_);
}

absl::Status FaultHttpServer::Listen() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_.load()));
  if (inet_pton(AF_INET, options_.host.c_str(), &address.sin_addr) != 1) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("bad IPv4 host: ", options_.host));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 512) != 0) {
    std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.host, ":", port_.load(), ": ", error));
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  listen_fd_ = fd;
  return absl::OkStatus();
}

void FaultHttpServer::StartAccepting() {
  accept_stop_ = false;
  Drain(accept_wake_fd_);
  accept_thread_ = std::thread(&FaultHttpServer::AcceptLoop, this, listen_fd_);
}

void FaultHttpServer::StopAccepting() {
  if (accept_thread_.joinable()) {
    accept_stop_ = true;
    Notify(accept_wake_fd_);
    accept_thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

void FaultHttpServer::AcceptLoop(int listen_fd) {
  while (!accept_stop_) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {accept_wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) {
      Drain(accept_wake_fd_);
      continue;
    }
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ++connections_accepted_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++active_threads_;
    }
    std::thread(&FaultHttpServer::ConnectionMain, this, fd).detach();
  }
}

void FaultHttpServer::ConnectionMain(int fd) {
  Connection connection;
  connection.fd = fd;
  connection.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  Outcome outcome = Outcome::kClose;
  bool registered = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (killed_) {
      outcome = Outcome::kAbort;
    } else if (!stopping_ && connection.wake_fd >= 0) {
      connections_.insert(&connection);
      registered = true;
    }
  }
  if (registered) {
    outcome = Serve(connection);
    std::lock_guard<std::mutex> lock(mu_);
    connections_.erase(&connection);
    threads_changed_.notify_all();
  }
  if (outcome == Outcome::kAbort) {
    // SO_LINGER with a zero timeout turns close() into a TCP reset.
    linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  close(fd);
  if (connection.wake_fd >= 0) close(connection.wake_fd);
  std::lock_guard<std::mutex> lock(mu_);
  --active_threads_;
  threads_changed_.notify_all();
}

FaultHttpServer::ReadResult FaultHttpServer::ReadMore(Connection& connection, std::string* buffer) {
  const bool idle = buffer->empty();
  connection.idle = idle;
  absl::Time deadline = absl::InfiniteFuture();
  if (idle && options_.keepalive_timeout > absl::ZeroDuration()) {
    deadline = absl::Now() + options_.keepalive_timeout;
  }
  while (true) {
    pollfd fds[2] = {{connection.fd, POLLIN, 0}, {connection.wake_fd, POLLIN, 0}};
    int ready = poll(fds, 2, PollTimeoutMs(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return ReadResult::kClose;
    }
    if (ready == 0) return ReadResult::kClose;  // keep-alive timeout
    if (fds[1].revents != 0) {
      Drain(connection.wake_fd);
      if (connection.abort) return ReadResult::kAbort;
      if (connection.stop) return ReadResult::kClose;
      if (connection.close_if_idle.exchange(false) && idle) return ReadResult::kClose;
      if (fds[0].revents == 0) continue;
    }
    char chunk[65536];
    ssize_t n = recv(connection.fd, chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return ReadResult::kClose;
    connection.idle = false;
    bytes_in_ += n;
    buffer->append(chunk, static_cast<std::size_t>(n));
    return ReadResult::kData;
  }
}

std::optional<FaultHttpServer::Outcome> FaultHttpServer::Pause(Connection& connection,
                                                               absl::Time deadline,
                                                               bool while_hung) {
  while (true) {
    if (while_hung) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!hang_) return std::nullopt;
    } else if (absl::Now() >= deadline) {
      return std::nullopt;
    }
    // POLLRDHUP only: a pipelined request must not wake us, a client that left must.
    pollfd fds[2] = {{connection.fd, POLLRDHUP, 0}, {connection.wake_fd, POLLIN, 0}};
    int ready = poll(fds, 2, while_hung ? -1 : PollTimeoutMs(deadline));
    if (ready < 0 && errno != EINTR) return Outcome::kClose;
    if (ready <= 0) continue;
    if (fds[1].revents != 0) {
      Drain(connection.wake_fd);
      if (connection.abort) return Outcome::kAbort;
      if (connection.stop) return Outcome::kClose;
      connection.close_if_idle = false;  // busy, not idle
    }
    if ((fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) return Outcome::kClose;
  }
}

FaultHttpServer::Outcome FaultHttpServer::Serve(Connection& connection) {
  std::string buffer;
  int served = 0;
  while (true) {
    // Request head.
    std::size_t scanned = 0;
    std::size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n", scanned)) == std::string::npos) {
      if (buffer.size() > kMaxHeadBytes) {
        Write(connection, HttpRequest(), PlainError(431), true);
        return Outcome::kClose;
      }
      scanned = buffer.size() >= 3 ? buffer.size() - 3 : 0;
      ReadResult result = ReadMore(connection, &buffer);
      if (result == ReadResult::kAbort) return Outcome::kAbort;
      if (result == ReadResult::kClose) return Outcome::kClose;
    }
    HttpRequest request;
    absl::Status parsed = ParseRequestHead(absl::string_view(buffer).substr(0, head_end), &request);
    buffer.erase(0, head_end + 4);
    if (!parsed.ok()) {
      Write(connection, request, PlainError(400), true);
      return Outcome::kClose;
    }

    // Body.
    const std::string* transfer_encoding = request.Header("Transfer-Encoding");
    const std::string* expect = request.Header("Expect");
    bool continue_sent = false;
    auto maybe_continue = [&]() {
      if (expect != nullptr && absl::EqualsIgnoreCase(*expect, "100-continue") && !continue_sent) {
        continue_sent = true;
        return SendAll(connection, "HTTP/1.1 100 Continue\r\n\r\n");
      }
      return true;
    };
    if (transfer_encoding != nullptr && HeaderHasToken(*transfer_encoding, "chunked")) {
      while (true) {
        absl::StatusOr<std::size_t> consumed = DecodeChunked(buffer, &request.body);
        if (!consumed.ok()) {
          Write(connection, request, PlainError(400), true);
          return Outcome::kClose;
        }
        if (*consumed > 0) {
          buffer.erase(0, *consumed);
          break;
        }
        if (buffer.size() > options_.max_body_bytes) {
          Write(connection, request, PlainError(413), true);
          return Outcome::kClose;
        }
        if (!maybe_continue()) return Outcome::kClose;
        ReadResult result = ReadMore(connection, &buffer);
        if (result == ReadResult::kAbort) return Outcome::kAbort;
        if (result == ReadResult::kClose) return Outcome::kClose;
      }
    } else if (const std::string* length_text = request.Header("Content-Length")) {
      std::size_t length = 0;
      if (!absl::SimpleAtoi(*length_text, &length)) {
        Write(connection, request, PlainError(400), true);
        return Outcome::kClose;
      }
      if (length > options_.max_body_bytes) {
        Write(connection, request, PlainError(413), true);
        return Outcome::kClose;
      }
      if (buffer.size() < length && !maybe_continue()) return Outcome::kClose;
      while (buffer.size() < length) {
        ReadResult result = ReadMore(connection, &buffer);
        if (result == ReadResult::kAbort) return Outcome::kAbort;
        if (result == ReadResult::kClose) return Outcome::kClose;
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);
    }
    connection.idle = false;
    if (const std::string* encoding = request.Header("Content-Encoding");
        encoding != nullptr && !request.body.empty() &&
        (HeaderHasToken(*encoding, "gzip") || HeaderHasToken(*encoding, "deflate"))) {
      absl::StatusOr<std::string> inflated = GzipDecompress(request.body);
      if (!inflated.ok()) {
        Write(connection, request, PlainError(400), true);
        return Outcome::kClose;
      }
      request.body = std::move(*inflated);
    }

    // Accounting, then the injected faults in a fixed order: reset, hang, delay, status.
    ++requests_total_;
    std::string endpoint = options_.classifier ? options_.classifier(request) : "all";
    absl::Duration delay;
    std::optional<HttpResponse> forced;
    Stats::Recent recent{.method = request.method, .target = request.target, .headers = {}};
    for (const char* name :
         {"traceparent", "tracestate", "x-opaque-id", "content-type", "content-encoding"}) {
      if (const std::string* value = request.Header(name)) recent.headers[name] = *value;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_by_endpoint_[endpoint];
      recent_.push_back(std::move(recent));
      if (recent_.size() > kRecentRequests) recent_.pop_front();
    }
    if (reset_next_.exchange(false)) {
      ++resets_injected_;
      return Outcome::kAbort;
    }
    if (std::optional<Outcome> outcome = Pause(connection, absl::InfiniteFuture(), true)) {
      return *outcome;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      delay = delay_;
    }
    if (delay > absl::ZeroDuration()) {
      if (std::optional<Outcome> outcome = Pause(connection, absl::Now() + delay, false)) {
        return *outcome;
      }
    }
    Malformer malformer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      forced = status_override_;
      malformer = malformer_;
    }
    HttpResponse response = forced.has_value() ? *forced : options_.handler(request);
    // The node did the work; what reaches the client is broken (as behind a failing proxy).
    std::optional<std::size_t> truncate_body_at;
    if (!forced.has_value() && malformer) {
      if (std::optional<Malformed> malformed = malformer(request, response)) {
        response = std::move(malformed->response);
        truncate_body_at = malformed->truncate_body_at;
      }
    }
    if (connection.abort) return Outcome::kAbort;
    ++served;
    bool close = request.WantsClose() || response.close || connection.stop ||
                 truncate_body_at.has_value() ||
                 (options_.max_requests_per_connection > 0 &&
                  served >= options_.max_requests_per_connection);
    // Idle from the client's point of view as soon as it has the response, so mark it before
    // writing: a CloseIdle racing with the write then still finds this connection.
    connection.idle = !close && buffer.empty();
    if (!Write(connection, request, response, close, truncate_body_at) || close) {
      return Outcome::kClose;
    }
  }
}

bool FaultHttpServer::Write(Connection& connection, const HttpRequest& request,
                            const HttpResponse& response, bool close,
                            std::optional<std::size_t> truncate_body_at) {
  const bool head = request.method == "HEAD";
  const std::string* body = &response.body;
  std::string compressed;
  bool gzip = false;
  if (!head && !response.body.empty() && !truncate_body_at.has_value() &&
      FindHeader(response.headers, "content-encoding") == nullptr) {
    const std::string* accept = request.Header("Accept-Encoding");
    if (accept != nullptr && HeaderHasToken(*accept, "gzip")) {
      compressed = GzipCompress(response.body);
      body = &compressed;
      gzip = true;
    }
  }
  std::string out =
      absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  if (gzip) absl::StrAppend(&out, "content-encoding: gzip\r\n");
  absl::StrAppend(&out, "content-length: ", body->size(), "\r\n");
  // A cut-short answer looks like a sender that died: no announced close.
  if (close && !truncate_body_at.has_value()) absl::StrAppend(&out, "connection: close\r\n");
  absl::StrAppend(&out, "\r\n");
  if (!head) out.append(*body, 0, std::min(body->size(), truncate_body_at.value_or(body->size())));
  return SendAll(connection, out);
}

bool FaultHttpServer::SendAll(Connection& connection, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(connection.fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
    bytes_out_ += n;
  }
  return true;
}

void FaultHttpServer::SignalAll(bool abort, bool stop) {
  for (Connection* connection : connections_) {
    if (abort) connection->abort = true;
    if (stop) connection->stop = true;
    Notify(connection->wake_fd);
  }
}

void FaultHttpServer::Shutdown() {
  std::lock_guard<std::mutex> control(control_mu_);
  StopAccepting();
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  SignalAll(/*abort=*/false, /*stop=*/true);
  threads_changed_.wait(lock, [this] { return active_threads_ == 0; });
}

absl::Status FaultHttpServer::Kill() {
  std::lock_guard<std::mutex> control(control_mu_);
  StopAccepting();
  std::unique_lock<std::mutex> lock(mu_);
  killed_ = true;
  SignalAll(/*abort=*/true, /*stop=*/false);
  if (!threads_changed_.wait_for(lock, std::chrono::seconds(5),
                                 [this] { return connections_.empty(); })) {
    return absl::DeadlineExceededError("connections did not close within 5 s");
  }
  return absl::OkStatus();
}

absl::Status FaultHttpServer::Revive() {
  std::lock_guard<std::mutex> control(control_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::FailedPreconditionError("server is shut down");
    if (!killed_) return absl::OkStatus();
  }
  if (absl::Status status = Listen(); !status.ok()) return status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    killed_ = false;
  }
  StartAccepting();
  return absl::OkStatus();
}

bool FaultHttpServer::killed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return killed_;
}

void FaultHttpServer::SetHang(bool hang) {
  std::lock_guard<std::mutex> lock(mu_);
  hang_ = hang;
  if (!hang) SignalAll(false, false);
}

void FaultHttpServer::SetDelay(absl::Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

void FaultHttpServer::SetStatusOverride(std::optional<HttpResponse> response) {
  std::lock_guard<std::mutex> lock(mu_);
  status_override_ = std::move(response);
}

void FaultHttpServer::SetMalformer(std::string kind, Malformer malformer) {
  std::lock_guard<std::mutex> lock(mu_);
  malform_kind_ = malformer ? std::move(kind) : std::string();
  malformer_ = std::move(malformer);
}

std::string FaultHttpServer::malform_kind() const {
  std::lock_guard<std::mutex> lock(mu_);
  return malform_kind_;
}

void FaultHttpServer::ResetNextRequest() { reset_next_ = true; }

int FaultHttpServer::CloseIdle() {
  std::lock_guard<std::mutex> lock(mu_);
  int asked = 0;
  for (Connection* connection : connections_) {
    if (!connection->idle) continue;
    connection->close_if_idle = true;
    Notify(connection->wake_fd);
    ++asked;
  }
  return asked;
}

void FaultHttpServer::Heal() {
  reset_next_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  hang_ = false;
  delay_ = absl::ZeroDuration();
  status_override_.reset();
  malform_kind_.clear();
  malformer_ = nullptr;
  SignalAll(false, false);
}

std::string FaultHttpServer::StateName() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (killed_) return "killed";
  if (hang_) return "hung";
  if (delay_ > absl::ZeroDuration()) return "slow";
  if (status_override_.has_value()) return "status";
  if (malformer_) return "malformed";
  if (reset_next_) return "reset_next";
  return "up";
}

int FaultHttpServer::status_override_code() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_override_.has_value() ? status_override_->status : 0;
}

absl::Duration FaultHttpServer::delay() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delay_;
}

FaultHttpServer::Stats FaultHttpServer::GetStats() const {
  Stats stats;
  stats.connections_accepted = connections_accepted_;
  stats.requests_total = requests_total_;
  stats.bytes_in = bytes_in_;
  stats.bytes_out = bytes_out_;
  stats.resets_injected = resets_injected_;
  std::lock_guard<std::mutex> lock(mu_);
  stats.open_sockets = static_cast<int64_t>(connections_.size());
  stats.requests = requests_by_endpoint_;
  stats.recent.assign(recent_.begin(), recent_.end());
  return stats;
}

void FaultHttpServer::ResetStats() {
  connections_accepted_ = 0;
  requests_total_ = 0;
  bytes_in_ = 0;
  bytes_out_ = 0;
  resets_injected_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  requests_by_endpoint_.clear();
  recent_.clear();
}

}  // namespace esgw::devcluster
