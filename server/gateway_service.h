// esgw.v1.Gateway over the Dispatcher: each handler validates, builds the Elasticsearch request,
// hands it to the dispatcher and returns; the reply is parsed and the call finished on the
// transport thread that completes the exchange. No handler blocks a gRPC thread. Every request
// carries the call's trace context and an X-Opaque-Id (server/call_headers.h). Every call is
// first admitted by AccessControl, and every index it touches checked against the principal's
// patterns (server/access_control.h).
// Thread-safe: gRPC calls handlers concurrently; the service holds no per-call state.
#pragma once

#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"
#include "pool/timer_queue.h"
#include "pool/transport.h"
#include "server/access_control.h"
#include "server/arena_messages.h"
#include "server/bulk_encoder.h"
#include "server/call_headers.h"
#include "server/ingest_batcher.h"
#include "server/ingest_call.h"

namespace esgw {

class GatewayService final : public esgw::v1::Gateway::CallbackService {
 public:
  struct Options {
    // Not owned; must outlive the service.
    Dispatcher* dispatcher = nullptr;
    const Clock* clock = &RealClock::Get();
    // Budget for a call whose client set no deadline.
    absl::Duration default_timeout = absl::Seconds(30);
    // Where the X-Opaque-Id sent to Elasticsearch comes from when the client sent none.
    OpaqueIdPolicy opaque_id = {};
    // Not owned; must outlive the service. Runs the write path's item retries.
    TimerQueue* timers = nullptr;
    // Batching and item retries of Bulk and Ingest.
    BulkSettings bulk = {};
    // Ingest streams: flush interval, batches in flight, buffer bound, batch timeout.
    IngestSettings ingest = {};
    // Required; not owned, must outlive the service. Admits every call (authentication,
    // permission, per-principal limits) and checks the indices it touches.
    const AccessControl* access = nullptr;
    // The largest request of Search, MultiSearch, Count and Get, and of Bulk or of one Ingest
    // message, in protobuf bytes: RESOURCE_EXHAUSTED naming the limit above it.
    size_t max_read_request_bytes = 4 << 20;
    size_t max_bulk_request_bytes = 64 << 20;
  };
  explicit GatewayService(Options options) : options_(std::move(options)) {
    SetMessageAllocatorFor_Search(&search_messages_);
    SetMessageAllocatorFor_MultiSearch(&multi_search_messages_);
    SetMessageAllocatorFor_Count(&count_messages_);
    SetMessageAllocatorFor_Get(&get_messages_);
    SetMessageAllocatorFor_Bulk(&bulk_messages_);
  }

  // Shutdown: every Ingest stream reads no more and ends once what it read is reported
  // (server/ingest_call.h); streams started later are drained at once.
  void DrainIngestStreams() { ingest_streams_.DrainAll(); }
  const IngestStreams& ingest_streams() const { return ingest_streams_; }

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const esgw::v1::SearchRequest* request,
                                   esgw::v1::SearchResponse* response) override;
  grpc::ServerUnaryReactor* MultiSearch(grpc::CallbackServerContext* context,
                                        const esgw::v1::MultiSearchRequest* request,
                                        esgw::v1::MultiSearchResponse* response) override;
  grpc::ServerUnaryReactor* Count(grpc::CallbackServerContext* context,
                                  const esgw::v1::CountRequest* request,
                                  esgw::v1::CountResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const esgw::v1::GetRequest* request,
                                esgw::v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Bulk(grpc::CallbackServerContext* context,
                                 const esgw::v1::BulkRequest* request,
                                 esgw::v1::BulkResponse* response) override;
  grpc::ServerBidiReactor<esgw::v1::IngestRequest, esgw::v1::IngestResponse>* Ingest(
      grpc::CallbackServerContext* context) override;

 private:
  // The monotonic deadline for a call: the client's, or default_timeout from now.
  absl::Time DeadlineOf(const grpc::CallbackServerContext& context) const;

  // Reads a finished exchange into the call's response; runs on the thread that completed it
  // and returns the status the call finishes with.
  using ParseResult = absl::AnyInvocable<absl::Status(Dispatcher::Result&)>;

  // Forwards the call's headers onto http, hands it to the dispatcher, and returns the reactor
  // that parse finishes. Cancelling the call aborts the exchange.
  grpc::ServerUnaryReactor* Dispatch(grpc::CallbackServerContext* context,
                                     AccessControl::Admission admission, HttpRequest http,
                                     bool idempotent, ParseResult parse);

  // Admits a read call (Search, MultiSearch, Count, Get) of request_bytes: the admission, or
  // the status to finish the call with.
  absl::StatusOr<AccessControl::Admission> AdmitRead(const grpc::CallbackServerContext& context,
                                                     absl::string_view rpc,
                                                     size_t request_bytes) const;
  // The targets of a search or count and the indices its JSON body reads
  // (server/index_references.h) against the principal's patterns; prefix goes before field
  // names ("" or "searches[2].").
  absl::Status CheckReads(const AccessControl::Admission& admission,
                          const google::protobuf::RepeatedPtrField<std::string>& indices,
                          absl::string_view prefix, bool body_struct, absl::string_view body) const;

  const Options options_;
  IngestStreams ingest_streams_;
  // Each unary call's request and response live on one arena (server/arena_messages.h).
  ArenaMessageAllocator<v1::SearchRequest, v1::SearchResponse> search_messages_;
  ArenaMessageAllocator<v1::MultiSearchRequest, v1::MultiSearchResponse> multi_search_messages_;
  ArenaMessageAllocator<v1::CountRequest, v1::CountResponse> count_messages_;
  ArenaMessageAllocator<v1::GetRequest, v1::GetResponse> get_messages_;
  ArenaMessageAllocator<v1::BulkRequest, v1::BulkResponse> bulk_messages_;
};

}  // namespace esgw
