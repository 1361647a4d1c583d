#include "server/ingest_batcher.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"

namespace esgw {
namespace {

v1::BulkItemResult NotApplied(const EncodedOp& op, int http_status, absl::string_view reason) {
  return FailedItem(op.seq, op.index, op.id, http_status, "esgw_not_applied", reason);
}

}  // namespace

absl::Status ValidateIngestSettings(const IngestSettings& ingest, const BulkSettings& bulk) {
  if (ingest.flush_interval < absl::ZeroDuration() || ingest.flush_interval > absl::Minutes(1)) {
    return InvalidField("ingest_flush_interval", "must be between 0s and 1m");
  }
  if (ingest.max_concurrent_batches < 1 || ingest.max_concurrent_batches > 64) {
    return InvalidField("ingest_max_concurrent_batches", "must be between 1 and 64");
  }
  if (ingest.max_buffer_bytes < bulk.max_batch_bytes) {
    return InvalidField("ingest_max_buffer_bytes",
                        absl::StrCat("must be at least the largest _bulk request (",
                                     bulk.max_batch_bytes, " bytes), or no full batch can form"));
  }
  if (ingest.batch_timeout <= absl::ZeroDuration()) {
    return InvalidField("ingest_batch_timeout", "must be positive");
  }
  if (ingest.idle_timeout < absl::ZeroDuration()) {
    return InvalidField("ingest_idle_timeout", "must not be negative (0 turns it off)");
  }
  return absl::OkStatus();
}

IngestBatcher::IngestBatcher(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::shared_ptr<IngestBatcher>> IngestBatcher::Create(Options options) {
  if (options.dispatcher == nullptr) return absl::InvalidArgumentError("dispatcher must be set");
  if (options.timers == nullptr) return absl::InvalidArgumentError("timers must be set");
  if (options.clock == nullptr) return absl::InvalidArgumentError("clock must be set");
  if (!options.on_result) return absl::InvalidArgumentError("on_result must be set");
  if (options.bulk.max_batch_bytes == 0 || options.bulk.max_batch_ops <= 0) {
    return absl::InvalidArgumentError("max_batch_bytes and max_batch_ops must be positive");
  }
  ESGW_RETURN_IF_ERROR(ValidateIngestSettings(options.ingest, options.bulk));
  return std::shared_ptr<IngestBatcher>(new IngestBatcher(std::move(options)));
}

absl::Status IngestBatcher::Add(std::vector<EncodedOp> ops) {
  if (ops.empty()) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("the ingest stream is closed");
    // Each seq goes in once; on a repeat (of an open op, or earlier in this message) the ones
    // this message put in come out again, and the message is refused whole.
    for (size_t i = 0; i < ops.size(); ++i) {
      const uint64_t seq = ops[i].seq;
      if (!open_seqs_.insert(seq).second) {
        for (size_t j = 0; j < i; ++j) open_seqs_.erase(ops[j].seq);
        return InvalidField(
            absl::StrCat("ops[", i, "].seq"),
            absl::StrCat("seq ", seq,
                         " is already used by an op whose result is not yet reported; each op "
                         "in a stream needs its own seq to be matched with its result"));
      }
    }
    const absl::Time now = options_.clock->Now();
    for (EncodedOp& op : ops) {
      ++stats_.ops;
      stats_.bytes += static_cast<int64_t>(op.payload_bytes);
      pending_bytes_ += op.ndjson.size();
      pending_.push_back({std::move(op), now});
    }
    dirty_ = true;
  }
  Progress();
  return absl::OkStatus();
}

void IngestBatcher::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    dirty_ = true;
  }
  Progress();
}

void IngestBatcher::Cancel() {
  std::vector<std::pair<v1::BulkItemResult, size_t>> unsent;
  std::vector<std::shared_ptr<BulkRunner>> runners;
  TimerQueue::TaskId timer = 0;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    closed_ = true;
    dirty_ = true;
    unsent.reserve(pending_.size());
    for (const Pending& pending : pending_) {
      unsent.emplace_back(
          NotApplied(pending.op, 499, "not applied: the stream was cancelled before sending"),
          pending.op.ndjson.size());
    }
    pending_.clear();
    pending_bytes_ = 0;
    for (const Running& running : running_) {
      if (running.runner != nullptr) runners.push_back(running.runner);
    }
    timer = flush_timer_;
    flush_timer_ = 0;
  }
  if (timer != 0) options_.timers->Cancel(timer);
  Deliver(std::move(unsent));
  // A batch still being started is cancelled by Start, which sees cancelled_.
  for (const std::shared_ptr<BulkRunner>& runner : runners) runner->Cancel();
  Progress();
}

IngestBatcher::Stats IngestBatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void IngestBatcher::Progress() {
  std::vector<Cut> cuts;
  bool finish = false;
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) cuts = CutBatchesLocked(options_.clock->Now());
    if (closed_ && !done_ && pending_.empty() && running_.empty() && delivering_ == 0) {
      done_ = true;
      finish = true;
    }
  }
  for (Cut& cut : cuts) Start(std::move(cut));
  if (finish && options_.on_done) options_.on_done();
}

std::vector<IngestBatcher::Cut> IngestBatcher::CutBatchesLocked(absl::Time now) {
  std::vector<Cut> cuts;
  if (!dirty_) return cuts;
  const BulkSettings& limits = options_.bulk;
  while (!pending_.empty() &&
         running_.size() < static_cast<size_t>(options_.ingest.max_concurrent_batches)) {
    const bool full = pending_bytes_ >= limits.max_batch_bytes ||
                      pending_.size() >= static_cast<size_t>(limits.max_batch_ops);
    const bool due =
        closed_ || full || now >= pending_.front().arrived + options_.ingest.flush_interval;
    if (!due) break;
    // Take ops in order while they fit, passing over those whose document is busy in another
    // batch (and every later op on the same document, to keep their order). Documents are known
    // by the hash of their key: two documents whose keys collide only make one wait for the
    // other's batch, which costs time and never order.
    Cut cut;
    const uint64_t cut_id = next_batch_id_ + 1;
    size_t bytes = 0;
    absl::flat_hash_set<size_t> passed_keys;
    std::deque<Pending> rest;
    while (!pending_.empty()) {
      Pending& next = pending_.front();
      const bool keyed = !next.op.document_key.empty();
      const size_t key = keyed ? absl::Hash<absl::string_view>{}(next.op.document_key) : 0;
      bool waits = false;
      if (keyed) {
        const auto busy = busy_keys_.find(key);
        waits = (busy != busy_keys_.end() && busy->second != cut_id) || passed_keys.contains(key);
      }
      if (!waits && !FitsInBatch(bytes, cut.ops.size(), next.op.ndjson.size(), limits)) break;
      if (waits) {
        passed_keys.insert(key);
        rest.push_back(std::move(next));
      } else {
        if (keyed) busy_keys_.try_emplace(key, cut_id);
        bytes += next.op.ndjson.size();
        cut.ops.push_back(std::move(next.op));
      }
      pending_.pop_front();
    }
    // What was passed over goes back in front of what was not looked at, in order.
    pending_.insert(pending_.begin(), std::make_move_iterator(rest.begin()),
                    std::make_move_iterator(rest.end()));
    if (cut.ops.empty()) break;  // everything waits on a busy document (none was marked busy)
    pending_bytes_ -= bytes;
    cut.id = ++next_batch_id_;  // == cut_id
    cut.deadline = std::min(options_.deadline, now + options_.ingest.batch_timeout);
    ++stats_.batches;
    Running& running = running_.emplace_back();
    running.id = cut.id;
    cuts.push_back(std::move(cut));
  }
  dirty_ = false;
  // A batch that is not full waits for the flush interval of its oldest op.
  if (!pending_.empty() && !closed_ && flush_timer_ == 0) {
    const absl::Time at = pending_.front().arrived + options_.ingest.flush_interval;
    if (at > now) {
      std::weak_ptr<IngestBatcher> weak = weak_from_this();
      flush_timer_ = options_.timers->ScheduleAt(at, [weak] {
        if (std::shared_ptr<IngestBatcher> self = weak.lock()) self->OnFlushTimer();
      });
    }
  }
  return cuts;
}

void IngestBatcher::Start(Cut cut) {
  std::shared_ptr<IngestBatcher> self = shared_from_this();
  const uint64_t id = cut.id;
  std::vector<size_t> sizes;
  sizes.reserve(cut.ops.size());
  for (const EncodedOp& op : cut.ops) sizes.push_back(op.ndjson.size());
  absl::StatusOr<std::shared_ptr<BulkRunner>> runner = BulkRunner::Create({
      .dispatcher = options_.dispatcher,
      .timers = options_.timers,
      .clock = options_.clock,
      .settings = options_.bulk,
      .refresh = options_.refresh,
      .deadline = cut.deadline,
      .headers = options_.headers,
      .random_seed = options_.random_seed + id,
      .on_result =
          [self, sizes = std::move(sizes)](size_t position, v1::BulkItemResult result) {
            std::vector<std::pair<v1::BulkItemResult, size_t>> one;
            one.emplace_back(std::move(result), sizes.at(position));
            self->Deliver(std::move(one));
          },
      .on_done = [self, id] { self->OnBatchDone(id); },
  });
  if (!runner.ok()) {
    // Create validated the settings; kept so that an op is never silently lost.
    std::vector<std::pair<v1::BulkItemResult, size_t>> failed;
    for (const EncodedOp& op : cut.ops) {
      failed.emplace_back(
          NotApplied(op, 500, absl::StrCat("not applied: ", runner.status().message())),
          op.ndjson.size());
    }
    Deliver(std::move(failed));
    OnBatchDone(id);
    return;
  }
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled = cancelled_;
    for (Running& running : running_) {
      if (running.id == id) running.runner = *runner;
    }
  }
  // A fresh runner takes the ops: Add only refuses after Close or Cancel.
  (*runner)->Add(std::move(cut.ops)).IgnoreError();
  (*runner)->Close();
  if (cancelled) (*runner)->Cancel();
}

void IngestBatcher::Deliver(std::vector<std::pair<v1::BulkItemResult, size_t>> results) {
  if (results.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [result, bytes] : results) {
      open_seqs_.erase(result.seq());
      if (result.status() >= 200 && result.status() < 300) {
        ++stats_.ok;
      } else {
        ++stats_.failed;
      }
    }
    ++delivering_;
  }
  for (auto& [result, bytes] : results) options_.on_result(std::move(result), bytes);
  bool check_done;
  {
    absl::MutexLock lock(&mu_);
    --delivering_;
    check_done = delivering_ == 0 && closed_;
  }
  if (check_done) Progress();
}

void IngestBatcher::OnBatchDone(uint64_t id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(running_.begin(), running_.end(),
                           [id](const Running& running) { return running.id == id; });
    if (it != running_.end()) {
      // One pass over at most max_concurrent_batches batches' keys.
      absl::erase_if(busy_keys_, [id](const auto& busy) { return busy.second == id; });
      if (it->runner != nullptr) {
        const BulkRunner::Stats batch = it->runner->stats();
        stats_.retried += batch.retried;
        stats_.took_ms += batch.took_ms;
      }
      running_.erase(it);
    }
    dirty_ = true;
  }
  Progress();
}

void IngestBatcher::OnFlushTimer() {
  {
    absl::MutexLock lock(&mu_);
    flush_timer_ = 0;
    dirty_ = true;
  }
  Progress();
}

}  // namespace esgw
