#include "tests/devcluster/es_error.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace esgw::devcluster {
namespace {

constexpr absl::string_view kPayloadUrl = "esgw.devcluster/es_error";

absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 503:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

Json RootCauseJson(const EsError& error) {
  Json out = Json::object();
  out["type"] = error.type;
  out["reason"] = error.reason;
  for (const auto& [key, value] : error.extra.items()) out[key] = value;
  return out;
}

const EsError& InnermostCause(const EsError& error) {
  const EsError* current = &error;
  while (current->caused_by != nullptr && current->root_cause_override == nullptr) {
    current = current->caused_by.get();
  }
  if (current->root_cause_override != nullptr) return *current->root_cause_override;
  return *current;
}

EsError FromJson(const Json& json, int status) {
  EsError error;
  error.status = status;
  error.type = GetString(json, "type").value_or("exception");
  error.reason = GetString(json, "reason").value_or("");
  if (const Json* extra = Find(json, "extra"); extra != nullptr) error.extra = *extra;
  if (const Json* top = Find(json, "top_extra"); top != nullptr) error.top_extra = *top;
  if (const Json* cause = Find(json, "caused_by"); cause != nullptr) {
    error.caused_by = std::make_shared<EsError>(FromJson(*cause, status));
  }
  if (const Json* root = Find(json, "root_cause_override"); root != nullptr) {
    error.root_cause_override = std::make_shared<EsError>(FromJson(*root, status));
  }
  return error;
}

Json ToInternalJson(const EsError& error) {
  Json out = Json::object();
  out["type"] = error.type;
  out["reason"] = error.reason;
  out["extra"] = error.extra;
  out["top_extra"] = error.top_extra;
  if (error.caused_by != nullptr) out["caused_by"] = ToInternalJson(*error.caused_by);
  if (error.root_cause_override != nullptr) {
    out["root_cause_override"] = ToInternalJson(*error.root_cause_override);
  }
  return out;
}

}  // namespace

Json EsError::ToFlatJson() const {
  Json out = RootCauseJson(*this);
  if (caused_by != nullptr) out["caused_by"] = caused_by->ToFlatJson();
  return out;
}

Json EsError::ToResponseJson() const {
  Json error = Json::object();
  error["root_cause"] = Json::array({RootCauseJson(InnermostCause(*this))});
  error["type"] = type;
  error["reason"] = reason;
  for (const auto& [key, value] : extra.items()) error[key] = value;
  for (const auto& [key, value] : top_extra.items()) error[key] = value;
  if (caused_by != nullptr) error["caused_by"] = caused_by->ToFlatJson();
  Json out = Json::object();
  out["error"] = std::move(error);
  out["status"] = status;
  return out;
}

EsError IndexNotFound(absl::string_view index, absl::string_view resource_type) {
  EsError error;
  error.status = 404;
  error.type = "index_not_found_exception";
  error.reason = absl::StrCat("no such index [", index, "]");
  error.extra["resource.type"] = std::string(resource_type);
  error.extra["resource.id"] = std::string(index);
  error.extra["index_uuid"] = "_na_";
  error.extra["index"] = std::string(index);
  return error;
}

EsError IllegalArgument(absl::string_view reason) {
  EsError error;
  error.status = 400;
  error.type = "illegal_argument_exception";
  error.reason = std::string(reason);
  return error;
}

EsError ParsingError(absl::string_view reason, int line, int column) {
  EsError error;
  error.status = 400;
  error.type = "parsing_exception";
  error.reason = std::string(reason);
  error.extra["line"] = line;
  error.extra["col"] = column;
  return error;
}

EsError XContentParseError(absl::string_view body) {
  JsonSyntaxError syntax = DescribeJsonError(body);
  EsError error;
  error.status = 400;
  error.type = "x_content_parse_exception";
  error.reason = absl::StrCat("[", syntax.line, ":", syntax.column, "] ", syntax.message);
  auto cause = std::make_shared<EsError>();
  cause->status = 400;
  cause->type = "json_parse_exception";
  cause->reason = syntax.message;
  error.caused_by = std::move(cause);
  // ES reports the x_content_parse_exception itself as the root cause.
  error.root_cause_override = std::make_shared<EsError>();
  error.root_cause_override->type = error.type;
  error.root_cause_override->reason = error.reason;
  return error;
}

EsError ActionValidation(absl::string_view what) {
  EsError error;
  error.status = 400;
  error.type = "action_request_validation_exception";
  error.reason = absl::StrCat("Validation Failed: 1: ", what, ";");
  return error;
}

EsError InvalidIndexName(absl::string_view index, absl::string_view why) {
  EsError error;
  error.status = 400;
  error.type = "invalid_index_name_exception";
  error.reason = absl::StrCat("Invalid index name [", index, "], ", why);
  error.extra["index_uuid"] = "_na_";
  error.extra["index"] = std::string(index);
  return error;
}

EsError SearchPhaseFailure(const EsError& shard_error, absl::string_view index,
                           absl::string_view node_id) {
  EsError error;
  error.status = shard_error.status;
  error.type = "search_phase_execution_exception";
  error.reason = "all shards failed";
  error.top_extra["phase"] = "query";
  error.top_extra["grouped"] = true;
  Json failed = Json::object();
  failed["shard"] = 0;
  failed["index"] = std::string(index);
  failed["node"] = std::string(node_id);
  failed["reason"] = shard_error.ToFlatJson();
  error.top_extra["failed_shards"] = Json::array({failed});
  error.caused_by = std::make_shared<EsError>(shard_error);
  error.root_cause_override = std::make_shared<EsError>(shard_error);
  error.root_cause_override->caused_by = nullptr;
  return error;
}

absl::Status ToStatus(const EsError& error) {
  absl::Status status(CodeForHttpStatus(error.status), error.reason);
  Json payload = ToInternalJson(error);
  payload["status"] = error.status;
  status.SetPayload(kPayloadUrl, absl::Cord(Dump(payload)));
  return status;
}

EsError FromStatus(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (payload.has_value()) {
    std::optional<Json> json = ParseJson(std::string(*payload));
    if (json.has_value()) {
      return FromJson(*json, static_cast<int>(GetInt(*json, "status").value_or(500)));
    }
  }
  EsError error;
  error.status = 500;
  error.type = "exception";
  error.reason = std::string(status.message());
  return error;
}

}  // namespace esgw::devcluster
