// Runs the built esgw-cli as a child process for tests: arguments, extra environment, stdin from
// a file or text, stdout and stderr captured apart, the exit code, all within a timeout.
// Thread-compatible: one CliRunner per test thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace esgw::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// text in single quotes for sh, with embedded single quotes escaped.
std::string ShellQuote(const std::string& text);

// A loopback port with nothing listening on it (bound and released; 0 if no port could be had),
// for cases that need a server that is not there.
int ClosedPort();

class CliRunner {
 public:
  // Makes a scratch directory for the captured output and inputs. INTERNAL when it cannot.
  static absl::StatusOr<std::unique_ptr<CliRunner>> Create();
  ~CliRunner();

  // The esgw-cli binary (BinDir()/esgw-cli).
  static std::string CliPath();
  // A scratch directory that lives as long as the runner.
  const std::string& dir() const { return dir_; }
  // Writes text to dir()/name and returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) const;
  // The contents of a file ("" when it cannot be read).
  static std::string ReadFile(const std::string& path);

  struct Options {
    // Environment added to (or replacing in) the test's own; ESGW_ADDR is removed unless set
    // here, so that a developer's setting never leaks into a test.
    std::vector<std::pair<std::string, std::string>> env = {};
    // stdin: the text given, or /dev/null when empty and no file is named.
    std::string stdin_text = "";
    std::string stdin_file = "";
    absl::Duration timeout = absl::Seconds(60);
  };

  // Runs esgw-cli with args and waits for it. DEADLINE_EXCEEDED (and the child killed) after
  // the timeout.
  absl::StatusOr<CliResult> Run(const std::vector<std::string>& args, const Options& options);
  absl::StatusOr<CliResult> Run(const std::vector<std::string>& args) { return Run(args, {}); }

  // Starts esgw-cli without waiting (for watch and interrupts); Finish collects its output.
  absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& args,
                                                    const Options& options);
  // What a started child wrote so far.
  std::string StartedOut() const { return ReadFile(dir_ + "/out"); }
  std::string StartedErr() const { return ReadFile(dir_ + "/err"); }

 private:
  explicit CliRunner(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  int runs_ = 0;
};

}  // namespace esgw::testing
