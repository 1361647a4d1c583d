// Cli: what every esgw-cli command shares: where output goes (and whether it is a terminal), the
// connection flags and the Client they make, the CancelToken that Ctrl-C fires, usage and RPC
// error reporting with the exit codes, help pages, and JSON output of messages.
// Exit codes: 0 ok; 1 the call failed (an RPC error, failed items, a document not found, a
// gateway not serving); 2 usage (a flag or argument broke its rule, nothing was sent);
// 130 interrupted by Ctrl-C (except watch, where Ctrl-C is the normal way out: 0).
// Thread-compatible: the command runs on the main thread; interrupted() and cancel() are
// safe from the signal thread.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cancel_token.h"
#include "client/cli/flag_set.h"
#include "client/cli/table.h"
#include "client/cli/terminal.h"
#include "client/client_options.h"
#include "client/esgw_client.h"
#include "google/protobuf/message.h"

namespace esgw::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

// The help page of a command.
struct CommandHelp {
  const char* name;
  // One line, for the command list.
  const char* summary;
  // After "Usage: esgw-cli <name> ".
  const char* usage;
  // Paragraphs, already wrapped to 80 columns.
  const char* description;
  // Example command lines (a "#" line above explains the less obvious ones).
  const char* examples;
};

class Cli {
 public:
  Cli(std::FILE* out, std::FILE* err);

  std::FILE* out() const { return out_; }
  std::FILE* err() const { return err_; }
  const TerminalInfo& out_terminal() const { return out_terminal_; }
  const TerminalInfo& err_terminal() const { return err_terminal_; }
  // Table settings for stdout: its width (80 when not a terminal), colour, Unicode.
  Table::RenderOptions TableOptions() const;

  // Adds the connection flags (--addr, --token, TLS, --deadline) to flags.
  void AddConnectionFlags(FlagSet& flags);
  // The Client for the connection flags and the environment; on failure prints the usage error
  // and returns null (exit kExitUsage).
  std::unique_ptr<client::Client> Connect(const CommandHelp& help);

  // Prints "esgw-cli <command>: <message>" and a pointer to --help; returns kExitUsage.
  int Usage(const CommandHelp& help, const absl::Status& status);
  int Usage(const CommandHelp& help, const std::string& message);
  // Prints the command's help page (usage, description, flags, examples); returns kExitOk.
  int Help(const CommandHelp& help, const FlagSet& flags);
  // Prints "error: <CODE>: <message>" (and a hint when esgw could not be reached); returns
  // kExitFailed, or kExitInterrupted when the call was cancelled by Ctrl-C.
  int RpcError(const absl::Status& status);

  // Prints message as proto JSON (field names as in the .proto, every field), on one line, or
  // indented when stdout is a terminal.
  void PrintJson(const google::protobuf::Message& message);

  client::CancelToken& cancel() { return cancel_; }
  // Ctrl-C (or SIGTERM) arrived.
  bool interrupted() const { return interrupted_.load(); }
  void Interrupt();

  // Set by the connection flags.
  const client::ClientOptions& options() const { return options_; }

 private:
  std::FILE* out_;
  std::FILE* err_;
  TerminalInfo out_terminal_;
  TerminalInfo err_terminal_;
  client::ClientOptions options_;
  std::string token_file_;
  client::CancelToken cancel_;
  std::atomic<bool> interrupted_{false};
};

// Reads a whole file ("-" for stdin). INVALID_ARGUMENT "cannot read \"x\": <reason>".
absl::StatusOr<std::string> ReadInput(const std::string& path);

// The commands (client/cli/*_commands.cc); args are what follows the command name.
int RunSearch(Cli& cli, const std::vector<std::string>& args);
int RunCount(Cli& cli, const std::vector<std::string>& args);
int RunGet(Cli& cli, const std::vector<std::string>& args);
int RunHealth(Cli& cli, const std::vector<std::string>& args);
int RunStats(Cli& cli, const std::vector<std::string>& args);
int RunSniff(Cli& cli, const std::vector<std::string>& args);
int RunWatch(Cli& cli, const std::vector<std::string>& args);
int RunBulk(Cli& cli, const std::vector<std::string>& args);
int RunIngest(Cli& cli, const std::vector<std::string>& args);

// esgw-cli's entry point: global flags, the command, its flags. Sets up signal handling.
int CliMain(int argc, char** argv);

}  // namespace esgw::cli
