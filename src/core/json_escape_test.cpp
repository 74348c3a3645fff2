#include "esper/core/json_escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace esper {
namespace {

// What a real JSON parser reads back from JsonQuote(s); nullopt when it rejects the text.
std::optional<std::string> ReadBack(const std::string& quoted) {
  auto j = nlohmann::json::parse(quoted, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

TEST(JsonEscape, EscapesQuotesBackslashesAndEveryControlCharacter) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
  EXPECT_EQ(JsonQuote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(JsonQuote(std::string("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(JsonQuote("del \x7f"), "\"del \x7f\"");  // legal in JSON: kept
  EXPECT_EQ(JsonQuote("forged\n{\"level\":\"CRITICAL\"}"), "\"forged\\n{\\\"level\\\":\\\"CRITICAL\\\"}\"");
  std::string ctl;
  for (int c = 0; c < 0x20; ++c) ctl += static_cast<char>(c);
  EXPECT_EQ(ReadBack(JsonQuote(ctl)), ctl);
}

TEST(JsonEscape, KeepsValidUtf8AndReplacesEachInvalidByte) {
  EXPECT_EQ(JsonQuote("h\xC3\xA9llo \xF0\x9F\x8E\x89"), "\"h\xC3\xA9llo \xF0\x9F\x8E\x89\"");
  EXPECT_EQ(JsonQuote("bad \xFF"), "\"bad \xEF\xBF\xBD\"");
  EXPECT_EQ(JsonQuote("cut \xC3"), "\"cut \xEF\xBF\xBD\"");
  EXPECT_EQ(JsonQuote("overlong \xC0\xAF"), "\"overlong \xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonQuote("surrogate \xED\xA0\x80"), "\"surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonQuote("\xF4\x90\x80\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonEscape, TheStringAndBufferFormsAgree) {
  const std::string s = "x\"\\\n\x01\xff \xC3\xA9 a long plain run of more than sixteen bytes";
  fmt::memory_buffer b;
  AppendJsonEscaped(s, b);
  std::string out = "keep:";
  AppendJsonEscaped(s, out);
  const std::string escaped = fmt::to_string(b);
  EXPECT_EQ(out.substr(5), escaped);
  EXPECT_EQ(JsonQuote(s), fmt::format("\"{}\"", escaped));
}

// Every byte string escapes to a JSON string a strict parser accepts; valid UTF-8 reads back
// exactly. Special bytes land at every offset of the 16- and 8-byte scans.
TEST(JsonEscape, AnyBytesBecomeValidJsonAndValidUtf8ReadsBackExactly) {
  std::mt19937 rng(17);
  const std::string pieces[] = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f", "\xC3\xA9",
                                "\xE6\x97\xA5", "\xF0\x9F\x8E\x89", "/", "a", "bcdefghijklmnopq"};
  for (int round = 0; round < 3000; ++round) {
    std::string valid;
    int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) valid += pieces[rng() % std::size(pieces)];
    auto back = ReadBack(JsonQuote(valid));
    ASSERT_TRUE(back) << JsonQuote(valid);
    EXPECT_EQ(*back, valid);

    std::string bytes(rng() % 48, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    ASSERT_TRUE(ReadBack(JsonQuote(bytes))) << JsonQuote(bytes);
  }
}

}  // namespace
}  // namespace esper
