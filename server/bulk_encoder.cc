#include "server/bulk_encoder.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "pool/error_info.h"
#include "pool/status_macros.h"
#include "pool/utf8.h"
#include "server/validation.h"

namespace esgw {
namespace {

// Elasticsearch's limit on _id.
constexpr size_t kMaxIdBytes = 512;

// A routing or pipeline value: short and free of control characters, as it could also end up
// in a URL parameter or a log line.
absl::Status ValidateShortValue(absl::string_view value, absl::string_view field) {
  ESGW_RETURN_IF_ERROR(ValidateParamValue(value, field, kMaxIdBytes));
  if (!IsUtf8(value)) return InvalidField(field, "must be valid UTF-8");
  return absl::OkStatus();
}

// source must be followed by simdjson::SIMDJSON_PADDING readable bytes (it is parsed where it
// lies, not copied). field() names it in an error; it is only built for one.
template <typename FieldName>
absl::Status ValidateSourceObject(absl::string_view source, const FieldName& field) {
  // One parser per thread: it keeps its buffers, so validation allocates nothing once warm.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error =
      parser.parse(source.data(), source.size(), /*realloc_if_needed=*/false).get(root);
  if (error != simdjson::SUCCESS) {
    return InvalidField(field(),
                        absl::StrCat("must be valid JSON: ", simdjson::error_message(error)));
  }
  if (!root.is_object()) return InvalidField(field(), "must be a JSON object");
  return absl::OkStatus();
}

// A key that cannot collide for different (index, id, routing) triples.
std::string DocumentKey(absl::string_view index, absl::string_view id, absl::string_view routing) {
  return absl::StrCat(index.size(), ":", index, id.size(), ":", id, routing);
}

}  // namespace

absl::string_view BulkActionName(v1::OpType type) {
  switch (type) {
    case v1::OP_TYPE_INDEX:
      return "index";
    case v1::OP_TYPE_CREATE:
      return "create";
    case v1::OP_TYPE_UPDATE:
      return "update";
    case v1::OP_TYPE_DELETE:
      return "delete";
    default:
      return "";
  }
}

absl::StatusOr<EncodedOp> EncodeBulkOp(const v1::BulkOp& op, const BulkDefaults& defaults,
                                       absl::string_view field) {
  const auto at = [field](absl::string_view name) { return absl::StrCat(field, ".", name); };
  const v1::OpType type = op.type();
  const absl::string_view action = BulkActionName(type);
  if (action.empty()) {
    return InvalidField(at("type"),
                        "must be OP_TYPE_INDEX, OP_TYPE_CREATE, OP_TYPE_UPDATE or OP_TYPE_DELETE");
  }
  const bool is_delete = type == v1::OP_TYPE_DELETE;
  const absl::string_view type_name = v1::OpType_Name(type);

  // Index: the operation's, else the default; a bad default is the request's field.
  std::string index_field;
  const std::string* index = &op.index();
  if (!op.index().empty()) {
    index_field = at("index");
  } else if (!defaults.index.empty()) {
    index = &defaults.index;
    index_field = "index";
  } else {
    return InvalidField(at("index"), "required when the request sets no default index");
  }
  ESGW_RETURN_IF_ERROR(ValidateIndexName(*index, IndexUse::kWrite, index_field));
  if (!IsUtf8(*index)) return InvalidField(index_field, "must be valid UTF-8");

  const std::string& id = op.id();
  if (id.empty() && (type == v1::OP_TYPE_UPDATE || is_delete)) {
    return InvalidField(at("id"), absl::StrCat("required for ", type_name));
  }
  if (id.size() > kMaxIdBytes) {
    return InvalidField(at("id"), absl::StrCat("must be at most ", kMaxIdBytes, " bytes"));
  }
  if (!IsUtf8(id)) return InvalidField(at("id"), "must be valid UTF-8");

  if (is_delete) {
    if (!op.source_json().empty()) {
      return InvalidField(at("source_json"), "must be empty for OP_TYPE_DELETE");
    }
  } else {
    if (op.source_json().empty()) {
      return InvalidField(at("source_json"),
                          absl::StrCat("required for ", type_name, ": a JSON object"));
    }
    // Checked as JSON below, once it is in place in the encoded line.
  }

  const std::string* routing = &op.routing();
  if (!op.routing().empty()) {
    ESGW_RETURN_IF_ERROR(ValidateShortValue(op.routing(), at("routing")));
  } else if (!defaults.routing.empty()) {
    ESGW_RETURN_IF_ERROR(ValidateShortValue(defaults.routing, "routing"));
    routing = &defaults.routing;
  }

  // Elasticsearch runs no pipeline for a delete: an explicit one is a client mistake, the
  // request's default simply does not apply.
  const std::string* pipeline = &op.pipeline();
  if (!op.pipeline().empty()) {
    if (is_delete) {
      return InvalidField(at("pipeline"), "must be empty for OP_TYPE_DELETE");
    }
    ESGW_RETURN_IF_ERROR(ValidateShortValue(op.pipeline(), at("pipeline")));
  } else if (!defaults.pipeline.empty()) {
    ESGW_RETURN_IF_ERROR(ValidateShortValue(defaults.pipeline, "pipeline"));
    if (!is_delete) pipeline = &defaults.pipeline;
  }

  if (op.has_if_seq_no() != op.has_if_primary_term()) {
    return InvalidField(at(op.has_if_seq_no() ? "if_primary_term" : "if_seq_no"),
                        "if_seq_no and if_primary_term must be set together");
  }
  if (op.has_if_seq_no()) {
    if (type == v1::OP_TYPE_CREATE) {
      return InvalidField(at("if_seq_no"),
                          "not supported by OP_TYPE_CREATE; use OP_TYPE_INDEX for a conditional "
                          "write");
    }
    if (op.if_seq_no() < 0) return InvalidField(at("if_seq_no"), "must not be negative");
    if (op.if_primary_term() <= 0) return InvalidField(at("if_primary_term"), "must be positive");
  }

  EncodedOp out;
  out.seq = op.seq();
  out.type = type;
  out.index = *index;
  out.id = id;
  out.has_id = !id.empty();
  out.payload_bytes = op.source_json().size();
  if (out.has_id) out.document_key = DocumentKey(*index, id, *routing);

  std::string& line = out.ndjson;
  // With room for simdjson's padding after the source, which is validated where it lies.
  line.reserve(64 + index->size() + id.size() + routing->size() + pipeline->size() +
               op.source_json().size() + simdjson::SIMDJSON_PADDING);
  absl::StrAppend(&line, "{\"", action, "\":{\"_index\":");
  AppendJsonString(&line, *index);
  if (!id.empty()) {
    line.append(",\"_id\":");
    AppendJsonString(&line, id);
  }
  if (!routing->empty()) {
    line.append(",\"routing\":");
    AppendJsonString(&line, *routing);
  }
  if (!pipeline->empty()) {
    line.append(",\"pipeline\":");
    AppendJsonString(&line, *pipeline);
  }
  if (op.has_if_seq_no()) {
    absl::StrAppend(&line, ",\"if_seq_no\":", op.if_seq_no(),
                    ",\"if_primary_term\":", op.if_primary_term());
  }
  line.append("}}\n");
  if (!is_delete) {
    // The source is valid JSON, so a raw CR or LF in it can only be whitespace between tokens
    // (strings cannot hold them unescaped): a space keeps the meaning and the line one line.
    // memchr rather than a byte loop: it goes through a kilobyte in a few dozen instructions,
    // and most sources have no line break at all.
    const size_t start = line.size();
    line.append(op.source_json());
    // An action line that escaping made longer than reserved may have eaten the padding.
    if (line.capacity() - line.size() < simdjson::SIMDJSON_PADDING) {
      line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
    }
    ESGW_RETURN_IF_ERROR(ValidateSourceObject(absl::string_view(line).substr(start),
                                              [&] { return at("source_json"); }));
    char* const end = line.data() + line.size();
    for (const char lf_or_cr : {'\n', '\r'}) {
      char* next = line.data() + start;
      while ((next = static_cast<char*>(std::memchr(next, lf_or_cr, end - next))) != nullptr)
        *next++ = ' ';
    }
    line.push_back('\n');
  }
  return out;
}

v1::BulkItemResult FailedItem(uint64_t seq, absl::string_view index, absl::string_view id,
                              int http_status, absl::string_view type, absl::string_view reason) {
  v1::BulkItemResult result;
  result.set_seq(seq);
  result.set_index(std::string(index));
  result.set_id(std::string(id));
  result.set_status(http_status);
  result.mutable_error()->set_type(std::string(type));
  result.mutable_error()->set_reason(BoundedUtf8(reason, kMaxItemReasonBytes));
  return result;
}

bool IsIdempotentOp(const EncodedOp& op) {
  return op.has_id && (op.type == v1::OP_TYPE_INDEX || op.type == v1::OP_TYPE_DELETE);
}

bool WholeBatchIdempotent(absl::Span<const EncodedOp> ops) {
  return std::all_of(ops.begin(), ops.end(), IsIdempotentOp);
}

bool FitsInBatch(size_t batch_bytes, size_t batch_ops, size_t op_bytes,
                 const BulkSettings& settings) {
  if (batch_ops == 0) return true;
  if (batch_ops >= static_cast<size_t>(std::max(settings.max_batch_ops, 1))) return false;
  return batch_bytes + op_bytes <= settings.max_batch_bytes;
}

std::vector<size_t> SplitIntoBatches(absl::Span<const EncodedOp> ops,
                                     const BulkSettings& settings) {
  std::vector<size_t> batches;
  size_t bytes = 0;
  size_t count = 0;
  for (const EncodedOp& op : ops) {
    if (!FitsInBatch(bytes, count, op.ndjson.size(), settings)) {
      batches.push_back(count);
      bytes = 0;
      count = 0;
    }
    bytes += op.ndjson.size();
    ++count;
  }
  if (count > 0) batches.push_back(count);
  return batches;
}

}  // namespace esgw
