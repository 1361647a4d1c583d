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
#include "server/finish_now.h"
#include "server/grpc_status.h"
#include "server/index_references.h"
#include "server/ingest_call.h"
#include "server/validation.h"

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
  UnaryCall(const grpc::CallbackServerContext* context, AccessControl::Admission admission)
      : context_(context), admission_(std::move(admission)) {}
  // Set by the handler before it returns; gRPC calls OnCancel only after that.
  void set_call(std::shared_ptr<Dispatcher::Call> call) { call_ = std::move(call); }
  void Complete(const grpc::Status& status) {
    admission_.Release();
    Finish(status);
  }
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
  // Holds the call's place in its principal's limits until the call finishes.
  AccessControl::Admission admission_;
  std::shared_ptr<Dispatcher::Call> call_;
};

// A Bulk call in flight: its BulkRunner reports every op, then Done finishes the call. A cancel
// stops the runner, which still reports every op (not applied, or outcome unknown).
class BulkCall final : public grpc::ServerUnaryReactor {
 public:
  explicit BulkCall(AccessControl::Admission admission, int denied)
      : admission_(std::move(admission)), denied_(denied) {}

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
    admission_.Release();
    const absl::Status failure = runner_->request_failure();
    if (!failure.ok()) {
      response->Clear();
      Finish(ToGrpcStatus(failure));
      return;
    }
    const BulkRunner::Stats stats = runner_->stats();
    response->set_took_ms(stats.took_ms);
    response->set_errors(stats.failed > 0 || denied_ > 0);
    Finish(grpc::Status::OK);
  }

  void OnCancel() override {
    if (runner_ != nullptr) runner_->Cancel();
  }
  void OnDone() override { delete this; }

 private:
  AccessControl::Admission admission_;
  // Ops refused by index authorization, reported without reaching Elasticsearch.
  const int denied_;
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

// An Ingest call refused before it started: finished at once with status.
class FinishedIngest final
    : public grpc::ServerBidiReactor<esgw::v1::IngestRequest, esgw::v1::IngestResponse> {
 public:
  explicit FinishedIngest(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::StatusOr<AccessControl::Admission> GatewayService::AdmitRead(
    const grpc::CallbackServerContext& context, absl::string_view rpc, size_t request_bytes) const {
  ESGW_ASSIGN_OR_RETURN(AccessControl::Admission admission,
                        options_.access->Admit(context, rpc, Permission::kRead));
  ESGW_RETURN_IF_ERROR(
      CheckRequestSize(request_bytes, options_.max_read_request_bytes, "max_read_request_bytes"));
  return admission;
}

absl::Status GatewayService::CheckReads(
    const AccessControl::Admission& admission,
    const google::protobuf::RepeatedPtrField<std::string>& indices, absl::string_view prefix,
    bool body_struct, absl::string_view body) const {
  if (admission.all_indices()) return absl::OkStatus();
  ESGW_RETURN_IF_ERROR(
      options_.access->CheckTargets(admission, absl::StrCat(prefix, "indices"), indices));
  const std::string field = absl::StrCat(prefix, body_struct ? "body_struct" : "body_json");
  ESGW_ASSIGN_OR_RETURN(std::vector<IndexReference> references, FindIndexReferences(body, field));
  for (const IndexReference& reference : references) {
    ESGW_RETURN_IF_ERROR(options_.access->CheckIndex(
        admission, absl::StrCat(field, ".", reference.path, " (", reference.feature, ")"),
        reference.index));
  }
  return absl::OkStatus();
}

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
                                                   AccessControl::Admission admission,
                                                   HttpRequest http, bool idempotent,
                                                   ParseResult parse) {
  ForwardCallHeaders(context, options_.opaque_id, &http);
  auto* reactor = new UnaryCall(context, std::move(admission));
  reactor->set_call(options_.dispatcher->Execute(
      std::move(http), idempotent, DeadlineOf(*context),
      [reactor, parse = std::move(parse)](Dispatcher::Result result) mutable {
        reactor->Complete(ToGrpcStatus(parse(result)));
      }));
  return reactor;
}

grpc::ServerUnaryReactor* GatewayService::Search(grpc::CallbackServerContext* context,
                                                 const esgw::v1::SearchRequest* request,
                                                 esgw::v1::SearchResponse* response) {
  absl::StatusOr<AccessControl::Admission> admission =
      AdmitRead(*context, "Search", request->ByteSizeLong());
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  absl::StatusOr<HttpRequest> http = BuildSearchRequest(*request);
  if (!http.ok()) return FinishNow(context, *admission, http.status());
  if (absl::Status allowed =
          CheckReads(*admission, request->indices(), "",
                     request->body_case() == esgw::v1::SearchRequest::kBodyStruct, http->body);
      !allowed.ok()) {
    return FinishNow(context, *admission, allowed);
  }
  return Dispatch(
      context, *std::move(admission), *std::move(http), /*idempotent=*/true,
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
  absl::StatusOr<AccessControl::Admission> admission =
      AdmitRead(*context, "MultiSearch", request->ByteSizeLong());
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  absl::StatusOr<HttpRequest> http = BuildMultiSearchRequest(*request);
  if (!http.ok()) return FinishNow(context, *admission, http.status());
  for (int i = 0; i < request->searches_size() && !admission->all_indices(); ++i) {
    const esgw::v1::SearchRequest& search = request->searches(i);
    const std::string prefix = absl::StrCat("searches[", i, "].");
    // Valid: the whole request was built above.
    absl::StatusOr<std::string> body = SearchBodyJson(search, prefix);
    absl::Status allowed = body.status();
    if (allowed.ok()) {
      allowed = CheckReads(*admission, search.indices(), prefix,
                           search.body_case() == esgw::v1::SearchRequest::kBodyStruct, *body);
    }
    if (!allowed.ok()) return FinishNow(context, *admission, allowed);
  }
  const int searches = request->searches_size();
  return Dispatch(
      context, *std::move(admission), *std::move(http), /*idempotent=*/true,
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
  absl::StatusOr<AccessControl::Admission> admission =
      AdmitRead(*context, "Count", request->ByteSizeLong());
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  absl::StatusOr<HttpRequest> http = BuildCountRequest(*request);
  if (!http.ok()) return FinishNow(context, *admission, http.status());
  if (absl::Status allowed =
          CheckReads(*admission, request->indices(), "",
                     request->body_case() == esgw::v1::CountRequest::kBodyStruct, http->body);
      !allowed.ok()) {
    return FinishNow(context, *admission, allowed);
  }
  return Dispatch(
      context, *std::move(admission), *std::move(http), /*idempotent=*/true,
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
  absl::StatusOr<AccessControl::Admission> admission =
      AdmitRead(*context, "Get", request->ByteSizeLong());
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  absl::StatusOr<HttpRequest> http = BuildGetRequest(*request);
  if (!http.ok()) return FinishNow(context, *admission, http.status());
  if (absl::Status allowed = options_.access->CheckIndex(*admission, "index", request->index());
      !allowed.ok()) {
    return FinishNow(context, *admission, allowed);
  }
  return Dispatch(
      context, *std::move(admission), *std::move(http), /*idempotent=*/true,
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
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "Bulk", Permission::kWrite);
  if (!admission.ok()) return FinishNow(context, ToGrpcStatus(admission.status()));
  if (absl::Status size = CheckRequestSize(request->ByteSizeLong(), options_.max_bulk_request_bytes,
                                           "max_bulk_request_bytes");
      !size.ok()) {
    return FinishNow(context, *admission, size);
  }
  if (request->ops().empty()) {
    return FinishNow(context, *admission,
                     InvalidField("ops", "a bulk request needs at least one op"));
  }
  // Open enums keep numbers the proto does not define; such a value would silently mean the
  // default, so it is refused (as Ingest refuses it).
  if (!v1::Refresh_IsValid(request->refresh())) {
    return FinishNow(context, *admission,
                     InvalidField("refresh", absl::StrCat("unknown value ", request->refresh(),
                                                          "; must be REFRESH_UNSPECIFIED, "
                                                          "REFRESH_FALSE, REFRESH_TRUE or "
                                                          "REFRESH_WAIT_FOR")));
  }
  const BulkDefaults defaults{
      .index = request->index(), .routing = request->routing(), .pipeline = request->pipeline()};
  std::vector<EncodedOp> ops;
  ops.reserve(request->ops_size());
  for (int i = 0; i < request->ops_size(); ++i) {
    absl::StatusOr<EncodedOp> op =
        EncodeBulkOp(request->ops(i), defaults, absl::StrCat("ops[", i, "]"));
    if (!op.ok()) return FinishNow(context, *admission, op.status());
    ops.push_back(*std::move(op));
  }
  for (int i = 0; i < request->ops_size(); ++i) response->add_items();
  // Ops outside the principal's patterns fail alone, as Elasticsearch's security fails an item
  // (403, security_exception); the rest go on. The runner numbers the ops it is given, so
  // positions maps its numbers back to the request's.
  std::vector<int> positions;
  int denied = 0;
  if (!admission->all_indices()) {
    std::vector<EncodedOp> allowed;
    allowed.reserve(ops.size());
    std::string last_denied;
    for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
      EncodedOp& op = ops[i];
      // Audited once per index and call, not once per op.
      const absl::Status check = options_.access->CheckIndex(
          *admission, absl::StrCat("ops[", i, "].index"), op.index, op.index != last_denied);
      if (check.ok()) {
        positions.push_back(i);
        allowed.push_back(std::move(op));
        continue;
      }
      last_denied = op.index;
      ++denied;
      *response->mutable_items(i) =
          FailedItem(op.seq, op.index, op.id, 403, "security_exception", check.message());
    }
    ops = std::move(allowed);
  }
  // The trace and opaque-id headers, once for every _bulk request of this call.
  HttpRequest headers;
  ForwardCallHeaders(context, options_.opaque_id, &headers);

  auto* reactor = new BulkCall(*std::move(admission), denied);
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
          [response, positions = std::move(positions)](size_t position, v1::BulkItemResult result) {
            const int item = positions.empty() ? static_cast<int>(position) : positions[position];
            *response->mutable_items(item) = std::move(result);
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
  absl::StatusOr<AccessControl::Admission> admission =
      options_.access->Admit(*context, "Ingest", Permission::kWrite, /*ingest_stream=*/true);
  if (!admission.ok()) return new FinishedIngest(ToGrpcStatus(admission.status()));
  return StartIngest(context,
                     {.dispatcher = options_.dispatcher,
                      .timers = options_.timers,
                      .clock = options_.clock,
                      .bulk = options_.bulk,
                      .ingest = options_.ingest,
                      .opaque_id = options_.opaque_id,
                      .streams = &ingest_streams_,
                      .access = options_.access,
                      .max_message_bytes = options_.max_bulk_request_bytes},
                     *std::move(admission));
}

}  // namespace esgw
