// FailedItemWriter: the file esgw-cli bulk / ingest write failed ops to (--failed). Each failed op
// is written in bulk NDJSON, so that the file can be fed back to esgw-cli as it is: its action
// line, with the effective index spelt out and an "error" object next to the action, then its
// document line exactly as it was read (none for delete):
//   {"index":{"_index":"logs","_id":"7"},"error":{"status":429,"type":"es_rejected_execution_exception","reason":"...","input":"data.ndjson:13"}}
//   {"message":"disk full","level":"error"}
// esgw-cli's reader ignores the "error" key; Elasticsearch's _bulk would not, so strip it (for
// example with jq) before sending the file to Elasticsearch directly.
// Thread-safe: Write may be called from several threads.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "esgw/v1/common.pb.h"

namespace esgw::cli {

// Why an op failed: the item's HTTP status (0 when esgw never reported one, e.g. the call
// failed), an error type and a reason.
struct ItemError {
  int status = 0;
  std::string type;
  std::string reason;
};

// The lines for one failed op (each ending in '\n'). default_index is used when op names none.
std::string FailedRecord(const v1::BulkOp& op, const std::string& default_index,
                         const ItemError& error, const std::string& where);

class FailedItemWriter {
 public:
  // Creates or truncates path (an empty file means nothing failed). INVALID_ARGUMENT
  // "--failed: cannot write \"path\": <reason>" when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<FailedItemWriter>> Open(const std::string& path,
                                                                std::string default_index);
  ~FailedItemWriter();

  void Write(const v1::BulkOp& op, const ItemError& error, const std::string& where);
  // Flushes and closes; UNAVAILABLE naming the file when a write failed (a full disk).
  absl::Status Close();
  int64_t written() const;
  const std::string& path() const { return path_; }

 private:
  FailedItemWriter(std::FILE* file, std::string path, std::string default_index)
      : file_(file), path_(std::move(path)), default_index_(std::move(default_index)) {}

  mutable absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
  const std::string default_index_;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace esgw::cli
