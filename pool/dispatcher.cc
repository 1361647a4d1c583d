#include "pool/dispatcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pool/error_info.h"
#include "pool/es_error.h"

namespace esgw {

// The state of one request across its attempts. Owned by the pending transport callback.
struct Dispatcher::Attempt {
  HttpRequest request;
  absl::Time deadline;
  Done done;
  std::shared_ptr<Call> call;
  size_t seed_index = 0;
  bool retried_stale = false;
  int attempts = 0;
  // One entry per failed attempt, for the error message: "host:port: what happened".
  std::vector<std::string> failures;
};

void Dispatcher::Call::Cancel() {
  Transport::TransferId transfer;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    transfer = transfer_;
  }
  if (transfer != 0) transport_->Cancel(transfer);
}

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(Options options) {
  if (options.seeds.empty()) return absl::InvalidArgumentError("at least one node is needed");
  if (options.transport == nullptr) return absl::InvalidArgumentError("transport must be set");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  return std::unique_ptr<Dispatcher>(new Dispatcher(std::move(options)));
}

std::shared_ptr<Dispatcher::Call> Dispatcher::Execute(HttpRequest request, absl::Time deadline,
                                                      Done done) {
  auto attempt = std::make_shared<Attempt>();
  attempt->request = std::move(request);
  attempt->deadline = deadline;
  attempt->done = std::move(done);
  attempt->call = std::make_shared<Call>();
  attempt->call->transport_ = options_.transport;
  std::shared_ptr<Call> call = attempt->call;
  Try(std::move(attempt));
  return call;
}

void Dispatcher::Try(std::shared_ptr<Attempt> attempt) {
  const absl::Duration remaining = attempt->deadline - options_.clock->Now();
  if (remaining <= absl::ZeroDuration()) {
    Result result;
    result.attempts = attempt->attempts;
    result.transport_status = absl::DeadlineExceededError(absl::StrCat(
        "deadline exceeded after ", attempt->attempts, " attempt(s)",
        attempt->failures.empty() ? "" : ": ", absl::StrJoin(attempt->failures, "; ")));
    std::move(attempt->done)(std::move(result));
    return;
  }
  const Endpoint& node = options_.seeds[attempt->seed_index];
  HttpRequest request = attempt->request;  // kept for a possible retry
  request.timeout = remaining;
  ++attempt->attempts;
  std::shared_ptr<Call> call = attempt->call;
  const int attempt_number = attempt->attempts;
  bool cancelled;
  {
    absl::MutexLock lock(&call->mu_);
    cancelled = call->cancelled_;
  }
  if (cancelled) {
    Result result;
    result.attempts = attempt->attempts - 1;
    result.transport_status = absl::CancelledError("cancelled by the caller");
    std::move(attempt->done)(std::move(result));
    return;
  }
  // The lock is not held across Send: a transport may call back at once, on this thread.
  const Transport::TransferId id = options_.transport->Send(
      node, std::move(request), [this, attempt](HttpResponse response) mutable {
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
  // Cancel arrived between the check above and now: it saw no id, so cancel here.
  if (cancel_now) options_.transport->Cancel(id);
}

void Dispatcher::OnResponse(std::shared_ptr<Attempt> attempt, HttpResponse response) {
  const FailureClass failure_class = Classify(response);
  const std::string node = options_.seeds[attempt->seed_index].HostPort();
  if (failure_class == FailureClass::kStale && !attempt->retried_stale) {
    // The server closed an idle connection we reused; curl opens a fresh one for the retry.
    attempt->retried_stale = true;
    Try(std::move(attempt));
    return;
  }
  if (failure_class == FailureClass::kHard && attempt->seed_index + 1 < options_.seeds.size()) {
    // Nothing was sent, so any request may move on to the next seed.
    attempt->failures.push_back(absl::StrCat(node, ": ", response.error_message));
    ++attempt->seed_index;
    Try(std::move(attempt));
    return;
  }
  Result result;
  result.failure_class = failure_class;
  result.served_by = node;
  result.attempts = attempt->attempts;
  if (response.error != TransportError::kNone) {
    attempt->failures.push_back(
        absl::StrCat(node, ": ", TransportErrorName(response.error), ": ", response.error_message));
    const std::string detail = absl::StrJoin(attempt->failures, "; ");
    if (response.error == TransportError::kCancelled) {
      result.transport_status = absl::CancelledError("cancelled by the caller");
    } else if (response.error == TransportError::kTimeout &&
               options_.clock->Now() >= attempt->deadline) {
      result.transport_status = absl::DeadlineExceededError(
          absl::StrCat("deadline exceeded waiting for Elasticsearch: ", detail));
    } else {
      result.transport_status = WithErrorInfo(
          absl::UnavailableError(absl::StrCat("no Elasticsearch node answered: ", detail)),
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
