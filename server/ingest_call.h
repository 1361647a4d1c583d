// One Ingest stream (esgw.v1.Gateway/Ingest): reads IngestRequests, validates and encodes their
// ops, hands them to an IngestBatcher, and streams each op's final result back, then an
// IngestSummary when the client has half-closed and every op is final.
//
// Flow control: the stream holds at most ingest.max_buffer_bytes of ops (counted from when an
// op is read until its result is written to the client; one message may go past the bound).
// Past it the server stops reading, so gRPC's flow control holds the client back, whether
// Elasticsearch or the client's own reading of results is the slow side.
//
// Errors. An op that fails validation is reported at once as its own failed result (status
// 400, error type "esgw_invalid_op", the reason naming the field and rule) and the stream goes
// on; so is an op whose index the principal may not write (status 403, "security_exception"). A
// mistake in the stream itself (a default index or pipeline that is not valid, defaults set after
// the first message, a seq reused while its op is in progress) refuses that message whole and ends
// the stream with INVALID_ARGUMENT - after the results of every op accepted before it have been
// sent. When the client cancels or goes away, ops not yet sent are dropped and batches in flight
// are aborted; the client knows which ops are unacknowledged by seq.
//
// Shutdown (IngestStreams::DrainAll): a stream that has not half-closed reads no more; the ops
// it has read are flushed to Elasticsearch and their results sent, then the stream ends with
// UNAVAILABLE. Ops the client sent that got no result were never sent to Elasticsearch, so a
// client resends exactly those to another replica. A stream that has half-closed finishes as
// usual, with its summary.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"
#include "pool/timer_queue.h"
#include "server/access_control.h"
#include "server/bulk_encoder.h"
#include "server/call_headers.h"
#include "server/ingest_batcher.h"

namespace esgw {

// The Ingest streams running, so that shutdown can drain them, and their totals for /metrics.
// Thread-safe.
class IngestStreams {
 public:
  class Stream {
   public:
    // Stops reading and ends the stream once what was read is reported (see above).
    virtual void Drain() = 0;

   protected:
    ~Stream() = default;
  };

  // A stream added after DrainAll is drained at once.
  void Add(Stream* stream);
  void Remove(Stream* stream);
  void DrainAll();

  // What the streams report of themselves: bytes of ops they hold (read, result not yet written;
  // delta may be negative) and each time one stops reading because its buffer is full.
  void AddBufferedBytes(int64_t delta) { buffered_bytes_.fetch_add(delta); }
  void CountReadPause() { read_pauses_.fetch_add(1); }

  struct Totals {
    int64_t streams = 0;
    int64_t buffered_bytes = 0;
    uint64_t read_pauses = 0;
  };
  Totals totals() const;

 private:
  std::atomic<int64_t> buffered_bytes_{0};
  std::atomic<uint64_t> read_pauses_{0};
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Stream*> streams_ ABSL_GUARDED_BY(mu_);
};

struct IngestCallOptions {
  // Not owned; each must outlive the call.
  Dispatcher* dispatcher = nullptr;
  TimerQueue* timers = nullptr;
  const Clock* clock = &RealClock::Get();
  BulkSettings bulk = {};
  IngestSettings ingest = {};
  OpaqueIdPolicy opaque_id = {};
  // Not owned; may be null (then the stream cannot be drained).
  IngestStreams* streams = nullptr;
  // Not owned; may be null (then no op is checked). Each op's index is checked against the
  // admitted principal's patterns; an op outside them fails alone (403, security_exception).
  const AccessControl* access = nullptr;
  // The largest IngestRequest message in protobuf bytes (0: no limit); a larger one ends the
  // stream with RESOURCE_EXHAUSTED naming max_bulk_request_bytes, after the results of the ops
  // accepted before it.
  size_t max_message_bytes = 0;
};

// The reactor for a new Ingest call; it deletes itself when the call is done. It holds the
// call's admission (its place in the principal's limits) until then.
grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* StartIngest(
    grpc::CallbackServerContext* context, const IngestCallOptions& options,
    AccessControl::Admission admission = {});

}  // namespace esgw
