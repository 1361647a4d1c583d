#include "client/cli/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace esgw::cli {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

std::string DisplayName(const std::string& input) { return input == "-" ? "stdin" : input; }

}  // namespace

LineReader::LineReader(std::vector<std::string> inputs) : inputs_(std::move(inputs)) {
  buffer_.resize(kBufferBytes);
}

LineReader::~LineReader() {
  if (fd_ > 0) close(fd_);
}

absl::Status LineReader::Open() {
  int64_t total = 0;
  bool known = true;
  int stdin_uses = 0;
  for (const std::string& input : inputs_) {
    struct stat info {};
    if (input == "-") {
      if (++stdin_uses > 1) return absl::InvalidArgumentError("stdin (\"-\") named twice");
      if (fstat(0, &info) == 0 && S_ISREG(info.st_mode)) {
        const off_t at = lseek(0, 0, SEEK_CUR);
        total += info.st_size - (at > 0 ? at : 0);
      } else {
        known = false;
      }
      continue;
    }
    const int fd = open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read \"", input, "\": ", std::strerror(errno)));
    }
    const int stat_result = fstat(fd, &info);
    close(fd);
    if (stat_result == 0 && S_ISDIR(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read \"", input, "\": a directory"));
    }
    if (stat_result == 0 && S_ISREG(info.st_mode)) {
      total += info.st_size;
    } else {
      known = false;
    }
  }
  if (known) total_bytes_ = total;
  return absl::OkStatus();
}

bool LineReader::OpenNext() {
  while (next_input_ < inputs_.size()) {
    const std::string& input = inputs_[next_input_++];
    name_ = DisplayName(input);
    line_number_ = 0;
    begin_ = end_ = 0;
    eof_ = false;
    if (input == "-") {
      fd_ = 0;
      return true;
    }
    fd_ = open(input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      status_ = absl::UnavailableError(
          absl::StrCat("cannot read \"", input, "\": ", std::strerror(errno)));
      return false;
    }
    return true;
  }
  return false;
}

bool LineReader::Fill() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) {
    // One line longer than the buffer: keep it aside and read on.
    long_line_.append(buffer_.data(), end_);
    end_ = 0;
  }
  ssize_t n;
  do {
    n = read(fd_, buffer_.data() + end_, buffer_.size() - end_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    status_ = absl::UnavailableError(absl::StrCat("reading ", name_, ": ", std::strerror(errno)));
    eof_ = true;
    return false;
  }
  if (n == 0) eof_ = true;
  end_ += static_cast<size_t>(n);
  return n > 0;
}

bool LineReader::Buffered() const {
  return fd_ >= 0 && std::memchr(buffer_.data() + begin_, '\n', end_ - begin_) != nullptr;
}

bool LineReader::Next(absl::string_view* line) {
  long_line_.clear();  // the previous line, if it was a long one
  while (true) {
    if (fd_ < 0) {
      if (!status_.ok() || !OpenNext()) return false;
    }
    const char* start = buffer_.data() + begin_;
    const void* newline = std::memchr(start, '\n', end_ - begin_);
    size_t length;
    size_t consumed;
    if (newline != nullptr) {
      length = static_cast<size_t>(static_cast<const char*>(newline) - start);
      consumed = length + 1;
    } else if (!eof_) {
      Fill();
      continue;
    } else if (end_ > begin_ || !long_line_.empty()) {
      // The last line of an input without a final newline.
      length = end_ - begin_;
      consumed = length;
    } else {
      if (fd_ > 0) close(fd_);
      fd_ = -1;
      if (!status_.ok()) return false;
      continue;
    }
    begin_ += consumed;
    bytes_read_.fetch_add(static_cast<int64_t>(consumed + long_line_.size()),
                          std::memory_order_relaxed);
    ++line_number_;
    absl::string_view text(start, length);
    if (!long_line_.empty()) {
      long_line_.append(text.data(), text.size());
      text = long_line_;
    }
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    *line = text;
    return true;
  }
}

}  // namespace esgw::cli
