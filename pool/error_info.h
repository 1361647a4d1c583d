// Machine-readable error details carried on an absl::Status as payloads, so that code below
// server/ (which knows no protobuf or gRPC) can say why something failed. server/ turns them into
// a google.rpc.ErrorInfo (domain "esgw.dev") in the gRPC status details.
// Thread-safe: free functions over values.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace esgw {

inline constexpr char kErrorDomain[] = "esgw.dev";

// A google.rpc.ErrorInfo without the protobuf: reason is UPPER_SNAKE_CASE, e.g.
// "INDEX_NOT_FOUND_EXCEPTION" or "INVALID_FIELD"; metadata holds e.g. es_type, es_reason,
// http_status, field.
struct ErrorInfo {
  std::string reason;
  std::map<std::string, std::string> metadata;
};

// Returns status with info attached (status unchanged when it is OK).
absl::Status WithErrorInfo(absl::Status status, const ErrorInfo& info);

// The ErrorInfo attached to status, or an empty one (reason "") when none is.
ErrorInfo GetErrorInfo(const absl::Status& status);

// An INVALID_ARGUMENT status for a request field, with ErrorInfo reason "INVALID_FIELD" and
// metadata field=<field>. message should name the rule, e.g. "must be a JSON object".
absl::Status InvalidField(absl::string_view field, absl::string_view message);

}  // namespace esgw
