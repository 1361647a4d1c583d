#include "pool/dispatcher.h"

#include <algorithm>
#include <utility>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/es_error.h"

namespace esgw {

// The state of one request across its attempts. Owned by whatever runs next: the pending
// transport callback, or the timer task of a delayed retry.
struct Dispatcher::Attempt {
  HttpRequest request;
  bool idempotent = true;
  absl::Time deadline;
  Done done;
  std::shared_ptr<Call> call;
  NodePool::Lease lease;
  // Nodes tried so far, oldest first (the pool avoids repeating the last one).
  std::vector<std::string> tried;
  // Set when the next attempt must go to this node (the stale-connection retry).
  std::string same_node;
  bool stale_retried = false;
  int attempts = 0;
  // One entry per failed attempt, for the error message: "host:port: what happened".
  std::vector<std::string> failures;
  // See Result::earlier_attempt_may_have_applied.
  bool may_have_applied = false;
};

namespace {

std::string Describe(const HttpResponse& response) {
  if (response.error != TransportError::kNone) {
    return absl::StrCat(TransportErrorName(response.error), ": ", response.error_message);
  }
  const EsError error = ParseEsError(response.status, response.body);
  return absl::StrCat("HTTP ", response.status, error.type.empty() ? "" : " ", error.type);
}

}  // namespace

absl::Status Dispatcher::Call::AbortStatus() const {
  return deadline_expired_ ? absl::DeadlineExceededError("the caller's deadline passed")
                           : absl::CancelledError("cancelled by the caller");
}

void Dispatcher::Call::Abort(bool deadline_expired) {
  Transport::TransferId transfer;
  TimerQueue::TaskId timer;
  std::shared_ptr<Attempt> waiting;
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    deadline_expired_ = deadline_expired;
    status = AbortStatus();
    transfer = transfer_;
    timer = timer_;
    waiting = std::move(waiting_);
    timer_ = 0;
  }
  if (timer != 0 && waiting != nullptr) {
    // A retry is waiting for its delay: take it off the queue and report now. If the timer
    // already fired, Try sees cancelled_ and reports instead.
    if (dispatcher_->options_.timers->Cancel(timer)) {
      dispatcher_->Fail(std::move(waiting), std::move(status));
    }
    return;
  }
  if (transfer != 0) dispatcher_->options_.transport->Cancel(transfer);
}

Dispatcher::Dispatcher(Options options)
    : options_(std::move(options)), planner_(options_.retry), gen_(options_.random_seed) {}

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(Options options) {
  if (options.pool == nullptr) return absl::InvalidArgumentError("pool must be set");
  if (options.transport == nullptr) return absl::InvalidArgumentError("transport must be set");
  if (options.timers == nullptr) return absl::InvalidArgumentError("timers must be set");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  if (options.retry.max_retries < 0) {
    return absl::InvalidArgumentError("max_retries must not be negative");
  }
  return std::unique_ptr<Dispatcher>(new Dispatcher(std::move(options)));
}

std::shared_ptr<Dispatcher::Call> Dispatcher::Execute(HttpRequest request, bool idempotent,
                                                      absl::Time deadline, Done done) {
  auto attempt = std::make_shared<Attempt>();
  attempt->request = std::move(request);
  attempt->idempotent = idempotent;
  attempt->deadline = deadline;
  attempt->done = std::move(done);
  attempt->call = std::make_shared<Call>();
  attempt->call->dispatcher_ = this;
  std::shared_ptr<Call> call = attempt->call;
  Try(std::move(attempt));
  return call;
}

void Dispatcher::Fail(std::shared_ptr<Attempt> attempt, absl::Status status) {
  Result result;
  result.attempts = attempt->attempts;
  result.served_by = attempt->tried.empty() ? "" : attempt->tried.back();
  result.transport_status = std::move(status);
  result.earlier_attempt_may_have_applied = attempt->may_have_applied;
  std::move(attempt->done)(std::move(result));
}

void Dispatcher::Try(std::shared_ptr<Attempt> attempt) {
  std::shared_ptr<Call> call = attempt->call;
  absl::Status aborted;
  {
    absl::MutexLock lock(&call->mu_);
    if (call->cancelled_) aborted = call->AbortStatus();
    call->timer_ = 0;
    call->waiting_.reset();
  }
  if (!aborted.ok()) return Fail(std::move(attempt), std::move(aborted));

  const absl::Duration remaining = attempt->deadline - options_.clock->Now();
  if (remaining <= absl::ZeroDuration()) {
    // Built before the call: the order in which arguments are evaluated is unspecified, and
    // moving attempt into Fail first would leave it null here.
    absl::Status expired = absl::DeadlineExceededError(absl::StrCat(
        "deadline exceeded after ", attempt->attempts, " attempt(s)",
        attempt->failures.empty() ? "" : ": ", absl::StrJoin(attempt->failures, "; ")));
    return Fail(std::move(attempt), std::move(expired));
  }
  absl::StatusOr<NodePool::Lease> lease = attempt->same_node.empty()
                                              ? options_.pool->Select(attempt->tried)
                                              : options_.pool->SelectNode(attempt->same_node);
  if (!lease.ok()) {
    std::string message =
        absl::StrCat("no Elasticsearch node available: ", lease.status().message());
    if (!attempt->failures.empty()) {
      absl::StrAppend(&message, " (after ", attempt->attempts,
                      " attempt(s): ", absl::StrJoin(attempt->failures, "; "), ")");
    }
    absl::Status unavailable =
        WithErrorInfo(absl::UnavailableError(message),
                      {"NO_NODE_AVAILABLE", {{"attempts", absl::StrCat(attempt->attempts)}}});
    return Fail(std::move(attempt), std::move(unavailable));
  }
  if (attempt->same_node.empty()) attempt->tried.push_back(lease->host_port());
  attempt->same_node.clear();
  const Endpoint endpoint = lease->node().endpoint;
  attempt->lease = *std::move(lease);

  HttpRequest request = attempt->request;  // kept for a possible retry
  request.timeout = remaining;
  if (attempt->idempotent && options_.retry.attempt_timeout > absl::ZeroDuration()) {
    request.timeout = std::min(remaining, options_.retry.attempt_timeout);
  }
  const int attempt_number = ++attempt->attempts;
  // No lock is held across Send: a transport may call back at once, on this thread.
  const Transport::TransferId id = options_.transport->Send(
      endpoint, std::move(request), [this, attempt](HttpResponse response) mutable {
        OnResponse(std::move(attempt), std::move(response));
      });
  bool cancel_now = false;
  {
    absl::MutexLock lock(&call->mu_);
    // A fast failure may already have started the next attempt; keep the newest id.
    if (attempt_number > call->attempt_number_) {
      call->attempt_number_ = attempt_number;
      call->transfer_ = id;
      cancel_now = call->cancelled_;
    }
  }
  // Cancel arrived while we were sending: it saw the previous id, so cancel this one here.
  if (cancel_now) options_.transport->Cancel(id);
}

void Dispatcher::OnResponse(std::shared_ptr<Attempt> attempt, HttpResponse response) {
  bool deadline_expired;
  {
    absl::MutexLock lock(&attempt->call->mu_);
    deadline_expired = attempt->call->deadline_expired_;
  }
  if (response.error == TransportError::kCancelled && deadline_expired) {
    // Aborted because the caller's deadline passed: the node did not answer in time.
    response.error = TransportError::kTimeout;
    response.error_message = "no answer before the caller's deadline";
  }
  RejectNonElasticsearchAnswer(attempt->request.method, &response);
  const FailureClass failure_class = Classify(response);
  const std::string node = attempt->lease.host_port();
  options_.pool->Record(std::move(attempt->lease), failure_class, response.elapsed);
  if (BlamesNode(failure_class) && options_.on_node_failure) options_.on_node_failure();

  RetryDecision decision;
  if (failure_class != FailureClass::kSuccess && failure_class != FailureClass::kRequest &&
      failure_class != FailureClass::kLocal) {
    attempt->failures.push_back(absl::StrCat(node, ": ", Describe(response)));
  }
  if (failure_class != FailureClass::kSuccess && failure_class != FailureClass::kRequest &&
      failure_class != FailureClass::kLocal && !deadline_expired) {
    absl::MutexLock lock(&gen_mu_);
    decision = planner_.Plan(failure_class, attempt->idempotent, attempt->attempts,
                             attempt->deadline - options_.clock->Now(), response.retry_after,
                             attempt->stale_retried, absl::BitGenRef(gen_));
  }
  if (decision.retry) {
    options_.pool->CountRetry(node);
    // A stale connection is most often one the node closed while idle, but a node that died
    // after taking the request looks the same (a reset before any byte of an answer).
    if (failure_class == FailureClass::kSoft || failure_class == FailureClass::kStale) {
      attempt->may_have_applied = true;
    }
    if (decision.same_node) {
      attempt->stale_retried = true;
      attempt->same_node = node;
    }
    if (decision.delay <= absl::ZeroDuration()) return Try(std::move(attempt));
    std::shared_ptr<Call> call = attempt->call;
    bool cancelled;
    bool scheduled = false;
    {
      absl::MutexLock lock(&call->mu_);
      cancelled = call->cancelled_;
      if (!cancelled) {
        call->waiting_ = attempt;
        call->timer_ = options_.timers->ScheduleAfter(
            decision.delay, [this, attempt]() mutable { Try(std::move(attempt)); });
        scheduled = call->timer_ != 0;
        if (!scheduled) call->waiting_.reset();
      }
    }
    if (cancelled) return Try(std::move(attempt));  // reports the abort
    // The timer queue only refuses work once it has stopped, i.e. during shutdown.
    if (!scheduled) {
      return Fail(std::move(attempt), absl::UnavailableError("esgw is shutting down"));
    }
    return;
  }

  Result result;
  result.failure_class = failure_class;
  result.served_by = node;
  result.attempts = attempt->attempts;
  result.earlier_attempt_may_have_applied = attempt->may_have_applied;
  if (response.error != TransportError::kNone) {
    const std::string detail = absl::StrJoin(attempt->failures, "; ");
    if (response.error == TransportError::kCancelled) {
      result.transport_status = absl::CancelledError("cancelled by the caller");
    } else if (response.error == TransportError::kResponseTooLarge) {
      result.transport_status = WithErrorInfo(
          absl::ResourceExhaustedError(absl::StrCat(
              "Elasticsearch's answer from ", node, " is too large: ", response.error_message,
              "; ask for less (a smaller size, fewer _source fields) or raise the limit")),
          {"LIMIT_EXCEEDED", {{"limit", "max_response_bytes"}}});
    } else if (response.error == TransportError::kTimeout &&
               (deadline_expired || options_.clock->Now() >= attempt->deadline)) {
      result.transport_status = absl::DeadlineExceededError(
          absl::StrCat("deadline exceeded waiting for Elasticsearch: ", detail));
    } else {
      result.transport_status = WithErrorInfo(
          absl::UnavailableError(absl::StrCat("no Elasticsearch node answered after ",
                                              attempt->attempts, " attempt(s): ", detail)),
          {"NO_NODE_AVAILABLE", {{"attempts", absl::StrCat(attempt->attempts)}}});
    }
  }
  result.response = std::move(response);
  std::move(attempt->done)(std::move(result));
}

absl::Status Dispatcher::ResultStatus(const Result& result) {
  if (!result.transport_status.ok()) return result.transport_status;
  const int status = result.response.status;
  if (status >= 200 && status < 300) return absl::OkStatus();
  return EsErrorToStatus(ParseEsError(status, result.response.body));
}

}  // namespace esgw
