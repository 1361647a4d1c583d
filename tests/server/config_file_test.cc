#include "server/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/support/status_matchers.h"

namespace esgw {
namespace {

using ::esgw::testing::IsOk;
using ::esgw::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// The flags a test file may set; "config" is a real flag, refused inside a file all the same.
const std::vector<std::string>& KnownKeys() {
  static const auto* keys = new std::vector<std::string>{
      "listen",    "es_nodes",       "sniff_interval", "log_format", "log_level",
      "pool_mode", "max_body_bytes", "ratio",          "tls",        "config"};
  return *keys;
}

bool IsKnown(absl::string_view key) {
  const std::vector<std::string>& keys = KnownKeys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

absl::StatusOr<std::vector<ConfigEntry>> Parse(absl::string_view text) {
  return ParseConfig(text, "esgw.yaml", IsKnown, KnownKeys());
}

MATCHER_P3(EntryIs, key, value, line, "") {
  *result_listener << "entry is {" << arg.key << ", " << arg.value << ", line " << arg.line << "}";
  return arg.key == key && arg.value == value && arg.line == line;
}

// A parse that succeeds with entries matching entries_matcher.
MATCHER_P(Gives, entries_matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(entries_matcher, *arg, result_listener);
}

// The message of a file that must fail to parse.
::testing::Matcher<absl::StatusOr<std::vector<ConfigEntry>>> FailsWith(const std::string& message) {
  return StatusIs(absl::StatusCode::kInvalidArgument, Eq(message));
}

TEST(ParseConfigTest, ScalarsKeepTheirTextAsWritten) {
  const auto entries = Parse(
      "listen: 0.0.0.0:50051\n"
      "sniff_interval: 500ms\n"
      "max_body_bytes: 64\n"
      "ratio: 1.50\n"
      "tls: true\n"
      "log_format: \"json\"\n"
      "log_level: 'warning'\n"
      "pool_mode: 0x10\n");
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(
      *entries,
      ElementsAre(EntryIs("listen", "0.0.0.0:50051", 1), EntryIs("sniff_interval", "500ms", 2),
                  EntryIs("max_body_bytes", "64", 3), EntryIs("ratio", "1.50", 4),
                  EntryIs("tls", "true", 5), EntryIs("log_format", "json", 6),
                  EntryIs("log_level", "warning", 7), EntryIs("pool_mode", "0x10", 8)));
}

TEST(ParseConfigTest, QuotedScalarsMayBeEmptyOrSpellNull) {
  const auto entries = Parse("listen: ''\nlog_level: \"null\"\ntls: \"~\"\n");
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, ElementsAre(EntryIs("listen", "", 1), EntryIs("log_level", "null", 2),
                                    EntryIs("tls", "~", 3)));
}

TEST(ParseConfigTest, ListsBecomeTheirItemsJoinedByCommas) {
  const auto block = Parse(
      "es_nodes:\n"
      "  - http://a:9200\n"
      "  - http://b:9200\n"
      "listen: [0.0.0.0:50051]\n"
      "log_format: []\n");
  ASSERT_THAT(block, IsOk());
  EXPECT_THAT(*block,
              ElementsAre(EntryIs("es_nodes", "http://a:9200,http://b:9200", 1),
                          EntryIs("listen", "0.0.0.0:50051", 4), EntryIs("log_format", "", 5)));

  const auto flow = Parse("es_nodes: [http://a:9200, 'http://b:9200', 3]\n");
  ASSERT_THAT(flow, IsOk());
  EXPECT_THAT(*flow, ElementsAre(EntryIs("es_nodes", "http://a:9200,http://b:9200,3", 1)));
}

TEST(ParseConfigTest, JsonGivesTheSameEntriesAsYaml) {
  const auto yaml = Parse(
      "listen: 0.0.0.0:50051\n"
      "es_nodes: [http://a:9200, http://b:9200]\n"
      "sniff_interval: 30s\n"
      "max_body_bytes: 1048576\n"
      "tls: false\n");
  const auto json = Parse(
      "{\n"
      "  \"listen\": \"0.0.0.0:50051\",\n"
      "  \"es_nodes\": [\"http://a:9200\", \"http://b:9200\"],\n"
      "  \"sniff_interval\": \"30s\",\n"
      "  \"max_body_bytes\": 1048576,\n"
      "  \"tls\": false\n"
      "}\n");
  ASSERT_THAT(yaml, IsOk());
  ASSERT_THAT(json, IsOk());
  ASSERT_EQ(json->size(), 5u);
  ASSERT_EQ(yaml->size(), json->size());
  for (size_t i = 0; i < yaml->size(); ++i) {
    EXPECT_EQ((*json)[i].key, (*yaml)[i].key);
    EXPECT_EQ((*json)[i].value, (*yaml)[i].value);
    // The JSON object opens on line 1, so each key sits one line lower.
    EXPECT_EQ((*json)[i].line, (*yaml)[i].line + 1);
  }
}

TEST(ParseConfigTest, JsonErrorsHaveLinesToo) {
  EXPECT_THAT(Parse("{\n  \"listen\": \"x\",\n  \"pool_mode\": {\"mode\": \"static\"}\n}\n"),
              FailsWith("esgw.yaml:3: key 'pool_mode': a value must be a scalar or a list of "
                        "scalars, not a mapping"));
  EXPECT_THAT(Parse("{\n  \"listen\": \"x\",\n  \"pool\": \"static\"\n}\n"),
              FailsWith("esgw.yaml:3: unknown key 'pool'"));
  EXPECT_THAT(Parse("{\n  \"listen\": \"x\",\n  \"tls\": null\n}\n"),
              FailsWith("esgw.yaml:3: key 'tls' has no value"));
  EXPECT_THAT(Parse("{\"log_level\": {\"x\": 1}}"),
              FailsWith("esgw.yaml:1: key 'log_level': a value must be a scalar or a list of "
                        "scalars, not a mapping"));
}

TEST(ParseConfigTest, EmptyFilesAndCommentsGiveNoEntries) {
  for (const absl::string_view text : {"", "\n\n", "# only a comment\n", "---\n", "---\n...\n"}) {
    const auto entries = Parse(text);
    ASSERT_THAT(entries, IsOk()) << "text: " << text;
    EXPECT_THAT(*entries, IsEmpty()) << "text: " << text;
  }
  const auto entries = Parse(
      "# esgw settings\n"
      "\n"
      "listen: 0.0.0.0:50051  # all interfaces\n"
      "# the cluster\n"
      "es_nodes:\n"
      "  # the first node\n"
      "  - http://a:9200\n");
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, ElementsAre(EntryIs("listen", "0.0.0.0:50051", 3),
                                    EntryIs("es_nodes", "http://a:9200", 5)));
}

TEST(ParseConfigTest, UnknownKeySuggestsTheClosestKnownOne) {
  EXPECT_THAT(Parse("listen: a\n"
                    "es_nodes: b\n"
                    "log_level: info\n"
                    "log_format: text\n"
                    "pool_mode: static\n"
                    "tls: false\n"
                    "sniff_intervall: 1s\n"),
              FailsWith("esgw.yaml:7: unknown key 'sniff_intervall' (did you mean "
                        "'sniff_interval'?)"));
  EXPECT_THAT(Parse("es-nodes: a\n"),
              FailsWith("esgw.yaml:1: unknown key 'es-nodes' (did you mean 'es_nodes'?)"));
  EXPECT_THAT(Parse("listen: a\ncolour: blue\n"), FailsWith("esgw.yaml:2: unknown key 'colour'"));
  // "config" is close, but is no key a file may set.
  EXPECT_THAT(Parse("confg: other.yaml\n"), FailsWith("esgw.yaml:1: unknown key 'confg'"));
  // Control characters in a key are escaped, so the message stays on one line.
  EXPECT_THAT(Parse("\"a\\nb\": x\n"), FailsWith("esgw.yaml:1: unknown key 'a\\nb'"));
}

TEST(ParseConfigTest, KeyGivenTwiceNamesBothLines) {
  EXPECT_THAT(Parse("listen: a\nes_nodes: b\nes_nodes: c\n"),
              FailsWith("esgw.yaml:3: key 'es_nodes' is given twice (first at line 2)"));
  EXPECT_THAT(Parse("{\"tls\": true,\n\"tls\": false}"),
              FailsWith("esgw.yaml:2: key 'tls' is given twice (first at line 1)"));
}

TEST(ParseConfigTest, MappingValuesAreRefused) {
  EXPECT_THAT(Parse("listen: a\n"
                    "log_level: info\n"
                    "# pool settings\n"
                    "pool_mode:\n"
                    "  mode: sniffing\n"),
              FailsWith("esgw.yaml:4: key 'pool_mode': a value must be a scalar or a list of "
                        "scalars, not a mapping"));
  EXPECT_THAT(Parse("listen: a\npool_mode: {mode: sniffing}\n"),
              FailsWith("esgw.yaml:2: key 'pool_mode': a value must be a scalar or a list of "
                        "scalars, not a mapping"));
}

TEST(ParseConfigTest, NullValuesAreRefused) {
  EXPECT_THAT(Parse("tls: true\nlisten:\nlog_level: info\n"),
              FailsWith("esgw.yaml:2: key 'listen' has no value"));
  EXPECT_THAT(Parse("tls: true\nlisten:\n"), FailsWith("esgw.yaml:2: key 'listen' has no value"));
  EXPECT_THAT(Parse("listen: ~\n"), FailsWith("esgw.yaml:1: key 'listen' has no value"));
  EXPECT_THAT(Parse("tls: true\nlisten: null\n"),
              FailsWith("esgw.yaml:2: key 'listen' has no value"));
}

TEST(ParseConfigTest, ListItemsMustBeScalars) {
  EXPECT_THAT(Parse("listen: a\nes_nodes:\n  - http://a:9200\n  -\n  - http://b:9200\n"),
              FailsWith("esgw.yaml:2: key 'es_nodes': item 2 of the list has no value"));
  EXPECT_THAT(Parse("es_nodes: [a, [b, c]]\n"),
              FailsWith("esgw.yaml:1: key 'es_nodes': item 2 of the list must be a scalar, not "
                        "a list"));
  EXPECT_THAT(Parse("tls: true\nes_nodes:\n  - host: a\n    port: 9200\n"),
              FailsWith("esgw.yaml:2: key 'es_nodes': item 1 of the list must be a scalar, not "
                        "a mapping"));
}

TEST(ParseConfigTest, ConfigCannotBeSetFromAFile) {
  EXPECT_THAT(Parse("listen: a\nes_nodes: b\ntls: true\nlog_level: info\nconfig: other.yaml\n"),
              FailsWith("esgw.yaml:5: 'config' cannot be set inside a config file"));
  // Even when the caller counts it as a known flag and accepts every key.
  EXPECT_THAT(ParseConfig("config: other.yaml\n", "esgw.yaml", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq("esgw.yaml:1: 'config' cannot be set inside a config file")));
}

TEST(ParseConfigTest, TopLevelMustBeAMapping) {
  EXPECT_THAT(Parse("- listen\n- es_nodes\n"),
              FailsWith("esgw.yaml:1: the file must be a mapping of flag names to values, not a "
                        "list"));
  EXPECT_THAT(Parse("# a comment first\nlisten\n"),
              FailsWith("esgw.yaml:2: the file must be a mapping of flag names to values, not a "
                        "scalar"));
  EXPECT_THAT(Parse("[\"listen\", \"x\"]"),
              FailsWith("esgw.yaml:1: the file must be a mapping of flag names to values, not a "
                        "list"));
}

TEST(ParseConfigTest, KeysMustBeNames) {
  EXPECT_THAT(Parse("listen: a\n[a, b]: x\n"),
              FailsWith("esgw.yaml:2: a key must be a flag name, not a list"));
  EXPECT_THAT(Parse("listen: a\n? {a: 1}\n: x\n"),
              FailsWith("esgw.yaml:2: a key must be a flag name, not a mapping"));
  EXPECT_THAT(Parse("~: x\n"), FailsWith("esgw.yaml:1: a key must be a flag name, not null"));
  // A number is text to YAML: no flag is called that.
  EXPECT_THAT(Parse("listen: a\n1: x\n"), FailsWith("esgw.yaml:2: unknown key '1'"));
}

TEST(ParseConfigTest, OnlyOneDocument) {
  EXPECT_THAT(Parse("listen: a\n---\ntls: true\n"),
              FailsWith("esgw.yaml:2: a config file holds one YAML document; a second one "
                        "starts here"));
  EXPECT_THAT(Parse("listen: a\n---\n"),
              FailsWith("esgw.yaml:2: a config file holds one YAML document; a second one "
                        "starts here"));
  // A leading "---" is a document start, not a second document.
  const auto entries = Parse("---\nlisten: a\n");
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, ElementsAre(EntryIs("listen", "a", 2)));
}

TEST(ParseConfigTest, AliasesAreRefusedNotExpanded) {
  EXPECT_THAT(Parse("pool_mode: &mode static\nlog_level: *mode\n"),
              FailsWith("esgw.yaml:2: key 'log_level': a value must be a scalar or a list of "
                        "scalars, not an alias"));
  EXPECT_THAT(Parse("es_nodes: [&a http://a:9200, *a]\n"),
              FailsWith("esgw.yaml:1: key 'es_nodes': item 2 of the list must be a scalar, not "
                        "an alias"));
  // An anchor alone changes nothing.
  const auto entries = Parse("listen: &here 0.0.0.0:1\n");
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, ElementsAre(EntryIs("listen", "0.0.0.0:1", 1)));
}

// yaml-cpp 0.7 reads a ',' it cannot place as an empty document that leaves the ',' unread, as
// often as it is asked: this must be an error, not an empty file (nor an endless list of them).
TEST(ParseConfigTest, StrayCommaIsASyntaxError) {
  EXPECT_THAT(Parse(",listen: a\n"), FailsWith("esgw.yaml:1: YAML syntax error: unexpected ','"));
  EXPECT_THAT(Parse("# esgw\n\n,\n"), FailsWith("esgw.yaml:3: YAML syntax error: unexpected ','"));
  EXPECT_THAT(Parse("- a\n, b\n"), FailsWith("esgw.yaml:2: YAML syntax error: unexpected ','"));
  EXPECT_THAT(Parse("\xef\xbb\xbf,listen: a\n"),
              FailsWith("esgw.yaml:1: YAML syntax error: unexpected ','"));
  EXPECT_THAT(Parse("listen: a\n,\n"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                StartsWith("esgw.yaml:2: YAML syntax error: ")));
}

TEST(ParseConfigTest, SyntaxErrorsGiveTheirLine) {
  EXPECT_THAT(
      Parse("listen: a\nlog_level: info\n  tls: true\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("esgw.yaml:3: YAML syntax error: ")));
  EXPECT_THAT(
      Parse("listen: a\nlog_level: info\ntls: [a}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("esgw.yaml:3: YAML syntax error: ")));
  EXPECT_THAT(Parse("listen: a: b\n"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                StartsWith("esgw.yaml:1: YAML syntax error: ")));
  // An unclosed list is found at the end of the text: the last line, not one past it.
  EXPECT_THAT(
      Parse("listen: a\nlog_level: info\nes_nodes: [a, b\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("esgw.yaml:3: YAML syntax error: ")));
  EXPECT_THAT(
      Parse("listen: *nowhere\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("esgw.yaml:1: YAML syntax error: ")));
  // yaml-cpp gives up at a depth it can handle; its message then says little, but it is located.
  EXPECT_THAT(
      Parse(absl::StrCat("listen: ", std::string(100000, '['))),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("esgw.yaml:1: YAML syntax error: ")));
}

TEST(ParseConfigTest, WithoutAPredicateEveryKeyButConfigIsAccepted) {
  const auto entries = ParseConfig("anything: 1\nelse: [2, 3]\n", "x.yaml", nullptr);
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries, ElementsAre(EntryIs("anything", "1", 1), EntryIs("else", "2,3", 2)));
}

// Every prefix of a file, and the file with any byte replaced by one that means something to
// YAML, either parses or fails with a located message; the parser never throws, loops or crashes.
TEST(ParseConfigTest, DamagedFilesFailCleanly) {
  const std::string file =
      "# esgw\n"
      "listen: \"0.0.0.0:50051\"\n"
      "es_nodes:\n"
      "  - http://a:9200\n"
      "  - 'http://b:9200'\n"
      "sniff_interval: 500ms\n"
      "log_format: {x: 1}\n"
      "pool_mode: &mode static\n"
      "log_level: *mode\n"
      "tls: [true, false]\n"
      "max_body_bytes: |\n"
      "  64\n";
  const auto located = MatchesRegex("esgw\\.yaml:[1-9][0-9]*: .+");
  auto check = [&](const std::string& text) {
    const auto entries = Parse(text);
    if (entries.ok()) {
      for (const ConfigEntry& entry : *entries) {
        EXPECT_TRUE(IsKnown(entry.key)) << entry.key;
        EXPECT_GE(entry.line, 1);
      }
    } else {
      EXPECT_THAT(entries, StatusIs(absl::StatusCode::kInvalidArgument, located))
          << "text: " << text;
    }
  };
  // The full file fails at line 7 (log_format is a mapping); its first lines are a valid file.
  EXPECT_THAT(Parse(file), FailsWith("esgw.yaml:7: key 'log_format': a value must be a scalar "
                                     "or a list of scalars, not a mapping"));
  auto first_lines = [&file](int lines) {
    size_t end = 0;
    for (int i = 0; i < lines; ++i) end = file.find('\n', end) + 1;
    return Parse(file.substr(0, end));
  };
  EXPECT_THAT(first_lines(2), Gives(ElementsAre(EntryIs("listen", "0.0.0.0:50051", 2))));
  EXPECT_THAT(first_lines(3), FailsWith("esgw.yaml:3: key 'es_nodes' has no value"));
  EXPECT_THAT(first_lines(4), Gives(ElementsAre(EntryIs("listen", "0.0.0.0:50051", 2),
                                                EntryIs("es_nodes", "http://a:9200", 3))));
  EXPECT_THAT(first_lines(6),
              Gives(ElementsAre(EntryIs("listen", "0.0.0.0:50051", 2),
                                EntryIs("es_nodes", "http://a:9200,http://b:9200", 3),
                                EntryIs("sniff_interval", "500ms", 6))));
  for (size_t length = 0; length <= file.size(); ++length) check(file.substr(0, length));
  for (size_t i = 0; i < file.size(); ++i) {
    for (const char c : {'\0', '\t', '\n', '"', '\'', '[', ']', '{', '}', ':', '-',
                         '&',  '*',  '!',  '|', '>',  '%', '@', '?', ',', '#', '\xff'}) {
      std::string damaged = file;
      damaged[i] = c;
      check(damaged);
    }
  }
}

TEST(ClosestKeyTest, FindsKeysWithinTwoEdits) {
  const std::vector<std::string>& keys = KnownKeys();
  EXPECT_EQ(ClosestKey("lsten", keys), "listen");           // a deletion
  EXPECT_EQ(ClosestKey("listenn", keys), "listen");         // an insertion
  EXPECT_EQ(ClosestKey("es_nodez", keys), "es_nodes");      // a substitution
  EXPECT_EQ(ClosestKey("log_fromat", keys), "log_format");  // a swap counts once
  EXPECT_EQ(ClosestKey("snif_intervl", keys), "sniff_interval");
  EXPECT_EQ(ClosestKey("LISTEN", keys), "");  // six edits
  EXPECT_EQ(ClosestKey("log", keys), "");
  EXPECT_EQ(ClosestKey("", keys), "");
}

TEST(ClosestKeyTest, ShortKeysNeedACloserMatchAndTiesGoToTheFirst) {
  EXPECT_EQ(ClosestKey("tsl", KnownKeys()), "tls");
  // Two edits out of three letters leave too little of what was typed.
  EXPECT_EQ(ClosestKey("xyz", {"xab"}), "");
  EXPECT_EQ(ClosestKey("ab", {"a"}), "");
  EXPECT_EQ(ClosestKey("log_levels", {"log_level", "log_levelz", "log_levels"}), "log_level");
  EXPECT_EQ(ClosestKey(std::string(1 << 20, 'a'), KnownKeys()), "");
}

class LoadConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(absl::string_view name, absl::string_view content) {
    // The pid keeps runs from two build directories apart.
    const std::string path =
        absl::StrCat(::testing::TempDir(), "config_file_test_", getpid(), "_", name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    written_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : written_) std::remove(path.c_str());
  }

 private:
  std::vector<std::string> written_;
};

TEST_F(LoadConfigFileTest, ReadsAFile) {
  const std::string path = Write("ok.yaml", "listen: 0.0.0.0:1\nes_nodes: [a, b]\n");
  const auto entries = LoadConfigFile(path, IsKnown, KnownKeys());
  ASSERT_THAT(entries, IsOk());
  EXPECT_THAT(*entries,
              ElementsAre(EntryIs("listen", "0.0.0.0:1", 1), EntryIs("es_nodes", "a,b", 2)));
}

TEST_F(LoadConfigFileTest, MessagesNameThePath) {
  const std::string path = Write("bad.json", "{\"listen\": \"a\",\n \"lisen\": \"b\"}\n");
  EXPECT_THAT(LoadConfigFile(path, IsKnown, KnownKeys()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq(absl::StrCat(path, ":2: unknown key 'lisen' (did you mean 'listen'?)"))));
}

TEST_F(LoadConfigFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = absl::StrCat(::testing::TempDir(), "config_file_test_missing.yaml");
  EXPECT_THAT(LoadConfigFile(path, IsKnown),
              StatusIs(absl::StatusCode::kNotFound,
                       Eq(absl::StrCat(path,
                                       ": cannot open the config file: No such file or "
                                       "directory"))));
}

TEST_F(LoadConfigFileTest, DirectoryIsAnErrorNamingThePath) {
  const std::string path = ::testing::TempDir();
  EXPECT_THAT(LoadConfigFile(path, IsKnown),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       Eq(absl::StrCat(path, ": cannot read the config file: Is a directory"))));
}

TEST_F(LoadConfigFileTest, RefusesAFileOverOneMebibyte) {
  const std::string comment = absl::StrCat("#", std::string(1022, 'x'), "\n");
  std::string content;
  for (int i = 0; i < 1024; ++i) content += comment;
  const std::string at_limit = Write("at_limit.yaml", content);
  EXPECT_THAT(LoadConfigFile(at_limit, IsKnown), IsOk());
  const std::string over = Write("over.yaml", content + "\n");
  EXPECT_THAT(LoadConfigFile(over, IsKnown),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       Eq(absl::StrCat(over, ": the config file is larger than 1048576 bytes"))));
}

}  // namespace
}  // namespace esgw
