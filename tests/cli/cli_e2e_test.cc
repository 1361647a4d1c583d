// esgw-cli end to end, read and operations commands: the built esgw-cli run as a subprocess
// against the built esgw-server in front of a 3-node dev cluster with the sample data. Checks
// what a user sees (stdout, stderr, exit codes) for search, count, get, health, stats, sniff and
// watch, the help pages, usage errors (exit 2) and an unreachable server (exit 1). Output here is
// never a terminal, so it must be plain: no escape sequences, lines of at most 80 columns.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "esgw/v1/admin.grpc.pb.h"
#include "esgw/v1/gateway.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/dev_cluster.h"
#include "tests/support/esgw_process.h"
#include "tests/support/wait.h"

namespace esgw {
namespace {

using ::testing::AllOf;
using testing::CliResult;
using testing::CliRunner;
using testing::ClosedPort;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Every line at most width columns (counting UTF-8 code points).
::testing::AssertionResult FitsWidth(const std::string& text, int width = 80) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    int columns = 0;
    for (char c : line) columns += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    if (columns > width) {
      return ::testing::AssertionFailure() << columns << " columns: \"" << line << "\"";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Plain(const std::string& text) {
  if (text.find('\x1b') != std::string::npos) {
    return ::testing::AssertionFailure() << "escape sequence in: " << text;
  }
  return ::testing::AssertionSuccess();
}

template <typename Message>
Message ParseJson(const std::string& json) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message, options);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return message;
}

class CliE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = testing::DevCluster::Start({.nodes = 3, .sample_data = true});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    auto server = testing::EsgwProcess::Start(cluster_->SeedsFlag(),
                                              {"--dead_timeout=200ms", "--max_dead_timeout=500ms"});
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
    ASSERT_NE(server_, nullptr);
    auto runner = CliRunner::Create();
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
    gateway_ = v1::Gateway::NewStub(server_->channel());
    admin_ = v1::Admin::NewStub(server_->channel());
  }

  // Runs esgw-cli with ESGW_ADDR naming the suite's server.
  CliResult Cli(const std::vector<std::string>& args, CliRunner::Options options = {}) {
    options.env.emplace_back("ESGW_ADDR", server_->address());
    absl::StatusOr<CliResult> result = runner_->Run(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CliResult{};
  }

  v1::SearchResponse DirectSearch(const std::string& body) {
    v1::SearchRequest request;
    request.add_indices("products");
    request.set_body_json(body);
    v1::SearchResponse response;
    EXPECT_TRUE(gateway_->Search(testing::CallContext().get(), request, &response).ok());
    return response;
  }

  v1::PoolStats DirectStats() {
    v1::PoolStats stats;
    EXPECT_TRUE(admin_->GetPoolStats(testing::CallContext().get(), {}, &stats).ok());
    return stats;
  }

  static testing::DevCluster* cluster_;
  static testing::EsgwProcess* server_;
  std::unique_ptr<CliRunner> runner_;
  std::unique_ptr<v1::Gateway::Stub> gateway_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

testing::DevCluster* CliE2eTest::cluster_ = nullptr;
testing::EsgwProcess* CliE2eTest::server_ = nullptr;

TEST_F(CliE2eTest, EveryCommandHasHelpWithExamples) {
  for (const char* command :
       {"search", "count", "get", "bulk", "ingest", "health", "stats", "watch", "sniff"}) {
    const CliResult result = Cli({command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command;
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("Usage: esgw-cli ", command, " ")));
    EXPECT_THAT(result.out, HasSubstr("Connection flags (every command):\n  --addr=HOST:PORT"));
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("Examples:\n  ")));
    EXPECT_THAT(result.out, HasSubstr(absl::StrCat("  esgw-cli ", command)));
    EXPECT_TRUE(FitsWidth(result.out)) << command;
    EXPECT_THAT(result.err, IsEmpty());
  }
  const CliResult top = Cli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("Commands:\n  search"));
  EXPECT_THAT(top.out, HasSubstr("Exit codes:"));
  EXPECT_THAT(top.out, HasSubstr("ESGW_ADDR"));
  EXPECT_TRUE(FitsWidth(top.out));
  EXPECT_EQ(Cli({"help", "watch"}).out, Cli({"watch", "-h"}).out);

  const CliResult none = Cli({});
  EXPECT_EQ(none.exit_code, 2) << "no command is a usage error";
  EXPECT_THAT(none.out, IsEmpty());
  EXPECT_THAT(none.err, HasSubstr("Commands:"));
  EXPECT_THAT(Cli({"--version"}).out, StartsWith("esgw-cli "));
}

TEST_F(CliE2eTest, UsageErrorsExitTwoNamingTheFlagAndTheRule) {
  const std::string ndjson = runner_->WriteFile("a.ndjson", "{\"index\":{}}\n{}\n");
  const struct {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"search", "--size=ten"}, "esgw-cli search: --size: must be a whole number from 0 to 10000"},
      {{"search", "--indx=products"}, "unknown flag --indx (did you mean --index?)"},
      {{"serch"}, "esgw-cli: unknown command 'serch' (did you mean 'search'?)"},
      {{"search", "{\"query\": "}, "QUERY must be a JSON object"},
      {{"search", "--size=3", "{\"size\":5}"}, "--size: the query sets \"size\" already"},
      {{"search", "--param=nokey"}, "--param: must be KEY=VALUE"},
      {{"count", "a", "b"}, "expected at most one QUERY argument, got 2"},
      {{"get", "products"}, "esgw-cli get: expected INDEX and ID, got 1 argument"},
      {{"watch", "--interval=1ms"}, "--interval: must be from 100ms to 1h"},
      {{"stats", "extra"}, "takes no arguments"},
      {{"--addr=nohost", "health"}, "--addr: \"nohost\" must be host:port"},
      {{"health", "--cert_file=client.pem"}, "--key_file: cert_file and key_file"},
      {{"health", "--ca_file=/nonexistent/ca.pem"}, "--ca_file: cannot read \"/nonexistent/"},
      {{"health", "--token=a b"}, "--token: must be printable ASCII without spaces"},
      {{"bulk", "--format=xml"}, "--format: must be one of auto, bulk, jsonl"},
      {{"ingest", "/nonexistent/data.ndjson"}, "cannot read \"/nonexistent/data.ndjson\""},
      {{"bulk", "--format=bulk", "--id_field=id", ndjson}, "--id_field: applies to --format=jsonl"},
      {{"bulk", ndjson}, "--index: required: the action at " + ndjson + ":1 names no _index"},
      {{"bulk", "--failed=/nonexistent/dir/failed.ndjson", ndjson}, "--failed: cannot write"},
  };
  for (const auto& c : cases) {
    const CliResult result = Cli(c.args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(c.args, " ") << "\n" << result.err;
    EXPECT_THAT(result.err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(result.err, HasSubstr("--help' for usage.")) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(result.out, IsEmpty()) << absl::StrJoin(c.args, " ");
  }
}

TEST_F(CliE2eTest, AnUnreachableServerExitsOneWithTheCodeAndAHint) {
  const std::string addr = absl::StrCat("127.0.0.1:", ClosedPort());
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"health"},
                                             {"stats"},
                                             {"sniff"},
                                             {"watch", "--count=1"},
                                             {"search", "--index=products"},
                                             {"count"},
                                             {"get", "products", "p-001"}}) {
    std::vector<std::string> with_addr = {"--addr=" + addr};
    with_addr.insert(with_addr.end(), args.begin(), args.end());
    const CliResult result = Cli(with_addr);
    EXPECT_EQ(result.exit_code, 1) << args[0];
    EXPECT_THAT(result.err, StartsWith("error: UNAVAILABLE: ")) << args[0];
    EXPECT_THAT(result.err, HasSubstr("hint: is esgw-server running at " + addr + "?"));
    EXPECT_THAT(result.out, IsEmpty()) << args[0];
  }
}

TEST_F(CliE2eTest, AddressComesFromTheFlagElseEsgwAddr) {
  CliRunner::Options options;
  options.env = {{"ESGW_ADDR", absl::StrCat("127.0.0.1:", ClosedPort())}};
  absl::StatusOr<CliResult> flag_wins =
      runner_->Run({"--addr=" + server_->address(), "health"}, options);
  ASSERT_TRUE(flag_wins.ok());
  EXPECT_EQ(flag_wins->exit_code, 0) << flag_wins->err;
  // After the command, too.
  absl::StatusOr<CliResult> after = runner_->Run({"health", "--addr", server_->address()}, options);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->exit_code, 0) << after->err;
  absl::StatusOr<CliResult> env_only = runner_->Run({"health"}, options);
  ASSERT_TRUE(env_only.ok());
  EXPECT_EQ(env_only->exit_code, 1) << "ESGW_ADDR names the closed port";
  EXPECT_EQ(Cli({"health"}).exit_code, 0) << "ESGW_ADDR names the server";
}

TEST_F(CliE2eTest, HealthShowsGatewayPoolAndCluster) {
  const CliResult result = Cli({"health"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("gateway  SERVING  esgw "));
  EXPECT_THAT(result.out, HasSubstr("\npool     3 alive, 0 dead, 0 probing; last sniff "));
  EXPECT_THAT(result.out, HasSubstr("\ncluster  esgw-devcluster  green, 3 nodes (3 data)\n"));
  EXPECT_THAT(result.out, HasSubstr("\nshards   "));
  EXPECT_TRUE(FitsWidth(result.out));
  EXPECT_TRUE(Plain(result.out));
  EXPECT_THAT(result.err, IsEmpty());

  const CliResult json = Cli({"health", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  const v1::HealthReport report = ParseJson<v1::HealthReport>(json.out);
  EXPECT_EQ(report.status(), v1::GATEWAY_STATUS_SERVING);
  EXPECT_EQ(report.cluster().cluster_name(), "esgw-devcluster");
  EXPECT_EQ(std::count(json.out.begin(), json.out.end(), '\n'), 1) << "one line for machines";
}

TEST_F(CliE2eTest, TokensAreAcceptedFromFlagFileAndEnvironment) {
  const std::string token_file = runner_->WriteFile("token", "abc.def-123\n");
  EXPECT_EQ(Cli({"health", "--token=abc"}).exit_code, 0);
  const CliResult from_file = Cli({"health", "--token_file=" + token_file});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_THAT(from_file.err, IsEmpty()) << "no plaintext warning on loopback";
  CliRunner::Options options;
  options.env = {{"ESGW_TOKEN", "from-env"}};
  EXPECT_EQ(Cli({"health"}, options).exit_code, 0);
  EXPECT_EQ(Cli({"health", "--token=a", "--token_file=" + token_file}).exit_code, 2);
}

TEST_F(CliE2eTest, StatsShowsEveryNodeInATableThatFits) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(Cli({"search", "--index=products", "--size=0"}).exit_code, 0);
  }
  // The JSON first: counters only grow, so a node with requests in it has them in the table.
  const CliResult json = Cli({"stats", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  const v1::PoolStats stats = ParseJson<v1::PoolStats>(json.out);
  EXPECT_EQ(stats.nodes_size(), 3);
  EXPECT_THAT(json.out, HasSubstr("\"in_flight\"")) << "proto field names, every field";
  EXPECT_THAT(json.out, HasSubstr("\"upper_bounds_seconds\""));
  uint64_t observed = 0;
  for (const v1::NodeStats& node : stats.nodes()) observed += node.latency().count();
  EXPECT_GE(observed, 6u) << json.out;

  const CliResult result = Cli({"stats"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Columns are as wide as what they hold, and latencies depend on the machine (and on the
  // sanitizers): the header names every column, in order.
  EXPECT_THAT(
      result.out,
      ContainsRegex("^ADDRESS +ROLES +STATE +INFLIGHT +REQUESTS +FAILED +P50 +P99 +CONNS\n"));
  for (const std::string& address : cluster_->node_addresses()) {
    EXPECT_THAT(result.out, HasSubstr(address + "  ")) << result.out;
  }
  EXPECT_THAT(result.out, HasSubstr("\npool sniffing, selector least_loaded, "));
  EXPECT_THAT(result.out, HasSubstr("\nsniffs "));
  EXPECT_TRUE(FitsWidth(result.out));
  EXPECT_TRUE(Plain(result.out));
  // P50 and P99 of a node that served requests are durations.
  for (const v1::NodeStats& node : stats.nodes()) {
    if (node.latency().count() == 0) continue;
    EXPECT_THAT(result.out, ContainsRegex(absl::StrCat(node.address(),
                                                       " [^\n]* [0-9.]+m?s +[0-9.]+m?s +[0-9]+\n")))
        << node.address() << " has " << node.latency().count() << " requests:\n"
        << result.out;
  }
}

TEST_F(CliE2eTest, StatsShowsADeadNodeAndItsReturn) {
  ASSERT_TRUE(cluster_->Kill(2).ok());
  const std::string dead_address = cluster_->node_addresses()[2];
  std::string table;
  // Searches reach the killed node sooner or later; it is then dead until it answers a probe.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        Cli({"search", "--index=products", "--size=0"});
        table = Cli({"stats"}).out;
        for (absl::string_view line : absl::StrSplit(table, '\n')) {
          if (absl::StartsWith(line, dead_address) && absl::StrContains(line, "  dead")) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(20), "the killed node shown as dead"))
      << table;
  ASSERT_TRUE(cluster_->Revive(2).ok());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        table = Cli({"stats"}).out;
        return absl::StrContains(table, dead_address) && !absl::StrContains(table, " dead");
      },
      absl::Seconds(20), "the revived node back"))
      << table;
}

TEST_F(CliE2eTest, SniffShowsThePoolAfterASniff) {
  const int64_t before = DirectStats().sniffs_total();
  const CliResult result = Cli({"sniff"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("ADDRESS "));
  EXPECT_THAT(result.out, HasSubstr("\nsniffs "));
  EXPECT_TRUE(FitsWidth(result.out));
  EXPECT_GT(DirectStats().sniffs_total(), before);
  const CliResult json = Cli({"sniff", "--json"});
  EXPECT_EQ(ParseJson<v1::PoolStats>(json.out).nodes_size(), 3);
}

TEST_F(CliE2eTest, WatchPrintsSuccessiveTablesWhenNotATerminal) {
  const CliResult result = Cli({"watch", "--interval=100ms", "--count=3"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Each table under a "15:04:05  esgw 127.0.0.1:1234  every 100ms" line and a blank line.
  const std::vector<std::string> lines = absl::StrSplit(result.out, '\n');
  int frames = 0;
  for (size_t i = 0; i + 2 < lines.size(); ++i) {
    if (!absl::StrContains(lines[i],
                           absl::StrCat("  esgw ", server_->address(), "  every 100ms"))) {
      continue;
    }
    ++frames;
    EXPECT_EQ(lines[i][2], ':') << lines[i];
    EXPECT_EQ(lines[i + 1], "");
    EXPECT_THAT(lines[i + 2], StartsWith("ADDRESS "));
  }
  EXPECT_EQ(frames, 3) << result.out;
  for (const std::string& address : cluster_->node_addresses()) {
    int rows = 0;
    for (const std::string& line : lines) rows += absl::StartsWith(line, address) ? 1 : 0;
    EXPECT_EQ(rows, 3) << address;
  }
  EXPECT_TRUE(FitsWidth(result.out));
  EXPECT_TRUE(Plain(result.out));

  const CliResult json = Cli({"watch", "--interval=100ms", "--count=2", "--json"});
  EXPECT_EQ(json.exit_code, 0);
  std::vector<std::string> json_lines = absl::StrSplit(json.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(json_lines.size(), 2u);
  for (const std::string& line : json_lines) {
    EXPECT_EQ(ParseJson<v1::PoolStats>(line).nodes_size(), 3);
  }
}

TEST_F(CliE2eTest, WatchEndsWithExitCodeZeroOnCtrlC) {
  CliRunner::Options options;
  options.env = {{"ESGW_ADDR", server_->address()}};
  auto child = runner_->Start({"watch", "--interval=100ms"}, options);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE(testing::WaitFor([&] { return absl::StrContains(runner_->StartedOut(), "ADDRESS"); },
                               absl::Seconds(10), "the first table"));
  ASSERT_TRUE((*child)->Signal(SIGINT).ok());
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << runner_->StartedErr();
  EXPECT_THAT(runner_->StartedErr(), IsEmpty());
}

TEST_F(CliE2eTest, SearchShowsHitsAsATable) {
  const std::string body = R"({"sort":[{"price":"asc"}]})";
  const CliResult result = Cli({"search", "--index=products", "--size=3", body});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << result.out;
  EXPECT_THAT(lines[0], AllOf(StartsWith("50 hits (showing 3) in "), HasSubstr(" served by ")));
  EXPECT_THAT(lines[1], StartsWith("ID     SORT     SOURCE"));
  // The same hits in the same order as esgw gives them to a stub.
  const v1::SearchResponse direct = DirectSearch(R"({"sort":[{"price":"asc"}],"size":3})");
  ASSERT_EQ(direct.hits_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(lines[2 + i], StartsWith(direct.hits(i).id() + "  " + direct.hits(i).sort_json()));
  }
  EXPECT_TRUE(FitsWidth(result.out));
  EXPECT_TRUE(Plain(result.out));
}

TEST_F(CliE2eTest, SearchTakesItsQueryFromAnArgumentAFileOrStdin) {
  const std::string body = R"({"query":{"match":{"name":"lamp"}},"size":5})";
  const std::string file = runner_->WriteFile("query.json", body);
  const auto hits = [](const CliResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out.substr(result.out.find('\n'));  // without the timing line
  };
  const std::string from_argument = hits(Cli({"search", "--index=products", body}));
  EXPECT_THAT(from_argument, HasSubstr("Lamp"));
  EXPECT_EQ(hits(Cli({"search", "--index=products", "@" + file})), from_argument);
  EXPECT_EQ(hits(Cli({"search", "--index=products", "--query_file=" + file})), from_argument);
  CliRunner::Options options;
  options.stdin_text = body;
  EXPECT_EQ(hits(Cli({"search", "--index=products", "-"}, options)), from_argument);
}

TEST_F(CliE2eTest, SearchJsonFieldsAndAggregations) {
  const CliResult json = Cli({"search", "--index=products", "--json", "--size=2"});
  EXPECT_EQ(json.exit_code, 0);
  const v1::SearchResponse response = ParseJson<v1::SearchResponse>(json.out);
  EXPECT_EQ(response.hits_size(), 2);
  EXPECT_EQ(response.total().value(), 50);

  const CliResult fields =
      Cli({"search", "--index=products", "--fields=name,price", "--size=2",
           R"({"sort":[{"price":"desc"}],"aggs":{"by_brand":{"terms":{"field":"brand"}},)"
           R"("top_price":{"max":{"field":"price"}}}})"});
  EXPECT_EQ(fields.exit_code, 0) << fields.err;
  const v1::SearchResponse direct = DirectSearch(R"({"sort":[{"price":"desc"}],"size":1})");
  EXPECT_THAT(fields.out, HasSubstr("\nID     SORT      name "));
  EXPECT_THAT(fields.out, HasSubstr("\naggregation by_brand:\nKEY "));
  EXPECT_THAT(fields.out, HasSubstr("DOC_COUNT\n"));
  EXPECT_THAT(fields.out, HasSubstr("\naggregation top_price: "));
  EXPECT_THAT(fields.out, HasSubstr(direct.hits(0).id() + "  "));
  EXPECT_TRUE(FitsWidth(fields.out));
}

TEST_F(CliE2eTest, SearchRefusedByTheServerExitsOne) {
  const CliResult bad_param = Cli({"search", "--index=products", "--param=bogus=1"});
  EXPECT_EQ(bad_param.exit_code, 1);
  EXPECT_THAT(bad_param.err, StartsWith("error: INVALID_ARGUMENT: "));
  EXPECT_THAT(bad_param.out, IsEmpty());
  const CliResult missing = Cli({"search", "--index=no-such-index"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, StartsWith("error: NOT_FOUND: "));
}

TEST_F(CliE2eTest, CountPrintsTheNumberAlone) {
  const CliResult all = Cli({"count", "--index=products"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "50\n");
  const std::string query = R"({"query":{"term":{"brand":"acme"}}})";
  v1::CountRequest request;
  request.add_indices("products");
  request.set_body_json(query);
  v1::CountResponse direct;
  ASSERT_TRUE(gateway_->Count(testing::CallContext().get(), request, &direct).ok());
  EXPECT_EQ(Cli({"count", "--index=products", query}).out, absl::StrCat(direct.count(), "\n"));
  EXPECT_EQ(ParseJson<v1::CountResponse>(Cli({"count", "--index=logs", "--json"}).out).count(),
            100);
}

TEST_F(CliE2eTest, GetShowsADocumentOrSaysItIsMissing) {
  v1::GetRequest request;
  request.set_index("products");
  request.set_id("p-007");
  v1::GetResponse direct;
  ASSERT_TRUE(gateway_->Get(testing::CallContext().get(), request, &direct).ok());

  const CliResult found = Cli({"get", "products", "p-007"});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_THAT(found.out, StartsWith("products/p-007  version 1, seq_no "));
  EXPECT_THAT(found.out, HasSubstr("\n{\n  \"name\": "));
  EXPECT_TRUE(Plain(found.out));
  EXPECT_EQ(Cli({"get", "--source", "products", "p-007"}).out, direct.source_json() + "\n")
      << "the source exactly as stored";
  EXPECT_TRUE(ParseJson<v1::GetResponse>(Cli({"get", "--json", "products", "p-007"}).out).found());

  const CliResult missing = Cli({"get", "products", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "not found: no document \"nope\" in index products\n");
  EXPECT_THAT(missing.out, IsEmpty());
  const CliResult no_index = Cli({"get", "no-such-index", "1"});
  EXPECT_EQ(no_index.exit_code, 1);
  EXPECT_THAT(no_index.err, StartsWith("error: NOT_FOUND: "));
}

}  // namespace
}  // namespace esgw
