// Subprocess: a child process (fork/exec, in its own process group) whose stdout and stderr go to
// a log file; the destructor stops it (SIGTERM to the group, SIGKILL after 5 s). The child also
// gets SIGKILL if the thread that started it dies, so crashed tests leave no strays.
// Thread-compatible: use one Subprocess from one thread at a time. Owns the child and its log.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace esgw::testing {

// Where tests put temporary files: TEST_TMPDIR, else TMPDIR, else /tmp.
std::string TestTempRoot();

// A new private directory under TestTempRoot() named prefix-XXXXXX. INTERNAL when it cannot be
// made.
absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix);

class Subprocess {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with argv and the parent's environment
  // plus `extra_env`. Errors: kNotFound when the program does not exist or is not executable,
  // kInternal when fork/exec fails.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      std::vector<std::string> argv,
      std::vector<std::pair<std::string, std::string>> extra_env = {});
  ~Subprocess();

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // True until the child has exited (reaps it when it has).
  bool Running();
  // Sends `sig` to the child's process group. kFailedPrecondition once it has exited.
  absl::Status Signal(int sig);
  // Waits for the exit: the exit code, or 128 + signal number when killed by a signal.
  // kDeadlineExceeded when it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Everything the child wrote to stdout and stderr so far.
  std::string Log() const;

 private:
  Subprocess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  bool Reap(bool block);

  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

}  // namespace esgw::testing
