#include "client/esgw_client.h"

#include <chrono>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "google/protobuf/duration.pb.h"
#include "pool/status_macros.h"

namespace esgw::client {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  ESGW_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, CreateChannel(options));
  return std::make_unique<Client>(std::move(channel), std::move(options));
}

Client::Client(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      gateway_(v1::Gateway::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)) {}

void Client::PrepareContext(grpc::ClientContext* context, const CallOptions& call,
                            bool stream) const {
  const absl::Duration deadline =
      call.deadline.value_or(stream ? absl::InfiniteDuration() : options_.deadline);
  if (deadline != absl::InfiniteDuration()) {
    context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  }
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  for (const auto& [key, value] : call.metadata) context->AddMetadata(key, value);
}

template <typename Response, typename Call>
absl::StatusOr<Response> Client::Unary(const CallOptions& call, Call&& invoke) {
  grpc::ClientContext context;
  PrepareContext(&context, call);
  ScopedCancellation cancellation(call.cancel, &context);
  Response response;
  const grpc::Status status = invoke(&context, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::SearchResponse> Client::Search(const v1::SearchRequest& request,
                                                  const CallOptions& call) {
  return Unary<v1::SearchResponse>(call, [&](auto* context, auto* response) {
    return gateway_->Search(context, request, response);
  });
}

absl::StatusOr<v1::MultiSearchResponse> Client::MultiSearch(const v1::MultiSearchRequest& request,
                                                            const CallOptions& call) {
  return Unary<v1::MultiSearchResponse>(call, [&](auto* context, auto* response) {
    return gateway_->MultiSearch(context, request, response);
  });
}

absl::StatusOr<v1::CountResponse> Client::Count(const v1::CountRequest& request,
                                                const CallOptions& call) {
  return Unary<v1::CountResponse>(call, [&](auto* context, auto* response) {
    return gateway_->Count(context, request, response);
  });
}

absl::StatusOr<v1::GetResponse> Client::Get(const v1::GetRequest& request,
                                            const CallOptions& call) {
  return Unary<v1::GetResponse>(call, [&](auto* context, auto* response) {
    return gateway_->Get(context, request, response);
  });
}

absl::StatusOr<v1::BulkResponse> Client::Bulk(const v1::BulkRequest& request,
                                              const CallOptions& call) {
  return Unary<v1::BulkResponse>(call, [&](auto* context, auto* response) {
    return gateway_->Bulk(context, request, response);
  });
}

std::unique_ptr<IngestStream> Client::StartIngest(IngestStream::Defaults defaults,
                                                  const CallOptions& call) {
  auto context = std::make_unique<grpc::ClientContext>();
  PrepareContext(context.get(), call, /*stream=*/true);
  return std::make_unique<IngestStream>(gateway_.get(), std::move(context), call.cancel,
                                        std::move(defaults));
}

absl::StatusOr<v1::PoolStats> Client::GetPoolStats(const CallOptions& call) {
  return Unary<v1::PoolStats>(call, [&](auto* context, auto* response) {
    return admin_->GetPoolStats(context, v1::GetPoolStatsRequest(), response);
  });
}

absl::StatusOr<v1::HealthReport> Client::GetHealth(const CallOptions& call) {
  return Unary<v1::HealthReport>(call, [&](auto* context, auto* response) {
    return admin_->GetHealth(context, v1::GetHealthRequest(), response);
  });
}

absl::StatusOr<v1::PoolStats> Client::Sniff(const CallOptions& call) {
  return Unary<v1::PoolStats>(call, [&](auto* context, auto* response) {
    return admin_->Sniff(context, v1::SniffRequest(), response);
  });
}

absl::Status Client::WatchPoolStats(absl::Duration interval,
                                    const std::function<bool(const v1::PoolStats&)>& on_stats,
                                    const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(&context, call, /*stream=*/true);
  ScopedCancellation cancellation(call.cancel, &context);
  v1::WatchPoolStatsRequest request;
  const int64_t nanos = absl::ToInt64Nanoseconds(interval);
  request.mutable_interval()->set_seconds(nanos / 1000000000);
  request.mutable_interval()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  std::unique_ptr<grpc::ClientReader<v1::PoolStats>> reader =
      admin_->WatchPoolStats(&context, request);
  v1::PoolStats stats;
  bool stopped = false;
  while (reader->Read(&stats)) {
    if (!on_stats(stats)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped) return absl::OkStatus();
  return FromGrpcStatus(status);
}

}  // namespace esgw::client
