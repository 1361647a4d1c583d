// The write path's first half: validates Bulk and Ingest operations, encodes each as the two
// NDJSON lines of Elasticsearch's _bulk API, and packs encoded operations into batches by size
// and count. Thread-safe: pure functions (JSON validation uses a thread-local parser).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "esgw/v1/common.pb.h"

namespace esgw {

// What an operation falls back to when it sets no index, routing or pipeline of its own:
// BulkRequest.index/routing/pipeline, or the first IngestRequest's.
struct BulkDefaults {
  std::string index = "";
  std::string routing = "";
  std::string pipeline = "";
};

// One validated operation, ready to go into a _bulk body.
struct EncodedOp {
  // The caller's tag (BulkOp.seq), echoed in the result.
  uint64_t seq = 0;
  v1::OpType type = v1::OP_TYPE_UNSPECIFIED;
  // The target index (the operation's or the default) and the id ("" when Elasticsearch assigns
  // one), for results reported without an Elasticsearch answer.
  std::string index = "";
  std::string id = "";
  // The action line and, except for delete, the source line; each ends in '\n'.
  std::string ndjson = "";
  // Identifies the document (index, id, routing) to keep writes to it in order; "" when the
  // operation has no explicit id (Elasticsearch then creates a new document).
  std::string document_key = "";
  bool has_id = false;
  // Bytes of source_json as the client sent it (IngestSummary.bytes).
  size_t payload_bytes = 0;
};

// Batching and per-item retry settings of the write path.
struct BulkSettings {
  // A batch holds at most this many NDJSON bytes and this many operations; an operation larger
  // than max_batch_bytes goes alone.
  size_t max_batch_bytes = 5 * 1024 * 1024;
  int max_batch_ops = 1000;
  // Backoff before resending items rejected for load: retry_initial, doubling up to retry_max,
  // with +-20 % jitter.
  absl::Duration retry_initial = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(5);
};

// "index", "create", "update" or "delete" (the _bulk action name); "" for anything else.
absl::string_view BulkActionName(v1::OpType type);

// Validates op and encodes it. field names the operation in errors, e.g. "ops[3]". Returns
// INVALID_ARGUMENT (pool/error_info.h InvalidField) naming the field, e.g. "ops[3].source_json",
// and the rule, when: type is unset; there is no index or it is not a valid write target (a
// default index in error is named "index"); update or delete has no id; an id is over 512 bytes
// or not UTF-8; source_json is missing or not a JSON object for index, create or update, or set
// for delete; routing or pipeline (or the defaults, named "routing" and "pipeline") hold control
// characters or are over 512 bytes; delete names a pipeline; only one of if_seq_no and
// if_primary_term is set, either is out of range, or a create sets them.
absl::StatusOr<EncodedOp> EncodeBulkOp(const v1::BulkOp& op, const BulkDefaults& defaults,
                                       absl::string_view field);

// Item errors carry at most this many bytes of reason (cut on a UTF-8 boundary).
inline constexpr size_t kMaxItemReasonBytes = 2048;

// A failed operation's result as esgw reports it when Elasticsearch gave none (not applied,
// outcome unknown, refused by validation): seq, index, id, the HTTP status and an error of type
// with reason, which is bounded to kMaxItemReasonBytes.
v1::BulkItemResult FailedItem(uint64_t seq, absl::string_view index, absl::string_view id,
                              int http_status, absl::string_view type, absl::string_view reason);

// Whether resending op after it may have been applied is harmless: index or delete with an
// explicit id (DESIGN.md section 3).
bool IsIdempotentOp(const EncodedOp& op);
// True when every op is IsIdempotentOp: the whole _bulk request may then be retried after a soft
// failure. True for no ops.
bool WholeBatchIdempotent(absl::Span<const EncodedOp> ops);

// Whether an op of op_bytes NDJSON bytes may join a batch that already holds batch_ops ops of
// batch_bytes bytes. An empty batch takes any op, however large.
bool FitsInBatch(size_t batch_bytes, size_t batch_ops, size_t op_bytes,
                 const BulkSettings& settings);

// Packs ops, in order, into batches within both limits; returns how many ops each batch takes.
std::vector<size_t> SplitIntoBatches(absl::Span<const EncodedOp> ops, const BulkSettings& settings);

}  // namespace esgw
