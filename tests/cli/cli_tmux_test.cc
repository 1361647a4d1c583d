// esgw-cli in a real terminal: `bulk` and `watch` run in an 80x24 tmux pane, and what the pane
// shows (tmux capture-pane) is checked the way a user would look at it: one progress line
// redrawn in place and then the summary, a table redrawn in place rather than scrolling, nothing
// wider than 80 columns, Ctrl-C ending watch with exit code 0. And the same commands with stdout
// piped print plain lines with no escape sequences. Skipped when tmux is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using testing::CliRunner;
using ::testing::HasSubstr;
using testing::ShellQuote;
using ::testing::StartsWith;

int Columns(absl::string_view line) {
  int columns = 0;
  for (char c : line) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return columns;
}

// The lines that hold something.
std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

// One tmux server on a private socket with one 80x24 pane running a shell command line. The
// line runs under "sh -c" with a no-op INT trap (so the shell outlives a Ctrl-C meant for the
// command; the command itself gets the default disposition back at exec), and then prints
// "[exit N]": the exit status is read from the screen, where the user would see it, rather
// than from tmux's bookkeeping of dead panes, whose reaping lags.
class TmuxPane {
 public:
  static absl::StatusOr<std::unique_ptr<TmuxPane>> Start(const std::string& dir,
                                                         const std::string& command) {
    auto pane = std::unique_ptr<TmuxPane>(new TmuxPane(dir));
    {
      std::ofstream conf(pane->conf_);
      conf << "set -g remain-on-exit on\nset -g status off\n";
    }
    absl::StatusOr<std::string> out =
        pane->Tmux({"new-session", "-d", "-x", "80", "-y", "24", "-s", "cli",
                    absl::StrCat("trap : INT; ", command, "; echo \"[exit $?]\"")});
    if (!out.ok()) return out.status();
    return pane;
  }

  ~TmuxPane() { Tmux({"kill-server"}).IgnoreError(); }

  // The pane's text (scrolled-off lines included), without the "[exit N]" line and tmux's
  // own "Pane is dead" note.
  std::string Capture() {
    std::string text;
    for (absl::string_view line : absl::StrSplit(Raw(), '\n')) {
      if (absl::StartsWith(line, "[exit ") || absl::StartsWith(line, "Pane is dead")) continue;
      absl::StrAppend(&text, line, "\n");
    }
    return text;
  }
  absl::Status SendKeys(const std::string& keys) {
    return Tmux({"send-keys", "-t", "cli", keys}).status();
  }
  // The command's exit status once it has exited.
  std::optional<int> ExitStatus() {
    const std::string raw = Raw();
    const size_t at = raw.find("[exit ");
    int status = 0;
    if (at == std::string::npos) return std::nullopt;
    const size_t end = raw.find(']', at);
    if (end == std::string::npos || !absl::SimpleAtoi(raw.substr(at + 6, end - at - 6), &status)) {
      return std::nullopt;
    }
    return status;
  }

 private:
  explicit TmuxPane(const std::string& dir)
      : socket_(dir + "/tmux.sock"), conf_(dir + "/tmux.conf") {}

  std::string Raw() {
    absl::StatusOr<std::string> out = Tmux({"capture-pane", "-p", "-S", "-", "-t", "cli"});
    return out.ok() ? *out : "";
  }

  // Runs a tmux command against this server; its output, or INTERNAL with it.
  absl::StatusOr<std::string> Tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-S", socket_, "-f", conf_});
    auto child = testing::Subprocess::Start(args, {{"TERM", "xterm-256color"}});
    if (!child.ok()) return child.status();
    absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(10));
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), ": ", (*child)->Log()));
    }
    return (*child)->Log();
  }

  std::string socket_;
  std::string conf_;
};

class CliTmuxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::DevCluster::Start({.nodes = 3});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    auto version = testing::Subprocess::Start({"tmux", "-V"});
    if (!version.ok()) {
      GTEST_SKIP() << "tmux is not installed (scripts/deps.sh installs it); these cases look "
                      "at esgw-cli in a real terminal through it";
    }
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
    auto runner = CliRunner::Create();
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
  }

  // A shell command line that runs esgw-cli with args against the suite's server.
  std::string CliCommand(const std::vector<std::string>& args) const {
    std::string command =
        absl::StrCat("env ESGW_ADDR=", server_->address(),
                     " LANG=C.UTF-8 NO_COLOR= ", ShellQuote(CliRunner::CliPath()));
    for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
    return command;
  }

  std::string Ndjson(int ops) {
    std::string text;
    for (int i = 0; i < ops; ++i) {
      absl::StrAppend(&text, R"({"index":{"_index":"cli-tmux","_id":"d-)", i, R"("}})", "\n",
                      R"({"n":)", i, R"(,"title":"a document of the terminal test"})", "\n");
    }
    return runner_->WriteFile("data.ndjson", text);
  }

  static testing::DevCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<CliRunner> runner_;
};

testing::DevCluster* CliTmuxTest::cluster_ = nullptr;
testing::EsgwProcess* CliTmuxTest::server_ = nullptr;

TEST_F(CliTmuxTest, BulkShowsOneProgressLineThenTheSummary) {
  // Slow nodes stretch the run over a few seconds, so the bar is seen mid-way.
  for (int node = 0; node < 3; ++node) {
    ASSERT_TRUE(cluster_->Slow(node, absl::Milliseconds(60)).ok());
  }
  const std::string input = Ndjson(10000);
  auto pane = TmuxPane::Start(runner_->dir(), CliCommand({"bulk", "--batch_ops=250", input}));
  ASSERT_TRUE(pane.ok()) << pane.status();

  std::string screen;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        screen = (*pane)->Capture();
        return absl::StrContains(screen, "docs/s") && absl::StrContains(screen, "ETA");
      },
      absl::Seconds(30), "the progress line"))
      << screen;
  std::vector<std::string> lines = NonEmptyLines(screen);
  ASSERT_EQ(lines.size(), 1u) << "one line, redrawn in place:\n" << screen;
  // "[=======>      ]  42%  4,250 docs  1.1 MB  2,101 docs/s  ETA 0:02"
  EXPECT_THAT(lines[0], StartsWith("["));
  EXPECT_THAT(lines[0], HasSubstr("]  "));
  EXPECT_THAT(lines[0], HasSubstr("% "));
  EXPECT_THAT(lines[0], HasSubstr(" docs  "));
  EXPECT_THAT(lines[0], HasSubstr("B  ")) << "bytes read";
  EXPECT_LE(Columns(lines[0]), 79) << lines[0];

  std::optional<int> status;
  ASSERT_TRUE(testing::WaitFor([&] { return (status = (*pane)->ExitStatus()).has_value(); },
                               absl::Seconds(60), "bulk to finish"))
      << (*pane)->Capture();
  EXPECT_EQ(*status, 0);
  screen = (*pane)->Capture();
  lines = NonEmptyLines(screen);
  ASSERT_GE(lines.size(), 2u) << screen;
  EXPECT_THAT(lines[0], StartsWith("bulk: 10,000 docs (")) << "the bar is gone:\n" << screen;
  EXPECT_EQ(lines[1], "  ok 10,000  failed 0  retried 0");
  for (const std::string& line : lines) {
    EXPECT_LE(Columns(line), 80) << line;
    EXPECT_THAT(line, ::testing::Not(StartsWith("["))) << screen;
  }
}

TEST_F(CliTmuxTest, WatchRedrawsTheTableInPlaceAndCtrlCExitsZero) {
  auto pane = TmuxPane::Start(runner_->dir(), CliCommand({"watch", "--interval=200ms"}));
  ASSERT_TRUE(pane.ok()) << pane.status();
  std::string screen;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        screen = (*pane)->Capture();
        for (const std::string& address : cluster_->node_addresses()) {
          if (!absl::StrContains(screen, address)) return false;
        }
        return absl::StrContains(screen, "ADDRESS");
      },
      absl::Seconds(20), "the table"))
      << screen;
  const std::string first_header = NonEmptyLines(screen)[0];

  // Updates keep coming (the clock in the header moves) and land on the same lines.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        screen = (*pane)->Capture();
        const std::vector<std::string> lines = NonEmptyLines(screen);
        return !lines.empty() && lines[0] != first_header && absl::StrContains(screen, "ADDRESS");
      },
      absl::Seconds(10), "a later update"))
      << screen;
  const std::vector<std::string> lines = NonEmptyLines(screen);
  ASSERT_GE(lines.size(), 7u) << screen;
  // "15:04:05  esgw 127.0.0.1:1234  every 200ms  (Ctrl-C to quit)"
  EXPECT_EQ(lines[0][2], ':') << lines[0];
  EXPECT_THAT(lines[0], HasSubstr("  esgw " + server_->address() + "  every 200ms  (Ctrl-C"));
  EXPECT_THAT(lines[1], StartsWith("ADDRESS "));
  int headers = 0;
  for (const std::string& line : lines) {
    headers += absl::StartsWith(line, "ADDRESS ") ? 1 : 0;
    EXPECT_LE(Columns(line), 80) << line;
  }
  EXPECT_EQ(headers, 1) << "redrawn in place, not scrolled:\n" << screen;
  for (const std::string& address : cluster_->node_addresses()) {
    int rows = 0;
    for (const std::string& line : lines) rows += absl::StartsWith(line, address) ? 1 : 0;
    EXPECT_EQ(rows, 1) << address << "\n" << screen;
  }
  EXPECT_THAT(screen, HasSubstr("\npool sniffing, selector least_loaded, "));

  ASSERT_TRUE((*pane)->SendKeys("C-c").ok());
  std::optional<int> status;
  ASSERT_TRUE(testing::WaitFor([&] { return (status = (*pane)->ExitStatus()).has_value(); },
                               absl::Seconds(10), "watch to exit"))
      << (*pane)->Capture();
  EXPECT_EQ(*status, 0);
  EXPECT_THAT((*pane)->Capture(), HasSubstr("ADDRESS")) << "the last table stays on screen";
}

TEST_F(CliTmuxTest, WithStdoutPipedTheOutputIsPlainLines) {
  const std::string input = Ndjson(2000);
  const std::string watch_out = runner_->dir() + "/watch.txt";
  const std::string bulk_out = runner_->dir() + "/bulk.txt";
  // In the terminal, but with stdout going to a pipe (watch) or a file (bulk).
  const std::string command = absl::StrCat(
      CliCommand({"watch", "--interval=100ms", "--count=3"}), " | cat > ", ShellQuote(watch_out),
      "; ", CliCommand({"bulk", input}), " > ", ShellQuote(bulk_out));
  auto pane = TmuxPane::Start(runner_->dir(), command);
  ASSERT_TRUE(pane.ok()) << pane.status();
  std::optional<int> status;
  ASSERT_TRUE(testing::WaitFor([&] { return (status = (*pane)->ExitStatus()).has_value(); },
                               absl::Seconds(60), "both commands"))
      << (*pane)->Capture();
  EXPECT_EQ(*status, 0) << (*pane)->Capture();

  const std::string watch = CliRunner::ReadFile(watch_out);
  EXPECT_EQ(watch.find('\x1b'), std::string::npos) << watch;
  int headers = 0;
  for (const std::string& line : NonEmptyLines(watch)) {
    headers += absl::StartsWith(line, "ADDRESS ") ? 1 : 0;
    EXPECT_LE(Columns(line), 80) << line;
  }
  EXPECT_EQ(headers, 3) << "three tables, one after the other:\n" << watch;

  const std::string bulk = CliRunner::ReadFile(bulk_out);
  EXPECT_EQ(bulk.find('\x1b'), std::string::npos) << bulk;
  EXPECT_THAT(bulk, StartsWith("bulk: 2,000 docs ("));
  EXPECT_THAT(bulk, HasSubstr("\n  ok 2,000  failed 0  retried 0\n"));
  EXPECT_EQ(bulk.find('\r'), std::string::npos) << "the progress line went to the terminal";
}

}  // namespace
}  // namespace esgw
