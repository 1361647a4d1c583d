#include "client/cli/op_reader.h"

#include <simdjson.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/cli/json_text.h"

namespace esgw::cli {
namespace {

constexpr char kSupportedFields[] = "_index, _id, routing, pipeline, if_seq_no, if_primary_term";

simdjson::dom::parser& Parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

std::optional<v1::OpType> ActionType(std::string_view key) {
  if (key == "index") return v1::OP_TYPE_INDEX;
  if (key == "create") return v1::OP_TYPE_CREATE;
  if (key == "update") return v1::OP_TYPE_UPDATE;
  if (key == "delete") return v1::OP_TYPE_DELETE;
  return std::nullopt;
}

// A string, or a whole number written as digits (ids and routing values may be numbers).
std::optional<std::string> StringOrInteger(simdjson::dom::element value) {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) return std::string(text);
  int64_t number = 0;
  if (value.get_int64().get(number) == simdjson::SUCCESS) return absl::StrCat(number);
  uint64_t unsigned_number = 0;
  if (value.get_uint64().get(unsigned_number) == simdjson::SUCCESS) {
    return absl::StrCat(unsigned_number);
  }
  return std::nullopt;
}

// Parses a bulk action line into op (type and metadata). INVALID_ARGUMENT with the reason.
absl::Status ParseAction(absl::string_view line, v1::BulkOp* op) {
  simdjson::dom::element root;
  if (const auto error = Parser().parse(line.data(), line.size()).get(root);
      error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a bulk action line such as {\"index\":{\"_index\":\"x\"}}, got "
                     "text that is not valid JSON (",
                     simdjson::error_message(error), ")"));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "expected a bulk action line, got a JSON value that is not "
        "an object");
  }
  std::optional<v1::OpType> type;
  simdjson::dom::object metadata;
  for (const auto field : object) {
    if (field.key == "error") continue;  // written by esgw-cli next to a failed op
    const std::optional<v1::OpType> this_type = ActionType(field.key);
    if (!this_type.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected a bulk action (index, create, update or delete), got key \"",
                       std::string(field.key), "\""));
    }
    if (type.has_value()) {
      return absl::InvalidArgumentError("an action line must hold exactly one action");
    }
    type = this_type;
    if (field.value.get_object().get(metadata) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat("the \"", std::string(field.key),
                                                     "\" action must be an object of metadata"));
    }
  }
  if (!type.has_value()) {
    return absl::InvalidArgumentError(
        "expected a bulk action (index, create, update or delete), got an object with none");
  }
  op->set_type(*type);
  for (const auto field : metadata) {
    const std::string key(field.key);
    if (key == "_index" || key == "_id" || key == "routing" || key == "_routing" ||
        key == "pipeline") {
      std::optional<std::string> value = StringOrInteger(field.value);
      if (!value.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("action field \"", key, "\" must be a string"));
      }
      if (key == "_index") {
        op->set_index(*value);
      } else if (key == "_id") {
        op->set_id(*value);
      } else if (key == "pipeline") {
        op->set_pipeline(*value);
      } else {
        op->set_routing(*value);
      }
    } else if (key == "if_seq_no" || key == "if_primary_term") {
      int64_t number = 0;
      if (field.value.get_int64().get(number) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("action field \"", key, "\" must be a whole number"));
      }
      if (key == "if_seq_no") {
        op->set_if_seq_no(number);
      } else {
        op->set_if_primary_term(number);
      }
    } else {
      // Silently dropping version, retry_on_conflict and the like would change what the write
      // does, so the input is refused instead.
      return absl::InvalidArgumentError(absl::StrCat(
          "action field \"", key, "\" is not supported (esgw carries ", kSupportedFields, ")"));
    }
  }
  return absl::OkStatus();
}

bool Blank(absl::string_view line) { return absl::StripAsciiWhitespace(line).empty(); }

}  // namespace

bool LooksLikeBulkAction(absl::string_view line) {
  // The shape only (one action key whose value is an object); ParseAction then checks the
  // metadata, so that a bulk file with a field esgw does not carry is reported as such.
  simdjson::dom::object object;
  if (Parser().parse(line.data(), line.size()).get_object().get(object) != simdjson::SUCCESS) {
    return false;
  }
  int actions = 0;
  for (const auto field : object) {
    if (field.key == "error") continue;
    if (!ActionType(field.key).has_value() || !field.value.is_object()) return false;
    ++actions;
  }
  return actions == 1;
}

OpReader::OpReader(Options options, LineReader* lines)
    : options_(std::move(options)), lines_(lines), format_(options_.format) {}

bool OpReader::Fail(absl::Status status) {
  status_ = std::move(status);
  return false;
}

bool OpReader::NextNonBlank(absl::string_view* line) {
  while (lines_->Next(line)) {
    if (!Blank(*line)) return true;
  }
  if (!lines_->status().ok()) status_ = lines_->status();
  return false;
}

bool OpReader::Next(InputOp* op) {
  if (!status_.ok()) return false;
  *op = InputOp();
  absl::string_view line;
  if (!NextNonBlank(&line)) return false;
  const int64_t first_bytes = static_cast<int64_t>(line.size()) + 1;
  op->where = absl::StrCat(lines_->name(), ":", lines_->line_number());
  if (format_ == Format::kAuto) {
    format_ = LooksLikeBulkAction(line) ? Format::kBulk : Format::kJsonLines;
  }
  op->op.set_seq(next_seq_++);
  if (format_ == Format::kBulk) {
    if (!ReadBulkOp(line, op)) return false;
  } else {
    if (options_.index.empty()) {
      return Fail(absl::FailedPreconditionError(
          "--index: required for JSON-lines input (one document per line); bulk NDJSON input "
          "may name _index in each action instead"));
    }
    op->op.set_type(options_.op_type);
    ReadDocument(line, op);
  }
  op->bytes += first_bytes;
  if (op->error.ok() && op->bytes > static_cast<int64_t>(kMaxOpBytes)) {
    op->error = absl::InvalidArgumentError(absl::StrCat(
        "the op is ", op->bytes, " bytes; esgw-cli sends ops of at most ", kMaxOpBytes, " bytes"));
  }
  return true;
}

bool OpReader::ReadBulkOp(absl::string_view action_line, InputOp* op) {
  if (absl::Status status = ParseAction(action_line, &op->op); !status.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        op->where, ": ", status.message(),
        options_.format == Format::kAuto
            ? " (the input was read as bulk NDJSON from its first line; --format=jsonl reads "
              "it as JSON lines)"
            : "")));
  }
  if (op->op.index().empty() && options_.index.empty()) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("--index: required: the action at ", op->where, " names no _index")));
  }
  if (op->op.type() == v1::OP_TYPE_DELETE) return true;
  absl::string_view source;
  if (!NextNonBlank(&source)) {
    if (!status_.ok()) return false;
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        op->where, ": the input ends after this action line; its document line is missing")));
  }
  op->bytes = static_cast<int64_t>(source.size()) + 1;
  op->op.set_source_json(std::string(source));
  if (absl::Status status = CheckJsonObject(source); !status.ok()) {
    op->error = absl::InvalidArgumentError(
        absl::StrCat("its document line (", lines_->line_number(), ") is ", status.message()));
  }
  return true;
}

void OpReader::ReadDocument(absl::string_view line, InputOp* op) {
  op->op.set_source_json(std::string(line));
  simdjson::dom::element root;
  if (const auto error = Parser().parse(line.data(), line.size()).get(root);
      error != simdjson::SUCCESS) {
    op->error = absl::InvalidArgumentError(
        absl::StrCat("document is not valid JSON: ", simdjson::error_message(error)));
    return;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    op->error = absl::InvalidArgumentError("document is not a JSON object");
    return;
  }
  if (options_.id_field.empty()) return;
  simdjson::dom::element value = root;
  for (size_t start = 0; start <= options_.id_field.size();) {
    size_t dot = options_.id_field.find('.', start);
    if (dot == std::string::npos) dot = options_.id_field.size();
    const std::string_view key(options_.id_field.data() + start, dot - start);
    simdjson::dom::object parent;
    if (value.get_object().get(parent) != simdjson::SUCCESS ||
        parent.at_key(key).get(value) != simdjson::SUCCESS) {
      op->error = absl::InvalidArgumentError(
          absl::StrCat("document has no field \"", options_.id_field, "\" (--id_field)"));
      return;
    }
    start = dot + 1;
  }
  std::optional<std::string> id = StringOrInteger(value);
  if (!id.has_value() || id->empty()) {
    op->error = absl::InvalidArgumentError(
        absl::StrCat("field \"", options_.id_field,
                     "\" (--id_field) must be a non-empty string or a whole "
                     "number"));
    return;
  }
  op->op.set_id(*std::move(id));
}

}  // namespace esgw::cli
