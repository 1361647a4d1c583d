// esgw-cli health, stats, sniff and watch.
#include <algorithm>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/cli/cli.h"
#include "client/cli/format.h"
#include "client/cli/views.h"

namespace esgw::cli {
namespace {

constexpr CommandHelp kHealthHelp = {
    "health", "gateway status, node pool summary and cluster health", "[flags]",
    "Shows whether esgw is serving (at least one Elasticsearch node takes requests), its\n"
    "version and uptime, the pool's alive, dead and probing nodes, the last sniff, and the\n"
    "cluster's own health as Elasticsearch reports it (cached by esgw for a few seconds).\n"
    "Exits 1 when the gateway is not serving, so it works as a check in scripts.",
    "  esgw-cli health\n"
    "  esgw-cli health --json | jq -r .cluster.status\n"
    "  until esgw-cli health >/dev/null; do sleep 1; done   # wait until serving\n"};

constexpr CommandHelp kStatsHelp = {
    "stats", "the node pool: state, load, latency, connections per node", "[flags]",
    "One row per Elasticsearch node in esgw's pool:\n"
    "  ADDRESS   host:port as esgw dials it\n"
    "  ROLES     Elasticsearch's role letters (d data, i ingest, m master,\n"
    "            l ml, ...); - coordinating only; ? a seed not sniffed yet\n"
    "  STATE     alive (with its slow-start share while it ramps up), dead\n"
    "            (with the time to its next probe), probing\n"
    "  INFLIGHT  requests on the node now\n"
    "  REQUESTS  requests sent to it; FAILED those that failed\n"
    "  P50, P99  its response time: half, and 99 in 100, of the requests took\n"
    "            at most this long (since esgw started; in 'watch', over the\n"
    "            last interval); - no requests; >60.00s above the last bucket\n"
    "  CONNS     HTTP connections open to it now\n"
    "\n"
    "Below the table: pool mode, selector, retries, sniffs. 'watch' shows the same, live.",
    "  esgw-cli stats\n"
    "  esgw-cli stats --json | jq '.nodes[] | select(.state != \"NODE_STATE_ALIVE\")'\n"};

constexpr CommandHelp kSniffHelp = {
    "sniff", "have esgw discover the cluster's nodes now, then show the pool", "[flags]",
    "Asks esgw to sniff the cluster (GET /_nodes/http) at once instead of waiting for its\n"
    "--sniff_interval, then shows the pool as 'stats' does. Nodes that were found are\n"
    "admitted only after they answer a probe, so they may appear a moment later.",
    "  esgw-cli sniff\n"
    "  esgw-cli sniff --json\n"};

constexpr CommandHelp kWatchHelp = {
    "watch", "the node pool table, redrawn live", "[flags]",
    "Streams the pool from esgw (Admin/WatchPoolStats) and redraws the 'stats' table in\n"
    "place at every update; P50 and P99 there cover the requests since the update before.\n"
    "When stdout is not a terminal it prints successive tables instead, each under a\n"
    "timestamp line; --json prints one PoolStats JSON object per line.\n"
    "Ctrl-C ends it (exit code 0).",
    "  esgw-cli watch\n"
    "  esgw-cli watch --interval=250ms\n"
    "  # Ten samples a second apart, as JSON lines\n"
    "  esgw-cli watch --count=10 --json > pool.jsonl\n"};

// Parses the flags of a command with no arguments but --json; returns -1 to go on, else the
// exit code.
int ParseSimple(Cli& cli, const CommandHelp& help, const std::vector<std::string>& args,
                FlagSet& flags) {
  cli.AddConnectionFlags(flags);
  std::vector<std::string> positional;
  if (absl::Status status = flags.Parse(args, &positional); !status.ok()) {
    return cli.Usage(help, status);
  }
  if (flags.help()) return cli.Help(help, flags);
  if (!positional.empty()) {
    return cli.Usage(help, absl::StrCat("takes no arguments; got \"", positional[0], "\""));
  }
  return -1;
}

void PrintPool(Cli& cli, const v1::PoolStats& stats) {
  const Table::RenderOptions options = cli.TableOptions();
  const absl::Time now = absl::Now();
  std::fputs(PoolTable(stats, options, now).c_str(), cli.out());
  std::fputs(PoolFooter(stats, options.width, options.unicode, now).c_str(), cli.out());
}

}  // namespace

int RunHealth(Cli& cli, const std::vector<std::string>& args) {
  bool json = false;
  FlagSet flags;
  flags.AddBool("json", &json, "print the HealthReport as JSON");
  if (int code = ParseSimple(cli, kHealthHelp, args, flags); code >= 0) return code;
  std::unique_ptr<client::Client> client = cli.Connect(kHealthHelp);
  if (client == nullptr) return kExitUsage;
  absl::StatusOr<v1::HealthReport> report = client->GetHealth({.cancel = &cli.cancel()});
  if (!report.ok()) return cli.RpcError(report.status());
  if (json) {
    cli.PrintJson(*report);
  } else {
    std::fputs(HealthText(*report, cli.TableOptions(), absl::Now()).c_str(), cli.out());
  }
  return report->status() == v1::GATEWAY_STATUS_SERVING ? kExitOk : kExitFailed;
}

// stats and sniff: one call that returns the pool, shown as the node table or as JSON.
int RunPoolCommand(Cli& cli, const std::vector<std::string>& args, const CommandHelp& help,
                   absl::string_view json_help,
                   absl::FunctionRef<absl::StatusOr<v1::PoolStats>(client::Client&)> call) {
  bool json = false;
  FlagSet flags;
  flags.AddBool("json", &json, std::string(json_help));
  if (int code = ParseSimple(cli, help, args, flags); code >= 0) return code;
  std::unique_ptr<client::Client> client = cli.Connect(help);
  if (client == nullptr) return kExitUsage;
  absl::StatusOr<v1::PoolStats> stats = call(*client);
  if (!stats.ok()) return cli.RpcError(stats.status());
  if (json) {
    cli.PrintJson(*stats);
  } else {
    PrintPool(cli, *stats);
  }
  return kExitOk;
}

int RunStats(Cli& cli, const std::vector<std::string>& args) {
  return RunPoolCommand(
      cli, args, kStatsHelp, "print the PoolStats as JSON",
      [&](client::Client& client) { return client.GetPoolStats({.cancel = &cli.cancel()}); });
}

int RunSniff(Cli& cli, const std::vector<std::string>& args) {
  return RunPoolCommand(
      cli, args, kSniffHelp, "print the PoolStats after the sniff as JSON",
      [&](client::Client& client) { return client.Sniff({.cancel = &cli.cancel()}); });
}

int RunWatch(Cli& cli, const std::vector<std::string>& args) {
  absl::Duration interval = absl::Seconds(1);
  int64_t count = 0;
  bool json = false;
  FlagSet flags;
  flags.AddDuration("interval", &interval, absl::Milliseconds(100), absl::Hours(1),
                    "time between updates");
  flags.AddInt("count", &count, 0, 1000000000, "N",
               "stop after N updates (default: 0, until Ctrl-C)");
  flags.AddBool("json", &json, "print each PoolStats as one line of JSON");
  if (int code = ParseSimple(cli, kWatchHelp, args, flags); code >= 0) return code;
  std::unique_ptr<client::Client> client = cli.Connect(kWatchHelp);
  if (client == nullptr) return kExitUsage;

  const bool live = cli.out_terminal().tty && !json;
  int64_t updates = 0;
  bool drew = false;
  // The percentiles of each update cover the requests since the one before.
  std::optional<v1::PoolStats> previous;
  const auto on_stats = [&](const v1::PoolStats& stats) {
    ++updates;
    if (json) {
      cli.PrintJson(stats);
    } else {
      const absl::Time now = absl::Now();
      // Re-read the size at every update, so a resized terminal is followed.
      const TerminalInfo terminal = live ? ProbeTerminal(fileno(cli.out())) : cli.out_terminal();
      Table::RenderOptions options = cli.TableOptions();
      options.width = live ? terminal.width : 80;
      const std::string header =
          Ellipsize(absl::StrCat(absl::FormatTime("%H:%M:%S", now, absl::LocalTimeZone()),
                                 "  esgw ", cli.options().address, "  every ",
                                 absl::FormatDuration(interval), live ? "  (Ctrl-C to quit)" : ""),
                    options.width - 1, options.unicode);
      // Header, blank, table header, footer (2): what is left is for node rows.
      const int max_rows = live ? std::max(1, terminal.height - 7) : 1 << 30;
      const std::string frame = absl::StrCat(
          header, "\n\n", PoolTable(stats, options, now, max_rows, previous ? &*previous : nullptr),
          PoolFooter(stats, options.width, options.unicode, now));
      if (live) {
        // Home, then each line overwritten and cleared to its end, then the rest of the
        // screen cleared: no flicker, and nothing left over from a longer previous frame. No
        // newline after the last line, so a frame as tall as the terminal does not scroll.
        std::vector<absl::string_view> lines = absl::StrSplit(frame, '\n');
        if (!lines.empty() && lines.back().empty()) lines.pop_back();
        std::string out = drew ? kCursorHome : absl::StrCat(kHideCursor, kClearScreen, kCursorHome);
        for (size_t i = 0; i < lines.size(); ++i) {
          absl::StrAppend(&out, lines[i], kClearToEndOfLine, i + 1 < lines.size() ? "\n" : "");
        }
        absl::StrAppend(&out, kClearToEndOfScreen);
        std::fputs(out.c_str(), cli.out());
        drew = true;
      } else {
        std::fputs(absl::StrCat(frame, "\n").c_str(), cli.out());
      }
    }
    std::fflush(cli.out());
    previous = stats;
    return count == 0 || updates < count;
  };
  const absl::Status status = client->WatchPoolStats(interval, on_stats, {.cancel = &cli.cancel()});
  if (drew) {
    std::fprintf(cli.out(), "\n%s", kShowCursor);
    std::fflush(cli.out());
  }
  // Ctrl-C is how watch ends.
  if (!status.ok() && !(cli.interrupted() && status.code() == absl::StatusCode::kCancelled)) {
    return cli.RpcError(status);
  }
  return kExitOk;
}

}  // namespace esgw::cli
