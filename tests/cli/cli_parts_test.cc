// esgw-cli's parts without a server: flag parsing, tables, number and text formatting, JSON text
// helpers, the input reader for bulk / ingest, failed-item records and progress lines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/cli/failed_items.h"
#include "client/cli/flag_set.h"
#include "client/cli/format.h"
#include "client/cli/json_text.h"
#include "client/cli/line_reader.h"
#include "client/cli/op_reader.h"
#include "client/cli/progress.h"
#include "client/cli/table.h"
#include "client/cli/views.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"

namespace esgw::cli {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Every line of text is at most width display columns.
void ExpectFits(const std::string& text, int width) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    EXPECT_LE(DisplayWidth(line), width) << "line: " << line;
  }
}

struct Parsed {
  std::string index = "all";
  int64_t size = 10;
  bool json = false;
  absl::Duration interval = absl::Seconds(1);
  std::vector<std::string> fields;
  std::string format = "auto";
};

FlagSet MakeFlags(Parsed& p) {
  FlagSet flags;
  flags.AddString("index", &p.index, "NAME", "the index");
  flags.AddInt("size", &p.size, 0, 100, "N", "hits");
  flags.AddBool("json", &p.json, "as JSON");
  flags.AddDuration("interval", &p.interval, absl::Milliseconds(100), absl::Hours(1), "every");
  flags.AddList("fields", &p.fields, "F", "fields");
  flags.AddChoice("format", &p.format, {"auto", "bulk", "jsonl"}, "format");
  return flags;
}

TEST(FlagSetTest, ParsesEveryFormAndKeepsPositionals) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  std::vector<std::string> positional;
  ASSERT_THAT(flags.Parse({"--index=logs", "--size", "5", "-json", "a", "--interval=250ms",
                           "--fields=x,y", "--fields", "z", "-", "--format=jsonl", "--", "--b"},
                          &positional),
              IsOk());
  EXPECT_EQ(p.index, "logs");
  EXPECT_EQ(p.size, 5);
  EXPECT_TRUE(p.json);
  EXPECT_EQ(p.interval, absl::Milliseconds(250));
  EXPECT_THAT(p.fields, ElementsAre("x", "y", "z"));
  EXPECT_EQ(p.format, "jsonl");
  EXPECT_THAT(positional, ElementsAre("a", "-", "--b"));
  EXPECT_TRUE(flags.IsSet("size"));
  EXPECT_FALSE(flags.help());
}

TEST(FlagSetTest, BooleansTakeNoAndExplicitValues) {
  Parsed p;
  p.json = true;
  FlagSet flags = MakeFlags(p);
  std::vector<std::string> positional;
  ASSERT_THAT(flags.Parse({"--nojson"}, &positional), IsOk());
  EXPECT_FALSE(p.json);
  ASSERT_THAT(flags.Parse({"--json=true"}, &positional), IsOk());
  EXPECT_TRUE(p.json);
  EXPECT_THAT(flags.Parse({"--json=maybe"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--json: must be true")));
}

TEST(FlagSetTest, ErrorsNameTheFlagAndTheRule) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  std::vector<std::string> positional;
  EXPECT_THAT(flags.Parse({"--size=ten"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--size: must be a whole number from 0 to 100; got \"ten\""));
  EXPECT_THAT(flags.Parse({"--size=101"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from 0 to 100")));
  EXPECT_THAT(flags.Parse({"--interval=10ms"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--interval: must be from")));
  EXPECT_THAT(flags.Parse({"--interval=soon"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duration such as 500ms")));
  EXPECT_THAT(flags.Parse({"--format=xml"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "--format: must be one of auto, bulk, jsonl; got \"xml\""));
  EXPECT_THAT(flags.Parse({"--index"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, "--index: needs a value: --index=NAME"));
  EXPECT_THAT(
      flags.Parse({"--indx=logs"}, &positional),
      StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --indx (did you mean --index?)"));
  EXPECT_THAT(flags.Parse({"--zzzzzzzz"}, &positional),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown flag --zzzzzzzz"));
}

TEST(FlagSetTest, HelpIsAFlagAndListsGroupsWithDefaults) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  flags.StartGroup("Connection");
  std::string addr = "127.0.0.1:50051";
  flags.AddString("addr", &addr, "HOST:PORT", "where esgw-server listens");
  std::vector<std::string> positional;
  ASSERT_THAT(flags.Parse({"-h"}, &positional), IsOk());
  EXPECT_TRUE(flags.help());
  const std::string help = flags.Help(80);
  EXPECT_THAT(help, HasSubstr("Flags:\n  --index=NAME"));
  EXPECT_THAT(help, HasSubstr("(default: all)"));
  EXPECT_THAT(help, HasSubstr("\nConnection:\n  --addr=HOST:PORT"));
  EXPECT_THAT(help, HasSubstr("--format=auto|bulk|jsonl"));
  ExpectFits(help, 80);
}

TEST(FlagSetTest, StopAtPositionalLeavesTheCommandAndItsArguments) {
  Parsed p;
  FlagSet flags = MakeFlags(p);
  std::vector<std::string> rest;
  ASSERT_THAT(flags.Parse({"--index=a", "search", "--size=3", "q"}, &rest, true), IsOk());
  EXPECT_EQ(p.index, "a");
  EXPECT_EQ(p.size, 10);
  EXPECT_THAT(rest, ElementsAre("search", "--size=3", "q"));
}

TEST(FormatTest, Numbers) {
  EXPECT_EQ(Thousands(0), "0");
  EXPECT_EQ(Thousands(999), "999");
  EXPECT_EQ(Thousands(1234567), "1,234,567");
  EXPECT_EQ(Thousands(-1000), "-1,000");
  EXPECT_EQ(CompactCount(9999), "9999");
  EXPECT_EQ(CompactCount(12345), "12.3k");
  EXPECT_EQ(CompactCount(1234567), "1.23M");
  EXPECT_EQ(CompactCount(123456789), "123M");
  EXPECT_EQ(Bytes(512), "512 B");
  EXPECT_EQ(Bytes(12345), "12.3 KB");
  EXPECT_EQ(Bytes(4500000), "4.5 MB");
  EXPECT_EQ(Bytes(2500000000), "2.5 GB");
}

TEST(FormatTest, Durations) {
  EXPECT_EQ(ClockTime(absl::Seconds(42)), "0:42");
  EXPECT_EQ(ClockTime(absl::Seconds(723)), "12:03");
  EXPECT_EQ(ClockTime(absl::Seconds(3723)), "1:02:03");
  EXPECT_EQ(ShortDuration(absl::Milliseconds(350)), "350ms");
  EXPECT_EQ(ShortDuration(absl::Milliseconds(4200)), "4.2s");
  EXPECT_EQ(ShortDuration(absl::Seconds(192)), "3m12s");
  EXPECT_EQ(ShortDuration(absl::Minutes(125)), "2h05m");
  EXPECT_EQ(ShortDuration(absl::Hours(76)), "3d04h");
  EXPECT_EQ(Millis(0.42), "0.42ms");
  EXPECT_EQ(Millis(12.34), "12.3ms");
  EXPECT_EQ(Millis(1250), "1.25s");
}

TEST(FormatTest, PrintableNeutralisesTerminalControls) {
  EXPECT_EQ(Printable("a\x1b[2Jb\tc\nd"), "a [2Jb c d");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Printable("x\xc2\x9by"), "x y") << "C1 CSI";
  EXPECT_EQ(Printable("bad\xff"), "bad?");
}

TEST(FormatTest, EllipsizeCutsToTheWidth) {
  EXPECT_EQ(Ellipsize("short", 10, true), "short");
  EXPECT_EQ(Ellipsize("a long text", 6, true), "a lon\u2026");
  EXPECT_EQ(Ellipsize("a long text", 6, false), "a l...");
  EXPECT_EQ(DisplayWidth(Ellipsize("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, true)), 3);
}

TEST(TableTest, AlignsAndFitsTheWidth) {
  Table table({{.header = "NAME", .shrinkable = true, .min_width = 6},
               {.header = "COUNT", .align = Table::Align::kRight}});
  table.AddRow({"alpha", "1"});
  table.AddRow({"a much longer name than fits in the table at all", "12345"});
  const std::string wide = table.Render({.width = 80});
  EXPECT_THAT(wide, HasSubstr("\nalpha" + std::string(49, ' ') + "1\n"));
  const std::string narrow = table.Render({.width = 20, .unicode = false});
  EXPECT_EQ(narrow,
            "NAME           COUNT\n"
            "alpha              1\n"
            "a much lon...  12345\n");
  ExpectFits(narrow, 20);
}

TEST(TableTest, ShrinksLowerOrderColumnsFirstAndCutsWhenEvenMinimumsDoNotFit) {
  Table table({{.header = "ADDRESS", .shrinkable = true, .min_width = 6, .shrink_order = 1},
               {.header = "ROLES", .shrinkable = true, .min_width = 3}});
  table.AddRow({"127.0.0.1:9200", "cdfhilmrstw"});
  EXPECT_EQ(table.Render({.width = 21, .unicode = true}),
            "ADDRESS         ROLES\n127.0.0.1:9200  cdfh\u2026\n");
  const std::string tiny = table.Render({.width = 8});
  ExpectFits(tiny, 8);
}

TEST(TableTest, CellsCannotInjectEscapesAndColourDoesNotMoveColumns) {
  Table table({{.header = "A"}, {.header = "B"}});
  table.AddRow({Table::Cell("ok", "32"), "\x1b]0;title\x07x"});
  const std::string plain = table.Render({.width = 80});
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string colored = table.Render({.width = 80, .color = true});
  EXPECT_THAT(colored, HasSubstr("\x1b[32mok\x1b[0m"));
  EXPECT_EQ(colored.find("\x1b]"), std::string::npos) << "only our own SGR sequences";
}

TEST(JsonTextTest, PrettyAndCompactKeepTokensByteForByte) {
  const std::string source = R"({"a":1.50,"b":[1, {"c":"x, y: {z}"}],"d":{},"e":[]})";
  EXPECT_EQ(PrettyJson(source),
            "{\n  \"a\": 1.50,\n  \"b\": [\n    1,\n    {\n      \"c\": \"x, y: {z}\"\n    }\n  "
            "],\n  \"d\": {},\n  \"e\": []\n}");
  EXPECT_EQ(CompactJson(PrettyJson(source)),
            R"({"a":1.50,"b":[1,{"c":"x, y: {z}"}],"d":{},"e":[]})");
  EXPECT_EQ(PrettyJson("{\"open\": "), "{\"open\": ") << "unbalanced text comes back as it was";
}

TEST(JsonTextTest, ObjectsAndFields) {
  EXPECT_THAT(CheckJsonObject(R"({"a":1})"), IsOk());
  EXPECT_THAT(CheckJsonObject("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckJsonObject("{nope"), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::string doc = R"({"name":"lamp","price":{"amount":12.5},"tags":["a","b"]})";
  EXPECT_EQ(JsonField(doc, "name"), "lamp");
  EXPECT_EQ(JsonField(doc, "price.amount"), "12.5");
  EXPECT_EQ(JsonField(doc, "tags"), R"(["a","b"])");
  EXPECT_EQ(JsonField(doc, "missing"), std::nullopt);
}

class OpReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = testing::MakeTempDir("esgw-cli-parts");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Every op of path read with options, and the reader's final status.
  std::vector<InputOp> ReadAll(const std::string& path, OpReader::Options options,
                               absl::Status* status) {
    LineReader lines({path});
    EXPECT_THAT(lines.Open(), IsOk());
    OpReader reader(options, &lines);
    std::vector<InputOp> ops;
    InputOp op;
    while (reader.Next(&op)) ops.push_back(op);
    *status = reader.status();
    format_ = reader.format();
    total_ = lines.total_bytes();
    read_ = lines.bytes_read();
    return ops;
  }

  std::string dir_;
  OpReader::Format format_ = OpReader::Format::kAuto;
  std::optional<int64_t> total_;
  int64_t read_ = 0;
};

TEST_F(OpReaderTest, ReadsBulkNdjsonWithEveryActionAndMetadata) {
  const std::string path = Write(
      "a.ndjson",
      "{\"index\":{\"_index\":\"logs\",\"_id\":\"1\",\"routing\":\"r\",\"pipeline\":\"p\"}}\n"
      "{\"msg\":\"one\"}\r\n"
      "\n"
      "{\"create\":{\"_id\":2}}\n{\"msg\":\"two\"}\n"
      "{\"update\":{\"_index\":\"logs\",\"_id\":\"1\",\"if_seq_no\":3,\"if_primary_term\":1}}\n"
      "{\"doc\":{\"msg\":\"uno\"}}\n"
      "{\"delete\":{\"_index\":\"logs\",\"_id\":\"9\"},\"error\":{\"status\":429}}\n");
  absl::Status status;
  const std::vector<InputOp> ops = ReadAll(path, {.index = "default"}, &status);
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(format_, OpReader::Format::kBulk);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].op.type(), v1::OP_TYPE_INDEX);
  EXPECT_EQ(ops[0].op.index(), "logs");
  EXPECT_EQ(ops[0].op.id(), "1");
  EXPECT_EQ(ops[0].op.routing(), "r");
  EXPECT_EQ(ops[0].op.pipeline(), "p");
  EXPECT_EQ(ops[0].op.source_json(), "{\"msg\":\"one\"}") << "CR stripped";
  EXPECT_EQ(ops[0].op.seq(), 1u);
  EXPECT_EQ(ops[0].where, path + ":1");
  EXPECT_EQ(ops[1].op.type(), v1::OP_TYPE_CREATE);
  EXPECT_EQ(ops[1].op.index(), "") << "the default index applies";
  EXPECT_EQ(ops[1].op.id(), "2") << "a numeric id";
  EXPECT_EQ(ops[1].where, path + ":4");
  EXPECT_EQ(ops[2].op.type(), v1::OP_TYPE_UPDATE);
  EXPECT_EQ(ops[2].op.if_seq_no(), 3);
  EXPECT_EQ(ops[2].op.if_primary_term(), 1);
  EXPECT_EQ(ops[3].op.type(), v1::OP_TYPE_DELETE);
  EXPECT_EQ(ops[3].op.source_json(), "");
  EXPECT_EQ(ops[3].op.seq(), 4u);
  for (const InputOp& op : ops) EXPECT_THAT(op.error, IsOk());
  EXPECT_EQ(total_, read_) << "every byte counted";
}

TEST_F(OpReaderTest, ABadDocumentFailsAloneABrokenStructureStopsTheReader) {
  absl::Status status;
  std::vector<InputOp> ops = ReadAll(Write("b.ndjson",
                                           "{\"index\":{\"_index\":\"x\"}}\n{\"ok\":1}\n"
                                           "{\"index\":{\"_index\":\"x\"}}\n{\"broken\n"
                                           "{\"index\":{\"_index\":\"x\"}}\n[1,2]\n"
                                           "{\"index\":{\"_index\":\"x\"}}\n{\"ok\":2}\n"
                                           "{\"unknown\":{}}\n"),
                                     {}, &status);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_THAT(ops[0].error, IsOk());
  EXPECT_THAT(ops[1].error, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line (4)")));
  EXPECT_EQ(ops[1].op.source_json(), "{\"broken") << "kept for the failed-items file";
  EXPECT_THAT(ops[2].error,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
  EXPECT_THAT(ops[3].error, IsOk());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("b.ndjson:9: expected a bulk action")));

  ops =
      ReadAll(Write("c.ndjson", "{\"index\":{\"_index\":\"x\",\"version\":3}}\n{}\n"), {}, &status);
  EXPECT_TRUE(ops.empty());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("action field \"version\" is not supported")));
  ops = ReadAll(Write("d.ndjson", "{\"index\":{\"_index\":\"x\"}}\n"), {}, &status);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("its document line is missing")));
  ops = ReadAll(Write("e.ndjson", "{\"index\":{}}\n{}\n"), {}, &status);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--index")));
}

TEST_F(OpReaderTest, ReadsJsonLinesWithIdsFromAField) {
  const std::string path = Write("a.jsonl",
                                 "{\"sku\":\"a-1\",\"n\":1}\n"
                                 "{\"sku\":42}\n"
                                 "{\"n\":3}\n"
                                 "{\"meta\":{\"id\":\"m\"},\"sku\":\"x\"}\n"
                                 "not json");
  absl::Status status;
  std::vector<InputOp> ops =
      ReadAll(path, {.index = "skus", .id_field = "sku", .op_type = v1::OP_TYPE_CREATE}, &status);
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(format_, OpReader::Format::kJsonLines);
  ASSERT_EQ(ops.size(), 5u);
  EXPECT_EQ(ops[0].op.id(), "a-1");
  EXPECT_EQ(ops[0].op.type(), v1::OP_TYPE_CREATE);
  EXPECT_EQ(ops[0].op.source_json(), "{\"sku\":\"a-1\",\"n\":1}");
  EXPECT_EQ(ops[1].op.id(), "42");
  EXPECT_THAT(ops[2].error, StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("no field \"sku\" (--id_field)")));
  EXPECT_EQ(ops[3].op.id(), "x");
  EXPECT_THAT(ops[4].error,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid JSON")));
  EXPECT_EQ(ops[4].where, path + ":5");
  EXPECT_EQ(*total_, read_) << "the last line has no newline and still counts";

  ops = ReadAll(path, {.index = "skus", .id_field = "meta.id"}, &status);
  EXPECT_EQ(ops[3].op.id(), "m");
  ops = ReadAll(path, {}, &status);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("--index: required for JSON-lines input")));
}

TEST_F(OpReaderTest, LinesLongerThanTheBufferAndSeveralFiles) {
  const std::string big(3 << 20, 'x');
  const std::string first = Write("1.jsonl", "{\"pad\":\"" + big + "\"}\n{\"n\":1}\n");
  const std::string second = Write("2.jsonl", "{\"n\":2}\n");
  LineReader lines({first, second});
  ASSERT_THAT(lines.Open(), IsOk());
  OpReader reader({.index = "x"}, &lines);
  InputOp op;
  ASSERT_TRUE(reader.Next(&op));
  EXPECT_EQ(op.op.source_json().size(), big.size() + 10);
  EXPECT_THAT(op.error, IsOk());
  ASSERT_TRUE(reader.Next(&op));
  EXPECT_EQ(op.op.source_json(), "{\"n\":1}");
  ASSERT_TRUE(reader.Next(&op));
  EXPECT_EQ(op.where, second + ":1");
  EXPECT_FALSE(reader.Next(&op));
  EXPECT_THAT(reader.status(), IsOk());
  EXPECT_EQ(lines.bytes_read(), *lines.total_bytes());
}

TEST_F(OpReaderTest, OpenNamesAMissingInput) {
  LineReader lines({dir_ + "/nope.ndjson"});
  EXPECT_THAT(lines.Open(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("cannot read \"" + dir_ + "/nope.ndjson\"")));
  LineReader directory({dir_});
  EXPECT_THAT(directory.Open(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a directory")));
}

TEST(FailedRecordTest, IsBulkNdjsonThatTheReaderTakesBack) {
  v1::BulkOp op;
  op.set_type(v1::OP_TYPE_INDEX);
  op.set_id("7");
  op.set_routing("r");
  op.set_source_json("{\"msg\":\"a \\\"quoted\\\" line\"}");
  const std::string record = FailedRecord(
      op, "logs",
      {.status = 429, .type = "es_rejected_execution_exception", .reason = "queue \"full\"\nnow"},
      "data.ndjson:13");
  EXPECT_EQ(record,
            "{\"index\":{\"_index\":\"logs\",\"_id\":\"7\",\"routing\":\"r\"},\"error\":{"
            "\"status\":429,\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue "
            "\\\"full\\\"\\nnow\",\"input\":\"data.ndjson:13\"}}\n"
            "{\"msg\":\"a \\\"quoted\\\" line\"}\n");
  const std::string action = record.substr(0, record.find('\n'));
  EXPECT_TRUE(LooksLikeBulkAction(action));

  v1::BulkOp remove;
  remove.set_type(v1::OP_TYPE_DELETE);
  remove.set_index("logs");
  remove.set_id("9");
  const std::string deleted =
      FailedRecord(remove, "other", {.status = 0, .type = "t", .reason = "r"}, "");
  EXPECT_EQ(std::count(deleted.begin(), deleted.end(), '\n'), 1) << "no document line";
  EXPECT_THAT(deleted, HasSubstr("\"_index\":\"logs\""));
}

TEST(ProgressLineTest, FitsTheWidthAndShowsWhatIsKnown) {
  ProgressSnapshot s{.docs = 42000,
                     .failed = 3,
                     .bytes = 4200000,
                     .total_bytes = 10000000,
                     .elapsed = absl::Seconds(2)};
  const std::string line = ProgressLine(s, 80, false);
  EXPECT_LE(DisplayWidth(line), 79);
  EXPECT_THAT(line, HasSubstr("]  42%  42,000 docs  3 failed  4.2 MB  21,000 docs/s  ETA 0:02"));
  EXPECT_EQ(line[0], '[');
  for (int width : {20, 30, 40, 60, 100, 200}) {
    const std::string narrow = ProgressLine(s, width, false);
    EXPECT_LE(DisplayWidth(narrow), std::max(width - 1, 10)) << narrow;
    EXPECT_THAT(narrow, HasSubstr("42,000 docs")) << "the count always shows";
  }
  s.total_bytes.reset();
  const std::string unknown = ProgressLine(s, 80, false);
  EXPECT_EQ(unknown.find('['), std::string::npos) << "no bar without a total";
  EXPECT_THAT(unknown, HasSubstr("21,000 docs/s  0:02"));
  EXPECT_EQ(PlainProgressLine(s), "42,000 docs (3 failed), 4.2 MB, 21,000 docs/s, elapsed 0:02");
}

TEST(ViewsTest, PoolTableFitsEightyColumns) {
  v1::PoolStats stats;
  stats.set_pool_mode("sniffing");
  stats.set_selector("least_loaded");
  v1::NodeStats* alive = stats.add_nodes();
  alive->set_address("es-data-node-with-a-long-name.example.internal:9200");
  alive->set_node_id("n1");
  for (const char* role : {"data", "ingest", "master", "ml", "transform"}) alive->add_roles(role);
  alive->set_state(v1::NODE_STATE_ALIVE);
  alive->set_weight(1);
  alive->set_requests_total(1234567);
  v1::LatencyHistogram* latency = alive->mutable_latency();
  for (double bound : {0.001, 0.005, 0.01}) latency->add_upper_bounds_seconds(bound);
  // 30 under 1 ms, 60 in (1, 5] ms, 10 in (5, 10] ms: the median is a third of the way
  // through (1, 5] ms, p99 nine tenths of the way through (5, 10] ms.
  for (uint64_t n : {30, 60, 10, 0}) latency->add_counts(n);
  latency->set_count(100);
  alive->set_connections_opened_total(5);
  alive->set_connections_closed_total(2);
  v1::NodeStats* dead = stats.add_nodes();
  dead->set_address("10.0.0.2:9200");
  dead->set_state(v1::NODE_STATE_DEAD);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  dead->mutable_dead_until()->set_seconds(1700000004);
  const std::string table = PoolTable(stats, {.width = 80}, now);
  ExpectFits(table, 80);
  EXPECT_THAT(table, HasSubstr("ADDRESS"));
  EXPECT_THAT(table, HasSubstr("dilmt"));
  EXPECT_THAT(table, HasSubstr("1.23M"));
  EXPECT_THAT(table, HasSubstr("  2.3ms  9.5ms  ")) << table;
  EXPECT_THAT(table, HasSubstr("dead 4.0s"));
  EXPECT_THAT(table, HasSubstr("  ?  ")) << "roles of an unsniffed seed are unknown";
  ExpectFits(PoolFooter(stats, 80, false, now), 80);
  EXPECT_THAT(PoolTable(stats, {.width = 80}, now, 1), HasSubstr("... and 1 more nodes"));
}

TEST(ViewsTest, PoolTablePercentilesCoverTheIntervalGivenThePreviousSample) {
  v1::PoolStats earlier;
  v1::NodeStats* node = earlier.add_nodes();
  node->set_address("10.0.0.1:9200");
  node->set_state(v1::NODE_STATE_ALIVE);
  v1::LatencyHistogram* latency = node->mutable_latency();
  for (double bound : {0.001, 1.0}) latency->add_upper_bounds_seconds(bound);
  for (uint64_t n : {100, 0, 0}) latency->add_counts(n);
  latency->set_count(100);
  v1::PoolStats later = earlier;
  // Ten slow requests since: above the last bucket.
  later.mutable_nodes(0)->mutable_latency()->set_counts(2, 10);
  later.mutable_nodes(0)->mutable_latency()->set_count(110);
  const absl::Time now = absl::FromUnixSeconds(1700000000);

  const std::string lifetime = PoolTable(later, {.width = 80}, now);
  EXPECT_THAT(lifetime, HasSubstr("0.55ms  >1.00s")) << lifetime;
  const std::string interval = PoolTable(later, {.width = 80}, now, 10, &earlier);
  EXPECT_THAT(interval, HasSubstr(">1.00s  >1.00s")) << interval;
  // Nothing since the previous sample; a node whose counters went back (esgw restarted).
  EXPECT_THAT(PoolTable(later, {.width = 80}, now, 10, &later), ContainsRegex(" - +- "));
  EXPECT_THAT(PoolTable(earlier, {.width = 80}, now, 10, &later), ContainsRegex(" \\? +\\? "));
  // A server without histograms.
  v1::PoolStats old_server = earlier;
  old_server.mutable_nodes(0)->clear_latency();
  EXPECT_THAT(PoolTable(old_server, {.width = 80}, now), ContainsRegex(" \\? +\\? "));
}

TEST(ViewsTest, SearchTextShowsHitsFieldsAndBuckets) {
  v1::SearchResponse response;
  response.mutable_total()->set_value(120);
  response.mutable_total()->set_relation(v1::TotalHits::RELATION_EQ);
  response.set_took_ms(3);
  response.set_served_by("127.0.0.1:9200");
  v1::Hit* hit = response.add_hits();
  hit->set_index("products");
  hit->set_id("p-1");
  hit->set_score(1.5);
  hit->set_source_json(R"({"name": "Desk Lamp", "price": 12.5})");
  response.set_aggregations_json(
      R"({"by_brand":{"buckets":[{"key":"acme","doc_count":7}]},"avg_price":{"value":9.5}})");
  const std::string text = SearchText(response, {}, {.width = 80});
  ExpectFits(text, 80);
  EXPECT_THAT(text, HasSubstr("120 hits (showing 1) in 3 ms, served by 127.0.0.1:9200"));
  EXPECT_THAT(text, HasSubstr("p-1  1.500  {\"name\":\"Desk Lamp\",\"price\":12.5}"));
  EXPECT_THAT(text, HasSubstr("aggregation by_brand:\nKEY   DOC_COUNT\nacme          7\n"));
  EXPECT_THAT(text, HasSubstr("aggregation avg_price: 9.5"));
  const std::string fields = SearchText(response, {"price", "name"}, {.width = 80});
  EXPECT_THAT(fields, HasSubstr("ID   SCORE  price  name"));
  EXPECT_THAT(fields, HasSubstr("p-1  1.500  12.5   Desk Lamp"));
}

}  // namespace
}  // namespace esgw::cli
