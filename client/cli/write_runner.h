// WriteRunner: the engine of esgw-cli bulk and ingest. Reads ops (OpReader) and writes them
// through esgw, either as Gateway/Bulk calls of bounded batches, one after another, or over one
// Gateway/Ingest stream (a writer feeding ops while a reader thread takes results). Every op ends
// exactly once as ok or failed; failed ones go to the FailedItemWriter (when there is one) and
// into a tally by reason for the summary. An op that cannot be sent as read fails locally; an
// op whose call or stream failed before esgw reported it fails with that error.
// After a failed call (bulk) or a broken stream (ingest) the runner stops reading input.
// Thread-compatible: one Run at a time; it starts and joins its own reader thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/cancel_token.h"
#include "client/cli/failed_items.h"
#include "client/cli/op_reader.h"
#include "client/cli/progress.h"
#include "client/esgw_client.h"

namespace esgw::cli {

class WriteRunner {
 public:
  struct Settings {
    // Ingest (one stream) or Bulk (batches).
    bool stream = false;
    // Defaults of every call (index, pipeline, refresh).
    client::IngestStream::Defaults defaults;
    // Bulk: a batch closes at this many ops or bytes of documents.
    int64_t batch_ops = 1000;
    int64_t batch_bytes = 5 << 20;
    // Ingest: ops per stream message at most (a message also ends at 1 MiB, and whenever the
    // input has nothing more buffered, so that slow input is not held back).
    int64_t message_ops = 500;
  };

  // Failures that share an HTTP status and error type, with the first one as an example.
  struct FailureGroup {
    int64_t count = 0;
    std::string example_reason;
    std::string example_where;
  };

  struct Result {
    int64_t ops = 0;  // ops read
    int64_t ok = 0;
    int64_t failed = 0;
    int64_t retried = 0;  // ok or failed after more than one attempt
    int64_t bytes = 0;    // input bytes of the ops read
    absl::Duration elapsed;
    // Why the run stopped early: the failed call or stream (CANCELLED after Ctrl-C), or a
    // broken input (OpReader::status()).
    absl::Status call_status;
    absl::Status input_status;
    // Where reading stopped when the run stopped early ("data.ndjson:5001"), else empty. The
    // input after it was not read; every op read before is ok or failed.
    std::string stopped_at;
    // Keyed "429 es_rejected_execution_exception".
    std::map<std::string, FailureGroup> failures;
  };

  // Nothing is owned; failed and cancel may be null. Each must outlive Run.
  WriteRunner(client::Client* client, LineReader* lines, OpReader* reader, FailedItemWriter* failed,
              Progress* progress, client::CancelToken* cancel, Settings settings)
      : client_(client),
        lines_(lines),
        reader_(reader),
        failed_writer_(failed),
        progress_(progress),
        cancel_(cancel),
        settings_(std::move(settings)) {}

  Result Run();

 private:
  void RunBulk();
  void RunIngest();
  // Records one op's final outcome.
  void Ok(bool retried);
  void Failed(const v1::BulkOp& op, const ItemError& error, const std::string& where,
              bool retried = false);
  void CountRead(const InputOp& op);
  bool Cancelled() const { return cancel_ != nullptr && cancel_->cancelled(); }

  client::Client* client_;
  LineReader* lines_;
  OpReader* reader_;
  FailedItemWriter* failed_writer_;
  Progress* progress_;
  client::CancelToken* cancel_;
  Settings settings_;

  absl::Mutex mu_;
  Result result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace esgw::cli
