// Checks on client input before anything reaches Elasticsearch, and the encoding of what goes
// into a URL. Every rejection is INVALID_ARGUMENT naming the field and the rule, with an
// ErrorInfo (reason INVALID_FIELD, metadata field). Thread-safe: pure functions.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace esgw {

enum class IndexUse {
  // A concrete index to write to or read one document from: no wildcards.
  kWrite,
  // A search target: wildcards (*), "_all", and "-name" exclusions after another target.
  kRead,
};

// Elasticsearch's index name rules: non-empty, at most 255 bytes, lowercase, none of
// \ / * ? " < > | , # : or space (except * for kRead), not "." or "..", not starting with -, _
// or + (except "_all" and "-" exclusions for kRead). field names the field in errors, e.g.
// "indices[2]".
absl::Status ValidateIndexName(absl::string_view name, IndexUse use, absl::string_view field,
                               bool first_target = true);

// Elasticsearch's document id rules: non-empty and at most 512 bytes. Any other byte is allowed
// (ids are percent-encoded in paths and JSON-escaped in bodies). field names the field in errors.
absl::Status ValidateDocumentId(absl::string_view id, absl::string_view field);

// Percent-encodes every byte outside RFC 3986's unreserved set, so that ids, routing and index
// names can never change the path or query they are put in.
std::string PercentEncode(absl::string_view text);

// A short URL parameter value: non-empty, at most max_bytes, no control characters.
absl::Status ValidateParamValue(absl::string_view value, absl::string_view field,
                                size_t max_bytes = 512);

// A request body: JSON text that must be an object. Returns the text to send (body_json as is,
// or body_struct rendered as JSON); "{}" when neither is set. The JSON is fully validated, so a
// syntax error is reported by esgw with its position rather than by Elasticsearch.
absl::StatusOr<std::string> JsonObjectBody(bool has_json, const std::string& body_json,
                                           bool has_struct,
                                           const google::protobuf::Struct& body_struct,
                                           absl::string_view json_field,
                                           absl::string_view struct_field);

// RESOURCE_EXHAUSTED when a request (or stream message) of `bytes` is over `limit`, naming the
// limit in the message ("request is 70012 bytes; max_read_request_bytes allows 65536") and in an
// ErrorInfo (reason LIMIT_EXCEEDED, metadata limit).
absl::Status CheckRequestSize(size_t bytes, size_t limit, absl::string_view limit_name);

}  // namespace esgw
