// Runs one logical Elasticsearch request across attempts: leases a node from the NodePool,
// sends the exchange through the Transport, classifies the outcome (pool/failure_class.h),
// records it in the pool, and asks the RetryPlanner whether, where and after what delay to try
// again, within the caller's deadline. Reports exactly once.
// Thread-safe: Execute and Call::Cancel may be called from any thread. Done runs on a transport
// thread, on the timer thread, or (for immediate failures) on the caller's thread.
#pragma once

#include <functional>
#include <memory>
#include <random>
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
#include "pool/node_pool.h"
#include "pool/retry_planner.h"
#include "pool/timer_queue.h"
#include "pool/transport.h"

namespace esgw {

class Dispatcher {
 public:
  struct Options {
    // Not owned; each must outlive the dispatcher.
    NodePool* pool = nullptr;
    Transport* transport = nullptr;
    TimerQueue* timers = nullptr;
    const Clock* clock = &RealClock::Get();
    RetryPlanner::Options retry = {};
    // Seeds the jitter of backpressure retries.
    uint64_t random_seed = 0;
    // Called after an attempt that blames its node (hard or soft), e.g. to ask for a sniff.
    // Runs on the thread that completed the attempt; must not block.
    std::function<void()> on_node_failure = nullptr;
  };

  // What came of a request: the last exchange's response and where it was served.
  struct Result {
    HttpResponse response = {};
    FailureClass failure_class = FailureClass::kLocal;
    // host:port of the node that produced response; empty when no node was tried.
    std::string served_by = "";
    int attempts = 0;
    // Why the request failed below HTTP, across all attempts; OK when an HTTP response came.
    absl::Status transport_status = absl::OkStatus();
    // True when an attempt before the last one ended in a way that may have applied the
    // request: a soft failure (sent, but the answer was lost or was a gateway error) or a
    // stale connection (a reused connection reset before any byte of an answer: usually the
    // node had closed it while idle, but a node that died after taking the request looks the
    // same). Hard failures and backpressure apply nothing, so a write whose every earlier
    // attempt was one of those, and whose last step applied nothing either, certainly was not
    // applied.
    bool earlier_attempt_may_have_applied = false;
  };
  using Done = absl::AnyInvocable<void(Result) &&>;

  struct Attempt;

  // A request in flight. Cancel aborts the running exchange (or the wait before a retry) and
  // stops further attempts; Done then runs with CANCELLED. Safe at any time, also after Done.
  class Call {
   public:
    // The caller gave up (e.g. the client cancelled): no blame on the node.
    void Cancel() { Abort(/*deadline_expired=*/false); }
    // The caller's deadline passed while the request was out (e.g. gRPC cancelled the call at
    // its deadline). Aborts like Cancel, but an exchange that was in flight counts as a timeout
    // of its node (a soft failure: the node did not answer in time, DESIGN.md section 3), so a
    // hung node is ejected even when the caller's deadline, not the transport's, fires first;
    // Done runs with DEADLINE_EXCEEDED.
    void ExpireDeadline() { Abort(/*deadline_expired=*/true); }

   private:
    friend class Dispatcher;
    void Abort(bool deadline_expired);
    // Why the call was aborted, for Done.
    absl::Status AbortStatus() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

    Dispatcher* dispatcher_ = nullptr;
    absl::Mutex mu_;
    bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
    bool deadline_expired_ ABSL_GUARDED_BY(mu_) = false;
    Transport::TransferId transfer_ ABSL_GUARDED_BY(mu_) = 0;
    int attempt_number_ ABSL_GUARDED_BY(mu_) = 0;
    // Set while a retry waits for its delay on the timer queue.
    TimerQueue::TaskId timer_ ABSL_GUARDED_BY(mu_) = 0;
    std::shared_ptr<Attempt> waiting_ ABSL_GUARDED_BY(mu_);
  };

  // INVALID_ARGUMENT when pool, transport, timers or clock is missing.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(Options options);

  // Starts request; deadline is in clock's monotonic time. idempotent says whether resending
  // after the request may have reached a node is safe (DESIGN.md section 3). done runs once.
  std::shared_ptr<Call> Execute(HttpRequest request, bool idempotent, absl::Time deadline,
                                Done done);

  // The status a client should see for result: OK for a 2xx; the mapped Elasticsearch error for
  // other statuses (pool/es_error.h); UNAVAILABLE when no node answered (or none with an answer
  // that can be Elasticsearch's: see RejectNonElasticsearchAnswer); RESOURCE_EXHAUSTED (ErrorInfo
  // LIMIT_EXCEEDED, limit max_response_bytes) when the answer was larger than the transport
  // holds; DEADLINE_EXCEEDED when time ran out; CANCELLED when the caller cancelled.
  static absl::Status ResultStatus(const Result& result);

 private:
  explicit Dispatcher(Options options);
  void Try(std::shared_ptr<Attempt> attempt);
  void OnResponse(std::shared_ptr<Attempt> attempt, HttpResponse response);
  void Fail(std::shared_ptr<Attempt> attempt, absl::Status status);

  const Options options_;
  const RetryPlanner planner_;
  absl::Mutex gen_mu_;
  std::mt19937_64 gen_ ABSL_GUARDED_BY(gen_mu_);
};

}  // namespace esgw
