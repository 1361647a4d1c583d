#include "server/gateway_service.h"

#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/es_requests.h"
#include "server/es_response.h"
#include "server/grpc_status.h"

namespace esgw {
namespace {

// A unary call in flight: aborts the Elasticsearch exchange when the client cancels.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  // Set by the handler before it returns; gRPC calls OnCancel only after that.
  void set_call(std::shared_ptr<Dispatcher::Call> call) { call_ = std::move(call); }
  void OnCancel() override {
    if (call_ != nullptr) call_->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<Dispatcher::Call> call_;
};

// The response body as simdjson wants it: the transport leaves kBodyPadding spare bytes after
// the body, so it is parsed in place; only an unusual body (e.g. empty) is grown first.
static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING);

simdjson::padded_string_view Padded(std::string& body) {
  if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  }
  return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
}

grpc::Status Unimplemented(absl::string_view method, absl::string_view why) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      absl::StrCat("esgw.v1.Gateway/", method,
                                   " is not implemented in this version of esgw: ", why));
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// A stream that ends at once with status.
class FinishedBidi final
    : public grpc::ServerBidiReactor<esgw::v1::IngestRequest, esgw::v1::IngestResponse> {
 public:
  explicit FinishedBidi(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Time GatewayService::DeadlineOf(const grpc::CallbackServerContext& context) const {
  const absl::Time now = options_.clock->Now();
  const auto client_deadline = context.deadline();
  if (client_deadline == std::chrono::system_clock::time_point::max()) {
    return now + options_.default_timeout;
  }
  // gRPC gives the deadline in wall-clock time; carry the remaining budget onto our clock.
  const absl::Duration remaining =
      absl::FromChrono(client_deadline - std::chrono::system_clock::now());
  return now + std::max(remaining, absl::ZeroDuration());
}

grpc::ServerUnaryReactor* GatewayService::Search(grpc::CallbackServerContext* context,
                                                 const esgw::v1::SearchRequest* request,
                                                 esgw::v1::SearchResponse* response) {
  absl::StatusOr<HttpRequest> http = BuildSearchRequest(*request);
  if (!http.ok()) return FinishNow(context, ToGrpcStatus(http.status()));
  auto* reactor = new UnaryCall();
  reactor->set_call(options_.dispatcher->Execute(
      *std::move(http), /*idempotent=*/true, DeadlineOf(*context),
      [reactor, response](Dispatcher::Result result) mutable {
        absl::Status status = Dispatcher::ResultStatus(result);
        if (status.ok()) {
          status = ParseSearchResponse(Padded(result.response.body), response);
          response->set_served_by(result.served_by);
        }
        reactor->Finish(ToGrpcStatus(status));
      }));
  return reactor;
}

grpc::ServerUnaryReactor* GatewayService::MultiSearch(grpc::CallbackServerContext* context,
                                                      const esgw::v1::MultiSearchRequest*,
                                                      esgw::v1::MultiSearchResponse*) {
  return FinishNow(context, Unimplemented("MultiSearch", "_msearch support is still to come"));
}

grpc::ServerUnaryReactor* GatewayService::Count(grpc::CallbackServerContext* context,
                                                const esgw::v1::CountRequest*,
                                                esgw::v1::CountResponse*) {
  return FinishNow(context, Unimplemented("Count", "_count support is still to come"));
}

grpc::ServerUnaryReactor* GatewayService::Get(grpc::CallbackServerContext* context,
                                              const esgw::v1::GetRequest*, esgw::v1::GetResponse*) {
  return FinishNow(context, Unimplemented("Get", "document reads are still to come"));
}

grpc::ServerUnaryReactor* GatewayService::Bulk(grpc::CallbackServerContext* context,
                                               const esgw::v1::BulkRequest*,
                                               esgw::v1::BulkResponse*) {
  return FinishNow(context,
                   Unimplemented("Bulk", "bulk writes need per-item retries, still to come"));
}

grpc::ServerBidiReactor<esgw::v1::IngestRequest, esgw::v1::IngestResponse>* GatewayService::Ingest(
    grpc::CallbackServerContext*) {
  return new FinishedBidi(
      Unimplemented("Ingest", "streaming ingest builds on Bulk, which is still to come"));
}

}  // namespace esgw
