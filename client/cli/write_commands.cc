// esgw-cli bulk and ingest: the flags, the run (WriteRunner), the summary and the exit code.
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/cli/cli.h"
#include "client/cli/failed_items.h"
#include "client/cli/format.h"
#include "client/cli/json_text.h"
#include "client/cli/line_reader.h"
#include "client/cli/op_reader.h"
#include "client/cli/progress.h"
#include "client/cli/write_runner.h"
#include "pool/utf8.h"

namespace esgw::cli {
namespace {

constexpr char kWriteDescription[] =
    "Reads ops from the FILEs in order, or from stdin (- or no FILE, when stdin is not a "
    "terminal), in either format (--format; auto-detected from the first line):\n"
    "  bulk   Elasticsearch's _bulk NDJSON: an action line such as\n"
    "         {\"index\":{\"_index\":\"logs\",\"_id\":\"1\"}} (also create, update,\n"
    "         delete), then the document (none for delete). Actions without an\n"
    "         _index go to --index.\n"
    "  jsonl  JSON lines: one document per line, written to --index as --op,\n"
    "         with its id from --id_field (else Elasticsearch picks one).\n"
    "\n"
    "On a terminal a progress line shows docs, bytes and docs/s, and for files a bar and "
    "the ETA; otherwise a plain line every 5 s. A summary follows (--json: as JSON).\n"
    "\n"
    "Every op ends ok or failed. Failed ops (refused by Elasticsearch, unreadable, or cut "
    "off by a failed call) are counted by reason in the summary and, with --failed=FILE, "
    "written there as bulk NDJSON with an \"error\" next to each action, so that the file "
    "can be fed back as it is once the cause is fixed. Exit code 0 when every op was "
    "written, 1 when any failed or the call failed, 2 for usage errors (nothing sent).";

constexpr CommandHelp kBulkHelp = {
    "bulk", "write NDJSON or JSON lines in Bulk calls of bounded batches", "[flags] [FILE... | -]",
    kWriteDescription,
    "  esgw-cli bulk --failed=failed.ndjson data.ndjson\n"
    "  esgw-cli bulk --index=products --id_field=sku --refresh=true products.jsonl\n"
    "  # Feed back what failed, once the cause is fixed\n"
    "  esgw-cli bulk --failed=still-failed.ndjson failed.ndjson\n"
    "  zcat dump.ndjson.gz | esgw-cli bulk --batch_ops=500 -\n"};

constexpr CommandHelp kIngestHelp = {"ingest",
                                     "write NDJSON or JSON lines over one streaming Ingest call",
                                     "[flags] [FILE... | -]", kWriteDescription,
                                     "  esgw-cli ingest --failed=failed.ndjson data.ndjson\n"
                                     "  esgw-cli ingest --index=logs logs-*.jsonl\n"
                                     "  # A live feed: each line is written as it comes\n"
                                     "  tail -F app.jsonl | esgw-cli ingest --index=app-logs -\n"};

// "429 es_rejected_execution_exception" -> its status and type.
std::pair<int, std::string> SplitKey(const std::string& key) {
  const size_t space = key.find(' ');
  int status = 0;
  if (!absl::SimpleAtoi(key.substr(0, space), &status)) status = 0;
  return {status, space == std::string::npos ? "" : key.substr(space + 1)};
}

std::string HumanSummary(const std::string& command, const WriteRunner::Result& r,
                         const FailedItemWriter* failed_file, int width, bool unicode) {
  const double seconds = std::max(absl::ToDoubleSeconds(r.elapsed), 1e-3);
  std::string out = absl::StrCat(command, ": ", Thousands(r.ops), r.ops == 1 ? " doc" : " docs",
                                 " (", Bytes(r.bytes), ") in ", ShortDuration(r.elapsed), ", ",
                                 Thousands(static_cast<int64_t>(r.ops / seconds)), " docs/s\n");
  absl::StrAppend(&out, "  ok ", Thousands(r.ok), "  failed ", Thousands(r.failed), "  retried ",
                  Thousands(r.retried), "\n");
  for (const auto& [key, group] : r.failures) {
    const auto [status, type] = SplitKey(key);
    absl::StrAppend(&out, "  ", Thousands(group.count), " x ",
                    status > 0 ? absl::StrCat(status, " ") : "", type, "\n");
    absl::StrAppend(
        &out,
        Ellipsize(absl::StrCat("    e.g. ", group.example_where, ": ", group.example_reason),
                  width - 1, unicode),
        "\n");
  }
  if (!r.stopped_at.empty()) {
    absl::StrAppend(&out, "  stopped at ", r.stopped_at, ": the input after it was not read\n");
  }
  if (failed_file != nullptr) {
    if (failed_file->written() > 0) {
      absl::StrAppend(&out, "  failed ops written to ", failed_file->path(),
                      "\n  retry them with: esgw-cli ", command, " ", failed_file->path(), "\n");
    } else {
      absl::StrAppend(&out, "  nothing failed; ", failed_file->path(), " is empty\n");
    }
  }
  return out;
}

std::string JsonSummary(const std::string& command, const WriteRunner::Result& r,
                        const FailedItemWriter* failed_file) {
  std::string out =
      absl::StrCat("{\"command\":\"", command, "\",\"docs\":", r.ops, ",\"ok\":", r.ok,
                   ",\"failed\":", r.failed, ",\"retried\":", r.retried, ",\"bytes\":", r.bytes,
                   ",\"elapsed_ms\":", absl::ToInt64Milliseconds(r.elapsed), ",\"failures\":[");
  bool first = true;
  for (const auto& [key, group] : r.failures) {
    const auto [status, type] = SplitKey(key);
    absl::StrAppend(&out, first ? "" : ",", "{\"status\":", status, ",\"type\":", JsonQuote(type),
                    ",\"count\":", group.count,
                    ",\"example_reason\":", JsonQuote(group.example_reason),
                    ",\"example_input\":", JsonQuote(group.example_where), "}");
    first = false;
  }
  absl::StrAppend(&out, "]");
  if (failed_file != nullptr)
    absl::StrAppend(&out, ",\"failed_file\":", JsonQuote(failed_file->path()));
  if (!r.stopped_at.empty()) absl::StrAppend(&out, ",\"stopped_at\":", JsonQuote(r.stopped_at));
  const absl::Status& error = !r.call_status.ok() ? r.call_status : r.input_status;
  if (!error.ok()) {
    absl::StrAppend(
        &out, ",\"error\":",
        JsonQuote(absl::StrCat(absl::StatusCodeToString(error.code()), ": ", error.message())));
  }
  absl::StrAppend(&out, "}\n");
  return out;
}

int RunWrite(Cli& cli, const std::vector<std::string>& args, bool stream) {
  const CommandHelp& help = stream ? kIngestHelp : kBulkHelp;
  const std::string command = help.name;
  std::string index;
  std::string format = "auto";
  std::string id_field;
  std::string op = "index";
  std::string pipeline;
  std::string refresh;
  std::string failed_path;
  std::string progress_mode = "auto";
  int64_t batch_ops = 1000;
  int64_t batch_bytes = 5 << 20;
  int64_t message_ops = 500;
  bool json = false;
  FlagSet flags;
  flags.AddString("index", &index, "NAME",
                  "default index: for JSON lines, and for actions that name no _index");
  flags.AddChoice("format", &format, {"auto", "bulk", "jsonl"},
                  "input format: bulk NDJSON, JSON lines, or auto (from the first line)");
  flags.AddString("id_field", &id_field, "FIELD",
                  "JSON lines: take each document's id from this field (dotted path)");
  flags.AddChoice("op", &op, {"index", "create"},
                  "JSON lines: index (create or replace) or create (fail if the id exists)");
  flags.AddString("pipeline", &pipeline, "NAME", "default ingest pipeline");
  flags.AddChoice("refresh", &refresh, {"false", "true", "wait_for"},
                  "when writes become visible to search (default: Elasticsearch's)");
  flags.AddString("failed", &failed_path, "FILE",
                  "write failed ops here as bulk NDJSON, each with its error (the file is "
                  "replaced; empty when nothing failed)");
  if (stream) {
    flags.AddInt("message_ops", &message_ops, 1, 100000, "N", "ops per stream message at most");
  } else {
    flags.AddInt("batch_ops", &batch_ops, 1, 100000, "N", "ops per Bulk call at most");
    flags.AddInt("batch_bytes", &batch_bytes, 1024, 60 << 20, "BYTES",
                 "bytes of input per Bulk call at most (a larger op goes alone)");
  }
  flags.AddChoice("progress", &progress_mode, {"auto", "bar", "plain", "none"},
                  "progress on stderr: auto is a bar on a terminal, else a plain line every 5 s");
  flags.AddBool("json", &json, "print the summary as JSON");
  cli.AddConnectionFlags(flags);
  std::vector<std::string> inputs;
  if (absl::Status status = flags.Parse(args, &inputs); !status.ok()) {
    return cli.Usage(help, status);
  }
  if (flags.help()) return cli.Help(help, flags);

  OpReader::Options reader_options;
  reader_options.format = format == "bulk"    ? OpReader::Format::kBulk
                          : format == "jsonl" ? OpReader::Format::kJsonLines
                                              : OpReader::Format::kAuto;
  if (reader_options.format == OpReader::Format::kBulk) {
    if (!id_field.empty()) {
      return cli.Usage(help,
                       "--id_field: applies to --format=jsonl only (bulk actions carry "
                       "their _id)");
    }
    if (flags.IsSet("op")) {
      return cli.Usage(help,
                       "--op: applies to --format=jsonl only (bulk lines name their "
                       "action)");
    }
  }
  reader_options.index = index;
  reader_options.id_field = id_field;
  reader_options.op_type = op == "create" ? v1::OP_TYPE_CREATE : v1::OP_TYPE_INDEX;
  if (inputs.empty()) {
    if (isatty(0) == 1) {
      return cli.Usage(help, "no input: name FILEs, or pipe the input into stdin ('-')");
    }
    inputs.push_back("-");
  }
  LineReader lines(inputs);
  if (absl::Status status = lines.Open(); !status.ok()) return cli.Usage(help, status);
  std::unique_ptr<FailedItemWriter> failed_writer;
  if (!failed_path.empty()) {
    absl::StatusOr<std::unique_ptr<FailedItemWriter>> opened =
        FailedItemWriter::Open(failed_path, index);
    if (!opened.ok()) return cli.Usage(help, opened.status());
    failed_writer = *std::move(opened);
  }
  std::unique_ptr<client::Client> client = cli.Connect(help);
  if (client == nullptr) return kExitUsage;

  Progress::Options progress_options;
  const TerminalInfo& err_terminal = cli.err_terminal();
  if (progress_mode == "bar" || (progress_mode == "auto" && err_terminal.tty)) {
    progress_options.mode = Progress::Mode::kBar;
  } else if (progress_mode == "plain" || progress_mode == "auto") {
    progress_options.mode = Progress::Mode::kPlain;
  }
  progress_options.out = cli.err();
  progress_options.fd = fileno(cli.err());
  progress_options.unicode = err_terminal.unicode;
  progress_options.total_bytes = lines.total_bytes();
  progress_options.label = command;
  Progress progress(progress_options);

  WriteRunner::Settings settings;
  settings.stream = stream;
  settings.defaults.index = index;
  settings.defaults.pipeline = pipeline;
  settings.defaults.refresh = refresh == "true"       ? v1::REFRESH_TRUE
                              : refresh == "false"    ? v1::REFRESH_FALSE
                              : refresh == "wait_for" ? v1::REFRESH_WAIT_FOR
                                                      : v1::REFRESH_UNSPECIFIED;
  settings.batch_ops = batch_ops;
  settings.batch_bytes = batch_bytes;
  settings.message_ops = message_ops;
  OpReader reader(reader_options, &lines);
  WriteRunner runner(client.get(), &lines, &reader, failed_writer.get(), &progress, &cli.cancel(),
                     settings);
  progress.Start();
  WriteRunner::Result result = runner.Run();
  progress.Stop();

  // A flag the input turned out to need, before anything was sent, is a usage error.
  if (result.input_status.code() == absl::StatusCode::kFailedPrecondition && result.ops == 0) {
    return cli.Usage(help, result.input_status);
  }
  if (!id_field.empty() && reader.format() == OpReader::Format::kBulk) {
    std::fprintf(cli.err(),
                 "warning: --id_field was ignored: the input is bulk NDJSON, whose "
                 "actions carry their ids\n");
  }
  absl::Status close_status = absl::OkStatus();
  if (failed_writer != nullptr) close_status = failed_writer->Close();
  const Table::RenderOptions table = cli.TableOptions();
  std::fputs(
      json ? JsonSummary(command, result, failed_writer.get()).c_str()
           : HumanSummary(command, result, failed_writer.get(), table.width, table.unicode).c_str(),
      cli.out());
  std::fflush(cli.out());

  int code = kExitOk;
  if (!result.call_status.ok()) {
    code = cli.RpcError(result.call_status);
  } else if (cli.interrupted()) {
    std::fprintf(cli.err(), "interrupted\n");
    code = kExitInterrupted;
  }
  if (!result.input_status.ok()) {
    std::fprintf(cli.err(), "error: %s\n", std::string(result.input_status.message()).c_str());
    if (code == kExitOk) code = kExitFailed;
  }
  if (!close_status.ok()) {
    std::fprintf(cli.err(), "error: %s\n", std::string(close_status.message()).c_str());
    if (code == kExitOk) code = kExitFailed;
  }
  if (result.failed > 0 && code == kExitOk) {
    std::fprintf(cli.err(), "error: %s of %s docs failed\n", Thousands(result.failed).c_str(),
                 Thousands(result.ops).c_str());
    code = kExitFailed;
  }
  return code;
}

}  // namespace

int RunBulk(Cli& cli, const std::vector<std::string>& args) { return RunWrite(cli, args, false); }
int RunIngest(Cli& cli, const std::vector<std::string>& args) { return RunWrite(cli, args, true); }

}  // namespace esgw::cli
