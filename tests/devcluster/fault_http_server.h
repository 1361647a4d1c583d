// An HTTP/1.1 server on one TCP port (a thread per connection, keep-alive, pipelining, chunked
// and gzip bodies) that can misbehave on command like a failing Elasticsearch node: stop
// listening and reset every socket (Kill), hang, answer slowly, answer a fixed status, answer
// with a malformed response (cut short, or whatever a Malformer makes of the real one), reset the
// next request, or drop idle keep-alive connections.
// Thread-safe: every public method may be called from any thread. The server owns its sockets
// and threads; the destructor (or Shutdown) waits for them. Handlers run on connection threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/devcluster/http_message.h"

namespace esgw::devcluster {

class FaultHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Names the endpoint of a request for the per-endpoint request counters.
  using Classifier = std::function<std::string(const HttpRequest&)>;

  // An answer sent in place of the handler's, possibly broken on the wire (SetMalformer).
  struct Malformed {
    HttpResponse response;
    // When set, the head's Content-Length promises the whole body but only this many bytes of it
    // are sent (never compressed), and then the connection is closed.
    std::optional<std::size_t> truncate_body_at;
  };
  // Given a request and the handler's answer to it, the answer to send instead; nullopt sends the
  // handler's (e.g. for a request to another path). Runs on connection threads.
  using Malformer =
      std::function<std::optional<Malformed>(const HttpRequest&, const HttpResponse& normal)>;

  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0 picks a free ephemeral port
    // Idle keep-alive connections are closed after this long; zero keeps them forever.
    absl::Duration keepalive_timeout = absl::ZeroDuration();
    // After this many responses on one connection the last carries "connection: close";
    // zero means unlimited.
    int max_requests_per_connection = 0;
    std::size_t max_body_bytes = 100 * 1024 * 1024;  // ES's http.max_content_length
    Handler handler;
    Classifier classifier;  // optional
  };

  struct Stats {
    int64_t connections_accepted = 0;
    int64_t open_sockets = 0;
    int64_t requests_total = 0;
    int64_t bytes_in = 0;
    int64_t bytes_out = 0;
    int64_t resets_injected = 0;
    std::map<std::string, int64_t> requests;  // by Classifier name
    // The last kRecentRequests requests read, oldest first, with the headers tests look for.
    struct Recent {
      std::string method;
      std::string target;
      // Lower-case names; only traceparent, tracestate, x-opaque-id, content-type and
      // content-encoding, when present.
      std::map<std::string, std::string> headers;
    };
    std::vector<Recent> recent;
  };
  static constexpr size_t kRecentRequests = 64;

  // Binds and starts serving. Errors: whatever bind/listen report (e.g. kUnavailable when the
  // port is taken), kInvalidArgument for a bad host.
  static absl::StatusOr<std::unique_ptr<FaultHttpServer>> Start(Options options);
  ~FaultHttpServer();

  FaultHttpServer(const FaultHttpServer&) = delete;
  FaultHttpServer& operator=(const FaultHttpServer&) = delete;

  int port() const { return port_; }

  // Stops accepting, closes every connection and waits for all threads. Idempotent.
  void Shutdown();

  // Closes the listener (new connections are refused) and resets every open socket (RST), like
  // a crashed process. Waits up to 5 s for connection threads to let go.
  absl::Status Kill();
  // Listens again on the same port. kUnavailable when the port cannot be bound again.
  absl::Status Revive();
  bool killed() const;

  // Requests read from now on are never answered until Heal/Kill/Shutdown or the client leaves.
  void SetHang(bool hang);
  // Every response is delayed by `delay` (zero to stop).
  void SetDelay(absl::Duration delay);
  // Every request is answered with `response` instead of the handler's (nullopt to stop).
  void SetStatusOverride(std::optional<HttpResponse> response);
  // Every request is answered by the handler and then passed through `malformer`, which may
  // replace the answer (a null malformer stops); `kind` names it for StateName and statistics.
  // A forced status (SetStatusOverride) takes precedence.
  void SetMalformer(std::string kind, Malformer malformer);
  // The kind given to SetMalformer; "" when none is set.
  std::string malform_kind() const;
  // The next request read (on any connection) is answered with a TCP reset and no byte.
  void ResetNextRequest();
  // Closes every connection that is waiting for its next request. Returns how many it asked.
  int CloseIdle();
  // Clears hang, delay, status override, malformer and a pending reset; releases hung requests.
  void Heal();

  // "up", "killed", "hung", "slow", "status", "malformed" or "reset_next" (the first that
  // applies).
  std::string StateName() const;
  int status_override_code() const;
  absl::Duration delay() const;

  Stats GetStats() const;
  void ResetStats();

 private:
  struct Connection;
  enum class Outcome { kClose, kAbort };
  enum class ReadResult { kData, kClose, kAbort };

  explicit FaultHttpServer(Options options);

  absl::Status Listen();  // opens listen_fd_ on port_
  void StartAccepting();
  void StopAccepting();
  void AcceptLoop(int listen_fd);
  void ConnectionMain(int fd);
  Outcome Serve(Connection& connection);
  ReadResult ReadMore(Connection& connection, std::string* buffer);
  // Waits while the node hangs or until `deadline`; nullopt means carry on.
  std::optional<Outcome> Pause(Connection& connection, absl::Time deadline, bool while_hung);
  // Sends response; with truncate_body_at, only that much of the body (see Malformed).
  bool Write(Connection& connection, const HttpRequest& request, const HttpResponse& response,
             bool close, std::optional<std::size_t> truncate_body_at = std::nullopt);
  bool SendAll(Connection& connection, const std::string& data);
  void SignalAll(bool abort, bool stop);  // requires mu_

  const Options options_;
  std::atomic<int> port_{0};

  // std::mutex rather than absl::Mutex: Debian's prebuilt abseil is not TSan-instrumented, so
  // ThreadSanitizer builds could not see absl::Mutex's synchronisation.
  std::mutex control_mu_;  // serialises Kill / Revive / Shutdown
  int listen_fd_ = -1;     // guarded by control_mu_; used by the accept thread while it runs
  int accept_wake_fd_ = -1;
  std::atomic<bool> accept_stop_{false};
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable threads_changed_;  // connections_ or active_threads_ changed
  absl::flat_hash_set<Connection*> connections_ ABSL_GUARDED_BY(mu_);
  int active_threads_ ABSL_GUARDED_BY(mu_) = 0;
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool hang_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::optional<HttpResponse> status_override_ ABSL_GUARDED_BY(mu_);
  std::string malform_kind_ ABSL_GUARDED_BY(mu_);
  Malformer malformer_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> requests_by_endpoint_ ABSL_GUARDED_BY(mu_);
  std::deque<Stats::Recent> recent_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> reset_next_{false};

  std::atomic<int64_t> connections_accepted_{0};
  std::atomic<int64_t> requests_total_{0};
  std::atomic<int64_t> bytes_in_{0};
  std::atomic<int64_t> bytes_out_{0};
  std::atomic<int64_t> resets_injected_{0};
};

}  // namespace esgw::devcluster
