// OpReader: turns input lines into BulkOps for esgw-cli bulk and ingest. Two formats:
//  - bulk NDJSON, as Elasticsearch's _bulk takes it: an action line
//    ({"index":{"_index":"products","_id":"1"}}, also create, update, delete) and, except for
//    delete, a document line. A top-level "error" key next to the action (as esgw-cli writes
//    in its failed-items file) is ignored, so that file can be fed back as it is;
//  - JSON lines: one document per line, written to the default index, with the id taken from
//    a field of the document when one is named.
// Auto-detection looks at the first line. Blank lines are skipped.
//
// Two kinds of trouble. An op that cannot be sent as it is (its document is not a JSON object,
// it lacks the id field, it is too large) comes back with InputOp::error set and is reported as
// failed, never sent. Input whose structure is broken (an action line that is not one, an
// action field esgw does not carry, a document line missing at the end) stops the reader:
// status() says where, as INVALID_ARGUMENT "data.ndjson:17: ..."; an op with no index and no
// default index stops it as FAILED_PRECONDITION naming --index.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "client/cli/line_reader.h"
#include "esgw/v1/common.pb.h"

namespace esgw::cli {

// Ops larger than this are refused locally (they could not travel in one gRPC message anyway).
inline constexpr size_t kMaxOpBytes = 32 << 20;

struct InputOp {
  // seq numbers ops from 1 in input order. index is empty when the default index applies.
  v1::BulkOp op;
  // Where its first line is: "data.ndjson:17".
  std::string where;
  // Input bytes of its lines.
  int64_t bytes = 0;
  // Set when the op is not sent (see above); its code is INVALID_ARGUMENT.
  absl::Status error;
};

class OpReader {
 public:
  enum class Format { kAuto, kBulk, kJsonLines };
  struct Options {
    Format format = Format::kAuto;
    // Default index: for ops without one, and every JSON-lines document.
    std::string index = "";
    // JSON lines: the document field holding the id (a string or a whole number); empty lets
    // Elasticsearch choose ids.
    std::string id_field = "";
    // JSON lines: OP_TYPE_INDEX or OP_TYPE_CREATE.
    v1::OpType op_type = v1::OP_TYPE_INDEX;
  };

  // lines must outlive the reader.
  OpReader(Options options, LineReader* lines);

  // The next op into *op; false at the end of the input, or when it stopped (status()).
  bool Next(InputOp* op);
  const absl::Status& status() const { return status_; }
  // The format in use, once the first line has been read (kAuto before).
  Format format() const { return format_; }

 private:
  bool Fail(absl::Status status);
  bool NextNonBlank(absl::string_view* line);
  bool ReadBulkOp(absl::string_view action_line, InputOp* op);
  void ReadDocument(absl::string_view line, InputOp* op);

  Options options_;
  LineReader* lines_;
  Format format_;
  uint64_t next_seq_ = 1;
  absl::Status status_;
};

// True when line is a bulk action line ({"index": {...metadata...}} and the like).
bool LooksLikeBulkAction(absl::string_view line);

}  // namespace esgw::cli
