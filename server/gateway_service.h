// esgw.v1.Gateway over the Dispatcher: each handler validates, builds the Elasticsearch request,
// hands it to the dispatcher and returns; the reply is parsed and the call finished on the
// transport thread that completes the exchange. No handler blocks a gRPC thread.
// Thread-safe: gRPC calls handlers concurrently; the service holds no per-call state.
#pragma once

#include "absl/time/time.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "pool/clock.h"
#include "pool/dispatcher.h"

namespace esgw {

class GatewayService final : public esgw::v1::Gateway::CallbackService {
 public:
  struct Options {
    // Not owned; must outlive the service.
    Dispatcher* dispatcher = nullptr;
    const Clock* clock = &RealClock::Get();
    // Budget for a call whose client set no deadline.
    absl::Duration default_timeout = absl::Seconds(30);
  };
  explicit GatewayService(Options options) : options_(options) {}

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

  const Options options_;
};

}  // namespace esgw
