#include "server/ingest_call.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"
#include "pool/utf8.h"
#include "server/grpc_status.h"
#include "server/validation.h"

namespace esgw {
namespace {

// Results per IngestResponse: a few hundred kilobytes at most, well under a client's default
// 4 MiB receive limit even when every result carries a long error reason.
constexpr int kMaxResultsPerMessage = 500;

using IngestReactor = grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>;

// Why a message of the stream did not parse, from what the parser left of it: the string field
// that is not UTF-8 when it got that far ("ops[2].id"), else that the bytes are not an
// IngestRequest at all.
absl::Status UnparsedMessageError(const v1::IngestRequest& partial) {
  constexpr absl::string_view kEnd =
      "; the message could not be parsed, so the stream ends here, after the results of the ops "
      "accepted before it";
  std::string field;
  if (!IsUtf8(partial.index())) field = "index";
  if (field.empty() && !IsUtf8(partial.pipeline())) field = "pipeline";
  for (int i = 0; field.empty() && i < partial.ops_size(); ++i) {
    const v1::BulkOp& op = partial.ops(i);
    for (const auto& [name, value] :
         {std::pair<absl::string_view, const std::string*>{"index", &op.index()},
          {"id", &op.id()},
          {"routing", &op.routing()},
          {"source_json", &op.source_json()},
          {"pipeline", &op.pipeline()}}) {
      if (IsUtf8(*value)) continue;
      field = absl::StrCat("ops[", i, "].", name);
      break;
    }
  }
  if (field.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a message is not a well-formed esgw.v1.IngestRequest", kEnd));
  }
  return InvalidField(field, absl::StrCat("must be valid UTF-8, as every proto3 string", kEnd));
}

class IngestCall final : public IngestReactor, public IngestStreams::Stream {
 public:
  IngestCall(grpc::CallbackServerContext* context, const IngestCallOptions& options,
             AccessControl::Admission admission)
      : context_(context), options_(options), admission_(std::move(admission)) {
    HttpRequest headers;
    ForwardCallHeaders(context, options.opaque_id, &headers);
    headers_ = std::move(headers.headers);
    const auto client_deadline = context->deadline();
    if (client_deadline != std::chrono::system_clock::time_point::max()) {
      const absl::Duration remaining =
          absl::FromChrono(client_deadline - std::chrono::system_clock::now());
      deadline_ = options.clock->Now() + std::max(remaining, absl::ZeroDuration());
    }
    // Registered before the first read, so that OnDone (which deregisters) cannot run before
    // Add. A stream that starts while shutdown drains is finished in Add, and never read.
    if (options_.streams != nullptr) options_.streams->Add(this);
    if (options_.ingest.idle_timeout > absl::ZeroDuration() && options_.timers != nullptr) {
      idle_guard_ = std::make_shared<IdleGuard>();
      absl::MutexLock guard_lock(&idle_guard_->mu);
      idle_guard_->call = this;
    }
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    last_activity_at_ = options_.clock->Now();
    ScheduleIdleCheckLocked(last_activity_at_ + options_.ingest.idle_timeout);
    reading_ = true;
    // Under mu_, so that a drain from another thread cannot finish the call before its first
    // read is started (a read started after Finish could outlive the reactor). gRPC never runs
    // a server reaction inline from StartRead, so OnReadDone cannot deadlock on mu_ here.
    StartRead(&request_);
  }

  void Drain() override {
    {
      absl::MutexLock lock(&mu_);
      if (half_closed_ || cancelled_ || !error_.ok() || finished_) return;
      draining_ = true;
      StreamErrorLocked(absl::UnavailableError(
          "esgw is shutting down: every op read before the shutdown has its result in this "
          "stream; ops without a result were not sent to Elasticsearch, resend them to another "
          "replica"));
    }
    MaybeWrite();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::shared_ptr<IngestBatcher> batcher;
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        // A read also fails when the call is cancelled; OnCancel handles that. gRPC also fails
        // a read, exactly as at the client's half-close, when a message does not parse (a
        // string that is not UTF-8): only then is part of a message left in request_, which
        // every read starts with empty.
        if (!cancelled_ && !context_->IsCancelled() && request_.ByteSizeLong() > 0) {
          StreamErrorLocked(UnparsedMessageError(request_));
          request_.Clear();
        } else {
          if (!cancelled_ && !context_->IsCancelled()) half_closed_ = true;
          batcher = batcher_;
          if (batcher == nullptr) batcher_done_ = true;
        }
      }
      if (batcher != nullptr) batcher->Close();
      MaybeWrite();
      return;
    }
    const bool read_more = Accept();
    if (read_more) StartRead(&request_);
    MaybeWrite();
  }

  void OnWriteDone(bool ok) override {
    bool read_more = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      last_activity_at_ = options_.clock->Now();
      ReleaseLocked(writing_bytes_);
      writing_bytes_ = 0;
      // A failed write means the client is gone; OnCancel follows.
      if (!ok) cancelled_ = true;
      read_more = ResumeReadingLocked();
    }
    if (read_more) StartRead(&request_);
    MaybeWrite();
  }

  void OnCancel() override {
    std::shared_ptr<IngestBatcher> batcher;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      batcher = batcher_;
      if (batcher == nullptr) batcher_done_ = true;
    }
    if (batcher != nullptr) batcher->Cancel();
    MaybeWrite();
  }

  void OnDone() override {
    if (options_.streams != nullptr) {
      // A cancelled stream drops what it held without writing results.
      {
        absl::MutexLock lock(&mu_);
        ReleaseLocked(buffered_bytes_);
      }
      options_.streams->Remove(this);
    }
    if (idle_guard_ != nullptr) {
      {
        absl::MutexLock lock(&idle_guard_->mu);
        idle_guard_->call = nullptr;
      }
      TimerQueue::TaskId timer;
      {
        absl::MutexLock lock(&mu_);
        timer = idle_timer_;
      }
      if (timer != 0) options_.timers->Cancel(timer);
    }
    delete this;
  }

 private:
  // Reaches the call from the timer queue: OnDone empties it before the call is deleted, and a
  // check that fires later finds nothing. Locked before mu_.
  struct IdleGuard {
    absl::Mutex mu;
    IngestCall* call ABSL_GUARDED_BY(mu) = nullptr;
  };

  void ScheduleIdleCheckLocked(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (idle_guard_ == nullptr) return;
    idle_timer_ = options_.timers->ScheduleAt(when, [guard = idle_guard_] {
      absl::MutexLock lock(&guard->mu);
      if (guard->call != nullptr) guard->call->OnIdleCheck();
    });
  }

  // On the timer thread: ends the stream once it has been idle for ingest.idle_timeout - no
  // message read and no result written for that long, and none of its ops in progress (those
  // are bounded by the batch timeout, and by the client reading its results). Otherwise checks
  // again when it could be.
  void OnIdleCheck() {
    {
      absl::MutexLock lock(&mu_);
      idle_timer_ = 0;
      if (finished_ || cancelled_ || half_closed_ || draining_ || !error_.ok()) return;
      const absl::Time now = options_.clock->Now();
      const absl::Duration limit = options_.ingest.idle_timeout;
      const bool in_progress = buffered_bytes_ > 0 || !outbox_.empty() || writing_;
      if (in_progress || now - last_activity_at_ < limit) {
        const absl::Time next = last_activity_at_ + limit;
        ScheduleIdleCheckLocked(next > now ? next : now + limit);
        return;
      }
      // As in a drain: read no more, end once everything read is reported (it all is).
      draining_ = true;
      StreamErrorLocked(WithErrorInfo(
          absl::UnavailableError(absl::StrCat(
              "the Ingest stream sent no message for ", absl::FormatDuration(limit),
              " (ingest_idle_timeout) and had no op in progress, so it is closed; every op it "
              "sent has its result: open a new stream to send more")),
          {"IDLE_TIMEOUT", {{"limit", "ingest_idle_timeout"}}}));
    }
    MaybeWrite();
  }

  // Takes request_'s ops; returns whether to read the next message now.
  bool Accept() {
    const absl::Time now = options_.clock->Now();
    std::shared_ptr<IngestBatcher> batcher;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      last_activity_at_ = now;
      // A message that arrives while draining is not taken: its ops get no result.
      if (cancelled_ || draining_) return false;
      if (options_.max_message_bytes > 0) {
        if (absl::Status size = CheckRequestSize(
                request_.ByteSizeLong(), options_.max_message_bytes, "max_bulk_request_bytes");
            !size.ok()) {
          StreamErrorLocked(size);
          return false;
        }
      }
      if (!got_first_) {
        got_first_ = true;
        first_message_at_ = now;
        absl::Status created = CreateBatcherLocked();
        if (!created.ok()) {
          StreamErrorLocked(created);
          return false;
        }
      } else if (!request_.index().empty() || !request_.pipeline().empty() ||
                 request_.refresh() != v1::REFRESH_UNSPECIFIED) {
        const char* field = !request_.index().empty()      ? "index"
                            : !request_.pipeline().empty() ? "pipeline"
                                                           : "refresh";
        StreamErrorLocked(
            InvalidField(field,
                         "is read from the first message of a stream only; later messages must "
                         "leave it unset"));
        return false;
      }
      batcher = batcher_;
    }

    // Encode outside the lock: JSON validation of large sources takes a while.
    std::vector<EncodedOp> valid;
    std::vector<v1::BulkItemResult> invalid;
    valid.reserve(request_.ops_size());
    int64_t invalid_bytes = 0;
    const bool check_indices = options_.access != nullptr && !admission_.all_indices();
    for (int i = 0; i < request_.ops_size(); ++i) {
      const v1::BulkOp& op = request_.ops(i);
      absl::StatusOr<EncodedOp> encoded = EncodeBulkOp(op, defaults_, absl::StrCat("ops[", i, "]"));
      if (encoded.ok() && check_indices) {
        // Audited once per index in a row, not once per op.
        const absl::Status allowed =
            options_.access->CheckIndex(admission_, absl::StrCat("ops[", i, "].index"),
                                        encoded->index, encoded->index != last_denied_index_);
        if (!allowed.ok()) {
          last_denied_index_ = encoded->index;
          invalid.push_back(FailedItem(op.seq(), encoded->index, encoded->id, 403,
                                       "security_exception", allowed.message()));
          invalid_bytes += static_cast<int64_t>(op.source_json().size());
          continue;
        }
      }
      if (encoded.ok()) {
        valid.push_back(*std::move(encoded));
        continue;
      }
      invalid.push_back(FailedItem(op.seq(), op.index().empty() ? defaults_.index : op.index(),
                                   BoundedUtf8(op.id(), 512), 400, "esgw_invalid_op",
                                   encoded.status().message()));
      invalid_bytes += static_cast<int64_t>(op.source_json().size());
    }
    size_t added_bytes = 0;
    for (const EncodedOp& op : valid) added_bytes += op.ndjson.size();
    request_.Clear();

    // Counted before Add: results may come back while Add is still running.
    {
      absl::MutexLock lock(&mu_);
      buffered_bytes_ += added_bytes;
      if (options_.streams != nullptr) {
        options_.streams->AddBufferedBytes(static_cast<int64_t>(added_bytes));
      }
    }
    const absl::Status added = batcher->Add(std::move(valid));

    absl::MutexLock lock(&mu_);
    if (!added.ok()) {
      // Refused whole: none of its ops is in the batcher.
      ReleaseLocked(added_bytes);
      StreamErrorLocked(added.code() == absl::StatusCode::kInvalidArgument
                            ? added
                            : absl::CancelledError("the stream was cancelled"));
      return false;
    }
    invalid_ops_ += static_cast<int64_t>(invalid.size());
    invalid_bytes_ += invalid_bytes;
    for (v1::BulkItemResult& result : invalid) outbox_.push_back({std::move(result), 0});
    if (!error_.ok() || cancelled_) return false;
    if (buffered_bytes_ >= options_.ingest.max_buffer_bytes) {
      read_paused_ = true;
      if (options_.streams != nullptr) options_.streams->CountReadPause();
      return false;
    }
    reading_ = true;
    return true;
  }

  absl::Status CreateBatcherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_.index().empty()) {
      ESGW_RETURN_IF_ERROR(ValidateIndexName(request_.index(), IndexUse::kWrite, "index"));
    }
    if (!request_.pipeline().empty()) {
      ESGW_RETURN_IF_ERROR(ValidateParamValue(request_.pipeline(), "pipeline"));
    }
    if (!v1::Refresh_IsValid(request_.refresh())) {
      return InvalidField("refresh", absl::StrCat("unknown value ", request_.refresh(),
                                                  "; must be REFRESH_UNSPECIFIED, REFRESH_FALSE, "
                                                  "REFRESH_TRUE or REFRESH_WAIT_FOR"));
    }
    defaults_.index = request_.index();
    defaults_.pipeline = request_.pipeline();
    thread_local std::mt19937_64 seeds{std::random_device{}()};
    ESGW_ASSIGN_OR_RETURN(
        batcher_,
        IngestBatcher::Create({
            .dispatcher = options_.dispatcher,
            .timers = options_.timers,
            .clock = options_.clock,
            .bulk = options_.bulk,
            .ingest = options_.ingest,
            .refresh = request_.refresh(),
            .deadline = deadline_,
            .headers = headers_,
            .random_seed = seeds(),
            .on_result = [this](v1::BulkItemResult result,
                                size_t op_bytes) { OnResult(std::move(result), op_bytes); },
            .on_done = [this] { OnBatcherDone(); },
        }));
    return absl::OkStatus();
  }

  // Ends the stream with status once what was accepted is reported; reads no more.
  void StreamErrorLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (error_.ok()) error_ = ToGrpcStatus(status);
    if (batcher_ == nullptr) {
      batcher_done_ = true;
    } else {
      closing_ = true;
    }
  }

  // The results of ops holding `bytes` are written (or will never be).
  void ReleaseLocked(size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bytes = std::min(buffered_bytes_, bytes);
    buffered_bytes_ -= bytes;
    if (options_.streams != nullptr)
      options_.streams->AddBufferedBytes(-static_cast<int64_t>(bytes));
  }

  bool ResumeReadingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!read_paused_ || cancelled_ || !error_.ok() ||
        buffered_bytes_ >= options_.ingest.max_buffer_bytes) {
      return false;
    }
    read_paused_ = false;
    reading_ = true;
    return true;
  }

  void OnResult(v1::BulkItemResult result, size_t op_bytes) {
    {
      absl::MutexLock lock(&mu_);
      outbox_.push_back({std::move(result), op_bytes});
    }
    MaybeWrite();
  }

  void OnBatcherDone() {
    {
      absl::MutexLock lock(&mu_);
      batcher_done_ = true;
    }
    MaybeWrite();
  }

  // Writes queued results, or ends the call when everything is over. Never under mu_.
  void MaybeWrite() {
    enum class Next { kNothing, kWrite, kCloseBatcher, kSummary, kFinish } next = Next::kNothing;
    grpc::Status status;
    std::shared_ptr<IngestBatcher> batcher;
    {
      absl::MutexLock lock(&mu_);
      if (closing_) {
        closing_ = false;
        batcher = batcher_;
        next = Next::kCloseBatcher;
      } else if (finished_ || writing_) {
        return;
      } else if (cancelled_) {
        outbox_.clear();
        if (!batcher_done_ || reading_) return;
        finished_ = true;
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the Ingest stream was cancelled");
        next = Next::kFinish;
      } else if (!outbox_.empty()) {
        response_.Clear();
        const size_t n = std::min(outbox_.size(), static_cast<size_t>(kMaxResultsPerMessage));
        size_t bytes = 0;
        for (size_t i = 0; i < n; ++i) {
          bytes += outbox_[i].op_bytes;
          *response_.add_results() = std::move(outbox_[i].result);
        }
        outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<ptrdiff_t>(n));
        writing_ = true;
        writing_bytes_ = bytes;
        next = Next::kWrite;
      } else if (batcher_done_ && (!reading_ || draining_) && (half_closed_ || !error_.ok())) {
        // Draining: a read may still be outstanding (the client sends nothing); finishing
        // completes it with !ok. Its message, if one comes, is not taken.
        finished_ = true;
        if (!error_.ok()) {
          status = error_;
          next = Next::kFinish;
        } else {
          FillSummaryLocked();
          next = Next::kSummary;
        }
      }
    }
    switch (next) {
      case Next::kNothing:
        return;
      case Next::kCloseBatcher:
        batcher->Close();
        MaybeWrite();
        return;
      case Next::kWrite:
        StartWrite(&response_);
        return;
      case Next::kSummary:
        admission_.Release();
        StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
        return;
      case Next::kFinish:
        admission_.Release();
        Finish(status);
        return;
    }
  }

  void FillSummaryLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const IngestBatcher::Stats stats =
        batcher_ != nullptr ? batcher_->stats() : IngestBatcher::Stats{};
    response_.Clear();
    v1::IngestSummary* summary = response_.mutable_summary();
    summary->set_ops(stats.ops + invalid_ops_);
    summary->set_ok(stats.ok);
    summary->set_failed(stats.failed + invalid_ops_);
    summary->set_retried(stats.retried);
    summary->set_bytes(stats.bytes + invalid_bytes_);
    if (got_first_) {
      summary->set_elapsed_ms(absl::ToInt64Milliseconds(options_.clock->Now() - first_message_at_));
    }
  }

  grpc::CallbackServerContext* const context_;
  const IngestCallOptions options_;
  std::vector<std::pair<std::string, std::string>> headers_;
  absl::Time deadline_ = absl::InfiniteFuture();
  // Holds the stream's place in its principal's limits until the call finishes. Released (its
  // counters only) by the one path that finishes; the reading side reads only the principal.
  AccessControl::Admission admission_;
  // Only the reading side touches these, one read at a time.
  v1::IngestRequest request_;
  BulkDefaults defaults_;
  std::string last_denied_index_;

  // Set when ingest.idle_timeout is on; see IdleGuard.
  std::shared_ptr<IdleGuard> idle_guard_;
  absl::Mutex mu_;
  // The last message read or result written, and the idle check on the timer queue.
  absl::Time last_activity_at_ ABSL_GUARDED_BY(mu_);
  TimerQueue::TaskId idle_timer_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<IngestBatcher> batcher_ ABSL_GUARDED_BY(mu_);
  bool got_first_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time first_message_at_ ABSL_GUARDED_BY(mu_);
  // A read is outstanding (or its message is being taken in).
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // Reading stopped because the buffer is full.
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool half_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // Shutdown: read no more, finish once what was read is reported.
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  // The batcher must be closed (after a stream error), outside the lock.
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool batcher_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status error_ ABSL_GUARDED_BY(mu_);
  // Results waiting to be written, each with the bytes its op holds in buffered_bytes_.
  struct Outgoing {
    v1::BulkItemResult result;
    size_t op_bytes = 0;
  };
  std::vector<Outgoing> outbox_ ABSL_GUARDED_BY(mu_);
  // Bytes of the ops read whose results are not yet written.
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Released when the write in flight is done.
  size_t writing_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t invalid_ops_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t invalid_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  v1::IngestResponse response_;
};

}  // namespace

void IngestStreams::Add(Stream* stream) {
  bool drain;
  {
    absl::MutexLock lock(&mu_);
    streams_.insert(stream);
    drain = draining_;
  }
  if (drain) stream->Drain();
}

void IngestStreams::Remove(Stream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

IngestStreams::Totals IngestStreams::totals() const {
  Totals totals{.buffered_bytes = buffered_bytes_.load(), .read_pauses = read_pauses_.load()};
  absl::MutexLock lock(&mu_);
  totals.streams = static_cast<int64_t>(streams_.size());
  return totals;
}

void IngestStreams::DrainAll() {
  // Under mu_, so that no stream is removed (and deleted) while it is being drained.
  absl::MutexLock lock(&mu_);
  draining_ = true;
  for (Stream* stream : streams_) stream->Drain();
}

IngestReactor* StartIngest(grpc::CallbackServerContext* context, const IngestCallOptions& options,
                           AccessControl::Admission admission) {
  return new IngestCall(context, options, std::move(admission));
}

}  // namespace esgw
