#include "client/cli/progress.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/format.h"
#include "client/cli/terminal.h"

namespace esgw::cli {
namespace {

struct Parts {
  std::string percent;  // empty when the total is unknown
  std::string docs;
  std::string failed;  // empty when none failed
  std::string bytes;
  std::string rate;  // empty until there is something to measure
  std::string time;  // "ETA 0:02" with a known total, else the elapsed time
  double fraction = -1;
};

Parts Describe(const ProgressSnapshot& s) {
  Parts parts;
  const double seconds = absl::ToDoubleSeconds(s.elapsed);
  parts.docs = absl::StrCat(Thousands(s.docs), " docs");
  if (s.failed > 0) parts.failed = absl::StrCat(Thousands(s.failed), " failed");
  parts.bytes = Bytes(s.bytes);
  if (seconds >= 0.2) {
    parts.rate = absl::StrCat(Thousands(static_cast<int64_t>(s.docs / seconds)), " docs/s");
  }
  if (s.total_bytes.has_value() && *s.total_bytes > 0) {
    parts.fraction = std::clamp(static_cast<double>(s.bytes) / *s.total_bytes, 0.0, 1.0);
    parts.percent = absl::StrCat(static_cast<int>(parts.fraction * 100), "%");
    if (seconds >= 0.5 && s.bytes > 0) {
      const double remaining =
          static_cast<double>(*s.total_bytes - s.bytes) * seconds / static_cast<double>(s.bytes);
      parts.time = absl::StrCat("ETA ", ClockTime(absl::Seconds(std::max(remaining, 0.0))));
    }
  } else {
    parts.time = ClockTime(s.elapsed);
  }
  return parts;
}

std::string Bar(double fraction, int inner) {
  const int filled = static_cast<int>(fraction * inner + 0.5);
  std::string bar = "[";
  for (int i = 0; i < inner; ++i) {
    if (i < filled) {
      bar.push_back(i + 1 == filled && filled < inner ? '>' : '=');
    } else {
      bar.push_back(' ');
    }
  }
  bar.push_back(']');
  return bar;
}

}  // namespace

std::string ProgressLine(const ProgressSnapshot& s, int width, bool unicode) {
  const Parts parts = Describe(s);
  // Most important first; the tail is dropped when the line does not fit.
  std::vector<std::string> items;
  for (const std::string* part :
       {&parts.percent, &parts.docs, &parts.failed, &parts.bytes, &parts.rate, &parts.time}) {
    if (!part->empty()) items.push_back(*part);
  }
  // One column to spare: writing the last column makes some terminals wrap.
  const int room = std::max(width - 1, 10);
  std::string text = absl::StrJoin(items, "  ");
  while (items.size() > 1 && DisplayWidth(text) > room) {
    items.pop_back();
    text = absl::StrJoin(items, "  ");
  }
  if (DisplayWidth(text) > room) text = Ellipsize(text, room, unicode);
  constexpr int kMinBar = 10;
  constexpr int kMaxBar = 40;
  const int spare = room - DisplayWidth(text) - 2;
  if (parts.fraction >= 0 && spare >= kMinBar + 2) {
    const int inner = std::min(kMaxBar, spare) - 2;
    text = absl::StrCat(Bar(parts.fraction, inner), "  ", text);
  }
  return text;
}

std::string PlainProgressLine(const ProgressSnapshot& s) {
  const Parts parts = Describe(s);
  std::string line = parts.docs;
  if (!parts.failed.empty()) absl::StrAppend(&line, " (", parts.failed, ")");
  absl::StrAppend(&line, ", ", parts.bytes);
  if (s.total_bytes.has_value()) {
    absl::StrAppend(&line, " of ", Bytes(*s.total_bytes), " (", parts.percent, ")");
  }
  if (!parts.rate.empty()) absl::StrAppend(&line, ", ", parts.rate);
  if (!parts.time.empty()) {
    absl::StrAppend(&line, ", ", s.total_bytes.has_value() ? "" : "elapsed ", parts.time);
  }
  return line;
}

ProgressSnapshot Progress::Snapshot() const {
  ProgressSnapshot s;
  s.docs = docs.load(std::memory_order_relaxed);
  s.failed = failed.load(std::memory_order_relaxed);
  s.bytes = bytes.load(std::memory_order_relaxed);
  s.total_bytes = options_.total_bytes;
  s.elapsed = absl::Now() - start_;
  return s;
}

void Progress::Start() {
  start_ = absl::Now();
  if (options_.mode == Mode::kNone) return;
  thread_ = std::thread([this] { Loop(); });
}

void Progress::Loop() {
  const bool bar = options_.mode == Mode::kBar;
  const absl::Duration interval = bar ? options_.bar_interval : options_.plain_interval;
  while (!stop_.WaitForNotificationWithTimeout(interval)) {
    if (bar) {
      const int width = ProbeTerminal(options_.fd).width;
      const std::string line = ProgressLine(Snapshot(), width, options_.unicode);
      std::fprintf(options_.out, "\r%s%s", line.c_str(), kClearToEndOfLine);
      drew_ = true;
    } else {
      std::fprintf(options_.out, "%s: %s\n", options_.label.c_str(),
                   PlainProgressLine(Snapshot()).c_str());
    }
    std::fflush(options_.out);
  }
}

void Progress::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  if (drew_) {
    std::fprintf(options_.out, "\r%s", kClearToEndOfLine);
    std::fflush(options_.out);
  }
}

}  // namespace esgw::cli
