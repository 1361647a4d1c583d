// Client: the C++ client of esgw-server. One channel (client/channel.h: TLS or not, keepalive,
// gRPC retries of the idempotent RPCs on UNAVAILABLE) and typed calls for every RPC of
// esgw.v1.Gateway and esgw.v1.Admin, each with the options' deadline and bearer token unless
// CallOptions say otherwise. Failures come back as absl::Status with gRPC's code and message:
// INVALID_ARGUMENT for a request esgw refused, NOT_FOUND for a missing index, UNAVAILABLE when
// esgw (or every Elasticsearch node) cannot be reached, DEADLINE_EXCEEDED, CANCELLED when a
// CancelToken fired, and the other codes of the API's error table.
// Thread-safe: calls may run from many threads at once.
//
//   ClientOptions options;
//   ApplyEnvironment(options);  // ESGW_ADDR, ESGW_TOKEN
//   ESGW_ASSIGN_OR_RETURN(auto client, Client::Create(options));
//   v1::CountRequest request;
//   request.add_indices("logs");
//   ESGW_ASSIGN_OR_RETURN(v1::CountResponse count, client->Count(request));
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/call_options.h"
#include "client/client_options.h"
#include "client/ingest_stream.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"

namespace esgw::client {

class Client {
 public:
  // Validates options and makes the channel (client/channel.h); INVALID_ARGUMENT naming the
  // option when one is wrong or a TLS file cannot be read. Does not connect: an unreachable
  // server shows on the first call as UNAVAILABLE.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  // Over an existing channel (tests, or a caller with channel settings of its own).
  Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  absl::StatusOr<v1::SearchResponse> Search(const v1::SearchRequest& request,
                                            const CallOptions& call = {});
  absl::StatusOr<v1::MultiSearchResponse> MultiSearch(const v1::MultiSearchRequest& request,
                                                      const CallOptions& call = {});
  absl::StatusOr<v1::CountResponse> Count(const v1::CountRequest& request,
                                          const CallOptions& call = {});
  // A missing document is found=false, not an error; a missing index is NOT_FOUND.
  absl::StatusOr<v1::GetResponse> Get(const v1::GetRequest& request, const CallOptions& call = {});
  // Item failures are in the response's items; a failed call wrote nothing. Never retried by
  // gRPC (see RetriedMethods).
  absl::StatusOr<v1::BulkResponse> Bulk(const v1::BulkRequest& request,
                                        const CallOptions& call = {});
  // Starts an Ingest stream. Its deadline is call.deadline when set, else none: a stream lasts
  // as long as its input (esgw bounds each batch by its --request_timeout).
  std::unique_ptr<IngestStream> StartIngest(IngestStream::Defaults defaults,
                                            const CallOptions& call = {});

  absl::StatusOr<v1::PoolStats> GetPoolStats(const CallOptions& call = {});
  absl::StatusOr<v1::HealthReport> GetHealth(const CallOptions& call = {});
  absl::StatusOr<v1::PoolStats> Sniff(const CallOptions& call = {});
  // Calls on_stats with the pool now and then at every interval until on_stats returns false
  // (then OK), the call is cancelled through call.cancel (CANCELLED), or the stream fails (its
  // status; UNAVAILABLE when esgw shuts down). No deadline unless call.deadline sets one.
  absl::Status WatchPoolStats(absl::Duration interval,
                              const std::function<bool(const v1::PoolStats&)>& on_stats,
                              const CallOptions& call = {});

  // Sets up context for a call: deadline (call's, else the options'; `stream` calls get none
  // unless the call sets one), authorization and extra metadata. For callers that use the
  // stubs directly (the async API, for example).
  void PrepareContext(grpc::ClientContext* context, const CallOptions& call,
                      bool stream = false) const;

  const ClientOptions& options() const { return options_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  v1::Gateway::Stub* gateway() { return gateway_.get(); }
  v1::Admin::Stub* admin() { return admin_.get(); }

 private:
  // Runs one unary call (invoke(context, response) -> grpc::Status) with a context prepared
  // for call.
  template <typename Response, typename Call>
  absl::StatusOr<Response> Unary(const CallOptions& call, Call&& invoke);

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Gateway::Stub> gateway_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

}  // namespace esgw::client
