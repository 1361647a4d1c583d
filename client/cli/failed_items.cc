#include "client/cli/failed_items.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/cli/json_text.h"
#include "pool/utf8.h"

namespace esgw::cli {
namespace {

const char* ActionName(v1::OpType type) {
  switch (type) {
    case v1::OP_TYPE_CREATE:
      return "create";
    case v1::OP_TYPE_UPDATE:
      return "update";
    case v1::OP_TYPE_DELETE:
      return "delete";
    default:
      return "index";
  }
}

}  // namespace

std::string FailedRecord(const v1::BulkOp& op, const std::string& default_index,
                         const ItemError& error, const std::string& where) {
  std::string out = absl::StrCat("{\"", ActionName(op.type()), "\":{\"_index\":");
  AppendJsonString(&out, op.index().empty() ? default_index : op.index());
  if (!op.id().empty()) {
    out.append(",\"_id\":");
    AppendJsonString(&out, op.id());
  }
  if (!op.routing().empty()) {
    out.append(",\"routing\":");
    AppendJsonString(&out, op.routing());
  }
  if (!op.pipeline().empty()) {
    out.append(",\"pipeline\":");
    AppendJsonString(&out, op.pipeline());
  }
  if (op.has_if_seq_no()) absl::StrAppend(&out, ",\"if_seq_no\":", op.if_seq_no());
  if (op.has_if_primary_term()) {
    absl::StrAppend(&out, ",\"if_primary_term\":", op.if_primary_term());
  }
  absl::StrAppend(&out, "},\"error\":{\"status\":", error.status, ",\"type\":");
  AppendJsonString(&out, error.type);
  out.append(",\"reason\":");
  AppendJsonString(&out, error.reason);
  if (!where.empty()) {
    out.append(",\"input\":");
    AppendJsonString(&out, where);
  }
  out.append("}}\n");
  if (op.type() != v1::OP_TYPE_DELETE) absl::StrAppend(&out, op.source_json(), "\n");
  return out;
}

absl::StatusOr<std::unique_ptr<FailedItemWriter>> FailedItemWriter::Open(
    const std::string& path, std::string default_index) {
  std::FILE* file = std::fopen(path.c_str(), "we");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--failed: cannot write \"", path, "\": ", std::strerror(errno)));
  }
  return std::unique_ptr<FailedItemWriter>(
      new FailedItemWriter(file, path, std::move(default_index)));
}

FailedItemWriter::~FailedItemWriter() { Close().IgnoreError(); }

void FailedItemWriter::Write(const v1::BulkOp& op, const ItemError& error,
                             const std::string& where) {
  const std::string record = FailedRecord(op, default_index_, error, where);
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) return;
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) write_failed_ = true;
  ++written_;
}

absl::Status FailedItemWriter::Close() {
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) return absl::OkStatus();
  const bool flushed = std::fflush(file_) == 0;
  const int error = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (write_failed_ || !flushed || !closed) {
    return absl::UnavailableError(
        absl::StrCat("writing failed items to \"", path_, "\": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

int64_t FailedItemWriter::written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

}  // namespace esgw::cli
