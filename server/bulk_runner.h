// The write path's second half: runs encoded operations (server/bulk_encoder.h) to completion as
// _bulk requests through the Dispatcher, one batch at a time and never reordered, resends items
// Elasticsearch rejected for load, and reports each operation's final result exactly once.
// Serves Bulk (Add everything, Close) and Ingest (Add as messages arrive, Close at half-close).
// Thread-safe: every method may be called from any thread and never blocks on I/O. Work runs on
// the caller's, a transport or the timer thread; on_result and on_done run one at a time, never
// under the runner's lock, so they may call back into the runner. The runner keeps itself alive
// (shared_from_this) until on_done has run; the caller keeps alive what the callbacks use.
//
// When a batch gets no usable _bulk response, each of its operations is final with an item error
// of type "esgw_not_applied" (certainly not applied) or "esgw_outcome_unknown" (may have been
// applied). The rule, from the Dispatcher::Result of the batch:
//  - Earlier attempts. The Dispatcher retries after hard failures (nothing sent) and
//    backpressure (a whole-request rejection), which apply nothing; after a first stale
//    connection, which may have (usually the node had closed it while idle, but a node that died
//    after taking the request looks the same); and, only for an idempotent batch, after soft
//    failures, which may have applied it. After either of the last two the batch is "outcome
//    unknown" (Dispatcher::Result::earlier_attempt_may_have_applied).
//  - The last step. An HTTP 4xx (429 included) or a 503 es_rejected_execution_exception means
//    Elasticsearch rejected the request as a whole: not applied. Any other non-2xx answer, or a
//    2xx whose body is not a _bulk response for exactly these items: unknown. A transport error:
//    a connect failure is not applied; a stale connection, a connection lost, a timeout, a
//    cancelled exchange or a malformed response is unknown. A failure with no exchange in it (no
//    node left, deadline passed or cancelled before sending, shutdown) sent nothing: not applied.
//  - Earlier batches. An op is remembered as "may have been applied" once a batch that held it
//    was sent in a way that may have applied it (above), even if that batch's final answer then
//    rejected the op for load and it was resent. Any later "not applied" of such an op (its
//    resend rejected again, no node left, cancelled, shutdown) is reported as unknown instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "esgw/v1/common.pb.h"
#include "pool/backoff.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"
#include "pool/timer_queue.h"
#include "server/bulk_encoder.h"

namespace esgw {

struct BulkItemOutcome;  // server/es_response.h

class BulkRunner : public std::enable_shared_from_this<BulkRunner> {
 public:
  struct Options {
    // Not owned; each must outlive the runner's on_done.
    Dispatcher* dispatcher = nullptr;
    TimerQueue* timers = nullptr;
    const Clock* clock = &RealClock::Get();
    BulkSettings settings = {};
    // ?refresh= of every _bulk request.
    v1::Refresh refresh = v1::REFRESH_UNSPECIFIED;
    // In clock's monotonic time. Each batch gets what is left; items rejected for load are
    // resent only while the backoff ends before it.
    absl::Time deadline = absl::InfiniteFuture();
    // Extra headers on every _bulk request (e.g. traceparent, X-Opaque-Id).
    std::vector<std::pair<std::string, std::string>> headers = {};
    // Seeds the jitter of item retries.
    uint64_t random_seed = 0;
    // Required. The final result of the op at op_position (0-based, in the order of Add calls
    // across all of them); exactly once per op.
    std::function<void(size_t op_position, v1::BulkItemResult result)> on_result = nullptr;
    // Once, after Close (or Cancel) and after every op added has been reported.
    std::function<void()> on_done = nullptr;
  };

  // For IngestSummary and logs. retried: ops sent more than once (item or whole-request retry).
  struct Stats {
    int64_t ops = 0;
    int64_t ok = 0;
    int64_t failed = 0;
    int64_t retried = 0;
    int64_t bytes = 0;
    int64_t took_ms = 0;
    int64_t batches = 0;
  };

  // INVALID_ARGUMENT when dispatcher, timers, clock or on_result is missing, or the settings are
  // out of range (batch limits not positive, retry backoff invalid per BackoffPolicy::Validate).
  static absl::StatusOr<std::shared_ptr<BulkRunner>> Create(Options options);

  // Queues ops after those added before; sends when no batch is in flight. FAILED_PRECONDITION
  // (ops dropped, not reported) after Close or Cancel.
  absl::Status Add(std::vector<EncodedOp> ops);
  // No more ops; on_done follows once every op is reported (at once when there is none left).
  void Close();
  // Stops: nothing more is sent, the batch in flight is aborted; every op not yet final is
  // reported: esgw_not_applied (status 499) when it was never sent or was waiting to be resent
  // after a rejection, else per the rule above. Implies Close. Safe at any time, repeatedly.
  void Cancel();

  // Read after on_done. Non-OK only when every op ended "not applied" for a request-level reason
  // (no node, deadline, cancel, a whole-request Elasticsearch rejection): the status of the first
  // such failure, as Dispatcher::ResultStatus gives it. The handler may then fail the RPC with it
  // and promise that nothing was applied. OK when there were no ops.
  absl::Status request_failure() const;
  Stats stats() const;

 private:
  struct Entry {
    size_t position = 0;
    EncodedOp op;
    int attempts = 0;
    // The last rejection, while waiting to be resent.
    v1::BulkItemResult last;
    // A batch that held this op was sent in a way that may have applied it (see the top).
    bool may_have_applied = false;
  };
  enum class Phase { kIdle, kSending, kWaiting };
  struct Send {
    uint64_t batch_id = 0;
    HttpRequest request;
    bool idempotent = false;
  };
  struct Report {
    size_t position = 0;
    v1::BulkItemResult result;
  };
  class RetryTask;

  explicit BulkRunner(Options options);

  // Delivers queued reports, starts the next batch and finally calls on_done, on one thread at
  // a time; returns at once when another thread is already doing it.
  void Drive();
  std::optional<Send> NextSendLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnBatchDone(uint64_t batch_id, Dispatcher::Result result);
  // Returns the token of a retry to schedule, when one is due.
  std::optional<uint64_t> ApplyItemsLocked(std::vector<Entry> batch,
                                           std::vector<BulkItemOutcome> items,
                                           absl::Duration* delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleRetry(uint64_t token, absl::Duration delay);
  void OnRetryTimer(uint64_t token, bool fired);
  // Reports entry as final with result. request_failure: the op ended "not applied" for a
  // request-level reason with this status; OK otherwise. A "not applied" result (or a rejection
  // for load) of an op that may have been applied before becomes "outcome unknown".
  void ReportLocked(Entry& entry, v1::BulkItemResult result, absl::Status request_failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotAppliedLocked(Entry& entry, const absl::Status& status, int http_status,
                        absl::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const BackoffPolicy backoff_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool driving_ ABSL_GUARDED_BY(mu_) = false;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kIdle;
  size_t next_position_ ABSL_GUARDED_BY(mu_) = 0;
  // Added, not yet sent.
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  // In flight (kSending).
  std::vector<Entry> batch_ ABSL_GUARDED_BY(mu_);
  uint64_t batch_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<Dispatcher::Call> call_ ABSL_GUARDED_BY(mu_);
  // Rejected for load, to be resent alone (kWaiting until the timer fires, then retry_ready_).
  std::vector<Entry> retry_ ABSL_GUARDED_BY(mu_);
  bool retry_ready_ ABSL_GUARDED_BY(mu_) = false;
  int retry_round_ ABSL_GUARDED_BY(mu_) = 0;
  // Identifies the current retry wait; a timer with an older token does nothing.
  uint64_t retry_token_ ABSL_GUARDED_BY(mu_) = 0;
  TimerQueue::TaskId retry_timer_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 gen_ ABSL_GUARDED_BY(mu_);
  // Final results not yet handed to on_result.
  std::vector<Report> outbox_ ABSL_GUARDED_BY(mu_);
  size_t reported_ ABSL_GUARDED_BY(mu_) = 0;
  bool all_not_applied_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
