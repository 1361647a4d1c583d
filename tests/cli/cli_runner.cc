#include "tests/cli/cli_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/support/dev_cluster.h"

namespace esgw::testing {

int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  return bound ? ntohs(address.sin_port) : 0;
}

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

absl::StatusOr<std::unique_ptr<CliRunner>> CliRunner::Create() {
  absl::StatusOr<std::string> dir = MakeTempDir("esgw-cli-test");
  if (!dir.ok()) return dir.status();
  return std::unique_ptr<CliRunner>(new CliRunner(*dir));
}

CliRunner::~CliRunner() {
  [[maybe_unused]] int ignored = std::system(absl::StrCat("rm -rf ", ShellQuote(dir_)).c_str());
}

std::string CliRunner::CliPath() { return BinDir() + "/esgw-cli"; }

std::string CliRunner::WriteFile(const std::string& name, const std::string& text) const {
  const std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string CliRunner::ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::unique_ptr<Subprocess>> CliRunner::Start(const std::vector<std::string>& args,
                                                             const Options& options) {
  std::string stdin_path = "/dev/null";
  if (!options.stdin_file.empty()) {
    stdin_path = options.stdin_file;
  } else if (!options.stdin_text.empty()) {
    stdin_path = WriteFile(absl::StrCat("stdin-", ++runs_), options.stdin_text);
  }
  // sh only wires the descriptors; exec leaves esgw-cli as the child itself, so signals and the
  // exit code are its own.
  std::string command = absl::StrCat("exec ", ShellQuote(CliPath()));
  for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
  absl::StrAppend(&command, " <", ShellQuote(stdin_path), " >", ShellQuote(dir_ + "/out"), " 2>",
                  ShellQuote(dir_ + "/err"));
  std::vector<std::pair<std::string, std::string>> env = options.env;
  bool has_addr = false;
  for (const auto& [key, value] : env) has_addr |= key == "ESGW_ADDR";
  if (!has_addr) env.emplace_back("ESGW_ADDR", "");
  return Subprocess::Start({"/bin/sh", "-c", command}, env);
}

absl::StatusOr<CliResult> CliRunner::Run(const std::vector<std::string>& args,
                                         const Options& options) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Start(args, options);
  if (!child.ok()) return child.status();
  absl::StatusOr<int> code = (*child)->Wait(options.timeout);
  if (!code.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("esgw-cli did not exit within ", absl::FormatDuration(options.timeout),
                     "; stdout so far: ", StartedOut(), "; stderr so far: ", StartedErr()));
  }
  return CliResult{.exit_code = *code, .out = StartedOut(), .err = StartedErr()};
}

}  // namespace esgw::testing
