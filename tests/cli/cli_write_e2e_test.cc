// esgw-cli end to end, writes: bulk and ingest run as subprocesses against the built esgw-server
// in front of a 3-node dev cluster, whose document listing (GET /docs/{index}) proves what was
// stored. Covers both input formats, every action, bad and broken input, stdin, the summary, 429
// rejections (resent until they succeed; or, on a server told not to resend, failed items in
// the --failed file that can be fed back), an unreachable server, and Ctrl-C. The invariant
// checked throughout: every op of the input is either stored or in the failed-items file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/gateway_calls.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using testing::CliResult;
using testing::CliRunner;
using testing::ClosedPort;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

google::protobuf::Struct ParseStruct(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return parsed;
}

std::string Id(int i) { return absl::StrFormat("d-%05d", i); }
std::string Source(int i) { return absl::StrCat(R"({"n":)", i, R"(,"title":"doc )", i, "\"}"); }

// count index ops in bulk NDJSON: ids d-00000..., into index.
std::string BulkLines(const std::string& index, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&out, R"({"index":{"_index":")", index, R"(","_id":")", Id(i), "\"}}\n",
                    Source(i), "\n");
  }
  return out;
}

// One record of a failed-items file: its action line, parsed, and its document line.
struct FailedRecord {
  google::protobuf::Struct action;
  std::string source;
  const google::protobuf::Struct& Meta(const std::string& type) const {
    return action.fields().at(type).struct_value();
  }
  const google::protobuf::Struct& Error() const {
    return action.fields().at("error").struct_value();
  }
};

std::vector<FailedRecord> ReadFailed(const std::string& path, bool with_sources = true) {
  std::vector<FailedRecord> records;
  const std::vector<std::string> lines =
      absl::StrSplit(CliRunner::ReadFile(path), '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    FailedRecord record;
    record.action = ParseStruct(lines[i]);
    if (with_sources && !record.action.fields().contains("delete") && i + 1 < lines.size()) {
      record.source = lines[++i];
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

class CliWriteE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::DevCluster::Start({.nodes = 3});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    // Short item backoff, so that resending 429s does not slow the suite.
    auto server = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(), {"--bulk_retry_initial=10ms", "--bulk_retry_max=100ms"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    // A backoff longer than any call: a rejected item is final at once, so 429s injected into
    // the dev cluster become failed items.
    auto no_resend = testing::EsgwProcess::Start(
        cluster_->SeedsFlag(), {"--bulk_retry_initial=1h", "--bulk_retry_max=1h"});
    ASSERT_TRUE(no_resend.ok()) << no_resend.status();
    no_resend_server_ = no_resend->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete no_resend_server_;
    no_resend_server_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(no_resend_server_, nullptr);
    ASSERT_TRUE(cluster_->ResetAll(/*wipe_data=*/true).ok());
    auto runner = CliRunner::Create();
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
  }

  CliResult Cli(const std::vector<std::string>& args, CliRunner::Options options = {},
                const testing::EsgwProcess* server = nullptr) {
    options.env.emplace_back("ESGW_ADDR", (server != nullptr ? server : server_)->address());
    options.timeout = absl::Seconds(120);
    absl::StatusOr<CliResult> result = runner_->Run(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CliResult{};
  }

  // id -> version of every document stored in index (empty when there is no such index).
  static std::map<std::string, int64_t> StoredDocs(const std::string& index) {
    return testing::StoredDocsOrFail(*cluster_, index);
  }

  // The dev cluster's count of bulk items it answered with 429 since it started.
  static int64_t ItemsRejected() {
    const absl::StatusOr<std::string> stats = cluster_->Stats();
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? static_cast<int64_t>(
                            ParseStruct(*stats).fields().at("bulk_items_rejected").number_value())
                      : -1;
  }

  static testing::DevCluster* cluster_;
  static testing::EsgwProcess* server_;
  static testing::EsgwProcess* no_resend_server_;
  std::unique_ptr<CliRunner> runner_;
};

testing::DevCluster* CliWriteE2eTest::cluster_ = nullptr;
testing::EsgwProcess* CliWriteE2eTest::server_ = nullptr;
testing::EsgwProcess* CliWriteE2eTest::no_resend_server_ = nullptr;

TEST_F(CliWriteE2eTest, BulkWritesJsonLinesWithIdsFromAField) {
  std::string jsonl;
  for (int i = 0; i < 3000; ++i) absl::StrAppend(&jsonl, R"({"sku":"s-)", i, R"(","n":)", i, "}\n");
  const std::string input = runner_->WriteFile("products.jsonl", jsonl);
  const std::string failed = runner_->dir() + "/failed.ndjson";
  const CliResult result = Cli({"bulk", "--index=cli-skus", "--id_field=sku", "--batch_ops=500",
                                "--refresh=true", "--failed=" + failed, input});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("bulk: 3,000 docs ("));
  EXPECT_THAT(result.out, HasSubstr("\n  ok 3,000  failed 0  retried 0\n"));
  EXPECT_THAT(result.out, HasSubstr("nothing failed; " + failed + " is empty"));
  EXPECT_THAT(result.err, IsEmpty()) << "no progress lines for a run this short, no errors";
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(CliRunner::ReadFile(failed), "");
  const std::map<std::string, int64_t> stored = StoredDocs("cli-skus");
  ASSERT_EQ(stored.size(), 3000u);
  EXPECT_EQ(stored.count("s-0"), 1u);
  EXPECT_EQ(stored.count("s-2999"), 1u);
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id;
}

TEST_F(CliWriteE2eTest, IngestAppliesEveryActionAndReportsAConflictAsAFailedItem) {
  ASSERT_EQ(
      Cli({"ingest", runner_->WriteFile("seed.ndjson", BulkLines("cli-actions", 3))}).exit_code, 0);
  const std::string input = runner_->WriteFile(
      "actions.ndjson",
      "{\"create\":{\"_index\":\"cli-actions\",\"_id\":\"d-00000\"}}\n{\"n\":0}\n"  // conflict
      "{\"update\":{\"_index\":\"cli-actions\",\"_id\":\"d-00001\"}}\n{\"doc\":{\"n\":10}}\n"
      "{\"delete\":{\"_index\":\"cli-actions\",\"_id\":\"d-00002\"}}\n"
      "{\"index\":{\"_id\":\"new\"}}\n{\"n\":3}\n");  // the default index
  const std::string failed = runner_->dir() + "/failed.ndjson";
  const CliResult result = Cli({"ingest", "--index=cli-actions", "--failed=" + failed, input});
  EXPECT_EQ(result.exit_code, 1) << "an op failed";
  EXPECT_THAT(result.out, HasSubstr("ingest: 4 docs"));
  EXPECT_THAT(result.out, HasSubstr("  ok 3  failed 1"));
  EXPECT_THAT(result.out, HasSubstr("\n  1 x 409 version_conflict_engine_exception\n    e.g. "));
  EXPECT_EQ(result.err, "error: 1 of 4 docs failed\n");

  const std::vector<FailedRecord> records = ReadFailed(failed);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].Meta("create").fields().at("_id").string_value(), "d-00000");
  EXPECT_EQ(records[0].Meta("create").fields().at("_index").string_value(), "cli-actions");
  EXPECT_EQ(records[0].Error().fields().at("status").number_value(), 409);
  EXPECT_EQ(records[0].Error().fields().at("input").string_value(), input + ":1");
  EXPECT_EQ(records[0].source, "{\"n\":0}");

  const std::map<std::string, int64_t> stored = StoredDocs("cli-actions");
  EXPECT_EQ(stored.at("d-00000"), 1) << "the create failed";
  EXPECT_EQ(stored.at("d-00001"), 2) << "updated";
  EXPECT_EQ(stored.count("d-00002"), 0u) << "deleted";
  EXPECT_EQ(stored.at("new"), 1);
}

TEST_F(CliWriteE2eTest, ABadDocumentFailsAloneAndABrokenLineStopsTheRun) {
  const std::string input =
      runner_->WriteFile("bad.ndjson",
                         "{\"index\":{\"_index\":\"cli-bad\",\"_id\":\"a\"}}\n{\"ok\":1}\n"
                         "{\"index\":{\"_index\":\"cli-bad\",\"_id\":\"b\"}}\n{\"truncated\": \n"
                         "{\"index\":{\"_index\":\"cli-bad\",\"_id\":\"c\"}}\n{\"ok\":3}\n");
  const std::string failed = runner_->dir() + "/failed.ndjson";
  for (const char* command : {"bulk", "ingest"}) {
    const CliResult result = Cli({command, "--failed=" + failed, input});
    EXPECT_EQ(result.exit_code, 1) << command;
    EXPECT_THAT(result.out, HasSubstr("  ok 2  failed 1"));
    EXPECT_THAT(result.out, HasSubstr("\n  1 x invalid_input\n    e.g. "));
    const std::vector<FailedRecord> records = ReadFailed(failed);
    ASSERT_EQ(records.size(), 1u) << command;
    EXPECT_EQ(records[0].Meta("index").fields().at("_id").string_value(), "b");
    EXPECT_EQ(records[0].source, "{\"truncated\": ") << "the line as it was, to be fixed";
  }
  EXPECT_EQ(StoredDocs("cli-bad").size(), 2u);

  // A line that is no action at all: the ops before it are written, then the run stops.
  const std::string broken =
      runner_->WriteFile("broken.ndjson",
                         "{\"index\":{\"_index\":\"cli-broken\",\"_id\":\"a\"}}\n{\"ok\":1}\n"
                         "{\"message\":\"a document where an action belongs\"}\n"
                         "{\"index\":{\"_index\":\"cli-broken\",\"_id\":\"c\"}}\n{\"ok\":3}\n");
  const CliResult result = Cli({"bulk", broken});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("error: " + broken + ":3: expected a bulk action"));
  EXPECT_THAT(result.out, HasSubstr("  stopped at " + broken + ":3: the input after it"));
  EXPECT_EQ(StoredDocs("cli-broken").size(), 1u);

  // JSON lines need an index: a usage error, and nothing is written.
  const CliResult no_index = Cli({"ingest", runner_->WriteFile("docs.jsonl", "{\"a\":1}\n")});
  EXPECT_EQ(no_index.exit_code, 2);
  EXPECT_THAT(no_index.err, HasSubstr("--index: required for JSON-lines input"));
}

TEST_F(CliWriteE2eTest, ReadsStdinAndSummarisesAsJson) {
  CliRunner::Options options;
  options.stdin_text = BulkLines("cli-stdin", 250);
  const CliResult result = Cli({"ingest", "--json", "-"}, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const google::protobuf::Struct summary = ParseStruct(result.out);
  EXPECT_EQ(summary.fields().at("command").string_value(), "ingest");
  EXPECT_EQ(summary.fields().at("docs").number_value(), 250);
  EXPECT_EQ(summary.fields().at("ok").number_value(), 250);
  EXPECT_EQ(summary.fields().at("failed").number_value(), 0);
  EXPECT_EQ(summary.fields().at("bytes").number_value(),
            static_cast<double>(options.stdin_text.size()));
  EXPECT_EQ(StoredDocs("cli-stdin").size(), 250u);
  // Without a FILE, stdin is read when it is not a terminal.
  options.stdin_text = BulkLines("cli-stdin-2", 10);
  EXPECT_EQ(Cli({"bulk"}, options).exit_code, 0);
  EXPECT_EQ(StoredDocs("cli-stdin-2").size(), 10u);
}

TEST_F(CliWriteE2eTest, RejectedItemsAreResentUntilTheySucceed) {
  ASSERT_TRUE(cluster_->BulkReject(5).ok());
  const CliResult result =
      Cli({"bulk", "--batch_ops=250", runner_->WriteFile("a.ndjson", BulkLines("cli-429", 1000))});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("  ok 1,000  failed 0  retried "));
  EXPECT_THAT(result.out, ::testing::Not(HasSubstr("retried 0\n")));
  const std::map<std::string, int64_t> stored = StoredDocs("cli-429");
  EXPECT_EQ(stored.size(), 1000u);
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id << " written twice";
}

// 100,000 lines of bulk NDJSON (50,000 ops) through one Ingest stream while the dev cluster
// rejects every 7th item with 429, on a server that does not resend them.
TEST_F(CliWriteE2eTest, AHundredThousandLinesUnder429sLeaveEveryOpStoredOrInTheFailedFile) {
  constexpr int kOps = 50000;
  const std::string text = BulkLines("cli-big", kOps);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 100000);
  const std::string input = runner_->WriteFile("big.ndjson", text);
  const std::string failed = runner_->dir() + "/failed.ndjson";
  const int64_t rejected_before = ItemsRejected();
  ASSERT_TRUE(cluster_->BulkReject(7).ok());
  const CliResult result = Cli({"ingest", "--failed=" + failed, input}, {}, no_resend_server_);
  EXPECT_EQ(result.exit_code, 1);
  const int64_t rejected = ItemsRejected() - rejected_before;
  ASSERT_GT(rejected, kOps / 7 - 10);
  EXPECT_THAT(result.out, StartsWith("ingest: 50,000 docs ("));
  EXPECT_THAT(result.out, HasSubstr(absl::StrCat("  ok ", Thousands(kOps - rejected), "  failed ",
                                                 Thousands(rejected))));
  EXPECT_THAT(result.out,
              HasSubstr(absl::StrCat(" x 429 es_rejected_execution_exception\n    e.g. ")));
  EXPECT_THAT(result.out, HasSubstr("failed ops written to " + failed));
  EXPECT_EQ(result.err, absl::StrCat("error: ", Thousands(rejected), " of 50,000 docs failed\n"));
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos);

  // The failed file: one record per rejected op, with its error and its document as read.
  const std::vector<FailedRecord> records = ReadFailed(failed);
  ASSERT_EQ(static_cast<int64_t>(records.size()), rejected);
  std::set<std::string> failed_ids;
  for (const FailedRecord& record : records) {
    const std::string id = record.Meta("index").fields().at("_id").string_value();
    EXPECT_TRUE(failed_ids.insert(id).second) << id << " reported twice";
    EXPECT_EQ(record.Meta("index").fields().at("_index").string_value(), "cli-big");
    EXPECT_EQ(record.Error().fields().at("status").number_value(), 429);
    EXPECT_EQ(record.Error().fields().at("type").string_value(), "es_rejected_execution_exception");
    const int n = std::stoi(id.substr(2));
    EXPECT_EQ(record.source, Source(n));
    EXPECT_EQ(record.Error().fields().at("input").string_value(),
              absl::StrCat(input, ":", 2 * n + 1));
  }
  // Every other op is stored, once.
  std::map<std::string, int64_t> stored = StoredDocs("cli-big");
  EXPECT_EQ(static_cast<int64_t>(stored.size()), kOps - rejected);
  for (int i = 0; i < kOps; ++i) {
    const bool is_stored = stored.count(Id(i)) == 1;
    EXPECT_NE(is_stored, failed_ids.count(Id(i)) == 1) << Id(i) << " stored xor failed";
  }
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id;

  // Fed back once the rejections stop, the failed file completes the index.
  ASSERT_TRUE(cluster_->BulkReject(0).ok());
  const std::string again = runner_->dir() + "/again.ndjson";
  const CliResult refeed = Cli({"ingest", "--failed=" + again, failed}, {}, no_resend_server_);
  EXPECT_EQ(refeed.exit_code, 0) << refeed.out << refeed.err;
  EXPECT_EQ(CliRunner::ReadFile(again), "");
  stored = StoredDocs("cli-big");
  EXPECT_EQ(stored.size(), static_cast<size_t>(kOps));
  for (const auto& [id, version] : stored) EXPECT_EQ(version, 1) << id;
}

TEST_F(CliWriteE2eTest, BulkUnder429sWritesFailedItemsToo) {
  const std::string failed = runner_->dir() + "/failed.ndjson";
  const int64_t rejected_before = ItemsRejected();
  ASSERT_TRUE(cluster_->BulkReject(9).ok());
  const CliResult result = Cli({"bulk", "--batch_ops=400", "--failed=" + failed,
                                runner_->WriteFile("a.ndjson", BulkLines("cli-bulk-429", 4000))},
                               {}, no_resend_server_);
  EXPECT_EQ(result.exit_code, 1);
  const int64_t rejected = ItemsRejected() - rejected_before;
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(static_cast<int64_t>(ReadFailed(failed).size()), rejected);
  EXPECT_EQ(static_cast<int64_t>(StoredDocs("cli-bulk-429").size()), 4000 - rejected);
}

TEST_F(CliWriteE2eTest, AnUnreachableServerFailsTheOpsItCouldNotSend) {
  const std::string input = runner_->WriteFile("a.ndjson", BulkLines("cli-nowhere", 30));
  const std::string addr = absl::StrCat("--addr=127.0.0.1:", ClosedPort());
  const std::string failed = runner_->dir() + "/failed.ndjson";

  const CliResult ingest = Cli({"ingest", addr, "--failed=" + failed, input});
  EXPECT_EQ(ingest.exit_code, 1);
  EXPECT_THAT(ingest.err, StartsWith("error: UNAVAILABLE: "));
  std::vector<FailedRecord> records = ReadFailed(failed);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].Error().fields().at("type").string_value(), "no_result");
  EXPECT_THAT(ingest.out, HasSubstr(absl::StrCat("failed ", records.size())));

  const CliResult bulk = Cli({"bulk", addr, "--batch_ops=10", "--failed=" + failed, input});
  EXPECT_EQ(bulk.exit_code, 1);
  EXPECT_THAT(bulk.err, StartsWith("error: UNAVAILABLE: "));
  records = ReadFailed(failed);
  // The first batch, and the op read after it; the run stops there.
  ASSERT_EQ(records.size(), 11u);
  EXPECT_EQ(records[0].Error().fields().at("type").string_value(), "bulk_call_failed");
  EXPECT_EQ(records[10].Error().fields().at("type").string_value(), "not_sent");
  EXPECT_EQ(records[10].Error().fields().at("input").string_value(), input + ":21");
  EXPECT_THAT(bulk.out, HasSubstr("  stopped at " + input + ":21: the input after it"));
}

TEST_F(CliWriteE2eTest, CtrlCStopsARunAndEveryOpIsStillStoredOrInTheFailedFile) {
  for (int node = 0; node < 3; ++node) {
    ASSERT_TRUE(cluster_->Slow(node, absl::Milliseconds(100)).ok());
  }
  constexpr int kOps = 3000;
  const std::string input = runner_->WriteFile("a.ndjson", BulkLines("cli-interrupted", kOps));
  const std::string failed = runner_->dir() + "/failed.ndjson";
  CliRunner::Options options;
  options.env = {{"ESGW_ADDR", server_->address()}};
  auto child = runner_->Start({"bulk", "--batch_ops=50", "--failed=" + failed, input}, options);
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(testing::WaitFor([&] { return !StoredDocs("cli-interrupted").empty(); },
                               absl::Seconds(30), "the first batch stored"));
  ASSERT_TRUE((*child)->Signal(SIGINT).ok());
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 130);
  EXPECT_THAT(runner_->StartedErr(), HasSubstr("interrupted\n"));
  EXPECT_THAT(runner_->StartedOut(), HasSubstr("  stopped at " + input + ":"));
  ASSERT_TRUE(cluster_->ResetAll().ok());  // heal, so that the listing is quick

  const std::map<std::string, int64_t> stored = StoredDocs("cli-interrupted");
  EXPECT_LT(stored.size(), static_cast<size_t>(kOps)) << "stopped early";
  std::set<std::string> failed_ids;
  for (const FailedRecord& record : ReadFailed(failed)) {
    failed_ids.insert(record.Meta("index").fields().at("_id").string_value());
  }
  // Ops never read are neither; every op that was read is one or the other.
  int read = 0;
  for (int i = 0; i < kOps; ++i) {
    if (stored.count(Id(i)) == 1 || failed_ids.count(Id(i)) == 1) {
      EXPECT_EQ(read, i) << Id(i) << " follows a gap";
      read = i + 1;
    }
  }
  EXPECT_GT(read, 0);
}

}  // namespace
}  // namespace esgw
