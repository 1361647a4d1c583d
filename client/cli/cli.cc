#include "client/cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

#ifndef ESGW_VERSION
#define ESGW_VERSION "dev"
#endif

namespace esgw::cli {
namespace {

constexpr char kTopUsage[] = "[connection flags] <command> [flags] [arguments]";

struct CommandEntry {
  const char* name;
  const char* summary;
  int (*run)(Cli&, const std::vector<std::string>&);
};

constexpr CommandEntry kCommands[] = {
    {"search", "run a search and show the hits", RunSearch},
    {"count", "count the documents that match a query", RunCount},
    {"get", "fetch one document by index and id", RunGet},
    {"bulk", "write NDJSON or JSON lines in Bulk calls of bounded batches", RunBulk},
    {"ingest", "write NDJSON or JSON lines over one streaming Ingest call", RunIngest},
    {"health", "gateway status, node pool summary and cluster health", RunHealth},
    {"stats", "the node pool: state, load, latency, connections per node", RunStats},
    {"watch", "the node pool table, redrawn live", RunWatch},
    {"sniff", "have esgw discover the cluster's nodes now, then show the pool", RunSniff},
};

constexpr char kTopDescription[] =
    "esgw-cli searches, writes and watches Elasticsearch through esgw-server, the gRPC "
    "gateway that keeps the pool of Elasticsearch nodes.";

constexpr char kEnvironment[] =
    "Environment:\n"
    "  ESGW_ADDR   server address when --addr is not given (else 127.0.0.1:50051)\n"
    "  ESGW_TOKEN  bearer token when neither --token nor --token_file is given\n"
    "  NO_COLOR    when set, no colour even on a terminal\n";

constexpr char kExitCodes[] =
    "Exit codes:\n"
    "  0    success\n"
    "  1    the call failed: an RPC error, failed items (bulk, ingest), a document\n"
    "       not found (get), a gateway that is not serving (health)\n"
    "  2    usage: a flag or argument broke its rule; nothing was sent\n"
    "  130  interrupted by Ctrl-C (watch exits 0: Ctrl-C is how it ends)\n";

constexpr char kTopExamples[] =
    "  # Is the gateway up, and how is the cluster?\n"
    "  esgw-cli health\n"
    "  # The node pool of a remote gateway, over TLS\n"
    "  esgw-cli --addr=esgw.example.com:443 --tls stats\n"
    "  # Lamps, best match first\n"
    "  esgw-cli search --index=products '{\"query\":{\"match\":{\"name\":\"lamp\"}}}'\n"
    "  # Write a file of JSON lines; keep what failed for another try\n"
    "  esgw-cli ingest --index=logs --failed=failed.ndjson logs.jsonl\n";

bool IsLoopback(const std::string& address) {
  return absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]") || absl::StartsWith(address, "unix:") ||
         absl::StartsWith(address, "dns:///localhost:") || absl::StartsWith(address, "ipv4:127.");
}

int Dispatch(Cli& cli, const std::vector<std::string>& args);

// text with its prose wrapped to width: lines that start with a space (lists, tables) and
// empty lines are kept as they are; the other lines of a paragraph are joined and wrapped.
std::string Reflow(absl::string_view text, size_t width) {
  std::string out;
  std::string line;
  const auto flush = [&] {
    if (!line.empty()) absl::StrAppend(&out, line, "\n");
    line.clear();
  };
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    if (raw.empty() || raw[0] == ' ') {
      flush();
      absl::StrAppend(&out, raw, "\n");
      continue;
    }
    for (absl::string_view word : absl::StrSplit(raw, ' ', absl::SkipEmpty())) {
      if (!line.empty() && line.size() + 1 + word.size() > width) flush();
      absl::StrAppend(&line, line.empty() ? "" : " ", word);
    }
  }
  flush();
  return out;
}

}  // namespace

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") {
    std::stringstream text;
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Cli::Cli(std::FILE* out, std::FILE* err)
    : out_(out),
      err_(err),
      out_terminal_(ProbeTerminal(fileno(out))),
      err_terminal_(ProbeTerminal(fileno(err))) {}

Table::RenderOptions Cli::TableOptions() const {
  return {.width = out_terminal_.tty ? out_terminal_.width : 80,
          .color = out_terminal_.color,
          .unicode = out_terminal_.unicode};
}

void Cli::AddConnectionFlags(FlagSet& flags) {
  flags.StartGroup("Connection flags (every command)");
  flags.AddString("addr", &options_.address, "HOST:PORT",
                  "esgw-server address, or a gRPC target such as dns:///esgw:50051; else "
                  "$ESGW_ADDR, else 127.0.0.1:50051");
  flags.AddString("token", &options_.token, "TOKEN",
                  "bearer token, sent as \"authorization: Bearer TOKEN\"; else $ESGW_TOKEN");
  flags.AddString("token_file", &token_file_, "FILE",
                  "read the bearer token from FILE (keeps it out of the process list)");
  flags.AddBool("tls", &options_.tls,
                "connect with TLS, checking the server against the "
                "system's CA certificates");
  flags.AddString("ca_file", &options_.ca_file, "FILE",
                  "PEM CA certificates to check the server against (turns TLS on)");
  flags.AddString("cert_file", &options_.cert_file, "FILE",
                  "PEM client certificate, for servers that ask for one (with --key_file)");
  flags.AddString("key_file", &options_.key_file, "FILE", "PEM key of --cert_file");
  flags.AddString("server_name", &options_.server_name, "NAME",
                  "name the server's certificate must carry, when --addr is an IP or a tunnel");
  flags.AddDuration("deadline", &options_.deadline, absl::Milliseconds(1), absl::Hours(24),
                    "deadline of each call; for bulk, of each batch (ingest and watch have none)");
}

std::unique_ptr<client::Client> Cli::Connect(const CommandHelp& help) {
  client::ClientOptions options = options_;
  if (!token_file_.empty()) {
    if (!options.token.empty()) {
      Usage(help, "--token_file: give either --token or --token_file, not both");
      return nullptr;
    }
    absl::StatusOr<std::string> token = ReadInput(token_file_);
    if (!token.ok()) {
      Usage(help, absl::StrCat("--token_file: ", token.status().message()));
      return nullptr;
    }
    options.token = std::string(absl::StripAsciiWhitespace(*token));
  }
  client::ApplyEnvironment(options);
  options.user_agent = absl::StrCat("esgw-cli/", ESGW_VERSION);
  absl::StatusOr<std::unique_ptr<client::Client>> client = client::Client::Create(options);
  if (!client.ok()) {
    // The options' field names are the flags' names, but for address (--addr).
    std::string message(client.status().message());
    if (absl::StartsWith(message, "address:")) message.replace(0, 7, "addr");
    Usage(help, absl::StrCat("--", message));
    return nullptr;
  }
  if (!options.token.empty() && !options.UsesTls() && !IsLoopback(options.address)) {
    std::fprintf(err_,
                 "warning: sending the bearer token to %s without TLS; anyone on the way can "
                 "read it (use --tls or --ca_file)\n",
                 options.address.c_str());
  }
  options_ = options;
  return *std::move(client);
}

int Cli::Usage(const CommandHelp& help, const absl::Status& status) {
  return Usage(help, std::string(status.message()));
}

int Cli::Usage(const CommandHelp& help, const std::string& message) {
  const std::string command =
      std::string(help.name).empty() ? "esgw-cli" : absl::StrCat("esgw-cli ", help.name);
  std::fprintf(err_, "%s: %s\nRun '%s --help' for usage.\n", command.c_str(), message.c_str(),
               command.c_str());
  return kExitUsage;
}

int Cli::Help(const CommandHelp& help, const FlagSet& flags) {
  const std::string command =
      std::string(help.name).empty() ? "esgw-cli" : absl::StrCat("esgw-cli ", help.name);
  std::fprintf(out_, "%s: %s\n\nUsage: %s %s\n\n%s\n%s\nExamples:\n%s", command.c_str(),
               help.summary, command.c_str(), help.usage, Reflow(help.description, 78).c_str(),
               flags.Help(80).c_str(), help.examples);
  return kExitOk;
}

int Cli::RpcError(const absl::Status& status) {
  if (interrupted() && status.code() == absl::StatusCode::kCancelled) {
    std::fprintf(err_, "interrupted\n");
    return kExitInterrupted;
  }
  std::fprintf(err_, "error: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  if (status.code() == absl::StatusCode::kUnavailable &&
      absl::StrContains(status.message(), "failed to connect")) {
    std::fprintf(err_, "hint: is esgw-server running at %s? Set --addr or ESGW_ADDR.\n",
                 options_.address.c_str());
  }
  return kExitFailed;
}

void Cli::PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = out_terminal_.tty;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    json = "{}";
  }
  // With add_whitespace the text already ends in a newline.
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  std::fputs(json.c_str(), out_);
}

void Cli::Interrupt() {
  interrupted_.store(true);
  cancel_.Cancel();
}

namespace {

int TopHelp(std::FILE* out, FlagSet& flags) {
  std::fprintf(out, "%s\nUsage: esgw-cli %s\n\nCommands:\n", Reflow(kTopDescription, 78).c_str(),
               kTopUsage);
  for (const CommandEntry& command : kCommands) {
    std::fprintf(out, "  %-8s %s\n", command.name, command.summary);
  }
  std::fprintf(out,
               "\nRun 'esgw-cli <command> --help' for a command's flags and examples.\n\n%s\n%s\n%s"
               "\nExamples:\n%s",
               flags.Help(80).c_str(), kEnvironment, kExitCodes, kTopExamples);
  return kExitOk;
}

int Dispatch(Cli& cli, const std::vector<std::string>& args) {
  static constexpr CommandHelp kTop = {"", "", kTopUsage, "", ""};
  FlagSet flags;
  cli.AddConnectionFlags(flags);
  bool version = false;
  flags.StartGroup("Other");
  flags.AddBool("version", &version, "print esgw-cli's version and exit");
  std::vector<std::string> rest;
  if (absl::Status status = flags.Parse(args, &rest, /*stop_at_positional=*/true); !status.ok()) {
    return cli.Usage(kTop, status);
  }
  if (version) {
    std::fprintf(cli.out(), "esgw-cli %s\n", ESGW_VERSION);
    return kExitOk;
  }
  if (flags.help()) return TopHelp(cli.out(), flags);
  if (rest.empty()) {
    // No command is a usage error: the overview goes to stderr.
    TopHelp(cli.err(), flags);
    return kExitUsage;
  }
  std::string name = rest[0];
  std::vector<std::string> command_args(rest.begin() + 1, rest.end());
  if (name == "help") {
    if (command_args.empty()) return TopHelp(cli.out(), flags);
    name = command_args[0];
    command_args = {"--help"};
  }
  for (const CommandEntry& command : kCommands) {
    if (name == command.name) return command.run(cli, command_args);
  }
  std::string suggestion;
  for (const CommandEntry& command : kCommands) {
    if (absl::StartsWith(command.name, name.substr(0, 2)) && name.size() >= 2) {
      suggestion = absl::StrCat(" (did you mean '", command.name, "'?)");
      break;
    }
  }
  return cli.Usage(kTop, absl::StrCat("unknown command '", name, "'", suggestion,
                                      "; commands: search, count, get, bulk, ingest, health, "
                                      "stats, watch, sniff"));
}

}  // namespace

int CliMain(int argc, char** argv) {
  // Ctrl-C and SIGTERM go to a thread of their own (blocked here, before gRPC starts any
  // thread, so every thread inherits the mask): the first cancels the calls in progress so the
  // command can report and exit; a second one exits at once.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Never destroyed: the signal thread may use it until the process ends.
  static Cli* cli = new Cli(stdout, stderr);
  std::thread([signals] {
    while (true) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (!cli->interrupted()) {
        cli->Interrupt();
        continue;
      }
      if (cli->out_terminal().tty) {
        [[maybe_unused]] ssize_t n = write(1, kShowCursor, sizeof(kShowCursor) - 1);
      }
      _exit(kExitInterrupted);
    }
  }).detach();

  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = Dispatch(*cli, args);
  std::fflush(stdout);
  std::fflush(stderr);
  return code;
}

}  // namespace esgw::cli
