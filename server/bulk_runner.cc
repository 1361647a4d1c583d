#include "server/bulk_runner.h"

#include <simdjson.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/bit_gen_ref.h"
#include "absl/strings/str_cat.h"
#include "pool/es_error.h"
#include "pool/utf8.h"
#include "server/es_response.h"

namespace esgw {
namespace {

constexpr char kNotApplied[] = "esgw_not_applied";
constexpr char kOutcomeUnknown[] = "esgw_outcome_unknown";

// The HTTP status an item error carries for a status that did not come from Elasticsearch.
int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;  // "client closed request", as nginx and grpc-gateway say
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string BulkPath(v1::Refresh refresh) {
  switch (refresh) {
    case v1::REFRESH_FALSE:
      return "/_bulk?refresh=false";
    case v1::REFRESH_TRUE:
      return "/_bulk?refresh=true";
    case v1::REFRESH_WAIT_FOR:
      return "/_bulk?refresh=wait_for";
    default:
      return "/_bulk";
  }
}

// Why a batch got no usable _bulk response, and whether it was certainly not applied (see the
// rule in bulk_runner.h).
struct BatchFailure {
  bool not_applied = false;
  absl::Status status;
  int http_status = 0;
  // Elasticsearch's error, when it answered with one.
  std::string es_type = "";
  std::string es_reason = "";
};

BatchFailure ClassifyFailure(const Dispatcher::Result& result) {
  BatchFailure failure;
  const HttpResponse& response = result.response;
  // The Dispatcher sets transport_status only when no HTTP response ended the request.
  const bool answered = result.transport_status.ok();
  bool last_step_not_applied = false;
  if (answered) {
    const EsError error = ParseEsError(response.status, response.body);
    failure.status = Dispatcher::ResultStatus(result);
    failure.http_status = response.status;
    failure.es_type = error.type;
    failure.es_reason = error.reason;
    last_step_not_applied = (response.status >= 400 && response.status < 500) ||
                            (response.status == 503 && IsBackpressure(error));
  } else {
    failure.status = result.transport_status;
    failure.http_status = HttpStatusFor(result.transport_status.code());
    switch (response.error) {
      case TransportError::kNone:  // the Dispatcher gave up before exchanging anything
      case TransportError::kConnectFailed:
        last_step_not_applied = true;
        break;
      case TransportError::kStaleConnection:
        // A reused connection reset before any byte of an answer: usually closed by the node
        // while idle, but a node that died after taking the request looks the same.
        last_step_not_applied = false;
        break;
      default:
        last_step_not_applied = false;
    }
  }
  // Only an idempotent batch is retried after a soft failure, which may have applied it; the
  // Dispatcher says whether that happened.
  failure.not_applied = last_step_not_applied && !result.earlier_attempt_may_have_applied;
  return failure;
}

absl::Status ParseBody(const std::string& body, std::vector<BulkItemOutcome>* items,
                       int64_t* took_ms) {
  // Transports leave simdjson's padding after the body; parse in place when it is there.
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) {
    return ParseBulkResponse(
        simdjson::padded_string_view(body.data(), body.size(), body.capacity()), items, took_ms,
        nullptr);
  }
  return ParseBulkResponse(absl::string_view(body), items, took_ms, nullptr);
}

v1::BulkItemResult ErrorResult(const EncodedOp& op, int http_status, absl::string_view type,
                               absl::string_view reason) {
  return FailedItem(op.seq, op.index, op.id, http_status, type, reason);
}

}  // namespace

// The timer task of an item retry. When the timer queue drops it unrun (shutdown), its
// destructor still tells the runner, so the waiting ops are reported.
class BulkRunner::RetryTask {
 public:
  RetryTask(std::shared_ptr<BulkRunner> runner, uint64_t token)
      : runner_(std::move(runner)), token_(token) {}
  RetryTask(RetryTask&& other) = default;
  RetryTask& operator=(RetryTask&&) = delete;
  ~RetryTask() {
    if (runner_ != nullptr) runner_->OnRetryTimer(token_, /*fired=*/false);
  }
  void operator()() && {
    std::shared_ptr<BulkRunner> runner = std::move(runner_);
    runner->OnRetryTimer(token_, /*fired=*/true);
  }

 private:
  std::shared_ptr<BulkRunner> runner_;
  uint64_t token_ = 0;
};

BulkRunner::BulkRunner(Options options)
    : options_(std::move(options)),
      backoff_(BackoffPolicy::Options{options_.settings.retry_initial, options_.settings.retry_max,
                                      0.2}),
      gen_(options_.random_seed) {}

absl::StatusOr<std::shared_ptr<BulkRunner>> BulkRunner::Create(Options options) {
  if (options.dispatcher == nullptr) return absl::InvalidArgumentError("dispatcher must be set");
  if (options.timers == nullptr) return absl::InvalidArgumentError("timers must be set");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  if (!options.on_result) return absl::InvalidArgumentError("on_result must be set");
  if (options.settings.max_batch_bytes == 0 || options.settings.max_batch_ops <= 0) {
    return absl::InvalidArgumentError("max_batch_bytes and max_batch_ops must be positive");
  }
  if (const absl::Status valid = BackoffPolicy::Validate(
          {options.settings.retry_initial, options.settings.retry_max, 0.2});
      !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bulk retry backoff: ", valid.message()));
  }
  return std::shared_ptr<BulkRunner>(new BulkRunner(std::move(options)));
}

absl::Status BulkRunner::Add(std::vector<EncodedOp> ops) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("the bulk runner is closed");
    for (EncodedOp& op : ops) {
      ++stats_.ops;
      stats_.bytes += static_cast<int64_t>(op.payload_bytes);
      Entry& entry = queue_.emplace_back();
      entry.position = next_position_++;
      entry.op = std::move(op);
    }
  }
  Drive();
  return absl::OkStatus();
}

void BulkRunner::Close() {
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  Drive();
}

void BulkRunner::Cancel() {
  TimerQueue::TaskId timer = 0;
  std::shared_ptr<Dispatcher::Call> call;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    closed_ = true;
    const absl::Status cancelled = absl::CancelledError("cancelled by the caller");
    for (Entry& entry : queue_) NotAppliedLocked(entry, cancelled, 499, "cancelled before sending");
    queue_.clear();
    if (phase_ == Phase::kWaiting || retry_ready_) {
      for (Entry& entry : retry_) {
        NotAppliedLocked(entry, cancelled, 499,
                         absl::StrCat("cancelled while waiting to resend after a rejection (",
                                      entry.last.error().type(), ")"));
      }
      retry_.clear();
      ++retry_token_;  // the timer, if it still runs, does nothing
      timer = retry_timer_;
      retry_timer_ = 0;
      retry_ready_ = false;
      phase_ = Phase::kIdle;
    }
    call = call_;
  }
  // Outside the lock: a cancelled timer task is destroyed here and calls OnRetryTimer, and a
  // cancelled call may report on this thread.
  if (timer != 0) options_.timers->Cancel(timer);
  if (call != nullptr) call->Cancel();
  Drive();
}

absl::Status BulkRunner::request_failure() const {
  absl::MutexLock lock(&mu_);
  if (reported_ == 0 || !all_not_applied_) return absl::OkStatus();
  return first_failure_;
}

BulkRunner::Stats BulkRunner::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void BulkRunner::Drive() {
  {
    absl::MutexLock lock(&mu_);
    if (driving_) return;  // that thread sees our change when it next takes the lock
    driving_ = true;
  }
  while (true) {
    std::vector<Report> reports;
    std::optional<Send> send;
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      reports.swap(outbox_);
      if (reports.empty()) {
        send = NextSendLocked();
        if (!send.has_value()) {
          finish = closed_ && !done_ && queue_.empty() && retry_.empty() && !retry_ready_ &&
                   phase_ == Phase::kIdle;
          if (!finish) {
            driving_ = false;
            return;
          }
          done_ = true;
        }
      }
    }
    for (Report& report : reports) options_.on_result(report.position, std::move(report.result));
    if (finish) {
      if (options_.on_done) options_.on_done();
      absl::MutexLock lock(&mu_);
      driving_ = false;
      return;
    }
    if (send.has_value()) {
      const uint64_t batch_id = send->batch_id;
      const bool idempotent = send->idempotent;
      std::shared_ptr<BulkRunner> self = shared_from_this();
      // May report at once, on this thread: OnBatchDone then finds us driving and returns.
      std::shared_ptr<Dispatcher::Call> call =
          options_.dispatcher->Execute(std::move(send->request), idempotent, options_.deadline,
                                       [self, batch_id](Dispatcher::Result result) {
                                         self->OnBatchDone(batch_id, std::move(result));
                                       });
      bool cancel_now = false;
      {
        absl::MutexLock lock(&mu_);
        if (phase_ == Phase::kSending && batch_id_ == batch_id) {
          call_ = call;
          // Cancel came while Execute ran and found no call to cancel.
          cancel_now = cancelled_;
        }
      }
      if (cancel_now) call->Cancel();
    }
  }
}

std::optional<BulkRunner::Send> BulkRunner::NextSendLocked() {
  if (cancelled_ || phase_ != Phase::kIdle) return std::nullopt;
  if (retry_ready_) {
    // Only the rejected items, in their original order, before anything added later.
    batch_ = std::move(retry_);
    retry_.clear();
    retry_ready_ = false;
  } else {
    if (queue_.empty()) return std::nullopt;
    batch_.clear();
    size_t bytes = 0;
    while (!queue_.empty() &&
           FitsInBatch(bytes, batch_.size(), queue_.front().op.ndjson.size(), options_.settings)) {
      bytes += queue_.front().op.ndjson.size();
      batch_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  phase_ = Phase::kSending;
  ++stats_.batches;
  Send send;
  send.batch_id = ++batch_id_;
  size_t bytes = 0;
  for (const Entry& entry : batch_) bytes += entry.op.ndjson.size();
  send.request.body.reserve(bytes);
  send.idempotent = true;
  for (const Entry& entry : batch_) {
    send.request.body.append(entry.op.ndjson);
    send.idempotent = send.idempotent && IsIdempotentOp(entry.op);
  }
  send.request.method = HttpMethod::kPost;
  send.request.path = BulkPath(options_.refresh);
  send.request.content_type = "application/x-ndjson";
  send.request.headers = options_.headers;
  return send;
}

void BulkRunner::OnBatchDone(uint64_t batch_id, Dispatcher::Result result) {
  const HttpResponse& response = result.response;
  const bool answered_2xx =
      result.transport_status.ok() && response.status >= 200 && response.status < 300;
  // Parse before taking the lock: bodies can be megabytes.
  std::vector<BulkItemOutcome> items;
  int64_t took_ms = 0;
  absl::Status parsed = absl::OkStatus();
  if (answered_2xx) parsed = ParseBody(response.body, &items, &took_ms);

  std::optional<uint64_t> retry_token;
  absl::Duration retry_delay;
  {
    absl::MutexLock lock(&mu_);
    if (phase_ != Phase::kSending || batch_id != batch_id_) return;  // cannot happen
    phase_ = Phase::kIdle;
    call_.reset();
    std::vector<Entry> batch = std::move(batch_);
    batch_.clear();
    for (Entry& entry : batch) {
      entry.attempts += result.attempts;
      if (result.earlier_attempt_may_have_applied) entry.may_have_applied = true;
    }

    if (!answered_2xx) {
      const BatchFailure failure = ClassifyFailure(result);
      const std::string reason =
          failure.not_applied ? absl::StrCat("not applied: ", failure.status.message())
                              : absl::StrCat("outcome unknown, the request may have been applied: ",
                                             failure.status.message());
      for (Entry& entry : batch) {
        v1::BulkItemResult item =
            ErrorResult(entry.op, failure.http_status,
                        failure.not_applied ? kNotApplied : kOutcomeUnknown, reason);
        item.mutable_error()->set_caused_by_type(failure.es_type);
        item.mutable_error()->set_caused_by_reason(failure.es_reason);
        ReportLocked(entry, std::move(item),
                     failure.not_applied ? failure.status : absl::OkStatus());
      }
    } else {
      absl::Status usable = parsed;
      if (usable.ok() && items.size() != batch.size()) {
        usable = absl::InternalError(absl::StrCat("elasticsearch answered ", items.size(),
                                                  " bulk items for ", batch.size(), " operations"));
      }
      for (size_t i = 0; usable.ok() && i < items.size(); ++i) {
        if (items[i].op != BulkActionName(batch[i].op.type)) {
          usable = absl::InternalError(absl::StrCat(
              "elasticsearch answered bulk item ", i, " as \"", BoundedUtf8(items[i].op, 64),
              "\" for a ", BulkActionName(batch[i].op.type), " operation"));
        }
      }
      if (!usable.ok()) {
        const std::string reason =
            absl::StrCat("outcome unknown, the request may have been applied: ", usable.message());
        for (Entry& entry : batch) {
          ReportLocked(entry, ErrorResult(entry.op, 500, kOutcomeUnknown, reason),
                       absl::OkStatus());
        }
      } else {
        stats_.took_ms += took_ms;
        retry_token = ApplyItemsLocked(std::move(batch), std::move(items), &retry_delay);
      }
    }
  }
  if (retry_token.has_value()) ScheduleRetry(*retry_token, retry_delay);
  Drive();
}

std::optional<uint64_t> BulkRunner::ApplyItemsLocked(std::vector<Entry> batch,
                                                     std::vector<BulkItemOutcome> items,
                                                     absl::Duration* delay) {
  // Elasticsearch applies the ops on one document in request order. Resending a rejected op
  // after a later op on the same document was applied would turn that order around, so such an
  // op stays rejected. "Applied" is any answer but a rejection for load: even a failed later
  // op (e.g. a delete that found nothing) was executed in the wrong order otherwise.
  const size_t n = batch.size();
  std::vector<bool> blocked(n, false);
  {
    absl::flat_hash_set<absl::string_view> executed_later;
    for (size_t i = n; i-- > 0;) {
      const std::string& key = batch[i].op.document_key;
      if (key.empty()) continue;
      if (!items[i].backpressure) {
        executed_later.insert(key);
      } else if (executed_later.contains(key)) {
        blocked[i] = true;
      }
    }
  }

  std::vector<Entry> again;
  for (size_t i = 0; i < n; ++i) {
    Entry& entry = batch[i];
    v1::BulkItemResult result = std::move(items[i].result);
    if (result.index().empty()) result.set_index(entry.op.index);
    if (result.id().empty()) result.set_id(entry.op.id);
    if (!items[i].backpressure) {
      ReportLocked(entry, std::move(result), absl::OkStatus());
    } else if (blocked[i]) {
      result.mutable_error()->set_reason(BoundedUtf8(
          absl::StrCat(result.error().reason(),
                       " [esgw did not resend: a later operation on the same document in this "
                       "batch was already executed, and resending would reorder the writes to "
                       "it]"),
          kMaxItemReasonBytes));
      ReportLocked(entry, std::move(result), absl::OkStatus());
    } else if (cancelled_) {
      NotAppliedLocked(entry, absl::CancelledError("cancelled by the caller"), 499,
                       absl::StrCat("cancelled before resending after a rejection (",
                                    result.error().type(), ")"));
    } else {
      entry.last = std::move(result);
      again.push_back(std::move(entry));
    }
  }
  if (again.empty()) {
    retry_round_ = 0;
    return std::nullopt;
  }
  *delay = backoff_.Delay(++retry_round_, absl::BitGenRef(gen_));
  if (options_.clock->Now() + *delay >= options_.deadline) {
    // No time to wait and resend: the last rejection is the answer.
    for (Entry& entry : again) ReportLocked(entry, std::move(entry.last), absl::OkStatus());
    retry_round_ = 0;
    return std::nullopt;
  }
  retry_ = std::move(again);
  phase_ = Phase::kWaiting;
  return ++retry_token_;
}

void BulkRunner::ScheduleRetry(uint64_t token, absl::Duration delay) {
  // Not under mu_: a queue that has stopped destroys the task at once, which calls back.
  const TimerQueue::TaskId id =
      options_.timers->ScheduleAfter(delay, RetryTask(shared_from_this(), token));
  if (id == 0) return;  // dropped: the task's destructor has reported
  bool stale;
  {
    absl::MutexLock lock(&mu_);
    stale = token != retry_token_ || phase_ != Phase::kWaiting;
    if (!stale) retry_timer_ = id;
  }
  // Cancel came before we could record the timer; it has reported the ops already.
  if (stale) options_.timers->Cancel(id);
}

void BulkRunner::OnRetryTimer(uint64_t token, bool fired) {
  {
    absl::MutexLock lock(&mu_);
    if (token != retry_token_ || phase_ != Phase::kWaiting) return;
    retry_timer_ = 0;
    phase_ = Phase::kIdle;
    if (fired && !cancelled_) {
      retry_ready_ = true;
    } else {
      for (Entry& entry : retry_) {
        NotAppliedLocked(
            entry, absl::UnavailableError("esgw is shutting down"), 503,
            absl::StrCat("not resent after a rejection (", entry.last.error().type(), ")"));
      }
      retry_.clear();
    }
  }
  Drive();
}

void BulkRunner::ReportLocked(Entry& entry, v1::BulkItemResult result,
                              absl::Status request_failure) {
  const bool failed = result.status() < 200 || result.status() >= 300;
  const bool rejected_for_load =
      result.status() == 429 || result.error().type() == "es_rejected_execution_exception";
  // A conflict (a create whose id exists, a stale if_seq_no) may be with what an earlier send of
  // this very op wrote.
  const bool conflict = result.status() == 409;
  if (entry.may_have_applied && failed &&
      (result.error().type() == kNotApplied || rejected_for_load || conflict)) {
    // This send applied nothing, but an earlier one may have.
    v1::BulkItemResult unknown = ErrorResult(
        entry.op, result.status(), kOutcomeUnknown,
        BoundedUtf8(absl::StrCat("outcome unknown, an earlier send of this operation may have "
                                 "applied it; the last one was refused: ",
                                 result.error().type(), ": ", result.error().reason()),
                    kMaxItemReasonBytes));
    unknown.mutable_error()->set_caused_by_type(result.error().type());
    unknown.mutable_error()->set_caused_by_reason(result.error().reason());
    if (!result.index().empty()) unknown.set_index(result.index());
    if (!result.id().empty()) unknown.set_id(result.id());
    result = std::move(unknown);
    request_failure = absl::OkStatus();
  }
  result.set_seq(entry.op.seq);
  result.set_attempts(entry.attempts);
  if (entry.attempts > 1) ++stats_.retried;
  if (result.status() >= 200 && result.status() < 300) {
    ++stats_.ok;
  } else {
    ++stats_.failed;
  }
  if (request_failure.ok()) {
    all_not_applied_ = false;
  } else if (first_failure_.ok()) {
    first_failure_ = request_failure;
  }
  ++reported_;
  outbox_.push_back({entry.position, std::move(result)});
}

void BulkRunner::NotAppliedLocked(Entry& entry, const absl::Status& status, int http_status,
                                  absl::string_view why) {
  ReportLocked(entry,
               ErrorResult(entry.op, http_status, kNotApplied,
                           absl::StrCat("not applied: ", why, ": ", status.message())),
               status);
}

}  // namespace esgw
