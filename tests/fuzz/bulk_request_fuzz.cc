// Fuzz target: any bytes as a serialized BulkRequest, whose ops are validated and encoded one by
// one by EncodeBulkOp with the request's defaults, as the gateway does, then packed into batches
// by SplitIntoBatches (server/bulk_encoder.h).
// Invariants: a rejection is INVALID_ARGUMENT naming the op's field (or the request's default);
// an accepted op is one action line ({"<action>":{...}} naming exactly its index, id, routing and
// pipeline) and, except for delete, its source on one line, each a JSON object; it is
// idempotent exactly when it is an index or delete with an id; batches hold every op once, in
// order, within both limits (an op larger than the byte limit alone).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "esgw/v1/gateway.pb.h"
#include "pool/utf8.h"
#include "server/bulk_encoder.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/request_checks.h"

namespace {

simdjson::dom::parser& Parser() {
  static simdjson::dom::parser parser;
  return parser;
}

// The member key of the action line's metadata object, as a string, or "" when absent.
std::string Member(simdjson::dom::object metadata, std::string_view key, bool* present) {
  std::string_view text;
  *present = false;
  for (const simdjson::dom::key_value_pair member : metadata) {
    if (member.key != key) continue;
    ESGW_FUZZ_CHECK(!*present);
    *present = true;
    ESGW_FUZZ_CHECK(member.value.get_string().get(text) == simdjson::SUCCESS);
  }
  return std::string(text);
}

void CheckEncoded(const esgw::v1::BulkOp& op, const esgw::BulkDefaults& defaults,
                  const esgw::EncodedOp& encoded) {
  const bool is_delete = op.type() == esgw::v1::OP_TYPE_DELETE;
  ESGW_FUZZ_CHECK(encoded.seq == op.seq());
  ESGW_FUZZ_CHECK(encoded.type == op.type());
  ESGW_FUZZ_CHECK(encoded.index == (op.index().empty() ? defaults.index : op.index()));
  ESGW_FUZZ_CHECK(encoded.id == op.id());
  ESGW_FUZZ_CHECK(encoded.has_id == !op.id().empty());
  ESGW_FUZZ_CHECK(encoded.document_key.empty() == !encoded.has_id);
  ESGW_FUZZ_CHECK(encoded.payload_bytes == op.source_json().size());
  ESGW_FUZZ_CHECK(esgw::IsIdempotentOp(encoded) ==
                  (encoded.has_id && (op.type() == esgw::v1::OP_TYPE_INDEX || is_delete)));

  ESGW_FUZZ_CHECK(!encoded.ndjson.empty() && encoded.ndjson.back() == '\n');
  std::vector<absl::string_view> lines = absl::StrSplit(encoded.ndjson, '\n');
  lines.pop_back();
  ESGW_FUZZ_CHECK(lines.size() == (is_delete ? 1u : 2u));

  simdjson::dom::element action;
  ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsJsonObject(lines[0], Parser(), &action), lines[0]);
  simdjson::dom::object action_object;
  ESGW_FUZZ_CHECK(action.get_object().get(action_object) == simdjson::SUCCESS);
  ESGW_FUZZ_CHECK(action_object.size() == 1);
  const simdjson::dom::key_value_pair only = *action_object.begin();
  const absl::string_view action_name = esgw::BulkActionName(op.type());
  ESGW_FUZZ_CHECK(only.key == std::string_view(action_name.data(), action_name.size()));
  simdjson::dom::object metadata;
  ESGW_FUZZ_CHECK(only.value.get_object().get(metadata) == simdjson::SUCCESS);
  bool present = false;
  ESGW_FUZZ_CHECK(Member(metadata, "_index", &present) == encoded.index && present);
  ESGW_FUZZ_CHECK(Member(metadata, "_id", &present) == op.id());
  ESGW_FUZZ_CHECK(present == encoded.has_id);
  const std::string routing = op.routing().empty() ? defaults.routing : op.routing();
  ESGW_FUZZ_CHECK(Member(metadata, "routing", &present) == routing);
  const std::string pipeline =
      is_delete ? "" : (op.pipeline().empty() ? defaults.pipeline : op.pipeline());
  ESGW_FUZZ_CHECK(Member(metadata, "pipeline", &present) == pipeline);
  for (const simdjson::dom::key_value_pair member : metadata) {
    const std::string_view key = member.key;
    ESGW_FUZZ_CHECK(key == "_index" || key == "_id" || key == "routing" || key == "pipeline" ||
                    key == "if_seq_no" || key == "if_primary_term");
  }
  if (!is_delete) {
    ESGW_FUZZ_CHECK_NOTE(esgw::fuzz::IsJsonObject(lines[1], Parser()), lines[1]);
    ESGW_FUZZ_CHECK(lines[1].size() == op.source_json().size());
    ESGW_FUZZ_CHECK(lines[1].find('\r') == absl::string_view::npos);
  }
}

void CheckBatches(const std::vector<esgw::EncodedOp>& ops, const esgw::BulkSettings& settings) {
  const std::vector<size_t> batches = esgw::SplitIntoBatches(ops, settings);
  size_t next = 0;
  for (const size_t count : batches) {
    ESGW_FUZZ_CHECK(count >= 1 && count <= static_cast<size_t>(settings.max_batch_ops));
    size_t bytes = 0;
    for (size_t i = next; i < next + count; ++i) bytes += ops[i].ndjson.size();
    ESGW_FUZZ_CHECK(bytes <= settings.max_batch_bytes || count == 1);
    // A batch ends only where the next op would not fit.
    if (next + count < ops.size()) {
      ESGW_FUZZ_CHECK(!esgw::FitsInBatch(bytes, count, ops[next + count].ndjson.size(), settings));
    }
    next += count;
  }
  ESGW_FUZZ_CHECK(next == ops.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  esgw::v1::BulkRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const esgw::BulkDefaults defaults{
      .index = request.index(), .routing = request.routing(), .pipeline = request.pipeline()};
  std::vector<esgw::EncodedOp> ops;
  for (int i = 0; i < request.ops_size(); ++i) {
    const std::string field = absl::StrCat("ops[", i, "]");
    absl::StatusOr<esgw::EncodedOp> encoded = esgw::EncodeBulkOp(request.ops(i), defaults, field);
    if (!encoded.ok()) {
      esgw::fuzz::CheckRejected(encoded.status());
      const std::string named = esgw::GetErrorInfo(encoded.status()).metadata["field"];
      ESGW_FUZZ_CHECK_NOTE(absl::StartsWith(named, field + ".") || named == "index" ||
                               named == "routing" || named == "pipeline",
                           named);
      // What the client gets back for an op refused alone (Ingest).
      const esgw::v1::BulkItemResult failed =
          esgw::FailedItem(request.ops(i).seq(), request.ops(i).index(), request.ops(i).id(), 400,
                           "esgw_invalid_op", encoded.status().message());
      ESGW_FUZZ_CHECK(failed.error().reason().size() <= esgw::kMaxItemReasonBytes + 3);
      esgw::fuzz::CheckStringsAreUtf8(failed);
      continue;
    }
    CheckEncoded(request.ops(i), defaults, *encoded);
    ops.push_back(*std::move(encoded));
  }
  CheckBatches(ops, esgw::BulkSettings{.max_batch_bytes = 512, .max_batch_ops = 3});
  CheckBatches(ops, esgw::BulkSettings{.max_batch_bytes = 1, .max_batch_ops = 1000});
  ESGW_FUZZ_CHECK(esgw::WholeBatchIdempotent(ops) ==
                  std::all_of(ops.begin(), ops.end(), esgw::IsIdempotentOp));
  return 0;
}
