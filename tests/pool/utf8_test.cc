// JSON string literals for untrusted text (pool/utf8.h).
#include "pool/utf8.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

namespace esgw {
namespace {

// What a JSON parser reads back from a quoted literal; nullopt when it is not valid JSON.
std::optional<std::string> RoundTrip(const std::string& quoted) {
  simdjson::dom::parser parser;
  std::string_view value;
  if (parser.parse(simdjson::padded_string(quoted)).get_string().get(value) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  return std::string(value);
}

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonQuote(""), R"("")");
  EXPECT_EQ(JsonQuote("products"), R"("products")");
  EXPECT_EQ(JsonQuote(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(JsonQuote("\x7f/</script>"), "\"\x7f/</script>\"");
}

TEST(JsonQuoteTest, KeepsUtf8AndReplacesMalformedBytes) {
  EXPECT_EQ(JsonQuote("é 日本 \xF0\x9F\x98\x80"), "\"é 日本 \xF0\x9F\x98\x80\"");
  EXPECT_EQ(JsonQuote("a\xff"
                      "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(JsonQuote("\xc3"), R"("\ufffd")");                      // truncated sequence
  EXPECT_EQ(JsonQuote("\xc0\x80"), R"("\ufffd\ufffd")");            // overlong NUL
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
}

TEST(JsonQuoteTest, RoundTripsThroughAJsonParser) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii.push_back(static_cast<char>(c));
  for (const std::string& text :
       {std::string("plain"), std::string(R"(q"uo"te)"), std::string(R"(back\sl\\ash)"),
        std::string("line\nbreak\r\n"), std::string("é日本\xF0\x9F\x98\x80"), every_ascii}) {
    const auto parsed = RoundTrip(JsonQuote(text));
    ASSERT_TRUE(parsed.has_value()) << JsonQuote(text);
    EXPECT_EQ(*parsed, text);
  }
}

}  // namespace
}  // namespace esgw
