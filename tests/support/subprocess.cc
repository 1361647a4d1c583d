#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace esgw::testing {
namespace {

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

std::string TestTempRoot() {
  const char* dir = std::getenv("TEST_TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix) {
  std::string dir = absl::StrCat(TestTempRoot(), "/", prefix, "-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", dir, ": ", strerror(errno)));
  }
  return dir;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    std::vector<std::string> argv, std::vector<std::pair<std::string, std::string>> extra_env) {
  if (argv.empty()) return absl::InvalidArgumentError("argv is empty");
  const std::string program = FindProgram(argv[0]);
  if (program.empty()) return absl::NotFoundError(absl::StrCat("no executable ", argv[0]));

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    bool replaced = false;
    for (const auto& [key, value] : extra_env) {
      if (text.substr(0, text.find('=')) == key) replaced = true;
    }
    if (!replaced) env_strings.emplace_back(text);
  }
  for (const auto& [key, value] : extra_env) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> env;
  for (std::string& entry : env_strings) env.push_back(entry.data());
  env.push_back(nullptr);

  std::string log_path = absl::StrCat(TestTempRoot(), "/esgw-subprocess-XXXXXX");
  int log_fd = mkstemp(log_path.data());
  if (log_fd < 0) return absl::InternalError(absl::StrCat("mkstemp: ", strerror(errno)));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(error_pipe[0]);
    close(error_pipe[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // Descriptors the test holds (sockets, files) must not leak into the child.
    // Marking them close-on-exec keeps the (already close-on-exec) error pipe usable until exec.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 65536; ++fd) {
        if (fd != error_pipe[1]) close(fd);
      }
    }
    execve(program.c_str(), args.data(), env.data());
    int error = errno;
    [[maybe_unused]] ssize_t n = write(error_pipe[1], &error, sizeof(error));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so Signal works even before the child runs
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  close(error_pipe[1]);
  int exec_error = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &exec_error, sizeof(exec_error));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  std::unique_ptr<Subprocess> child(new Subprocess(pid, log_path));
  if (n > 0) {
    child->Reap(true);
    return absl::InternalError(absl::StrCat("exec ", program, ": ", strerror(exec_error)));
  }
  return child;
}

Subprocess::~Subprocess() {
  if (Running()) {
    kill(-pid_, SIGTERM);
    if (!Wait(absl::Seconds(5)).ok()) {
      kill(-pid_, SIGKILL);
      Reap(true);
    }
  }
  // The group is only signalled while its leader is unreaped, so the id cannot have been reused.
  unlink(log_path_.c_str());
}

bool Subprocess::Reap(bool block) {
  if (exit_code_.has_value()) return true;
  int status = 0;
  pid_t result;
  do {
    result = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool Subprocess::Running() { return !Reap(false); }

absl::Status Subprocess::Signal(int sig) {
  if (!Running()) return absl::FailedPreconditionError("the process has exited");
  if (kill(-pid_, sig) != 0) return absl::InternalError(absl::StrCat("kill: ", strerror(errno)));
  return absl::OkStatus();
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap(false)) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("pid ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return *exit_code_;
}

std::string Subprocess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace esgw::testing
