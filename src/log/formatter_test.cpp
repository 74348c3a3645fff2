#include "esper/log/formatter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "log/test_util.h"

namespace esper::log {
namespace {

using testing::ParseFlatJson;
using testing::ParseLogfmt;

std::string Fmt(const Formatter& f, const Record& r) {
  fmt::memory_buffer b;
  f.Format(r, b);
  return fmt::to_string(b);
}

// Hostile inputs and what a consumer must read back (invalid UTF-8 bytes → U+FFFD each).
const std::vector<std::pair<std::string, std::string>>& Hostile() {
  static const std::vector<std::pair<std::string, std::string>> cases = [] {
    std::vector<std::pair<std::string, std::string>> c = {
        {"plain", "plain"},
        {"", ""},
        {"quote \" and backslash \\ and slash /", "quote \" and backslash \\ and slash /"},
        {"new\nline\r\ttab", "new\nline\r\ttab"},
        {"forged\n{\"level\":\"CRITICAL\"}", "forged\n{\"level\":\"CRITICAL\"}"},
        {"key=value other=\"x\"", "key=value other=\"x\""},
        {"h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89", "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89"},
        {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},
        {"truncated \xC3", "truncated \xEF\xBF\xBD"},
        {"overlong \xC0\xAF", "overlong \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"surrogate \xED\xA0\x80", "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"too big \xF4\x90\x80\x80", "too big \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"stray \x80\xBF cont", "stray \xEF\xBF\xBD\xEF\xBF\xBD cont"},
        {"del \x7F", "del \x7F"},
        {std::string("nul \0 inside", 12), std::string("nul \0 inside", 12)},
    };
    std::string ctl, ctl_expected;
    for (int ch = 1; ch < 0x20; ++ch) ctl += static_cast<char>(ch);
    c.emplace_back(ctl, ctl);
    return c;
  }();
  return cases;
}

Record MakeRecord(std::string_view msg, const std::vector<Field>& fields) {
  Record r;
  r.time_ns = 1'795'456'238'123'456'789;  // 2026-11-22T...
  r.level = Level::kWarn;
  r.logger = "svc";
  r.message = msg;
  r.file = "x.cpp";
  r.line = 7;
  r.fields = fields;
  return r;
}

TEST(FormatterTest, JsonIsAlwaysValidAndRoundTripsHostileInput) {
  JsonFormatter f;
  for (const auto& [in, want] : Hostile()) {
    std::vector<Field> fields = {{"value", in, FieldKind::kString}, {"n", "5", FieldKind::kNumber},
                                 {"b", "true", FieldKind::kBool}};
    std::string line = Fmt(f, MakeRecord(in, fields));
    ASSERT_FALSE(line.empty());
    ASSERT_EQ(line.back(), '\n');
    std::string body = line.substr(0, line.size() - 1);
    ASSERT_EQ(body.find('\n'), std::string::npos) << "one record, one line";
    auto obj = ParseFlatJson(body);
    ASSERT_TRUE(obj.has_value()) << "invalid JSON: " << body;
    EXPECT_EQ(obj->values["msg"], want);
    EXPECT_EQ(obj->values["value"], want);
    EXPECT_EQ(obj->values["level"], "WARN");
    EXPECT_EQ(obj->values["logger"], "svc");
    EXPECT_EQ(obj->values["n"], "5");
    EXPECT_FALSE(obj->is_string["n"]);
    EXPECT_EQ(obj->values["b"], "true");
  }
}

TEST(FormatterTest, JsonEscapesHostileKeys) {
  JsonFormatter f;
  std::vector<Field> fields = {{"k\"ey\n\xFF", "v", FieldKind::kString}};
  std::string line = Fmt(f, MakeRecord("m", fields));
  auto obj = ParseFlatJson(line.substr(0, line.size() - 1));
  ASSERT_TRUE(obj.has_value()) << line;
  EXPECT_EQ(obj->values.count("k\"ey\n\xEF\xBF\xBD"), 1u);
}

TEST(FormatterTest, LogfmtQuotesAndRoundTrips) {
  LogfmtFormatter f;
  for (const auto& [in, want] : Hostile()) {
    if (in.find('\0') != std::string::npos) continue;  // covered below (\u0000)
    std::vector<Field> fields = {{"value", in, FieldKind::kString}, {"bad key=x", "1", FieldKind::kNumber}};
    std::string line = Fmt(f, MakeRecord(in, fields));
    ASSERT_EQ(line.back(), '\n');
    std::string body = line.substr(0, line.size() - 1);
    ASSERT_EQ(body.find('\n'), std::string::npos);
    auto kv = ParseLogfmt(body);
    ASSERT_TRUE(kv.has_value()) << body;
    ASSERT_EQ(kv->size(), 6u) << body;
    EXPECT_EQ((*kv)[0].first, "ts");
    EXPECT_EQ((*kv)[1], (std::pair<std::string, std::string>{"level", "WARN"}));
    EXPECT_EQ((*kv)[2], (std::pair<std::string, std::string>{"logger", "svc"}));
    EXPECT_EQ((*kv)[3].first, "msg");
    EXPECT_EQ((*kv)[3].second, want) << body;
    EXPECT_EQ((*kv)[4].second, want) << body;
    EXPECT_EQ((*kv)[5].first, "bad_key_x");
  }
}

TEST(FormatterTest, LogfmtBareWhenSafe) {
  fmt::memory_buffer b;
  AppendLogfmtValue("simple-value_1.2", b);
  EXPECT_EQ(fmt::to_string(b), "simple-value_1.2");
  b.clear();
  AppendLogfmtValue("", b);
  EXPECT_EQ(fmt::to_string(b), "\"\"");
  b.clear();
  AppendLogfmtValue("a b", b);
  EXPECT_EQ(fmt::to_string(b), "\"a b\"");
  b.clear();
  AppendLogfmtValue(std::string_view("\0", 1), b);
  EXPECT_EQ(fmt::to_string(b), "\"\\u0000\"");
}

TEST(FormatterTest, TextIsOneLineWithFieldsSuffix) {
  TextFormatter f;
  std::vector<Field> fields = {{"layer_id", "5", FieldKind::kNumber}, {"note", "a b", FieldKind::kString}};
  std::string line = Fmt(f, MakeRecord("hello\nworld", fields));
  EXPECT_EQ(line.substr(27), " - svc - WARN - hello\\nworld [layer_id=5 note=\"a b\"]\n");
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  TextFormatter colored(true);
  std::string c = Fmt(colored, MakeRecord("x", {}));
  EXPECT_NE(c.find("\x1b[33mWARN\x1b[0m"), std::string::npos) << c;
}

TEST(FormatterTest, IsoTimestampsUtcMicroseconds) {
  auto ts = [](int64_t ns) {
    fmt::memory_buffer b;
    AppendIsoTimestamp(ns, b);
    return fmt::to_string(b);
  };
  EXPECT_EQ(ts(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(ts(1'709'164'800'000'001'000), "2024-02-29T00:00:00.000001Z");
  EXPECT_EQ(ts(1'795'456'238'123'456'789), "2026-11-23T17:50:38.123456Z");
  EXPECT_EQ(ts(1'795'456'238'999'999'999), "2026-11-23T17:50:38.999999Z");
  EXPECT_EQ(ts(1'795'456'239'000'000'000), "2026-11-23T17:50:39.000000Z");
  EXPECT_EQ(ts(-1'000), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(ts(4'102'444'800'000'000'000), "2100-01-01T00:00:00.000000Z");
}

TEST(FormatterTest, ParseFormatAndLevel) {
  EXPECT_EQ(ParseFormat("json").value(), Format::kJson);
  EXPECT_EQ(ParseFormat("structured").value(), Format::kText);
  auto bad = ParseFormat("xml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("xml"), std::string::npos);
  EXPECT_EQ(ParseLevel(" WARNING ").value(), Level::kWarn);
  EXPECT_EQ(ParseLevel("Fatal").value(), Level::kCritical);
  EXPECT_FALSE(ParseLevel("verbose"));
  EXPECT_EQ(LevelName(Level::kCritical), "CRITICAL");
}

}  // namespace
}  // namespace esper::log
