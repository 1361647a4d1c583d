// Progress: what esgw-cli bulk / ingest show while they run. On a terminal, one line redrawn in
// place a few times a second (docs, bytes, docs/s, and with a known input size a bar, percentage
// and ETA), never wider than the terminal; elsewhere a plain line every few seconds; or nothing.
// The writer and reader threads update the counters; a thread of Progress's own draws.
// Thread-safe: counters are atomics; Start and Stop from the owning thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace esgw::cli {

// One reading of the counters, for rendering.
struct ProgressSnapshot {
  int64_t docs = 0;    // ops with a final result
  int64_t failed = 0;  // of which failed
  int64_t bytes = 0;   // input bytes read
  std::optional<int64_t> total_bytes;
  absl::Duration elapsed;
};

// The terminal line for s, at most width columns: "[=====>    ]  42%  42,000 docs  4.2 MB
// 21,000 docs/s  ETA 0:02" (the bar when the total is known and there is room), parts dropped
// from the right when the width is small. No escape sequences.
std::string ProgressLine(const ProgressSnapshot& s, int width, bool unicode);
// The plain line for logs: "42,000 docs (3 failed), 4.2 MB of 10 MB (42%), 21,000 docs/s,
// ETA 0:02".
std::string PlainProgressLine(const ProgressSnapshot& s);

class Progress {
 public:
  enum class Mode { kBar, kPlain, kNone };
  struct Options {
    Mode mode = Mode::kNone;
    std::FILE* out = stderr;
    // Terminal width (kBar), re-read at every redraw through the fd when it is a terminal.
    int fd = 2;
    bool unicode = false;
    std::optional<int64_t> total_bytes;
    // Prefix of plain lines, e.g. "ingest".
    std::string label;
    absl::Duration bar_interval = absl::Milliseconds(200);
    absl::Duration plain_interval = absl::Seconds(5);
  };

  explicit Progress(Options options) : options_(std::move(options)) {}
  ~Progress() { Stop(); }

  void Start();
  // Stops drawing and erases the bar, leaving the line for the summary.
  void Stop();

  std::atomic<int64_t> docs{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> bytes{0};

 private:
  ProgressSnapshot Snapshot() const;
  void Loop();

  Options options_;
  absl::Time start_;
  absl::Notification stop_;
  std::thread thread_;
  bool drew_ = false;
};

}  // namespace esgw::cli
