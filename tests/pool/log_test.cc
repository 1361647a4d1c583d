// Log lines as written to stderr: text (logfmt quoting) and JSON.
#include "pool/log.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace esgw {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// What Log writes to stderr while fn runs.
template <typename Fn>
std::string Captured(Fn fn) {
  std::fflush(stderr);
  std::FILE* sink = std::tmpfile();
  const int saved = dup(fileno(stderr));
  dup2(fileno(sink), fileno(stderr));
  fn();
  std::fflush(stderr);
  dup2(saved, fileno(stderr));
  close(saved);
  std::string text;
  std::rewind(sink);
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, sink)) > 0;) text.append(buffer, n);
  std::fclose(sink);
  return text;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    SetLogJson(false);
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST_F(LogTest, TextQuotesValuesThatCouldSplitAFieldOrForgeALine) {
  const std::string line = Captured([] {
    Log(LogLevel::kWarning, "access denied",
        {{"principal", "reader"},
         {"reason", "index 'x' is outside"},
         {"forged", "a\n2026-01-01T00:00:00.000Z error fake=1"},
         {"quote", "say \"hi\""},
         {"eq", "a=b"},
         {"empty", ""}});
  });
  EXPECT_THAT(line, MatchesRegex("[0-9T:.Z-]+ warning access denied principal=reader .*\n"));
  EXPECT_THAT(line, HasSubstr(" reason=\"index 'x' is outside\""));
  EXPECT_THAT(line, HasSubstr(" forged=\"a\\n2026-01-01T00:00:00.000Z error fake=1\""));
  EXPECT_THAT(line, HasSubstr(" quote=\"say \\\"hi\\\"\""));
  EXPECT_THAT(line, HasSubstr(" eq=\"a=b\""));
  EXPECT_THAT(line, EndsWith(" empty=\"\"\n"));
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << "one line, whatever the values";
}

TEST_F(LogTest, JsonIsOneObjectPerLine) {
  SetLogJson(true);
  const std::string line = Captured([] {
    Log(LogLevel::kError, "boom", {{"node", "10.0.0.1:9200"}, {"why", "a\nb"}});
  });
  EXPECT_THAT(line, MatchesRegex("\\{\"time\":\"[0-9T:.Z-]+\",\"level\":\"error\",\"msg\":\"boom\","
                                 "\"node\":\"10.0.0.1:9200\",\"why\":\"a\\\\nb\"\\}\n"));
}

TEST_F(LogTest, LinesBelowTheLevelAreDropped) {
  SetLogLevel(LogLevel::kWarning);
  EXPECT_EQ(Captured([] { Log(LogLevel::kInfo, "quiet"); }), "");
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
}

}  // namespace
}  // namespace esgw
