#include "client/cli/write_runner.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace esgw::cli {
namespace {

// Ingest messages end at this many bytes of documents.
constexpr int64_t kMaxMessageBytes = 1 << 20;

ItemError FromItem(const v1::BulkItemResult& item) {
  ItemError error{.status = item.status(), .type = item.error().type(), .reason = ""};
  error.reason = item.error().reason();
  if (!item.error().caused_by_reason().empty() &&
      item.error().caused_by_reason() != item.error().reason()) {
    absl::StrAppend(&error.reason, " (caused by ", item.error().caused_by_type(), ": ",
                    item.error().caused_by_reason(), ")");
  }
  return error;
}

std::string CallError(const absl::Status& status, absl::string_view what) {
  return absl::StrCat(what, ": ", absl::StatusCodeToString(status.code()), ": ", status.message());
}

// For a Bulk call refused because of one op ("ops[17].index: ..."), the input that op came from.
std::string BlameOp(const absl::Status& status, const std::vector<std::string>& wheres) {
  const absl::string_view message = status.message();
  const size_t at = message.find("ops[");
  if (at == absl::string_view::npos) return "";
  const size_t close = message.find(']', at);
  size_t index = 0;
  if (close == absl::string_view::npos ||
      !absl::SimpleAtoi(message.substr(at + 4, close - at - 4), &index) || index >= wheres.size()) {
    return "";
  }
  return absl::StrCat(" (ops[", index, "] is the op from ", wheres[index], ")");
}

}  // namespace

void WriteRunner::Ok(bool retried) {
  {
    absl::MutexLock lock(&mu_);
    ++result_.ok;
    if (retried) ++result_.retried;
  }
  progress_->docs.fetch_add(1, std::memory_order_relaxed);
}

void WriteRunner::Failed(const v1::BulkOp& op, const ItemError& error, const std::string& where,
                         bool retried) {
  if (failed_writer_ != nullptr) failed_writer_->Write(op, error, where);
  {
    absl::MutexLock lock(&mu_);
    ++result_.failed;
    if (retried) ++result_.retried;
    FailureGroup& group = result_.failures[absl::StrCat(error.status, " ", error.type)];
    if (group.count++ == 0) {
      group.example_reason = error.reason;
      group.example_where = where;
    }
  }
  progress_->docs.fetch_add(1, std::memory_order_relaxed);
  progress_->failed.fetch_add(1, std::memory_order_relaxed);
}

void WriteRunner::CountRead(const InputOp& op) {
  {
    absl::MutexLock lock(&mu_);
    ++result_.ops;
    result_.bytes += op.bytes;
  }
  progress_->bytes.fetch_add(op.bytes, std::memory_order_relaxed);
}

WriteRunner::Result WriteRunner::Run() {
  const absl::Time start = absl::Now();
  if (settings_.stream) {
    RunIngest();
  } else {
    RunBulk();
  }
  absl::MutexLock lock(&mu_);
  result_.input_status = reader_->status();
  if (!result_.input_status.ok() && result_.stopped_at.empty()) {
    result_.stopped_at = absl::StrCat(lines_->name(), ":", lines_->line_number());
  }
  result_.elapsed = absl::Now() - start;
  return result_;
}

void WriteRunner::RunBulk() {
  v1::BulkRequest request;
  request.set_index(settings_.defaults.index);
  request.set_pipeline(settings_.defaults.pipeline);
  request.set_refresh(settings_.defaults.refresh);
  std::vector<std::string> wheres;
  int64_t batch_bytes = 0;

  // Sends the batch; false when the call failed (the run stops).
  const auto send = [&]() -> bool {
    if (request.ops_size() == 0) return true;
    absl::StatusOr<v1::BulkResponse> response = client_->Bulk(request, {.cancel = cancel_});
    bool ok = response.ok();
    if (ok && response->items_size() != request.ops_size()) {
      response = absl::InternalError(absl::StrCat("esgw answered ", response->items_size(),
                                                  " items for ", request.ops_size(), " ops"));
      ok = false;
    }
    if (!ok) {
      const ItemError error{.status = 0,
                            .type = "bulk_call_failed",
                            .reason = CallError(response.status(), "the Bulk call failed") +
                                      BlameOp(response.status(), wheres)};
      for (int i = 0; i < request.ops_size(); ++i) {
        Failed(request.ops(i), error, wheres[static_cast<size_t>(i)]);
      }
      absl::MutexLock lock(&mu_);
      result_.call_status = response.status();
    } else {
      for (int i = 0; i < request.ops_size(); ++i) {
        const v1::BulkItemResult& item = response->items(i);
        if (item.has_error()) {
          Failed(request.ops(i), FromItem(item), wheres[static_cast<size_t>(i)],
                 item.attempts() > 1);
        } else {
          Ok(item.attempts() > 1);
        }
      }
    }
    request.clear_ops();
    wheres.clear();
    batch_bytes = 0;
    return ok;
  };

  InputOp in;
  while (!Cancelled() && reader_->Next(&in)) {
    CountRead(in);
    if (!in.error.ok()) {
      Failed(in.op,
             ItemError{
                 .status = 0, .type = "invalid_input", .reason = std::string(in.error.message())},
             in.where);
      continue;
    }
    if (request.ops_size() > 0 && (request.ops_size() >= settings_.batch_ops ||
                                   batch_bytes + in.bytes > settings_.batch_bytes)) {
      if (!send()) {
        // The op that would have opened the next batch was read; it fails unsent, and reading
        // stops here.
        Failed(
            in.op,
            ItemError{
                .status = 0, .type = "not_sent", .reason = "not sent: an earlier Bulk call failed"},
            in.where);
        absl::MutexLock lock(&mu_);
        result_.stopped_at = in.where;
        return;
      }
    }
    batch_bytes += in.bytes;
    wheres.push_back(std::move(in.where));
    *request.add_ops() = std::move(in.op);
  }
  if (Cancelled()) {
    // Read but never sent: failed, so that the failed-items file holds them too.
    const ItemError error{
        .status = 0, .type = "not_sent", .reason = "interrupted before it was sent"};
    for (int i = 0; i < request.ops_size(); ++i) {
      Failed(request.ops(i), error, wheres[static_cast<size_t>(i)]);
    }
    absl::MutexLock lock(&mu_);
    result_.stopped_at = absl::StrCat(lines_->name(), ":", lines_->line_number());
    return;
  }
  send();
}

void WriteRunner::RunIngest() {
  struct Pending {
    v1::BulkOp op;
    std::string where;
  };
  absl::Mutex pending_mu;
  absl::flat_hash_map<uint64_t, Pending> pending;  // guarded by pending_mu

  std::unique_ptr<client::IngestStream> stream =
      client_->StartIngest(settings_.defaults, {.cancel = cancel_});
  std::thread reader([&] {
    v1::IngestResponse response;
    while (stream->Read(&response)) {
      for (const v1::BulkItemResult& item : response.results()) {
        Pending op;
        {
          absl::MutexLock lock(&pending_mu);
          auto it = pending.find(item.seq());
          if (it == pending.end()) continue;  // not ours, or reported twice: count it once
          op = std::move(it->second);
          pending.erase(it);
        }
        if (item.has_error()) {
          Failed(op.op, FromItem(item), op.where, item.attempts() > 1);
        } else {
          Ok(item.attempts() > 1);
        }
      }
    }
  });

  v1::IngestRequest message;
  int64_t message_bytes = 0;
  bool broken = false;
  InputOp in;
  while (!broken && !Cancelled() && reader_->Next(&in)) {
    CountRead(in);
    if (!in.error.ok()) {
      Failed(in.op,
             ItemError{
                 .status = 0, .type = "invalid_input", .reason = std::string(in.error.message())},
             in.where);
      continue;
    }
    {
      absl::MutexLock lock(&pending_mu);
      pending.emplace(in.op.seq(), Pending{in.op, in.where});
    }
    message_bytes += in.bytes;
    *message.add_ops() = std::move(in.op);
    if (message.ops_size() >= settings_.message_ops || message_bytes >= kMaxMessageBytes ||
        !lines_->Buffered()) {
      broken = !stream->Write(message);
      message.Clear();
      message_bytes = 0;
    }
  }
  if (!broken && message.ops_size() > 0) broken = !stream->Write(message);
  if (broken || Cancelled()) {
    absl::MutexLock lock(&mu_);
    result_.stopped_at = absl::StrCat(lines_->name(), ":", lines_->line_number());
  }
  stream->WritesDone();
  reader.join();
  const absl::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    result_.call_status = status;
  }
  // Ops the stream never reported: esgw may or may not have written them.
  absl::MutexLock lock(&pending_mu);
  if (pending.empty()) return;
  std::vector<std::pair<uint64_t, Pending*>> left;
  for (auto& [seq, op] : pending) left.emplace_back(seq, &op);
  std::sort(left.begin(), left.end());
  const ItemError error{
      .status = 0,
      .type = "no_result",
      .reason = CallError(status.ok() ? absl::UnknownError("no result") : status,
                          "the Ingest stream ended before esgw reported this op")};
  for (const auto& [seq, op] : left) Failed(op->op, error, op->where);
  pending.clear();
}

}  // namespace esgw::cli
