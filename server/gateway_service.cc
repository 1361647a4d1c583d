#include "server/gateway_service.h"

#include <chrono>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"
#include "server/bulk_encoder.h"
#include "server/bulk_runner.h"
#include "server/call_headers.h"
#include "server/es_requests.h"
#include "server/es_response.h"
#include "server/grpc_status.h"
#include "server/ingest_call.h"

namespace esgw {
namespace {

// gRPC cancels a call both when the client gives up and when its deadline passes; the client's
// own deadline fires a little before the server's copy (which starts when the call arrives), so
// a cancel this close to the deadline is taken as the deadline passing.
constexpr auto kDeadlineSlack = std::chrono::milliseconds(100);

bool DeadlinePassed(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  return deadline != std::chrono::system_clock::time_point::max() &&
         std::chrono::system_clock::now() + kDeadlineSlack >= deadline;
}

// A unary call in flight: aborts the Elasticsearch exchange when the call is cancelled. When the
// deadline passed, the node that held the request is blamed for the timeout (see
// Dispatcher::Call::ExpireDeadline); a client that cancels blames nobody.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  explicit UnaryCall(const grpc::CallbackServerContext* context) : context_(context) {}
  // Set by the handler before it returns; gRPC calls OnCancel only after that.
  void set_call(std::shared_ptr<Dispatcher::Call> call) { call_ = std::move(call); }
  void OnCancel() override {
    if (call_ == nullptr) return;
    if (DeadlinePassed(*context_)) {
      call_->ExpireDeadline();
    } else {
      call_->Cancel();
    }
  }
  void OnDone() override { delete this; }

 private:
  const grpc::CallbackServerContext* const context_;
  std::shared_ptr<Dispatcher::Call> call_;
};

// A Bulk call in flight: its BulkRunner reports every op, then Done finishes the call. A cancel
// stops the runner, which still reports every op (not applied, or outcome unknown).
class BulkCall final : public grpc::ServerUnaryReactor {
 public:
  void Start(std::shared_ptr<BulkRunner> runner, std::vector<EncodedOp> ops) {
    runner_ = std::move(runner);
    // A fresh runner always takes them: Add only refuses after Close or Cancel.
    runner_->Add(std::move(ops)).IgnoreError();
    runner_->Close();
  }

  // From the runner, once every op has its result.
  void Done(esgw::v1::BulkResponse* response) {
    // Every op "not applied" for one request-level reason (no node, deadline, a whole-request
    // rejection): a failed RPC, which promises the client that nothing was written.
    const absl::Status failure = runner_->request_failure();
    if (!failure.ok()) {
      response->Clear();
      Finish(ToGrpcStatus(failure));
      return;
    }
    const BulkRunner::Stats stats = runner_->stats();
    response->set_took_ms(stats.took_ms);
    response->set_errors(stats.failed > 0);
    Finish(grpc::Status::OK);
  }

  void OnCancel() override {
    if (runner_ != nullptr) runner_->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<BulkRunner> runner_;
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

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

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

grpc::ServerUnaryReactor* GatewayService::Dispatch(grpc::CallbackServerContext* context,
                                                   HttpRequest http, bool idempotent,
                                                   ParseResult parse) {
  ForwardCallHeaders(context, options_.opaque_id, &http);
  auto* reactor = new UnaryCall(context);
  reactor->set_call(options_.dispatcher->Execute(
      std::move(http), idempotent, DeadlineOf(*context),
      [reactor, parse = std::move(parse)](Dispatcher::Result result) mutable {
        reactor->Finish(ToGrpcStatus(parse(result)));
      }));
  return reactor;
}

grpc::ServerUnaryReactor* GatewayService::Search(grpc::CallbackServerContext* context,
                                                 const esgw::v1::SearchRequest* request,
                                                 esgw::v1::SearchResponse* response) {
  absl::StatusOr<HttpRequest> http = BuildSearchRequest(*request);
  if (!http.ok()) return FinishNow(context, ToGrpcStatus(http.status()));
  return Dispatch(
      context, *std::move(http), /*idempotent=*/true,
      [response](Dispatcher::Result& result) -> absl::Status {
        ESGW_RETURN_IF_ERROR(Dispatcher::ResultStatus(result));
        ESGW_RETURN_IF_ERROR(ParseSearchResponse(Padded(result.response.body), response));
        response->set_served_by(result.served_by);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* GatewayService::MultiSearch(grpc::CallbackServerContext* context,
                                                      const esgw::v1::MultiSearchRequest* request,
                                                      esgw::v1::MultiSearchResponse* response) {
  absl::StatusOr<HttpRequest> http = BuildMultiSearchRequest(*request);
  if (!http.ok()) return FinishNow(context, ToGrpcStatus(http.status()));
  const int searches = request->searches_size();
  return Dispatch(
      context, *std::move(http), /*idempotent=*/true,
      [response, searches](Dispatcher::Result& result) -> absl::Status {
        ESGW_RETURN_IF_ERROR(Dispatcher::ResultStatus(result));
        ESGW_RETURN_IF_ERROR(ParseMultiSearchResponse(Padded(result.response.body), response));
        // Items are matched to searches by position; a different count would pair them wrongly.
        if (response->responses_size() != searches) {
          return WithErrorInfo(
              absl::InternalError(
                  absl::StrCat("elasticsearch response: responses: ", response->responses_size(),
                               " items for ", searches, " searches")),
              {.reason = "BAD_ES_RESPONSE", .metadata = {{"path", "responses"}}});
        }
        response->set_served_by(result.served_by);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* GatewayService::Count(grpc::CallbackServerContext* context,
                                                const esgw::v1::CountRequest* request,
                                                esgw::v1::CountResponse* response) {
  absl::StatusOr<HttpRequest> http = BuildCountRequest(*request);
  if (!http.ok()) return FinishNow(context, ToGrpcStatus(http.status()));
  return Dispatch(
      context, *std::move(http), /*idempotent=*/true,
      [response](Dispatcher::Result& result) -> absl::Status {
        ESGW_RETURN_IF_ERROR(Dispatcher::ResultStatus(result));
        ESGW_RETURN_IF_ERROR(ParseCountResponse(Padded(result.response.body), response));
        response->set_served_by(result.served_by);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* GatewayService::Get(grpc::CallbackServerContext* context,
                                              const esgw::v1::GetRequest* request,
                                              esgw::v1::GetResponse* response) {
  absl::StatusOr<HttpRequest> http = BuildGetRequest(*request);
  if (!http.ok()) return FinishNow(context, ToGrpcStatus(http.status()));
  return Dispatch(
      context, *std::move(http), /*idempotent=*/true,
      [response](Dispatcher::Result& result) -> absl::Status {
        // A 404 is a missing document ({"found":false}: OK, found=false) or an error such as
        // index_not_found_exception, which does not parse as a document and maps to NOT_FOUND.
        const bool missing_document =
            result.transport_status.ok() && result.response.status == 404 &&
            ParseGetResponse(Padded(result.response.body), response).ok() && !response->found();
        if (!missing_document) {
          ESGW_RETURN_IF_ERROR(Dispatcher::ResultStatus(result));
          ESGW_RETURN_IF_ERROR(ParseGetResponse(Padded(result.response.body), response));
        }
        response->set_served_by(result.served_by);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* GatewayService::Bulk(grpc::CallbackServerContext* context,
                                               const esgw::v1::BulkRequest* request,
                                               esgw::v1::BulkResponse* response) {
  if (request->ops().empty()) {
    return FinishNow(context,
                     ToGrpcStatus(InvalidField("ops", "a bulk request needs at least one op")));
  }
  const BulkDefaults defaults{
      .index = request->index(), .routing = request->routing(), .pipeline = request->pipeline()};
  std::vector<EncodedOp> ops;
  ops.reserve(request->ops_size());
  for (int i = 0; i < request->ops_size(); ++i) {
    absl::StatusOr<EncodedOp> op =
        EncodeBulkOp(request->ops(i), defaults, absl::StrCat("ops[", i, "]"));
    if (!op.ok()) return FinishNow(context, ToGrpcStatus(op.status()));
    ops.push_back(*std::move(op));
  }
  // The trace and opaque-id headers, once for every _bulk request of this call.
  HttpRequest headers;
  ForwardCallHeaders(context, options_.opaque_id, &headers);
  for (int i = 0; i < request->ops_size(); ++i) response->add_items();

  auto* reactor = new BulkCall();
  thread_local std::mt19937_64 seeds{std::random_device{}()};
  absl::StatusOr<std::shared_ptr<BulkRunner>> runner = BulkRunner::Create({
      .dispatcher = options_.dispatcher,
      .timers = options_.timers,
      .clock = options_.clock,
      .settings = options_.bulk,
      .refresh = request->refresh(),
      .deadline = DeadlineOf(*context),
      .headers = std::move(headers.headers),
      .random_seed = seeds(),
      // Items arrive in any order, each exactly once, never two at a time.
      .on_result =
          [response](size_t position, v1::BulkItemResult result) {
            *response->mutable_items(static_cast<int>(position)) = std::move(result);
          },
      .on_done = [reactor, response] { reactor->Done(response); },
  });
  if (!runner.ok()) {
    delete reactor;
    return FinishNow(context, ToGrpcStatus(runner.status()));
  }
  reactor->Start(*std::move(runner), std::move(ops));
  return reactor;
}

grpc::ServerBidiReactor<esgw::v1::IngestRequest, esgw::v1::IngestResponse>* GatewayService::Ingest(
    grpc::CallbackServerContext* context) {
  return StartIngest(context, {.dispatcher = options_.dispatcher,
                               .timers = options_.timers,
                               .clock = options_.clock,
                               .bulk = options_.bulk,
                               .ingest = options_.ingest,
                               .opaque_id = options_.opaque_id,
                               .streams = &ingest_streams_});
}

}  // namespace esgw
