#include "tests/support/gateway_calls.h"

#include <gtest/gtest.h>

#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/support/esgw_process.h"

namespace esgw::testing {
namespace {

absl::Status ToAbsl(const grpc::Status& status, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

}  // namespace

GatewayStubs::GatewayStubs(const std::shared_ptr<grpc::Channel>& channel)
    : gateway(v1::Gateway::NewStub(channel)),
      admin(v1::Admin::NewStub(channel)),
      health(grpc::health::v1::Health::NewStub(channel)) {}

absl::StatusOr<std::map<std::string, int64_t>> StoredDocs(DevCluster& cluster,
                                                          const std::string& index) {
  const absl::StatusOr<std::string> body = cluster.Docs(index);
  if (absl::IsNotFound(body.status())) return std::map<std::string, int64_t>{};
  if (!body.ok()) return body.status();
  google::protobuf::Struct parsed;
  if (!google::protobuf::util::JsonStringToMessage(*body, &parsed).ok()) {
    return absl::InternalError(absl::StrCat("GET /docs/", index, " is not JSON: ", *body));
  }
  std::map<std::string, int64_t> docs;
  const auto listed = parsed.fields().find("docs");
  if (listed == parsed.fields().end()) return docs;
  for (const auto& doc : listed->second.list_value().values()) {
    const auto& fields = doc.struct_value().fields();
    const auto id = fields.find("_id");
    const auto version = fields.find("_version");
    if (id == fields.end() || version == fields.end()) {
      return absl::InternalError(
          absl::StrCat("GET /docs/", index, ": an entry without _id or ", "_version: ", *body));
    }
    docs[id->second.string_value()] = static_cast<int64_t>(version->second.number_value());
  }
  return docs;
}

std::map<std::string, int64_t> StoredDocsOrFail(DevCluster& cluster, const std::string& index) {
  absl::StatusOr<std::map<std::string, int64_t>> docs = StoredDocs(cluster, index);
  if (!docs.ok()) {
    ADD_FAILURE() << "documents of " << index << ": " << docs.status();
    return {};
  }
  return *std::move(docs);
}

void IngestOutcome::Take(const v1::IngestResponse& response) {
  for (const v1::BulkItemResult& result : response.results()) {
    if (summaries > 0) ++results_after_summary;
    if (!results.emplace(result.seq(), result).second) ++duplicates;
  }
  if (response.has_summary()) {
    ++summaries;
    summary = response.summary();
  }
}

IngestOutcome RunIngest(v1::Gateway::Stub& gateway, const std::vector<v1::IngestRequest>& messages,
                        absl::Duration timeout, const std::function<void(size_t)>& before_message) {
  IngestOutcome outcome;
  auto context = CallContext(timeout);
  auto stream = gateway.Ingest(context.get());
  std::thread writer([&] {
    for (size_t i = 0; i < messages.size(); ++i) {
      if (before_message) before_message(i);
      if (!stream->Write(messages[i])) break;
    }
    stream->WritesDone();
  });
  v1::IngestResponse response;
  while (stream->Read(&response)) outcome.Take(response);
  writer.join();
  outcome.status = stream->Finish();
  return outcome;
}

std::vector<v1::IngestRequest> IngestMessages(const std::string& index, int count, int per_message,
                                              size_t source_bytes, const std::string& id_prefix,
                                              uint64_t first_seq) {
  std::vector<v1::IngestRequest> messages;
  const std::string padding(source_bytes, 'x');
  for (int i = 0; i < count; ++i) {
    if (i % per_message == 0) {
      messages.emplace_back();
      if (i == 0) messages.back().set_index(index);
    }
    v1::BulkOp* op = messages.back().add_ops();
    op->set_type(v1::OP_TYPE_INDEX);
    op->set_id(absl::StrCat(id_prefix, absl::Dec(i, absl::kZeroPad5)));
    op->set_source_json(absl::StrCat(R"({"n":)", i, R"(,"pad":")", padding, "\"}"));
    op->set_seq(first_seq + i);
  }
  return messages;
}

absl::StatusOr<v1::PoolStats> PoolStatsOf(v1::Admin::Stub& admin) {
  v1::PoolStats stats;
  const grpc::Status status = admin.GetPoolStats(CallContext().get(), {}, &stats);
  if (!status.ok()) return ToAbsl(status, "GetPoolStats");
  return stats;
}

v1::NodeStats NodeAt(const v1::PoolStats& stats, const std::string& address) {
  for (const v1::NodeStats& node : stats.nodes()) {
    if (node.address() == address) return node;
  }
  return {};
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> HealthOf(
    grpc::health::v1::Health::Stub& health, const std::string& service) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health.Check(CallContext(absl::Seconds(5)).get(), request, &response);
  if (!status.ok()) return ToAbsl(status, "Health/Check");
  return response.status();
}

}  // namespace esgw::testing
