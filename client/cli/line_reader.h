// LineReader: the lines of a sequence of inputs (files, or "-" for stdin), read with a large
// buffer, with the file name and line number of each line for messages, and the bytes consumed
// so far for progress. Lines come without their "\n" (or "\r\n").
// Thread-compatible; bytes_read() may be read from another thread (progress).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace esgw::cli {

class LineReader {
 public:
  explicit LineReader(std::vector<std::string> inputs);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens every input once to check that it can be read (so that a typo fails before anything
  // is sent), and sums their sizes when all are regular files. INVALID_ARGUMENT
  // "cannot read \"x\": No such file or directory" otherwise.
  absl::Status Open();

  // The next line into *line (valid until the next call); false at the end of the last input.
  // An I/O error ends the input: status() then says what happened.
  bool Next(absl::string_view* line);
  // OK, or the read error that ended the input early.
  const absl::Status& status() const { return status_; }

  // Where the last line returned came from: "data.ndjson" or "stdin", and its 1-based number.
  const std::string& name() const { return name_; }
  int64_t line_number() const { return line_number_; }
  // True when the next line is already in the buffer (Next will not block on a read).
  bool Buffered() const;
  int64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  // Sum of the inputs' sizes when every input is a regular file.
  std::optional<int64_t> total_bytes() const { return total_bytes_; }

 private:
  bool OpenNext();
  bool Fill();

  std::vector<std::string> inputs_;
  size_t next_input_ = 0;
  int fd_ = -1;
  std::string name_;
  int64_t line_number_ = 0;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // unread data is buffer_[begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  std::string long_line_;  // a line that did not fit the buffer
  absl::Status status_;
  std::atomic<int64_t> bytes_read_{0};
  std::optional<int64_t> total_bytes_;
};

}  // namespace esgw::cli
