// Elasticsearch-shaped errors: a type, a reason, extra root-cause fields and an optional cause,
// rendered as ES 8 renders them ({"error":{"root_cause":[...],...},"status":N}, or the flat
// form used inside bulk items). EsErrors travel through absl::Status as a payload.
// Value type; thread-compatible.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tests/devcluster/json.h"

namespace esgw::devcluster {

struct EsError {
  int status = 500;
  std::string type;
  std::string reason;
  Json extra = Json::object();      // extra fields after type/reason (index, line, col ...)
  Json top_extra = Json::object();  // fields only on the top-level error (phase, grouped ...)
  std::shared_ptr<EsError> caused_by;
  // When set, the root cause is this error instead of the innermost cause.
  std::shared_ptr<EsError> root_cause_override;

  // {"error":{"root_cause":[...],"type":...,"reason":...,...},"status":N}
  Json ToResponseJson() const;
  // {"type":...,"reason":...,...,"caused_by":{...}} as nested in bulk items and caused_by.
  Json ToFlatJson() const;
};

// Common Elasticsearch errors with the exact reason texts ES 8 uses.
EsError IndexNotFound(absl::string_view index, absl::string_view resource_type = "index_or_alias");
EsError IllegalArgument(absl::string_view reason);
EsError ParsingError(absl::string_view reason, int line, int column);
EsError XContentParseError(absl::string_view body);
EsError ActionValidation(absl::string_view what);  // "Validation Failed: 1: <what>;"
EsError InvalidIndexName(absl::string_view index, absl::string_view why);
// Wraps a shard-level failure the way a failed search phase reports it.
EsError SearchPhaseFailure(const EsError& shard_error, absl::string_view index,
                           absl::string_view node_id);

// Carries `error` in an absl::Status (code derived from the HTTP status).
absl::Status ToStatus(const EsError& error);
// Recovers the EsError of a status made by ToStatus; other statuses become a 500 "exception".
EsError FromStatus(const absl::Status& status);

}  // namespace esgw::devcluster
