// The batching half of streaming Ingest: takes encoded operations as a stream delivers them,
// cuts them into _bulk batches by size, count and a flush interval, runs up to
// max_concurrent_batches batches at once (each a BulkRunner: one _bulk request plus resends of
// items rejected for load), and reports each operation's final result exactly once.
//
// Order per document. Elasticsearch applies the writes to one document in the order of one
// _bulk request; two batches in flight at once have no order between them. So an op whose
// document (index, id, routing) has an op in a batch still running waits, and is sent after that
// batch is done; ops on other documents go past it. Ops without an id never wait: each creates
// a new document.
//
// Thread-safe; never blocks on I/O. on_result may run on several threads at once (transport,
// timer or the caller's); on_done runs once, after every on_result call has returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "esgw/v1/common.pb.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"
#include "pool/timer_queue.h"
#include "server/bulk_encoder.h"
#include "server/bulk_runner.h"

namespace esgw {

// Stream-level settings of Ingest (flags --ingest_*).
struct IngestSettings {
  // A batch that is not full goes when its oldest op has waited this long.
  absl::Duration flush_interval = absl::Milliseconds(100);
  // Batches of one stream in flight at once.
  int max_concurrent_batches = 4;
  // Bytes of ops a stream holds (received, result not yet written to the client) before the
  // server stops reading from it. The stream handler applies it; see IngestBatcher::Add.
  size_t max_buffer_bytes = 32 * 1024 * 1024;
  // Each batch, with its resends, must end within this (and within the stream's deadline).
  absl::Duration batch_timeout = absl::Seconds(30);
  // A stream that has sent no message for this long, with none of its ops in progress, is
  // ended (UNAVAILABLE) so that it no longer holds its place in the principal's stream limit;
  // zero keeps idle streams open. The stream handler applies it.
  absl::Duration idle_timeout = absl::Minutes(5);
};

// INVALID_ARGUMENT naming the setting when one is out of range: flush_interval negative or over
// a minute, max_concurrent_batches outside 1..64, max_buffer_bytes below bulk.max_batch_bytes
// (a full batch could never form), batch_timeout not positive, idle_timeout negative.
absl::Status ValidateIngestSettings(const IngestSettings& ingest, const BulkSettings& bulk);

class IngestBatcher : public std::enable_shared_from_this<IngestBatcher> {
 public:
  struct Options {
    // Not owned; each must outlive on_done.
    Dispatcher* dispatcher = nullptr;
    TimerQueue* timers = nullptr;
    const Clock* clock = &RealClock::Get();
    BulkSettings bulk = {};
    IngestSettings ingest = {};
    v1::Refresh refresh = v1::REFRESH_UNSPECIFIED;
    // The stream's deadline, in clock's monotonic time; each batch also ends within
    // ingest.batch_timeout of being cut.
    absl::Time deadline = absl::InfiniteFuture();
    // Extra headers on every _bulk request (traceparent, X-Opaque-Id).
    std::vector<std::pair<std::string, std::string>> headers = {};
    uint64_t random_seed = 0;
    // Required. An op's final result, its seq set, and the op's NDJSON size as added (for the
    // caller's accounting of what it holds).
    std::function<void(v1::BulkItemResult result, size_t op_bytes)> on_result = nullptr;
    // Once, after Close (or Cancel) when every op added has been reported.
    std::function<void()> on_done = nullptr;
  };

  // The same counters as a Bulk call's, summed over the stream's batches.
  using Stats = BulkRunner::Stats;

  // INVALID_ARGUMENT when a required option is missing or the settings are out of range.
  static absl::StatusOr<std::shared_ptr<IngestBatcher>> Create(Options options);

  // Takes all of ops or none. INVALID_ARGUMENT, naming "ops[i].seq" with i the op's index in
  // ops, when an op's seq equals that of another op in ops or of an earlier op whose result has
  // not been reported yet (the caller could not tell their results apart). FAILED_PRECONDITION
  // after Close or Cancel.
  absl::Status Add(std::vector<EncodedOp> ops);
  // No more ops: what is waiting goes at once, without the flush interval.
  void Close();
  // Stops: ops not yet sent are reported "not applied" (esgw_not_applied, status 499); batches
  // in flight are cancelled and report per BulkRunner::Cancel. Implies Close. Safe repeatedly.
  void Cancel();

  Stats stats() const;

 private:
  struct Pending {
    EncodedOp op;
    absl::Time arrived;
  };
  // A batch in flight; its documents are busy (busy_keys_) until it is done.
  struct Running {
    uint64_t id = 0;
    std::shared_ptr<BulkRunner> runner;
  };
  struct Cut {
    uint64_t id = 0;
    std::vector<EncodedOp> ops;
    absl::Time deadline;
  };

  explicit IngestBatcher(Options options);

  // Cuts and starts the batches that are due, arms the flush timer, and calls on_done when all
  // is over. Never under mu_.
  void Progress();
  std::vector<Cut> CutBatchesLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Start(Cut cut);
  // Counts results as reported and hands them to on_result, each with its op's size.
  void Deliver(std::vector<std::pair<v1::BulkItemResult, size_t>> results);
  void OnBatchDone(uint64_t id);
  void OnFlushTimer();

  const Options options_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // Ops added and not yet handed to a batch, in order.
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Something that may allow a cut changed since the last look (ops added, a batch done, the
  // flush timer, Close); saves rescanning ops that wait on busy documents.
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  // Batches cut and not done; runner is null while it is being started.
  std::vector<Running> running_ ABSL_GUARDED_BY(mu_);
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Documents with an op in a running batch: the hash of the document key, and the batch.
  absl::flat_hash_map<size_t, uint64_t> busy_keys_ ABSL_GUARDED_BY(mu_);
  // Seqs of ops added and not yet reported.
  absl::flat_hash_set<uint64_t> open_seqs_ ABSL_GUARDED_BY(mu_);
  // on_result calls under way (on_done waits for them).
  int delivering_ ABSL_GUARDED_BY(mu_) = 0;
  // The flush timer, while armed.
  TimerQueue::TaskId flush_timer_ ABSL_GUARDED_BY(mu_) = 0;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw
