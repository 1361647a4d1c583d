// Runs one logical Elasticsearch request: picks a node, sends the exchange through the
// Transport, classifies the outcome and decides whether to try again, then reports once.
// In this version the node choice is "the first seed that answers": seeds are tried in order,
// moving on only when nothing was sent (hard failures); a stale keep-alive connection is
// retried once on the same node.
// Thread-safe: Execute and Call::Cancel may be called from any thread. Callbacks run on a
// transport thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pool/clock.h"
#include "pool/failure_class.h"
#include "pool/transport.h"

namespace esgw {

class Dispatcher {
 public:
  struct Options {
    std::vector<Endpoint> seeds;
    // Not owned; must outlive the dispatcher.
    Transport* transport = nullptr;
    const Clock* clock = &RealClock::Get();
  };

  // What came of a request: the last exchange's response and where it was served.
  struct Result {
    HttpResponse response;
    FailureClass failure_class = FailureClass::kLocal;
    // host:port of the node that produced response; empty when no node was tried.
    std::string served_by;
    int attempts = 0;
    // Why the request failed below HTTP, across all attempts; OK when an HTTP response came.
    absl::Status transport_status;
  };
  using Done = absl::AnyInvocable<void(Result) &&>;

  // A request in flight. Cancel aborts the running exchange and stops further attempts; Done
  // then runs with CANCELLED. Safe to call at any time, also after completion.
  class Call {
   public:
    void Cancel();

   private:
    friend class Dispatcher;
    absl::Mutex mu_;
    bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
    Transport::TransferId transfer_ ABSL_GUARDED_BY(mu_) = 0;
    int attempt_number_ ABSL_GUARDED_BY(mu_) = 0;
    Transport* transport_ = nullptr;
  };

  // INVALID_ARGUMENT when there are no seeds or no transport.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(Options options);

  // Starts request; deadline is in clock's monotonic time. done runs exactly once.
  std::shared_ptr<Call> Execute(HttpRequest request, absl::Time deadline, Done done);

  const std::vector<Endpoint>& seeds() const { return options_.seeds; }

  // The status a client should see for result: OK for a 2xx; the mapped Elasticsearch error for
  // other statuses (pool/es_error.h); UNAVAILABLE when no node answered; DEADLINE_EXCEEDED when
  // time ran out; CANCELLED when the caller cancelled.
  static absl::Status ResultStatus(const Result& result);

 private:
  struct Attempt;
  explicit Dispatcher(Options options) : options_(std::move(options)) {}
  void Try(std::shared_ptr<Attempt> attempt);
  void OnResponse(std::shared_ptr<Attempt> attempt, HttpResponse response);

  const Options options_;
};

}  // namespace esgw
